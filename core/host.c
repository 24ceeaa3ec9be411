/* The host table handed to every plugin: allocation, errors, BLAS (the
 * pool's nnk_sgemm, parallel.c), RNG, weight declaration and scratch
 * memory. Append-only. */
#include "internal.h"
#include "compute.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nnk_node *node_of(nnk_layer *layer)
{
    return (nnk_node *)((char *)layer - offsetof(nnk_node, layer));
}

static const char *const known_initializers[] = {
    "glorot_uniform", "glorot_normal", "he_normal", "he_uniform",
    "lecun_normal", "lecun_uniform", "zeros", "ones", NULL};

static int host_layer_add_weight(nnk_layer *layer, const char *name,
                                 const nnk_shape *shape,
                                 const char *initializer, int64_t fan_in,
                                 int64_t fan_out, nnk_err *err)
{
    nnk_node *node = node_of(layer);
    int ok = 0;
    for (int i = 0; known_initializers[i]; i++)
        if (initializer && !strcmp(initializer, known_initializers[i]))
            ok = 1;
    if (!ok)
        return nnk_err_set(err, NNK_ECONFIG,
                            "layer '%s': unknown initializer '%s' for weight '%s'",
                            layer->name, initializer ? initializer : "(null)",
                            name),
               -1;
    if (layer->n_weights >= NNK_MAX_WEIGHTS)
        return nnk_err_set(err, NNK_ECONFIG, "layer '%s': too many weights",
                            layer->name),
               -1;
    if (!name || !*name || !shape)
        return nnk_err_set(err, NNK_EPLUGIN, "layer '%s': a weight needs a name and a shape", layer->name), -1;
    int64_t n = nnk_shape_elements(shape);
    if (n < 0) {
        return nnk_err_set(err, NNK_ECONFIG, "layer '%s': weight '%s' has a bad shape or too many values (at most %lld)",
                           layer->name, name, (long long)NNK_MAX_ELEMENTS),
               -1;
    }
    if (node->weight_budget) {
        if (n > *node->weight_budget)
            return nnk_err_set(err, NNK_EMODEL, "layer '%s': weight '%s' needs %lld values, more than the model file holds",
                               layer->name, name, (long long)n),
                   -1;
        *node->weight_budget -= n;
    }
    int i = layer->n_weights;
    nnk_weight *w = &layer->weights[i];
    memset(w, 0, sizeof *w);
    w->name = strdup(name);
    w->value.ndim = w->grad.ndim = shape->ndim;
    memcpy(w->value.shape, shape->dim, sizeof shape->dim);
    memcpy(w->grad.shape, shape->dim, sizeof shape->dim);
    w->value.data = nnk__floats_aligned(n, 1);
    w->grad.data = nnk__floats_aligned(n, 1);
    node->initializers[i] = strdup(initializer);
    if (!w->name || !w->value.data || !w->grad.data || !node->initializers[i]) {
        free((char *)w->name);
        free(w->value.data);
        free(w->grad.data);
        free(node->initializers[i]);
        node->initializers[i] = NULL;
        memset(w, 0, sizeof *w);
        return nnk_err_set(err, NNK_ENOMEM, "layer '%s': out of memory for weight '%s'", layer->name, name), -1;
    }
    node->fans[i][0] = fan_in;
    node->fans[i][1] = fan_out;
    w->trainable = !node->frozen;
    layer->n_weights++;
    return i;
}

static int host_layer_add_state(nnk_layer *layer, const char *name, const nnk_shape *shape,
                                const char *initializer, nnk_err *err)
{
    int i = host_layer_add_weight(layer, name, shape, initializer, 1, 1, err);
    if (i >= 0) {
        layer->weights[i].trainable = 0;
        node_of(layer)->state_mask |= 1u << i;
    }
    return i;
}

static float *host_layer_scratch(nnk_layer *layer, int slot, int64_t n)
{
    nnk_node *node = node_of(layer);
    if (slot < 0 || slot >= NNK_SCRATCH_SLOTS)
        return NULL;
    if (node->scratch_n[slot] < n) {
        float *p = realloc(node->scratch[slot], (size_t)n * sizeof(float));
        if (!p)
            return NULL;
        node->scratch[slot] = p;
        node->scratch_n[slot] = n;
    }
    return node->scratch[slot];
}

/* ---- model introspection for callbacks ---------------------------------- */

static nnk_model *model_of(const nnk_model_view *v) { return (nnk_model *)v; }

static int host_model_layer_count(const nnk_model_view *v) { return model_of(v)->n_nodes; }

static int host_model_layer(const nnk_model_view *v, int i, nnk_layer_info *out)
{
    return nnk_model_layer(model_of(v), i, out);
}

static int host_model_input(const nnk_model_view *v, int i, const char **name, nnk_shape *shape)
{
    nnk_model *m = model_of(v);
    if (i < 0 || i >= m->n_inputs)
        return -1;
    if (name)
        *name = m->inputs[i].name;
    if (shape)
        *shape = m->inputs[i].shape;
    return 0;
}

static int64_t host_model_rows(const nnk_model_view *v, nnk_split split)
{
    const nnk_dataset *d = (unsigned)split < 3 ? model_of(v)->fit_data[split] : NULL;
    return d ? d->rows : 0;
}

static int host_model_sample(const nnk_model_view *v, nnk_split split, int64_t first, int64_t n,
                             float *x, float *y, nnk_err *err)
{
    nnk_model *m = model_of(v);
    const nnk_dataset *d = (unsigned)split < 3 ? m->fit_data[split] : NULL;
    if (!d || first < 0 || n < 0 || first + n > d->rows)
        return nnk_err_set(err, NNK_EUSAGE, "model_sample: rows [%lld, %lld) are not in the data",
                           (long long)first, (long long)(first + n));
    int rc = nnk_model_prepare_rows(m, d, first, n, x, err);
    if (!rc && y && d->y_cols)
        memcpy(y, d->y + first * d->y_cols, sizeof(float) * (size_t)(n * d->y_cols));
    return rc;
}

static int64_t host_model_label_cols(const nnk_model_view *v)
{
    const nnk_dataset *d = model_of(v)->fit_data[NNK_SPLIT_TRAIN];
    return d ? d->y_cols : 0;
}

static const char *host_model_class_name(const nnk_model_view *v, int64_t k)
{
    const nnk_model *m = model_of(v);
    if (m->n_classes) /* the model's own (saved with it) */
        return nnk_model_class_name(m, k);
    const nnk_dataset *d = m->fit_data[NNK_SPLIT_TRAIN];
    return d && d->class_names && k >= 0 && k < d->n_classes ? d->class_names[k] : NULL;
}

static int host_model_layer_output(nnk_model_view *v, const float *x, int64_t rows, int layer,
                                   float *out, nnk_err *err)
{
    nnk_model *m = model_of(v);
    if (layer < 0 || layer >= m->n_nodes)
        return nnk_err_set(err, NNK_EUSAGE, "model_layer_output: no layer %d", layer);
    int rc = nnk__model_ensure_rows(m, rows, err);
    if (rc)
        return rc;
    nnk__model_set_inputs(m, x, rows);
    if ((rc = nnk__model_forward(m, rows, 0, err)))
        return rc;
    memcpy(out, m->nodes[layer].a.data, sizeof(float) * (size_t)(rows * m->nodes[layer].out_cols));
    return NNK_OK;
}

static int host_model_gradients(nnk_model_view *v, const float *x, const float *y, int64_t rows,
                                nnk_err *err)
{
    nnk_model *m = model_of(v);
    const nnk_dataset *d = m->fit_data[NNK_SPLIT_TRAIN];
    int rc = nnk__model_ensure_rows(m, rows, err);
    if (!rc)
        rc = nnk__model_split_labels(m, y, d ? d->y_cols : 0, rows, err);
    if (rc)
        return rc;
    nnk__model_set_inputs(m, x, rows);
    if ((rc = nnk__model_forward(m, rows, 1, err)))
        return rc;
    double loss;
    return nnk__model_loss(m, rows, &loss, NULL, 1, err);
}

static char *host_model_summary(const nnk_model_view *v)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    nnk_model_summary(model_of(v), f);
    fclose(f);
    return buf;
}

static int host_model_save(const nnk_model_view *v, const char *path, int weights_only, nnk_err *err)
{
    return nnk_model_save_as(model_of(v), path, weights_only, err);
}

static void host_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nnkit: note: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int host_fit_backup(nnk_model_view *v, const char *path, nnk_err *err)
{
    return nnk__fit_backup_request(model_of(v), path, err);
}

static int host_layer_allreduce(nnk_layer *layer, double *values, int64_t n, nnk_err *err)
{
    const nnk_reducer *r = node_of(layer)->dp;
    if (!r || r->size < 2)
        return 1;
    return r->sum_doubles(r->ctx, values, n, err) ? -1 : r->size;
}

static const nnk_host_allreduce host_allreduce = {sizeof(nnk_host_allreduce), host_layer_allreduce};

static int host_log_higher_is_better(const nnk_model_view *v, const char *name)
{
    return nnk_model_log_higher_is_better(v ? model_of(v) : NULL, name);
}

static const nnk_host_log_direction host_log_direction = {sizeof(nnk_host_log_direction), host_log_higher_is_better};

static const void *host_extension(const char *name)
{
    return !strcmp(name, NNK_CAP_DP_ALLREDUCE)    ? (const void *)&host_allreduce
           : !strcmp(name, NNK_CAP_LOG_DIRECTION) ? (const void *)&host_log_direction
           : !strcmp(name, NNK_CAP_CONV2D)        ? (const void *)&nnk__host_conv2d
           : !strcmp(name, NNK_CAP_POOL2D)        ? (const void *)&nnk__host_pool2d
           : !strcmp(name, NNK_CAP_BATCHNORM)     ? (const void *)&nnk__host_batchnorm
                                                   : NULL;
}

const nnk_host nnk__host_table = {
    .struct_size = sizeof(nnk_host),
    .abi_major = NNK_ABI_MAJOR,
    .abi_minor = NNK_ABI_MINOR,
    .alloc = malloc,
    .alloc_zeroed = calloc,
    .free = free,
    .err_set = nnk_err_set,
    .sgemm = nnk_sgemm,
    .rng_next = nnk__rng_next,
    .rng_uniform = nnk__rng_uniform,
    .rng_normal = nnk__rng_normal,
    .layer_add_weight = host_layer_add_weight,
    .layer_scratch = host_layer_scratch,
    .layer_add_state = host_layer_add_state,
    .model_layer_count = host_model_layer_count,
    .model_layer = host_model_layer,
    .model_input = host_model_input,
    .model_rows = host_model_rows,
    .model_sample = host_model_sample,
    .model_label_cols = host_model_label_cols,
    .model_class_name = host_model_class_name,
    .model_layer_output = host_model_layer_output,
    .model_gradients = host_model_gradients,
    .model_summary = host_model_summary,
    .model_save = host_model_save,
    .note = host_note,
    .fit_backup = host_fit_backup,
    .extension = host_extension,
};
