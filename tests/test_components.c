/* Activations, losses, metrics and optimizers: exact values worked out by
 * hand, finite-difference gradient checks, numerical stability. */
#include "helpers.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static nnk_registry *reg;

static const void *vt(nnk_kind kind, const char *name)
{
    const nnk_component_info *c = nnk_registry_find(reg, kind, name);
    ck_assert_msg(c != NULL, "component %s missing", name);
    return c->vtable;
}

static nnk_params *defaults(nnk_kind kind, const char *name)
{
    const nnk_component_info *c = nnk_registry_find(reg, kind, name);
    size_t size = 64; /* every built-in config struct is smaller */
    return nnk_params_new(c->params, size, name, NULL);
}

/* ---- activations ------------------------------------------------------ */

static void act_values(const char *name, const float *z, const float *want, int n)
{
    const nnk_activation_vtable *a = vt(NNK_KIND_ACTIVATION, name);
    nnk_params *p = defaults(NNK_KIND_ACTIVATION, name);
    float out[16];
    a->forward(nnk_params_config(p), z, out, 1, n);
    for (int i = 0; i < n; i++)
        ck_assert_msg(fabsf(out[i] - want[i]) < 1e-6f, "%s(%g) = %.9g, want %.9g", name,
                      (double)z[i], (double)out[i], (double)want[i]);
    nnk_params_free(p);
}

START_TEST(activation_exact_values)
{
    const float z[5] = {-2.0f, -0.5f, 0.0f, 0.5f, 2.0f};
    act_values("heaviside", z, (float[]){0, 0, 1, 1, 1}, 5);
    act_values("sign", z, (float[]){-1, -1, 0, 1, 1}, 5);
    act_values("relu", z, (float[]){0, 0, 0, 0.5f, 2}, 5);
    act_values("linear", z, z, 5);
    act_values("leaky_relu", z, (float[]){-0.4f, -0.1f, 0, 0.5f, 2}, 5);
    act_values("sigmoid", z, (float[]){0.11920292f, 0.37754067f, 0.5f, 0.62245933f, 0.88079708f}, 5);
    act_values("tanh", z, (float[]){-0.96402758f, -0.46211716f, 0, 0.46211716f, 0.96402758f}, 5);
    act_values("elu", z, (float[]){-0.86466472f, -0.39346934f, 0, 0.5f, 2}, 5);
    act_values("selu", z, (float[]){-1.52016647f, -0.69175761f, 0, 0.52535049f, 2.10140197f}, 5);
    act_values("softplus", z, (float[]){0.12692801f, 0.47407698f, 0.69314718f, 0.97407698f, 2.12692801f}, 5);
    /* softmax of (1, 2, 3): e^k / (e + e^2 + e^3) */
    act_values("softmax", (float[]){1, 2, 3}, (float[]){0.09003057f, 0.24472847f, 0.66524096f}, 3);
}
END_TEST

START_TEST(activation_saturation)
{
    const float z[4] = {-1000.0f, -100.0f, 100.0f, 1000.0f};
    const char *names[] = {"sigmoid", "tanh", "softplus", "elu", "selu", "softmax"};
    for (int k = 0; k < 6; k++) {
        const nnk_activation_vtable *a = vt(NNK_KIND_ACTIVATION, names[k]);
        nnk_params *p = defaults(NNK_KIND_ACTIVATION, names[k]);
        float out[4];
        a->forward(nnk_params_config(p), z, out, 1, 4);
        for (int i = 0; i < 4; i++)
            ck_assert_msg(isfinite(out[i]), "%s(%g) is not finite", names[k], (double)z[i]);
        nnk_params_free(p);
    }
}
END_TEST

/* dL/dz by finite differences for L = sum(g * phi(z)). */
START_TEST(activation_gradients)
{
    const char *names[] = {"sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu",
                           "softplus", "softmax", "linear"};
    const float z0[6] = {-1.3f, -0.4f, 0.2f, 0.7f, 1.9f, -2.2f};
    const float g[6] = {0.3f, -1.1f, 0.8f, 0.5f, -0.2f, 1.4f};
    for (int k = 0; k < 9; k++) {
        const nnk_activation_vtable *a = vt(NNK_KIND_ACTIVATION, names[k]);
        nnk_params *p = defaults(NNK_KIND_ACTIVATION, names[k]);
        const void *cfg = nnk_params_config(p);
        float z[6], out[6], dz[6];
        memcpy(z, z0, sizeof z);
        a->forward(cfg, z, out, 2, 3);
        a->backward(cfg, z, out, g, dz, 2, 3);
        for (int i = 0; i < 6; i++) {
            double h = 1e-3, lp = 0, lm = 0;
            float zp[6], zm[6], op[6], om[6];
            memcpy(zp, z0, sizeof zp);
            memcpy(zm, z0, sizeof zm);
            zp[i] += (float)h;
            zm[i] -= (float)h;
            a->forward(cfg, zp, op, 2, 3);
            a->forward(cfg, zm, om, 2, 3);
            for (int j = 0; j < 6; j++) {
                lp += (double)g[j] * op[j];
                lm += (double)g[j] * om[j];
            }
            double fd = (lp - lm) / (2 * h);
            ck_assert_msg(fabs(fd - dz[i]) < 2e-3, "%s: dz[%d] = %g, finite difference %g",
                          names[k], i, (double)dz[i], fd);
        }
        nnk_params_free(p);
    }
}
END_TEST

START_TEST(step_activations_have_no_gradient)
{
    const char *names[] = {"heaviside", "sign"};
    for (int k = 0; k < 2; k++) {
        const nnk_activation_vtable *a = vt(NNK_KIND_ACTIVATION, names[k]);
        ck_assert_int_eq(a->differentiable, 0);
        float z[2] = {-1, 1}, out[2], da[2] = {1, 1}, dz[2];
        a->forward(NULL, z, out, 1, 2);
        a->backward(NULL, z, out, da, dz, 1, 2);
        ck_assert(dz[0] == 0 && dz[1] == 0);
    }
}
END_TEST

/* ---- losses ----------------------------------------------------------- */

static double loss_of(const char *name, const float *p, const float *y, int rows, int cols,
                      float *grad, int logits)
{
    const nnk_loss_vtable *l = vt(NNK_KIND_LOSS, name);
    nnk_params *prm = defaults(NNK_KIND_LOSS, name);
    double loss = -1;
    nnk_err err = {0, ""};
    int rc = logits ? l->compute_from_logits(nnk_params_config(prm), p, y, rows, cols, &loss, grad, &err)
                    : l->compute(nnk_params_config(prm), p, y, rows, cols, &loss, grad, &err);
    ck_assert_msg(rc == 0, "%s failed: %s", name, err.msg);
    nnk_params_free(prm);
    return loss;
}

START_TEST(loss_exact_values)
{
    const float p[4] = {0.5f, 2.0f, -1.0f, 3.0f}, y[4] = {1.0f, 0.0f, -1.0f, 0.5f};
    /* errors -0.5, 2, 0, 2.5 */
    ck_assert(rel_diff(loss_of("mse", p, y, 2, 2, NULL, 0), (0.25 + 4 + 0 + 6.25) / 4) < 1e-9);
    ck_assert(rel_diff(loss_of("mae", p, y, 2, 2, NULL, 0), (0.5 + 2 + 0 + 2.5) / 4) < 1e-9);
    /* huber, delta 1: 0.125, 1.5, 0, 2.0 */
    ck_assert(rel_diff(loss_of("huber", p, y, 2, 2, NULL, 0), (0.125 + 1.5 + 0 + 2.0) / 4) < 1e-9);
    const float q[2] = {0.8f, 0.3f}, t[2] = {1.0f, 0.0f};
    double bce = -(log(0.8) + log(0.7)) / 2;
    ck_assert(rel_diff(loss_of("binary_crossentropy", q, t, 2, 1, NULL, 0), bce) < 1e-6);
    const float probs[6] = {0.7f, 0.2f, 0.1f, 0.1f, 0.1f, 0.8f};
    const float onehot[6] = {1, 0, 0, 0, 0, 1}, idx[2] = {0, 2};
    double cce = -(log(0.7) + log(0.8)) / 2;
    ck_assert(rel_diff(loss_of("categorical_crossentropy", probs, onehot, 2, 3, NULL, 0), cce) < 1e-6);
    ck_assert(rel_diff(loss_of("sparse_categorical_crossentropy", probs, idx, 2, 3, NULL, 0), cce) < 1e-6);
}
END_TEST

/* The fused forms equal the plain ones on activated outputs. */
START_TEST(fused_losses_match)
{
    const float z[6] = {1.2f, -0.3f, 0.4f, -2.0f, 0.1f, 3.0f};
    const float onehot[6] = {0, 1, 0, 0, 0, 1}, idx[2] = {1, 2}, bin[6] = {1, 0, 1, 0, 0, 1};
    float a[6];
    const nnk_activation_vtable *softmax = vt(NNK_KIND_ACTIVATION, "softmax");
    const nnk_activation_vtable *sigmoid = vt(NNK_KIND_ACTIVATION, "sigmoid");
    softmax->forward(NULL, z, a, 2, 3);
    ck_assert(rel_diff(loss_of("categorical_crossentropy", z, onehot, 2, 3, NULL, 1),
                       loss_of("categorical_crossentropy", a, onehot, 2, 3, NULL, 0)) < 1e-6);
    ck_assert(rel_diff(loss_of("sparse_categorical_crossentropy", z, idx, 2, 3, NULL, 1),
                       loss_of("sparse_categorical_crossentropy", a, idx, 2, 3, NULL, 0)) < 1e-6);
    sigmoid->forward(NULL, z, a, 2, 3);
    ck_assert(rel_diff(loss_of("binary_crossentropy", z, bin, 2, 3, NULL, 1),
                       loss_of("binary_crossentropy", a, bin, 2, 3, NULL, 0)) < 1e-6);
}
END_TEST

START_TEST(saturated_losses_are_finite)
{
    const float z[3] = {1000.0f, -1000.0f, 0.0f}, idx[1] = {1}, onehot[3] = {0, 1, 0};
    float g[3];
    double l = loss_of("sparse_categorical_crossentropy", z, idx, 1, 3, g, 1);
    ck_assert(isfinite(l) && rel_diff(l, 2000.0) < 1e-6);
    for (int i = 0; i < 3; i++)
        ck_assert(isfinite(g[i]));
    l = loss_of("categorical_crossentropy", z, onehot, 1, 3, g, 1);
    ck_assert(isfinite(l));
    const float zb[2] = {-1000.0f, 1000.0f}, yb[2] = {1.0f, 0.0f};
    l = loss_of("binary_crossentropy", zb, yb, 2, 1, g, 1);
    ck_assert(isfinite(l) && rel_diff(l, 1000.0) < 1e-6);
    /* probabilities of exactly 0 and 1 on the plain path: clipped */
    const float p[2] = {0.0f, 1.0f};
    l = loss_of("binary_crossentropy", p, yb, 2, 1, g, 0);
    ck_assert(isfinite(l) && isfinite(g[0]) && isfinite(g[1]));
    const float probs[3] = {1.0f, 0.0f, 0.0f};
    l = loss_of("sparse_categorical_crossentropy", probs, idx, 1, 3, g, 0);
    ck_assert(isfinite(l) && isfinite(g[0]) && isfinite(g[1]) && isfinite(g[2]));
}
END_TEST

static void loss_fd(const char *name, const float *p0, const float *y, int rows, int cols, int logits)
{
    float g[12], p[12];
    loss_of(name, p0, y, rows, cols, g, logits);
    for (int i = 0; i < rows * cols; i++) {
        double h = 1e-3;
        memcpy(p, p0, sizeof(float) * (size_t)(rows * cols));
        p[i] = p0[i] + (float)h;
        double lp = loss_of(name, p, y, rows, cols, NULL, logits);
        p[i] = p0[i] - (float)h;
        double lm = loss_of(name, p, y, rows, cols, NULL, logits);
        double fd = (lp - lm) / (2 * h);
        ck_assert_msg(fabs(fd - g[i]) < 2e-3 * fmax(1, fabs(fd)), "%s%s: grad[%d] = %g, fd %g",
                      name, logits ? " (logits)" : "", i, (double)g[i], fd);
    }
}

START_TEST(loss_gradients)
{
    const float p[6] = {0.5f, 2.0f, -1.3f, 3.0f, 0.2f, -0.7f}, y[6] = {1.0f, 0.0f, -1.0f, 0.5f, 0.4f, 0.1f};
    loss_fd("mse", p, y, 2, 3, 0);
    loss_fd("mae", p, y, 2, 3, 0);
    loss_fd("huber", p, y, 2, 3, 0);
    const float q[6] = {0.2f, 0.7f, 0.1f, 0.3f, 0.3f, 0.4f}, oh[6] = {0, 1, 0, 0, 0, 1}, idx[2] = {1, 2};
    const float b[6] = {1, 0, 1, 0, 0, 1};
    loss_fd("binary_crossentropy", q, b, 2, 3, 0);
    loss_fd("categorical_crossentropy", q, oh, 2, 3, 0);
    loss_fd("sparse_categorical_crossentropy", q, idx, 2, 3, 0);
    loss_fd("binary_crossentropy", p, b, 2, 3, 1);
    loss_fd("categorical_crossentropy", p, oh, 2, 3, 1);
    loss_fd("sparse_categorical_crossentropy", p, idx, 2, 3, 1);
}
END_TEST

START_TEST(sparse_labels_out_of_range)
{
    const nnk_loss_vtable *l = vt(NNK_KIND_LOSS, "sparse_categorical_crossentropy");
    const float z[3] = {0, 0, 0}, y[1] = {3};
    double loss;
    nnk_err err = {0, ""};
    ck_assert_int_eq(l->compute_from_logits(NULL, z, y, 1, 3, &loss, NULL, &err), NNK_EDATA);
    ck_assert_str_eq(err.msg, "label 3 in batch row 0 is out of range [0, 3)");
}
END_TEST

/* ---- metrics ---------------------------------------------------------- */

static double metric_of(const char *name, const float *p, const float *y, int rows, int cols)
{
    const nnk_metric_vtable *m = vt(NNK_KIND_METRIC, name);
    nnk_params *prm = defaults(NNK_KIND_METRIC, name);
    void *state = calloc(1, m->state_size);
    /* two updates: the metric streams over batches */
    m->update(nnk_params_config(prm), state, p, y, 1, cols);
    m->update(nnk_params_config(prm), state, p + cols, y + (strstr(name, "sparse") ? 1 : cols), rows - 1, cols);
    double r = m->result(nnk_params_config(prm), state);
    free(state);
    nnk_params_free(prm);
    return r;
}

START_TEST(metric_exact_values)
{
    const float probs[9] = {0.7f, 0.2f, 0.1f, 0.1f, 0.5f, 0.4f, 0.3f, 0.3f, 0.4f};
    const float idx[3] = {0, 2, 2}, onehot[9] = {1, 0, 0, 0, 0, 1, 0, 0, 1};
    ck_assert(rel_diff(metric_of("sparse_categorical_accuracy", probs, idx, 3, 3), 2.0 / 3) < 1e-12);
    ck_assert(rel_diff(metric_of("categorical_accuracy", probs, onehot, 3, 3), 2.0 / 3) < 1e-12);
    const float bp[4] = {0.9f, 0.4f, 0.6f, 0.1f}, by[4] = {1, 1, 0, 0};
    ck_assert(rel_diff(metric_of("binary_accuracy", bp, by, 4, 1), 0.5) < 1e-12);
    const float p[4] = {1, 2, 3, 4}, y[4] = {2, 2, 1, 8};
    ck_assert(rel_diff(metric_of("mae", p, y, 4, 1), (1 + 0 + 2 + 4) / 4.0) < 1e-12);
    ck_assert(rel_diff(metric_of("mse", p, y, 4, 1), (1 + 0 + 4 + 16) / 4.0) < 1e-12);
}
END_TEST

/* ---- optimizers ------------------------------------------------------- */

static void opt_steps(const char *name, const char *const *keys, const char *const *values, int n,
                      double lr, const float *grads, int steps, float *w)
{
    const nnk_optimizer_vtable *o = vt(NNK_KIND_OPTIMIZER, name);
    nnk_params *p = defaults(NNK_KIND_OPTIMIZER, name);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(nnk_params_set(p, keys[i], values[i], NULL, NULL), 0);
    float slot[2] = {0, 0};
    float *slots[1] = {slot};
    for (int s = 0; s < steps; s++)
        o->step(nnk_params_config(p), lr, s + 1, w, grads + 2 * s, slots, 2);
    nnk_params_free(p);
}

START_TEST(sgd_steps_by_hand)
{
    const float g[4] = {1.0f, -2.0f, 0.5f, 0.5f};
    float w[2] = {1.0f, 1.0f};
    opt_steps("sgd", NULL, NULL, 0, 0.1, g, 2, w);
    /* w - 0.1 g1 - 0.1 g2 */
    ck_assert(fabsf(w[0] - 0.85f) < 1e-6f && fabsf(w[1] - 1.15f) < 1e-6f);
    /* momentum 0.9: v1 = -0.1 g1; w1 = w0 + v1; v2 = 0.9 v1 - 0.1 g2; w2 = w1 + v2 */
    w[0] = w[1] = 1.0f;
    opt_steps("sgd", (const char *[]){"momentum"}, (const char *[]){"0.9"}, 1, 0.1, g, 2, w);
    ck_assert(fabsf(w[0] - (1 - 0.1f - 0.14f)) < 1e-6f);  /* v2 = -0.09 - 0.05 */
    ck_assert(fabsf(w[1] - (1 + 0.2f + 0.13f)) < 1e-6f);  /* v2 = 0.18 - 0.05 */
    /* nesterov: w += m v - lr g each step */
    w[0] = w[1] = 1.0f;
    opt_steps("sgd", (const char *[]){"momentum", "nesterov"}, (const char *[]){"0.9", "true"}, 2,
              0.1, g, 2, w);
    /* step1: v=-0.1, w=1+0.9*-0.1-0.1=0.81; step2: v=-0.14, w=0.81-0.126-0.05=0.634 */
    ck_assert(fabsf(w[0] - 0.634f) < 1e-6f);
}
END_TEST


/* The first step of each adaptive optimizer from w = (1, 1) with
 * g = (0.5, -2) and lr = 0.1, worked out by hand from Keras's formulas:
 * Adam's first step is lr * sign(g) (to the epsilon); Adagrad divides by
 * sqrt(0.1 + g^2 + epsilon) (Keras 3); RMSprop by sqrt(0.1 g^2); Adamax by
 * (1 - 0.9) |g|; AdamW first decays w by lr * 0.004; Nadam's schedule
 * u_t = 0.9 (1 - 0.5 * 0.96^t) gives m_hat = 0.531394 for g = 0.5. Later
 * steps are checked against trajectories in tests/reference/. */
START_TEST(adaptive_first_steps)
{
    const struct {
        const char *name;
        double want[2];
    } cases[] = {
        {"adam", {0.9000006324515321, 1.099999841886367}},
        {"adamw", {0.8996006324515321, 1.099599841886367}},
        {"adagrad", {0.9154845866007779, 1.0987729584604107}},
        {"rmsprop", {0.6837728664367967, 1.3162277264883746}},
        {"adamax", {0.900000019999996, 1.0999999950000003}},
        {"nadam", {0.8937212409248747, 1.1062787750169383}},
    };
    const float g[2] = {0.5f, -2.0f};
    for (int k = 0; k < 6; k++) {
        const nnk_optimizer_vtable *o = vt(NNK_KIND_OPTIMIZER, cases[k].name);
        nnk_params *p = defaults(NNK_KIND_OPTIMIZER, cases[k].name);
        float w[2] = {1, 1}, mem[3][2] = {{0}};
        float *slots[3] = {mem[0], mem[1], mem[2]};
        o->step(nnk_params_config(p), 0.1, 1, w, g, slots, 2);
        for (int i = 0; i < 2; i++)
            ck_assert_msg(fabs(w[i] - cases[k].want[i]) < 2e-6, "%s: w[%d] = %.9g, want %.9g", cases[k].name, i,
                          (double)w[i], cases[k].want[i]);
        nnk_params_free(p);
    }
}
END_TEST

/* ---- number text ------------------------------------------------------ */

/* Significant digits of a %g text. */
static int sig_digits(const char *t)
{
    int n = 0, leading = 1;
    for (; *t && *t != 'e'; t++) {
        if (*t < '0' || *t > '9')
            continue;
        if (leading && *t == '0')
            continue;
        leading = 0;
        n++;
    }
    return n;
}

START_TEST(shortest_number_text)
{
    char buf[64], fewer[400];
    nnk_format_float(0.1f, buf, sizeof buf);
    ck_assert_str_eq(buf, "0.1");
    nnk_format_float(1.0f / 3.0f, buf, sizeof buf);
    ck_assert_str_eq(buf, "0.33333334");
    nnk_format_float(16777216.0f, buf, sizeof buf);
    ck_assert_str_eq(buf, "16777216");
    nnk_format_double(1.0 / 12.0, buf, sizeof buf);
    ck_assert_str_eq(buf, "0.08333333333333333");
    nnk_format_double(0.1, buf, sizeof buf);
    ck_assert_str_eq(buf, "0.1");
    /* any finite float reads back exactly, and one digit fewer would not */
    uint32_t state = 12345;
    for (int i = 0; i < 20000; i++) {
        state = state * 1664525u + 1013904223u;
        uint32_t bits = state;
        float v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v))
            continue;
        nnk_format_float(v, buf, sizeof buf);
        ck_assert_msg(strtof(buf, NULL) == v, "'%s' does not read back as %.9g", buf, (double)v);
        int d = sig_digits(buf);
        if (d > 1) {
            snprintf(fewer, sizeof fewer, "%.*g", d - 1, (double)v);
            ck_assert_msg(strtof(fewer, NULL) != v, "'%s' is shorter than '%s'", fewer, buf);
        }
        double w = (double)v * 1.000000001;
        nnk_format_double(w, buf, sizeof buf);
        ck_assert_msg(strtod(buf, NULL) == w, "'%s' does not read back as %.17g", buf, w);
    }
}
END_TEST

Suite *components_suite(void)
{
    Suite *s = suite_create("components");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, activation_exact_values);
    tcase_add_test(tc, activation_saturation);
    tcase_add_test(tc, activation_gradients);
    tcase_add_test(tc, step_activations_have_no_gradient);
    tcase_add_test(tc, loss_exact_values);
    tcase_add_test(tc, fused_losses_match);
    tcase_add_test(tc, saturated_losses_are_finite);
    tcase_add_test(tc, loss_gradients);
    tcase_add_test(tc, sparse_labels_out_of_range);
    tcase_add_test(tc, metric_exact_values);
    tcase_add_test(tc, sgd_steps_by_hand);
    tcase_add_test(tc, adaptive_first_steps);
    tcase_add_test(tc, shortest_number_text);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    reg = test_registry();
    int rc = test_run_suite(components_suite());
    nnk_registry_free(reg);
    return rc;
}
