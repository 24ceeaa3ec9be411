/* The model as built: adding inputs and layers, reading and setting
 * weights (take, get, set, trainable), what the API reports of it (layers,
 * outputs, optimizer, preprocessing, classes, columns) and the summary.
 * Compiling is compile.c, shape inference and initialisation build.c. */
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
    for (int i = 0; i < NNK_MAX_INPUTS; i++)
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
        int nw = nnk__model_weight_count(m);
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
    for (int i = 0; i < m->n_outputs; i++)
        nnk__output_free(&m->outs[i]);
    nnk_params_free(m->opt_params);
    free(m->label_columns);
    free(m->feature_columns);
    for (int64_t k = 0; k < m->n_classes; k++)
        free(m->class_names[k]);
    free(m->class_names);
    free(m->fill);
    nnk__model_clear_categories(m);
    free(m->mean);
    free(m->std);
    free(m->inv_std);
    free(m->stage_x);
    free(m->stage_y);
    free(m->dp_buf);
    nnk__dp_overlap_free(m);
    free(m);
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
    if (nnk_name_check("input", name, err))
        return err->status;
    if (m->n_inputs >= NNK_MAX_INPUTS)
        return nnk_err_set(err, NNK_ECONFIG, "too many inputs (at most %d)",
                           NNK_MAX_INPUTS);
    if (name_taken(m, name))
        return nnk_err_set(err, NNK_ECONFIG, "input '%s': name already used",
                           name);
    if (nnk_check_sample_shape(shape))
        return nnk_err_set(err, NNK_ECONFIG,
                           "input '%s': a shape needs 1 to %d dimensions of at least 1 and at most %lld values",
                           name, NNK_MAX_DIMS - 1, (long long)NNK_MAX_ELEMENTS);
    nnk_input_node *in = &m->inputs[m->n_inputs];
    memset(in, 0, sizeof *in);
    in->name = strdup(name);
    in->shape = *shape;
    in->cols = nnk_shape_elements(shape);
    if (!in->name)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    m->n_inputs++;
    return NNK_OK;
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
            return nnk__unknown_component(m->reg, NNK_KIND_ACTIVATION, name, owner, err);
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


int nnk_model_add_layer(nnk_model *m, const char *name, const char *type,
                        const char *const *inputs, int n_inputs,
                        const char *const *keys, const char *const *values,
                        const char *const *where, int n_params, nnk_err *err)
{
    if (nnk_name_check("layer", name, err))
        return err->status;
    char owner[200];
    snprintf(owner, sizeof owner, "layer '%s'", name);
    if (m->built)
        return nnk_err_set(err, NNK_ECONFIG, "%s: the model is already built", owner);
    if (name_taken(m, name))
        return nnk_err_set(err, NNK_ECONFIG, "%s: name already used", owner);
    const nnk_component_info *c = nnk_registry_find(m->reg, NNK_KIND_LAYER, type);
    if (!c)
        return nnk__unknown_component(m->reg, NNK_KIND_LAYER, type, owner, err);
    if (n_inputs > NNK_MAX_INPUTS)
        return nnk_err_set(err, NNK_ECONFIG, "%s: too many inputs (at most %d)", owner,
                           NNK_MAX_INPUTS);
    /* Sequential by default: the previous layer, or the first input */
    const char *prev = m->n_nodes ? m->nodes[m->n_nodes - 1].name
                                  : m->n_inputs ? m->inputs[0].name : NULL;
    if (n_inputs == 0 && !prev)
        return nnk_err_set(err, NNK_ECONFIG, "%s: the model has no input", owner);
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
    const nnk_layer_fused_sgd *fused = NNK_CAPABILITY(node->vt, NNK_CAP_FUSED_SGD);
    node->fused_sgd = fused && NNK_HAS(fused, backward_sgd) && fused->backward_sgd ? fused : NULL;
    /* inputs are names here; build() resolves them, in any order */
    node->n_in = n_inputs ? n_inputs : 1;
    for (int i = 0; i < node->n_in; i++)
        node->in_names[i] = strdup(n_inputs ? inputs[i] : prev);
    node->params = nnk_params_new(node->vt->params, node->vt->config_size, owner, err);
    int rc = node->params && node->name ? NNK_OK : NNK_ECONFIG;
    for (int i = 0; !rc && i < node->n_in; i++)
        if (!node->in_names[i])
            rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < n_params; i++)
        rc = nnk_params_set(node->params, keys[i], values[i], where ? where[i] : NULL, err);
    if (!rc)
        rc = nnk_params_check_required(node->params, err);
    if (!rc)
        rc = resolve_activation(m, node, err);
    if (rc) {
        node_free(node);
        return rc;
    }
    m->n_nodes++;
    return NNK_OK;
}










static const nnk_node *node_named(const nnk_model *m, const char *name)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (!strcmp(m->nodes[i].name, name))
            return &m->nodes[i];
    return NULL;
}

/* The first model-order index of a node's weights. */
static int first_weight(const nnk_model *m, const nnk_node *n)
{
    int k = 0;
    for (int i = 0; i < m->n_nodes && &m->nodes[i] != n; i++)
        k += m->nodes[i].layer.n_weights;
    return k;
}

static void shape_of(const nnk_tensor *t, char *buf, size_t n)
{
    int o = snprintf(buf, n, "(");
    for (int d = 0; d < t->ndim && o < (int)n; d++)
        o += snprintf(buf + o, n - (size_t)o, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    if (o < (int)n)
        snprintf(buf + o, n - (size_t)o, ")");
}

int nnk_model_take_weights(nnk_model *m, const nnk_model *src, int *matched, nnk_err *err)
{
    if (!m->built || !src->built)
        return nnk_err_set(err, NNK_EUSAGE, "take weights: both models must be built");
    int same_opt = m->opt && src->opt && m->opt == src->opt && m->slots && src->slots && src->iteration > 0;
    int ns = m->opt ? m->opt->n_slots : 0, taken = 0;
    /* check everything first: nothing changes unless all of it fits */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < m->n_nodes; i++) {
            nnk_node *n = &m->nodes[i];
            const nnk_node *s = node_named(src, n->name);
            if (!s)
                continue;
            if (s->layer.n_weights != n->layer.n_weights)
                return nnk_err_set(err, NNK_ECONFIG, "layer '%s' has %d weights here and %d in the saved model", n->name,
                                   n->layer.n_weights, s->layer.n_weights);
            int a = first_weight(m, n), b = first_weight(src, s);
            for (int k = 0; k < n->layer.n_weights; k++) {
                nnk_weight *w = &n->layer.weights[k];
                const nnk_weight *v = &s->layer.weights[k];
                if (strcmp(w->name, v->name))
                    return nnk_err_set(err, NNK_ECONFIG, "layer '%s': weight %d is '%s' here and '%s' in the saved model",
                                       n->name, k, w->name, v->name);
                if (w->value.ndim != v->value.ndim ||
                    memcmp(w->value.shape, v->value.shape, sizeof w->value.shape[0] * (size_t)w->value.ndim)) {
                    char here[96], there[96];
                    shape_of(&w->value, here, sizeof here);
                    shape_of(&v->value, there, sizeof there);
                    return nnk_err_set(err, NNK_ECONFIG, "layer '%s': weight '%s' has shape %s here and %s in the saved model",
                                       n->name, w->name, here, there);
                }
                if (!pass)
                    continue;
                int64_t count = nnk_tensor_elements(&w->value);
                memcpy(w->value.data, v->value.data, (size_t)count * sizeof(float));
                for (int j = 0; same_opt && j < ns; j++)
                    memcpy(m->slots[(a + k) * ns + j], src->slots[(b + k) * ns + j], (size_t)count * sizeof(float));
            }
            if (pass) {
                n->adapted = 1; /* its statistics came with the weights */
                taken++;
            }
        }
    if (same_opt)
        m->iteration = src->iteration;
    if (matched)
        *matched = taken;
    return NNK_OK;
}

int64_t nnk_model_param_count(const nnk_model *m)
{
    int64_t n = 0;
    for (int i = 0; i < m->n_nodes; i++)
        for (int k = 0; k < m->nodes[i].layer.n_weights; k++)
            n += nnk_tensor_elements(&m->nodes[i].layer.weights[k].value);
    return n;
}

static int64_t trainable_count(const nnk_model *m)
{
    int64_t n = 0;
    for (int i = 0; i < m->n_nodes; i++)
        for (int k = 0; k < m->nodes[i].layer.n_weights; k++)
            if (m->nodes[i].layer.weights[k].trainable)
                n += nnk_tensor_elements(&m->nodes[i].layer.weights[k].value);
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
            int64_t s = nnk_tensor_elements(t);
            memcpy(out + o, t->data, (size_t)s * sizeof(float));
            o += s;
        }
    *n_out = n;
    return out;
}

/* The weight `weight` of layer `layer`, with its size, or NULL (err set). */
static nnk_weight *find_weight(const nnk_model *m, const char *layer, const char *weight, int64_t n,
                               int64_t *size, nnk_err *err)
{
    if (!m->built) {
        nnk_err_set(err, NNK_EUSAGE, "the model must be built first");
        return NULL;
    }
    for (int i = 0; i < m->n_nodes; i++) {
        if (strcmp(m->nodes[i].name, layer))
            continue;
        for (int k = 0; k < m->nodes[i].layer.n_weights; k++) {
            nnk_weight *w = (nnk_weight *)&m->nodes[i].layer.weights[k];
            if (strcmp(w->name, weight))
                continue;
            *size = nnk_tensor_elements(&w->value);
            if (n != *size) {
                nnk_err_set(err, NNK_EUSAGE, "layer '%s': weight '%s' has %lld values, not %lld", layer, weight,
                            (long long)*size, (long long)n);
                return NULL;
            }
            return w;
        }
        nnk_err_set(err, NNK_EUSAGE, "layer '%s' has no weight '%s'", layer, weight);
        return NULL;
    }
    nnk_err_set(err, NNK_EUSAGE, "the model has no layer '%s'", layer);
    return NULL;
}

int nnk_model_get_weights(const nnk_model *m, const char *layer, const char *weight, float *out, int64_t n,
                          nnk_err *err)
{
    int64_t size;
    const nnk_weight *w = find_weight(m, layer, weight, n, &size, err);
    if (!w)
        return err ? err->status : NNK_EUSAGE;
    memcpy(out, w->value.data, (size_t)size * sizeof(float));
    return NNK_OK;
}

int nnk_model_set_weights(nnk_model *m, const char *layer, const char *weight, const float *values, int64_t n,
                          nnk_err *err)
{
    int64_t size;
    nnk_weight *w = find_weight(m, layer, weight, n, &size, err);
    if (!w)
        return err ? err->status : NNK_EUSAGE;
    memcpy(w->value.data, values, (size_t)size * sizeof(float));
    return NNK_OK;
}

double nnk_model_learning_rate(const nnk_model *m) { return m->learning_rate; }

nnk_registry *nnk_model_registry(const nnk_model *m) { return m->reg; }

int nnk_model_set_trainable(nnk_model *m, const char *layer, int trainable, nnk_err *err)
{
    for (int i = 0; i < m->n_nodes; i++) {
        nnk_node *n = &m->nodes[i];
        if (strcmp(n->name, layer))
            continue;
        n->frozen = !trainable;
        for (int k = 0; k < n->layer.n_weights; k++) /* state weights stay untrainable */
            n->layer.weights[k].trainable = trainable && !(n->state_mask & (1u << k));
        return NNK_OK;
    }
    return nnk_err_set(err, NNK_ECONFIG, "the model has no layer '%s'", layer);
}

int nnk_model_layer_trainable(const nnk_model *m, int i)
{
    return i >= 0 && i < m->n_nodes && !m->nodes[i].frozen;
}

int nnk_model_layer_count(const nnk_model *m) { return m->n_nodes; }

int nnk_model_layer(const nnk_model *m, int i, nnk_layer_info *out)
{
    if (i < 0 || i >= m->n_nodes)
        return -1;
    const nnk_node *n = &m->nodes[i];
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    out->name = n->name;
    out->type = n->comp->name;
    out->activation = n->act ? n->act->name : NULL;
    out->n_inputs = n->n_in;
    out->inputs = (const char *const *)n->in_names;
    out->output = n->out_shape;
    out->n_weights = n->layer.n_weights;
    out->weights = n->layer.weights;
    return 0;
}

const nnk_params *nnk_model_layer_params(const nnk_model *m, int i)
{
    return i >= 0 && i < m->n_nodes ? m->nodes[i].params : NULL;
}

const nnk_params *nnk_model_layer_activation_params(const nnk_model *m, int i)
{
    return i >= 0 && i < m->n_nodes ? m->nodes[i].act_params : NULL;
}

const nnk_layer *nnk_model_layer_instance(const nnk_model *m, int i)
{
    return i >= 0 && i < m->n_nodes ? &m->nodes[i].layer : NULL;
}

void nnk_model_preprocessing(const nnk_model *m, nnk_preprocessing *out)
{
    int64_t cols = nnk__model_input_cols(m);
    out->scale = m->scale;
    out->n = cols;
    out->fill = m->fill && m->n_fill == cols ? m->fill : NULL;
    out->mean = m->mean && m->n_std == cols ? m->mean : NULL;
    out->inv_std = out->mean ? m->inv_std : NULL;
}

int nnk_model_output_info(const nnk_model *m, int k, nnk_output_info *out)
{
    if (k < 0 || k >= m->n_outputs)
        return -1;
    const nnk_output *o = &m->outs[k];
    out->name = o->name;
    out->loss = o->loss ? o->loss->name : NULL;
    out->loss_weight = o->weight;
    out->loss_params = o->loss_params;
    out->n_metrics = o->n_metrics;
    return 0;
}

const char *nnk_model_output_metric(const nnk_model *m, int k, int i)
{
    if (k < 0 || k >= m->n_outputs || i < 0 || i >= m->outs[k].n_metrics)
        return NULL;
    return m->outs[k].metrics[i].name;
}

const nnk_params *nnk_model_output_metric_params(const nnk_model *m, int k, int i)
{
    return nnk_model_output_metric(m, k, i) ? m->outs[k].metrics[i].params : NULL;
}

const char *nnk_model_optimizer(const nnk_model *m, const nnk_params **params)
{
    if (params)
        *params = m->opt_params;
    return m->opt ? m->opt->name : NULL;
}

void nnk_model_clipping(const nnk_model *m, double *clipnorm, double *clipvalue, double *global_clipnorm)
{
    *clipnorm = m->clipnorm;
    *clipvalue = m->clipvalue;
    *global_clipnorm = m->global_clipnorm;
}

void nnk_model_summary(const nnk_model *m, FILE *out)
{
    int functional = m->n_inputs > 1 || m->n_outputs > 1;
    for (int i = 0; i < m->n_nodes; i++)
        functional |= m->nodes[i].n_in != 1 ||
                      m->nodes[i].in[0] != (i ? i - 1 : -1);
    const char *rule = functional ? "__________________________________________________________________________________________"
                                  : "_________________________________________________________________";
    const char *dbl = functional ? "=========================================================================================="
                                 : "=================================================================";
    fprintf(out, "Model: \"%s\"\n%s\n", functional ? "functional" : "sequential", rule);
    fprintf(out, " %-28s %-25s %-10s%s\n%s\n", "Layer (type)", "Output Shape", "Param #",
            functional ? " Connected to" : "", dbl);
    char label[128], shape[96];
    for (int j = 0; functional && j < m->n_inputs; j++) {
        snprintf(label, sizeof label, "%s (input)", m->inputs[j].name);
        nnk__shape_text(&m->inputs[j].shape, shape, sizeof shape);
        fprintf(out, " %-28s %-25s %-10d []\n\n", label, shape, 0);
    }
    for (int i = 0; i < m->n_nodes; i++) {
        const nnk_node *n = &m->nodes[i];
        snprintf(label, sizeof label, "%s (%s)", n->name, n->comp->name);
        nnk__shape_text(&n->out_shape, shape, sizeof shape);
        int64_t params = 0;
        for (int k = 0; k < n->layer.n_weights; k++)
            params += nnk_tensor_elements(&n->layer.weights[k].value);
        fprintf(out, " %-28s %-25s %-10lld", label, shape, (long long)params);
        for (int k = 0; functional && k < n->n_in; k++)
            fprintf(out, "%s%s", k ? ", " : " [", n->in_names[k]);
        fprintf(out, "%s\n%s\n", functional ? "]" : "", i + 1 < m->n_nodes ? "" : dbl);
    }
    int64_t total = nnk_model_param_count(m), trainable = trainable_count(m);
    fprintf(out, "Total params: %lld (%.2f KB)\nTrainable params: %lld\nNon-trainable params: %lld\n%s\n",
            (long long)total, (double)total * 4 / 1024.0, (long long)trainable,
            (long long)(total - trainable), rule);
    if (m->n_encoded) { /* which column of the input is which, after one-hot encoding */
        fprintf(out, "Input features (%lld, text columns one-hot):", (long long)m->n_encoded);
        int width = 80;
        for (int64_t k = 0; k < m->n_encoded; k++) {
            int len = (int)strlen(m->encoded_names[k]) + 2;
            if (width + len > 78) {
                fprintf(out, "\n ");
                width = 1;
            }
            fprintf(out, " %s%s", m->encoded_names[k], k + 1 < m->n_encoded ? "," : "\n");
            width += len;
        }
    }
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

int nnk_model_set_class_names(nnk_model *m, const char *const *names, int64_t n, nnk_err *err)
{
    char **copy = n > 0 ? calloc((size_t)n, sizeof *copy) : NULL;
    if (n > 0 && !copy)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t k = 0; k < n; k++)
        if (!(copy[k] = strdup(names[k] ? names[k] : ""))) {
            while (k-- > 0)
                free(copy[k]);
            free(copy);
            return nnk_err_set(err, NNK_ENOMEM, "out of memory");
        }
    for (int64_t k = 0; k < m->n_classes; k++)
        free(m->class_names[k]);
    free(m->class_names);
    m->class_names = copy;
    m->n_classes = n > 0 ? n : 0;
    return NNK_OK;
}

int64_t nnk_model_class_count(const nnk_model *m) { return m->n_classes; }

const char *nnk_model_class_name(const nnk_model *m, int64_t k)
{
    return k >= 0 && k < m->n_classes ? m->class_names[k] : NULL;
}

const char *nnk_model_label_columns(const nnk_model *m)
{
    return m->label_columns ? m->label_columns : "";
}

const char *nnk_model_feature_columns(const nnk_model *m)
{
    return m->feature_columns ? m->feature_columns : "";
}
