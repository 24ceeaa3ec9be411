/* max_pooling2d and average_pooling2d: Keras's MaxPooling2D and
 * AveragePooling2D, channels last, on the host's nnkit.compute.pool2d/1.
 * strides default to pool_size; `same` pads as TensorFlow (the odd row
 * and column after), and windows read real cells only: average divides by
 * how many there are. Max pooling's gradient goes to the first cell
 * holding a window's maximum, top row first, left to right: where
 * TensorFlow's CPU kernel sends it when values tie. */
#include "vision.h"
#include <stddef.h>
#include <string.h>

typedef struct pool_config {
    nnk_ints pool_size, strides;
    const char *padding;
} pool_config;

static const char *const paddings[] = {"valid", "same", NULL};

static const nnk_param_spec pool_params[] = {
    {"pool_size", NNK_PARAM_INTS, "2", 1, 4096, NULL, "window height and width (one value: both)",
     offsetof(pool_config, pool_size)},
    /* Keras's strides=None: 0 means the pool size */
    {"strides", NNK_PARAM_INTS, "0", 0, 4096, NULL, "step between windows (rows, columns); 0: the pool size",
     offsetof(pool_config, strides)},
    {"padding", NNK_PARAM_CHOICE, "valid", 0, 0, paddings,
     "valid: windows inside the input; same: out = ceil(in / stride), the odd cell after",
     offsetof(pool_config, padding)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
};

static int64_t stride_at(const pool_config *c, int k)
{
    int64_t s = pair_at(&c->strides, k);
    return s > 0 ? s : pair_at(&c->pool_size, k);
}

/* The geometry along both axes; 0, or -1 when a window does not fit. */
static int pool_axes(const pool_config *c, const nnk_shape *in, window_axis ax[2])
{
    for (int k = 0; k < 2; k++) {
        ax[k] = (window_axis){in->dim[k], pair_at(&c->pool_size, k), stride_at(c, k), 1, 0, 0};
        if (window_fit(&ax[k], !strcmp(c->padding, "same")))
            return -1;
    }
    return 0;
}

static int pool_build(nnk_layer *layer, int n_in, const nnk_shape *in, nnk_shape *out, nnk_err *err)
{
    (void)n_in;
    const pool_config *c = layer->config;
    if (image_input(layer, &in[0], err) || pair_param(layer, "pool_size", &c->pool_size, err) ||
        pair_param(layer, "strides", &c->strides, err))
        return err->status;
    window_axis ax[2];
    if (pool_axes(c, &in[0], ax))
        return vision_host->err_set(err, NNK_ESHAPE,
                                    "layer '%s': a %lldx%lld window does not fit in %lldx%lld cells with padding valid",
                                    layer->name, (long long)pair_at(&c->pool_size, 0),
                                    (long long)pair_at(&c->pool_size, 1), (long long)in[0].dim[0],
                                    (long long)in[0].dim[1]);
    *out = (nnk_shape){3, {ax[0].out, ax[1].out, in[0].dim[2]}};
    return NNK_OK;
}

void pool_window(const nnk_layer *layer, const nnk_shape *in, window2d *w)
{
    window_axis ax[2];
    pool_axes(layer->config, in, ax); /* build checked that they fit */
    *w = (window2d){.in_h = in->dim[0], .in_w = in->dim[1], .channels = in->dim[2], .out_h = ax[0].out,
                    .out_w = ax[1].out, .out_c = in->dim[2]};
    for (int a = 0; a < 2; a++) {
        w->k[a] = ax[a].size, w->stride[a] = ax[a].stride, w->dilation[a] = 1;
        w->pad[a] = ax[a].pad_before, w->pad[a + 2] = pad_after(&ax[a]);
    }
}

static nnk_pool2d_shape pool_shape(const nnk_layer *layer, const nnk_tensor *x)
{
    const pool_config *c = layer->config;
    nnk_shape sample = {3, {x->shape[1], x->shape[2], x->shape[3]}};
    window_axis ax[2];
    pool_axes(c, &sample, ax); /* build checked that they fit */
    return (nnk_pool2d_shape){x->shape[0], x->shape[1], x->shape[2], x->shape[3], ax[0].out, ax[1].out, ax[0].size,
                              ax[1].size, ax[0].stride, ax[1].stride, ax[0].pad_before, ax[1].pad_before};
}

static int pool_forward(nnk_layer *layer, const nnk_tensor *x, nnk_tensor *y, int max, nnk_err *err)
{
    const nnk_host_pool2d *pool = host_capability(layer, NNK_CAP_POOL2D, err);
    if (!pool)
        return err->status;
    nnk_pool2d_shape s = pool_shape(layer, x);
    return max ? pool->max_forward(&s, x->data, y->data, err) : pool->average_forward(&s, x->data, y->data, err);
}

static int pool_backward(nnk_layer *layer, const nnk_tensor *x, const nnk_tensor *dy, nnk_tensor *dx, int max,
                         nnk_err *err)
{
    const nnk_host_pool2d *pool = host_capability(layer, NNK_CAP_POOL2D, err);
    if (!pool)
        return err->status;
    if (!dx)
        return NNK_OK;
    nnk_pool2d_shape s = pool_shape(layer, x);
    return max ? pool->max_backward(&s, x->data, dy->data, dx->data, err)
               : pool->average_backward(&s, dy->data, dx->data, err);
}

static int max_forward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, nnk_tensor *out, int training,
                       nnk_err *err)
{
    (void)n_in, (void)training;
    return pool_forward(layer, in[0], out, 1, err);
}

static int max_backward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                        const nnk_tensor *dout, nnk_tensor *const *din, nnk_err *err)
{
    (void)n_in, (void)out;
    return pool_backward(layer, in[0], dout, din[0], 1, err);
}

static int average_forward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, nnk_tensor *out, int training,
                           nnk_err *err)
{
    (void)n_in, (void)training;
    return pool_forward(layer, in[0], out, 0, err);
}

static int average_backward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                            const nnk_tensor *dout, nnk_tensor *const *din, nnk_err *err)
{
    (void)n_in, (void)out;
    return pool_backward(layer, in[0], dout, din[0], 0, err);
}

static int max_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                    const char *const *inputs, const nnk_shape *in_shapes, const nnk_shape *out_shape,
                    const char **output, nnk_err *err)
{
    (void)n_in, (void)out_shape;
    return pool_onnx(layer, h, x, "MaxPool", inputs[0], &in_shapes[0], output, err);
}

static int average_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                        const char *const *inputs, const nnk_shape *in_shapes, const nnk_shape *out_shape,
                        const char **output, nnk_err *err)
{
    (void)n_in, (void)out_shape;
    return pool_onnx(layer, h, x, "AveragePool", inputs[0], &in_shapes[0], output, err);
}

static int max_c(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                 const char *const *inputs, const nnk_shape *in_shapes, const char *output,
                 const nnk_shape *out_shape, nnk_err *err)
{
    (void)n_in, (void)out_shape, (void)err;
    window2d w;
    pool_window(layer, &in_shapes[0], &w);
    pool_c(h, x, &w, 1, inputs[0], output);
    return NNK_OK;
}

static int average_c(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                     const char *const *inputs, const nnk_shape *in_shapes, const char *output,
                     const nnk_shape *out_shape, nnk_err *err)
{
    (void)n_in, (void)out_shape, (void)err;
    window2d w;
    pool_window(layer, &in_shapes[0], &w);
    pool_c(h, x, &w, 0, inputs[0], output);
    return NNK_OK;
}

EXPORT_EXTENSION(max)
EXPORT_EXTENSION(average)

const nnk_layer_vtable max_pooling2d_layer = {
    .struct_size = sizeof(nnk_layer_vtable),
    .name = "max_pooling2d",
    .doc = "The largest value of each window, per channel, like Keras's MaxPooling2D.",
    .params = pool_params,
    .config_size = sizeof(pool_config),
    .min_inputs = 1,
    .max_inputs = 1,
    .build = pool_build,
    .forward = max_forward,
    .backward = max_backward,
    .extension = max_extension,
};

const nnk_layer_vtable average_pooling2d_layer = {
    .struct_size = sizeof(nnk_layer_vtable),
    .name = "average_pooling2d",
    .doc = "The mean of each window's real cells, per channel, like Keras's AveragePooling2D.",
    .params = pool_params,
    .config_size = sizeof(pool_config),
    .min_inputs = 1,
    .max_inputs = 1,
    .build = pool_build,
    .forward = average_forward,
    .backward = average_backward,
    .extension = average_extension,
};
