/* dense: out = phi(x W + b), on the host's BLAS gemm. As in Keras, an
 * input of several dimensions is transformed along its last axis:
 * (rows, d1, ..., dk) -> (rows, d1, ..., units). */
#include "layers.h"
#include <string.h>

typedef struct dense_config {
    int64_t units;
    const char *activation;
    int use_bias;
    const char *kernel_initializer;
    const char *bias_initializer;
    double kernel_l1, kernel_l2, bias_l1, bias_l2;
} dense_config;

static const char *const initializers[] = {
    "glorot_uniform", "glorot_normal", "he_normal", "he_uniform",
    "lecun_normal", "lecun_uniform", "zeros", "ones", NULL};

static const nnk_param_spec dense_params[] = {
    {"units", NNK_PARAM_INT, NULL, 1, 1048576, NULL,
     "number of output units (neurons)", offsetof(dense_config, units)},
    {"activation", NNK_PARAM_ACTIVATION, "linear", 0, 0, NULL,
     "activation applied to x W + b", offsetof(dense_config, activation)},
    {"use_bias", NNK_PARAM_BOOL, "true", 0, 0, NULL,
     "whether the layer has a bias vector", offsetof(dense_config, use_bias)},
    {"kernel_initializer", NNK_PARAM_CHOICE, "glorot_uniform", 0, 0, initializers,
     "initializer of the kernel", offsetof(dense_config, kernel_initializer)},
    {"bias_initializer", NNK_PARAM_CHOICE, "zeros", 0, 0, initializers,
     "initializer of the bias", offsetof(dense_config, bias_initializer)},
    {"kernel_l1", NNK_PARAM_FLOAT, "0", 0, 1e6, NULL, "L1 regularization of the kernel (Keras's l1)",
     offsetof(dense_config, kernel_l1)},
    {"kernel_l2", NNK_PARAM_FLOAT, "0", 0, 1e6, NULL, "L2 regularization of the kernel (Keras's l2: factor * sum w^2)",
     offsetof(dense_config, kernel_l2)},
    {"bias_l1", NNK_PARAM_FLOAT, "0", 0, 1e6, NULL, "L1 regularization of the bias", offsetof(dense_config, bias_l1)},
    {"bias_l2", NNK_PARAM_FLOAT, "0", 0, 1e6, NULL, "L2 regularization of the bias", offsetof(dense_config, bias_l2)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
};

static int dense_build(nnk_layer *layer, int n_in, const nnk_shape *in,
                       nnk_shape *out, nnk_err *err)
{
    const dense_config *c = layer->config;
    (void)n_in;
    int64_t fan_in = in[0].dim[in[0].ndim - 1];
    nnk_shape k = {2, {fan_in, c->units}}, b = {1, {c->units}};
    int ki = layers_host->layer_add_weight(layer, "kernel", &k, c->kernel_initializer, fan_in, c->units, err);
    if (ki < 0)
        return err->status;
    layer->weights[ki].l1 = (float)c->kernel_l1;
    layer->weights[ki].l2 = (float)c->kernel_l2;
    if (c->use_bias) {
        int bi = layers_host->layer_add_weight(layer, "bias", &b, c->bias_initializer, fan_in, c->units, err);
        if (bi < 0)
            return err->status;
        layer->weights[bi].l1 = (float)c->bias_l1;
        layer->weights[bi].l2 = (float)c->bias_l2;
    }
    *out = in[0];
    out->dim[out->ndim - 1] = c->units;
    return NNK_OK;
}

/* The rows the gemm sees: every position but the last axis. */
static int64_t gemm_rows(const nnk_tensor *t)
{
    int64_t last = t->shape[t->ndim - 1];
    return last > 0 ? nnk_tensor_elements(t) / last : 0; /* sizes the core checked */
}

static int dense_forward(nnk_layer *layer, int n_in, const nnk_tensor *const *in,
                         nnk_tensor *out, int training, nnk_err *err)
{
    const dense_config *c = layer->config;
    (void)n_in, (void)training, (void)err;
    int64_t rows = gemm_rows(in[0]), k = layer->weights[0].value.shape[0], n = c->units;
    const float *bias = c->use_bias ? layer->weights[1].value.data : NULL;
    if (bias) /* C starts as the bias in every row, then gemm adds x W */
        for (int64_t r = 0; r < rows; r++)
            memcpy(out->data + r * n, bias, (size_t)n * sizeof(float));
    layers_host->sgemm(0, 0, rows, n, k, 1.0f, in[0]->data, k,
                       layer->weights[0].value.data, n, bias ? 1.0f : 0.0f,
                       out->data, n);
    return NNK_OK;
}

/* dW = x^T dout and db = sum of dout's rows, or with plain SGD at rate lr
 * > 0 folded in, W += -lr x^T dout and b -= lr db. */
static int dense_gradients(nnk_layer *layer, const nnk_tensor *in, const nnk_tensor *dout, nnk_tensor *din, float lr)
{
    const dense_config *c = layer->config;
    int64_t rows = gemm_rows(in), k = layer->weights[0].value.shape[0], n = c->units;
    nnk_weight *w = &layer->weights[0], *b = c->use_bias ? &layer->weights[1] : NULL;
    /* dx = dout W^T, first: a folded update below changes W */
    if (din)
        layers_host->sgemm(0, 1, rows, k, n, 1.0f, dout->data, n, w->value.data, n, 0.0f, din->data, k);
    if (lr <= 0)
        layers_host->sgemm(1, 0, k, n, rows, 1.0f, in->data, k, dout->data, n, 0.0f, w->grad.data, n);
    else if (w->trainable)
        layers_host->sgemm(1, 0, k, n, rows, -lr, in->data, k, dout->data, n, 1.0f, w->value.data, n);
    if (b && (lr <= 0 || b->trainable)) {
        float *db = b->grad.data;
        memset(db, 0, (size_t)n * sizeof(float));
        for (int64_t r = 0; r < rows; r++) {
            const float *g = dout->data + r * n;
            for (int64_t j = 0; j < n; j++)
                db[j] += g[j];
        }
        for (int64_t j = 0; lr > 0 && j < n; j++)
            b->value.data[j] -= lr * db[j];
    }
    return NNK_OK;
}

static int dense_backward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                          const nnk_tensor *dout, nnk_tensor *const *din, nnk_err *err)
{
    (void)n_in, (void)out, (void)err;
    return dense_gradients(layer, in[0], dout, din[0], 0.0f);
}

static int dense_backward_sgd(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                              const nnk_tensor *dout, nnk_tensor *const *din, float learning_rate, nnk_err *err)
{
    (void)n_in, (void)out, (void)err;
    return dense_gradients(layer, in[0], dout, din[0], learning_rate);
}

/* ONNX: Gemm for a sample of one axis, else MatMul (and Add) along its last. */
static int dense_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                      const char *const *inputs, const nnk_shape *in_shapes, const nnk_shape *out_shape,
                      const char **output, nnk_err *err)
{
    (void)n_in, (void)in_shapes, (void)err;
    const dense_config *c = layer->config;
    const nnk_tensor *kernel = &layer->weights[0].value;
    int64_t dims[2] = {kernel->shape[0], kernel->shape[1]};
    const char *w = h->onnx_constant(x, "kernel", kernel->data, dims, 2);
    const char *b = c->use_bias ? h->onnx_constant(x, "bias", layer->weights[1].value.data, dims + 1, 1) : NULL;
    if (!w || (c->use_bias && !b))
        return NNK_ENOMEM;
    if (out_shape->ndim == 1)
        *output = h->onnx_node(x, "Gemm", (const char *const[]){inputs[0], w, b, NULL}, NULL, 0, NULL, NULL, NULL);
    else {
        *output = h->onnx_node(x, "MatMul", (const char *const[]){inputs[0], w, NULL}, NULL, 0, NULL, NULL, NULL);
        if (*output && b)
            *output = h->onnx_node(x, "Add", (const char *const[]){*output, b, NULL}, NULL, 0, NULL, NULL, NULL);
    }
    return *output ? NNK_OK : NNK_ENOMEM;
}

/* C: each row of the input (every position but the last axis) times the
 * kernel, in double, plus the bias. */
static int dense_c(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                   const char *const *inputs, const nnk_shape *in_shapes, const char *output,
                   const nnk_shape *out_shape, nnk_err *err)
{
    (void)n_in, (void)out_shape, (void)err;
    const dense_config *c = layer->config;
    long long k = (long long)layer->weights[0].value.shape[0], units = (long long)c->units;
    const char *w = h->c_array(x, "w", layer->weights[0].value.data, k * units);
    const char *b = c->use_bias ? h->c_array(x, "b", layer->weights[1].value.data, units) : NULL;
    if (!w || (c->use_bias && !b))
        return NNK_ENOMEM;
    h->c_code(x, "    for (int r = 0; r < %lld; r++)\n        for (int j = 0; j < %lld; j++) {\n",
              (long long)nnk_shape_elements(&in_shapes[0]) / k, units);
    if (b)
        h->c_code(x, "            double acc = %s[j];\n", b);
    else
        h->c_code(x, "            double acc = 0;\n");
    h->c_code(x, "            for (int t = 0; t < %lld; t++)\n                acc += (double)%s[r * %lld + t] * %s[t * %lld + j];\n",
              k, inputs[0], k, w, units);
    h->c_code(x, "            %s[r * %lld + j] = (float)acc;\n        }\n", output, units);
    return NNK_OK;
}

static const nnk_layer_fused_sgd dense_fused = {sizeof(nnk_layer_fused_sgd), dense_backward_sgd};
LAYER_EXTENSION(dense, &dense_fused)

const nnk_layer_vtable dense_layer = {
    .struct_size = sizeof(nnk_layer_vtable),
    .name = "dense",
    .doc = "Fully connected layer: activation(x W + b), like Keras's Dense.",
    .params = dense_params,
    .config_size = sizeof(dense_config),
    .min_inputs = 1,
    .max_inputs = 1,
    .build = dense_build,
    .forward = dense_forward,
    .backward = dense_backward,
    .extension = dense_extension,
};
