/* Forward and backward passes over the model graph, batch buffers and the
 * gathering of preprocessed input rows. */
#include "internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int has_activation(const nnk_node *n)
{
    return n->act && strcmp(n->act->name, "linear") != 0;
}

static int grow(nnk_tensor *t, const nnk_shape *s, int64_t rows, int64_t cols)
{
    int64_t n;
    if (nnk_size_mul(rows, cols, &n))
        return -1;
    float *p = nnk__floats_aligned(n, 0); /* a batch buffer's old rows are never read again */
    if (!p)
        return -1;
    free(t->data);
    t->data = p;
    t->ndim = s->ndim + 1;
    t->shape[0] = rows;
    for (int d = 0; d < s->ndim && d + 1 < NNK_MAX_DIMS; d++)
        t->shape[d + 1] = s->dim[d];
    return 0;
}

static void set_rows(nnk_tensor *t, int64_t rows) { t->shape[0] = rows; }

static int batch_too_big(nnk_err *err, const char *what, const char *name, int64_t rows, int64_t cols)
{
    return nnk_err_set(err, NNK_ENOMEM, "%s '%s': no memory for a batch of %lld rows of %lld values; use a smaller batch size",
                       what, name, (long long)rows, (long long)cols);
}

int nnk__model_ensure_rows(nnk_model *m, int64_t rows, nnk_err *err)
{
    for (int i = 0; i < m->n_inputs; i++) {
        nnk_input_node *in = &m->inputs[i];
        if (in->x.shape[0] < rows || !in->x.data) {
            if (grow(&in->x, &in->shape, rows, in->cols))
                return batch_too_big(err, "input", in->name, rows, in->cols);
        }
        set_rows(&in->x, rows);
    }
    for (int i = 0; i < m->n_nodes; i++) {
        nnk_node *n = &m->nodes[i];
        if (n->cap_rows < rows) {
            int act = has_activation(n);
            if (grow(&n->z, &n->out_shape, rows, n->out_cols) ||
                grow(&n->dz, &n->out_shape, rows, n->out_cols))
                return batch_too_big(err, "layer", n->name, rows, n->out_cols);
            if (act) {
                if (grow(&n->a, &n->out_shape, rows, n->out_cols) ||
                    grow(&n->da, &n->out_shape, rows, n->out_cols))
                    return batch_too_big(err, "layer", n->name, rows, n->out_cols);
            }
            n->cap_rows = rows;
        }
        if (!has_activation(n)) {
            n->a = n->z;
            n->da = n->dz;
        }
        set_rows(&n->z, rows);
        set_rows(&n->a, rows);
        set_rows(&n->dz, rows);
        set_rows(&n->da, rows);
    }
    return NNK_OK;
}

static const nnk_tensor *source_output(nnk_model *m, int src)
{
    return src >= 0 ? &m->nodes[src].a : &m->inputs[-1 - src].x;
}

/* Activations are element-wise (softmax row-wise): blocks of rows can run
 * on the pool's threads. */
typedef struct activation_job {
    const nnk_node *n;
    int backward;
} activation_job;

static void activation_rows(void *ctx, int64_t r0, int64_t r1)
{
    const activation_job *j = ctx;
    const nnk_node *n = j->n;
    int64_t off = r0 * n->out_cols;
    const void *cfg = nnk_params_config(n->act_params);
    if (j->backward)
        n->act->backward(cfg, n->z.data + off, n->a.data + off, n->da.data + off, n->dz.data + off, r1 - r0, n->out_cols);
    else
        n->act->forward(cfg, n->z.data + off, n->a.data + off, r1 - r0, n->out_cols);
}

static void run_activation(const nnk_node *n, int64_t rows, int backward)
{
    activation_job j = {n, backward};
    nnk__parallel_rows(rows, n->out_cols, activation_rows, &j);
}

int nnk__model_forward(nnk_model *m, int64_t rows, int training, nnk_err *err)
{
    return nnk__model_forward_to(m, rows, training, m->n_nodes, err);
}

int nnk__model_forward_to(nnk_model *m, int64_t rows, int training, int end, nnk_err *err)
{
    for (int i = 0; i < end; i++) {
        nnk_node *n = &m->nodes[i];
        const nnk_tensor *in[NNK_MAX_INPUTS];
        for (int k = 0; k < n->n_in; k++)
            in[k] = source_output(m, n->in[k]);
        int rc = n->vt->forward(&n->layer, n->n_in, in, &n->z, training, err);
        if (rc)
            return rc;
        if (has_activation(n))
            run_activation(n, rows, 0);
    }
    return NNK_OK;
}

/* Which nodes' output gradients anything needs: a node with a trainable
 * weight, or one a needing node is fed by (any order of nodes is
 * topological once built). The rest run no backward, and no layer computes
 * an input gradient for them: e.g. the first dense layer after flatten
 * skips x^T-shaped work as large as its forward product. */
static void mark_gradients_needed(nnk_model *m)
{
    for (int i = 0; i < m->n_nodes; i++) {
        nnk_node *n = &m->nodes[i];
        n->grad_needed = 0;
        for (int k = 0; k < n->layer.n_weights && !n->grad_needed; k++)
            n->grad_needed = n->layer.weights[k].trainable;
        for (int k = 0; k < n->n_in && !n->grad_needed; k++)
            n->grad_needed = n->in[k] >= 0 && m->nodes[n->in[k]].grad_needed;
    }
}

int nnk__model_backward(nnk_model *m, int64_t rows, int into_logits, nnk_err *err)
{
    mark_gradients_needed(m);
    /* a node's gradient is summed when several layers (or a layer and a
     * loss) read its output; otherwise its single reader writes it */
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].n_consumers + (m->nodes[i].is_output != 0) > 1)
            memset(m->nodes[i].da.data, 0, (size_t)(rows * m->nodes[i].out_cols) * sizeof(float));
    for (int k = 0; k < m->n_outputs; k++) {
        nnk_output *o = &m->outs[k];
        nnk_node *n = &m->nodes[o->node];
        int logits = into_logits || o->fused;
        float *dst = logits ? n->dz.data : n->da.data;
        int64_t cnt = rows * n->out_cols;
        if (!logits && n->n_consumers > 0)
            for (int64_t j = 0; j < cnt; j++)
                dst[j] += o->grad[j];
        else
            memcpy(dst, o->grad, (size_t)cnt * sizeof(float));
    }
    for (int i = m->n_nodes - 1; i >= 0; i--) {
        nnk_node *n = &m->nodes[i];
        if (!n->grad_needed)
            continue;
        int logits_given = n->is_output && (into_logits || m->outs[n->is_output - 1].fused);
        if (has_activation(n) && !logits_given)
            run_activation(n, rows, 1);
        const nnk_tensor *in[NNK_MAX_INPUTS];
        nnk_tensor *din[NNK_MAX_INPUTS];
        nnk_tensor tmp[NNK_MAX_INPUTS];
        for (int k = 0; k < n->n_in; k++) {
            int s = n->in[k];
            in[k] = source_output(m, s);
            din[k] = NULL;
            if (s < 0 || !m->nodes[s].grad_needed)
                continue;
            nnk_node *src = &m->nodes[s];
            if (src->n_consumers + (src->is_output != 0) == 1) {
                din[k] = &src->da;
                continue;
            }
            /* several readers: each writes a private buffer, summed below */
            int64_t need = rows * src->out_cols;
            if (n->tmp_grad_n[k] < need) {
                float *buf = realloc(n->tmp_grad[k], (size_t)need * sizeof(float));
                if (!buf)
                    return nnk_err_set(err, NNK_ENOMEM, "out of memory");
                n->tmp_grad[k] = buf;
                n->tmp_grad_n[k] = need;
            }
            tmp[k] = src->da;
            tmp[k].data = n->tmp_grad[k];
            din[k] = &tmp[k];
        }
        int rc = n->fused_sgd_rate > 0 ? n->fused_sgd->backward_sgd(&n->layer, n->n_in, in, &n->z, &n->dz, din,
                                                                     n->fused_sgd_rate, err)
                                       : n->vt->backward(&n->layer, n->n_in, in, &n->z, &n->dz, din, err);
        if (rc)
            return rc;
        for (int k = 0; k < n->n_in; k++) {
            int s = n->in[k];
            if (s < 0 || !din[k] || din[k] == &m->nodes[s].da)
                continue;
            float *dst = m->nodes[s].da.data;
            int64_t cnt = rows * m->nodes[s].out_cols;
            for (int64_t j = 0; j < cnt; j++)
                dst[j] += tmp[k].data[j];
        }
        if (m->after_backward) /* its weights' gradients are final */
            m->after_backward(m, i);
    }
    return NNK_OK;
}

typedef struct gather_job {
    const nnk_model *m;
    const nnk_dataset *d;
    const int64_t *idx;
    float *x;
} gather_job;

NNK_VECTOR_CLONES static void gather_rows(void *ctx, int64_t r0, int64_t r1)
{
    const gather_job *j = ctx;
    const nnk_model *m = j->m;
    const nnk_dataset *d = j->d;
    const int64_t *idx = j->idx;
    float *x = j->x;
    int64_t cols = d->x_cols;
    float scale = (float)m->scale;
    if (d->x_u8) {
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *src = d->x_u8 + idx[r] * cols;
            float *dst = x + r * cols;
            for (int64_t c = 0; c < cols; c++) /* vectorizes; a table would not */
                dst[c] = (float)src[c] * scale;
        }
    } else if (m->fill && m->n_fill == cols) { /* missing cells take the fitted values */
        for (int64_t r = r0; r < r1; r++) {
            const float *src = d->x_f32 + idx[r] * cols;
            float *dst = x + r * cols;
            for (int64_t c = 0; c < cols; c++)
                dst[c] = (src[c] == src[c] ? src[c] : m->fill[c]) * scale;
        }
    } else {
        for (int64_t r = r0; r < r1; r++) {
            const float *src = d->x_f32 + idx[r] * cols;
            float *dst = x + r * cols;
            for (int64_t c = 0; c < cols; c++)
                dst[c] = src[c] * scale;
        }
    }
    if (m->mean && m->n_std == cols)
        for (int64_t r = r0; r < r1; r++) {
            float *row = x + r * cols;
            for (int64_t c = 0; c < cols; c++)
                row[c] = (row[c] - m->mean[c]) * m->inv_std[c];
        }
}

void nnk__model_gather(nnk_model *m, const nnk_dataset *d, const int64_t *idx,
                      int64_t n, float *x)
{
    gather_job j = {m, d, idx, x};
    nnk__parallel_rows(n, d->x_cols, gather_rows, &j);
}

int64_t nnk__model_input_cols(const nnk_model *m)
{
    int64_t n = 0;
    for (int j = 0; j < m->n_inputs; j++)
        n += m->inputs[j].cols;
    return n;
}

/* A hint for one column of class indices given to a loss that takes one
 * column per class: the registry's loss of the same name for class
 * indices (categorical_crossentropy -> sparse_categorical_crossentropy). */
static const char *sparse_hint(const nnk_model *m, const nnk_dataset *d, char *hint, size_t size)
{
    if (d->y_cols != 1 || m->n_outputs != 1 || m->outs[0].loss->labels == NNK_LABELS_SPARSE || m->outs[0].label_cols < 2)
        return "";
    const char *own = m->outs[0].loss_comp->name;
    for (int i = 0; i < nnk_registry_count(m->reg); i++) {
        const nnk_component_info *c = nnk_registry_at(m->reg, i);
        size_t n = strlen(c->name), k = strlen(own);
        if (c->kind == NNK_KIND_LOSS && ((const nnk_loss_vtable *)c->vtable)->labels == NNK_LABELS_SPARSE && n > k &&
            !strcmp(c->name + n - k, own)) {
            snprintf(hint, size, " (class indices in one column want loss '%s')", c->name);
            return hint;
        }
    }
    return "";
}

/* Labels: one block per output in order, or, when every output takes the
 * same number of label columns and the data has just that many, the same
 * labels for every output (the book's Wide & Deep with an auxiliary
 * output: fit(X, (y, y))). */
static int layout_labels(nnk_model *m, const nnk_dataset *d, nnk_err *err)
{
    int64_t total = 0, same = 1;
    for (int k = 0; k < m->n_outputs; k++) {
        total += m->outs[k].label_cols;
        same &= m->outs[k].label_cols == m->outs[0].label_cols;
    }
    int64_t off = 0;
    if (d->y_cols == total) {
        for (int k = 0; k < m->n_outputs; k++) {
            m->outs[k].label_off = off;
            off += m->outs[k].label_cols;
        }
        return NNK_OK;
    }
    if (same && d->y_cols == m->outs[0].label_cols) {
        for (int k = 0; k < m->n_outputs; k++)
            m->outs[k].label_off = 0;
        return NNK_OK;
    }
    char want[512] = "";
    for (int k = 0; k < m->n_outputs; k++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld for '%s'", k ? ", " : "",
                 (long long)m->outs[k].label_cols, m->outs[k].name);
    char hint[200];
    return nnk_err_set(err, NNK_EDATA, "data '%s': %lld label columns, but the model's outputs need %s%s",
                       d->source, (long long)d->y_cols, want, sparse_hint(m, d, hint, sizeof hint));
}

int nnk__model_check_data(const nnk_model *m, const nnk_dataset *d, nnk_err *err)
{
    int64_t cols = nnk__model_input_cols(m);
    if (d->n_text) {
        const nnk_text_column *t = &d->text[0];
        return nnk_err_set(err, NNK_EDATA, "data '%s': column '%s' holds text; one-hot encode it first "
                           "(nnk_model_fit_categories, nnk_model_encode_categories)",
                           d->source, d->feature_names ? d->feature_names[t->feature] : "?");
    }
    if (d->x_cols != cols)
        return nnk_err_set(err, NNK_EDATA, "data '%s': %lld features per sample, but the model's input%s take%s %lld",
                           d->source, (long long)d->x_cols, m->n_inputs > 1 ? "s" : "",
                           m->n_inputs > 1 ? "" : "s", (long long)cols);
    if (d->y_cols == 0)
        return NNK_OK;
    int rc = layout_labels((nnk_model *)m, d, err);
    for (int k = 0; !rc && k < m->n_outputs; k++) {
        const nnk_output *o = &m->outs[k];
        if (o->loss->labels != NNK_LABELS_SPARSE)
            continue;
        for (int64_t r = 0; r < d->rows; r++) {
            float y = d->y[r * d->y_cols + o->label_off];
            if (!(y >= 0) || y >= (float)o->cols || y != floorf(y))
                return nnk_err_set(err, NNK_EDATA,
                                   "data '%s': label %g in row %lld is out of range: output layer '%s' has %lld classes",
                                   d->source, (double)y, (long long)r + 1, o->name, (long long)o->cols);
        }
    }
    return rc;
}

void nnk__model_set_inputs(nnk_model *m, const float *x, int64_t rows)
{
    int64_t total = nnk__model_input_cols(m);
    for (int j = 0; j < m->n_inputs; j++) {
        nnk_input_node *in = &m->inputs[j];
        if (m->n_inputs == 1) {
            memcpy(in->x.data, x, (size_t)(rows * total) * sizeof(float));
            continue;
        }
        for (int64_t r = 0; r < rows; r++)
            memcpy(in->x.data + r * in->cols, x + r * total + in->offset, (size_t)in->cols * sizeof(float));
    }
}

int nnk__model_split_labels(nnk_model *m, const float *y, int64_t y_cols, int64_t rows, nnk_err *err)
{
    for (int k = 0; k < m->n_outputs; k++) {
        nnk_output *o = &m->outs[k];
        int64_t need;
        if (nnk_size_mul(rows, o->cols > o->label_cols ? o->cols : o->label_cols, &need))
            return nnk_err_set(err, NNK_ENOMEM, "output '%s': %lld rows of %lld values are too many", o->name,
                               (long long)rows, (long long)o->cols);
        if (o->cap < need) {
            float *yy = realloc(o->y, (size_t)need * sizeof(float));
            float *gg = yy ? realloc(o->grad, (size_t)need * sizeof(float)) : NULL;
            if (yy)
                o->y = yy;
            if (!yy || !gg)
                return nnk_err_set(err, NNK_ENOMEM, "out of memory");
            o->grad = gg;
            o->cap = need;
        }
        if (!y)
            continue;
        for (int64_t r = 0; r < rows; r++)
            memcpy(o->y + r * o->label_cols, y + r * y_cols + o->label_off,
                   (size_t)o->label_cols * sizeof(float));
    }
    return NNK_OK;
}

int nnk__model_load_rows(nnk_model *m, const nnk_dataset *d, int64_t start, int64_t bs, int64_t *idx,
                        int64_t *rows, nnk_err *err)
{
    *rows = d->rows - start < bs ? d->rows - start : bs;
    for (int64_t r = 0; r < *rows; r++)
        idx[r] = start + r;
    int rc = nnk__model_ensure_rows(m, *rows, err);
    return rc ? rc : nnk__model_gather_batch(m, d, idx, *rows, err);
}

/* A buffer of at least rows x cols floats (NULL when that is too many or
 * memory runs out). */
static float *staging(float **buf, int64_t *cap, int64_t rows, int64_t cols)
{
    int64_t need;
    if (nnk_size_mul(rows, cols, &need))
        return NULL;
    if (*cap < need) {
        float *p = realloc(*buf, (size_t)need * sizeof(float));
        if (!p)
            return NULL;
        *buf = p;
        *cap = need;
    }
    return *buf;
}

int nnk__model_gather_batch(nnk_model *m, const nnk_dataset *d, const int64_t *idx, int64_t n,
                           nnk_err *err)
{
    if (m->n_inputs == 1) {
        nnk__model_gather(m, d, idx, n, m->inputs[0].x.data);
    } else {
        float *x = staging(&m->stage_x, &m->stage_x_cap, n, nnk__model_input_cols(m));
        if (!x)
            return nnk_err_set(err, NNK_ENOMEM, "out of memory");
        nnk__model_gather(m, d, idx, n, x);
        nnk__model_set_inputs(m, x, n);
    }
    if (!d->y_cols)
        return nnk__model_split_labels(m, NULL, 0, n, err);
    float *y = staging(&m->stage_y, &m->stage_y_cap, n, d->y_cols);
    if (!y)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t r = 0; r < n; r++)
        memcpy(y + r * d->y_cols, d->y + idx[r] * d->y_cols, (size_t)d->y_cols * sizeof(float));
    return nnk__model_split_labels(m, y, d->y_cols, n, err);
}

int nnk_model_set_scale(nnk_model *m, double scale, nnk_err *err)
{
    if (!(scale > 0) || !isfinite(scale))
        return nnk_err_set(err, NNK_ECONFIG, "scale must be a number > 0, got %g", scale);
    m->scale = scale;
    return NNK_OK;
}

int nnk_model_prepare_rows(nnk_model *m, const nnk_dataset *d, int64_t first, int64_t n, float *x, nnk_err *err)
{
    if (first < 0 || n < 0 || first > d->rows || n > d->rows - first)
        return nnk_err_set(err, NNK_EUSAGE, "data '%s': rows %lld to %lld of %lld", d->source, (long long)first,
                           (long long)(first + n), (long long)d->rows);
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!idx)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t r = 0; r < n; r++)
        idx[r] = first + r;
    nnk__model_gather(m, d, idx, n, x);
    free(idx);
    return NNK_OK;
}

int nnk_model_set_fill(nnk_model *m, const float *fill, int64_t n, nnk_err *err)
{
    for (int64_t c = 0; fill && c < n; c++)
        if (!isfinite(fill[c]))
            return nnk_err_set(err, NNK_EUSAGE, "missing-value fill: feature %lld has %g (a fill must be a number)",
                               (long long)c, (double)fill[c]);
    float *copy = fill && n > 0 ? malloc(sizeof(float) * (size_t)n) : NULL;
    if (fill && n > 0 && !copy)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (copy)
        memcpy(copy, fill, sizeof(float) * (size_t)n);
    free(m->fill);
    m->fill = copy;
    m->n_fill = copy ? n : 0;
    return NNK_OK;
}

int nnk_model_set_standardizer(nnk_model *m, const float *mean, const float *std, int64_t n, nnk_err *err)
{
    for (int64_t c = 0; mean && c < n; c++)
        if (!isfinite(mean[c]) || !(std[c] > 0) || !isfinite(std[c]))
            return nnk_err_set(err, NNK_EUSAGE, "standardizer: feature %lld: mean %g and std %g (std must be > 0)",
                               (long long)c, (double)mean[c], (double)std[c]);
    float *mu = NULL, *sd = NULL, *inv = NULL;
    if (mean && n > 0 && (!(mu = malloc(sizeof(float) * (size_t)n)) || !(sd = malloc(sizeof(float) * (size_t)n)) ||
                          !(inv = malloc(sizeof(float) * (size_t)n)))) {
        free(mu), free(sd), free(inv);
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    for (int64_t c = 0; mu && c < n; c++) {
        mu[c] = mean[c];
        sd[c] = std[c];
        inv[c] = (float)(1.0 / (double)sd[c]); /* from the stored float, as a loaded model does */
    }
    free(m->mean), free(m->std), free(m->inv_std);
    m->mean = mu;
    m->std = sd;
    m->inv_std = inv;
    m->n_std = mu ? n : 0;
    return NNK_OK;
}

int nnk_model_adapt(nnk_model *m, const nnk_dataset *d, int64_t bs, nnk_err *err)
{
    if (!m->built)
        return nnk_err_set(err, NNK_ECONFIG, "the model must be built before it is adapted");
    int rc = nnk__model_check_data(m, d, err);
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)(bs > 0 ? bs : 1));
    if (!rc && !idx)
        rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    /* in graph order, so a layer adapts to already adapted layers before it */
    for (int i = 0; !rc && i < m->n_nodes; i++) {
        nnk_node *n = &m->nodes[i];
        if (!n->vt->adapt || n->adapted)
            continue;
        for (int64_t start = 0, rows; !rc && start < d->rows; start += bs) {
            rc = nnk__model_load_rows(m, d, start, bs, idx, &rows, err);
            if (!rc)
                rc = nnk__model_forward_to(m, rows, 0, i, err);
            if (!rc)
                rc = n->vt->adapt(&n->layer, source_output(m, n->in[0]), 0, err);
        }
        if (!rc)
            rc = n->vt->adapt(&n->layer, NULL, 1, err);
        n->adapted = !rc;
    }
    free(idx);
    return rc;
}

