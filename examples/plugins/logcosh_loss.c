/* A loss plugin to copy: Keras's LogCosh, the mean over every value of
 * log(cosh(pred - y)): about (pred - y)^2 / 2 near the label and |pred - y|
 * far from it, so, like Huber's, it shrugs off outliers, and it is smooth
 * everywhere. A loss gives the mean loss over the rows and, when asked,
 * its gradient with respect to each prediction (check-plugin compares that
 * with finite differences). */
#include <math.h>
#include <nnkit/plugin.h>

static const nnk_param_spec no_params[] = {{NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

/* log(cosh(x)) without overflow: |x| + log1p(exp(-2|x|)) - log 2. */
static double log_cosh(double x)
{
    double a = fabs(x);
    return a + log1p(exp(-2 * a)) - log(2.0);
}

static int logcosh_compute(const void *config, const float *pred, const float *y, int64_t rows, int64_t cols,
                           double *loss, float *grad, nnk_err *err)
{
    (void)config, (void)err;
    double sum = 0, n = (double)(rows * cols);
    for (int64_t i = 0; i < rows * cols; i++) {
        double e = (double)pred[i] - y[i];
        sum += log_cosh(e);
        if (grad) /* d/dpred log(cosh(e)) = tanh(e), over the mean's n */
            grad[i] = (float)(tanh(e) / n);
    }
    *loss = sum / n;
    return NNK_OK;
}

static const nnk_loss_vtable log_cosh_loss = {
    .struct_size = sizeof(nnk_loss_vtable),
    .name = "log_cosh",
    .doc = "mean of log(cosh(pred - y)) (Keras's LogCosh): quadratic near the label, linear far away",
    .params = no_params,
    .config_size = 0,
    .labels = NNK_LABELS_DENSE,
    .compute = logcosh_compute,
};

static const nnk_loss_vtable *const losses[] = {&log_cosh_loss, NULL};
static const nnk_plugin descriptor = {
    .struct_size = sizeof(nnk_plugin),
    .abi_major = NNK_ABI_MAJOR,
    .abi_minor = NNK_ABI_MINOR,
    .name = "logcosh-loss",
    .version = "1.0.0",
    .doc = "a loss template: log-cosh",
    .losses = losses,
};

static const nnk_plugin *logcosh_init(const nnk_host *h, nnk_err *err)
{
    (void)h, (void)err;
    return &descriptor;
}

NNK_PLUGIN(logcosh_init);
