/* The exported form the normalizing layers share: per feature j of the
 * last axis, y = (x - mean[j]) * scale[j] + shift[j], as their inference
 * forward computes it. */
#include "layers.h"

int layers_affine_onnx(const nnk_export_host *h, nnk_exporter *x, const char *input, const nnk_shape *shape,
                       const float *mean, float *affine, int with_shift, const char **output)
{
    if (!affine)
        return NNK_ENOMEM;
    int64_t c = shape->dim[shape->ndim - 1];
    const float *scale = affine, *shift = with_shift ? affine + c : NULL;
    const char *y = NULL, *m = h->onnx_constant(x, "mean", mean, &c, 1);
    if (m)
        y = h->onnx_node(x, "Sub", (const char *const[]){input, m, NULL}, NULL, 0, NULL, NULL, NULL);
    const char *s = y ? h->onnx_constant(x, "scale", scale, &c, 1) : NULL;
    y = s ? h->onnx_node(x, "Mul", (const char *const[]){y, s, NULL}, NULL, 0, NULL, NULL, NULL) : NULL;
    if (y && shift) {
        const char *b = h->onnx_constant(x, "shift", shift, &c, 1);
        y = b ? h->onnx_node(x, "Add", (const char *const[]){y, b, NULL}, NULL, 0, NULL, NULL, NULL) : NULL;
    }
    *output = y;
    layers_host->free(affine);
    return y ? NNK_OK : NNK_ENOMEM;
}

int layers_affine_c(const nnk_export_host *h, nnk_exporter *x, const char *input, const char *output,
                    const nnk_shape *shape, const float *mean, float *affine)
{
    if (!affine)
        return NNK_ENOMEM;
    int64_t c = shape->dim[shape->ndim - 1], n = nnk_shape_elements(shape);
    const char *m = h->c_array(x, "mean", mean, c);
    const char *s = m ? h->c_array(x, "scale", affine, c) : NULL;
    const char *b = s ? h->c_array(x, "shift", affine + c, c) : NULL;
    layers_host->free(affine);
    if (!b)
        return NNK_ENOMEM;
    h->c_code(x, "    for (int j = 0; j < %lld; j++)\n        %s[j] = (%s[j] - %s[j %% %lld]) * %s[j %% %lld] + %s[j %% %lld];\n",
              (long long)n, output, input, m, (long long)c, s, (long long)c, b, (long long)c);
    return NNK_OK;
}
