/* check-plugin's layer checks: each layer is the output of a small model
 * (its inputs -> the layer, mse), driven through the engine's internals. */
#include "checkplugin_report.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FD_TRIALS 6

/* ---- layers --------------------------------------------------------------- */

typedef struct layer_case {
    char keys[16][64], values[16][128];
    const char *kp[16], *vp[16];
    int n_params;
    int n_in;
    nnk_shape shape;
} layer_case;

/* A case: parameters (the first trial keeps the defaults and draws only
 * the required ones) and a sample of ndim axes: 1-D, 2-D, or an image
 * (rows, columns, channels) at odd and even sizes. */
static void make_case(nnk_rng *g, const nnk_component_info *c, int trial, int ndim, layer_case *lc)
{
    const nnk_layer_vtable *vt = c->vtable;
    memset(lc, 0, sizeof *lc);
    for (const nnk_param_spec *p = c->params; p && p->name && lc->n_params < 16; p++) {
        if (trial == 0 && p->default_value && p->type != NNK_PARAM_ACTIVATION)
            continue;
        snprintf(lc->keys[lc->n_params], 64, "%s", p->name);
        random_param(g, p, lc->values[lc->n_params], 128);
        lc->kp[lc->n_params] = lc->keys[lc->n_params];
        lc->vp[lc->n_params] = lc->values[lc->n_params];
        lc->n_params++;
    }
    lc->n_in = vt->min_inputs > 1 ? vt->min_inputs : 1;
    lc->shape.ndim = ndim;
    if (ndim == 1)
        lc->shape.dim[0] = 2 + (int64_t)(nnk__rng_next(g) % 5);
    else if (ndim == 2)
        lc->shape.dim[0] = 2 + (int64_t)(nnk__rng_next(g) % 2), lc->shape.dim[1] = 2 + (int64_t)(nnk__rng_next(g) % 5);
    else
        for (int k = 0; k < 3; k++)
            lc->shape.dim[k] = k < 2 ? 3 + (int64_t)(nnk__rng_next(g) % 5) : 1 + (int64_t)(nnk__rng_next(g) % 3);
}

static nnk_model *layer_model(nnk_registry *reg, const nnk_component_info *c, const layer_case *lc,
                              uint64_t seed, nnk_err *err);

#define CASE_ATTEMPTS 300

/* A case the layer builds on: drawn again (parameters and sample) until
 * one builds, trying 1-D samples first, then 2-D, then images, from
 * first_ndim on. 1, or 0 with the last build's error in err. */
static int buildable_case(nnk_registry *reg, const nnk_component_info *c, nnk_rng *g, int trial, int first_ndim,
                          layer_case *lc, nnk_err *err)
{
    for (int attempt = 0; attempt < CASE_ATTEMPTS; attempt++) {
        make_case(g, c, trial, 1 + (first_ndim - 1 + attempt) % 3, lc);
        nnk_model *m = layer_model(reg, c, lc, 1, err);
        if (m) {
            nnk_model_free(m);
            return 1;
        }
    }
    return 0;
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
    nnk__model_ensure_rows(m, rows, err);
    nnk__model_set_inputs(m, x, rows);
    nnk_output *o = &m->outs[0];
    nnk__model_split_labels(m, NULL, 0, rows, err);
    memcpy(o->y, y, sizeof(float) * (size_t)(rows * o->cols));
    double loss = NAN;
    if (nnk__model_forward(m, rows, 1, err) || nnk__model_loss(m, rows, &loss, NULL, grads, err))
        return NAN;
    return loss;
}


/* A gradient check's tally: values checked, how many disagreed, the first. */
typedef struct fd_tally {
    int checked, bad;
    char first_bad[256];
} fd_tally;

static void tally(fd_tally *t, double analytic, double fd, const char *what, long long j)
{
    t->checked++;
    if (!close_enough(analytic, fd) && !t->bad++)
        snprintf(t->first_bad, sizeof t->first_bad, "%s[%lld]: analytic %.6g, finite difference %.6g", what, j,
                 analytic, fd);
}

/* The central difference of the loss in *v (a weight or an input value). */
static double central_difference(nnk_model *m, const float *x, const float *y, int64_t rows, const nnk_rng *state,
                                 float *v, nnk_err *err)
{
    float keep = *v;
    *v = keep + (float)FD_H;
    double lp = train_loss(m, x, y, rows, state, 0, err);
    *v = keep - (float)FD_H;
    double lm = train_loss(m, x, y, rows, state, 0, err);
    *v = keep;
    return (lp - lm) / (2 * FD_H);
}

/* The layer's backward into input buffers, as dL/dx laid out like x
 * (rows x every input's columns); malloc'd. */
static float *input_gradients(nnk_model *m, int64_t rows, int64_t xc, nnk_err *err)
{
    nnk_node *n = &m->nodes[0];
    float *din_data = calloc((size_t)(rows * xc), sizeof(float)), *an = malloc(sizeof(float) * (size_t)(rows * xc));
    if (!din_data || !an) {
        free(din_data);
        free(an);
        return NULL;
    }
    nnk_tensor din_t[4];
    nnk_tensor *din[4];
    const nnk_tensor *in[4];
    for (int k = 0; k < n->n_in; k++) {
        din_t[k] = m->inputs[k].x;
        din_t[k].data = din_data + rows * m->inputs[k].offset;
        din[k] = &din_t[k];
        in[k] = &m->inputs[k].x;
    }
    n->vt->backward(&n->layer, n->n_in, in, &n->z, &n->dz, din, err);
    for (int k = 0; k < n->n_in; k++) /* din_data is laid out input by input */
        for (int64_t rr = 0; rr < rows; rr++)
            for (int64_t j = 0; j < m->inputs[k].cols; j++)
                an[rr * xc + m->inputs[k].offset + j] = din_data[rows * m->inputs[k].offset + rr * m->inputs[k].cols + j];
    free(din_data);
    return an;
}

/* One configuration: every trainable weight's and every input value's
 * analytic gradient against its finite difference. */
static void gradient_trial(nnk_model *m, nnk_rng *g, fd_tally *t)
{
    nnk_err err = {NNK_OK, ""};
    int64_t rows = 3, xc = nnk__model_input_cols(m), oc = m->outs[0].cols;
    float *x = malloc(sizeof(float) * (size_t)(rows * xc)), *y = malloc(sizeof(float) * (size_t)(rows * oc));
    random_values(g, x, rows * xc, 1.0);
    random_values(g, y, rows * oc, 1.0);
    nnk_node *n = &m->nodes[0];
    /* nudge every weight off its initial value: zero biases behind dead
     * units sit exactly on relu's kink, where no slope is right */
    for (int w = 0; w < n->layer.n_weights; w++) {
        nnk_weight *wt = &n->layer.weights[w];
        for (int64_t j = 0, cnt = nnk_tensor_elements(&wt->value); wt->trainable && j < cnt; j++)
            wt->value.data[j] += (float)uni(g, -0.05, 0.05);
    }
    nnk_rng state = n->rng;
    train_loss(m, x, y, rows, &state, 1, &err);
    /* the weights' analytic gradients (regularization included), kept
     * before the layer's backward runs again for the input gradients */
    float *an_w[NNK_MAX_WEIGHTS] = {0};
    for (int w = 0; w < n->layer.n_weights; w++) {
        nnk_weight *wt = &n->layer.weights[w];
        int64_t cnt = nnk_tensor_elements(&wt->value);
        if ((an_w[w] = malloc(sizeof(float) * (size_t)cnt)))
            memcpy(an_w[w], wt->grad.data, sizeof(float) * (size_t)cnt);
    }
    float *an = input_gradients(m, rows, xc, &err);
    for (int w = 0; w < n->layer.n_weights; w++) {
        nnk_weight *wt = &n->layer.weights[w];
        for (int64_t j = 0, cnt = nnk_tensor_elements(&wt->value); wt->trainable && an_w[w] && j < cnt; j++)
            tally(t, an_w[w][j], central_difference(m, x, y, rows, &state, &wt->value.data[j], &err), wt->name, j);
        free(an_w[w]);
    }
    for (int64_t j = 0; an && j < rows * xc; j++) /* the loss recomputed from changed inputs */
        tally(t, an[j], central_difference(m, x, y, rows, &state, &x[j], &err), "input", j);
    free(an), free(x), free(y);
}

/* Finite differences for every weight and every input value; a few
 * elements may sit on a kink (relu, max), so up to 2% may disagree. */
static void layer_gradients(report *r, nnk_registry *reg, const nnk_component_info *c, nnk_rng *g)
{
    fd_tally t = {0, 0, ""};
    int built = 0;
    for (int trial = 0; trial < FD_TRIALS; trial++) {
        layer_case lc;
        nnk_err err = {NNK_OK, ""};
        if (!buildable_case(reg, c, g, trial, 1 + trial % 3, &lc, &err))
            continue;
        nnk_model *m = layer_model(reg, c, &lc, 7 + (uint64_t)trial, &err);
        if (!m)
            continue;
        built++;
        gradient_trial(m, g, &t);
        nnk_model_free(m);
    }
    if (!built)
        row(r, c->name, "gradients", 0, "no configuration built in %d draws of 1-D, 2-D and image samples",
            CASE_ATTEMPTS);
    else if (t.bad <= t.checked / 50)
        row(r, c->name, "gradients", 1, "%d values over %d configurations", t.checked, built);
    else
        row(r, c->name, "gradients", 0, "%d of %d values wrong; first %s", t.bad, t.checked, t.first_bad);
}

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
    nnk_err err = {NNK_OK, ""};
    nnk_model *m = buildable_case(reg, c, g, 0, 1, &lc, &err) ? layer_model(reg, c, &lc, 11, &err) : NULL;
    if (!m) {
        row(r, c->name, "fused sgd", 0, "does not build with its defaults: %s", err.msg);
        return;
    }
    const float lr = 0.05f;
    int64_t rows = 3, xc = nnk__model_input_cols(m), oc = m->outs[0].cols;
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

/* Shapes: build is repeatable, and at inference each row's output does
 * not depend on the other rows of the batch. */
static void layer_shapes(report *r, nnk_registry *reg, const nnk_component_info *c, nnk_rng *g)
{
    layer_case lc;
    nnk_err err = {NNK_OK, ""};
    buildable_case(reg, c, g, 1, 1, &lc, &err);
    nnk_model *a = layer_model(reg, c, &lc, 3, &err), *b = layer_model(reg, c, &lc, 3, &err);
    if (!a || !b) {
        row(r, c->name, "shape inference", 0, "build failed: %s", err.msg);
        nnk_model_free(a), nnk_model_free(b);
        return;
    }
    int ok = a->nodes[0].out_shape.ndim == b->nodes[0].out_shape.ndim && a->outs[0].cols == b->outs[0].cols;
    int64_t xc = nnk__model_input_cols(a), oc = a->outs[0].cols, rows = 5;
    float *x = malloc(sizeof(float) * (size_t)(rows * xc)), *full = malloc(sizeof(float) * (size_t)(rows * oc));
    random_values(g, x, rows * xc, 1.0);
    nnk__model_ensure_rows(a, rows, &err);
    nnk__model_set_inputs(a, x, rows);
    ok = ok && !nnk__model_forward(a, rows, 0, &err);
    if (ok)
        memcpy(full, a->nodes[0].a.data, sizeof(float) * (size_t)(rows * oc));
    for (int64_t i = 0; ok && i < rows; i++) {
        nnk__model_ensure_rows(a, 1, &err);
        nnk__model_set_inputs(a, x + i * xc, 1);
        ok = !nnk__model_forward(a, 1, 0, &err);
        /* BLAS may round differently for another batch size: compare closely, not bitwise */
        for (int64_t j = 0; ok && j < oc; j++)
            ok = fabs(full[i * oc + j] - a->nodes[0].a.data[j]) <= 1e-5 * (1 + fabs(full[i * oc + j]));
    }
    char shape[96];
    nnk__shape_text(&a->nodes[0].out_shape, shape, sizeof shape);
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
    nnk_err err = {NNK_OK, ""};
    buildable_case(reg, c, g, 2, 3, &lc, &err);
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
    int64_t rows = 4, xc = nnk__model_input_cols(a), oc = a->outs[0].cols;
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
        nnk__model_ensure_rows(a, rows, &err);
        nnk__model_ensure_rows(l, rows, &err);
        nnk__model_set_inputs(a, x, rows);
        nnk__model_set_inputs(l, x, rows);
        ok = ok && !nnk__model_forward(a, rows, 0, &err) && !nnk__model_forward(l, rows, 0, &err) &&
             !memcmp(a->nodes[0].a.data, l->nodes[0].a.data, sizeof(float) * (size_t)(rows * oc));
        free(wl), free(wa2);
        if (!ok)
            snprintf(err.msg, sizeof err.msg, "the loaded layer differs in weights, parameters or outputs");
    }
    row(r, c->name, "save/load", ok, "%s", ok ? "weights, parameters and outputs survive" : err.msg);
    free(wa), free(wb), free(x), free(y);
    nnk_model_free(a), nnk_model_free(b), nnk_model_free(l);
}


void layer_checks(report *r, nnk_registry *reg, const nnk_component_info *c, nnk_rng *g)
{
    layer_gradients(r, reg, c, g);
    layer_fused_sgd(r, reg, c, g);
    layer_shapes(r, reg, c, g);
    layer_persistence(r, reg, c, g);
}
