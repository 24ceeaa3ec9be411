/* reshape: Keras's Reshape. Each sample takes target_shape (1 to 3 axes,
 * the batch not counted); one axis may be -1, inferred from the others.
 * The values keep their row-major order, so it copies. */
#include "layers.h"
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct reshape_config {
    nnk_ints target_shape;
} reshape_config;

static const nnk_param_spec reshape_params[] = {
    {"target_shape", NNK_PARAM_INTS, NULL, -1, 1LL << 40, NULL,
     "each sample's new shape, e.g. 28,28,1; one axis may be -1 (inferred)", offsetof(reshape_config, target_shape)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

static int reshape_build(nnk_layer *layer, int n_in, const nnk_shape *in, nnk_shape *out, nnk_err *err)
{
    (void)n_in;
    const nnk_ints *t = &((const reshape_config *)layer->config)->target_shape;
    int64_t have = nnk_shape_elements(&in[0]), known = 1, infer = -1;
    if (t->n > NNK_MAX_DIMS - 1)
        return layers_host->err_set(err, NNK_ECONFIG, "layer '%s': target_shape has %lld axes, at most %d",
                                    layer->name, (long long)t->n, NNK_MAX_DIMS - 1);
    for (int64_t k = 0; k < t->n; k++) {
        if (t->v[k] == 0 || (t->v[k] == -1 && infer >= 0))
            return layers_host->err_set(err, NNK_ECONFIG,
                                        "layer '%s': target_shape axes are positive, with at most one -1", layer->name);
        if (t->v[k] == -1)
            infer = k;
        else
            known *= t->v[k]; /* each below 2^40 and at most 3: no overflow before the check below */
    }
    out->ndim = (int)t->n;
    for (int64_t k = 0; k < t->n; k++)
        out->dim[k] = t->v[k];
    if (infer >= 0 && known > 0 && have % known == 0)
        out->dim[infer] = have / known;
    if ((infer >= 0 && (known == 0 || have % known)) || (infer < 0 && known != have)) {
        char want[64] = "";
        for (int64_t k = 0, used = 0; k < t->n; k++)
            used += snprintf(want + used, sizeof want - (size_t)used, "%s%lld", k ? "," : "", (long long)t->v[k]);
        return layers_host->err_set(err, NNK_ESHAPE, "layer '%s': a sample of %lld values cannot take target_shape %s",
                                    layer->name, (long long)have, want);
    }
    return NNK_OK;
}

static int reshape_forward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, nnk_tensor *out, int training,
                           nnk_err *err)
{
    (void)layer, (void)n_in, (void)training, (void)err;
    memcpy(out->data, in[0]->data, (size_t)nnk_tensor_elements(in[0]) * sizeof(float));
    return NNK_OK;
}

static int reshape_backward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                            const nnk_tensor *dout, nnk_tensor *const *din, nnk_err *err)
{
    (void)layer, (void)n_in, (void)out, (void)err;
    if (din[0])
        memcpy(din[0]->data, dout->data, (size_t)nnk_tensor_elements(in[0]) * sizeof(float));
    return NNK_OK;
}

/* ONNX: Reshape to (batch, target...) with the batch kept (0 copies it). */
static int reshape_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                        const char *const *inputs, const nnk_shape *in_shapes, const nnk_shape *out_shape,
                        const char **output, nnk_err *err)
{
    (void)n_in, (void)in_shapes;
    const char *names[] = {"allowzero"};
    const double zero[] = {0};
    const int is_int[] = {1};
    int64_t dims[NNK_MAX_DIMS] = {0};
    for (int k = 0; k < out_shape->ndim; k++)
        dims[k + 1] = out_shape->dim[k];
    int64_t n = out_shape->ndim + 1;
    if (!NNK_HAS(h, onnx_int64_constant) || !h->onnx_int64_constant)
        return layers_host->err_set(err, NNK_EPLUGIN, "layer '%s': the exporter has no int64 constants", layer->name);
    const char *shape = h->onnx_int64_constant(x, "shape", dims, &n, 1);
    if (!shape)
        return NNK_ENOMEM;
    *output = h->onnx_node(x, "Reshape", (const char *const[]){inputs[0], shape, NULL}, NULL, 1, names, zero, is_int);
    return *output ? NNK_OK : NNK_ENOMEM;
}

static int reshape_c(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                     const char *const *inputs, const nnk_shape *in_shapes, const char *output,
                     const nnk_shape *out_shape, nnk_err *err)
{
    (void)layer, (void)n_in, (void)in_shapes, (void)err;
    layers_c_copy(h, x, output, inputs[0], nnk_shape_elements(out_shape));
    return NNK_OK;
}

LAYER_EXTENSION(reshape, NULL)

const nnk_layer_vtable reshape_layer = {
    .struct_size = sizeof(nnk_layer_vtable),
    .name = "reshape",
    .doc = "Gives each sample a new shape with the same values in the same order, like Keras's Reshape.",
    .params = reshape_params,
    .config_size = sizeof(reshape_config),
    .min_inputs = 1,
    .max_inputs = 1,
    .build = reshape_build,
    .forward = reshape_forward,
    .backward = reshape_backward,
    .extension = reshape_extension,
};
