/* Model files: the nnkit.Model protobuf inside a checked envelope,
 *   "NNKM" | u32 format version | u64 payload length | u32 CRC-32 | payload
 * (little-endian), written atomically so a crash never leaves half a file. */
#include "internal.h"
#include "nnkit_model.pb-c.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MODEL_FORMAT_VERSION 1u
#define ENVELOPE_SIZE 20


/* ---- saving ------------------------------------------------------------- */

/* Every allocation made while filling the message, freed together. */
typedef struct arena {
    void **p;
    size_t n, cap;
    int failed;
} arena;

static void *arena_alloc(arena *a, size_t size)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        void **p = realloc(a->p, cap * sizeof *p);
        if (!p) {
            a->failed = 1;
            return NULL;
        }
        a->p = p;
        a->cap = cap;
    }
    void *q = calloc(1, size ? size : 1);
    if (!q)
        a->failed = 1;
    else
        a->p[a->n++] = q;
    return q;
}

static char *arena_str(arena *a, const char *s)
{
    char *q = arena_alloc(a, strlen(s) + 1);
    if (q)
        strcpy(q, s);
    return q;
}

static void arena_free(arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->p[i]);
    free(a->p);
}

static Nnkit__Component *component_msg(arena *a, const char *name,
                                       const nnk_component_info *c,
                                       const nnk_params *p)
{
    Nnkit__Component *m = arena_alloc(a, sizeof *m);
    if (!m)
        return NULL;
    nnkit__component__init(m);
    m->name = arena_str(a, name);
    m->type = arena_str(a, c->name);
    m->plugin = arena_str(a, c->plugin_name);
    m->plugin_version = arena_str(a, c->plugin_version);
    int n = p ? nnk_params_count(p) : 0;
    m->params = arena_alloc(a, (size_t)(n + 1) * sizeof *m->params);
    for (int i = 0; m->params && i < n; i++) {
        Nnkit__Param *pm = arena_alloc(a, sizeof *pm);
        if (!pm)
            return m;
        nnkit__param__init(pm);
        char buf[512];
        nnk_params_format(p, i, buf, sizeof buf);
        pm->key = arena_str(a, nnk_params_spec(p, i)->name);
        pm->value = arena_str(a, buf);
        m->params[m->n_params++] = pm;
    }
    return m;
}

static Nnkit__Tensor *tensor_msg(arena *a, const char *name, const nnk_tensor *t,
                                 const float *data)
{
    Nnkit__Tensor *m = arena_alloc(a, sizeof *m);
    if (!m)
        return NULL;
    nnkit__tensor__init(m);
    m->name = arena_str(a, name);
    m->shape = arena_alloc(a, sizeof(int64_t) * (size_t)t->ndim);
    int64_t n = nnk_tensor_elements(t); /* checked when the tensor was made */
    for (int d = 0; m->shape && d < t->ndim; d++)
        m->shape[d] = t->shape[d];
    m->n_shape = (size_t)t->ndim;
    m->n_data = (size_t)n;
    m->data = (float *)data; /* borrowed: packing only reads it */
    return m;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

int nnk_model_save(const nnk_model *m, const char *path, nnk_err *err)
{
    return nnk_model_save_as(m, path, 0, err);
}

int nnk_model_save_as(const nnk_model *m, const char *path, int weights_only, nnk_err *err)
{
    uint8_t *payload;
    size_t len;
    int rc = nnk__model_pack(m, weights_only, &payload, &len, err);
    if (!rc)
        rc = nnk__envelope_write(path, "NNKM", payload, len, err);
    free(payload);
    return rc;
}

/* The message's inputs. */
static void pack_inputs(arena *a, const nnk_model *m, Nnkit__Model *msg)
{
    msg->inputs = arena_alloc(a, sizeof(void *) * (size_t)m->n_inputs);
    for (int i = 0; msg->inputs && i < m->n_inputs; i++) {
        Nnkit__Input *in = arena_alloc(a, sizeof *in);
        if (!in)
            break;
        nnkit__input__init(in);
        in->name = arena_str(a, m->inputs[i].name);
        in->n_shape = (size_t)m->inputs[i].shape.ndim;
        in->shape = arena_alloc(a, sizeof(int64_t) * in->n_shape);
        for (size_t d = 0; in->shape && d < in->n_shape; d++)
            in->shape[d] = m->inputs[i].shape.dim[d];
        msg->inputs[msg->n_inputs++] = in;
    }
}

/* The layers (their components and inputs) and every weight. */
static void pack_layers(arena *a, const nnk_model *m, Nnkit__Model *msg)
{
    int nw = nnk__model_weight_count(m);
    msg->layers = arena_alloc(a, sizeof(void *) * (size_t)m->n_nodes);
    msg->weights = arena_alloc(a, sizeof(void *) * (size_t)(nw + 1));
    for (int i = 0; msg->layers && msg->weights && i < m->n_nodes; i++) {
        const nnk_node *n = &m->nodes[i];
        Nnkit__Component *c = component_msg(a, n->name, n->comp, n->params);
        if (!c)
            break;
        c->inputs = arena_alloc(a, sizeof(char *) * (size_t)n->n_in);
        for (int k = 0; c->inputs && k < n->n_in; k++)
            c->inputs[c->n_inputs++] = arena_str(a, n->in_names[k]);
        c->frozen = n->frozen;
        msg->layers[msg->n_layers++] = c;
        for (int k = 0; k < n->layer.n_weights; k++) {
            char name[300];
            snprintf(name, sizeof name, "%s/%s", n->name, n->layer.weights[k].name);
            msg->weights[msg->n_weights++] = tensor_msg(a, name, &n->layer.weights[k].value,
                                                        n->layer.weights[k].value.data);
        }
    }
}

/* The outputs with their losses and metrics. */
static void pack_outputs(arena *a, const nnk_model *m, Nnkit__Model *msg)
{
    msg->outputs = arena_alloc(a, sizeof(void *) * (size_t)m->n_outputs);
    for (int k = 0; msg->outputs && k < m->n_outputs; k++) {
        const nnk_output *o = &m->outs[k];
        Nnkit__Output *om = arena_alloc(a, sizeof *om);
        if (!om)
            break;
        nnkit__output__init(om);
        om->name = arena_str(a, o->name);
        om->loss = component_msg(a, o->loss->name, o->loss_comp, o->loss_params);
        om->weight = o->weight;
        om->metrics = arena_alloc(a, sizeof(void *) * (size_t)(o->n_metrics + 1));
        for (int i = 0; om->metrics && i < o->n_metrics; i++)
            om->metrics[om->n_metrics++] = component_msg(a, o->metrics[i].name, o->metrics[i].comp,
                                                         o->metrics[i].params);
        msg->outputs[msg->n_outputs++] = om;
    }
}

/* The optimizer, its settings and (unless weights_only) its slots. */
static void pack_optimizer(arena *a, const nnk_model *m, int weights_only, Nnkit__Model *msg)
{
    int nw = nnk__model_weight_count(m), ns = m->opt->n_slots;
    Nnkit__Optimizer *opt = arena_alloc(a, sizeof *opt);
    if (!opt)
        return;
    nnkit__optimizer__init(opt);
    opt->component = component_msg(a, m->opt->name, m->opt_comp, m->opt_params);
    opt->learning_rate = m->learning_rate;
    opt->iteration = weights_only ? 0 : m->iteration;
    opt->clipnorm = m->clipnorm;
    opt->clipvalue = m->clipvalue;
    opt->global_clipnorm = m->global_clipnorm;
    opt->slots = arena_alloc(a, sizeof(void *) * (size_t)(nw * ns + 1));
    for (int i = 0; opt->slots && i < nw && !weights_only; i++) {
        nnk_node *node;
        nnk_weight *w = nnk__model_weight_at((nnk_model *)m, i, &node);
        for (int s = 0; s < ns; s++) {
            char name[300];
            snprintf(name, sizeof name, "%s/%s/slot%d", node->name, w->name, s);
            opt->slots[opt->n_slots++] = tensor_msg(a, name, &w->value, m->slots[i * ns + s]);
        }
    }
    msg->optimizer = opt;
}

/* The preprocessing: scale, columns, classes, fills, categories,
 * standardization. */
static void pack_preprocessing(arena *a, const nnk_model *m, Nnkit__Model *msg)
{
    Nnkit__Preprocessing *pre = arena_alloc(a, sizeof *pre);
    if (!pre)
        return;
    nnkit__preprocessing__init(pre);
    pre->scale = m->scale;
    pre->label_columns = (char *)nnk_model_label_columns(m);
    pre->feature_columns = (char *)nnk_model_feature_columns(m);
    pre->n_class_names = (size_t)m->n_classes;
    pre->class_names = m->class_names;
    pre->n_fill = m->fill ? (size_t)m->n_fill : 0;
    pre->fill = m->fill;
    pre->n_feature_names = m->n_categories ? (size_t)m->n_raw : 0;
    pre->feature_names = m->raw_names;
    pre->ignore_unknown = m->ignore_unknown;
    pre->categories = arena_alloc(a, sizeof(void *) * (size_t)(m->n_categories + 1));
    for (int64_t k = 0; pre->categories && k < m->n_categories; k++) {
        Nnkit__Category *c = arena_alloc(a, sizeof *c);
        if (!c)
            break;
        nnkit__category__init(c);
        c->feature = m->categories[k].feature;
        c->n_values = (size_t)m->categories[k].n_values;
        c->values = m->categories[k].values;
        pre->categories[pre->n_categories++] = c;
    }
    if (m->mean) {
        pre->n_mean = pre->n_std = (size_t)m->n_std;
        pre->mean = m->mean;
        pre->std = m->std;
    }
    msg->preprocessing = pre;
}

int nnk__model_pack(const nnk_model *m, int weights_only, uint8_t **payload, size_t *n, nnk_err *err)
{
    *payload = NULL;
    if (!m->built)
        return nnk_err_set(err, NNK_EUSAGE, "model: build it before saving");
    arena a = {0};
    Nnkit__Model msg = NNKIT__MODEL__INIT;
    msg.format_version = MODEL_FORMAT_VERSION;
    msg.seed = m->seed;
    pack_inputs(&a, m, &msg);
    pack_layers(&a, m, &msg);
    pack_outputs(&a, m, &msg);
    pack_optimizer(&a, m, weights_only, &msg);
    pack_preprocessing(&a, m, &msg);
    if (a.failed) {
        arena_free(&a);
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    size_t len = nnkit__model__get_packed_size(&msg);
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) {
        arena_free(&a);
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    nnkit__model__pack(&msg, buf);
    arena_free(&a);
    *payload = buf;
    *n = len;
    return NNK_OK;
}

int nnk__envelope_write(const char *path, const char magic[4], const uint8_t *payload, size_t len,
                       nnk_err *err)
{
    unsigned char *buf = malloc(len + ENVELOPE_SIZE);
    if (!buf)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    memcpy(buf, magic, 4);
    put_u32(buf + 4, MODEL_FORMAT_VERSION);
    put_u64(buf + 8, len);
    put_u32(buf + 16, (uint32_t)crc32(0, payload, (uInt)len));
    memcpy(buf + ENVELOPE_SIZE, payload, len);
    int rc = nnk_write_file_atomic(path, buf, len + ENVELOPE_SIZE, err);
    free(buf);
    return rc;
}

/* ---- loading ------------------------------------------------------------ */

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}


/* "1.2.3" >= "1.2"? Same major, and minor.patch not older. */
static int version_ok(const char *have, const char *need)
{
    int h[3] = {0}, n[3] = {0};
    sscanf(have, "%d.%d.%d", &h[0], &h[1], &h[2]);
    sscanf(need, "%d.%d.%d", &n[0], &n[1], &n[2]);
    if (h[0] != n[0])
        return 0;
    return h[1] > n[1] || (h[1] == n[1] && h[2] >= n[2]);
}

static int need_component(nnk_registry *reg, nnk_kind kind,
                          const Nnkit__Component *c, const char *path,
                          nnk_err *err)
{
    const nnk_component_info *info = nnk_registry_find(reg, kind, c->type);
    if (!info || !version_ok(info->plugin_version, c->plugin_version)) {
        char found[300] = "";
        if (info)
            snprintf(found, sizeof found, " (found version %s in '%s')",
                     info->plugin_version, info->path);
        return nnk_err_set(err, NNK_EMODEL,
                           "model '%s' needs %s '%s' from plugin '%s' >= %s%s; searched: %s",
                           path, nnk_kind_name(kind), c->type, c->plugin,
                           c->plugin_version, found, nnk_registry_searched(reg));
    }
    return NNK_OK;
}

static int params_arrays(const Nnkit__Component *c, const char **keys,
                         const char **values, int cap)
{
    int n = 0;
    for (size_t i = 0; i < c->n_params && n < cap; i++, n++) {
        keys[n] = c->params[i]->key;
        values[n] = c->params[i]->value;
    }
    return n;
}

/* The categorical features (checked: positions in order, vocabularies
 * sorted, the encoded count equal to the inputs'). */
static int load_categories(nnk_model *m, const Nnkit__Preprocessing *pre, const char *path, nnk_err *err)
{
    int64_t n_raw = (int64_t)pre->n_feature_names, n_cats = (int64_t)pre->n_categories;
    char **raw = calloc((size_t)(n_raw ? n_raw : 1), sizeof(char *));
    nnk_category *cats = calloc((size_t)n_cats, sizeof *cats);
    int rc = raw && cats ? NNK_OK : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t i = 0; !rc && i < n_raw; i++)
        if (!(raw[i] = strdup(pre->feature_names[i])))
            rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t k = 0; !rc && k < n_cats; k++) {
        const Nnkit__Category *c = pre->categories[k];
        cats[k].feature = c->feature;
        if (!(cats[k].values = calloc(c->n_values ? c->n_values : 1, sizeof(char *))))
            rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
        for (size_t v = 0; !rc && v < c->n_values; v++, cats[k].n_values++)
            if (!(cats[k].values[v] = strdup(c->values[v])))
                rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    if (rc) { /* set_categories frees what it is given */
        for (int64_t i = 0; raw && i < n_raw; i++)
            free(raw[i]);
        free(raw);
        for (int64_t k = 0; cats && k < n_cats; k++) {
            for (int64_t v = 0; v < cats[k].n_values; v++)
                free(cats[k].values[v]);
            free(cats[k].values);
        }
        free(cats);
        return rc;
    }
    if (nnk__model_set_categories(m, raw, n_raw, cats, n_cats, pre->ignore_unknown, err))
        return nnk_err_set(err, NNK_EMODEL, "model '%s': %.400s", path, err->msg);
    if (m->n_encoded != nnk__model_input_cols(m))
        return nnk_err_set(err, NNK_EMODEL, "model '%s': %lld encoded features for inputs of %lld", path,
                           (long long)m->n_encoded, (long long)nnk__model_input_cols(m));
    return NNK_OK;
}

/* Dimensions as "2x3" ("()" for none), as far as they fit. */
static void dims_text(const int64_t *dims, size_t n, char *buf, size_t size)
{
    size_t k = 0;
    buf[0] = 0;
    for (size_t d = 0; d < n && k + 24 < size; d++)
        k += (size_t)snprintf(buf + k, size - k, "%s%lld", d ? "x" : "", (long long)dims[d]);
    if (!n)
        snprintf(buf, size, "()");
}

/* The stored tensor t into dst, when its name (unless want_name is NULL),
 * its shape and its value count are those of the built tensor `like`. */
static int copy_tensor(const Nnkit__Tensor *t, float *dst, const nnk_tensor *like, const char *want_name,
                       const char *path, nnk_err *err)
{
    int64_t n = nnk_tensor_elements(like);
    if (want_name && strcmp(t->name, want_name))
        return nnk_err_set(err, NNK_EMODEL, "model '%s': weight tensor '%s' stored where the architecture has '%s'", path,
                           t->name, want_name);
    int same_shape = (int)t->n_shape == like->ndim;
    for (int d = 0; same_shape && d < like->ndim; d++)
        same_shape = t->shape[d] == like->shape[d];
    if (!same_shape) {
        char stored[160], built[160];
        dims_text(t->shape, t->n_shape, stored, sizeof stored);
        dims_text(like->shape, (size_t)like->ndim, built, sizeof built);
        return nnk_err_set(err, NNK_EMODEL, "model '%s': tensor '%s' has shape %s, the architecture builds %s", path,
                           t->name, stored, built);
    }
    if (n < 0 || (int64_t)t->n_data != n)
        return nnk_err_set(err, NNK_EMODEL, "model '%s': tensor '%s' has %zu values, expected %lld",
                           path, t->name, t->n_data, (long long)n);
    memcpy(dst, t->data, (size_t)n * sizeof(float));
    return NNK_OK;
}

static int restore_values(nnk_model *m, const Nnkit__Model *msg, const char *path, nnk_err *err);

/* The message names every component it needs, and each is loaded; then
 * its inputs and layers are added to m. */
static int rebuild_graph(nnk_model *m, const Nnkit__Model *msg, const char *path, nnk_err *err)
{
    nnk_registry *reg = m->reg;
    int rc = NNK_OK;
    if (!msg->n_outputs || !msg->optimizer || !msg->optimizer->component || !msg->preprocessing)
        return nnk_err_set(err, NNK_EMODEL, "model '%s': incomplete model message", path);
    for (size_t i = 0; i < msg->n_outputs; i++)
        if (!msg->outputs[i]->loss)
            return nnk_err_set(err, NNK_EMODEL, "model '%s': output %zu has no loss", path, i);
    for (size_t i = 0; !rc && i < msg->n_layers; i++)
        rc = need_component(reg, NNK_KIND_LAYER, msg->layers[i], path, err);
    for (size_t i = 0; !rc && i < msg->n_outputs; i++) {
        rc = need_component(reg, NNK_KIND_LOSS, msg->outputs[i]->loss, path, err);
        for (size_t k = 0; !rc && k < msg->outputs[i]->n_metrics; k++)
            rc = need_component(reg, NNK_KIND_METRIC, msg->outputs[i]->metrics[k], path, err);
    }
    if (!rc)
        rc = need_component(reg, NNK_KIND_OPTIMIZER, msg->optimizer->component, path, err);
    for (size_t i = 0; !rc && i < msg->n_inputs; i++) {
        nnk_shape s = {0};
        s.ndim = (int)(msg->inputs[i]->n_shape <= NNK_MAX_DIMS ? msg->inputs[i]->n_shape : 0);
        for (int d = 0; d < s.ndim; d++)
            s.dim[d] = msg->inputs[i]->shape[d];
        rc = nnk_model_add_input(m, msg->inputs[i]->name, &s, err);
    }
    const char *keys[128], *values[128];
    for (size_t i = 0; !rc && i < msg->n_layers; i++) {
        const Nnkit__Component *c = msg->layers[i];
        int n = params_arrays(c, keys, values, 128);
        rc = nnk_model_add_layer(m, c->name, c->type, (const char *const *)c->inputs,
                                 (int)c->n_inputs, keys, values, NULL, n, err);
        if (!rc && c->frozen)
            rc = nnk_model_set_trainable(m, c->name, 0, err);
    }
    return rc;
}

/* compile as the message says: outputs, losses and weights, metrics, the
 * optimizer and its parameters, clipping. */
static int recompile(nnk_model *m, const Nnkit__Model *msg, nnk_err *err)
{
    /* metrics are the same for every output (compile gives them to all) */
    char metrics[1024] = "";
    const Nnkit__Output *o0 = msg->outputs[0];
    for (size_t i = 0; i < o0->n_metrics; i++)
        snprintf(metrics + strlen(metrics), sizeof metrics - strlen(metrics), "%s%s", i ? "," : "",
                 o0->metrics[i]->name);
    const char *outs[NNK_MAX_OUTPUTS], *losses[NNK_MAX_OUTPUTS], *keys[128], *values[128];
    double weights[NNK_MAX_OUTPUTS];
    int n_out = (int)(msg->n_outputs < NNK_MAX_OUTPUTS ? msg->n_outputs : NNK_MAX_OUTPUTS);
    for (int k = 0; k < n_out; k++) {
        outs[k] = msg->outputs[k]->name;
        losses[k] = msg->outputs[k]->loss->type;
        weights[k] = msg->outputs[k]->weight;
    }
    int n = params_arrays(msg->optimizer->component, keys, values, 128);
    n += params_arrays(o0->loss, keys + n, values + n, 128 - n);
    char scoped[64][160]; /* a metric's parameters as METRIC.key, which compile gives to that metric */
    int n_scoped = 0;
    for (size_t i = 0; i < o0->n_metrics; i++)
        for (size_t k = 0; k < o0->metrics[i]->n_params && n < 128 && n_scoped < 64; k++, n_scoped++) {
            snprintf(scoped[n_scoped], sizeof scoped[n_scoped], "%.64s.%.64s", o0->metrics[i]->name,
                     o0->metrics[i]->params[k]->key);
            keys[n] = scoped[n_scoped];
            values[n++] = o0->metrics[i]->params[k]->value;
        }
    nnk_compile_options co;
    nnk_compile_options_init(&co);
    co.optimizer = msg->optimizer->component->type;
    co.learning_rate = msg->optimizer->learning_rate > 0 ? msg->optimizer->learning_rate : 0;
    co.outputs = outs;
    co.n_outputs = n_out;
    co.losses = losses;
    co.n_losses = n_out;
    co.loss_weights = weights;
    co.metrics = metrics;
    co.clipnorm = msg->optimizer->clipnorm;
    co.clipvalue = msg->optimizer->clipvalue;
    co.global_clipnorm = msg->optimizer->global_clipnorm;
    co.keys = keys;
    co.values = values;
    co.n_params = n;
    return nnk_model_compile_with(m, &co, err);
}

static int rebuild(nnk_model *m, const Nnkit__Model *msg, const char *path, nnk_err *err)
{
    int rc = rebuild_graph(m, msg, path, err);
    if (!rc)
        rc = recompile(m, msg, err);
    /* the weights the architecture declares must be in the file */
    int64_t stored = 1;
    for (size_t i = 0; i < msg->n_weights; i++)
        stored += (int64_t)msg->weights[i]->n_data;
    m->weight_budget = stored;
    if (!rc)
        rc = nnk_model_build(m, msg->seed, err);
    m->weight_budget = 0;
    return rc ? rc : restore_values(m, msg, path, err);
}

/* Weights, optimizer state and preprocessing from msg into m, whose
 * architecture must match. */
static int restore_values(nnk_model *m, const Nnkit__Model *msg, const char *path, nnk_err *err)
{
    int rc = NNK_OK;
    int nw = nnk__model_weight_count(m), ns = m->opt->n_slots;
    int has_slots = msg->optimizer->n_slots > 0; /* none in a weights-only file */
    if ((int)msg->n_weights != nw || (has_slots && (int)msg->optimizer->n_slots != nw * ns))
        return nnk_err_set(err, NNK_EMODEL, "model '%s': %zu weight tensors stored, the architecture has %d",
                           path, msg->n_weights, nw);
    for (int i = 0; !rc && i < nw; i++) {
        nnk_node *node = NULL;
        nnk_weight *w = nnk__model_weight_at(m, i, &node);
        char want[2 * NNK_NAME_MAX + 160];
        snprintf(want, sizeof want, "%s/%s", node->name, w->name);
        rc = copy_tensor(msg->weights[i], w->value.data, &w->value, want, path, err);
        for (int s = 0; !rc && has_slots && s < ns; s++)
            rc = copy_tensor(msg->optimizer->slots[i * ns + s], m->slots[i * ns + s],
                             &w->value, NULL, path, err);
    }
    m->iteration = has_slots ? msg->optimizer->iteration : 0; /* weights only: the optimizer starts again */
    m->learning_rate = msg->optimizer->learning_rate > 0 ? msg->optimizer->learning_rate : m->learning_rate;
    for (int i = 0; i < m->n_nodes; i++)
        m->nodes[i].adapted = 1; /* the statistics came with the weights */
    if (!rc)
        rc = nnk_model_set_columns(m, msg->preprocessing->label_columns,
                                   msg->preprocessing->feature_columns, err);
    if (!rc)
        rc = nnk_model_set_class_names(m, (const char *const *)msg->preprocessing->class_names,
                                       (int64_t)msg->preprocessing->n_class_names, err);
    if (!rc && msg->preprocessing->n_categories)
        rc = load_categories(m, msg->preprocessing, path, err);
    if (!rc && msg->preprocessing->n_fill) {
        if ((int64_t)msg->preprocessing->n_fill != nnk__model_input_cols(m))
            return nnk_err_set(err, NNK_EMODEL, "model '%s': %zu fill values for %lld features", path,
                               msg->preprocessing->n_fill, (long long)nnk__model_input_cols(m));
        free(m->fill);
        m->fill = malloc(sizeof(float) * msg->preprocessing->n_fill);
        if (!m->fill)
            return nnk_err_set(err, NNK_ENOMEM, "out of memory");
        memcpy(m->fill, msg->preprocessing->fill, sizeof(float) * msg->preprocessing->n_fill);
        m->n_fill = (int64_t)msg->preprocessing->n_fill;
    }
    m->scale = msg->preprocessing->scale > 0 ? msg->preprocessing->scale : 1.0;
    const Nnkit__Preprocessing *pre = msg->preprocessing;
    if (!rc && pre->n_mean) {
        if (pre->n_mean != pre->n_std || (int64_t)pre->n_mean != nnk__model_input_cols(m))
            return nnk_err_set(err, NNK_EMODEL, "model '%s': standardisation has %zu values for %lld features",
                               path, pre->n_mean, (long long)nnk__model_input_cols(m));
        m->n_std = (int64_t)pre->n_mean;
        m->mean = malloc(pre->n_mean * sizeof(float));
        m->std = malloc(pre->n_mean * sizeof(float));
        m->inv_std = malloc(pre->n_mean * sizeof(float));
        if (!m->mean || !m->std || !m->inv_std)
            return nnk_err_set(err, NNK_ENOMEM, "out of memory");
        for (size_t i = 0; i < pre->n_mean; i++) {
            m->mean[i] = pre->mean[i];
            m->std[i] = pre->std[i];
            m->inv_std[i] = (float)(1.0 / (double)pre->std[i]);
        }
    }
    return rc;
}

int nnk__model_unpack_values(nnk_model *m, const uint8_t *payload, size_t n, const char *path, nnk_err *err)
{
    Nnkit__Model *msg = nnkit__model__unpack(NULL, n, payload);
    if (!msg || !msg->optimizer || !msg->preprocessing) {
        if (msg)
            nnkit__model__free_unpacked(msg, NULL);
        return nnk_err_set(err, NNK_EMODEL, "backup '%s': the model inside does not parse", path);
    }
    free(m->mean), free(m->std), free(m->inv_std);
    m->mean = m->std = m->inv_std = NULL;
    m->n_std = 0;
    int rc = restore_values(m, msg, path, err);
    nnkit__model__free_unpacked(msg, NULL);
    return rc;
}

uint8_t *nnk__envelope_read(const char *path, const char magic[4], const char *what, size_t *plen_out,
                           nnk_err *err)
{
    size_t len;
    unsigned char *buf = nnk_read_file(path, what, &len, err);
    if (!buf) {
        if (err)
            err->status = NNK_EMODEL; /* a file that cannot be read is a model error */
        return NULL;
    }
    int rc = NNK_OK;
    if (len < ENVELOPE_SIZE || memcmp(buf, magic, 4))
        rc = nnk_err_set(err, NNK_EMODEL, "%s '%s': not an nnkit %s file", what, path, what);
    uint32_t version = rc ? 0 : (uint32_t)get_le(buf + 4, 4);
    uint64_t plen = rc ? 0 : get_le(buf + 8, 8);
    if (!rc && version > MODEL_FORMAT_VERSION)
        rc = nnk_err_set(err, NNK_EMODEL,
                         "%s '%s': format version %u is newer than this nnkit reads (%u); upgrade nnkit",
                         what, path, version, MODEL_FORMAT_VERSION);
    if (!rc && plen != len - ENVELOPE_SIZE)
        rc = nnk_err_set(err, NNK_EMODEL, "%s '%s': truncated or padded: %llu payload bytes declared, %zu present",
                         what, path, (unsigned long long)plen, len - ENVELOPE_SIZE);
    if (!rc && (uint32_t)get_le(buf + 16, 4) != (uint32_t)crc32(0, buf + ENVELOPE_SIZE, (uInt)plen))
        rc = nnk_err_set(err, NNK_EMODEL, "%s '%s': corrupt (checksum mismatch)", what, path);
    if (rc) {
        free(buf);
        return NULL;
    }
    memmove(buf, buf + ENVELOPE_SIZE, plen);
    *plen_out = plen;
    return buf;
}

nnk_model *nnk_model_load(nnk_registry *reg, const char *path, nnk_err *err)
{
    size_t plen;
    uint8_t *payload = nnk__envelope_read(path, "NNKM", "model", &plen, err);
    if (!payload)
        return NULL;
    Nnkit__Model *msg = nnkit__model__unpack(NULL, plen, payload);
    free(payload);
    int rc = msg ? NNK_OK : nnk_err_set(err, NNK_EMODEL, "model '%s': corrupt (protobuf does not parse)", path);
    nnk_model *m = NULL;
    if (!rc) {
        m = nnk_model_new(reg);
        rc = m ? rebuild(m, msg, path, err) : nnk_err_set(err, NNK_ENOMEM, "out of memory");
        /* what the file describes cannot be built: the file is at fault */
        if (rc && err && err->status != NNK_ENOMEM && err->status != NNK_EMODEL && strncmp(err->msg, "model '", 7)) {
            char why[NNK_ERR_MAX];
            snprintf(why, sizeof why, "%s", err->msg);
            rc = nnk_err_set(err, NNK_EMODEL, "model '%s': %s", path, why);
        }
    }
    if (msg)
        nnkit__model__free_unpacked(msg, NULL);
    if (rc) {
        nnk_model_free(m);
        return NULL;
    }
    return m;
}
