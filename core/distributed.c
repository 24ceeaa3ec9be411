/* Data-parallel training over a reducer: which rows of a global batch this
 * process takes, the gradient sum, the logs' sums, and the checks that
 * keep every process's model the same. The transport is the reducer's
 * (libnnkit-mpi); nothing here knows MPI. */
#include "internal.h"
#include <stdlib.h>
#include <string.h>

void nnk__dp_slice(const nnk_reducer *r, int64_t rows, int64_t *lo, int64_t *n)
{
    int64_t base = rows / r->size, rem = rows % r->size;
    *lo = r->rank * base + (r->rank < rem ? r->rank : rem);
    *n = base + (r->rank < rem);
}

static int metric_sums(const nnk_metric_inst *mi)
{
    return NNK_CAPABILITY(mi->vt, NNK_CAP_DP_SUMS) && mi->state_size % sizeof(double) == 0;
}

int nnk__dp_check(const nnk_model *m, const nnk_reducer *r, nnk_err *err)
{
    if (r->size < 1 || r->rank < 0 || r->rank >= r->size || !r->sum_floats || !r->sum_doubles || !r->broadcast)
        return nnk_err_set(err, NNK_EUSAGE, "fit: reducer of rank %d and size %d is not usable", r->rank, r->size);
    if (m->opt->flags & NNK_OPT_PERCEPTRON)
        return nnk_err_set(err, NNK_ECONFIG, "the perceptron learns one sample at a time and cannot train on %d processes",
                           r->size);
    for (int k = 0; k < m->n_outputs; k++)
        for (int i = 0; i < m->outs[k].n_metrics; i++)
            if (!metric_sums(&m->outs[k].metrics[i]))
                return nnk_err_set(err, NNK_ECONFIG,
                                   "metric '%s' keeps a state that cannot be summed over processes (no nnkit.dp.sums/1): "
                                   "it cannot be used in data-parallel training",
                                   m->outs[k].metrics[i].name);
    return NNK_OK;
}

/* A buffer of the model's, grown to n floats. */
static float *scratch(nnk_model *m, int64_t n)
{
    if (m->dp_cap < n) {
        float *p = realloc(m->dp_buf, sizeof(float) * (size_t)(n ? n : 1));
        if (!p)
            return NULL;
        m->dp_buf = p;
        m->dp_cap = n;
    }
    return m->dp_buf;
}

void nnk__dp_zero_gradients(nnk_model *m)
{
    for (int i = 0; i < nnk__model_weight_count(m); i++) {
        nnk_weight *w = nnk__model_weight_at(m, i, NULL);
        if (w->trainable)
            memset(w->grad.data, 0, sizeof(float) * (size_t)nnk_tensor_elements(&w->value));
    }
}

int nnk__dp_sum_gradients(nnk_model *m, const nnk_reducer *r, float share, nnk_err *err)
{
    int nw = nnk__model_weight_count(m);
    int64_t total = 0;
    for (int i = 0; i < nw; i++) {
        nnk_weight *w = nnk__model_weight_at(m, i, NULL);
        total += w->trainable ? nnk_tensor_elements(&w->value) : 0;
    }
    float *buf = scratch(m, total);
    if (!buf)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory for the gradient buffer (%lld values)", (long long)total);
    int64_t off = 0;
    for (int i = 0; i < nw; i++) { /* one flat buffer, each gradient weighted by this process's rows */
        nnk_weight *w = nnk__model_weight_at(m, i, NULL);
        int64_t n = w->trainable ? nnk_tensor_elements(&w->value) : 0;
        for (int64_t j = 0; j < n; j++)
            buf[off + j] = w->grad.data[j] * share;
        off += n;
    }
    int rc = r->sum_floats(r->ctx, buf, total, err);
    off = 0;
    for (int i = 0; !rc && i < nw; i++) {
        nnk_weight *w = nnk__model_weight_at(m, i, NULL);
        int64_t n = w->trainable ? nnk_tensor_elements(&w->value) : 0;
        memcpy(w->grad.data, buf + off, sizeof(float) * (size_t)n);
        off += n;
    }
    return rc;
}

int64_t nnk__dp_log_count(const nnk_model *m)
{
    int64_t n = 2 + m->n_outputs; /* loss sum, rows, each output's loss sum */
    for (int k = 0; k < m->n_outputs; k++)
        for (int i = 0; i < m->outs[k].n_metrics; i++)
            n += (int64_t)(m->outs[k].metrics[i].state_size / sizeof(double));
    return n;
}

void nnk__dp_pack_logs(const nnk_model *m, double loss_sum, const double *out_sums, double seen, double *buf)
{
    int64_t n = 0;
    buf[n++] = loss_sum;
    buf[n++] = seen;
    for (int k = 0; k < m->n_outputs; k++)
        buf[n++] = out_sums[k];
    for (int k = 0; k < m->n_outputs; k++)
        for (int i = 0; i < m->outs[k].n_metrics; i++) {
            size_t bytes = m->outs[k].metrics[i].state_size;
            memcpy(buf + n, m->outs[k].metrics[i].state, bytes);
            n += (int64_t)(bytes / sizeof(double));
        }
}

void nnk__dp_unpack_logs(nnk_model *m, const double *buf, double *loss_sum, double *out_sums, int64_t *seen)
{
    int64_t n = 2 + m->n_outputs;
    *loss_sum = buf[0];
    *seen = (int64_t)buf[1];
    for (int k = 0; k < m->n_outputs; k++)
        out_sums[k] = buf[2 + k];
    for (int k = 0; k < m->n_outputs; k++)
        for (int i = 0; i < m->outs[k].n_metrics; i++) {
            size_t bytes = m->outs[k].metrics[i].state_size;
            memcpy(m->outs[k].metrics[i].state, buf + n, bytes);
            n += (int64_t)(bytes / sizeof(double));
        }
}

const void *nnk__dp_metric_state(const nnk_model *m, const double *buf, int k, int i)
{
    int64_t n = 2 + m->n_outputs;
    for (int kk = 0; kk < m->n_outputs; kk++)
        for (int ii = 0; ii < m->outs[kk].n_metrics; ii++) {
            if (kk == k && ii == i)
                return buf + n;
            n += (int64_t)(m->outs[kk].metrics[ii].state_size / sizeof(double));
        }
    return NULL;
}

/* Every weight and optimizer slot, the step count and the rate, from
 * rank 0: the processes start from the same model whatever each loaded. */
int nnk__dp_broadcast_model(nnk_model *m, const nnk_reducer *r, nnk_err *err)
{
    int nw = nnk__model_weight_count(m), ns = m->opt->n_slots, rc = NNK_OK;
    for (int i = 0; !rc && i < nw; i++) {
        nnk_weight *w = nnk__model_weight_at(m, i, NULL);
        int64_t bytes = (int64_t)sizeof(float) * nnk_tensor_elements(&w->value);
        rc = r->broadcast(r->ctx, w->value.data, bytes, 0, err);
        for (int s = 0; !rc && m->slots && s < ns; s++)
            rc = r->broadcast(r->ctx, m->slots[i * ns + s], bytes, 0, err);
    }
    if (!rc)
        rc = r->broadcast(r->ctx, &m->iteration, sizeof m->iteration, 0, err);
    if (!rc)
        rc = r->broadcast(r->ctx, &m->learning_rate, sizeof m->learning_rate, 0, err);
    return rc;
}

/* FNV-1a over the bytes of every weight. */
static uint64_t weights_hash(nnk_model *m)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < nnk__model_weight_count(m); i++) {
        nnk_weight *w = nnk__model_weight_at(m, i, NULL);
        const unsigned char *p = (const unsigned char *)w->value.data;
        for (size_t j = 0; j < sizeof(float) * (size_t)nnk_tensor_elements(&w->value); j++)
            h = (h ^ p[j]) * 1099511628211ull;
    }
    return h;
}

int nnk__dp_check_weights(nnk_model *m, const nnk_reducer *r, const char *when, nnk_err *err)
{
    uint64_t mine = weights_hash(m), first = mine;
    int rc = r->broadcast(r->ctx, &first, sizeof first, 0, err);
    double differ = mine != first;
    if (!rc)
        rc = r->sum_doubles(r->ctx, &differ, 1, err);
    if (!rc && differ > 0)
        rc = nnk_err_set(err, NNK_ECONFIG, "data-parallel training: the weights of %.0f of %d processes differ from rank 0's %s",
                         differ, r->size, when);
    return rc;
}

/* Each process's random layers (dropout) draw their own numbers: for a
 * step every layer's stream is swapped for one keyed by the shared stream
 * and the rank; afterwards the shared stream comes back and moves on by
 * one draw, alike on every process, so rank 0's backup resumes them all. */
void nnk__dp_rng_swap_in(nnk_model *m, const nnk_reducer *r, nnk_rng *shared)
{
    for (int i = 0; i < m->n_nodes; i++) {
        shared[i] = m->nodes[i].rng;
        nnk_rng key = shared[i];
        nnk__rng_seed(&m->nodes[i].rng, nnk__rng_next(&key), 3000 + (uint64_t)r->rank);
    }
}

void nnk__dp_rng_swap_out(nnk_model *m, const nnk_rng *shared)
{
    for (int i = 0; i < m->n_nodes; i++) {
        m->nodes[i].rng = shared[i];
        nnk__rng_next(&m->nodes[i].rng);
    }
}

int nnk__dp_broadcast_state(nnk_model *m, const nnk_reducer *r, nnk_err *err)
{
    int rc = NNK_OK;
    for (int i = 0; !rc && i < m->n_nodes; i++) {
        nnk_node *n = &m->nodes[i];
        for (int k = 0; !rc && k < n->layer.n_weights; k++)
            if (n->state_mask & (1u << k))
                rc = r->broadcast(r->ctx, n->layer.weights[k].value.data,
                                  (int64_t)sizeof(float) * nnk_tensor_elements(&n->layer.weights[k].value), 0, err);
    }
    return rc;
}

/* ---- gradient buckets summed while backward runs ---------------------- */

#define BUCKET_FLOATS 16384 /* a bucket is started once it holds this many */
#define MAX_BUCKETS 256

typedef struct dp_overlap {
    const nnk_reducer *r;
    float share;
    int64_t *offset;    /* per node: where its trainable gradients go (backward order) */
    int64_t total, sent; /* floats laid out; floats whose sum has started */
    int64_t filled;     /* floats packed so far */
    int last_node;      /* the last node backward reaches that has any */
    void *handle[MAX_BUCKETS];
    int n_started;
    int failed;
    nnk_err err;
} dp_overlap;

static int64_t node_trainable(const nnk_node *n)
{
    int64_t k = 0;
    for (int w = 0; w < n->layer.n_weights; w++)
        k += n->layer.weights[w].trainable ? nnk_tensor_elements(&n->layer.weights[w].value) : 0;
    return k;
}

static void start_bucket(dp_overlap *o, float *buf)
{
    if (o->failed || o->filled == o->sent)
        return;
    if (o->n_started == MAX_BUCKETS ||
        o->r->start_sum_floats(o->r->ctx, buf + o->sent, o->filled - o->sent, &o->handle[o->n_started], &o->err)) {
        o->failed = 1;
        if (!o->err.status)
            nnk_err_set(&o->err, NNK_ENOMEM, "too many gradient buckets");
        return;
    }
    o->n_started++;
    o->sent = o->filled;
}

/* After node i's backward: its gradients, weighted, into the buffer; a full
 * bucket (or the last) starts its sum. */
static void after_node(nnk_model *m, int i)
{
    dp_overlap *o = m->dp_overlap;
    nnk_node *n = &m->nodes[i];
    if (o->offset[i] < 0)
        return;
    float *buf = m->dp_buf + o->offset[i];
    for (int w = 0; w < n->layer.n_weights; w++) {
        nnk_weight *wt = &n->layer.weights[w];
        if (!wt->trainable)
            continue;
        int64_t k = nnk_tensor_elements(&wt->value);
        for (int64_t j = 0; j < k; j++)
            buf[j] = wt->grad.data[j] * o->share;
        buf += k;
    }
    o->filled = o->offset[i] + node_trainable(n);
    if (o->filled - o->sent >= BUCKET_FLOATS || i == o->last_node)
        start_bucket(o, m->dp_buf);
    if (o->r->progress)
        o->r->progress(o->r->ctx);
}

int nnk__dp_overlap_begin(nnk_model *m, const nnk_reducer *r, float share, nnk_err *err)
{
    dp_overlap *o = m->dp_overlap;
    if (!o) {
        if (!(o = calloc(1, sizeof *o)) || !(o->offset = malloc(sizeof(int64_t) * (size_t)(m->n_nodes ? m->n_nodes : 1)))) {
            free(o);
            return nnk_err_set(err, NNK_ENOMEM, "out of memory");
        }
        m->dp_overlap = o;
    }
    o->total = 0;
    o->last_node = -1;
    for (int i = m->n_nodes - 1; i >= 0; i--) { /* backward order */
        int64_t k = node_trainable(&m->nodes[i]);
        o->offset[i] = k ? o->total : -1;
        o->total += k;
        if (k)
            o->last_node = i;
    }
    if (!scratch(m, o->total))
        return nnk_err_set(err, NNK_ENOMEM, "out of memory for the gradient buffer (%lld values)", (long long)o->total);
    o->r = r;
    o->share = share;
    o->sent = o->filled = 0;
    o->n_started = 0;
    o->failed = 0;
    o->err = (nnk_err){NNK_OK, ""};
    m->after_backward = after_node;
    return NNK_OK;
}

int nnk__dp_overlap_end(nnk_model *m, int backward_failed, nnk_err *err)
{
    dp_overlap *o = m->dp_overlap;
    m->after_backward = NULL;
    if (!backward_failed)
        start_bucket(o, m->dp_buf); /* whatever backward left */
    int rc = NNK_OK;
    for (int b = 0; b < o->n_started; b++) { /* every started sum completes, even after a failure */
        nnk_err werr = {NNK_OK, ""};
        if (o->r->wait_sum(o->r->ctx, o->handle[b], &werr) && !rc)
            rc = nnk_err_set(err, werr.status, "%s", werr.msg);
    }
    if (backward_failed)
        return backward_failed;
    if (o->failed)
        return nnk_err_set(err, o->err.status, "%s", o->err.msg);
    for (int i = 0; !rc && i < m->n_nodes; i++) {
        if (o->offset[i] < 0)
            continue;
        const float *buf = m->dp_buf + o->offset[i];
        nnk_node *n = &m->nodes[i];
        for (int w = 0; w < n->layer.n_weights; w++) {
            nnk_weight *wt = &n->layer.weights[w];
            if (!wt->trainable)
                continue;
            int64_t k = nnk_tensor_elements(&wt->value);
            memcpy(wt->grad.data, buf, sizeof(float) * (size_t)k);
            buf += k;
        }
    }
    return rc;
}

void nnk__dp_overlap_free(nnk_model *m)
{
    dp_overlap *o = m->dp_overlap;
    if (o)
        free(o->offset);
    free(o);
    m->dp_overlap = NULL;
}

/* ---- sharded data -------------------------------------------------------- */

static int64_t part_of(int64_t n, int parts, int part)
{
    return n / parts + (part < n % parts);
}

int64_t nnk__dp_shard_steps(const nnk_reducer *r, int64_t total, int64_t batch)
{
    int64_t steps = 0;
    for (int q = 0; q < r->size; q++) { /* the longest part decides; the others give no row at the end */
        int64_t rows = part_of(total, r->size, q), per = part_of(batch, r->size, q);
        int64_t k = per > 0 ? (rows + per - 1) / per : 0;
        steps = k > steps ? k : steps;
    }
    return steps;
}

void nnk__dp_shard_batch(const nnk_reducer *r, int64_t total, int64_t batch, int64_t b, int64_t *lo, int64_t *rows,
                        int64_t *global)
{
    *global = 0;
    for (int q = 0; q < r->size; q++) {
        int64_t have = part_of(total, r->size, q), per = part_of(batch, r->size, q), start = b * per;
        int64_t n = have - start < per ? have - start : per;
        n = n > 0 ? n : 0;
        *global += n;
        if (q == r->rank) {
            *lo = start;
            *rows = n;
        }
    }
}
