/* A template nnkit plugin to copy: one layer and one activation, built
 * outside the nnkit tree against the installed headers:
 *
 *   cc $(pkg-config --cflags nnkit) -O2 -fPIC -shared -fvisibility=hidden \
 *      -o myplugin.so myplugin.c -lm
 *
 * then `nnkit check-plugin ./myplugin.so`, and use it with
 * `nnkit train exp.ini --plugin-dir .` (see residual.ini).
 *
 * This is nnkit's answer to Keras's subclassing API: the layer's forward
 * has a loop (its repeats) and a branch (the skip connection), written in
 * plain C. Everything a plugin needs comes from <nnkit/plugin.h> and the
 * host table handed to its init function; NNK_PLUGIN(plugin_init) at the
 * end exports the one symbol nnkit reads, nothing else is exported. */
#include <math.h>
#include <nnkit/plugin.h>
#include <stdio.h>
#include <string.h>

static const nnk_host *host;

/* ---- residual_block: y = x + f(x), f = `repeats` dense+activation ------ */

typedef struct residual_config {
    int64_t repeats;
    const char *inner; /* the activation inside the block */
    int skip;          /* add the input back (the residual connection) */
} residual_config;

static const char *const inner_choices[] = {"relu", "tanh", NULL};

static const nnk_param_spec residual_params[] = {
    {"repeats", NNK_PARAM_INT, "2", 1, 4, NULL, "dense layers inside the block",
     offsetof(residual_config, repeats)},
    {"inner", NNK_PARAM_CHOICE, "relu", 0, 0, inner_choices, "activation after each inner dense layer",
     offsetof(residual_config, inner)},
    {"skip", NNK_PARAM_BOOL, "true", 0, 0, NULL, "add the block's input to its output",
     offsetof(residual_config, skip)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

static int residual_build(nnk_layer *layer, int n_in, const nnk_shape *in, nnk_shape *out, nnk_err *err)
{
    const residual_config *c = layer->config;
    (void)n_in;
    if (in[0].ndim != 1)
        return host->err_set(err, NNK_ESHAPE, "layer '%s': residual_block needs a flat input, got %d dimensions",
                             layer->name, in[0].ndim);
    int64_t d = in[0].dim[0];
    for (int64_t r = 0; r < c->repeats; r++) {
        char name[32];
        nnk_shape k = {2, {d, d}}, b = {1, {d}};
        snprintf(name, sizeof name, "kernel_%lld", (long long)r);
        if (host->layer_add_weight(layer, name, &k, "he_normal", d, d, err) < 0)
            return err->status;
        snprintf(name, sizeof name, "bias_%lld", (long long)r);
        if (host->layer_add_weight(layer, name, &b, "zeros", d, d, err) < 0)
            return err->status;
    }
    *out = in[0];
    return NNK_OK;
}

/* Scratch slot r holds the block's r-th hidden state (slot 0: the input is
 * used directly), so backward can walk the loop in reverse. */
static int residual_forward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, nnk_tensor *out,
                            int training, nnk_err *err)
{
    const residual_config *c = layer->config;
    (void)n_in, (void)training;
    int64_t rows = in[0]->shape[0], d = in[0]->shape[1];
    int relu = !strcmp(c->inner, "relu");
    const float *h = in[0]->data;
    for (int64_t r = 0; r < c->repeats; r++) {
        float *next = host->layer_scratch(layer, (int)r + 1, rows * d);
        if (!next)
            return host->err_set(err, NNK_ENOMEM, "out of memory");
        const float *bias = layer->weights[2 * r + 1].value.data;
        for (int64_t i = 0; i < rows; i++)
            memcpy(next + i * d, bias, sizeof(float) * (size_t)d);
        host->sgemm(0, 0, rows, d, d, 1.0f, h, d, layer->weights[2 * r].value.data, d, 1.0f, next, d);
        for (int64_t i = 0; i < rows * d; i++)
            next[i] = relu ? (next[i] > 0 ? next[i] : 0) : tanhf(next[i]);
        h = next;
    }
    for (int64_t i = 0; i < rows * d; i++)
        out->data[i] = h[i] + (c->skip ? in[0]->data[i] : 0.0f);
    return NNK_OK;
}

static int residual_backward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                             const nnk_tensor *dout, nnk_tensor *const *din, nnk_err *err)
{
    const residual_config *c = layer->config;
    (void)n_in, (void)out;
    int64_t rows = in[0]->shape[0], d = in[0]->shape[1];
    int relu = !strcmp(c->inner, "relu");
    float *g = host->layer_scratch(layer, 7, rows * d);     /* dL/dh for the current h */
    float *gprev = host->layer_scratch(layer, 6, rows * d);
    if (!g || !gprev) /* slots 1..repeats hold the hidden states, 6 and 7 the gradients */
        return host->err_set(err, NNK_ENOMEM, "out of memory");
    memcpy(g, dout->data, sizeof(float) * (size_t)(rows * d));
    for (int64_t r = c->repeats - 1; r >= 0; r--) {
        const float *h = host->layer_scratch(layer, (int)r + 1, rows * d); /* this step's output */
        const float *hin = r ? host->layer_scratch(layer, (int)r, rows * d) : in[0]->data;
        for (int64_t i = 0; i < rows * d; i++) /* through the activation */
            g[i] *= relu ? (h[i] > 0 ? 1.0f : 0.0f) : 1.0f - h[i] * h[i];
        float *db = layer->weights[2 * r + 1].grad.data;
        memset(db, 0, sizeof(float) * (size_t)d);
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < d; j++)
                db[j] += g[i * d + j];
        host->sgemm(1, 0, d, d, rows, 1.0f, hin, d, g, d, 0.0f, layer->weights[2 * r].grad.data, d);
        host->sgemm(0, 1, rows, d, d, 1.0f, g, d, layer->weights[2 * r].value.data, d, 0.0f, gprev, d);
        float *t = g;
        g = gprev;
        gprev = t;
    }
    if (din[0])
        for (int64_t i = 0; i < rows * d; i++)
            din[0]->data[i] = g[i] + (c->skip ? dout->data[i] : 0.0f);
    return NNK_OK;
}

/* Export capabilities: how nnkit export writes the block as ONNX nodes
 * (-o model.onnx) and as C (--format c), in inference mode. The exporter
 * asks the layer's extension() for them by name, as it asks the built-in
 * layers. */
static int residual_export_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                                const char *const *inputs, const nnk_shape *in_shapes, const nnk_shape *out_shape,
                                const char **output, nnk_err *err)
{
    const residual_config *c = layer->config;
    (void)in_shapes, (void)n_in, (void)out_shape;
    int64_t d = layer->weights[0].value.shape[0], kd[2] = {d, d};
    const char *out = h->onnx_value(x, "plugin"); /* the block's output */
    const char *hv = out ? inputs[0] : NULL;
    for (int64_t r = 0; hv && r < c->repeats; r++) {
        const char *w = h->onnx_constant(x, NULL, layer->weights[2 * r].value.data, kd, 2);
        const char *b = h->onnx_constant(x, NULL, layer->weights[2 * r + 1].value.data, &d, 1);
        const char *z = w && b ? h->onnx_node(x, "Gemm", (const char *const[]){hv, w, b, NULL}, NULL, 0, NULL, NULL, NULL) : NULL;
        hv = z ? h->onnx_node(x, !strcmp(c->inner, "relu") ? "Relu" : "Tanh", (const char *const[]){z, NULL}, NULL, 0, NULL,
                              NULL, NULL)
               : NULL;
    }
    *output = !hv ? NULL
              : c->skip ? h->onnx_node(x, "Add", (const char *const[]){hv, inputs[0], NULL}, out, 0, NULL, NULL, NULL)
                        : h->onnx_node(x, "Identity", (const char *const[]){hv, NULL}, out, 0, NULL, NULL, NULL);
    return *output ? NNK_OK : host->err_set(err, NNK_ENOMEM, "out of memory");
}

static int residual_export_c(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                             const char *const *inputs, const nnk_shape *in_shapes, const char *output,
                             const nnk_shape *out_shape, nnk_err *err)
{
    const residual_config *c = layer->config;
    (void)in_shapes, (void)n_in, (void)out_shape;
    long long d = (long long)layer->weights[0].value.shape[0];
    h->c_code(x, "    {\n        float h[%lld], t[%lld];\n        for (int j = 0; j < %lld; j++)\n            h[j] = %s[j];\n", d,
              d, d, inputs[0]);
    for (int64_t r = 0; r < c->repeats; r++) {
        const char *w = h->c_array(x, NULL, layer->weights[2 * r].value.data, d * d);
        const char *b = h->c_array(x, NULL, layer->weights[2 * r + 1].value.data, d);
        if (!w || !b)
            return host->err_set(err, NNK_ENOMEM, "out of memory");
        h->c_code(x, "        for (int j = 0; j < %lld; j++) {\n            double acc = %s[j];\n", d, b);
        h->c_code(x, "            for (int k = 0; k < %lld; k++)\n                acc += (double)h[k] * %s[k * %lld + j];\n", d,
                  w, d);
        h->c_code(x, "            t[j] = %s;\n        }\n        for (int j = 0; j < %lld; j++)\n            h[j] = t[j];\n",
                  !strcmp(c->inner, "relu") ? "acc > 0 ? (float)acc : 0.0f" : "tanhf((float)acc)", d);
    }
    h->c_code(x, "        for (int j = 0; j < %lld; j++)\n            %s[j] = h[j]%s%s%s;\n    }\n", d, output,
              c->skip ? " + " : "", c->skip ? inputs[0] : "", c->skip ? "[j]" : "");
    return NNK_OK;
}

static const nnk_layer_export_onnx residual_onnx = {sizeof(nnk_layer_export_onnx), residual_export_onnx};
static const nnk_layer_export_c residual_c = {sizeof(nnk_layer_export_c), residual_export_c};

/* The block's capabilities, by name (NULL: one it does not have). */
static const void *residual_extension(const char *name)
{
    if (!strcmp(name, NNK_CAP_EXPORT_ONNX))
        return &residual_onnx;
    return !strcmp(name, NNK_CAP_EXPORT_C) ? &residual_c : NULL;
}

static const nnk_layer_vtable residual_block = {
    .struct_size = sizeof(nnk_layer_vtable),
    .name = "residual_block",
    .doc = "y = x + f(x), f being `repeats` dense layers of the input's width (an example plugin)",
    .params = residual_params,
    .config_size = sizeof(residual_config),
    .min_inputs = 1,
    .max_inputs = 1,
    .build = residual_build,
    .forward = residual_forward,
    .backward = residual_backward,
    .extension = residual_extension,
};

/* ---- swish: z * sigmoid(beta z) ------------------------------------------ */

typedef struct swish_config {
    double beta;
} swish_config;

static const nnk_param_spec swish_params[] = {
    {"beta", NNK_PARAM_FLOAT, "1.0", 0, 100, NULL, "steepness of the gate", offsetof(swish_config, beta)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

static void swish_forward(const void *config, const float *z, float *a, int64_t rows, int64_t cols)
{
    float beta = (float)((const swish_config *)config)->beta;
    for (int64_t i = 0; i < rows * cols; i++)
        a[i] = z[i] / (1.0f + expf(-beta * z[i]));
}

static void swish_backward(const void *config, const float *z, const float *a, const float *da, float *dz,
                           int64_t rows, int64_t cols)
{
    float beta = (float)((const swish_config *)config)->beta;
    (void)a;
    for (int64_t i = 0; i < rows * cols; i++) {
        float s = 1.0f / (1.0f + expf(-beta * z[i]));
        dz[i] = da[i] * (s + beta * z[i] * s * (1.0f - s));
    }
}

static int swish_export_onnx(const void *config, const nnk_export_host *h, nnk_exporter *x, const char *input,
                             const char *output, const nnk_shape *shape, nnk_err *err)
{
    float beta = (float)((const swish_config *)config)->beta;
    (void)shape;
    const char *b = h->onnx_constant(x, NULL, &beta, NULL, 0);
    const char *bz = b ? h->onnx_node(x, "Mul", (const char *const[]){input, b, NULL}, NULL, 0, NULL, NULL, NULL) : NULL;
    const char *s = bz ? h->onnx_node(x, "Sigmoid", (const char *const[]){bz, NULL}, NULL, 0, NULL, NULL, NULL) : NULL;
    const char *y = s ? h->onnx_node(x, "Mul", (const char *const[]){input, s, NULL}, output, 0, NULL, NULL, NULL) : NULL;
    return y ? NNK_OK : host->err_set(err, NNK_ENOMEM, "out of memory");
}

static int swish_export_c(const void *config, const nnk_export_host *h, nnk_exporter *x, const char *array, int64_t n,
                          nnk_err *err)
{
    char expr[96];
    (void)err;
    snprintf(expr, sizeof expr, "v / (1.0f + expf(-(float)%.17g * v))", ((const swish_config *)config)->beta);
    h->c_elementwise(x, array, n, expr); /* element-wise: the exporter writes the loop */
    return NNK_OK;
}

static const nnk_activation_export_onnx swish_onnx = {sizeof(nnk_activation_export_onnx), swish_export_onnx};
static const nnk_activation_export_c swish_c = {sizeof(nnk_activation_export_c), swish_export_c};

static const void *swish_extension(const char *name)
{
    if (!strcmp(name, NNK_CAP_EXPORT_ONNX))
        return &swish_onnx;
    return !strcmp(name, NNK_CAP_EXPORT_C) ? &swish_c : NULL;
}

static const nnk_activation_vtable swish = {
    .struct_size = sizeof(nnk_activation_vtable),
    .name = "swish",
    .doc = "z * sigmoid(beta z) (an example plugin)",
    .params = swish_params,
    .config_size = sizeof(swish_config),
    .differentiable = 1,
    .forward = swish_forward,
    .backward = swish_backward,
    .extension = swish_extension,
};

/* ---- the descriptor -------------------------------------------------------- */

static const nnk_layer_vtable *const layers[] = {&residual_block, NULL};
static const nnk_activation_vtable *const activations[] = {&swish, NULL};

static const nnk_plugin myplugin = {
    .struct_size = sizeof(nnk_plugin),
    .abi_major = NNK_ABI_MAJOR,
    .abi_minor = NNK_ABI_MINOR,
    .name = "myplugin",
    .version = "1.2.0",
    .doc = "An example plugin: residual_block and swish.",
    .layers = layers,
    .activations = activations,
};

static const nnk_plugin *plugin_init(const nnk_host *h, nnk_err *err)
{
    (void)err;
    host = h;
    return &myplugin;
}

NNK_PLUGIN(plugin_init);
