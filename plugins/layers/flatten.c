/* flatten: (rows, d1, d2, ...) -> (rows, d1*d2*...). */
#include "layers.h"
#include <string.h>

static const nnk_param_spec flatten_params[] = {{NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

static int flatten_build(nnk_layer *layer, int n_in, const nnk_shape *in,
                         nnk_shape *out, nnk_err *err)
{
    (void)layer, (void)n_in, (void)err;
    int64_t n = nnk_shape_elements(&in[0]); /* the core checked the input */
    out->ndim = 1;
    out->dim[0] = n;
    return NNK_OK;
}

static int flatten_forward(nnk_layer *layer, int n_in, const nnk_tensor *const *in,
                           nnk_tensor *out, int training, nnk_err *err)
{
    (void)layer, (void)n_in, (void)training, (void)err;
    memcpy(out->data, in[0]->data, (size_t)nnk_tensor_elements(in[0]) * sizeof(float));
    return NNK_OK;
}

static int flatten_backward(nnk_layer *layer, int n_in, const nnk_tensor *const *in,
                            const nnk_tensor *out, const nnk_tensor *dout,
                            nnk_tensor *const *din, nnk_err *err)
{
    (void)layer, (void)n_in, (void)out, (void)err;
    if (din[0])
        memcpy(din[0]->data, dout->data, (size_t)nnk_tensor_elements(in[0]) * sizeof(float));
    return NNK_OK;
}

static int flatten_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                        const char *const *inputs, const nnk_shape *in_shapes, const nnk_shape *out_shape,
                        const char **output, nnk_err *err)
{
    (void)layer, (void)n_in, (void)in_shapes, (void)out_shape, (void)err;
    const char *names[] = {"axis"};
    const double after_batch[] = {1};
    const int is_int[] = {1};
    *output = h->onnx_node(x, "Flatten", (const char *const[]){inputs[0], NULL}, NULL, 1, names, after_batch, is_int);
    return *output ? NNK_OK : NNK_ENOMEM;
}

static int flatten_c(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                     const char *const *inputs, const nnk_shape *in_shapes, const char *output,
                     const nnk_shape *out_shape, nnk_err *err)
{
    (void)layer, (void)n_in, (void)in_shapes, (void)err;
    layers_c_copy(h, x, output, inputs[0], nnk_shape_elements(out_shape));
    return NNK_OK;
}

LAYER_EXTENSION(flatten, NULL)

void layers_c_copy(const nnk_export_host *h, nnk_exporter *x, const char *to, const char *from, int64_t n)
{
    h->c_code(x, "    for (int j = 0; j < %lld; j++)\n        %s[j] = %s[j];\n", (long long)n, to, from);
}

const nnk_layer_vtable flatten_layer = {
    .struct_size = sizeof(nnk_layer_vtable),
    .name = "flatten",
    .doc = "Flattens each sample to one dimension, like Keras's Flatten.",
    .params = flatten_params,
    .config_size = 0,
    .min_inputs = 1,
    .max_inputs = 1,
    .build = flatten_build,
    .forward = flatten_forward,
    .backward = flatten_backward,
    .extension = flatten_extension,
};
