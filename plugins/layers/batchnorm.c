/* batch_normalization: normalizes each feature (the last axis) by the
 * batch's mean and variance while training, and by moving averages of
 * them at inference, then scales by gamma and shifts by beta (Keras's
 * BatchNormalization). The moving statistics are state, saved with the
 * model. */
#include "layers.h"
#include <math.h>
#include <string.h>

typedef struct bn_config {
    double momentum, epsilon;
    int center, scale;
} bn_config;

static const nnk_param_spec bn_params[] = {
    {"momentum", NNK_PARAM_FLOAT, "0.99", 0, 1, NULL, "decay of the moving mean and variance",
     offsetof(bn_config, momentum)},
    {"epsilon", NNK_PARAM_FLOAT, "0.001", 1e-12, 1, NULL, "added to the variance", offsetof(bn_config, epsilon)},
    {"center", NNK_PARAM_BOOL, "true", 0, 0, NULL, "learn an offset beta", offsetof(bn_config, center)},
    {"scale", NNK_PARAM_BOOL, "true", 0, 0, NULL, "learn a scale gamma", offsetof(bn_config, scale)},
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

static int bn_forward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, nnk_tensor *out,
                      int training, nnk_err *err)
{
    (void)n_in;
    const bn_config *cfg = layer->config;
    int64_t n, c;
    dims(in[0], &n, &c);
    const float *x = in[0]->data, *gamma = layer->weights[GAMMA].value.data, *beta = layer->weights[BETA].value.data;
    float *mm = layer->weights[MOVING_MEAN].value.data, *mv = layer->weights[MOVING_VARIANCE].value.data;
    float *xhat = layers_host->layer_scratch(layer, 0, n * c), *inv = layers_host->layer_scratch(layer, 1, c);
    if (!xhat || !inv)
        return layers_host->err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t j = 0; j < c; j++) {
        double mean = mm[j], var = mv[j];
        if (training) {
            double s = 0, sq = 0;
            for (int64_t i = 0; i < n; i++)
                s += x[i * c + j];
            mean = s / (double)n;
            for (int64_t i = 0; i < n; i++) {
                double dlt = x[i * c + j] - mean;
                sq += dlt * dlt;
            }
            var = sq / (double)n;
            mm[j] = (float)(cfg->momentum * mm[j] + (1 - cfg->momentum) * mean);
            mv[j] = (float)(cfg->momentum * mv[j] + (1 - cfg->momentum) * var);
        }
        inv[j] = (float)(1.0 / sqrt(var + cfg->epsilon));
        for (int64_t i = 0; i < n; i++) {
            float h = (float)(x[i * c + j] - mean) * inv[j];
            xhat[i * c + j] = h;
            out->data[i * c + j] = gamma[j] * h + beta[j];
        }
    }
    return NNK_OK;
}

static int bn_backward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                       const nnk_tensor *dout, nnk_tensor *const *din, nnk_err *err)
{
    (void)n_in, (void)out;
    int64_t n, c;
    dims(in[0], &n, &c);
    const float *gamma = layer->weights[GAMMA].value.data, *dy = dout->data;
    float *dg = layer->weights[GAMMA].grad.data, *db = layer->weights[BETA].grad.data;
    float *xhat = layers_host->layer_scratch(layer, 0, n * c), *inv = layers_host->layer_scratch(layer, 1, c);
    if (!xhat || !inv)
        return layers_host->err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t j = 0; j < c; j++) {
        double sdy = 0, sdyh = 0;
        for (int64_t i = 0; i < n; i++) {
            sdy += dy[i * c + j];
            sdyh += (double)dy[i * c + j] * xhat[i * c + j];
        }
        dg[j] = (float)sdyh;
        db[j] = (float)sdy;
        if (!din[0])
            continue;
        /* through the batch statistics: dx = g inv / n (n dy - sum dy - xhat sum dy xhat) */
        double k = gamma[j] * inv[j] / (double)n;
        for (int64_t i = 0; i < n; i++)
            din[0]->data[i * c + j] = (float)(k * ((double)n * dy[i * c + j] - sdy - xhat[i * c + j] * sdyh));
    }
    return NNK_OK;
}

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
};
