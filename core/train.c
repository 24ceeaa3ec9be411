/* The training loop with Keras semantics: fit, evaluate, predict, and the
 * callbacks that watch them. */
#include "internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void nnk_fit_options_init(nnk_fit_options *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 1;
    o->batch_size = 32;
    o->shuffle = 1;
    o->seed = 42;
}

/* ---- callbacks ---------------------------------------------------------- */

nnk_callback *nnk_callback_new(nnk_registry *reg, const char *type,
                               const char *name, const char *const *keys,
                               const char *const *values,
                               const char *const *where, int n_params,
                               nnk_err *err)
{
    char owner[200];
    snprintf(owner, sizeof owner, "callback '%s'", name ? name : type);
    const nnk_component_info *c = nnk_registry_find(reg, NNK_KIND_CALLBACK, type);
    if (!c) {
        char list[1024];
        nnk_registry_names(reg, NNK_KIND_CALLBACK, list, sizeof list);
        nnk_err_set(err, NNK_ECONFIG, "%s: unknown callback '%s'; available: %s",
                    owner, type, list);
        return NULL;
    }
    nnk_callback *cb = calloc(1, sizeof *cb);
    if (!cb) {
        nnk_err_set(err, NNK_ENOMEM, "out of memory");
        return NULL;
    }
    cb->vt = c->vtable;
    cb->name = strdup(name ? name : type);
    if (!cb->name) {
        free(cb);
        nnk_err_set(err, NNK_ENOMEM, "out of memory");
        return NULL;
    }
    cb->params = nnk_params_new(cb->vt->params, cb->vt->config_size, owner, err);
    int rc = cb->params ? NNK_OK : NNK_ECONFIG;
    for (int i = 0; !rc && i < n_params; i++)
        rc = nnk_params_set(cb->params, keys[i], values[i],
                            where ? where[i] : NULL, err);
    if (!rc)
        rc = nnk_params_check_required(cb->params, err);
    if (!rc && cb->vt->create) {
        nnk_err cerr = {NNK_OK, ""};
        rc = cb->vt->create(nnk_params_config(cb->params), &cb->state, &cerr);
        if (rc)
            nnk_err_set(err, cerr.status ? cerr.status : NNK_ECONFIG, "%s: %s",
                        owner, cerr.msg);
    }
    if (rc) {
        nnk_params_free(cb->params);
        free(cb->name);
        free(cb);
        return NULL;
    }
    return cb;
}

nnk_callback *nnk_callback_from_fn(nnk_callback_fn fn, void *user)
{
    nnk_callback *cb = calloc(1, sizeof *cb);
    if (cb) {
        cb->fn = fn;
        cb->user = user;
    }
    return cb;
}

void nnk_callback_free(nnk_callback *cb)
{
    if (!cb)
        return;
    if (cb->vt && cb->vt->destroy)
        cb->vt->destroy(cb->state);
    nnk_params_free(cb->params);
    free(cb->name);
    free(cb);
}

static int fire(const nnk_fit_options *o, nnk_event ev, const nnk_train_info *info,
                nnk_err *err)
{
    for (int i = 0; i < o->n_callbacks; i++) {
        nnk_callback *cb = o->callbacks[i];
        int rc = cb->vt ? cb->vt->on_event(cb->state, ev, info, err)
                        : cb->fn(cb->user, ev, info, err);
        if (rc)
            return rc;
    }
    return NNK_OK;
}

/* ---- losses, metrics and logs ----------------------------------------------- */

static void metrics_reset(nnk_model *m)
{
    for (int k = 0; k < m->n_outputs; k++)
        for (int i = 0; i < m->outs[k].n_metrics; i++)
            memset(m->outs[k].metrics[i].state, 0, m->outs[k].metrics[i].state_size);
}

static void metrics_update(nnk_model *m, int64_t rows)
{
    for (int k = 0; k < m->n_outputs; k++) {
        nnk_output *o = &m->outs[k];
        const nnk_node *n = &m->nodes[o->node];
        for (int i = 0; i < o->n_metrics; i++)
            o->metrics[i].vt->update(nnk_params_config(o->metrics[i].params), o->metrics[i].state,
                                     n->a.data, o->y, rows, o->cols);
    }
}

/* Values in log_names' order, from summed losses over `seen` rows; the
 * metrics' states are the model's, or those packed in summed (every
 * process's, see nnk__dp_pack_logs) when it is not NULL. */
static int log_values_of(const nnk_model *m, double total, const double *out_losses, double seen,
                         const double *summed, double *values)
{
    int n = 0;
    values[n++] = seen > 0 ? total / seen : 0;
    for (int k = 0; k < m->n_outputs; k++) {
        const nnk_output *o = &m->outs[k];
        if (m->n_outputs > 1)
            values[n++] = seen > 0 ? out_losses[k] / seen : 0;
        for (int i = 0; i < o->n_metrics; i++) {
            const nnk_metric_inst *mi = &o->metrics[i];
            const void *cfg = nnk_params_config(mi->params);
            const void *state = summed ? nnk__dp_metric_state(m, summed, k, i) : mi->state;
            if (mi->values)
                mi->values->results(cfg, state, values + n);
            else
                values[n] = mi->vt->result(cfg, state);
            n += mi->n_values;
        }
    }
    return n;
}

static int log_values(const nnk_model *m, double total, const double *out_losses, double seen, double *values)
{
    return log_values_of(m, total, out_losses, seen, NULL, values);
}

/* The logs over every process: the sums reduced, then the values. */
static int reduced_log_values(const nnk_model *m, const nnk_reducer *r, double total, const double *out_losses,
                              double seen, double *buf, double *values, nnk_err *err)
{
    nnk__dp_pack_logs(m, total, out_losses, seen, buf);
    int rc = r->sum_doubles(r->ctx, buf, nnk__dp_log_count(m), err);
    if (!rc)
        log_values_of(m, buf[0], buf + 2, buf[1], buf, values);
    return rc;
}

int nnk__model_loss(nnk_model *m, int64_t rows, double *loss, double *out_losses, int grads,
                   nnk_err *err)
{
    int perceptron = (m->opt->flags & NNK_OPT_PERCEPTRON) != 0;
    double total = 0;
    for (int k = 0; k < m->n_outputs; k++) {
        nnk_output *o = &m->outs[k];
        const nnk_node *n = &m->nodes[o->node];
        const void *cfg = nnk_params_config(o->loss_params);
        float *g = grads && !perceptron ? o->grad : NULL;
        double l = 0;
        int rc = o->fused ? o->loss->compute_from_logits(cfg, n->z.data, o->y, rows, o->cols, &l, g, err)
                          : o->loss->compute(cfg, n->a.data, o->y, rows, o->cols, &l, g, err);
        if (rc)
            return rc;
        if (perceptron && grads) /* the error signal yhat - y, straight into the logits */
            for (int64_t i = 0; i < rows * o->cols; i++)
                o->grad[i] = n->a.data[i] - o->y[i];
        else if (g && o->weight != 1.0)
            for (int64_t i = 0; i < rows * o->cols; i++)
                g[i] *= (float)o->weight;
        if (out_losses)
            out_losses[k] = l;
        total += o->weight * l;
    }
    /* regularization: in the loss always (as Keras reports it), in the
     * gradients when training */
    int nw = nnk__model_weight_count(m);
    for (int i = 0; i < nw; i++) {
        const nnk_weight *w = nnk__model_weight_at(m, i, NULL);
        if (!w->trainable || (w->l1 == 0 && w->l2 == 0))
            continue;
        int64_t n = nnk_tensor_elements(&w->value);
        double pen = 0;
        for (int64_t j = 0; j < n; j++)
            pen += w->l1 * fabs(w->value.data[j]) + w->l2 * (double)w->value.data[j] * w->value.data[j];
        total += pen;
    }
    *loss = total;
    int rc = grads ? nnk__model_backward(m, rows, perceptron, err) : NNK_OK;
    for (int i = 0; !rc && grads && i < nw; i++) {
        nnk_weight *w = nnk__model_weight_at(m, i, NULL);
        if (!w->trainable || (w->l1 == 0 && w->l2 == 0))
            continue;
        int64_t n = nnk_tensor_elements(&w->value);
        for (int64_t j = 0; j < n; j++) {
            float v = w->value.data[j];
            w->grad.data[j] += w->l1 * (float)((v > 0) - (v < 0)) + 2 * w->l2 * v;
        }
    }
    return rc;
}

/* Evaluates in order; writes the logs (log_names' order) into values. */
static int evaluate_pass(nnk_model *m, const nnk_dataset *d, int64_t bs, const nnk_reducer *red, double *values,
                         nnk_err *err)
{
    int64_t *idx = malloc((size_t)(bs > 0 ? bs : 1) * sizeof(int64_t));
    int rc = !idx ? nnk_err_set(err, NNK_ENOMEM, "out of memory") : NNK_OK;
    metrics_reset(m);
    double total = 0, outs[NNK_MAX_OUTPUTS] = {0}, l, ol[NNK_MAX_OUTPUTS];
    int64_t lo = 0, n = d->rows; /* with several processes, each evaluates its shard */
    if (red)
        nnk__dp_slice(red, d->rows, &lo, &n);
    for (int64_t start = lo, rows; !rc && start < lo + n; start += rows) {
        rc = nnk__model_load_rows(m, d, start, lo + n - start < bs ? lo + n - start : bs, idx, &rows, err);
        if (!rc)
            rc = nnk__model_forward(m, rows, 0, err);
        if (!rc)
            rc = nnk__model_loss(m, rows, &l, ol, 0, err);
        if (rc)
            break;
        total += l * (double)rows;
        for (int k = 0; k < m->n_outputs; k++)
            outs[k] += ol[k] * (double)rows;
        metrics_update(m, rows);
    }
    if (!rc && red) {
        double *buf = malloc(sizeof(double) * (size_t)nnk__dp_log_count(m));
        rc = buf ? reduced_log_values(m, red, total, outs, (double)n, buf, values, err)
                 : nnk_err_set(err, NNK_ENOMEM, "out of memory");
        free(buf);
    } else if (!rc) {
        log_values(m, total, outs, (double)d->rows, values);
    }
    free(idx);
    return rc;
}

static int check_ready(nnk_model *m, const nnk_dataset *d, int need_labels, nnk_err *err)
{
    if (!m->built)
        return nnk_err_set(err, NNK_ECONFIG, "the model must be built first");
    if (need_labels && d->y_cols == 0)
        return nnk_err_set(err, NNK_EDATA, "data '%s' has no labels", d->source);
    return nnk__model_check_data(m, d, err);
}

int nnk_model_evaluate(nnk_model *m, const nnk_dataset *d, int64_t batch_size,
                       char names[][64], double *values, int cap, int *n, nnk_err *err)
{
    int rc = check_ready(m, d, 1, err);
    if (rc)
        return rc;
    char(*tmp)[NNK_LOG_NAME_MAX] = malloc(sizeof *tmp * (MAX_LOGS / 2));
    if (!tmp)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    int count = nnk__log_names(m, tmp, NULL, MAX_LOGS / 2, err);
    if (count < 0)
        rc = NNK_ECONFIG;
    else if (cap < count)
        rc = nnk_err_set(err, NNK_EUSAGE, "evaluate: room for %d values, need %d", cap, count);
    if (batch_size < 1)
        batch_size = 32;
    if (batch_size > d->rows) /* a batch never holds more than the data */
        batch_size = d->rows > 0 ? d->rows : 1;
    if (!rc)
        rc = evaluate_pass(m, d, batch_size, NULL, values, err);
    if (!rc) {
        memcpy(names, tmp, sizeof(tmp[0]) * (size_t)count);
        *n = count;
    }
    free(tmp);
    return rc;
}

int nnk_model_outputs(const nnk_model *m, const char **names, int64_t *cols, int cap)
{
    for (int k = 0; k < m->n_outputs && k < cap; k++) {
        if (names)
            names[k] = m->outs[k].name;
        if (cols)
            cols[k] = m->outs[k].cols;
    }
    return m->n_outputs;
}

int nnk_model_inputs(const nnk_model *m, const char **names, nnk_shape *shapes, int cap)
{
    for (int i = 0; i < m->n_inputs && i < cap; i++) {
        if (names)
            names[i] = m->inputs[i].name;
        if (shapes)
            shapes[i] = m->inputs[i].shape;
    }
    return m->n_inputs;
}

int64_t nnk_model_output_cols(const nnk_model *m)
{
    int64_t n = 0;
    for (int k = 0; k < m->n_outputs; k++)
        n += m->outs[k].cols;
    return n;
}

float *nnk_model_predict(nnk_model *m, const nnk_dataset *d, int64_t bs, int64_t *out_cols,
                         nnk_err *err)
{
    if (check_ready(m, d, 0, err))
        return NULL;
    if (bs < 1)
        bs = 32;
    if (bs > d->rows)
        bs = d->rows > 0 ? d->rows : 1;
    int64_t cols = nnk_model_output_cols(m), total;
    if (nnk_size_mul(d->rows, cols, &total)) {
        nnk_err_set(err, NNK_ENOMEM, "predict: %lld rows of %lld outputs are too many", (long long)d->rows,
                    (long long)cols);
        return NULL;
    }
    float *res = malloc((size_t)(total + 1) * sizeof(float));
    int64_t *idx = malloc((size_t)bs * sizeof(int64_t));
    int rc = (!res || !idx) ? nnk_err_set(err, NNK_ENOMEM, "out of memory") : NNK_OK;
    for (int64_t start = 0, rows = 0; !rc && start < d->rows; start += bs) {
        rc = nnk__model_load_rows(m, d, start, bs, idx, &rows, err);
        if (!rc)
            rc = nnk__model_forward(m, rows, 0, err);
        for (int64_t r = 0; !rc && r < rows; r++) {
            float *dst = res + (start + r) * cols;
            for (int k = 0; k < m->n_outputs; k++) {
                const nnk_node *n = &m->nodes[m->outs[k].node];
                memcpy(dst, n->a.data + r * n->out_cols, (size_t)n->out_cols * sizeof(float));
                dst += n->out_cols;
            }
        }
    }
    free(idx);
    if (rc) {
        free(res);
        return NULL;
    }
    *out_cols = cols;
    return res;
}

/* ---- fit ---------------------------------------------------------------- */

static void shuffle(nnk_rng *r, int64_t *perm, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(nnk__rng_next(r) % (uint64_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* Keras's clipping: clipvalue element-wise, clipnorm on each weight's
 * gradient, global_clipnorm on all of them together. */
static void clip_gradients(nnk_model *m)
{
    int nw = nnk__model_weight_count(m);
    double global = 0;
    for (int i = 0; i < nw; i++) {
        nnk_weight *w = nnk__model_weight_at(m, i, NULL);
        int64_t n = nnk_tensor_elements(&w->value);
        if (!w->trainable)
            continue;
        if (m->clipvalue > 0)
            for (int64_t j = 0; j < n; j++)
                w->grad.data[j] = fminf(fmaxf(w->grad.data[j], (float)-m->clipvalue), (float)m->clipvalue);
        double sq = 0;
        for (int64_t j = 0; j < n; j++)
            sq += (double)w->grad.data[j] * w->grad.data[j];
        if (m->clipnorm > 0 && sq > m->clipnorm * m->clipnorm) {
            float f = (float)(m->clipnorm / sqrt(sq));
            for (int64_t j = 0; j < n; j++)
                w->grad.data[j] *= f;
            sq = m->clipnorm * m->clipnorm;
        }
        global += sq;
    }
    if (m->global_clipnorm > 0 && global > m->global_clipnorm * m->global_clipnorm) {
        float f = (float)(m->global_clipnorm / sqrt(global));
        for (int i = 0; i < nw; i++) {
            nnk_weight *w = nnk__model_weight_at(m, i, NULL);
            int64_t n = nnk_tensor_elements(&w->value);
            for (int64_t j = 0; w->trainable && j < n; j++)
                w->grad.data[j] *= f;
        }
    }
}

/* Plain SGD folded into the layers' backward (nnkit.train.fused_sgd/1):
 * for a step whose update is exactly w <- w - lr g (the optimizer's own
 * fused_sgd says so, no clipping), each layer with the capability and no
 * regularized weight applies it while computing g. Returns how many
 * layers do. */
static int fold_sgd(nnk_model *m)
{
    int plain = m->opt_fused && m->opt_fused->plain(nnk_params_config(m->opt_params)) &&
                !(m->opt->flags & NNK_OPT_PERCEPTRON) && m->clipvalue <= 0 && m->clipnorm <= 0 &&
                m->global_clipnorm <= 0 && m->learning_rate > 0;
    int folded = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        nnk_node *n = &m->nodes[i];
        int can = plain && n->fused_sgd;
        for (int k = 0; can && k < n->layer.n_weights; k++)
            can = !n->layer.weights[k].trainable || (n->layer.weights[k].l1 == 0 && n->layer.weights[k].l2 == 0);
        n->fused_sgd_rate = can ? (float)m->learning_rate : 0.0f;
        folded += can;
    }
    return folded;
}

static void optimizer_step(nnk_model *m)
{
    int nw = nnk__model_weight_count(m), ns = m->opt->n_slots;
    const void *cfg = nnk_params_config(m->opt_params);
    if (m->clipvalue > 0 || m->clipnorm > 0 || m->global_clipnorm > 0)
        clip_gradients(m);
    m->iteration++;
    for (int i = 0; i < nw; i++) {
        nnk_node *node;
        nnk_weight *w = nnk__model_weight_at(m, i, &node);
        if (!w->trainable || node->fused_sgd_rate > 0) /* the layer applied it in backward */
            continue;
        int64_t n = nnk_tensor_elements(&w->value);
        m->opt->step(cfg, m->learning_rate, m->iteration, w->value.data,
                     w->grad.data, ns ? m->slots + i * ns : NULL, n);
    }
}

/* Whether a trainable weight has l1 or l2, whose gradient the loss adds
 * after backward. */
static int regularized(const nnk_model *m)
{
    for (int i = 0; i < nnk__model_weight_count(m); i++) {
        const nnk_weight *w = nnk__model_weight_at((nnk_model *)m, i, NULL);
        if (w->trainable && (w->l1 != 0 || w->l2 != 0))
            return 1;
    }
    return 0;
}

static int train_batch(nnk_fit_state *s, int64_t b, nnk_err *err)
{
    nnk_model *m = s->m;
    int64_t start = b * s->bs;
    int64_t global = s->d->rows - start < s->bs ? s->d->rows - start : s->bs, lo = 0, rows = global;
    if (s->shard_total) { /* sharded: this process's share, from its own rows */
        nnk__dp_shard_batch(s->red, s->shard_total, s->bs, b, &lo, &rows, &global);
        start = 0;
    } else if (s->red) { /* data-parallel: this process's share of the global batch */
        nnk__dp_slice(s->red, global, &lo, &rows);
    }
    double loss = 0, outs[NNK_MAX_OUTPUTS] = {0};
    int rc = nnk__model_ensure_rows(m, rows, err);
    if (!rc && rows > 0)
        rc = nnk__model_gather_batch(m, s->d, s->perm + start + lo, rows, err);
    if (s->red) { /* each process's own dropout masks; layers may sum statistics over the processes */
        nnk__dp_rng_swap_in(m, s->red, s->dp_rngs);
        for (int i = 0; i < m->n_nodes; i++)
            m->nodes[i].dp = s->red;
    }
    if (!rc && rows > 0)
        rc = nnk__model_forward(m, rows, 1, err);
    if (s->red)
        nnk__dp_rng_swap_out(m, s->dp_rngs);
    if (!rc && !s->red) /* with a reducer the update waits for the sum */
        fold_sgd(m);
    /* the gradient sum: in buckets as backward produces them, or in one call after */
    float share = s->red ? (float)((double)rows / (double)global) : 1.0f;
    int overlap = !rc && s->red && s->red->start_sum_floats && s->red->wait_sum && s->o->gradient_buckets &&
                  !regularized(m);
    if (overlap)
        rc = nnk__dp_overlap_begin(m, s->red, share, err);
    if (!rc && rows > 0) {
        rc = nnk__model_loss(m, rows, &loss, outs, 1, err);
    } else if (!rc) { /* no row here: a pass of none, so layers that sum statistics meet the others */
        rc = nnk__model_forward(m, 0, 1, err);
        if (!rc)
            rc = nnk__model_backward(m, 0, 0, err);
        nnk__dp_zero_gradients(m);
    }
    for (int i = 0; s->red && i < m->n_nodes; i++)
        m->nodes[i].dp = NULL;
    if (overlap)
        rc = nnk__dp_overlap_end(m, rc, err);
    else if (!rc && s->red)
        rc = nnk__dp_sum_gradients(m, s->red, share, err);
    if (!rc)
        optimizer_step(m);
    if (!rc && s->red)
        rc = nnk__dp_broadcast_state(m, s->red, err);
    for (int i = 0; i < m->n_nodes; i++) /* gradients computed elsewhere (callbacks, checks) are plain */
        m->nodes[i].fused_sgd_rate = 0;
    if (!rc && s->red && s->o->check_weights_every_step) {
        char when[96];
        snprintf(when, sizeof when, "after epoch %lld, batch %lld", (long long)s->info.epoch + 1, (long long)b + 1);
        rc = nnk__dp_check_weights(m, s->red, when, err);
    }
    if (rc)
        return rc;
    if (rows > 0)
        metrics_update(m, rows);
    s->loss_sum += loss * (double)rows;
    for (int k = 0; k < m->n_outputs; k++)
        s->out_sums[k] += outs[k] * (double)rows;
    s->seen += rows;
    return NNK_OK;
}

static void shard_order(nnk_fit_state *s)
{
    for (int64_t i = 0; i < s->d->rows; i++)
        s->perm[i] = i;
    if (!s->o->shuffle)
        return;
    nnk_rng r;
    nnk__rng_seed_epoch(&r, s->o->seed, 6000 + (uint64_t)s->red->rank, s->info.epoch);
    shuffle(&r, s->perm, s->d->rows);
}

static int running_logs(nnk_fit_state *s, nnk_err *err)
{
    if (s->red) { /* every process's rows */
        int rc = reduced_log_values(s->m, s->red, s->loss_sum, s->out_sums, (double)s->seen, s->log_buf, s->values, err);
        s->info.n_logs = s->n_train_logs;
        return rc;
    }
    s->info.n_logs = log_values(s->m, s->loss_sum, s->out_sums, (double)s->seen, s->values);
    return NNK_OK;
}

/* Data-parallel: rank 0 writes the backup with the running sums of every
 * process (the last logs' reduction), so a resumed run's logs count each
 * row once: rank 0 takes them back, the others start from nothing. */
static int global_backup(nnk_fit_state *s, nnk_err *err)
{
    nnk_model *m = s->m;
    if (s->red->rank != 0)
        return NNK_OK;
    int64_t n = nnk__dp_log_count(m);
    double *mine = malloc(sizeof(double) * (size_t)n);
    if (!mine)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    nnk__dp_pack_logs(m, s->loss_sum, s->out_sums, (double)s->seen, mine);
    nnk__dp_unpack_logs(m, s->log_buf, &s->loss_sum, s->out_sums, &s->seen);
    int rc = nnk__fit_backup_save(m, s->pending_backup, err);
    nnk__dp_unpack_logs(m, mine, &s->loss_sum, s->out_sums, &s->seen);
    free(mine);
    return rc;
}

/* Writes the backup a callback asked for during the event just fired. */
static int write_pending_backup(nnk_fit_state *s, nnk_err *err)
{
    if (!s->pending_backup[0])
        return NNK_OK;
    int rc = s->red ? global_backup(s, err) : nnk__fit_backup_save(s->m, s->pending_backup, err);
    s->pending_backup[0] = 0;
    return rc;
}

/* One epoch, or the rest of one when a backup left it part done. */
static int run_epoch(nnk_fit_state *s, nnk_err *err)
{
    nnk_model *m = s->m;
    const nnk_fit_options *o = s->o;
    double t0 = now_seconds();
    if (s->shard_total) /* its own rows, in an order drawn for this epoch and process (a backup needs none) */
        shard_order(s);
    if (s->next_batch == 0) { /* the epoch's random streams, keyed by seed and epoch (a backup carries them mid-epoch) */
        if (o->shuffle && !s->shard_total) {
            for (int64_t i = 0; i < s->d->rows; i++)
                s->perm[i] = i;
            nnk__rng_seed_epoch(&s->data_rng, o->seed, 1, s->info.epoch);
            shuffle(&s->data_rng, s->perm, s->d->rows);
        }
        for (int i = 0; i < m->n_nodes; i++)
            nnk__rng_seed_epoch(&m->nodes[i].rng, m->seed, 1000 + (uint64_t)i, s->info.epoch);
        metrics_reset(m);
        s->loss_sum = 0;
        memset(s->out_sums, 0, sizeof s->out_sums);
        s->seen = 0;
    }
    s->info.n_logs = 0;
    int rc = fire(o, NNK_EPOCH_BEGIN, &s->info, err);
    for (int64_t b = s->next_batch; !rc && b < s->steps && !s->stop; b++) {
        s->info.batch = b;
        if ((rc = fire(o, NNK_BATCH_BEGIN, &s->info, err)))
            break;
        rc = train_batch(s, b, err);
        s->info.global_batch++;
        s->next_batch = b + 1;
        if (!rc)
            rc = running_logs(s, err);
        if (!rc)
            rc = fire(o, NNK_BATCH_END, &s->info, err);
        if (!rc)
            rc = write_pending_backup(s, err);
    }
    if (!rc)
        rc = running_logs(s, err);
    if (rc)
        return rc;
    int n = s->n_train_logs;
    if (o->validation) {
        if ((rc = evaluate_pass(m, o->validation, s->bs, s->red, s->values + n, err)))
            return rc;
        n *= 2;
    }
    s->info.n_logs = n;
    s->info.epoch_seconds = now_seconds() - t0;
    return NNK_OK;
}

int nnk_callback_backup(nnk_callback *const *cbs, int n, const char *run_dir, char *path, size_t size)
{
    for (int i = 0; i < n; i++) {
        nnk_callback *cb = cbs[i];
        if (cb->vt && cb->vt->backup_path && !cb->vt->backup_path(cb->state, run_dir, path, size) &&
            access(path, F_OK) == 0)
            return 1;
    }
    return 0;
}

int nnk_callbacks_run_saved(nnk_callback *const *cbs, int n, const char *run_dir, nnk_err *err)
{
    nnk_train_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    info.run_dir = run_dir;
    info.keep_backup = 1;
    nnk_fit_options o;
    nnk_fit_options_init(&o);
    o.callbacks = cbs;
    o.n_callbacks = n;
    return fire(&o, NNK_RUN_SAVED, &info, err);
}

/* A model built in code and fit on a CSV keeps the columns it learnt from
 * (as a runner's model does from its experiment), so predict and evaluate
 * read them from a file by name. Text columns are left to the runner: the
 * encoded names are not the file's. */
static int take_columns(nnk_model *m, const nnk_dataset *d, nnk_err *err)
{
    if ((m->feature_columns && *m->feature_columns) || !d->feature_names || !d->label_columns || m->n_categories)
        return NNK_OK;
    size_t len = 1;
    for (int64_t c = 0; c < d->x_cols; c++)
        len += strlen(d->feature_names[c]) + 2;
    char *list = malloc(len);
    if (!list)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    size_t at = 0;
    for (int64_t c = 0; c < d->x_cols; c++)
        at += (size_t)snprintf(list + at, len - at, "%s%s", c ? ", " : "", d->feature_names[c]);
    list[at] = 0;
    int rc = nnk_model_set_columns(m, d->label_columns, list, err);
    free(list);
    return rc;
}

/* An output whose accuracy compares signs (a sign or tanh unit) trained on
 * labels that are all 0 or 1 counts every 0 as wrong: say so once. */
static void note_label_signs(const nnk_model *m, const nnk_dataset *d)
{
    for (int k = 0; k < m->n_outputs; k++) {
        const nnk_output *o = &m->outs[k];
        if (!o->signed_accuracy || o->label_cols != 1 || !d->y)
            continue;
        int64_t zeros = 0, other = 0;
        for (int64_t r = 0; r < d->rows; r++) {
            float y = d->y[r * d->y_cols + o->label_off];
            zeros += y == 0;
            other += y != 0 && y != 1;
        }
        if (zeros && !other)
            nnk__host_table.note("output '%s': its accuracy compares signs (-1 or +1 against a threshold of 0), but its "
                                "labels are 0 and 1; give -1 for the negative class", o->name);
    }
}

/* What fit checks before anything runs: the data fits the model, the
 * options make sense; then the adapt hooks see the training data. */
static int fit_check(nnk_model *m, const nnk_dataset *train, const nnk_fit_options *o, nnk_err *err)
{
    int rc = check_ready(m, train, 1, err);
    if (!rc && o->validation)
        rc = check_ready(m, o->validation, 1, err);
    if (rc)
        return rc;
    if (train->rows == 0)
        return nnk_err_set(err, NNK_EDATA, "data '%s' has no rows", train->source);
    if (o->epochs < 0 || o->batch_size < 1 || o->initial_epoch < 0)
        return nnk_err_set(err, NNK_EUSAGE, "fit: epochs and initial_epoch must be >= 0 and batch_size >= 1");
    if ((rc = nnk_model_adapt(m, train, 256, err)))
        return rc;
    if (!o->reducer || o->reducer->rank == 0)
        note_label_signs(m, train);
    return take_columns(m, train, err);
}

static void fit_state_free(nnk_fit_state *s)
{
    free(s->perm);
    free(s->log_buf);
    free(s->dp_rngs);
}

/* The fit's state: its logs' names, the data-parallel buffers, the batch
 * size and steps, the data order. */
static int fit_state_init(nnk_fit_state *s, nnk_model *m, const nnk_dataset *train, const nnk_fit_options *o,
                          nnk_err *err)
{
    memset(s, 0, sizeof *s);
    s->n_train_logs = nnk__log_names(m, s->names, NULL, MAX_LOGS / 2, err);
    if (s->n_train_logs < 0)
        return NNK_ECONFIG;
    s->m = m;
    s->d = train;
    s->o = o;
    s->red = o->reducer && o->reducer->size > 1 ? o->reducer : NULL;
    int rc = s->red ? nnk__dp_check(m, s->red, err) : NNK_OK;
    if (rc)
        return rc;
    if (s->red && (!(s->log_buf = malloc(sizeof(double) * (size_t)nnk__dp_log_count(m))) ||
                   !(s->dp_rngs = malloc(sizeof(nnk_rng) * (size_t)(m->n_nodes ? m->n_nodes : 1)))))
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    s->bs = (m->opt->flags & NNK_OPT_PERCEPTRON) ? 1 : o->batch_size;
    if (s->bs > train->rows)
        s->bs = train->rows;
    s->steps = (train->rows + s->bs - 1) / s->bs;
    if (s->red && o->sharded_rows > 0) { /* each process holds its part of the data */
        s->shard_total = o->sharded_rows;
        s->bs = o->batch_size < o->sharded_rows ? o->batch_size : o->sharded_rows;
        s->steps = nnk__dp_shard_steps(s->red, s->shard_total, s->bs);
    }
    if (!(s->perm = malloc((size_t)train->rows * sizeof(int64_t))))
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if ((rc = nnk__model_ensure_rows(m, s->bs, err)))
        return rc;
    for (int64_t i = 0; i < train->rows; i++)
        s->perm[i] = i;
    for (int k = 0; k < s->n_train_logs; k++)
        snprintf(s->names[s->n_train_logs + k], NNK_LOG_NAME_MAX, "val_%.59s", s->names[k]);
    for (int k = 0; k < MAX_LOGS; k++)
        s->name_ptrs[k] = s->names[k];
    nnk__rng_seed(&s->data_rng, o->seed, 1);
    if (o->initial_epoch > 0) /* continued training: numbering goes on */
        s->next_epoch = o->initial_epoch;
    return NNK_OK;
}

/* What the callbacks are told (nnk_train_info). */
static void fit_info_init(nnk_fit_state *s, nnk_model *m, const nnk_fit_options *o)
{
    s->info.struct_size = sizeof s->info;
    s->info.n_log_names = o->validation ? 2 * s->n_train_logs : s->n_train_logs;
    s->info.epochs = o->epochs;
    s->info.steps = s->steps;
    s->info.samples = s->shard_total ? s->shard_total : s->d->rows;
    s->info.log_names = s->name_ptrs;
    s->info.log_values = s->values;
    s->info.learning_rate = &m->learning_rate;
    s->info.stop = &s->stop;
    s->info.run_dir = o->run_dir;
    s->info.model = (nnk_model_view *)m;
    s->info.experiment = o->experiment;
    s->info.n_hparams = o->n_hparams;
    s->info.hparam_names = o->hparam_names;
    s->info.hparam_values = o->hparam_values;
    s->info.epoch = s->next_epoch;
    s->info.global_batch = s->next_epoch * s->steps;
    s->info.keep_backup = o->keep_backups != 0;
    s->info.rank = s->red ? s->red->rank : 0;
    s->info.size = s->red ? s->red->size : 1;
}

/* After TRAIN_BEGIN (so the callbacks' restored state is what counts): the
 * backup's state when resuming, and every process on rank 0's model. */
static int fit_resume(nnk_fit_state *s, const char *resume, nnk_err *err)
{
    nnk_model *m = s->m;
    int rc = NNK_OK;
    if (resume) {
        rc = nnk__fit_backup_load(m, s, resume, err);
        if (!rc && s->next_epoch >= s->o->epochs)
            nnk__host_table.note("resuming from '%s': training had finished; saving its results", resume);
        else if (!rc)
            nnk__host_table.note("resuming from '%s': epoch %lld, batch %lld", resume, (long long)s->next_epoch + 1,
                                 (long long)s->next_batch);
    }
    if (!rc && s->red) /* every process starts from rank 0's model, whatever each loaded */
        rc = nnk__dp_broadcast_model(m, s->red, err);
    if (!rc && s->red && resume && s->red->rank != 0) { /* the backup's sums are every process's: rank 0 has them */
        s->loss_sum = 0;
        memset(s->out_sums, 0, sizeof s->out_sums);
        s->seen = 0;
        metrics_reset(m);
    }
    return rc;
}

/* The epochs, each ending in the weights' check (data-parallel), the
 * history, EPOCH_END and the backup it asked for. */
static int fit_epochs(nnk_fit_state *s, nnk_err *err)
{
    const nnk_fit_options *o = s->o;
    int rc = NNK_OK;
    for (int64_t e = s->next_epoch; !rc && e < o->epochs && !s->stop; e++) {
        s->info.epoch = e;
        rc = run_epoch(s, err);
        if (!rc && s->red) {
            char when[64];
            snprintf(when, sizeof when, "after epoch %lld", (long long)e + 1);
            rc = nnk__dp_check_weights(s->m, s->red, when, err);
        }
        if (!rc && nnk__history_append(s->history, s->info.n_logs, s->names, s->values))
            rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
        if (!rc)
            rc = fire(o, NNK_EPOCH_END, &s->info, err);
        s->epoch_finished = 1; /* an epoch-end backup resumes at the next epoch */
        if (!rc)
            rc = write_pending_backup(s, err);
        s->epoch_finished = 0;
        s->next_batch = 0;
    }
    return rc;
}

int nnk_model_fit(nnk_model *m, const nnk_dataset *train,
                  const nnk_fit_options *o, nnk_history *history, nnk_err *err)
{
    int rc = fit_check(m, train, o, err);
    if (rc)
        return rc;
    nnk_fit_state s;
    if ((rc = fit_state_init(&s, m, train, o, err))) {
        fit_state_free(&s);
        return rc;
    }
    fit_info_init(&s, m, o);
    m->fit_data[NNK_SPLIT_TRAIN] = train;
    m->fit_data[NNK_SPLIT_VALIDATION] = o->validation;
    m->fit_data[NNK_SPLIT_TEST] = o->test;
    s.history = history;
    m->fit = &s;
    char backup[4096];
    const char *resume = nnk_callback_backup(o->callbacks, o->n_callbacks, o->run_dir, backup, sizeof backup)
                             ? backup : NULL;
    s.info.resumed = resume != NULL;
    rc = fire(o, NNK_TRAIN_BEGIN, &s.info, err);
    if (!rc)
        rc = fit_resume(&s, resume, err);
    if (!rc)
        rc = fit_epochs(&s, err);
    if (!rc)
        rc = fire(o, NNK_TRAIN_END, &s.info, err);
    m->fit = NULL;
    memset(m->fit_data, 0, sizeof m->fit_data);
    fit_state_free(&s);
    return rc;
}
