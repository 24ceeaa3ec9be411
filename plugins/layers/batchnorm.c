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
    return bn && NNK_HAS(bn, moment_sums) ? bn : NULL;
}

/* Slot 2 of the layer's scratch, as doubles: the batch's mean (c), the
 * global and local row counts (2), the sums (2 c + 1: moments and the row
 * count, then the gradient sums) and p, q, r for the input gradient (3 c;
 * p holds the shift while the forward pass runs). Slot 1: inv (c floats).
 * Backward reads x again instead of a kept xhat. */
typedef struct bn_scratch {
    double *mean, *counts, *sums, *p, *q, *r;
    float *inv;
} bn_scratch;

static int scratch(nnk_layer *layer, int64_t c, bn_scratch *s)
{
    double *g = (double *)layers_host->layer_scratch(layer, 2, 2 * (6 * c + 3));
    s->inv = layers_host->layer_scratch(layer, 1, c);
    if (!g || !s->inv)
        return -1;
    s->mean = g, s->counts = g + c, s->sums = g + c + 2;
    s->p = g + 3 * c + 3, s->q = s->p + c, s->r = s->q + c;
    return 0;
}

/* A shifted mean past 2^10 standard deviations loses more than float's
 * precision to the one-pass variance: the batch is summed again around
 * its mean. Shifts agree on every process, so the choice does too. */
static int shift_too_far(double offset, double var, double epsilon)
{
    return offset * offset > 0x1p20 * (var + epsilon);
}

/* Training statistics into s->mean and var: both moments in one pass
 * around the moving mean (the same on every process), summed over the
 * processes with the row count when synchronized (counts[0..1] then keep
 * the global and local counts for backward; counts[0] stays 0 when not).
 * The centered second pass runs only when the shift is too far from the
 * mean. NNK_OK, or the failing status with err set. */
static int statistics(nnk_layer *layer, const nnk_host_batchnorm *bn, const float *x, int64_t n, int64_t c,
                      const bn_scratch *s, double *var, nnk_err *err)
{
    const bn_config *cfg = layer->config;
    const float *mm = layer->weights[MOVING_MEAN].value.data;
    double *shift = s->p, *s1 = s->sums, *s2 = s->sums + c;
    for (int64_t j = 0; j < c; j++)
        shift[j] = mm[j];
    if (bn->moment_sums(n, c, x, shift, s1, s2, err))
        return err->status;
    s->sums[2 * c] = (double)n;
    int procs = allreduce(layer, s->sums, 2 * c + 1, err), again = 0;
    if (procs < 0)
        return err->status;
    double total = s->sums[2 * c];
    s->counts[0] = procs > 1 ? total : 0;
    s->counts[1] = (double)n;
    for (int64_t j = 0; j < c && total > 0; j++) {
        double offset = s1[j] / total, v = s2[j] / total - offset * offset;
        s->mean[j] = shift[j] + offset;
        var[j] = v > 0 ? v : 0;
        again |= shift_too_far(offset, var[j], cfg->epsilon);
    }
    if (!again)
        return NNK_OK;
    if (bn->channel_sums(n, c, x, s->mean, var, err) || (procs > 1 && allreduce(layer, var, c, err) < 0))
        return err->status;
    for (int64_t j = 0; j < c; j++)
        var[j] /= total;
    return NNK_OK;
}

static int bn_forward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, nnk_tensor *out, int training,
                      nnk_err *err)
{
    (void)n_in;
    const bn_config *cfg = layer->config;
    const nnk_host_batchnorm *bn = passes();
    int64_t n, c;
    dims(in[0], &n, &c);
    const float *x = in[0]->data, *gamma = layer->weights[GAMMA].value.data, *beta = layer->weights[BETA].value.data;
    float *mm = layer->weights[MOVING_MEAN].value.data, *mv = layer->weights[MOVING_VARIANCE].value.data;
    bn_scratch s;
    if (!bn)
        return layers_host->err_set(err, NNK_EPLUGIN, "batch_normalization: the host lacks %s", NNK_CAP_BATCHNORM);
    if (scratch(layer, c, &s))
        return layers_host->err_set(err, NNK_ENOMEM, "out of memory");
    double *var = s.q;
    if (training && statistics(layer, bn, x, n, c, &s, var, err))
        return err->status;
    if (training && s.sums[2 * c] == 0) /* no row anywhere to learn statistics from */
        return NNK_OK;
    for (int64_t j = 0; j < c; j++) {
        double mean = training ? s.mean[j] : mm[j], v = training ? var[j] : mv[j];
        if (training) {
            mm[j] = (float)(cfg->momentum * mm[j] + (1 - cfg->momentum) * mean);
            mv[j] = (float)(cfg->momentum * mv[j] + (1 - cfg->momentum) * v);
        }
        s.inv[j] = (float)(1.0 / sqrt(v + cfg->epsilon));
        s.mean[j] = mean;
    }
    bn->normalize(n, c, x, s.mean, s.inv, gamma, beta, NULL, out->data);
    return NNK_OK;
}

/* Backward through global statistics. Each process's dy is the gradient of
 * its own rows' mean loss; the global one is dy times n / N (its rows over
 * the global batch's), and the result goes back to the local scale:
 *   dx = g inv / N (N dy - N/n (sum dy' + xhat sum dy' xhat)), dy' global.
 * Through one process's statistics, N = n and dy' = dy. With
 * xhat = (x - mean) inv, the pass reads x: dx = p dy + (q - r inv mean)
 * + r inv x. */
static int input_gradient(nnk_layer *layer, const nnk_host_batchnorm *bn, int64_t n, int64_t c, const float *dy,
                          const float *x, const float *gamma, const bn_scratch *s, nnk_tensor *dx, nnk_err *err)
{
    double *sums = s->sums;
    int synced = s->counts[0] > 0;
    double total = synced ? s->counts[0] : (double)n, back = !synced ? 1 : s->counts[1] > 0 ? total / s->counts[1] : 0;
    if (synced) {
        double share = s->counts[1] / total;
        for (int64_t j = 0; j < 2 * c; j++)
            sums[j] *= share;
        if (allreduce(layer, sums, 2 * c, err) < 0)
            return err->status;
    }
    if (!dx)
        return NNK_OK;
    for (int64_t j = 0; j < c; j++) {
        double k = gamma[j] * s->inv[j] / total, r = -k * back * sums[c + j];
        s->p[j] = k * total;
        s->q[j] = -k * back * sums[j] - r * s->inv[j] * s->mean[j];
        s->r[j] = r * s->inv[j];
    }
    bn->input_gradient(n, c, dy, x, s->p, s->q, s->r, dx->data);
    return NNK_OK;
}

static int bn_backward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                       const nnk_tensor *dout, nnk_tensor *const *din, nnk_err *err)
{
    (void)n_in, (void)out;
    const nnk_host_batchnorm *bn = passes();
    int64_t n, c;
    dims(in[0], &n, &c);
    const float *gamma = layer->weights[GAMMA].value.data, *dy = dout->data, *x = in[0]->data;
    float *dg = layer->weights[GAMMA].grad.data, *db = layer->weights[BETA].grad.data;
    bn_scratch s;
    if (!bn)
        return layers_host->err_set(err, NNK_EPLUGIN, "batch_normalization: the host lacks %s", NNK_CAP_BATCHNORM);
    if (scratch(layer, c, &s))
        return layers_host->err_set(err, NNK_ENOMEM, "out of memory");
    if (bn->gradient_sums(n, c, dy, x, s.sums, s.sums + c, err))
        return err->status;
    for (int64_t j = 0; j < c; j++) { /* sum dy xhat from sum dy x; the core weights these by rows' share */
        s.sums[c + j] = s.inv[j] * (s.sums[c + j] - s.mean[j] * s.sums[j]);
        dg[j] = (float)s.sums[c + j];
        db[j] = (float)s.sums[j];
    }
    return input_gradient(layer, bn, n, c, dy, x, gamma, &s, din[0], err);
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

static int bn_c(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in, const char *const *inputs,
                const nnk_shape *in_shapes, const char *output, const nnk_shape *out_shape, nnk_err *err)
{
    (void)n_in, (void)in_shapes, (void)err;
    return layers_affine_c(h, x, inputs[0], output, out_shape, layer->weights[MOVING_MEAN].value.data,
                           inference_affine(layer, out_shape->dim[out_shape->ndim - 1]));
}

LAYER_EXTENSION(bn, NULL)

const nnk_layer_vtable batch_normalization_layer = {
    .struct_size = sizeof(nnk_layer_vtable),
    .name = "batch_normalization",
    .doc = "Normalizes each feature by batch statistics in training and moving averages at inference, like Keras's "
           "BatchNormalization.",
    .params = bn_params,
    .config_size = sizeof(bn_config),
    .min_inputs = 1,
    .max_inputs = 1,
    .build = bn_build,
    .forward = bn_forward,
    .backward = bn_backward,
    .extension = bn_extension,
};
