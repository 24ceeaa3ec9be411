/* The built-in activations' capabilities: their ONNX and C mappings for
 * nnkit export, and the class threshold of sign and tanh. Each activation
 * has its own extension function (a vtable's lookup gets only the name). */
#include "activations.h"
#include <stdio.h>
#include <string.h>

#define IN1(v) ((const char *const[]){(v), NULL})

/* An ONNX op of one input and no attribute. */
#define ONNX_OP(fname, op)                                                                                    \
    static int fname(const void *config, const nnk_export_host *h, nnk_exporter *x, const char *input,       \
                     const char *output, const nnk_shape *shape, nnk_err *err)                                \
    {                                                                                                         \
        (void)config, (void)shape, (void)err;                                                                 \
        return h->onnx_node(x, op, IN1(input), output, 0, NULL, NULL, NULL) ? NNK_OK : NNK_ENOMEM;            \
    }

/* A C loop that applies the float expression expr of v to every value. */
#define C_EXPR(fname, expr)                                                                                   \
    static int fname(const void *config, const nnk_export_host *h, nnk_exporter *x, const char *array,       \
                     int64_t n, nnk_err *err)                                                                 \
    {                                                                                                         \
        (void)config, (void)err;                                                                              \
        h->c_elementwise(x, array, n, expr);                                                                  \
        return NNK_OK;                                                                                        \
    }

ONNX_OP(linear_onnx, "Identity")
ONNX_OP(relu_onnx, "Relu")
ONNX_OP(sigmoid_onnx, "Sigmoid")
ONNX_OP(tanh_onnx, "Tanh")
ONNX_OP(softplus_onnx, "Softplus")
ONNX_OP(selu_onnx, "Selu") /* ONNX's default alpha and gamma are SELU's constants */
ONNX_OP(sign_onnx, "Sign")

C_EXPR(relu_c, "v > 0 ? v : 0.0f")
C_EXPR(heaviside_c, "v >= 0 ? 1.0f : 0.0f")
C_EXPR(sign_c, "v > 0 ? 1.0f : v < 0 ? -1.0f : 0.0f")
C_EXPR(sigmoid_c, "v >= 0 ? 1.0f / (1.0f + expf(-v)) : expf(v) / (1.0f + expf(v))")
C_EXPR(tanh_c, "tanhf(v)")
C_EXPR(softplus_c, "v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v))")
C_EXPR(selu_c, "v > 0 ? 1.05070098f * v : (float)(1.0507009873554805 * 1.6732632423543772) * expm1f(v)")

static int linear_c(const void *config, const nnk_export_host *h, nnk_exporter *x, const char *array, int64_t n,
                    nnk_err *err)
{
    (void)config, (void)h, (void)x, (void)array, (void)n, (void)err;
    return NNK_OK; /* the identity: nothing to write */
}

/* alpha as an ONNX float attribute of op. */
static int alpha_onnx(const char *op, const void *config, const nnk_export_host *h, nnk_exporter *x,
                      const char *input, const char *output)
{
    const char *names[] = {"alpha"};
    const double values[] = {((const alpha_config *)config)->alpha};
    const int is_int[] = {0};
    return h->onnx_node(x, op, IN1(input), output, 1, names, values, is_int) ? NNK_OK : NNK_ENOMEM;
}

static int leaky_onnx(const void *config, const nnk_export_host *h, nnk_exporter *x, const char *input,
                      const char *output, const nnk_shape *shape, nnk_err *err)
{
    (void)shape, (void)err;
    return alpha_onnx("LeakyRelu", config, h, x, input, output);
}

static int elu_onnx(const void *config, const nnk_export_host *h, nnk_exporter *x, const char *input,
                    const char *output, const nnk_shape *shape, nnk_err *err)
{
    (void)shape, (void)err;
    return alpha_onnx("Elu", config, h, x, input, output);
}

/* expr_format with alpha's float literal in it. */
static int alpha_c(const char *expr_format, const void *config, const nnk_export_host *h, nnk_exporter *x,
                   const char *array, int64_t n)
{
    char alpha[40], expr[128];
    h->c_float((float)((const alpha_config *)config)->alpha, alpha, sizeof alpha);
    snprintf(expr, sizeof expr, expr_format, alpha);
    h->c_elementwise(x, array, n, expr);
    return NNK_OK;
}

static int leaky_c(const void *config, const nnk_export_host *h, nnk_exporter *x, const char *array, int64_t n,
                   nnk_err *err)
{
    (void)err;
    return alpha_c("v > 0 ? v : (%s) * v", config, h, x, array, n);
}

static int elu_c(const void *config, const nnk_export_host *h, nnk_exporter *x, const char *array, int64_t n,
                 nnk_err *err)
{
    (void)err;
    return alpha_c("v > 0 ? v : (%s) * expm1f(v)", config, h, x, array, n);
}

/* 1 where x >= 0: GreaterOrEqual against a zero, cast to float. */
static int heaviside_onnx(const void *config, const nnk_export_host *h, nnk_exporter *x, const char *input,
                          const char *output, const nnk_shape *shape, nnk_err *err)
{
    (void)config, (void)shape, (void)err;
    const float zero = 0.0f;
    const char *z = h->onnx_constant(x, "zero", &zero, NULL, 0);
    const char *ge = z ? h->onnx_node(x, "GreaterOrEqual", (const char *const[]){input, z, NULL}, NULL, 0, NULL, NULL,
                                      NULL)
                       : NULL;
    const char *names[] = {"to"};
    const double to_float[] = {1}; /* TensorProto.FLOAT */
    const int is_int[] = {1};
    return ge && h->onnx_node(x, "Cast", IN1(ge), output, 1, names, to_float, is_int) ? NNK_OK : NNK_ENOMEM;
}

static int softmax_onnx(const void *config, const nnk_export_host *h, nnk_exporter *x, const char *input,
                        const char *output, const nnk_shape *shape, nnk_err *err)
{
    (void)config;
    if (shape->ndim != 1)
        return activations_host->err_set(err, NNK_ECONFIG, "softmax over a %d-D sample has no ONNX mapping here", shape->ndim);
    const char *names[] = {"axis"};
    const double last[] = {-1};
    const int is_int[] = {1};
    return h->onnx_node(x, "Softmax", IN1(input), output, 1, names, last, is_int) ? NNK_OK : NNK_ENOMEM;
}

/* Over the sample's outputs, as the forward pass computes each row. */
static int softmax_c(const void *config, const nnk_export_host *h, nnk_exporter *x, const char *a, int64_t n,
                     nnk_err *err)
{
    (void)config, (void)err;
    long long cols = (long long)n;
    h->c_code(x, "    {\n        float mx = %s[0];\n        double sum = 0;\n", a);
    h->c_code(x, "        for (int j = 1; j < %lld; j++)\n            mx = %s[j] > mx ? %s[j] : mx;\n", cols, a, a);
    h->c_code(x, "        for (int j = 0; j < %lld; j++) {\n            %s[j] = expf(%s[j] - mx);\n            sum += %s[j];\n"
                 "        }\n", cols, a, a, a);
    h->c_code(x, "        for (int j = 0; j < %lld; j++)\n            %s[j] *= (float)(1.0 / sum);\n    }\n", cols, a);
    return NNK_OK;
}

static const nnk_activation_threshold zero_threshold = {sizeof(nnk_activation_threshold), 0.0};

/* An activation's extension(): its two export capabilities and, for sign
 * and tanh (outputs in [-1, 1]), the class threshold 0. */
#define CAPABILITIES(act, threshold)                                                                          \
    static const nnk_activation_export_onnx act##_onnx_cap = {sizeof(nnk_activation_export_onnx), act##_onnx}; \
    static const nnk_activation_export_c act##_c_cap = {sizeof(nnk_activation_export_c), act##_c};             \
    const void *act##_extension(const char *name)                                                             \
    {                                                                                                         \
        if (!strcmp(name, NNK_CAP_EXPORT_ONNX))                                                               \
            return &act##_onnx_cap;                                                                           \
        if (!strcmp(name, NNK_CAP_EXPORT_C))                                                                  \
            return &act##_c_cap;                                                                              \
        return !strcmp(name, NNK_CAP_CLASS_THRESHOLD) ? (threshold) : NULL;                                   \
    }

CAPABILITIES(linear, NULL)
CAPABILITIES(heaviside, NULL)
CAPABILITIES(sign, &zero_threshold)
CAPABILITIES(sigmoid, NULL)
CAPABILITIES(tanh, &zero_threshold)
CAPABILITIES(relu, NULL)
CAPABILITIES(leaky, NULL)
CAPABILITIES(elu, NULL)
CAPABILITIES(selu, NULL)
CAPABILITIES(softplus, NULL)
CAPABILITIES(softmax, NULL)
