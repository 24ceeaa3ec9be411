/* Built-in losses with Keras's semantics: the mean over samples of a
 * per-sample loss. Cross-entropies after softmax or sigmoid are computed
 * from the logits (log-sum-exp), so saturated outputs give no NaN or Inf;
 * on probabilities they clip to [1e-7, 1 - 1e-7] as Keras does. */
#include <math.h>
#include <nnkit/plugin.h>
#include <string.h>

#define EPS 1e-7

static const nnk_host *host;

typedef struct huber_config {
    double delta;
} huber_config;

static const nnk_param_spec no_params[] = {{NULL, 0, NULL, 0, 0, NULL, NULL, 0}};
static const nnk_param_spec huber_params[] = {
    {"delta", NNK_PARAM_FLOAT, "1.0", 1e-12, 1e12, NULL,
     "where the loss turns from quadratic to linear", offsetof(huber_config, delta)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

static double clip(double p)
{
    return p < EPS ? EPS : p > 1 - EPS ? 1 - EPS : p;
}

static int mse_compute(const void *cfg, const float *p, const float *y, int64_t rows,
                       int64_t cols, double *loss, float *grad, nnk_err *err)
{
    (void)cfg, (void)err;
    double s = 0, n = (double)(rows * cols);
    for (int64_t i = 0; i < rows * cols; i++) {
        double e = (double)p[i] - y[i];
        s += e * e;
        if (grad)
            grad[i] = (float)(2 * e / n);
    }
    *loss = s / n;
    return NNK_OK;
}

static int mae_compute(const void *cfg, const float *p, const float *y, int64_t rows,
                       int64_t cols, double *loss, float *grad, nnk_err *err)
{
    (void)cfg, (void)err;
    double s = 0, n = (double)(rows * cols);
    for (int64_t i = 0; i < rows * cols; i++) {
        double e = (double)p[i] - y[i];
        s += fabs(e);
        if (grad)
            grad[i] = (float)((e > 0) - (e < 0)) / (float)n;
    }
    *loss = s / n;
    return NNK_OK;
}

static int huber_compute(const void *cfg, const float *p, const float *y, int64_t rows,
                         int64_t cols, double *loss, float *grad, nnk_err *err)
{
    (void)err;
    double d = ((const huber_config *)cfg)->delta;
    double s = 0, n = (double)(rows * cols);
    for (int64_t i = 0; i < rows * cols; i++) {
        double e = (double)p[i] - y[i], a = fabs(e);
        s += a <= d ? 0.5 * e * e : d * (a - 0.5 * d);
        if (grad)
            grad[i] = (float)((a <= d ? e : d * ((e > 0) - (e < 0))) / n);
    }
    *loss = s / n;
    return NNK_OK;
}

static int bce_compute(const void *cfg, const float *p, const float *y, int64_t rows,
                       int64_t cols, double *loss, float *grad, nnk_err *err)
{
    (void)cfg, (void)err;
    double s = 0, n = (double)(rows * cols);
    for (int64_t i = 0; i < rows * cols; i++) {
        double q = clip(p[i]), t = y[i];
        s -= t * log(q) + (1 - t) * log(1 - q);
        if (grad) /* zero where the clip is active, as with Keras's clip */
            grad[i] = (p[i] > EPS && p[i] < 1 - EPS) ? (float)((q - t) / (q * (1 - q)) / n) : 0.0f;
    }
    *loss = s / n;
    return NNK_OK;
}

static int bce_logits(const void *cfg, const float *z, const float *y, int64_t rows,
                      int64_t cols, double *loss, float *grad, nnk_err *err)
{
    (void)cfg, (void)err;
    double s = 0, n = (double)(rows * cols);
    for (int64_t i = 0; i < rows * cols; i++) {
        double x = z[i], t = y[i];
        s += (x > 0 ? x : 0) - x * t + log1p(exp(-fabs(x)));
        if (grad) {
            double sig = x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
            grad[i] = (float)((sig - t) / n);
        }
    }
    *loss = s / n;
    return NNK_OK;
}

static int cce_compute(const void *cfg, const float *p, const float *y, int64_t rows,
                       int64_t cols, double *loss, float *grad, nnk_err *err)
{
    (void)cfg, (void)err;
    double s = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *pr = p + r * cols, *yr = y + r * cols;
        for (int64_t j = 0; j < cols; j++) {
            double q = clip(pr[j]);
            s -= yr[j] * log(q);
            if (grad)
                grad[r * cols + j] = (pr[j] > EPS) ? (float)(-yr[j] / q / (double)rows) : 0.0f;
        }
    }
    *loss = s / (double)rows;
    return NNK_OK;
}

/* log-softmax of one row: z_j - logsumexp(z); returns logsumexp. */
static double logsumexp(const float *z, int64_t cols)
{
    double mx = z[0], s = 0;
    for (int64_t j = 1; j < cols; j++)
        mx = z[j] > mx ? z[j] : mx;
    for (int64_t j = 0; j < cols; j++)
        s += exp(z[j] - mx);
    return mx + log(s);
}

static int cce_logits(const void *cfg, const float *z, const float *y, int64_t rows,
                      int64_t cols, double *loss, float *grad, nnk_err *err)
{
    (void)cfg, (void)err;
    double s = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *zr = z + r * cols, *yr = y + r * cols;
        double lse = logsumexp(zr, cols), ysum = 0;
        for (int64_t j = 0; j < cols; j++) {
            s -= yr[j] * (zr[j] - lse);
            ysum += yr[j];
        }
        if (grad)
            for (int64_t j = 0; j < cols; j++)
                grad[r * cols + j] = (float)((exp(zr[j] - lse) * ysum - yr[j]) / (double)rows);
    }
    *loss = s / (double)rows;
    return NNK_OK;
}

static int label_of(const float *y, int64_t r, int64_t cols, int64_t *k, nnk_err *err)
{
    float v = y[r];
    if (!(v >= 0) || v >= (float)cols || v != floorf(v))
        return host->err_set(err, NNK_EDATA,
                             "label %g in batch row %lld is out of range [0, %lld)",
                             (double)v, (long long)r, (long long)cols);
    *k = (int64_t)v;
    return NNK_OK;
}

static int scce_compute(const void *cfg, const float *p, const float *y, int64_t rows,
                        int64_t cols, double *loss, float *grad, nnk_err *err)
{
    (void)cfg;
    double s = 0;
    if (grad)
        memset(grad, 0, (size_t)(rows * cols) * sizeof(float));
    for (int64_t r = 0; r < rows; r++) {
        int64_t k = 0;
        if (label_of(y, r, cols, &k, err))
            return NNK_EDATA;
        double q = clip(p[r * cols + k]);
        s -= log(q);
        if (grad && p[r * cols + k] > EPS)
            grad[r * cols + k] = (float)(-1.0 / q / (double)rows);
    }
    *loss = s / (double)rows;
    return NNK_OK;
}

static int scce_logits(const void *cfg, const float *z, const float *y, int64_t rows,
                       int64_t cols, double *loss, float *grad, nnk_err *err)
{
    (void)cfg;
    double s = 0;
    for (int64_t r = 0; r < rows; r++) {
        int64_t k = 0;
        if (label_of(y, r, cols, &k, err))
            return NNK_EDATA;
        const float *zr = z + r * cols;
        double lse = logsumexp(zr, cols);
        s += lse - zr[k];
        if (grad) {
            float *g = grad + r * cols;
            for (int64_t j = 0; j < cols; j++)
                g[j] = (float)(exp(zr[j] - lse) / (double)rows);
            g[k] -= (float)(1.0 / (double)rows);
        }
    }
    *loss = s / (double)rows;
    return NNK_OK;
}

#define LOSS(var, nm, doc_text, prm, cfg_t, kind, fn, fused, fused_fn, acc) \
    static const nnk_loss_vtable var = {                                   \
        .struct_size = sizeof(nnk_loss_vtable),                            \
        .name = nm,                                                        \
        .doc = doc_text,                                                   \
        .params = prm,                                                     \
        .config_size = sizeof(cfg_t),                                      \
        .labels = kind,                                                    \
        .compute = fn,                                                     \
        .fused_activation = fused,                                         \
        .compute_from_logits = fused_fn,                                   \
        .accuracy_metric = acc,                                            \
    };

LOSS(mse_loss, "mse", "mean squared error", no_params, huber_config, NNK_LABELS_DENSE, mse_compute, NULL, NULL, NULL)
LOSS(mae_loss, "mae", "mean absolute error", no_params, huber_config, NNK_LABELS_DENSE, mae_compute, NULL, NULL, NULL)
LOSS(huber_loss, "huber", "quadratic within delta, linear beyond (robust to outliers)", huber_params, huber_config, NNK_LABELS_DENSE, huber_compute, NULL, NULL, NULL)
LOSS(bce_loss, "binary_crossentropy", "-[y log p + (1 - y) log(1 - p)], fused with a sigmoid output", no_params, huber_config, NNK_LABELS_DENSE, bce_compute, "sigmoid", bce_logits, "binary_accuracy")
LOSS(cce_loss, "categorical_crossentropy", "-sum y log p over one-hot labels, fused with a softmax output", no_params, huber_config, NNK_LABELS_DENSE, cce_compute, "softmax", cce_logits, "categorical_accuracy")
LOSS(scce_loss, "sparse_categorical_crossentropy", "-log p[label] for class-index labels, fused with a softmax output", no_params, huber_config, NNK_LABELS_SPARSE, scce_compute, "softmax", scce_logits, "sparse_categorical_accuracy")

static const nnk_loss_vtable *const losses[] = {&mse_loss, &mae_loss, &huber_loss, &bce_loss,
                                                &cce_loss, &scce_loss, NULL};

static const nnk_plugin losses_plugin = {
    .struct_size = sizeof(nnk_plugin),
    .abi_major = NNK_ABI_MAJOR,
    .abi_minor = NNK_ABI_MINOR,
    .name = "nnkit-losses",
    .version = "0.1.0",
    .doc = "Built-in loss functions.",
    .losses = losses,
};

static const nnk_plugin *plugin_init(const nnk_host *h, nnk_err *err)
{
    (void)err;
    host = h;
    return &losses_plugin;
}

NNK_PLUGIN(plugin_init);
