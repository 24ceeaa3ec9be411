/* build: resolving layer inputs by name, ordering the graph, shape
 * inference, outputs, and weight initialisation. */
#include "internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int find_node(const nnk_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (!strcmp(m->nodes[i].name, name))
            return i;
    return -1;
}

static int find_input(const nnk_model *m, const char *name)
{
    for (int i = 0; i < m->n_inputs; i++)
        if (!strcmp(m->inputs[i].name, name))
            return i;
    return -1;
}

static int resolve_names(nnk_model *m, nnk_err *err)
{
    for (int i = 0; i < m->n_nodes; i++) {
        nnk_node *n = &m->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            int src = find_node(m, n->in_names[k]), in = find_input(m, n->in_names[k]);
            if (src == i)
                return nnk_err_set(err, NNK_ECONFIG, "layer '%s': takes its own output as input", n->name);
            if (src < 0 && in < 0) {
                const char *cands[128];
                int c = 0;
                for (int j = 0; j < m->n_inputs && c < 128; j++)
                    cands[c++] = m->inputs[j].name;
                for (int j = 0; j < m->n_nodes && c < 128; j++)
                    cands[c++] = m->nodes[j].name;
                const char *hint = nnk_suggest(n->in_names[k], cands, c);
                return nnk_err_set(err, NNK_ECONFIG, "layer '%s': unknown input '%s'%s%s%s", n->name,
                                   n->in_names[k], hint ? " (did you mean '" : "", hint ? hint : "",
                                   hint ? "'?)" : "");
            }
            n->in[k] = src >= 0 ? src : -1 - in;
        }
    }
    for (int j = 0; j < m->n_inputs; j++) {
        int used = 0;
        for (int i = 0; i < m->n_nodes; i++)
            for (int k = 0; k < m->nodes[i].n_in; k++)
                used |= m->nodes[i].in[k] == -1 - j;
        if (!used)
            return nnk_err_set(err, NNK_ECONFIG, "input '%s': no layer uses it", m->inputs[j].name);
    }
    return NNK_OK;
}

/* Names the layers of a cycle among the nodes not yet placed. */
static int report_cycle(const nnk_model *m, const int *placed, nnk_err *err)
{
    int start = 0;
    while (placed[start])
        start++;
    /* walk backwards along unplaced inputs until a node repeats: at most
     * n_nodes steps, so the path and the positions are sized by the graph */
    int *path = malloc(sizeof(int) * (size_t)m->n_nodes), *seen_at = malloc(sizeof(int) * (size_t)m->n_nodes);
    if (!path || !seen_at) {
        free(path), free(seen_at);
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    int len = 0, cur = start;
    for (int i = 0; i < m->n_nodes; i++)
        seen_at[i] = -1;
    while (seen_at[cur] < 0) {
        seen_at[cur] = len;
        path[len++] = cur;
        const nnk_node *n = &m->nodes[cur];
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0 && !placed[n->in[k]]) {
                cur = n->in[k];
                break;
            }
    }
    char text[900] = "";
    for (int i = len - 1; i >= seen_at[cur]; i--) {
        size_t used = strlen(text);
        if (used + 8 + strlen(m->nodes[path[i]].name) >= 300) { /* a long cycle: its start, then its end */
            snprintf(text + used, sizeof text - used, "... -> ");
            break;
        }
        snprintf(text + used, sizeof text - used, "'%s' -> ", m->nodes[path[i]].name);
    }
    snprintf(text + strlen(text), sizeof text - strlen(text), "'%s'", m->nodes[path[len - 1]].name);
    free(path), free(seen_at);
    return nnk_err_set(err, NNK_ECONFIG, "layers %s form a cycle", text);
}

/* Kahn's algorithm, keeping the declaration order among ready layers. */
static int sort_nodes(nnk_model *m, nnk_err *err)
{
    int n = m->n_nodes, *order = malloc(sizeof(int) * (size_t)n), *placed = calloc((size_t)n, sizeof(int));
    int *new_index = malloc(sizeof(int) * (size_t)n);
    nnk_node *sorted = malloc(sizeof(nnk_node) * (size_t)n);
    if (!order || !placed || !new_index || !sorted) {
        free(order), free(placed), free(new_index), free(sorted);
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    int done = 0;
    for (int progress = 1; progress && done < n;) {
        progress = 0;
        for (int i = 0; i < n && !progress; i++) {
            if (placed[i])
                continue;
            int ready = 1;
            for (int k = 0; k < m->nodes[i].n_in; k++)
                ready &= m->nodes[i].in[k] < 0 || placed[m->nodes[i].in[k]];
            if (ready) {
                placed[i] = 1;
                new_index[i] = done;
                order[done++] = i;
                progress = 1;
            }
        }
    }
    int rc = done < n ? report_cycle(m, placed, err) : NNK_OK;
    if (!rc) {
        for (int i = 0; i < n; i++) {
            sorted[i] = m->nodes[order[i]];
            for (int k = 0; k < sorted[i].n_in; k++)
                if (sorted[i].in[k] >= 0)
                    sorted[i].in[k] = new_index[sorted[i].in[k]];
        }
        memcpy(m->nodes, sorted, sizeof(nnk_node) * (size_t)n);
    }
    free(order), free(placed), free(new_index), free(sorted);
    return rc;
}

static int build_node(nnk_model *m, int idx, nnk_err *err)
{
    nnk_node *node = &m->nodes[idx];
    nnk_shape in[NNK_MAX_INPUTS];
    for (int i = 0; i < node->n_in; i++) {
        int s = node->in[i];
        in[i] = s >= 0 ? m->nodes[s].out_shape : m->inputs[-1 - s].shape;
    }
    if (node->n_in < node->vt->min_inputs || (node->vt->max_inputs > 0 && node->n_in > node->vt->max_inputs))
        return nnk_err_set(err, NNK_ESHAPE, "layer '%s': %s takes %d to %d inputs, got %d", node->name,
                           node->comp->name, node->vt->min_inputs, node->vt->max_inputs, node->n_in);
    node->layer.struct_size = sizeof(nnk_layer);
    node->layer.name = node->name;
    node->layer.config = nnk_params_config(node->params);
    node->layer.input_names = (const char *const *)node->in_names;
    nnk__rng_seed(&node->rng, m->seed, 1000 + (uint64_t)idx);
    node->weight_budget = m->weight_budget > 0 ? &m->weight_budget : NULL;
    node->layer.rng = &node->rng;
    nnk_err lerr = {NNK_OK, ""};
    int rc = node->vt->build(&node->layer, node->n_in, in, &node->out_shape, &lerr);
    if (rc && !lerr.msg[0]) /* a plugin that gave no reason: say who failed */
        snprintf(lerr.msg, sizeof lerr.msg, "layer '%s': type '%s' from '%s' failed to build and gave no reason", node->name,
                 node->comp->name, node->comp->path ? node->comp->path : "(built in)");
    if (rc) {
        if (node->n_in > 1) /* merges name their inputs themselves */
            return nnk_err_set(err, lerr.status ? lerr.status : NNK_ESHAPE, "%s", lerr.msg);
        char st[96];
        nnk__shape_text(&in[0], st, sizeof st);
        return nnk_err_set(err, lerr.status ? lerr.status : NNK_ESHAPE, "%s (input from %s '%s' with shape %s)",
                           lerr.msg, node->in[0] >= 0 ? "layer" : "input", node->in_names[0], st);
    }
    if (nnk_check_sample_shape(&node->out_shape)) {
        char st[160];
        nnk__shape_text(&node->out_shape, st, sizeof st);
        return nnk_err_set(err, NNK_ESHAPE,
                           "layer '%s': output shape %s is not 1 to %d dimensions of at least 1 with at most %lld values",
                           node->name, node->out_shape.ndim >= 0 && node->out_shape.ndim <= NNK_MAX_DIMS ? st : "(?)",
                           NNK_MAX_DIMS - 1, (long long)NNK_MAX_ELEMENTS);
    }
    node->out_cols = nnk_shape_elements(&node->out_shape);
    return NNK_OK;
}

static int resolve_outputs(nnk_model *m, nnk_err *err)
{
    for (int k = 0; k < m->n_outputs; k++) {
        nnk_output *o = &m->outs[k];
        if (o->name) {
            o->node = find_node(m, o->name);
            if (o->node < 0) {
                char names[1024] = "";
                for (int i = 0; i < m->n_nodes; i++)
                    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                             m->nodes[i].name);
                return nnk_err_set(err, NNK_ECONFIG, "compile: output '%s' is not a layer; layers: %s",
                                   o->name, names);
            }
        } else {
            o->node = m->n_nodes - 1; /* the last in order: the one sink, checked below */
            o->name = strdup(m->nodes[o->node].name);
        }
        if (m->nodes[o->node].is_output)
            return nnk_err_set(err, NNK_ECONFIG, "compile: output '%s' is named twice", o->name);
        m->nodes[o->node].is_output = k + 1;
    }
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].n_consumers == 0 && !m->nodes[i].is_output)
            return nnk_err_set(err, NNK_ECONFIG,
                               "layer '%s': its output reaches no other layer and it is not an output of the model",
                               m->nodes[i].name);
    for (int k = 0; k < m->n_outputs; k++) {
        nnk_output *o = &m->outs[k];
        const nnk_node *n = &m->nodes[o->node];
        o->cols = n->out_cols;
        o->label_cols = o->loss->labels == NNK_LABELS_SPARSE ? 1 : o->cols;
        /* the fused loss needs the logits to be the node's final gradient
         * entry point, so not when other layers also read this output */
        o->fused = o->loss->fused_activation && o->loss->compute_from_logits && n->act &&
                   !strcmp(n->act->name, o->loss->fused_activation) && n->n_consumers == 0;
        int rc = nnk__model_resolve_accuracy(m, o, err);
        if (!rc)
            rc = nnk__model_bind_metrics(o, err);
        if (rc)
            return rc;
    }
    /* the logs must fit before anything trains */
    return nnk__log_names(m, NULL, NULL, MAX_LOGS / 2, err) < 0 ? NNK_ECONFIG : NNK_OK;
}

static int check_perceptron(nnk_model *m, nnk_err *err)
{
    int trainable = 0;
    for (int i = 0; i < m->n_nodes; i++)
        trainable += m->nodes[i].layer.n_weights > 0;
    const nnk_node *out = &m->nodes[m->outs[0].node];
    if (m->n_outputs != 1 || trainable != 1 || out->layer.n_weights == 0 || !out->act ||
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
    int64_t offset = 0;
    for (int j = 0; j < m->n_inputs; j++) {
        m->inputs[j].offset = offset;
        offset += m->inputs[j].cols;
    }
    int rc = resolve_names(m, err);
    if (!rc)
        rc = sort_nodes(m, err);
    for (int i = 0; !rc && i < m->n_nodes; i++) {
        rc = build_node(m, i, err);
        for (int k = 0; !rc && k < m->nodes[i].n_in; k++)
            if (m->nodes[i].in[k] >= 0)
                m->nodes[m->nodes[i].in[k]].n_consumers++;
    }
    if (!rc)
        rc = resolve_outputs(m, err);
    if (!rc && (m->opt->flags & NNK_OPT_PERCEPTRON))
        rc = check_perceptron(m, err);
    if (!rc)
        rc = nnk__model_init_weights(m, err);
    if (!rc)
        rc = nnk__model_alloc_slots(m, err);
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
        double x = nnk__rng_normal(r);
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
            v = (2 * nnk__rng_uniform(r) - 1) * sqrt(6.0 / (fi + fo));
        else if (!strcmp(init, "glorot_normal"))
            v = truncated_normal(r, sqrt(2.0 / (fi + fo)));
        else if (!strcmp(init, "he_normal"))
            v = truncated_normal(r, sqrt(2.0 / fi));
        else if (!strcmp(init, "he_uniform"))
            v = (2 * nnk__rng_uniform(r) - 1) * sqrt(6.0 / fi);
        else if (!strcmp(init, "lecun_normal"))
            v = truncated_normal(r, sqrt(1.0 / fi));
        else if (!strcmp(init, "lecun_uniform"))
            v = (2 * nnk__rng_uniform(r) - 1) * sqrt(3.0 / fi);
        else if (!strcmp(init, "ones"))
            v = 1;
        w[i] = (float)v;
    }
}

int nnk__model_init_weights(nnk_model *m, nnk_err *err)
{
    (void)err;
    for (int i = 0; i < m->n_nodes; i++) {
        nnk_node *node = &m->nodes[i];
        nnk_rng r;
        nnk__rng_seed(&r, m->seed, 2000 + (uint64_t)i);
        for (int k = 0; k < node->layer.n_weights; k++) {
            nnk_tensor *t = &node->layer.weights[k].value;
            int64_t n = nnk_tensor_elements(t);
            init_tensor(&r, node->initializers[k], t->data, n, node->fans[k][0],
                        node->fans[k][1]);
        }
    }
    return NNK_OK;
}

int nnk__model_alloc_slots(nnk_model *m, nnk_err *err)
{
    int nw = nnk__model_weight_count(m), ns = m->opt->n_slots;
    if (ns == 0)
        return NNK_OK;
    m->slots = calloc((size_t)(nw * ns), sizeof(float *));
    if (!m->slots)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int i = 0; i < nw; i++) {
        nnk_weight *w = nnk__model_weight_at(m, i, NULL);
        for (int s = 0; s < ns; s++) {
            m->slots[i * ns + s] = calloc((size_t)nnk_tensor_elements(&w->value), sizeof(float));
            if (!m->slots[i * ns + s])
                return nnk_err_set(err, NNK_ENOMEM, "out of memory");
        }
    }
    return NNK_OK;
}
