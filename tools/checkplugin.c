/* nnkit check-plugin: validates a plugin's descriptor and puts each of its
 * components through gradient, shape, save/load and determinism checks.
 * Every check is one row of the report; any failure fails the plugin. */
#include "checkplugin_report.h"
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


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
        if (ok && (unsigned)p[i].type > NNK_PARAM_INTS) {
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

/* nnkit.metric.values/1 with the defaults: a count in range, suffixes the
 * core accepts (1 to 24 of A-Z a-z 0-9 . -, all different), the same
 * values from one batch (s1) or two (s2), and result's value when there is
 * one. */
static void metric_values_check(report *r, const char *name, const nnk_metric_values *v, const void *cfg,
                                const void *s1, const void *s2, double result)
{
    if (!NNK_HAS(v, results) || !v->count || !v->suffix || !v->results) {
        row(r, name, "values", 0, "nnkit.metric.values/1 lacks count, suffix or results");
        return;
    }
    int n = v->count(cfg);
    if (n < 1 || n > NNK_MAX_METRIC_VALUES) {
        row(r, name, "values", 0, "count gives %d (1 to %d allowed)", n, NNK_MAX_METRIC_VALUES);
        return;
    }
    char(*suffix)[32] = calloc((size_t)n, sizeof *suffix);
    double *a = calloc((size_t)n, sizeof *a), *b = calloc((size_t)n, sizeof *b);
    char why[160] = "";
    int bad, twin, fault = suffix ? nnk__metric_suffix_fault(v, cfg, n, suffix, &bad, &twin) : 0;
    if (fault == 1)
        snprintf(why, sizeof why, "value %d's suffix '%.24s' is not 1 to 24 of A-Z a-z 0-9 . -", bad, suffix[bad]);
    else if (fault == 2)
        snprintf(why, sizeof why, "values %d and %d are both '%s'", twin, bad, suffix[bad]);
    if (a && b && !why[0]) {
        v->results(cfg, s1, a);
        v->results(cfg, s2, b);
        for (int i = 0; i < n && !why[0]; i++)
            if (!isfinite(a[i]) || fabs(a[i] - b[i]) > 1e-9 * fmax(1, fabs(a[i])))
                snprintf(why, sizeof why, "value %d: one batch gives %.6g, two give %.6g", i, a[i], b[i]);
        if (n == 1 && !why[0] && a[0] != result)
            snprintf(why, sizeof why, "its one value %.6g is not result's %.6g", a[0], result);
    }
    if (!suffix || !a || !b)
        snprintf(why, sizeof why, "out of memory");
    if (why[0])
        row(r, name, "values", 0, "%s", why);
    else
        row(r, name, "values", 1, "%d with the defaults, streamed alike", n);
    free(suffix), free(a), free(b);
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
        y[i] = (float)(nnk__rng_next(g) % 2);
    for (int rr = 0; rr < ROWS; rr++) /* also valid as class indices */
        y[rr] = (float)(rr % COLS);
    int sparse = strstr(c->name, "sparse") != NULL;
    size_t size = mv->state_size;
    const nnk_metric_bind *bind = NNK_CAPABILITY(mv, NNK_CAP_METRIC_BIND);
    nnk_err err = {0, ""};
    if (bind && NNK_HAS(bind, bind) && bind->bind && bind->bind((void *)cfg, COLS, sparse ? 1 : COLS, &size, &err)) {
        row(r, c->name, "streaming", 0, "its defaults do not bind to %d columns: %s", COLS, err.msg);
        nnk_params_free(p);
        return;
    }
    void *s1 = calloc(1, size + 1), *s2 = calloc(1, size + 1);
    mv->update(cfg, s1, pred, y, ROWS, COLS);
    mv->update(cfg, s2, pred, y, 2, COLS);
    mv->update(cfg, s2, pred + 2 * COLS, y + 2 * (sparse ? 1 : COLS), ROWS - 2, COLS);
    double a = mv->result(cfg, s1), b = mv->result(cfg, s2);
    int ok = isfinite(a) && fabs(a - b) <= 1e-9 * fmax(1, fabs(a));
    row(r, c->name, "streaming", ok, ok ? "one batch or two give %.6g" : "one batch gives %.6g, two give %.6g", a, b);
    const nnk_metric_values *values = NNK_CAPABILITY(mv, NNK_CAP_METRIC_VALUES);
    if (values)
        metric_values_check(r, c->name, values, cfg, s1, s2, a);
    const nnk_metric_direction *dir = NNK_CAPABILITY(mv, NNK_CAP_METRIC_DIRECTION);
    if (dir) {
        int known = NNK_HAS(dir, higher_is_better) && (dir->higher_is_better == 0 || dir->higher_is_better == 1);
        row(r, c->name, "direction", known, known ? "better %s" : "higher_is_better is neither 0 nor 1",
            known && dir->higher_is_better ? "higher" : "lower");
    }
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
    nnk__rng_seed(&g, 20261127, 99);
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
        case NNK_KIND_LAYER: layer_checks(&r, reg, c, &g); break;
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


