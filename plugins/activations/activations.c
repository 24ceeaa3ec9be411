/* Built-in activations. Element-wise except softmax (row-wise). Each
 * backward computes dz = da * phi'(z) from z and a = phi(z). */
#include "activations.h"
#include <math.h>
#include <string.h>

const nnk_host *activations_host;

static const nnk_param_spec no_params[] = {{NULL, 0, NULL, 0, 0, NULL, NULL, 0}};
static const nnk_param_spec leaky_params[] = {
    {"alpha", NNK_PARAM_FLOAT, "0.2", 0, 1e6, NULL, "slope for z < 0", offsetof(alpha_config, alpha)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};
static const nnk_param_spec elu_params[] = {
    {"alpha", NNK_PARAM_FLOAT, "1.0", 0, 1e6, NULL, "scale of the negative part", offsetof(alpha_config, alpha)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946

#define ELEMENTWISE(fname, expr)                                                  \
    static void fname(const void *config, const float *z, float *a, int64_t rows, \
                      int64_t cols)                                               \
    {                                                                             \
        (void)config;                                                             \
        const alpha_config *c = config;                                           \
        (void)c;                                                                  \
        for (int64_t i = 0; i < rows * cols; i++) {                               \
            float x = z[i];                                                       \
            a[i] = (expr);                                                        \
        }                                                                         \
    }

#define DERIVATIVE(fname, expr)                                                   \
    static void fname(const void *config, const float *z, const float *a,         \
                      const float *da, float *dz, int64_t rows, int64_t cols)     \
    {                                                                             \
        const alpha_config *c = config;                                           \
        (void)c;                                                                  \
        for (int64_t i = 0; i < rows * cols; i++) {                               \
            float x = z[i], y = a[i];                                             \
            (void)x, (void)y;                                                     \
            dz[i] = da[i] * (expr);                                               \
        }                                                                         \
    }

static float stable_sigmoid(float x)
{
    if (x >= 0)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

static float stable_softplus(float x)
{
    return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x));
}

ELEMENTWISE(linear_fwd, x)
DERIVATIVE(linear_bwd, 1.0f)
ELEMENTWISE(heaviside_fwd, x >= 0 ? 1.0f : 0.0f)
ELEMENTWISE(sign_fwd, x > 0 ? 1.0f : x < 0 ? -1.0f : 0.0f)
DERIVATIVE(step_bwd, 0.0f)
ELEMENTWISE(sigmoid_fwd, stable_sigmoid(x))
DERIVATIVE(sigmoid_bwd, y * (1.0f - y))
ELEMENTWISE(tanh_fwd, tanhf(x))
DERIVATIVE(tanh_bwd, 1.0f - y * y)
ELEMENTWISE(relu_fwd, x > 0 ? x : 0.0f)
DERIVATIVE(relu_bwd, (float)(x > 0)) /* branch-free, so it vectorizes */
ELEMENTWISE(leaky_fwd, x > 0 ? x : (float)c->alpha * x)
DERIVATIVE(leaky_bwd, x > 0 ? 1.0f : (float)c->alpha)
ELEMENTWISE(elu_fwd, x > 0 ? x : (float)c->alpha * expm1f(x))
DERIVATIVE(elu_bwd, x > 0 ? 1.0f : y + (float)c->alpha)
ELEMENTWISE(selu_fwd, x > 0 ? (float)SELU_SCALE * x : (float)(SELU_SCALE * SELU_ALPHA) * expm1f(x))
DERIVATIVE(selu_bwd, x > 0 ? (float)SELU_SCALE : y + (float)(SELU_SCALE * SELU_ALPHA))
ELEMENTWISE(softplus_fwd, stable_softplus(x))
DERIVATIVE(softplus_bwd, stable_sigmoid(x))

static void softmax_fwd(const void *config, const float *z, float *a, int64_t rows,
                        int64_t cols)
{
    (void)config;
    for (int64_t r = 0; r < rows; r++) {
        const float *zr = z + r * cols;
        float *ar = a + r * cols;
        float mx = zr[0];
        for (int64_t j = 1; j < cols; j++)
            mx = zr[j] > mx ? zr[j] : mx;
        double sum = 0;
        for (int64_t j = 0; j < cols; j++) {
            ar[j] = expf(zr[j] - mx);
            sum += ar[j];
        }
        float inv = (float)(1.0 / sum);
        for (int64_t j = 0; j < cols; j++)
            ar[j] *= inv;
    }
}

static void softmax_bwd(const void *config, const float *z, const float *a,
                        const float *da, float *dz, int64_t rows, int64_t cols)
{
    (void)config, (void)z;
    for (int64_t r = 0; r < rows; r++) {
        const float *ar = a + r * cols, *gr = da + r * cols;
        float *out = dz + r * cols;
        double dot = 0;
        for (int64_t j = 0; j < cols; j++)
            dot += (double)gr[j] * ar[j];
        for (int64_t j = 0; j < cols; j++)
            out[j] = ar[j] * (gr[j] - (float)dot);
    }
}

#define ACTIVATION(var, nm, doc_text, prm, fwd, bwd, diff, ext) \
    static const nnk_activation_vtable var = {                 \
        .struct_size = sizeof(nnk_activation_vtable),          \
        .name = nm,                                            \
        .doc = doc_text,                                       \
        .params = prm,                                         \
        .config_size = sizeof(alpha_config),                   \
        .differentiable = diff,                                \
        .forward = fwd,                                        \
        .backward = bwd,                                       \
        .extension = ext,                                      \
    };

ACTIVATION(linear_act, "linear", "identity: phi(z) = z", no_params, linear_fwd, linear_bwd, 1, linear_extension)
ACTIVATION(heaviside_act, "heaviside", "step: 0 for z < 0, 1 for z >= 0 (no gradient)", no_params, heaviside_fwd, step_bwd, 0, heaviside_extension)
ACTIVATION(sign_act, "sign", "step: -1, 0 or +1 by the sign of z (no gradient)", no_params, sign_fwd, step_bwd, 0, sign_extension)
ACTIVATION(sigmoid_act, "sigmoid", "logistic: 1 / (1 + e^-z)", no_params, sigmoid_fwd, sigmoid_bwd, 1, sigmoid_extension)
ACTIVATION(tanh_act, "tanh", "hyperbolic tangent", no_params, tanh_fwd, tanh_bwd, 1, tanh_extension)
ACTIVATION(relu_act, "relu", "max(0, z)", no_params, relu_fwd, relu_bwd, 1, relu_extension)
ACTIVATION(leaky_act, "leaky_relu", "z for z > 0, alpha z otherwise", leaky_params, leaky_fwd, leaky_bwd, 1, leaky_extension)
ACTIVATION(elu_act, "elu", "z for z > 0, alpha (e^z - 1) otherwise", elu_params, elu_fwd, elu_bwd, 1, elu_extension)
ACTIVATION(selu_act, "selu", "scaled ELU (Klambauer et al. 2017), self-normalising", no_params, selu_fwd, selu_bwd, 1, selu_extension)
ACTIVATION(softplus_act, "softplus", "log(1 + e^z)", no_params, softplus_fwd, softplus_bwd, 1, softplus_extension)
ACTIVATION(softmax_act, "softmax", "row-wise e^z_j / sum_k e^z_k", no_params, softmax_fwd, softmax_bwd, 1, softmax_extension)

static const nnk_activation_vtable *const activations[] = {
    &linear_act, &heaviside_act, &sign_act, &sigmoid_act, &tanh_act, &relu_act,
    &leaky_act, &elu_act, &selu_act, &softplus_act, &softmax_act, NULL};

static const nnk_plugin activations_plugin = {
    .struct_size = sizeof(nnk_plugin),
    .abi_major = NNK_ABI_MAJOR,
    .abi_minor = NNK_ABI_MINOR,
    .name = "nnkit-activations",
    .version = "0.1.0",
    .doc = "Built-in activation functions.",
    .activations = activations,
};

static const nnk_plugin *plugin_init(const nnk_host *host, nnk_err *err)
{
    (void)err;
    activations_host = host;
    return &activations_plugin;
}

NNK_PLUGIN(plugin_init);
