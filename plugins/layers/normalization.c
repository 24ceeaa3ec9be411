/* normalization: (x - mean) / max(std, 1e-7) per feature (the last
 * axis), with mean and variance adapted on the training split before
 * training, like Keras's Normalization layer after adapt(). */
#include "layers.h"
#include <math.h>
#include <string.h>

#define EPSILON 1e-7

static const nnk_param_spec norm_params[] = {{NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

typedef struct norm_state {
    double *sum, *sq;
    int64_t count;
} norm_state;

static int norm_build(nnk_layer *layer, int n_in, const nnk_shape *in, nnk_shape *out, nnk_err *err)
{
    (void)n_in;
    nnk_shape c = {1, {in[0].dim[in[0].ndim - 1]}};
    if (layers_host->layer_add_state(layer, "mean", &c, "zeros", err) < 0 ||
        layers_host->layer_add_state(layer, "variance", &c, "ones", err) < 0)
        return err->status;
    *out = in[0];
    return NNK_OK;
}

static void dims(const nnk_tensor *t, int64_t *n, int64_t *c)
{
    *c = t->shape[t->ndim - 1];
    *n = *c > 0 ? nnk_tensor_elements(t) / *c : 0; /* sizes the core checked */
}

static int norm_forward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, nnk_tensor *out,
                        int training, nnk_err *err)
{
    (void)n_in, (void)training, (void)err;
    int64_t n, c;
    dims(in[0], &n, &c);
    const float *mean = layer->weights[0].value.data, *var = layer->weights[1].value.data;
    for (int64_t j = 0; j < c; j++) {
        double sd = sqrt(var[j]);
        float inv = (float)(1.0 / (sd > EPSILON ? sd : EPSILON));
        for (int64_t i = 0; i < n; i++)
            out->data[i * c + j] = (in[0]->data[i * c + j] - mean[j]) * inv;
    }
    return NNK_OK;
}

static int norm_backward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                         const nnk_tensor *dout, nnk_tensor *const *din, nnk_err *err)
{
    (void)n_in, (void)out, (void)err;
    if (!din[0])
        return NNK_OK;
    int64_t n, c;
    dims(in[0], &n, &c);
    const float *var = layer->weights[1].value.data;
    for (int64_t j = 0; j < c; j++) {
        double sd = sqrt(var[j]);
        float inv = (float)(1.0 / (sd > EPSILON ? sd : EPSILON));
        for (int64_t i = 0; i < n; i++)
            din[0]->data[i * c + j] = dout->data[i * c + j] * inv;
    }
    return NNK_OK;
}

static void norm_destroy(nnk_layer *layer)
{
    norm_state *s = layer->state;
    if (s) {
        layers_host->free(s->sum);
        layers_host->free(s->sq);
        layers_host->free(s);
    }
    layer->state = NULL;
}

static int norm_adapt(nnk_layer *layer, const nnk_tensor *batch, int final, nnk_err *err)
{
    int64_t c = layer->weights[0].value.shape[0];
    norm_state *s = layer->state;
    if (!s) {
        s = layer->state = layers_host->alloc_zeroed(1, sizeof *s);
        if (s) {
            s->sum = layers_host->alloc_zeroed((size_t)c, sizeof(double));
            s->sq = layers_host->alloc_zeroed((size_t)c, sizeof(double));
        }
        if (!s || !s->sum || !s->sq)
            return layers_host->err_set(err, NNK_ENOMEM, "out of memory");
    }
    if (batch) {
        int64_t n, cc;
        dims(batch, &n, &cc);
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < c; j++) {
                double v = batch->data[i * c + j];
                s->sum[j] += v;
                s->sq[j] += v * v;
            }
        s->count += n;
    }
    if (final) {
        if (s->count == 0)
            return layers_host->err_set(err, NNK_EDATA, "layer '%s': no data to adapt to", layer->name);
        for (int64_t j = 0; j < c; j++) {
            double mean = s->sum[j] / (double)s->count, var = s->sq[j] / (double)s->count - mean * mean;
            layer->weights[0].value.data[j] = (float)mean;
            layer->weights[1].value.data[j] = (float)(var > 0 ? var : 0);
        }
        norm_destroy(layer);
    }
    return NNK_OK;
}

/* The inference transform as a scale per feature, then zeros: the shift
 * (2c values, malloc'd by the host; NULL when out of memory). */
static float *inference_affine(const nnk_layer *layer, int64_t c)
{
    float *scale = layers_host->alloc_zeroed(2 * (size_t)c, sizeof(float));
    const float *var = layer->weights[1].value.data;
    for (int64_t j = 0; scale && j < c; j++) {
        double sd = sqrt(var[j]);
        scale[j] = (float)(1.0 / (sd > EPSILON ? sd : EPSILON));
    }
    return scale;
}

static int norm_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                     const char *const *inputs, const nnk_shape *in_shapes, const nnk_shape *out_shape,
                     const char **output, nnk_err *err)
{
    (void)n_in, (void)in_shapes, (void)err;
    return layers_affine_onnx(h, x, inputs[0], out_shape, layer->weights[0].value.data,
                              inference_affine(layer, out_shape->dim[out_shape->ndim - 1]), 0, output);
}

static int norm_c(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                  const char *const *inputs, const nnk_shape *in_shapes, const char *output,
                  const nnk_shape *out_shape, nnk_err *err)
{
    (void)n_in, (void)in_shapes, (void)err;
    return layers_affine_c(h, x, inputs[0], output, out_shape, layer->weights[0].value.data,
                           inference_affine(layer, out_shape->dim[out_shape->ndim - 1]));
}

LAYER_EXTENSION(norm, NULL)

const nnk_layer_vtable normalization_layer = {
    .struct_size = sizeof(nnk_layer_vtable),
    .name = "normalization",
    .doc = "Standardizes each feature with the mean and variance of the training split (adapted before training), like Keras's Normalization.",
    .params = norm_params,
    .config_size = 0,
    .min_inputs = 1,
    .max_inputs = 1,
    .build = norm_build,
    .forward = norm_forward,
    .backward = norm_backward,
    .destroy = norm_destroy,
    .adapt = norm_adapt,
    .extension = norm_extension,
};
