/* Built-in optimizers: sgd (momentum, Nesterov), the perceptron rule, and
 * the adaptive ones (adagrad, rmsprop, adam, adamax, nadam, adamw) with
 * Keras's update rules and defaults. */
#include <math.h>
#include <nnkit/plugin.h>
#include <string.h>

/* The per-weight loops, built for AVX-512 and AVX2 as well as the
 * baseline, the widest the CPU runs chosen when the plugin loads. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define VECTOR_CLONES
#endif

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
VECTOR_CLONES static void sgd_step(const void *cfg, double lr, int64_t iteration, float *w,
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

/* Without momentum sgd keeps no state: layers may apply it themselves. */
static int sgd_plain(const void *cfg) { return ((const sgd_config *)cfg)->momentum == 0; }

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

static const nnk_optimizer_fused_sgd sgd_fused = {sizeof(nnk_optimizer_fused_sgd), sgd_plain};

static const void *sgd_extension(const char *name)
{
    return !strcmp(name, NNK_CAP_FUSED_SGD) ? &sgd_fused : NULL;
}

static const nnk_optimizer_vtable sgd_opt = {
    .struct_size = sizeof(nnk_optimizer_vtable),
    .name = "sgd",
    .doc = "stochastic gradient descent with optional (Nesterov) momentum, as Keras's SGD",
    .params = sgd_params,
    .config_size = sizeof(sgd_config),
    .n_slots = 1,
    .step = sgd_step,
    .default_learning_rate = 0.01,
    .extension = sgd_extension,
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
    .default_learning_rate = 1.0, /* scikit-learn's Perceptron: eta0 = 1 */
};


/* ---- adaptive methods (Keras's formulas, epsilon 1e-7) ------------------ */

typedef struct adaptive_config {
    double beta_1, beta_2, epsilon, rho, momentum, initial_accumulator_value, weight_decay;
    int centered;
} adaptive_config;

#define A(f) offsetof(adaptive_config, f)
#define EPS_SPEC {"epsilon", NNK_PARAM_FLOAT, "1e-07", 1e-12, 1, NULL, "added for numerical stability", A(epsilon)}
#define BETA1_SPEC {"beta_1", NNK_PARAM_FLOAT, "0.9", 0, 0.999999, NULL, "decay of the first moment", A(beta_1)}
#define BETA2_SPEC {"beta_2", NNK_PARAM_FLOAT, "0.999", 0, 0.999999, NULL, "decay of the second moment", A(beta_2)}
#define END_SPEC {NULL, 0, NULL, 0, 0, NULL, NULL, 0}

static const nnk_param_spec adagrad_params[] = {
    {"initial_accumulator_value", NNK_PARAM_FLOAT, "0.1", 0, 1e6, NULL, "starting value of the squared-gradient sum",
     A(initial_accumulator_value)},
    EPS_SPEC, END_SPEC};
static const nnk_param_spec rmsprop_params[] = {
    {"rho", NNK_PARAM_FLOAT, "0.9", 0, 0.999999, NULL, "decay of the squared-gradient average", A(rho)},
    {"momentum", NNK_PARAM_FLOAT, "0.0", 0, 1, NULL, "momentum on the scaled step", A(momentum)},
    EPS_SPEC,
    {"centered", NNK_PARAM_BOOL, "false", 0, 0, NULL, "divide by the gradient's variance instead", A(centered)},
    END_SPEC};
static const nnk_param_spec adam_params[] = {BETA1_SPEC, BETA2_SPEC, EPS_SPEC, END_SPEC};
static const nnk_param_spec adamw_params[] = {
    BETA1_SPEC, BETA2_SPEC, EPS_SPEC,
    {"weight_decay", NNK_PARAM_FLOAT, "0.004", 0, 1, NULL, "decoupled decay: w -= lr * weight_decay * w", A(weight_decay)},
    END_SPEC};

/* Keras 3's Adagrad: w -= lr g / sqrt(acc + epsilon). acc (slot 0) holds
 * the sum of squared gradients minus its starting value, since slots start
 * at zero. */
VECTOR_CLONES static void adagrad_step(const void *cfg, double lr, int64_t t, float *w, const float *g, float *const *s, int64_t n)
{
    const adaptive_config *c = cfg;
    (void)t;
    for (int64_t i = 0; i < n; i++) {
        s[0][i] += g[i] * g[i];
        double acc = s[0][i] + c->initial_accumulator_value;
        w[i] -= (float)(lr * g[i] / sqrt(acc + c->epsilon));
    }
}

/* slots: the squared-gradient average, the momentum, the gradient average */
VECTOR_CLONES static void rmsprop_step(const void *cfg, double lr, int64_t t, float *w, const float *g, float *const *s, int64_t n)
{
    const adaptive_config *c = cfg;
    (void)t;
    for (int64_t i = 0; i < n; i++) {
        s[0][i] = (float)(c->rho * s[0][i] + (1 - c->rho) * g[i] * g[i]);
        double denom = s[0][i];
        if (c->centered) {
            s[2][i] = (float)(c->rho * s[2][i] + (1 - c->rho) * g[i]);
            denom -= (double)s[2][i] * s[2][i];
        }
        double inc = lr * g[i] / sqrt(denom + c->epsilon);
        if (c->momentum > 0) {
            s[1][i] = (float)(c->momentum * s[1][i] + inc);
            w[i] -= s[1][i];
        } else {
            w[i] -= (float)inc;
        }
    }
}

VECTOR_CLONES static void adam_update(const adaptive_config *c, double lr, int64_t t, float *w, const float *g,
                                      float *const *s, int64_t n)
{
    double alpha = lr * sqrt(1 - pow(c->beta_2, (double)t)) / (1 - pow(c->beta_1, (double)t));
    const double b1 = 1 - c->beta_1, b2 = 1 - c->beta_2, eps = c->epsilon;
    float *m = s[0], *v = s[1];
    for (int64_t i = 0; i < n; i++) {
        float mi = m[i] + (float)((g[i] - m[i]) * b1), vi = v[i] + (float)(((double)g[i] * g[i] - v[i]) * b2);
        m[i] = mi, v[i] = vi;
        w[i] -= (float)(alpha * mi / (sqrt(vi) + eps));
    }
}

static void adam_step(const void *cfg, double lr, int64_t t, float *w, const float *g, float *const *s, int64_t n)
{
    adam_update(cfg, lr, t, w, g, s, n);
}

/* AdamW: the decay is applied to the weights, apart from the gradient. */
static void adamw_step(const void *cfg, double lr, int64_t t, float *w, const float *g, float *const *s, int64_t n)
{
    const adaptive_config *c = cfg;
    for (int64_t i = 0; i < n; i++)
        w[i] -= (float)(w[i] * c->weight_decay * lr);
    adam_update(c, lr, t, w, g, s, n);
}

/* slots: the first moment, the exponentially weighted infinity norm */
VECTOR_CLONES static void adamax_step(const void *cfg, double lr, int64_t t, float *w, const float *g, float *const *s, int64_t n)
{
    const adaptive_config *c = cfg;
    double b1_power = pow(c->beta_1, (double)t);
    for (int64_t i = 0; i < n; i++) {
        s[0][i] += (float)((g[i] - s[0][i]) * (1 - c->beta_1));
        s[1][i] = fmaxf((float)(c->beta_2 * s[1][i]), fabsf(g[i]));
        w[i] -= (float)(lr * s[0][i] / ((1 - b1_power) * (s[1][i] + c->epsilon)));
    }
}

/* Nadam with Keras's (2.11+ and 3) momentum schedule u_t = beta_1 (1 - 0.5 * 0.96^t);
 * slot 2's first value carries the running product of the u_t. */
VECTOR_CLONES static void nadam_step(const void *cfg, double lr, int64_t t, float *w, const float *g, float *const *s, int64_t n)
{
    const adaptive_config *c = cfg;
    double u_t = c->beta_1 * (1 - 0.5 * pow(0.96, (double)t));
    double u_next = c->beta_1 * (1 - 0.5 * pow(0.96, (double)(t + 1)));
    double prod_prev = t == 1 ? 1.0 : s[2][0];
    double u_prod = prod_prev * u_t, u_prod_next = u_prod * u_next;
    double b2_power = pow(c->beta_2, (double)t);
    for (int64_t i = 0; i < n; i++) {
        s[0][i] += (float)((g[i] - s[0][i]) * (1 - c->beta_1));
        s[1][i] += (float)(((double)g[i] * g[i] - s[1][i]) * (1 - c->beta_2));
        double m_hat = u_next * s[0][i] / (1 - u_prod_next) + (1 - u_t) * g[i] / (1 - u_prod);
        double v_hat = s[1][i] / (1 - b2_power);
        w[i] -= (float)(lr * m_hat / (sqrt(v_hat) + c->epsilon));
    }
    s[2][0] = (float)u_prod;
}

#define ADAPTIVE(var, nm, doc_text, prm, slots, fn)      \
    static const nnk_optimizer_vtable var = {             \
        .struct_size = sizeof(nnk_optimizer_vtable),      \
        .name = nm,                                       \
        .doc = doc_text,                                  \
        .params = prm,                                    \
        .config_size = sizeof(adaptive_config),           \
        .n_slots = slots,                                 \
        .step = fn,                                       \
        .default_learning_rate = 0.001,                   \
    };

ADAPTIVE(adagrad_opt, "adagrad", "per-weight rates scaled by the sum of past squared gradients (Keras's Adagrad)", adagrad_params, 1, adagrad_step)
ADAPTIVE(rmsprop_opt, "rmsprop", "rates scaled by a moving average of squared gradients (Keras's RMSprop)", rmsprop_params, 3, rmsprop_step)
ADAPTIVE(adam_opt, "adam", "adaptive moment estimation (Keras's Adam)", adam_params, 2, adam_step)
ADAPTIVE(adamax_opt, "adamax", "Adam with the infinity norm (Keras's Adamax)", adam_params, 2, adamax_step)
ADAPTIVE(nadam_opt, "nadam", "Adam with Nesterov momentum (Keras's Nadam)", adam_params, 3, nadam_step)
ADAPTIVE(adamw_opt, "adamw", "Adam with decoupled weight decay (Keras's AdamW)", adamw_params, 2, adamw_step)

static const nnk_optimizer_vtable *const optimizers[] = {&sgd_opt, &perceptron_opt, &adagrad_opt, &rmsprop_opt,
                                                         &adam_opt, &adamax_opt, &nadam_opt, &adamw_opt, NULL};

static const nnk_plugin optimizers_plugin = {
    .struct_size = sizeof(nnk_plugin),
    .abi_major = NNK_ABI_MAJOR,
    .abi_minor = NNK_ABI_MINOR,
    .name = "nnkit-optimizers",
    .version = "0.1.0",
    .doc = "Built-in optimizers: sgd, perceptron, adagrad, rmsprop, adam, adamax, nadam, adamw.",
    .optimizers = optimizers,
};

static const nnk_plugin *plugin_init(const nnk_host *host, nnk_err *err)
{
    (void)host, (void)err;
    return &optimizers_plugin;
}

NNK_PLUGIN(plugin_init);
