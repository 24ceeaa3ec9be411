/* Built-in optimizers: sgd (momentum, Nesterov) and the perceptron rule. */
#include <nnkit/plugin.h>

typedef struct sgd_config {
    double momentum;
    int nesterov;
} sgd_config;

static const nnk_param_spec sgd_params[] = {
    {"momentum", NNK_PARAM_FLOAT, "0.0", 0, 1, NULL,
     "velocity decay: v <- momentum v - lr g", offsetof(sgd_config, momentum)},
    {"nesterov", NNK_PARAM_BOOL, "false", 0, 0, NULL,
     "apply Nesterov momentum", offsetof(sgd_config, nesterov)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};
static const nnk_param_spec no_params[] = {{NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

/* Keras's SGD: v <- m v - lr g; w <- w + v, or w <- w + m v - lr g with
 * Nesterov. Without momentum, w <- w - lr g. */
static void sgd_step(const void *cfg, double lr, int64_t iteration, float *w,
                     const float *g, float *const *slots, int64_t n)
{
    const sgd_config *c = cfg;
    (void)iteration;
    float l = (float)lr, m = (float)c->momentum;
    if (m == 0.0f) {
        for (int64_t i = 0; i < n; i++)
            w[i] -= l * g[i];
        return;
    }
    float *v = slots[0];
    for (int64_t i = 0; i < n; i++) {
        v[i] = m * v[i] - l * g[i];
        w[i] += c->nesterov ? m * v[i] - l * g[i] : v[i];
    }
}

/* The core feeds yhat - y into the output's pre-activation (see
 * NNK_OPT_PERCEPTRON), so g = (yhat - y) x and this is the book's
 * w <- w + eta (y - yhat) x, one sample at a time. */
static void perceptron_step(const void *cfg, double lr, int64_t iteration, float *w,
                            const float *g, float *const *slots, int64_t n)
{
    (void)cfg, (void)iteration, (void)slots;
    for (int64_t i = 0; i < n; i++)
        w[i] -= (float)lr * g[i];
}

static const nnk_optimizer_vtable sgd_opt = {
    .struct_size = sizeof(nnk_optimizer_vtable),
    .name = "sgd",
    .doc = "stochastic gradient descent with optional (Nesterov) momentum, as Keras's SGD",
    .params = sgd_params,
    .config_size = sizeof(sgd_config),
    .n_slots = 1,
    .step = sgd_step,
};

static const nnk_optimizer_vtable perceptron_opt = {
    .struct_size = sizeof(nnk_optimizer_vtable),
    .name = "perceptron",
    .doc = "Rosenblatt's rule w <- w + eta (y - yhat) x, sample by sample, for one dense layer with a heaviside or sign activation",
    .params = no_params,
    .config_size = 0,
    .n_slots = 0,
    .flags = NNK_OPT_PERCEPTRON,
    .step = perceptron_step,
};

static const nnk_optimizer_vtable *const optimizers[] = {&sgd_opt, &perceptron_opt, NULL};

static const nnk_plugin optimizers_plugin = {
    .struct_size = sizeof(nnk_plugin),
    .abi_major = NNK_ABI_MAJOR,
    .abi_minor = NNK_ABI_MINOR,
    .name = "nnkit-optimizers",
    .version = "0.1.0",
    .doc = "Built-in optimizers.",
    .optimizers = optimizers,
};

NNK_EXPORT const nnk_plugin *NNK_PLUGIN_ENTRY(const nnk_host *host, nnk_err *err)
{
    (void)host, (void)err;
    return &optimizers_plugin;
}
