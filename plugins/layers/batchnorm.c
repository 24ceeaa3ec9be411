/* batch_normalization: normalizes each feature (the last axis) by the
 * batch's mean and variance while training, and by moving averages of
 * them at inference, then scales by gamma and shifts by beta (Keras's
 * BatchNormalization). The moving statistics are state, saved with the
 * model. Every axis but the last counts as rows, so images (NHWC)
 * normalize per channel over batch, rows and columns, Keras's axis = -1.
 * The passes over the data run on the host (nnkit.compute.batchnorm/1). */
#include "layers.h"
#include <math.h>
#include <string.h>

typedef struct bn_config {
    double momentum, epsilon;
    int center, scale, sync;
} bn_config;

static const nnk_param_spec bn_params[] = {
    {"momentum", NNK_PARAM_FLOAT, "0.99", 0, 1, NULL, "decay of the moving mean and variance",
     offsetof(bn_config, momentum)},
    {"epsilon", NNK_PARAM_FLOAT, "0.001", 1e-12, 1, NULL, "added to the variance", offsetof(bn_config, epsilon)},
    {"center", NNK_PARAM_BOOL, "true", 0, 0, NULL, "learn an offset beta", offsetof(bn_config, center)},
    {"scale", NNK_PARAM_BOOL, "true", 0, 0, NULL, "learn a scale gamma", offsetof(bn_config, scale)},
    {"sync", NNK_PARAM_BOOL, "true", 0, 0, NULL,
     "in data-parallel training, statistics over the global batch (SyncBatchNormalization); false: each process's own",
     offsetof(bn_config, sync)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

enum { GAMMA, BETA, MOVING_MEAN, MOVING_VARIANCE };

static int bn_build(nnk_layer *layer, int n_in, const nnk_shape *in, nnk_shape *out, nnk_err *err)
{
    (void)n_in;
    nnk_shape c = {1, {in[0].dim[in[0].ndim - 1]}};
    /* always four tensors, so their indices are fixed; gamma and beta are
     * frozen at 1 and 0 when scale or center is off */
    const bn_config *cfg = layer->config;
    if (cfg->scale ? layers_host->layer_add_weight(layer, "gamma", &c, "ones", 1, 1, err) < 0
                   : layers_host->layer_add_state(layer, "gamma", &c, "ones", err) < 0)
        return err->status;
    if (cfg->center ? layers_host->layer_add_weight(layer, "beta", &c, "zeros", 1, 1, err) < 0
                    : layers_host->layer_add_state(layer, "beta", &c, "zeros", err) < 0)
        return err->status;
    if (layers_host->layer_add_state(layer, "moving_mean", &c, "zeros", err) < 0 ||
        layers_host->layer_add_state(layer, "moving_variance", &c, "ones", err) < 0)
        return err->status;
    *out = in[0];
    return NNK_OK;
}

/* Rows of features: everything but the last axis counts as a sample. */
static void dims(const nnk_tensor *t, int64_t *n, int64_t *c)
{
    *c = t->shape[t->ndim - 1];
    *n = *c > 0 ? nnk_tensor_elements(t) / *c : 0; /* sizes the core checked */
}

/* The host's sum over processes (nnkit.dp.allreduce/1), when it has one
 * and sync is on: how many processes took part (1: this one alone),
 * negative on failure. */
static int allreduce(nnk_layer *layer, double *v, int64_t n, nnk_err *err)
{
    const bn_config *cfg = layer->config;
    const nnk_host_allreduce *dp = cfg->sync ? NNK_CAPABILITY(layers_host, NNK_CAP_DP_ALLREDUCE) : NULL;
    if (!dp || !NNK_HAS(dp, layer_allreduce) || !dp->layer_allreduce)
        return 1;
    return dp->layer_allreduce(layer, v, n, err);
}

/* The host's passes over the rows (NULL: a host without them). */
static const nnk_host_batchnorm *passes(void)
{
    const nnk_host_batchnorm *bn = NNK_CAPABILITY(layers_host, NNK_CAP_BATCHNORM);
    return bn && NNK_HAS(bn, input_gradient) ? bn : NULL;
}

/* slot 2 of the layer's scratch, as doubles: mean (c + 1), variance (c),
 * the row counts (2), the gradient sums (2 c) and one more c for backward */
#define STATE_DOUBLES(c) (5 * (c) + 4)

/* Training statistics: the sums of x per channel into mean[0..c) and the
 * row count into mean[c], summed over the processes when synchronized
 * (then also the mean, and the squared deviations from it into var, over
 * every process's rows; counts[0..1] keep the global and local row counts
 * for backward). Returns how many processes took part (1: the sums are
 * this process's alone, not yet divided), negative on failure. */
static int global_statistics(nnk_layer *layer, const nnk_host_batchnorm *bn, const float *x, int64_t n, int64_t c,
                             double *mean, double *var, double *counts, nnk_err *err)
{
    if (bn->channel_sums(n, c, x, NULL, mean, err))
        return -1;
    mean[c] = (double)n;
    int k = allreduce(layer, mean, c + 1, err);
    if (k <= 1)
        return k;
    double total = mean[c];
    for (int64_t j = 0; j < c; j++)
        mean[j] /= total;
    if (bn->channel_sums(n, c, x, mean, var, err) || allreduce(layer, var, c, err) < 0)
        return -1;
    for (int64_t j = 0; j < c; j++)
        var[j] /= total;
    counts[0] = total;
    counts[1] = (double)n;
    return k;
}

/* This process's mean and variance from its sums (global_statistics
 * with one process). */
static int local_statistics(const nnk_host_batchnorm *bn, const float *x, int64_t n, int64_t c, double *mean,
                            double *var, nnk_err *err)
{
    for (int64_t j = 0; j < c; j++)
        mean[j] /= (double)n;
    if (bn->channel_sums(n, c, x, mean, var, err))
        return err->status;
    for (int64_t j = 0; j < c; j++)
        var[j] /= (double)n;
    return NNK_OK;
}

static int bn_forward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, nnk_tensor *out,
                      int training, nnk_err *err)
{
    (void)n_in;
    const bn_config *cfg = layer->config;
    const nnk_host_batchnorm *bn = passes();
    int64_t n, c;
    dims(in[0], &n, &c);
    const float *x = in[0]->data, *gamma = layer->weights[GAMMA].value.data, *beta = layer->weights[BETA].value.data;
    float *mm = layer->weights[MOVING_MEAN].value.data, *mv = layer->weights[MOVING_VARIANCE].value.data;
    float *xhat = layers_host->layer_scratch(layer, 0, n * c), *inv = layers_host->layer_scratch(layer, 1, c);
    double *g = (double *)layers_host->layer_scratch(layer, 2, 2 * STATE_DOUBLES(c));
    if (!bn)
        return layers_host->err_set(err, NNK_EPLUGIN, "batch_normalization: the host lacks %s", NNK_CAP_BATCHNORM);
    if (!xhat || !inv || !g)
        return layers_host->err_set(err, NNK_ENOMEM, "out of memory");
    double *gmean = g, *gvar = g + c + 1, *counts = g + 2 * c + 1;
    counts[0] = 0; /* not synchronized, unless the sums below say so */
    int procs = training ? global_statistics(layer, bn, x, n, c, gmean, gvar, counts, err) : 1;
    if (procs < 0)
        return err->status;
    if (training && procs == 1 && n == 0) /* no row to learn statistics from */
        return NNK_OK;
    if (training && procs == 1 && local_statistics(bn, x, n, c, gmean, gvar, err))
        return err->status;
    for (int64_t j = 0; j < c; j++) {
        double mean = training ? gmean[j] : mm[j], var = training ? gvar[j] : mv[j];
        if (training) {
            mm[j] = (float)(cfg->momentum * mm[j] + (1 - cfg->momentum) * mean);
            mv[j] = (float)(cfg->momentum * mv[j] + (1 - cfg->momentum) * var);
        }
        inv[j] = (float)(1.0 / sqrt(var + cfg->epsilon));
        gmean[j] = mean;
    }
    bn->normalize(n, c, x, gmean, inv, gamma, beta, xhat, out->data);
    return NNK_OK;
}

/* Backward through global statistics. Each process's dy is the gradient of
 * its own rows' mean loss; the global one is dy times n / N (its rows over
 * the global batch's), and the result goes back to the local scale:
 *   dx = g inv / N (N dy - N/n (sum dy' + xhat sum dy' xhat)), dy' global.
 * Through one process's statistics, N = n and dy' = dy. */
static int input_gradient(nnk_layer *layer, const nnk_host_batchnorm *bn, int64_t n, int64_t c, const float *dy,
                          const float *xhat, const float *inv, const float *gamma, double *g, nnk_tensor *dx,
                          nnk_err *err)
{
    double *counts = g + 2 * c + 1, *sums = g + 2 * c + 3, *p = g, *q = g + c + 1, *r = g + 4 * c + 3;
    int synced = counts[0] > 0;
    double total = synced ? counts[0] : (double)n, back = !synced ? 1 : counts[1] > 0 ? total / counts[1] : 0;
    if (synced) {
        double share = counts[1] / total;
        for (int64_t j = 0; j < 2 * c; j++)
            sums[j] *= share;
        if (allreduce(layer, sums, 2 * c, err) < 0)
            return err->status;
    }
    if (!dx)
        return NNK_OK;
    for (int64_t j = 0; j < c; j++) {
        double k = gamma[j] * inv[j] / total;
        p[j] = k * total;
        q[j] = -k * back * sums[j];
        r[j] = -k * back * sums[c + j];
    }
    bn->input_gradient(n, c, dy, xhat, p, q, r, dx->data);
    return NNK_OK;
}

static int bn_backward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                       const nnk_tensor *dout, nnk_tensor *const *din, nnk_err *err)
{
    (void)n_in, (void)out;
    const nnk_host_batchnorm *bn = passes();
    int64_t n, c;
    dims(in[0], &n, &c);
    const float *gamma = layer->weights[GAMMA].value.data, *dy = dout->data;
    float *dg = layer->weights[GAMMA].grad.data, *db = layer->weights[BETA].grad.data;
    float *xhat = layers_host->layer_scratch(layer, 0, n * c), *inv = layers_host->layer_scratch(layer, 1, c);
    double *g = (double *)layers_host->layer_scratch(layer, 2, 2 * STATE_DOUBLES(c));
    if (!bn)
        return layers_host->err_set(err, NNK_EPLUGIN, "batch_normalization: the host lacks %s", NNK_CAP_BATCHNORM);
    if (!xhat || !inv || !g)
        return layers_host->err_set(err, NNK_ENOMEM, "out of memory");
    double *sums = g + 2 * c + 3;
    if (bn->gradient_sums(n, c, dy, xhat, sums, sums + c, err))
        return err->status;
    for (int64_t j = 0; j < c; j++) { /* the core weights these by rows' share and sums them */
        dg[j] = (float)sums[c + j];
        db[j] = (float)sums[j];
    }
    return input_gradient(layer, bn, n, c, dy, xhat, inv, gamma, g, din[0], err);
}

static float *inference_affine(const nnk_layer *layer, int64_t c)
{
    const bn_config *cfg = layer->config;
    float *scale = layers_host->alloc(sizeof(float) * 2 * (size_t)c);
    const float *gamma = layer->weights[GAMMA].value.data, *var = layer->weights[MOVING_VARIANCE].value.data;
    for (int64_t j = 0; scale && j < c; j++) {
        scale[j] = gamma[j] * (float)(1.0 / sqrt((double)var[j] + cfg->epsilon));
        scale[c + j] = layer->weights[BETA].value.data[j];
    }
    return scale;
}

/* ONNX's own BatchNormalization for a sample of one axis, else the affine
 * map along the last axis. */
static int bn_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                   const char *const *inputs, const nnk_shape *in_shapes, const nnk_shape *out_shape,
                   const char **output, nnk_err *err)
{
    (void)n_in, (void)in_shapes, (void)err;
    const bn_config *cfg = layer->config;
    int64_t c = out_shape->dim[out_shape->ndim - 1];
    if (out_shape->ndim == 1) {
        const char *ins[6] = {inputs[0]};
        const char *const stems[] = {"gamma", "beta", "mean", "variance"};
        for (int k = GAMMA; k <= MOVING_VARIANCE; k++)
            if (!(ins[k + 1] = h->onnx_constant(x, stems[k], layer->weights[k].value.data, &c, 1)))
                return NNK_ENOMEM;
        const char *names[] = {"epsilon"};
        const double eps[] = {(float)cfg->epsilon};
        const int is_int[] = {0};
        *output = h->onnx_node(x, "BatchNormalization", ins, NULL, 1, names, eps, is_int);
        return *output ? NNK_OK : NNK_ENOMEM;
    }
    return layers_affine_onnx(h, x, inputs[0], out_shape, layer->weights[MOVING_MEAN].value.data,
                              inference_affine(layer, c), 1, output);
}

static int bn_c(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                const char *const *inputs, const nnk_shape *in_shapes, const char *output,
                const nnk_shape *out_shape, nnk_err *err)
{
    (void)n_in, (void)in_shapes, (void)err;
    return layers_affine_c(h, x, inputs[0], output, out_shape, layer->weights[MOVING_MEAN].value.data,
                           inference_affine(layer, out_shape->dim[out_shape->ndim - 1]));
}

LAYER_EXTENSION(bn, NULL)

const nnk_layer_vtable batch_normalization_layer = {
    .struct_size = sizeof(nnk_layer_vtable),
    .name = "batch_normalization",
    .doc = "Normalizes each feature by batch statistics in training and moving averages at inference, like Keras's BatchNormalization.",
    .params = bn_params,
    .config_size = sizeof(bn_config),
    .min_inputs = 1,
    .max_inputs = 1,
    .build = bn_build,
    .forward = bn_forward,
    .backward = bn_backward,
    .extension = bn_extension,
};
