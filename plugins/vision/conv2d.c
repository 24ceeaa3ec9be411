/* conv2d: Keras's Conv2D, channels last. y = activation(conv(x, kernel) +
 * bias) with the kernel (kernel_h, kernel_w, in_channels, filters),
 * strides, dilations and `valid` or `same` padding (TensorFlow's: the odd
 * row and column after). Runs on the host's nnkit.compute.conv2d/1. */
#include "vision.h"
#include <stddef.h>
#include <string.h>

typedef struct conv_config {
    int64_t filters;
    nnk_ints kernel_size, strides, dilation_rate;
    const char *padding, *activation;
    int use_bias;
    const char *kernel_initializer, *bias_initializer;
    double kernel_l1, kernel_l2, bias_l1, bias_l2;
} conv_config;

static const char *const paddings[] = {"valid", "same", NULL};
static const char *const initializers[] = {"glorot_uniform", "glorot_normal", "he_normal", "he_uniform",
                                           "lecun_normal",   "lecun_uniform", "zeros",     "ones",
                                           NULL};

static const nnk_param_spec conv_params[] = {
    {"filters", NNK_PARAM_INT, NULL, 1, 65536, NULL, "number of output channels", offsetof(conv_config, filters)},
    {"kernel_size", NNK_PARAM_INTS, NULL, 1, 4096, NULL, "window height and width (one value: both)",
     offsetof(conv_config, kernel_size)},
    {"strides", NNK_PARAM_INTS, "1", 1, 4096, NULL, "step between windows (rows, columns)",
     offsetof(conv_config, strides)},
    {"padding", NNK_PARAM_CHOICE, "valid", 0, 0, paddings,
     "valid: windows inside the input; same: out = ceil(in / stride), zeros around (the odd one after)",
     offsetof(conv_config, padding)},
    {"dilation_rate", NNK_PARAM_INTS, "1", 1, 4096, NULL, "spacing of the window's taps (rows, columns)",
     offsetof(conv_config, dilation_rate)},
    {"activation", NNK_PARAM_ACTIVATION, "linear", 0, 0, NULL, "activation applied to conv(x) + b",
     offsetof(conv_config, activation)},
    {"use_bias", NNK_PARAM_BOOL, "true", 0, 0, NULL, "whether the layer adds a bias per filter",
     offsetof(conv_config, use_bias)},
    {"kernel_initializer", NNK_PARAM_CHOICE, "glorot_uniform", 0, 0, initializers, "initializer of the kernel",
     offsetof(conv_config, kernel_initializer)},
    {"bias_initializer", NNK_PARAM_CHOICE, "zeros", 0, 0, initializers, "initializer of the bias",
     offsetof(conv_config, bias_initializer)},
    {"kernel_l1", NNK_PARAM_FLOAT, "0", 0, 1e6, NULL, "L1 regularization of the kernel",
     offsetof(conv_config, kernel_l1)},
    {"kernel_l2", NNK_PARAM_FLOAT, "0", 0, 1e6, NULL, "L2 regularization of the kernel (factor * sum w^2)",
     offsetof(conv_config, kernel_l2)},
    {"bias_l1", NNK_PARAM_FLOAT, "0", 0, 1e6, NULL, "L1 regularization of the bias", offsetof(conv_config, bias_l1)},
    {"bias_l2", NNK_PARAM_FLOAT, "0", 0, 1e6, NULL, "L2 regularization of the bias", offsetof(conv_config, bias_l2)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
};

void conv_window(const nnk_layer *layer, const nnk_shape *in, window2d *w)
{
    const conv_config *c = layer->config;
    const nnk_tensor *k = &layer->weights[0].value;
    int same = !strcmp(c->padding, "same");
    *w = (window2d){.in_h = in->dim[0], .in_w = in->dim[1], .channels = in->dim[2], .out_c = c->filters};
    for (int a = 0; a < 2; a++) {
        window_axis ax = {in->dim[a], k->shape[a], pair_at(&c->strides, a), pair_at(&c->dilation_rate, a), 0, 0};
        window_fit(&ax, same); /* build checked it fits */
        w->k[a] = ax.size, w->stride[a] = ax.stride, w->dilation[a] = ax.dilation;
        w->pad[a] = ax.pad_before, w->pad[a + 2] = pad_after(&ax);
        *(a ? &w->out_w : &w->out_h) = ax.out;
    }
}

/* The convolution's shape for a batch of rows: conv_window's geometry. */
static nnk_conv2d_shape conv_shape(const nnk_layer *layer, const nnk_tensor *x)
{
    nnk_shape sample = {3, {x->shape[1], x->shape[2], x->shape[3]}};
    window2d w;
    conv_window(layer, &sample, &w);
    return (nnk_conv2d_shape){x->shape[0], w.in_h, w.in_w, w.channels, w.out_h, w.out_w, w.out_c, w.k[0], w.k[1],
                              w.stride[0], w.stride[1], w.dilation[0], w.dilation[1], w.pad[0], w.pad[1]};
}

static int conv_build(nnk_layer *layer, int n_in, const nnk_shape *in, nnk_shape *out, nnk_err *err)
{
    (void)n_in;
    const conv_config *c = layer->config;
    if (image_input(layer, &in[0], err) || pair_param(layer, "kernel_size", &c->kernel_size, err) ||
        pair_param(layer, "strides", &c->strides, err) || pair_param(layer, "dilation_rate", &c->dilation_rate, err))
        return err->status;
    window_axis ax[2];
    for (int k = 0; k < 2; k++) {
        ax[k] = (window_axis){in[0].dim[k], pair_at(&c->kernel_size, k), pair_at(&c->strides, k),
                              pair_at(&c->dilation_rate, k), 0, 0};
        if (window_fit(&ax[k], !strcmp(c->padding, "same")))
            return vision_host->err_set(err, NNK_ESHAPE,
                                        "layer '%s': a %lld-tap window (dilation %lld) does not fit in %lld %s with "
                                        "padding valid",
                                        layer->name, (long long)ax[k].size, (long long)ax[k].dilation,
                                        (long long)ax[k].in, k ? "columns" : "rows");
    }
    int64_t in_c = in[0].dim[2], taps = ax[0].size * ax[1].size;
    nnk_shape ks = {4, {ax[0].size, ax[1].size, in_c, c->filters}}, bs = {1, {c->filters}};
    int ki = vision_host->layer_add_weight(layer, "kernel", &ks, c->kernel_initializer, taps * in_c,
                                           taps * c->filters, err);
    if (ki < 0)
        return err->status;
    layer->weights[ki].l1 = (float)c->kernel_l1, layer->weights[ki].l2 = (float)c->kernel_l2;
    if (c->use_bias) {
        int bi = vision_host->layer_add_weight(layer, "bias", &bs, c->bias_initializer, taps * in_c,
                                               taps * c->filters, err);
        if (bi < 0)
            return err->status;
        layer->weights[bi].l1 = (float)c->bias_l1, layer->weights[bi].l2 = (float)c->bias_l2;
    }
    *out = (nnk_shape){3, {ax[0].out, ax[1].out, c->filters}};
    return NNK_OK;
}

static int conv_forward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, nnk_tensor *out, int training,
                        nnk_err *err)
{
    (void)n_in, (void)training;
    const conv_config *c = layer->config;
    const nnk_host_conv2d *conv = host_capability(layer, NNK_CAP_CONV2D, err);
    if (!conv)
        return err->status;
    nnk_conv2d_shape s = conv_shape(layer, in[0]);
    return conv->forward(&s, in[0]->data, layer->weights[0].value.data,
                         c->use_bias ? layer->weights[1].value.data : NULL, out->data, err);
}

/* The input gradient (first: a folded update changes the kernel), then
 * the kernel's and bias's: into their grads, or with plain SGD at rate lr
 * > 0 folded in (value += -lr g). */
static int conv_gradients(nnk_layer *layer, const nnk_tensor *x, const nnk_tensor *dy,
                          nnk_tensor *dx, float lr, nnk_err *err)
{
    const conv_config *c = layer->config;
    const nnk_host_conv2d *conv = host_capability(layer, NNK_CAP_CONV2D, err);
    if (!conv)
        return err->status;
    nnk_conv2d_shape s = conv_shape(layer, x);
    nnk_weight *k = &layer->weights[0], *b = c->use_bias ? &layer->weights[1] : NULL;
    if (dx && conv->backward_data(&s, dy->data, k->value.data, dx->data, err))
        return err->status;
    if (lr <= 0)
        return conv->backward_weights(&s, x->data, dy->data, 1.0f, 0.0f, k->grad.data, b ? b->grad.data : NULL, err);
    if (k->trainable && conv->backward_weights(&s, x->data, dy->data, -lr, 1.0f, k->value.data, NULL, err))
        return err->status;
    if (b && b->trainable) { /* the bias's gradient alone: the sum of dy per filter */
        memset(b->grad.data, 0, sizeof(float) * (size_t)c->filters);
        int64_t cells = s.batch * s.out_h * s.out_w;
        for (int64_t i = 0; i < cells; i++)
            for (int64_t f = 0; f < c->filters; f++)
                b->grad.data[f] += dy->data[i * c->filters + f];
        for (int64_t f = 0; f < c->filters; f++)
            b->value.data[f] -= lr * b->grad.data[f];
    }
    return NNK_OK;
}

static int conv_backward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                         const nnk_tensor *dout, nnk_tensor *const *din, nnk_err *err)
{
    (void)n_in, (void)out;
    return conv_gradients(layer, in[0], dout, din[0], 0.0f, err);
}

static int conv_backward_sgd(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                             const nnk_tensor *dout, nnk_tensor *const *din, float learning_rate, nnk_err *err)
{
    (void)n_in, (void)out;
    return conv_gradients(layer, in[0], dout, din[0], learning_rate, err);
}

static const nnk_layer_fused_sgd conv_fused = {sizeof(nnk_layer_fused_sgd), conv_backward_sgd};

static const nnk_layer_export_onnx conv_onnx_cap = {sizeof(nnk_layer_export_onnx), conv_onnx};
static const nnk_layer_export_c conv_c_cap = {sizeof(nnk_layer_export_c), conv_c};

static const void *conv_extension(const char *name)
{
    return !strcmp(name, NNK_CAP_FUSED_SGD)     ? (const void *)&conv_fused
           : !strcmp(name, NNK_CAP_EXPORT_ONNX) ? (const void *)&conv_onnx_cap
           : !strcmp(name, NNK_CAP_EXPORT_C)    ? (const void *)&conv_c_cap
                                                : NULL;
}

const nnk_layer_vtable conv2d_layer = {
    .struct_size = sizeof(nnk_layer_vtable),
    .name = "conv2d",
    .doc = "2-D convolution over images (rows, columns, channels): activation(conv(x, kernel) + b), like Keras's "
           "Conv2D.",
    .params = conv_params,
    .config_size = sizeof(conv_config),
    .min_inputs = 1,
    .max_inputs = 1,
    .build = conv_build,
    .forward = conv_forward,
    .backward = conv_backward,
    .extension = conv_extension,
};
