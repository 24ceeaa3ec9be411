/* compile: the optimizer, and for each output its loss, weight and
 * metrics (Keras's model.compile). Outputs and "accuracy" are resolved at
 * build time, once shapes are known. */
#include "internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void nnk_compile_options_init(nnk_compile_options *o)
{
    memset(o, 0, sizeof *o);
    o->optimizer = "sgd";
    o->learning_rate = 0; /* the optimizer's own default */
}

double nnk_optimizer_default_learning_rate(const nnk_optimizer_vtable *vt)
{
    if (NNK_HAS(vt, default_learning_rate) &&
        vt->default_learning_rate > 0)
        return vt->default_learning_rate;
    return 0.01;
}

void nnk__output_free(nnk_output *o)
{
    for (int i = 0; i < o->n_metrics; i++) {
        free(o->metrics[i].name);
        free(o->metrics[i].state);
        nnk_params_free(o->metrics[i].params);
    }
    nnk_params_free(o->loss_params);
    free(o->name);
    free(o->y);
    free(o->grad);
    memset(o, 0, sizeof *o);
}

/* A metric instance; "accuracy" starts as binary_accuracy and is settled
 * at build time (nnk__model_resolve_accuracy). */
static int add_metric(nnk_model *m, nnk_output *o, const char *name, nnk_err *err)
{
    const char *comp_name = name;
    if (!strcmp(name, "accuracy") || !strcmp(name, "acc")) {
        comp_name = o->loss->accuracy_metric ? o->loss->accuracy_metric : "binary_accuracy";
        name = "accuracy";
    }
    const nnk_component_info *c = nnk_registry_find(m->reg, NNK_KIND_METRIC, comp_name);
    if (!c)
        return nnk__unknown_component(m->reg, NNK_KIND_METRIC, comp_name, "compile", err);
    if (o->n_metrics >= NNK_MAX_METRICS)
        return nnk_err_set(err, NNK_ECONFIG, "compile: too many metrics (at most %d)", NNK_MAX_METRICS);
    nnk_metric_inst *mi = &o->metrics[o->n_metrics];
    memset(mi, 0, sizeof *mi);
    mi->comp = c;
    mi->vt = c->vtable;
    char owner[128];
    snprintf(owner, sizeof owner, "metric '%s'", name);
    mi->params = nnk_params_new(mi->vt->params, mi->vt->config_size, owner, err);
    mi->name = strdup(name);
    mi->state_size = mi->vt->state_size;
    mi->n_values = 1;
    mi->state = calloc(1, mi->state_size ? mi->state_size : 1);
    if (!mi->params || !mi->name || !mi->state) {
        nnk_params_free(mi->params);
        free(mi->name);
        free(mi->state);
        return err && err->status ? err->status : NNK_ENOMEM;
    }
    o->n_metrics++;
    return NNK_OK;
}

/* Keras's rule for "accuracy" when the loss does not say: one output
 * unit means binary accuracy, several mean categorical. */
int nnk__model_resolve_accuracy(nnk_model *m, nnk_output *o, nnk_err *err)
{
    if (o->loss->accuracy_metric)
        return NNK_OK;
    for (int i = 0; i < o->n_metrics; i++) {
        nnk_metric_inst *mi = &o->metrics[i];
        if (strcmp(mi->name, "accuracy"))
            continue;
        const char *want = o->cols == 1 ? "binary_accuracy" : "categorical_accuracy";
        const nnk_component_info *c = nnk_registry_find(m->reg, NNK_KIND_METRIC, want);
        if (!c)
            return nnk__unknown_component(m->reg, NNK_KIND_METRIC, want, "compile", err);
        /* an activation with its own class threshold (sign and tanh: 0, for -1/+1 labels) */
        const nnk_node *n = &m->nodes[o->node];
        const nnk_activation_threshold *t = o->cols == 1 && n->act ? NNK_CAPABILITY(n->act, NNK_CAP_CLASS_THRESHOLD) : NULL;
        char threshold[32];
        if (t)
            snprintf(threshold, sizeof threshold, "%.17g", t->threshold);
        o->signed_accuracy = t && t->threshold == 0;
        if (c == mi->comp) {
            if (t && nnk_params_set(mi->params, "threshold", threshold, NULL, err))
                return err ? err->status : NNK_ECONFIG;
            continue;
        }
        const nnk_metric_vtable *vt = c->vtable;
        nnk_params *np = nnk_params_new(vt->params, vt->config_size, "metric 'accuracy'", err);
        void *st = calloc(1, vt->state_size + 1);
        if (!np || !st) {
            nnk_params_free(np);
            free(st);
            return NNK_ENOMEM;
        }
        nnk_params_free(mi->params);
        free(mi->state);
        mi->params = np;
        mi->state = st;
        mi->state_size = vt->state_size;
        mi->comp = c;
        mi->vt = vt;
        if (t && !strcmp(want, "binary_accuracy") && nnk_params_set(np, "threshold", threshold, NULL, err))
            return err ? err->status : NNK_ECONFIG;
    }
    return NNK_OK;
}

/* How many logs metric mi gives (nnkit.metric.values/1), its suffixes
 * checked: legal and all different. */
static int count_metric_values(nnk_metric_inst *mi, nnk_err *err)
{
    const nnk_metric_values *v = NNK_CAPABILITY(mi->vt, NNK_CAP_METRIC_VALUES);
    mi->values = NULL;
    mi->n_values = 1;
    if (!v || !NNK_HAS(v, results) || !v->count || !v->suffix || !v->results)
        return NNK_OK;
    const void *cfg = nnk_params_config(mi->params);
    int count = v->count(cfg);
    if (count < 1 || count > NNK_MAX_METRIC_VALUES)
        return nnk_err_set(err, NNK_ECONFIG, "compile: metric '%s' gives %d values (1 to %d allowed)", mi->name, count,
                           NNK_MAX_METRIC_VALUES);
    if (count == 1)
        return NNK_OK;
    char(*names)[32] = calloc((size_t)count, sizeof *names);
    if (!names)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    int bad, twin, rc = NNK_OK;
    int fault = nnk__metric_suffix_fault(v, cfg, count, names, &bad, &twin);
    if (fault == 1)
        rc = nnk_err_set(err, NNK_ECONFIG,
                         "compile: metric '%s' names its value %d '%.24s': a suffix is 1 to 24 of A-Z a-z 0-9 . -",
                         mi->name, bad, names[bad]);
    else if (fault == 2)
        rc = nnk_err_set(err, NNK_ECONFIG, "compile: metric '%s' names its values %d and %d both '%s'", mi->name, twin,
                         bad, names[bad]);
    free(names);
    if (!rc) {
        mi->values = v;
        mi->n_values = count;
    }
    return rc;
}

/* Metrics that size their state by the output's shape (nnkit.metric.bind/1)
 * get it now, with a fresh state of their size; then each says how many
 * values it logs (nnkit.metric.values/1). */
int nnk__model_bind_metrics(nnk_output *o, nnk_err *err)
{
    for (int i = 0; i < o->n_metrics; i++) {
        nnk_metric_inst *mi = &o->metrics[i];
        const nnk_metric_bind *b = NNK_CAPABILITY(mi->vt, NNK_CAP_METRIC_BIND);
        if (b && NNK_HAS(b, bind) && b->bind) {
            size_t size = 0;
            nnk_err inner = {0, ""};
            if (b->bind((void *)nnk_params_config(mi->params), o->cols, o->label_cols, &size, &inner))
                return nnk_err_set(err, NNK_ECONFIG, "compile: metric '%s': %s", mi->name,
                                   inner.status ? inner.msg : "its bind failed");
            void *st = calloc(1, size ? size : 1);
            if (!st)
                return nnk_err_set(err, NNK_ENOMEM, "out of memory");
            free(mi->state);
            mi->state = st;
            mi->state_size = size;
        }
        int rc = count_metric_values(mi, err);
        if (rc)
            return rc;
    }
    return NNK_OK;
}

static int setup_output(nnk_model *m, nnk_output *o, const char *name, const char *loss,
                        double weight, const char *metrics, nnk_err *err)
{
    const nnk_component_info *lc = nnk_registry_find(m->reg, NNK_KIND_LOSS, loss);
    if (!lc)
        return nnk__unknown_component(m->reg, NNK_KIND_LOSS, loss, "compile", err);
    if (!(weight >= 0) || !isfinite(weight))
        return nnk_err_set(err, NNK_ECONFIG, "compile: loss weight %g for output '%s' must be >= 0",
                           weight, name ? name : "");
    o->name = name ? strdup(name) : NULL;
    o->node = -1;
    o->loss_comp = lc;
    o->loss = lc->vtable;
    o->weight = weight;
    char owner[128];
    snprintf(owner, sizeof owner, "loss '%s'", loss);
    o->loss_params = nnk_params_new(o->loss->params, o->loss->config_size, owner, err);
    if (!o->loss_params)
        return NNK_ECONFIG;
    int rc = NNK_OK;
    if (metrics) {
        char *copy = strdup(metrics), *save = NULL;
        for (char *t = strtok_r(copy, ", ", &save); t && !rc; t = strtok_r(NULL, ", ", &save))
            rc = add_metric(m, o, t, err);
        free(copy);
    }
    return rc;
}

/* METRIC.key: the parameter of every compiled metric of that name. */
static int apply_metric_param(nnk_model *m, const char *key, const char *dot, const char *value, const char *where,
                              nnk_err *err)
{
    int found = 0;
    for (int k = 0; k < m->n_outputs; k++)
        for (int i = 0; i < m->outs[k].n_metrics; i++) {
            nnk_metric_inst *mi = &m->outs[k].metrics[i];
            if (strlen(mi->name) != (size_t)(dot - key) || strncmp(mi->name, key, (size_t)(dot - key)))
                continue;
            found = 1;
            int rc = nnk_params_set(mi->params, dot + 1, value, where, err);
            if (rc)
                return rc;
        }
    return found ? NNK_OK
                 : nnk_err_set(err, NNK_ECONFIG, "%s%scompile: '%s' names no compiled metric ('%.*s')", where ? where : "",
                               where ? ": " : "", key, (int)(dot - key), key);
}

/* A key goes to the optimizer when it has it, else to every loss that has
 * it (METRIC.key to that metric); a key nobody has is an error with a
 * did-you-mean. */
static int apply_param(nnk_model *m, const char *key, const char *value, const char *where,
                       nnk_err *err)
{
    const char *dot = strchr(key, '.');
    if (dot)
        return apply_metric_param(m, key, dot, value, where, err);
    if (nnk_params_has(m->opt_params, key))
        return nnk_params_set(m->opt_params, key, value, where, err);
    int found = 0;
    for (int k = 0; k < m->n_outputs; k++) {
        if (!nnk_params_has(m->outs[k].loss_params, key))
            continue;
        found = 1;
        int rc = nnk_params_set(m->outs[k].loss_params, key, value, where, err);
        if (rc)
            return rc;
    }
    if (found)
        return NNK_OK;
    const char *cands[96];
    int n = 0;
    for (int k = 0; k < nnk_params_count(m->opt_params) && n < 90; k++)
        cands[n++] = nnk_params_spec(m->opt_params, k)->name;
    for (int o = 0; o < m->n_outputs; o++)
        for (int k = 0; k < nnk_params_count(m->outs[o].loss_params) && n < 96; k++)
            cands[n++] = nnk_params_spec(m->outs[o].loss_params, k)->name;
    const char *hint = nnk_suggest(key, cands, n);
    char hint_text[128] = "", losses[256] = "";
    if (hint)
        snprintf(hint_text, sizeof hint_text, " (did you mean '%s'?)", hint);
    for (int o = 0; o < m->n_outputs; o++)
        if (!strstr(losses, m->outs[o].loss->name))
            snprintf(losses + strlen(losses), sizeof losses - strlen(losses), "%s'%s'",
                     o ? ", " : "", m->outs[o].loss->name);
    return nnk_err_set(err, NNK_ECONFIG, "%s%sunknown key '%s' for optimizer '%s' or loss %s%s",
                       where ? where : "", where ? ": " : "", key, m->opt->name, losses, hint_text);
}

int nnk_model_compile_with(nnk_model *m, const nnk_compile_options *o, nnk_err *err)
{
    if (m->compiled)
        return nnk_err_set(err, NNK_ECONFIG, "compile: the model is already compiled");
    const char *opt = o->optimizer ? o->optimizer : "sgd";
    const nnk_component_info *oc = nnk_registry_find(m->reg, NNK_KIND_OPTIMIZER, opt);
    if (!oc)
        return nnk__unknown_component(m->reg, NNK_KIND_OPTIMIZER, opt, "compile", err);
    const nnk_optimizer_vtable *ovt = oc->vtable;
    double lr = o->learning_rate != 0 ? o->learning_rate : nnk_optimizer_default_learning_rate(ovt);
    if (!(lr > 0) || !isfinite(lr))
        return nnk_err_set(err, NNK_ECONFIG, "compile: learning_rate must be a number > 0, got %g", lr);
    int n_out = o->n_outputs > 0 ? o->n_outputs : 1;
    if (n_out > NNK_MAX_OUTPUTS)
        return nnk_err_set(err, NNK_ECONFIG, "compile: at most %d outputs", NNK_MAX_OUTPUTS);
    if (o->n_losses != 1 && o->n_losses != n_out)
        return nnk_err_set(err, NNK_ECONFIG,
                           "compile: %d losses for %d outputs (give one for all, or one per output)",
                           o->n_losses, n_out);
    if (o->clipnorm < 0 || o->clipvalue < 0 || o->global_clipnorm < 0 || !isfinite(o->clipnorm) ||
        !isfinite(o->clipvalue) || !isfinite(o->global_clipnorm))
        return nnk_err_set(err, NNK_ECONFIG, "compile: clipnorm, clipvalue and global_clipnorm must be numbers >= 0");
    m->opt_comp = oc;
    m->opt = oc->vtable;
    const nnk_optimizer_fused_sgd *fused = NNK_CAPABILITY(m->opt, NNK_CAP_FUSED_SGD);
    m->opt_fused = fused && NNK_HAS(fused, plain) && fused->plain ? fused : NULL;
    m->learning_rate = lr;
    m->clipnorm = o->clipnorm;
    m->clipvalue = o->clipvalue;
    m->global_clipnorm = o->global_clipnorm;
    char owner[128];
    snprintf(owner, sizeof owner, "optimizer '%s'", opt);
    if (!(m->opt_params = nnk_params_new(m->opt->params, m->opt->config_size, owner, err)))
        return NNK_ECONFIG;
    for (int k = 0; k < n_out; k++) {
        m->n_outputs = k + 1;
        int rc = setup_output(m, &m->outs[k], o->n_outputs ? o->outputs[k] : NULL,
                              o->losses[o->n_losses == 1 ? 0 : k],
                              o->loss_weights ? o->loss_weights[k] : 1.0, o->metrics, err);
        if (rc)
            return rc;
    }
    for (int i = 0; i < o->n_params; i++) {
        int rc = apply_param(m, o->keys[i], o->values[i], o->where ? o->where[i] : NULL, err);
        if (rc)
            return rc;
    }
    m->compiled = 1;
    return NNK_OK;
}

int nnk_model_compile(nnk_model *m, const char *loss, const char *metrics,
                      const char *optimizer, double learning_rate,
                      const char *const *keys, const char *const *values,
                      const char *const *where, int n_params, nnk_err *err)
{
    nnk_compile_options o;
    nnk_compile_options_init(&o);
    o.optimizer = optimizer;
    o.learning_rate = learning_rate;
    o.losses = &loss;
    o.n_losses = 1;
    o.metrics = metrics;
    o.keys = keys;
    o.values = values;
    o.where = where;
    o.n_params = n_params;
    return nnk_model_compile_with(m, &o, err);
}
