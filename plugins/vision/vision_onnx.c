/* The vision layers in ONNX. ONNX's Conv and pooling take NCHW, nnkit's
 * images are NHWC: each maps between Transposes (ONNX Runtime folds
 * adjacent ones). Conv's weight is nnkit's HWIO kernel reordered to OIHW;
 * padding is TensorFlow's, given explicitly (top, left, bottom, right);
 * AveragePool's default count_include_pad = 0 averages real cells only,
 * as nnkit does. */
#include "vision.h"
#include <string.h>

static const int64_t to_nchw[4] = {0, 3, 1, 2}, to_nhwc[4] = {0, 2, 3, 1};

static int have_ints(const nnk_layer *layer, const nnk_export_host *h, nnk_err *err)
{
    if (NNK_HAS(h, onnx_node_ints) && h->onnx_node_ints)
        return NNK_OK;
    return vision_host->err_set(err, NNK_EPLUGIN, "layer '%s': the exporter has no integer-list attributes",
                                layer->name);
}

static const char *transpose(const nnk_export_host *h, nnk_exporter *x, const char *input, const int64_t *perm)
{
    const char *names[] = {"perm"};
    const int64_t *values[] = {perm};
    const int counts[] = {4};
    return input ? h->onnx_node_ints(x, "Transpose", (const char *const[]){input, NULL}, NULL, 1, names, values, counts)
                 : NULL;
}

/* op over the NCHW image of input, with the window's attributes (no
 * dilations for pooling), back to NHWC. */
static const char *windowed(const nnk_export_host *h, nnk_exporter *x, const char *op, const char *input,
                            const char *weight, const char *bias, const window2d *w, int dilated)
{
    const char *nchw = transpose(h, x, input, to_nchw);
    if (!nchw)
        return NULL;
    const char *names[] = {"kernel_shape", "pads", "strides", "dilations"};
    const int64_t *values[] = {w->k, w->pad, w->stride, w->dilation};
    const int counts[] = {2, 4, 2, 2};
    const char *ins[] = {nchw, weight, bias, NULL};
    const char *y = h->onnx_node_ints(x, op, ins, NULL, dilated ? 4 : 3, names, values, counts);
    return transpose(h, x, y, to_nhwc);
}

int conv_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in, const char *const *inputs,
              const nnk_shape *in_shapes, const nnk_shape *out_shape, const char **output, nnk_err *err)
{
    (void)n_in, (void)out_shape;
    if (have_ints(layer, h, err))
        return err->status;
    window2d w;
    conv_window(layer, &in_shapes[0], &w);
    int64_t kh = w.k[0], kw = w.k[1], c = w.channels, f = w.out_c, dims[4] = {f, c, kh, kw};
    const float *hwio = layer->weights[0].value.data;
    float *oihw = vision_host->alloc(sizeof(float) * (size_t)(kh * kw * c * f));
    if (!oihw)
        return NNK_ENOMEM;
    for (int64_t u = 0; u < kh; u++)
        for (int64_t v = 0; v < kw; v++)
            for (int64_t i = 0; i < c; i++)
                for (int64_t o = 0; o < f; o++)
                    oihw[((o * c + i) * kh + u) * kw + v] = hwio[((u * kw + v) * c + i) * f + o];
    const char *weight = h->onnx_constant(x, "kernel", oihw, dims, 4);
    vision_host->free(oihw);
    const char *bias = layer->n_weights > 1 ? h->onnx_constant(x, "bias", layer->weights[1].value.data, &f, 1) : NULL;
    if (!weight || (layer->n_weights > 1 && !bias))
        return NNK_ENOMEM;
    *output = windowed(h, x, "Conv", inputs[0], weight, bias, &w, 1);
    return *output ? NNK_OK : NNK_ENOMEM;
}

int pool_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, const char *op, const char *input,
              const nnk_shape *in_shape, const char **output, nnk_err *err)
{
    if (have_ints(layer, h, err))
        return err->status;
    window2d w;
    pool_window(layer, in_shape, &w);
    *output = windowed(h, x, op, input, NULL, NULL, &w, 0);
    return *output ? NNK_OK : NNK_ENOMEM;
}

int global_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, const char *op, const char *input,
                const char **output, nnk_err *err)
{
    if (have_ints(layer, h, err))
        return err->status;
    static const int64_t axes[2] = {1, 2}; /* rows and columns of NHWC; keepdims stays 1 */
    const char *names[] = {"axes"};
    const int64_t *values[] = {axes};
    const int counts[] = {2};
    *output = h->onnx_node_ints(x, op, (const char *const[]){input, NULL}, NULL, 1, names, values, counts);
    return *output ? NNK_OK : NNK_ENOMEM;
}
