/* nnkit check-plugin: validates a plugin's descriptor and puts each of its
 * components through gradient, shape, save/load and determinism checks.
 * Every check is one row of the report; any failure fails the plugin. */
#include "checkplugin.h"
#include "internal.h"
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FD_H 1e-3
#define FD_TRIALS 3

typedef struct report {
    FILE *out;
    int failures, checks;
} report;

static void row(report *r, const char *component, const char *check, int ok, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void row(report *r, const char *component, const char *check, int ok, const char *fmt, ...)
{
    char detail[512] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
    }
    r->checks++;
    r->failures += !ok;
    fprintf(r->out, "  %-28s %-22s %-4s %s\n", component, check, ok ? "pass" : "FAIL", detail);
}

static int valid_name(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* Names, types, defaults within range, choices. */
static void check_specs(report *r, const nnk_component_info *c)
{
    const nnk_param_spec *p = c->params;
    int ok = 1;
    char why[400] = "";
    for (int i = 0; p && p[i].name && ok; i++) {
        for (int j = 0; j < i; j++)
            if (!strcmp(p[i].name, p[j].name)) {
                snprintf(why, sizeof why, "parameter '%s' declared twice", p[i].name);
                ok = 0;
            }
        if (ok && !valid_name(p[i].name)) {
            snprintf(why, sizeof why, "parameter name '%s' is not lower-case letters, digits and _", p[i].name);
            ok = 0;
        }
        if (ok && (unsigned)p[i].type > NNK_PARAM_ACTIVATION) {
            snprintf(why, sizeof why, "parameter '%s' has an unknown type %d", p[i].name, p[i].type);
            ok = 0;
        }
        if (ok && p[i].min > p[i].max) {
            snprintf(why, sizeof why, "parameter '%s' has min %g > max %g", p[i].name, p[i].min, p[i].max);
            ok = 0;
        }
        if (ok && p[i].type == NNK_PARAM_CHOICE && (!p[i].choices || !p[i].choices[0])) {
            snprintf(why, sizeof why, "parameter '%s' is a choice without choices", p[i].name);
            ok = 0;
        }
    }
    if (ok) {
        /* parsing every default by the spec's own rules checks the ranges */
        nnk_err err = {NNK_OK, ""};
        nnk_params *np = nnk_params_new(c->params, 4096, c->name, &err);
        if (!np) {
            snprintf(why, sizeof why, "default out of range: %s", err.msg);
            ok = 0;
        }
        nnk_params_free(np);
    }
    int n = 0;
    while (p && p[n].name)
        n++;
    if (ok)
        snprintf(why, sizeof why, "%d parameters, defaults in range", n);
    row(r, c->name, "parameter specs", ok, "%s", why);
}

/* ---- random values ------------------------------------------------------- */

static double uni(nnk_rng *g, double lo, double hi) { return lo + (hi - lo) * nnk_rng_uniform(g); }

static void random_values(nnk_rng *g, float *x, int64_t n, double scale)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)uni(g, -scale, scale);
}

/* A random value for a spec: small integers and floats inside the range
 * near the default, any choice, a smooth activation. */
static void random_param(nnk_rng *g, const nnk_param_spec *p, char *buf, size_t n)
{
    double lo = p->min, hi = p->max;
    switch (p->type) {
    case NNK_PARAM_INT: {
        double base = p->default_value ? atof(p->default_value) : (lo > 1 ? lo : 1);
        double a = fmax(lo, base - 2), b = fmin(hi, base + 4);
        if (lo == 0 && hi == 0)
            a = base, b = base + 3;
        snprintf(buf, n, "%lld", (long long)floor(uni(g, a, b + 0.999)));
        break;
    }
    case NNK_PARAM_FLOAT: {
        double base = p->default_value ? atof(p->default_value) : (lo + hi) / 2;
        double a = lo || hi ? fmax(lo, base * 0.5) : base * 0.5, b = lo || hi ? fmin(hi, base * 1.5 + 1e-9) : base * 1.5;
        if (base == 0) /* a zero default (a penalty, a momentum) gets values that matter */
            a = lo, b = lo || hi ? fmin(hi, 1) : 1;
        if (b < a)
            a = b = base;
        snprintf(buf, n, "%.6g", uni(g, fmin(a, b), fmax(a, b)));
        if (atof(buf) < lo || ((lo || hi) && atof(buf) > hi))
            snprintf(buf, n, "%s", p->default_value ? p->default_value : "0");
        break;
    }
    case NNK_PARAM_BOOL:
        snprintf(buf, n, "%s", nnk_rng_next(g) & 1 ? "true" : "false");
        break;
    case NNK_PARAM_CHOICE: {
        int k = 0;
        while (p->choices[k])
            k++;
        snprintf(buf, n, "%s", p->choices[nnk_rng_next(g) % (uint64_t)k]);
        break;
    }
    case NNK_PARAM_ACTIVATION: {
        static const char *const smooth[] = {"linear", "tanh", "sigmoid", "softplus"};
        snprintf(buf, n, "%s", smooth[nnk_rng_next(g) % 4]);
        break;
    }
    default:
        snprintf(buf, n, "%s", p->default_value ? p->default_value : "");
    }
}

/* ---- layers --------------------------------------------------------------- */

typedef struct layer_case {
    char keys[16][64], values[16][128];
    const char *kp[16], *vp[16];
    int n_params;
    int n_in;
    nnk_shape shape;
} layer_case;

static void make_case(nnk_rng *g, const nnk_component_info *c, int trial, layer_case *lc)
{
    const nnk_layer_vtable *vt = c->vtable;
    memset(lc, 0, sizeof *lc);
    for (const nnk_param_spec *p = c->params; p && p->name && lc->n_params < 16; p++) {
        /* the first trial uses the defaults (and small values for required ones) */
        if (trial == 0 && p->default_value && p->type != NNK_PARAM_ACTIVATION)
            continue;
        snprintf(lc->keys[lc->n_params], 64, "%s", p->name);
        random_param(g, p, lc->values[lc->n_params], 128);
        lc->kp[lc->n_params] = lc->keys[lc->n_params];
        lc->vp[lc->n_params] = lc->values[lc->n_params];
        lc->n_params++;
    }
    lc->n_in = vt->min_inputs > 1 ? vt->min_inputs : 1;
    lc->shape.ndim = 1;
    lc->shape.dim[0] = 2 + (int64_t)(nnk_rng_next(g) % 5);
}

/* The last gradient trial also tries a sample of two dimensions; layers
 * that take only flat samples simply do not build there. */
static void widen_case(nnk_rng *g, layer_case *lc)
{
    lc->shape.ndim = 2;
    lc->shape.dim[1] = lc->shape.dim[0];
    lc->shape.dim[0] = 2 + (int64_t)(nnk_rng_next(g) % 2);
}

/* A model: n_in inputs of the case's shape -> the layer, as the output
 * with an mse loss. */
static nnk_model *layer_model(nnk_registry *reg, const nnk_component_info *c, const layer_case *lc,
                              uint64_t seed, nnk_err *err)
{
    nnk_model *m = nnk_model_new(reg);
    if (!m) {
        nnk_err_set(err, NNK_ENOMEM, "out of memory");
        return NULL;
    }
    const char *names[4] = {"x0", "x1", "x2", "x3"};
    int rc = NNK_OK;
    for (int i = 0; !rc && i < lc->n_in && i < 4; i++)
        rc = nnk_model_add_input(m, names[i], &lc->shape, err);
    if (!rc)
        rc = nnk_model_add_layer(m, "under_test", c->name, names, lc->n_in, lc->kp, lc->vp, NULL, lc->n_params, err);
    if (!rc)
        rc = nnk_model_compile(m, "mse", NULL, "sgd", 0.01, NULL, NULL, NULL, 0, err);
    if (!rc)
        rc = nnk_model_build(m, seed, err);
    if (rc) {
        nnk_model_free(m);
        return NULL;
    }
    return m;
}

/* Loss of a training-mode forward from a fixed random-stream state, so
 * layers that draw random numbers (dropout) see the same draws each time. */
static double train_loss(nnk_model *m, const float *x, const float *y, int64_t rows, const nnk_rng *state,
                         int grads, nnk_err *err)
{
    nnk_node *n = &m->nodes[0];
    n->rng = *state;
    nnk_model_ensure_rows(m, rows, err);
    nnk_model_set_inputs(m, x, rows);
    nnk_output *o = &m->outs[0];
    nnk_model_split_labels(m, NULL, 0, rows, err);
    memcpy(o->y, y, sizeof(float) * (size_t)(rows * o->cols));
    double loss = NAN;
    if (nnk_model_forward(m, rows, 1, err) || nnk_model_loss(m, rows, &loss, NULL, grads, err))
        return NAN;
    return loss;
}

static int close_enough(double analytic, double fd)
{
    return fabs(analytic - fd) <= 2e-3 + 2e-2 * fabs(fd);
}

/* Finite differences for every weight and every input value; a few
 * elements may sit on a kink (relu, max), so up to 2% may disagree. */
static void layer_gradients(report *r, nnk_registry *reg, const nnk_component_info *c, nnk_rng *g)
{
    int checked = 0, bad = 0, built = 0;
    char first_bad[256] = "";
    for (int trial = 0; trial < FD_TRIALS; trial++) {
        layer_case lc;
        make_case(g, c, trial, &lc);
        if (trial == FD_TRIALS - 1)
            widen_case(g, &lc);
        nnk_err err = {NNK_OK, ""};
        nnk_model *m = layer_model(reg, c, &lc, 7 + (uint64_t)trial, &err);
        if (!m)
            continue;
        built++;
        int64_t rows = 3, xc = nnk_model_input_cols(m), oc = m->outs[0].cols;
        float *x = malloc(sizeof(float) * (size_t)(rows * xc)), *y = malloc(sizeof(float) * (size_t)(rows * oc));
        random_values(g, x, rows * xc, 1.0);
        random_values(g, y, rows * oc, 1.0);
        /* nudge every weight off its initial value: zero biases behind
         * dead units sit exactly on relu's kink, where no slope is right */
        for (int w = 0; w < m->nodes[0].layer.n_weights; w++) {
            nnk_weight *wt = &m->nodes[0].layer.weights[w];
            int64_t cnt = nnk_tensor_elements(&wt->value);
            for (int64_t j = 0; wt->trainable && j < cnt; j++)
                wt->value.data[j] += (float)uni(g, -0.05, 0.05);
        }
        nnk_rng state = m->nodes[0].rng;
        train_loss(m, x, y, rows, &state, 1, &err);
        nnk_node *n = &m->nodes[0];
        /* the weights' analytic gradients (regularization included), kept
         * before the layer's backward runs again for the input gradients */
        float *an_w[NNK_MAX_WEIGHTS] = {0};
        for (int w = 0; w < n->layer.n_weights; w++) {
            nnk_weight *wt = &n->layer.weights[w];
            int64_t cnt = nnk_tensor_elements(&wt->value);
            an_w[w] = malloc(sizeof(float) * (size_t)cnt);
            memcpy(an_w[w], wt->grad.data, sizeof(float) * (size_t)cnt);
        }
        /* dL/dinput: the layer's backward into input buffers */
        float *din_data = calloc((size_t)(rows * xc), sizeof(float));
        nnk_tensor din_t[4];
        nnk_tensor *din[4];
        const nnk_tensor *in[4];
        for (int k = 0; k < n->n_in; k++) {
            din_t[k] = m->inputs[k].x;
            din_t[k].data = din_data + rows * m->inputs[k].offset;
            din[k] = &din_t[k];
            in[k] = &m->inputs[k].x;
        }
        n->vt->backward(&n->layer, n->n_in, in, &n->z, &n->dz, din, &err);
        for (int w = 0; w < n->layer.n_weights; w++) {
            nnk_weight *wt = &n->layer.weights[w];
            float *an = an_w[w];
            if (!wt->trainable) {
                free(an);
                continue;
            }
            int64_t cnt = nnk_tensor_elements(&wt->value);
            for (int64_t j = 0; j < cnt; j++) {
                float keep = wt->value.data[j];
                wt->value.data[j] = keep + (float)FD_H;
                double lp = train_loss(m, x, y, rows, &state, 0, &err);
                wt->value.data[j] = keep - (float)FD_H;
                double lm = train_loss(m, x, y, rows, &state, 0, &err);
                wt->value.data[j] = keep;
                double fd = (lp - lm) / (2 * FD_H);
                checked++;
                if (!close_enough(an[j], fd)) {
                    if (!bad++)
                        snprintf(first_bad, sizeof first_bad, "%s[%lld]: analytic %.6g, finite difference %.6g",
                                 wt->name, (long long)j, (double)an[j], fd);
                }
            }
            free(an);
        }
        /* input gradients (the loss is recomputed from changed inputs) */
        float *an = malloc(sizeof(float) * (size_t)(rows * xc));
        /* din_data is laid out input by input; map back to row-major x */
        for (int k = 0; k < n->n_in; k++)
            for (int64_t rr = 0; rr < rows; rr++)
                for (int64_t j = 0; j < m->inputs[k].cols; j++)
                    an[rr * xc + m->inputs[k].offset + j] =
                        din_data[rows * m->inputs[k].offset + rr * m->inputs[k].cols + j];
        for (int64_t j = 0; j < rows * xc; j++) {
            float keep = x[j];
            x[j] = keep + (float)FD_H;
            double lp = train_loss(m, x, y, rows, &state, 0, &err);
            x[j] = keep - (float)FD_H;
            double lm = train_loss(m, x, y, rows, &state, 0, &err);
            x[j] = keep;
            double fd = (lp - lm) / (2 * FD_H);
            checked++;
            if (!close_enough(an[j], fd) && !bad++)
                snprintf(first_bad, sizeof first_bad, "input[%lld]: analytic %.6g, finite difference %.6g",
                         (long long)j, (double)an[j], fd);
        }
        free(an), free(din_data), free(x), free(y);
        nnk_model_free(m);
    }
    if (!built) {
        row(r, c->name, "gradients", 0, "%s", "no configuration could be built on 1-D inputs");
        return;
    }
    int ok = bad <= checked / 50;
    if (ok)
        row(r, c->name, "gradients", 1, "%d values over %d configurations", checked, built);
    else
        row(r, c->name, "gradients", 0, "%d of %d values wrong; first %s", bad, checked, first_bad);
}

/* Shapes: build is repeatable, and at inference each row's output does
 * not depend on the other rows of the batch. */
/* A layer's nnkit.train.fused_sgd/1: backward_sgd at rate lr must leave
 * every trainable weight at w - lr g, g being what backward writes, keep
 * the rest, and give backward's input gradients (from the weights before
 * the step). */
static void layer_fused_sgd(report *r, nnk_registry *reg, const nnk_component_info *c, nnk_rng *g)
{
    const nnk_layer_fused_sgd *cap = NNK_CAPABILITY((const nnk_layer_vtable *)c->vtable, NNK_CAP_FUSED_SGD);
    if (!cap)
        return;
    if (!NNK_HAS(cap, backward_sgd) || !cap->backward_sgd) {
        row(r, c->name, "fused sgd", 0, "%s", "nnkit.train.fused_sgd/1 without backward_sgd");
        return;
    }
    layer_case lc;
    make_case(g, c, 0, &lc);
    nnk_err err = {NNK_OK, ""};
    nnk_model *m = layer_model(reg, c, &lc, 11, &err);
    if (!m) {
        row(r, c->name, "fused sgd", 0, "does not build with its defaults: %s", err.msg);
        return;
    }
    const float lr = 0.05f;
    int64_t rows = 3, xc = nnk_model_input_cols(m), oc = m->outs[0].cols;
    float *x = malloc(sizeof(float) * (size_t)(rows * xc)), *y = malloc(sizeof(float) * (size_t)(rows * oc));
    float *din_data = calloc((size_t)(2 * rows * xc), sizeof(float));
    random_values(g, x, rows * xc, 1.0);
    random_values(g, y, rows * oc, 1.0);
    nnk_rng state = m->nodes[0].rng;
    train_loss(m, x, y, rows, &state, 1, &err);
    nnk_node *n = &m->nodes[0];
    nnk_tensor din_t[2][4];
    nnk_tensor *din[2][4];
    const nnk_tensor *in[4];
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < n->n_in; k++) {
            din_t[pass][k] = m->inputs[k].x;
            din_t[pass][k].data = din_data + pass * rows * xc + rows * m->inputs[k].offset;
            din[pass][k] = &din_t[pass][k];
            in[k] = &m->inputs[k].x;
        }
    /* what backward and then w -= lr g give */
    float *want[NNK_MAX_WEIGHTS] = {0};
    int rc = n->vt->backward(&n->layer, n->n_in, in, &n->z, &n->dz, din[0], &err);
    for (int w = 0; !rc && w < n->layer.n_weights; w++) {
        nnk_weight *wt = &n->layer.weights[w];
        int64_t cnt = nnk_tensor_elements(&wt->value);
        if (cnt < 0 || !(want[w] = malloc(sizeof(float) * (size_t)cnt)))
            rc = nnk_err_set(&err, NNK_ENOMEM, "out of memory");
        for (int64_t j = 0; !rc && j < cnt; j++)
            want[w][j] = wt->value.data[j] - (wt->trainable ? lr * wt->grad.data[j] : 0.0f);
    }
    if (!rc)
        rc = cap->backward_sgd(&n->layer, n->n_in, in, &n->z, &n->dz, din[1], lr, &err);
    double worst = 0;
    const char *where = "";
    for (int w = 0; !rc && w < n->layer.n_weights; w++) {
        nnk_weight *wt = &n->layer.weights[w];
        for (int64_t j = 0, cnt = nnk_tensor_elements(&wt->value); j < cnt; j++) {
            double d = fabs(wt->value.data[j] - want[w][j]) / (1 + fabs(want[w][j]));
            if (d > worst)
                worst = d, where = wt->name;
        }
    }
    for (int64_t j = 0; !rc && j < rows * xc; j++) {
        double d = fabs(din_data[rows * xc + j] - din_data[j]) / (1 + fabs(din_data[j]));
        if (d > worst)
            worst = d, where = "input gradient";
    }
    if (rc)
        row(r, c->name, "fused sgd", 0, "%s", err.msg);
    else
        row(r, c->name, "fused sgd", worst <= 1e-5, "backward_sgd against backward and w -= %g g: worst %.2g%s%s", (double)lr,
            worst, *where ? " at " : "", where);
    for (int w = 0; w < NNK_MAX_WEIGHTS; w++)
        free(want[w]);
    free(x);
    free(y);
    free(din_data);
    nnk_model_free(m);
}

static void layer_shapes(report *r, nnk_registry *reg, const nnk_component_info *c, nnk_rng *g)
{
    layer_case lc;
    make_case(g, c, 1, &lc);
    nnk_err err = {NNK_OK, ""};
    nnk_model *a = layer_model(reg, c, &lc, 3, &err), *b = layer_model(reg, c, &lc, 3, &err);
    if (!a || !b) {
        row(r, c->name, "shape inference", 0, "build failed: %s", err.msg);
        nnk_model_free(a), nnk_model_free(b);
        return;
    }
    int ok = a->nodes[0].out_shape.ndim == b->nodes[0].out_shape.ndim && a->outs[0].cols == b->outs[0].cols;
    int64_t xc = nnk_model_input_cols(a), oc = a->outs[0].cols, rows = 5;
    float *x = malloc(sizeof(float) * (size_t)(rows * xc)), *full = malloc(sizeof(float) * (size_t)(rows * oc));
    random_values(g, x, rows * xc, 1.0);
    nnk_model_ensure_rows(a, rows, &err);
    nnk_model_set_inputs(a, x, rows);
    ok = ok && !nnk_model_forward(a, rows, 0, &err);
    if (ok)
        memcpy(full, a->nodes[0].a.data, sizeof(float) * (size_t)(rows * oc));
    for (int64_t i = 0; ok && i < rows; i++) {
        nnk_model_ensure_rows(a, 1, &err);
        nnk_model_set_inputs(a, x + i * xc, 1);
        ok = !nnk_model_forward(a, 1, 0, &err);
        /* BLAS may round differently for another batch size: compare closely, not bitwise */
        for (int64_t j = 0; ok && j < oc; j++)
            ok = fabs(full[i * oc + j] - a->nodes[0].a.data[j]) <= 1e-5 * (1 + fabs(full[i * oc + j]));
    }
    char shape[96];
    nnk_shape_text(&a->nodes[0].out_shape, shape, sizeof shape);
    if (ok)
        row(r, c->name, "shape inference", 1, "output %s, rows independent at inference", shape);
    else
        row(r, c->name, "shape inference", 0, "build differs between two runs, or a row's output depends on its batch");
    free(x), free(full);
    nnk_model_free(a), nnk_model_free(b);
}

/* Save, load, and the same outputs from the same inputs; then two builds
 * from one seed give the same weights. */
static void layer_persistence(report *r, nnk_registry *reg, const nnk_component_info *c, nnk_rng *g)
{
    layer_case lc;
    make_case(g, c, 2, &lc);
    nnk_err err = {NNK_OK, ""};
    nnk_model *a = layer_model(reg, c, &lc, 11, &err), *b = layer_model(reg, c, &lc, 11, &err);
    if (!a || !b) {
        row(r, c->name, "save/load", 0, "build failed: %s", err.msg);
        nnk_model_free(a), nnk_model_free(b);
        return;
    }
    int64_t na, nb;
    float *wa = nnk_model_weights_copy(a, &na), *wb = nnk_model_weights_copy(b, &nb);
    int same_init = na == nb && !memcmp(wa, wb, sizeof(float) * (size_t)na);
    /* one training step from the same state must agree too */
    int64_t rows = 4, xc = nnk_model_input_cols(a), oc = a->outs[0].cols;
    float *x = malloc(sizeof(float) * (size_t)(rows * xc)), *y = malloc(sizeof(float) * (size_t)(rows * oc));
    random_values(g, x, rows * xc, 1.0);
    random_values(g, y, rows * oc, 1.0);
    nnk_rng sa = a->nodes[0].rng, sb = b->nodes[0].rng;
    double la = train_loss(a, x, y, rows, &sa, 1, &err), lb = train_loss(b, x, y, rows, &sb, 1, &err);
    if (same_init && la == lb)
        row(r, c->name, "determinism", 1, "same seed, same weights and loss");
    else
        row(r, c->name, "determinism", 0, "same seed gave %s", same_init ? "different losses" : "different weights");
    char path[256];
    snprintf(path, sizeof path, "/tmp/nnkit-check-%ld.nnk", (long)getpid());
    nnk_model *l = NULL;
    int ok = !nnk_model_save(a, path, &err) && (l = nnk_model_load(reg, path, &err)) != NULL;
    unlink(path);
    if (ok) {
        int64_t nl;
        float *wl = nnk_model_weights_copy(l, &nl), *wa2 = nnk_model_weights_copy(a, &na);
        ok = nl == na && !memcmp(wl, wa2, sizeof(float) * (size_t)na);
        for (int i = 0; ok && i < nnk_params_count(a->nodes[0].params); i++) {
            char va[512], vl[512];
            nnk_params_format(a->nodes[0].params, i, va, sizeof va);
            nnk_params_format(l->nodes[0].params, i, vl, sizeof vl);
            ok = !strcmp(va, vl);
        }
        nnk_model_ensure_rows(a, rows, &err);
        nnk_model_ensure_rows(l, rows, &err);
        nnk_model_set_inputs(a, x, rows);
        nnk_model_set_inputs(l, x, rows);
        ok = ok && !nnk_model_forward(a, rows, 0, &err) && !nnk_model_forward(l, rows, 0, &err) &&
             !memcmp(a->nodes[0].a.data, l->nodes[0].a.data, sizeof(float) * (size_t)(rows * oc));
        free(wl), free(wa2);
        if (!ok)
            snprintf(err.msg, sizeof err.msg, "the loaded layer differs in weights, parameters or outputs");
    }
    row(r, c->name, "save/load", ok, "%s", ok ? "weights, parameters and outputs survive" : err.msg);
    free(wa), free(wb), free(x), free(y);
    nnk_model_free(a), nnk_model_free(b), nnk_model_free(l);
}

/* ---- activations, losses, metrics, optimizers ----------------------------- */

/* The component's default configuration, or NULL (a failed row) when its
 * defaults do not parse: nothing further can be checked then. */
static nnk_params *default_params(report *r, const nnk_component_info *c, const char *check)
{
    nnk_err err = {NNK_OK, ""};
    nnk_params *p = nnk_params_new(c->params, 4096, c->name, &err);
    if (!p)
        row(r, c->name, check, 0, "not run: %s", err.msg);
    return p;
}

static void activation_checks(report *r, const nnk_component_info *c, nnk_rng *g)
{
    const nnk_activation_vtable *a = c->vtable;
    nnk_params *p = default_params(r, c, "forward");
    if (!p)
        return;
    const void *cfg = nnk_params_config(p);
    enum { N = 12 };
    float z[N], out[N], dz[N], da[N], zp[N], op[N];
    random_values(g, z, N, 2.0);
    random_values(g, da, N, 1.0);
    a->forward(cfg, z, out, 3, 4);
    int finite = 1;
    for (int i = 0; i < N; i++)
        finite &= isfinite(out[i]);
    row(r, c->name, "forward", finite, "%s", finite ? "finite on 3x4 values" : "NaN or Inf from finite inputs");
    if (!a->differentiable) {
        row(r, c->name, "gradients", 1, "%s", "declared not differentiable (no gradient)");
        nnk_params_free(p);
        return;
    }
    a->backward(cfg, z, out, da, dz, 3, 4);
    int bad = 0;
    char first[200] = "";
    for (int i = 0; i < N; i++) {
        double l[2];
        for (int s = 0; s < 2; s++) {
            memcpy(zp, z, sizeof z);
            zp[i] += (float)(s ? -FD_H : FD_H);
            a->forward(cfg, zp, op, 3, 4);
            l[s] = 0;
            for (int j = 0; j < N; j++)
                l[s] += (double)da[j] * op[j];
        }
        double fd = (l[0] - l[1]) / (2 * FD_H);
        if (!close_enough(dz[i], fd) && !bad++)
            snprintf(first, sizeof first, "dz[%d]: analytic %.6g, finite difference %.6g", i, (double)dz[i], fd);
    }
    if (bad)
        row(r, c->name, "gradients", 0, "%s", first);
    else
        row(r, c->name, "gradients", 1, "%d values", N);
    nnk_params_free(p);
}

static void loss_checks(report *r, const nnk_component_info *c, nnk_rng *g)
{
    const nnk_loss_vtable *l = c->vtable;
    nnk_params *p = default_params(r, c, "gradients");
    if (!p)
        return;
    const void *cfg = nnk_params_config(p);
    enum { ROWS = 3, COLS = 4 };
    float pred[ROWS * COLS], y[ROWS * COLS], grad[ROWS * COLS], pp[ROWS * COLS];
    for (int pass = 0; pass < (l->compute_from_logits ? 2 : 1); pass++) {
        int logits = pass == 1;
        for (int i = 0; i < ROWS * COLS; i++)
            pred[i] = logits ? (float)uni(g, -2, 2) : (float)uni(g, 0.05, 0.95);
        for (int rr = 0; rr < ROWS; rr++)
            for (int j = 0; j < COLS; j++)
                y[rr * COLS + j] = l->labels == NNK_LABELS_SPARSE ? (float)(rr % COLS) : (float)(j == rr % COLS);
        nnk_err err = {NNK_OK, ""};
        double loss;
        int rc = logits ? l->compute_from_logits(cfg, pred, y, ROWS, COLS, &loss, grad, &err)
                        : l->compute(cfg, pred, y, ROWS, COLS, &loss, grad, &err);
        int bad = rc != 0, n = 0;
        char first[200] = "";
        if (rc)
            snprintf(first, sizeof first, "failed: %s", err.msg);
        for (int i = 0; !rc && i < ROWS * COLS; i++) {
            double lv[2];
            for (int s = 0; s < 2; s++) {
                memcpy(pp, pred, sizeof pred);
                pp[i] += (float)(s ? -FD_H : FD_H);
                if (logits)
                    l->compute_from_logits(cfg, pp, y, ROWS, COLS, &lv[s], NULL, &err);
                else
                    l->compute(cfg, pp, y, ROWS, COLS, &lv[s], NULL, &err);
            }
            double fd = (lv[0] - lv[1]) / (2 * FD_H);
            n++;
            if (!close_enough(grad[i], fd) && !bad++)
                snprintf(first, sizeof first, "grad[%d]: analytic %.6g, finite difference %.6g", i, (double)grad[i], fd);
        }
        if (bad)
            row(r, c->name, logits ? "gradients (logits)" : "gradients", 0, "%s", first);
        else
            row(r, c->name, logits ? "gradients (logits)" : "gradients", 1, "%d values", n);
    }
    nnk_params_free(p);
}

static void metric_checks(report *r, const nnk_component_info *c, nnk_rng *g)
{
    const nnk_metric_vtable *mv = c->vtable;
    nnk_params *p = default_params(r, c, "streaming");
    if (!p)
        return;
    const void *cfg = nnk_params_config(p);
    enum { ROWS = 6, COLS = 3 };
    float pred[ROWS * COLS], y[ROWS * COLS];
    random_values(g, pred, ROWS * COLS, 1.0);
    for (int i = 0; i < ROWS * COLS; i++)
        y[i] = (float)(nnk_rng_next(g) % 2);
    for (int rr = 0; rr < ROWS; rr++) /* also valid as class indices */
        y[rr] = (float)(rr % COLS);
    void *s1 = calloc(1, mv->state_size + 1), *s2 = calloc(1, mv->state_size + 1);
    mv->update(cfg, s1, pred, y, ROWS, COLS);
    int sparse = strstr(c->name, "sparse") != NULL;
    mv->update(cfg, s2, pred, y, 2, COLS);
    mv->update(cfg, s2, pred + 2 * COLS, y + 2 * (sparse ? 1 : COLS), ROWS - 2, COLS);
    double a = mv->result(cfg, s1), b = mv->result(cfg, s2);
    int ok = isfinite(a) && fabs(a - b) <= 1e-9 * fmax(1, fabs(a));
    row(r, c->name, "streaming", ok, ok ? "one batch or two give %.6g" : "one batch gives %.6g, two give %.6g", a, b);
    free(s1), free(s2);
    nnk_params_free(p);
}

/* 60 steps on f(w) = |w|^2 / 2 (gradient w) must bring f down. */
static void optimizer_checks(report *r, const nnk_component_info *c, nnk_rng *g)
{
    const nnk_optimizer_vtable *o = c->vtable;
    nnk_params *p = default_params(r, c, "descent");
    if (!p)
        return;
    enum { N = 8 };
    float w[N], gr[N], *slots[8], slot_mem[8][N];
    memset(slot_mem, 0, sizeof slot_mem);
    for (int s = 0; s < 8; s++)
        slots[s] = slot_mem[s];
    random_values(g, w, N, 1.0);
    double f0 = 0, f1 = 0;
    for (int i = 0; i < N; i++)
        f0 += 0.5 * w[i] * w[i];
    for (int step = 1; step <= 60 && o->n_slots <= 8; step++) {
        memcpy(gr, w, sizeof w);
        o->step(nnk_params_config(p), 0.05, step, w, gr, slots, N);
    }
    for (int i = 0; i < N; i++)
        f1 += 0.5 * w[i] * w[i];
    int ok = o->n_slots <= 8 && isfinite(f1) && f1 < f0;
    row(r, c->name, "descent", ok, "f(w) = |w|^2/2 from %.4g to %.4g in 60 steps", f0, f1);
    nnk_params_free(p);
}

/* One instance of callback c from p: made, its state (when it saves one)
 * saved, loaded into a second instance and saved again alike, destroyed.
 * Returns 0 when create refused with a message (a setting it rejects). */
static int callback_case(report *r, const nnk_component_info *c, nnk_params *p, const char *what)
{
    const nnk_callback_vtable *cv = c->vtable;
    nnk_err err = {NNK_OK, ""};
    void *a = NULL, *b = NULL;
    int rc = cv->create ? cv->create(nnk_params_config(p), &a, &err) : NNK_OK;
    if (rc) {
        if (!err.msg[0])
            row(r, c->name, "lifecycle", 0, "create failed with %s and gave no reason", what);
        return 0;
    }
    if (cv->save_state) {
        uint8_t *first = NULL, *second = NULL;
        size_t n1 = 0, n2 = 0;
        int ok = !cv->save_state(a, &first, &n1, &err) && (!cv->create || !cv->create(nnk_params_config(p), &b, &err)) &&
                 !cv->load_state(b, first, n1, &err) && !cv->save_state(b, &second, &n2, &err) && n1 == n2 &&
                 (!n1 || !memcmp(first, second, n1));
        if (ok)
            row(r, c->name, "state round trip", 1, "%s: %zu bytes saved, loaded and saved again alike", what, n1);
        else
            row(r, c->name, "state round trip", 0, "%s: %s", what, err.msg[0] ? err.msg : "the state saved after a load differs");
        free(first), free(second);
        if (b && cv->destroy)
            cv->destroy(b);
    }
    if (a && cv->destroy)
        cv->destroy(a);
    return 1;
}

/* A callback is made from its defaults (for a parameter without one, from
 * each of its choices) and destroyed again; a refusal must say why. */
static void callback_checks(report *r, const nnk_component_info *c, nnk_rng *g)
{
    nnk_params *p = default_params(r, c, "lifecycle");
    if (!p)
        return;
    const nnk_param_spec *need = NULL;
    for (int i = 0; c->params && c->params[i].name && !need; i++)
        need = c->params[i].default_value ? NULL : &c->params[i];
    nnk_err err = {NNK_OK, ""};
    int made = 0, cases = 0;
    char value[128], what[200];
    if (need && need->type == NNK_PARAM_CHOICE) {
        for (int k = 0; need->choices[k]; k++, cases++) {
            snprintf(what, sizeof what, "%s = %s", need->name, need->choices[k]);
            if (!nnk_params_set(p, need->name, need->choices[k], NULL, &err) && !nnk_params_check_required(p, &err))
                made += callback_case(r, c, p, what);
        }
    } else {
        if (need) {
            random_param(g, need, value, sizeof value);
            nnk_params_set(p, need->name, value, NULL, &err);
        }
        snprintf(what, sizeof what, "%s", need ? "a value for its required parameter" : "its defaults");
        cases = 1;
        if (!nnk_params_check_required(p, &err))
            made = callback_case(r, c, p, what);
    }
    if (made)
        row(r, c->name, "lifecycle", 1, "made and destroyed from %d of %d settings", made, cases);
    else
        row(r, c->name, "lifecycle", 0, "no setting made it (%s)", err.msg[0] ? err.msg : "create refused every one");
    nnk_params_free(p);
}

/* ---- the plugin ------------------------------------------------------------- */

int nnk_check_plugin(const char *path, FILE *out, nnk_err *err)
{
    nnk_registry *reg = nnk_registry_new();
    if (!reg)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory"), -1;
    /* the plugin first, then the standard set for what its components use
     * (activations for layers); a standard plugin of the same name is skipped */
    if (nnk_registry_load_file(reg, path, err) || nnk_registry_load_default(reg, NULL, err)) {
        nnk_registry_free(reg);
        return -1;
    }
    report r = {out, 0, 0};
    const nnk_component_info *first = nnk_registry_at(reg, 0);
    fprintf(out, "plugin '%s' (%s %s, ABI %d.%d)\n", path, first ? first->plugin_name : "?",
            first ? first->plugin_version : "?", NNK_ABI_MAJOR, NNK_ABI_MINOR);
    nnk_rng g;
    nnk_rng_seed(&g, 20261127, 99);
    int n = 0;
    for (int i = 0; i < nnk_registry_count(reg); i++) {
        const nnk_component_info *c = nnk_registry_at(reg, i);
        if (strcmp(c->path, path))
            continue;
        n++;
        fprintf(out, "%s %s\n", nnk_kind_name(c->kind), c->name);
        row(&r, c->name, "name", valid_name(c->name), "%s",
            valid_name(c->name) ? "ok" : "must be lower-case letters, digits, _ or -");
        check_specs(&r, c);
        switch (c->kind) {
        case NNK_KIND_LAYER:
            layer_gradients(&r, reg, c, &g);
            layer_fused_sgd(&r, reg, c, &g);
            layer_shapes(&r, reg, c, &g);
            layer_persistence(&r, reg, c, &g);
            break;
        case NNK_KIND_ACTIVATION: activation_checks(&r, c, &g); break;
        case NNK_KIND_LOSS: loss_checks(&r, c, &g); break;
        case NNK_KIND_METRIC: metric_checks(&r, c, &g); break;
        case NNK_KIND_OPTIMIZER: optimizer_checks(&r, c, &g); break;
        case NNK_KIND_CALLBACK: callback_checks(&r, c, &g); break;
        default: break;
        }
    }
    if (n == 0)
        row(&r, "(plugin)", "components", 0, "%s", "the plugin provides no components");
    fprintf(out, "check-plugin: %d passed, %d failed\n", r.checks - r.failures, r.failures);
    nnk_registry_free(reg);
    return r.failures;
}
