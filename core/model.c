/* Model construction: inputs, layers, compile, shape inference, weight
 * initialisation, summary. */
#include "internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

nnk_model *nnk_model_new(nnk_registry *reg)
{
    nnk_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->reg = reg;
    m->output = -1;
    m->scale = 1.0;
    m->learning_rate = 0.01;
    return m;
}

static void node_free(nnk_node *n)
{
    if (n->vt && n->vt->destroy && n->layer.struct_size)
        n->vt->destroy(&n->layer);
    for (int i = 0; i < n->layer.n_weights; i++) {
        free((char *)n->layer.weights[i].name);
        free(n->layer.weights[i].value.data);
        free(n->layer.weights[i].grad.data);
        free(n->initializers[i]);
    }
    for (int i = 0; i < n->n_in; i++)
        free(n->in_names[i]);
    if (n->a.data != n->z.data)
        free(n->a.data);
    free(n->z.data);
    if (n->da.data != n->dz.data)
        free(n->da.data);
    free(n->dz.data);
    for (int i = 0; i < NNK_SCRATCH_SLOTS; i++)
        free(n->scratch[i]);
    for (int i = 0; i < NNK_MAX_INPUTS; i++)
        free(n->tmp_grad[i]);
    nnk_params_free(n->params);
    nnk_params_free(n->act_params);
    free(n->name);
}

void nnk_model_free(nnk_model *m)
{
    if (!m)
        return;
    if (m->slots) {
        int nw = nnk_model_weight_count(m);
        int ns = m->opt ? m->opt->n_slots : 0;
        for (int i = 0; i < nw * ns; i++)
            free(m->slots[i]);
        free(m->slots);
    }
    for (int i = 0; i < m->n_nodes; i++)
        node_free(&m->nodes[i]);
    free(m->nodes);
    for (int i = 0; i < m->n_inputs; i++) {
        free(m->inputs[i].name);
        free(m->inputs[i].x.data);
    }
    for (int i = 0; i < m->n_metrics; i++) {
        free(m->metrics[i].name);
        free(m->metrics[i].state);
        nnk_params_free(m->metrics[i].params);
    }
    nnk_params_free(m->loss_params);
    nnk_params_free(m->opt_params);
    free(m->label_columns);
    free(m->feature_columns);
    free(m->mean);
    free(m->std);
    free(m->inv_std);
    free(m->grad_out);
    free(m);
}

static int64_t shape_size(const nnk_shape *s)
{
    int64_t n = 1;
    for (int d = 0; d < s->ndim; d++)
        n *= s->dim[d];
    return n;
}

static int name_taken(const nnk_model *m, const char *name)
{
    for (int i = 0; i < m->n_inputs; i++)
        if (!strcmp(m->inputs[i].name, name))
            return 1;
    for (int i = 0; i < m->n_nodes; i++)
        if (!strcmp(m->nodes[i].name, name))
            return 1;
    return 0;
}

int nnk_model_add_input(nnk_model *m, const char *name, const nnk_shape *shape,
                        nnk_err *err)
{
    if (m->n_inputs >= NNK_MAX_INPUTS)
        return nnk_err_set(err, NNK_ECONFIG, "too many inputs (at most %d)",
                           NNK_MAX_INPUTS);
    if (name_taken(m, name))
        return nnk_err_set(err, NNK_ECONFIG, "input '%s': name already used",
                           name);
    if (shape->ndim < 1 || shape->ndim > NNK_MAX_DIMS || shape_size(shape) < 1)
        return nnk_err_set(err, NNK_ECONFIG, "input '%s': bad shape", name);
    nnk_input_node *in = &m->inputs[m->n_inputs];
    memset(in, 0, sizeof *in);
    in->name = strdup(name);
    in->shape = *shape;
    in->cols = shape_size(shape);
    if (!in->name)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    m->n_inputs++;
    return NNK_OK;
}

static int unknown_component(const nnk_model *m, nnk_kind kind,
                             const char *name, const char *owner,
                             nnk_err *err)
{
    char list[1024];
    nnk_registry_names(m->reg, kind, list, sizeof list);
    const char *cands[256];
    int n = 0;
    for (int i = 0; i < nnk_registry_count(m->reg) && n < 256; i++) {
        const nnk_component_info *c = nnk_registry_at(m->reg, i);
        if (c->kind == kind)
            cands[n++] = c->name;
    }
    const char *hint = nnk_suggest(name, cands, n);
    char hint_text[128] = "";
    if (hint)
        snprintf(hint_text, sizeof hint_text, " (did you mean '%s'?)", hint);
    return nnk_err_set(err, NNK_ECONFIG, "%s: unknown %s '%s'%s; available: %s",
                       owner, nnk_kind_name(kind), name, hint_text,
                       list[0] ? list : "none (no plugins loaded)");
}

static int resolve_activation(nnk_model *m, nnk_node *node, nnk_err *err)
{
    const nnk_params *p = node->params;
    for (int i = 0; i < nnk_params_count(p); i++) {
        const nnk_param_spec *s = nnk_params_spec(p, i);
        if (s->type != NNK_PARAM_ACTIVATION)
            continue;
        const char *name =
            *(const char *const *)((const char *)nnk_params_config(p) + s->offset);
        char owner[200];
        snprintf(owner, sizeof owner, "layer '%s'", node->name);
        const nnk_component_info *c =
            nnk_registry_find(m->reg, NNK_KIND_ACTIVATION, name);
        if (!c)
            return unknown_component(m, NNK_KIND_ACTIVATION, name, owner, err);
        node->act_comp = c;
        node->act = c->vtable;
        snprintf(owner, sizeof owner, "activation '%s' of layer '%s'", name,
                 node->name);
        node->act_params = nnk_params_new(node->act->params,
                                          node->act->config_size, owner, err);
        return node->act_params ? NNK_OK : NNK_ECONFIG;
    }
    return NNK_OK;
}

static int find_source(const nnk_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (!strcmp(m->nodes[i].name, name))
            return i;
    for (int i = 0; i < m->n_inputs; i++)
        if (!strcmp(m->inputs[i].name, name))
            return -1 - i;
    return INT32_MIN;
}

int nnk_model_add_layer(nnk_model *m, const char *name, const char *type,
                        const char *const *inputs, int n_inputs,
                        const char *const *keys, const char *const *values,
                        const char *const *where, int n_params, nnk_err *err)
{
    char owner[200];
    snprintf(owner, sizeof owner, "layer '%s'", name);
    if (m->built)
        return nnk_err_set(err, NNK_ECONFIG, "%s: the model is already built",
                           owner);
    if (name_taken(m, name))
        return nnk_err_set(err, NNK_ECONFIG, "%s: name already used", owner);
    const nnk_component_info *c = nnk_registry_find(m->reg, NNK_KIND_LAYER, type);
    if (!c)
        return unknown_component(m, NNK_KIND_LAYER, type, owner, err);
    if (n_inputs > NNK_MAX_INPUTS)
        return nnk_err_set(err, NNK_ECONFIG, "%s: too many inputs", owner);
    if (m->n_nodes == m->cap_nodes) {
        int cap = m->cap_nodes ? m->cap_nodes * 2 : 16;
        nnk_node *nn = realloc(m->nodes, (size_t)cap * sizeof *nn);
        if (!nn)
            return nnk_err_set(err, NNK_ENOMEM, "out of memory");
        m->nodes = nn;
        m->cap_nodes = cap;
    }
    nnk_node *node = &m->nodes[m->n_nodes];
    memset(node, 0, sizeof *node);
    node->name = strdup(name);
    node->comp = c;
    node->vt = c->vtable;
    m->n_nodes++; /* from here on node_free cleans up on error */
    if (!node->name)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (n_inputs == 0) {
        if (m->n_nodes > 1) {
            node->in[0] = m->n_nodes - 2;
        } else if (m->n_inputs > 0) {
            node->in[0] = -1;
        } else {
            m->n_nodes--;
            node_free(node);
            return nnk_err_set(err, NNK_ECONFIG, "%s: the model has no input",
                               owner);
        }
        node->n_in = 1;
    } else {
        for (int i = 0; i < n_inputs; i++) {
            int src = find_source(m, inputs[i]);
            if (src == INT32_MIN || src == m->n_nodes - 1) {
                m->n_nodes--;
                node_free(node);
                return nnk_err_set(err, NNK_ECONFIG,
                                   "%s: unknown input '%s' (inputs must be declared before the layers that use them)",
                                   owner, inputs[i]);
            }
            node->in[i] = src;
            node->n_in++;
        }
    }
    for (int i = 0; i < node->n_in; i++) {
        int s = node->in[i];
        node->in_names[i] = strdup(s >= 0 ? m->nodes[s].name
                                          : m->inputs[-1 - s].name);
    }
    node->params = nnk_params_new(node->vt->params, node->vt->config_size,
                                  owner, err);
    int rc = node->params ? NNK_OK : NNK_ECONFIG;
    for (int i = 0; !rc && i < n_params; i++)
        rc = nnk_params_set(node->params, keys[i], values[i],
                            where ? where[i] : NULL, err);
    if (!rc)
        rc = nnk_params_check_required(node->params, err);
    if (!rc)
        rc = resolve_activation(m, node, err);
    if (rc) {
        m->n_nodes--;
        node_free(node);
        return rc;
    }
    return NNK_OK;
}

static int compile_metric(nnk_model *m, const char *name, nnk_err *err)
{
    const char *comp_name = name;
    if (!strcmp(name, "accuracy") || !strcmp(name, "acc")) {
        /* Keras's rule: the loss decides; otherwise the output width does,
         * once shapes are known (resolve_accuracy at build time) */
        comp_name = m->loss->accuracy_metric ? m->loss->accuracy_metric
                                             : "binary_accuracy";
        name = "accuracy";
    }
    const nnk_component_info *c =
        nnk_registry_find(m->reg, NNK_KIND_METRIC, comp_name);
    if (!c)
        return unknown_component(m, NNK_KIND_METRIC, comp_name, "compile", err);
    if (m->n_metrics >= 16)
        return nnk_err_set(err, NNK_ECONFIG, "compile: too many metrics");
    nnk_metric_inst *mi = &m->metrics[m->n_metrics];
    memset(mi, 0, sizeof *mi);
    mi->comp = c;
    mi->vt = c->vtable;
    char owner[128];
    snprintf(owner, sizeof owner, "metric '%s'", name);
    mi->params = nnk_params_new(mi->vt->params, mi->vt->config_size, owner, err);
    mi->name = strdup(name);
    mi->state = calloc(1, mi->vt->state_size ? mi->vt->state_size : 1);
    if (!mi->params || !mi->name || !mi->state) {
        nnk_params_free(mi->params);
        free(mi->name);
        free(mi->state);
        return err && err->status ? err->status : NNK_ENOMEM;
    }
    m->n_metrics++;
    return NNK_OK;
}

int nnk_model_compile(nnk_model *m, const char *loss, const char *metrics,
                      const char *optimizer, double learning_rate,
                      const char *const *keys, const char *const *values,
                      const char *const *where, int n_params, nnk_err *err)
{
    if (m->compiled)
        return nnk_err_set(err, NNK_ECONFIG, "compile: the model is already compiled");
    const nnk_component_info *lc = nnk_registry_find(m->reg, NNK_KIND_LOSS, loss);
    if (!lc)
        return unknown_component(m, NNK_KIND_LOSS, loss, "compile", err);
    const nnk_component_info *oc =
        nnk_registry_find(m->reg, NNK_KIND_OPTIMIZER, optimizer);
    if (!oc)
        return unknown_component(m, NNK_KIND_OPTIMIZER, optimizer, "compile", err);
    if (!(learning_rate > 0) || !isfinite(learning_rate))
        return nnk_err_set(err, NNK_ECONFIG,
                           "compile: learning_rate must be a number > 0, got %g",
                           learning_rate);
    m->loss_comp = lc;
    m->loss = lc->vtable;
    m->opt_comp = oc;
    m->opt = oc->vtable;
    m->learning_rate = learning_rate;
    char owner[128];
    snprintf(owner, sizeof owner, "optimizer '%s'", optimizer);
    m->opt_params = nnk_params_new(m->opt->params, m->opt->config_size, owner, err);
    if (!m->opt_params)
        return NNK_ECONFIG;
    snprintf(owner, sizeof owner, "loss '%s'", loss);
    m->loss_params = nnk_params_new(m->loss->params, m->loss->config_size, owner, err);
    if (!m->loss_params)
        return NNK_ECONFIG;
    for (int i = 0; i < n_params; i++) {
        nnk_params *target = nnk_params_has(m->opt_params, keys[i]) ? m->opt_params
                             : nnk_params_has(m->loss_params, keys[i]) ? m->loss_params
                                                                       : NULL;
        if (!target) {
            const char *cands[80];
            int n = 0;
            for (int k = 0; k < nnk_params_count(m->opt_params) && n < 70; k++)
                cands[n++] = nnk_params_spec(m->opt_params, k)->name;
            for (int k = 0; k < nnk_params_count(m->loss_params) && n < 78; k++)
                cands[n++] = nnk_params_spec(m->loss_params, k)->name;
            const char *hint = nnk_suggest(keys[i], cands, n);
            const char *w = where && where[i] ? where[i] : NULL;
            char hint_text[128] = "";
            if (hint)
                snprintf(hint_text, sizeof hint_text, " (did you mean '%s'?)", hint);
            return nnk_err_set(err, NNK_ECONFIG,
                               "%s%sunknown key '%s' for optimizer '%s' or loss '%s'%s",
                               w ? w : "", w ? ": " : "", keys[i], optimizer,
                               loss, hint_text);
        }
        int rc = nnk_params_set(target, keys[i], values[i],
                                where ? where[i] : NULL, err);
        if (rc)
            return rc;
    }
    if (metrics) {
        char *copy = strdup(metrics), *save = NULL;
        for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
            int rc = compile_metric(m, t, err);
            if (rc) {
                free(copy);
                return rc;
            }
        }
        free(copy);
    }
    m->compiled = 1;
    return NNK_OK;
}

static void shape_text(const nnk_shape *s, char *buf, size_t n)
{
    int o = snprintf(buf, n, "(None");
    for (int d = 0; d < s->ndim && o < (int)n; d++)
        o += snprintf(buf + o, n - (size_t)o, ", %lld", (long long)s->dim[d]);
    if (o < (int)n)
        snprintf(buf + o, n - (size_t)o, ")");
}

static int build_node(nnk_model *m, int idx, nnk_err *err)
{
    nnk_node *node = &m->nodes[idx];
    nnk_shape in[NNK_MAX_INPUTS];
    for (int i = 0; i < node->n_in; i++) {
        int s = node->in[i];
        in[i] = s >= 0 ? m->nodes[s].out_shape : m->inputs[-1 - s].shape;
    }
    if (node->n_in < node->vt->min_inputs ||
        (node->vt->max_inputs > 0 && node->n_in > node->vt->max_inputs))
        return nnk_err_set(err, NNK_ESHAPE,
                           "layer '%s': takes %d to %d inputs, got %d",
                           node->name, node->vt->min_inputs,
                           node->vt->max_inputs, node->n_in);
    node->layer.struct_size = sizeof(nnk_layer);
    node->layer.name = node->name;
    node->layer.config = nnk_params_config(node->params);
    nnk_rng_seed(&node->rng, m->seed, 1000 + (uint64_t)idx);
    node->layer.rng = &node->rng;
    nnk_err lerr = {NNK_OK, ""};
    int rc = node->vt->build(&node->layer, node->n_in, in, &node->out_shape, &lerr);
    if (rc) {
        char st[96];
        shape_text(&in[0], st, sizeof st);
        return nnk_err_set(err, lerr.status ? lerr.status : NNK_ESHAPE,
                           "%s (input from %s '%s' with shape %s)", lerr.msg,
                           node->in[0] >= 0 ? "layer" : "input",
                           node->in_names[0], st);
    }
    node->out_cols = shape_size(&node->out_shape);
    return NNK_OK;
}

static int check_perceptron(nnk_model *m, nnk_err *err)
{
    int trainable = 0;
    for (int i = 0; i < m->n_nodes; i++)
        trainable += m->nodes[i].layer.n_weights > 0;
    const nnk_node *out = &m->nodes[m->output];
    if (trainable != 1 || out->layer.n_weights == 0 || !out->act ||
        out->act->differentiable)
        return nnk_err_set(err, NNK_ECONFIG,
                           "optimizer '%s' needs a single trainable layer with a step activation (heaviside or sign)",
                           m->opt->name);
    return NNK_OK;
}

int nnk_model_build(nnk_model *m, uint64_t seed, nnk_err *err)
{
    if (m->built)
        return NNK_OK;
    if (!m->compiled)
        return nnk_err_set(err, NNK_ECONFIG, "the model must be compiled before it is built");
    if (m->n_nodes == 0)
        return nnk_err_set(err, NNK_ECONFIG, "the model has no layers");
    m->seed = seed;
    for (int i = 0; i < m->n_nodes; i++) {
        int rc = build_node(m, i, err);
        if (rc)
            return rc;
        for (int k = 0; k < m->nodes[i].n_in; k++)
            if (m->nodes[i].in[k] >= 0)
                m->nodes[m->nodes[i].in[k]].n_consumers++;
    }
    m->output = m->n_nodes - 1;
    for (int i = 0; i < m->n_metrics; i++) {
        nnk_metric_inst *mi = &m->metrics[i];
        if (strcmp(mi->name, "accuracy") || m->loss->accuracy_metric)
            continue;
        const char *want = m->nodes[m->output].out_cols == 1 ? "binary_accuracy"
                                                             : "categorical_accuracy";
        const nnk_component_info *c = nnk_registry_find(m->reg, NNK_KIND_METRIC, want);
        if (!c)
            return unknown_component(m, NNK_KIND_METRIC, want, "compile", err);
        if (c != mi->comp) {
            nnk_params *np = nnk_params_new(((const nnk_metric_vtable *)c->vtable)->params,
                                            ((const nnk_metric_vtable *)c->vtable)->config_size,
                                            "metric 'accuracy'", err);
            void *st = calloc(1, ((const nnk_metric_vtable *)c->vtable)->state_size + 1);
            if (!np || !st) {
                nnk_params_free(np);
                free(st);
                return NNK_ENOMEM;
            }
            nnk_params_free(mi->params);
            free(mi->state);
            mi->params = np;
            mi->state = st;
            mi->comp = c;
            mi->vt = c->vtable;
        }
    }
    for (int i = 0; i < m->n_nodes - 1; i++)
        if (m->nodes[i].n_consumers == 0)
            return nnk_err_set(err, NNK_ECONFIG,
                               "layer '%s': its output reaches no other layer and it is not the model's output",
                               m->nodes[i].name);
    const nnk_node *out = &m->nodes[m->output];
    m->fused = m->loss->fused_activation && m->loss->compute_from_logits &&
               out->act && !strcmp(out->act->name, m->loss->fused_activation);
    int rc = (m->opt->flags & NNK_OPT_PERCEPTRON) ? check_perceptron(m, err) : NNK_OK;
    if (!rc)
        rc = nnk_model_init_weights(m, err);
    if (!rc)
        rc = nnk_model_alloc_slots(m, err);
    if (!rc)
        m->built = 1;
    return rc;
}

/* Keras's truncated normal: redraw beyond two standard deviations, with the
 * stddev corrected for the truncation. */
static double truncated_normal(nnk_rng *r, double stddev)
{
    double s = stddev / 0.87962566103423978;
    for (;;) {
        double x = nnk_rng_normal(r);
        if (x > -2.0 && x < 2.0)
            return x * s;
    }
}

static void init_tensor(nnk_rng *r, const char *init, float *w, int64_t n,
                        int64_t fan_in, int64_t fan_out)
{
    double fi = (double)(fan_in > 0 ? fan_in : 1);
    double fo = (double)(fan_out > 0 ? fan_out : 1);
    for (int64_t i = 0; i < n; i++) {
        double v = 0;
        if (!strcmp(init, "glorot_uniform"))
            v = (2 * nnk_rng_uniform(r) - 1) * sqrt(6.0 / (fi + fo));
        else if (!strcmp(init, "glorot_normal"))
            v = truncated_normal(r, sqrt(2.0 / (fi + fo)));
        else if (!strcmp(init, "he_normal"))
            v = truncated_normal(r, sqrt(2.0 / fi));
        else if (!strcmp(init, "he_uniform"))
            v = (2 * nnk_rng_uniform(r) - 1) * sqrt(6.0 / fi);
        else if (!strcmp(init, "lecun_normal"))
            v = truncated_normal(r, sqrt(1.0 / fi));
        else if (!strcmp(init, "lecun_uniform"))
            v = (2 * nnk_rng_uniform(r) - 1) * sqrt(3.0 / fi);
        else if (!strcmp(init, "ones"))
            v = 1;
        w[i] = (float)v;
    }
}

int nnk_model_init_weights(nnk_model *m, nnk_err *err)
{
    (void)err;
    for (int i = 0; i < m->n_nodes; i++) {
        nnk_node *node = &m->nodes[i];
        nnk_rng r;
        nnk_rng_seed(&r, m->seed, 2000 + (uint64_t)i);
        for (int k = 0; k < node->layer.n_weights; k++) {
            nnk_tensor *t = &node->layer.weights[k].value;
            int64_t n = 1;
            for (int d = 0; d < t->ndim; d++)
                n *= t->shape[d];
            init_tensor(&r, node->initializers[k], t->data, n, node->fans[k][0],
                        node->fans[k][1]);
        }
    }
    return NNK_OK;
}

int nnk_model_weight_count(const nnk_model *m)
{
    int n = 0;
    for (int i = 0; i < m->n_nodes; i++)
        n += m->nodes[i].layer.n_weights;
    return n;
}

nnk_weight *nnk_model_weight_at(nnk_model *m, int i, nnk_node **node)
{
    for (int k = 0; k < m->n_nodes; k++) {
        if (i < m->nodes[k].layer.n_weights) {
            if (node)
                *node = &m->nodes[k];
            return &m->nodes[k].layer.weights[i];
        }
        i -= m->nodes[k].layer.n_weights;
    }
    return NULL;
}

static int64_t tensor_size(const nnk_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

int nnk_model_alloc_slots(nnk_model *m, nnk_err *err)
{
    int nw = nnk_model_weight_count(m), ns = m->opt->n_slots;
    if (ns == 0)
        return NNK_OK;
    m->slots = calloc((size_t)(nw * ns), sizeof(float *));
    if (!m->slots)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int i = 0; i < nw; i++) {
        nnk_weight *w = nnk_model_weight_at(m, i, NULL);
        for (int s = 0; s < ns; s++) {
            m->slots[i * ns + s] = calloc((size_t)tensor_size(&w->value), sizeof(float));
            if (!m->slots[i * ns + s])
                return nnk_err_set(err, NNK_ENOMEM, "out of memory");
        }
    }
    return NNK_OK;
}

int64_t nnk_model_param_count(const nnk_model *m)
{
    int64_t n = 0;
    for (int i = 0; i < m->n_nodes; i++)
        for (int k = 0; k < m->nodes[i].layer.n_weights; k++)
            n += tensor_size(&m->nodes[i].layer.weights[k].value);
    return n;
}

float *nnk_model_weights_copy(const nnk_model *m, int64_t *n_out)
{
    int64_t n = nnk_model_param_count(m), o = 0;
    float *out = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!out)
        return NULL;
    for (int i = 0; i < m->n_nodes; i++)
        for (int k = 0; k < m->nodes[i].layer.n_weights; k++) {
            const nnk_tensor *t = &m->nodes[i].layer.weights[k].value;
            int64_t s = tensor_size(t);
            memcpy(out + o, t->data, (size_t)s * sizeof(float));
            o += s;
        }
    *n_out = n;
    return out;
}

double nnk_model_learning_rate(const nnk_model *m) { return m->learning_rate; }

void nnk_model_summary(const nnk_model *m, FILE *out)
{
    const char *rule = "_________________________________________________________________";
    const char *dbl = "=================================================================";
    fprintf(out, "Model: \"%s\"\n%s\n", m->n_nodes > 1 ? "sequential" : "model", rule);
    fprintf(out, " %-28s %-25s %-10s\n%s\n", "Layer (type)", "Output Shape", "Param #", dbl);
    for (int i = 0; i < m->n_nodes; i++) {
        const nnk_node *n = &m->nodes[i];
        char label[128], shape[96];
        snprintf(label, sizeof label, "%s (%s)", n->name, n->comp->name);
        shape_text(&n->out_shape, shape, sizeof shape);
        int64_t params = 0;
        for (int k = 0; k < n->layer.n_weights; k++)
            params += tensor_size(&n->layer.weights[k].value);
        fprintf(out, " %-28s %-25s %-10lld\n", label, shape, (long long)params);
        fprintf(out, "%s\n", i + 1 < m->n_nodes ? "" : dbl);
    }
    int64_t total = nnk_model_param_count(m);
    fprintf(out, "Total params: %lld (%.2f KB)\nTrainable params: %lld\nNon-trainable params: 0\n%s\n",
            (long long)total, (double)total * 4 / 1024.0, (long long)total, rule);
}

int nnk_model_set_columns(nnk_model *m, const char *labels, const char *features,
                          nnk_err *err)
{
    char *l = strdup(labels ? labels : ""), *f = strdup(features ? features : "");
    if (!l || !f) {
        free(l);
        free(f);
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    free(m->label_columns);
    free(m->feature_columns);
    m->label_columns = l;
    m->feature_columns = f;
    return NNK_OK;
}

const char *nnk_model_label_columns(const nnk_model *m)
{
    return m->label_columns ? m->label_columns : "";
}

const char *nnk_model_feature_columns(const nnk_model *m)
{
    return m->feature_columns ? m->feature_columns : "";
}
