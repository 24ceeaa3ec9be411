/* dropout: inverted dropout. In training each value is zeroed with
 * probability `rate` and the rest scaled by 1/(1 - rate); at inference it
 * passes through unchanged. The mask comes from the layer's own random
 * stream, so runs are reproducible. */
#include "layers.h"
#include <string.h>

typedef struct dropout_config {
    double rate;
} dropout_config;

static const nnk_param_spec dropout_params[] = {
    {"rate", NNK_PARAM_FLOAT, NULL, 0, 0.999, NULL, "fraction of the inputs to drop during training",
     offsetof(dropout_config, rate)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

static int dropout_build(nnk_layer *layer, int n_in, const nnk_shape *in, nnk_shape *out, nnk_err *err)
{
    (void)layer, (void)n_in, (void)err;
    *out = in[0];
    return NNK_OK;
}

static int dropout_forward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, nnk_tensor *out,
                           int training, nnk_err *err)
{
    (void)n_in;
    const dropout_config *c = layer->config;
    int64_t n = nnk_tensor_elements(in[0]);
    if (!training || c->rate == 0) {
        memcpy(out->data, in[0]->data, (size_t)n * sizeof(float));
        return NNK_OK;
    }
    float *mask = layers_host->layer_scratch(layer, 0, n);
    if (!mask)
        return layers_host->err_set(err, NNK_ENOMEM, "out of memory");
    float keep = (float)(1.0 / (1.0 - c->rate));
    for (int64_t i = 0; i < n; i++) {
        mask[i] = layers_host->rng_uniform(layer->rng) >= c->rate ? keep : 0.0f;
        out->data[i] = in[0]->data[i] * mask[i];
    }
    return NNK_OK;
}

static int dropout_backward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                            const nnk_tensor *dout, nnk_tensor *const *din, nnk_err *err)
{
    (void)n_in, (void)out;
    const dropout_config *c = layer->config;
    int64_t n = nnk_tensor_elements(in[0]);
    if (!din[0])
        return NNK_OK;
    if (c->rate == 0) {
        memcpy(din[0]->data, dout->data, (size_t)n * sizeof(float));
        return NNK_OK;
    }
    float *mask = layers_host->layer_scratch(layer, 0, n);
    if (!mask)
        return layers_host->err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++)
        din[0]->data[i] = dout->data[i] * mask[i];
    return NNK_OK;
}

/* In inference dropout is the identity. */
static int dropout_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                        const char *const *inputs, const nnk_shape *in_shapes, const nnk_shape *out_shape,
                        const char **output, nnk_err *err)
{
    (void)layer, (void)n_in, (void)in_shapes, (void)out_shape, (void)err;
    *output = h->onnx_node(x, "Identity", (const char *const[]){inputs[0], NULL}, NULL, 0, NULL, NULL, NULL);
    return *output ? NNK_OK : NNK_ENOMEM;
}

static int dropout_c(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                     const char *const *inputs, const nnk_shape *in_shapes, const char *output,
                     const nnk_shape *out_shape, nnk_err *err)
{
    (void)layer, (void)n_in, (void)in_shapes, (void)err;
    layers_c_copy(h, x, output, inputs[0], nnk_shape_elements(out_shape));
    return NNK_OK;
}

LAYER_EXTENSION(dropout, NULL)

const nnk_layer_vtable dropout_layer = {
    .struct_size = sizeof(nnk_layer_vtable),
    .name = "dropout",
    .doc = "Inverted dropout, only while training, like Keras's Dropout.",
    .params = dropout_params,
    .config_size = sizeof(dropout_config),
    .min_inputs = 1,
    .max_inputs = 1,
    .build = dropout_build,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .extension = dropout_extension,
};
