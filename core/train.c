/* The training loop with Keras semantics: fit, evaluate, predict, and the
 * callbacks that watch them. */
#include "internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LOGS 40

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

void nnk_history_clear(nnk_history *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->n_keys; i++)
        free(h->keys[i]);
    free(h->keys);
    free(h->values);
    memset(h, 0, sizeof *h);
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

/* ---- one pass over data ------------------------------------------------- */

static void metrics_reset(nnk_model *m)
{
    for (int i = 0; i < m->n_metrics; i++)
        memset(m->metrics[i].state, 0, m->metrics[i].vt->state_size);
}

static int batch_loss(nnk_model *m, int64_t rows, const float *y, double *loss,
                      float *grad, nnk_err *err)
{
    const nnk_node *out = &m->nodes[m->output];
    const void *cfg = nnk_params_config(m->loss_params);
    if (m->fused)
        return m->loss->compute_from_logits(cfg, out->z.data, y, rows,
                                            out->out_cols, loss, grad, err);
    return m->loss->compute(cfg, out->a.data, y, rows, out->out_cols, loss,
                            grad, err);
}

static void gather_labels(const nnk_dataset *d, const int64_t *idx, int64_t n,
                          float *y)
{
    for (int64_t r = 0; r < n; r++)
        memcpy(y + r * d->y_cols, d->y + idx[r] * d->y_cols,
               (size_t)d->y_cols * sizeof(float));
}

static int ensure_grad(nnk_model *m, int64_t n, nnk_err *err)
{
    if (m->grad_cap >= n)
        return NNK_OK;
    float *g = realloc(m->grad_out, (size_t)n * sizeof(float));
    if (!g)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    m->grad_out = g;
    m->grad_cap = n;
    return NNK_OK;
}

/* Evaluates in order; writes loss then each metric into values. */
static int evaluate_pass(nnk_model *m, const nnk_dataset *d, int64_t bs,
                         double *values, nnk_err *err)
{
    int64_t n = d->rows;
    int64_t *idx = malloc((size_t)(bs > 0 ? bs : 1) * sizeof(int64_t));
    float *y = malloc((size_t)(bs * (d->y_cols ? d->y_cols : 1)) * sizeof(float));
    int rc = (!idx || !y) ? nnk_err_set(err, NNK_ENOMEM, "out of memory") : NNK_OK;
    if (!rc)
        rc = nnk_model_ensure_rows(m, bs, err);
    metrics_reset(m);
    double loss_sum = 0;
    for (int64_t start = 0; !rc && start < n; start += bs) {
        int64_t rows = n - start < bs ? n - start : bs;
        for (int64_t r = 0; r < rows; r++)
            idx[r] = start + r;
        nnk_model_ensure_rows(m, rows, err);
        nnk_model_gather(m, d, idx, rows, m->inputs[0].x.data);
        gather_labels(d, idx, rows, y);
        rc = nnk_model_forward(m, rows, 0, err);
        double loss = 0;
        if (!rc)
            rc = batch_loss(m, rows, y, &loss, NULL, err);
        loss_sum += loss * (double)rows;
        const nnk_node *out = &m->nodes[m->output];
        for (int k = 0; !rc && k < m->n_metrics; k++)
            m->metrics[k].vt->update(nnk_params_config(m->metrics[k].params),
                                     m->metrics[k].state, out->a.data, y, rows,
                                     out->out_cols);
    }
    if (!rc) {
        values[0] = n ? loss_sum / (double)n : 0;
        for (int k = 0; k < m->n_metrics; k++)
            values[1 + k] = m->metrics[k].vt->result(
                nnk_params_config(m->metrics[k].params), m->metrics[k].state);
    }
    free(idx);
    free(y);
    return rc;
}

static int check_ready(nnk_model *m, const nnk_dataset *d, int need_labels,
                       nnk_err *err)
{
    if (!m->built)
        return nnk_err_set(err, NNK_ECONFIG, "the model must be built first");
    if (need_labels && d->y_cols == 0)
        return nnk_err_set(err, NNK_EDATA, "data '%s' has no labels", d->source);
    return nnk_model_check_data(m, d, err);
}

int nnk_model_evaluate(nnk_model *m, const nnk_dataset *d, int64_t batch_size,
                       char names[][64], double *values, int cap, int *n,
                       nnk_err *err)
{
    int rc = check_ready(m, d, 1, err);
    if (rc)
        return rc;
    if (cap < 1 + m->n_metrics)
        return nnk_err_set(err, NNK_EUSAGE, "evaluate: room for %d values, need %d",
                           cap, 1 + m->n_metrics);
    if (batch_size < 1)
        batch_size = 32;
    rc = evaluate_pass(m, d, batch_size, values, err);
    if (rc)
        return rc;
    snprintf(names[0], 64, "loss");
    for (int k = 0; k < m->n_metrics; k++)
        snprintf(names[1 + k], 64, "%s", m->metrics[k].name);
    *n = 1 + m->n_metrics;
    return NNK_OK;
}

float *nnk_model_predict(nnk_model *m, const nnk_dataset *d, int64_t bs,
                         int64_t *out_cols, nnk_err *err)
{
    if (check_ready(m, d, 0, err))
        return NULL;
    if (bs < 1)
        bs = 32;
    const nnk_node *out = &m->nodes[m->output];
    float *res = malloc((size_t)(d->rows * out->out_cols + 1) * sizeof(float));
    int64_t *idx = malloc((size_t)bs * sizeof(int64_t));
    int rc = (!res || !idx) ? nnk_err_set(err, NNK_ENOMEM, "out of memory") : NNK_OK;
    for (int64_t start = 0; !rc && start < d->rows; start += bs) {
        int64_t rows = d->rows - start < bs ? d->rows - start : bs;
        for (int64_t r = 0; r < rows; r++)
            idx[r] = start + r;
        rc = nnk_model_ensure_rows(m, rows, err);
        if (rc)
            break;
        nnk_model_gather(m, d, idx, rows, m->inputs[0].x.data);
        rc = nnk_model_forward(m, rows, 0, err);
        out = &m->nodes[m->output];
        if (!rc)
            memcpy(res + start * out->out_cols, out->a.data,
                   (size_t)(rows * out->out_cols) * sizeof(float));
    }
    free(idx);
    if (rc) {
        free(res);
        return NULL;
    }
    *out_cols = out->out_cols;
    return res;
}

/* ---- fit ---------------------------------------------------------------- */

static void shuffle(nnk_rng *r, int64_t *perm, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(nnk_rng_next(r) % (uint64_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

static void optimizer_step(nnk_model *m)
{
    int nw = nnk_model_weight_count(m), ns = m->opt->n_slots;
    const void *cfg = nnk_params_config(m->opt_params);
    m->iteration++;
    for (int i = 0; i < nw; i++) {
        nnk_weight *w = nnk_model_weight_at(m, i, NULL);
        int64_t n = 1;
        for (int d = 0; d < w->value.ndim; d++)
            n *= w->value.shape[d];
        m->opt->step(cfg, m->learning_rate, m->iteration, w->value.data,
                     w->grad.data, ns ? m->slots + i * ns : NULL, n);
    }
}

static int history_append(nnk_history *h, int n_logs, char names[][64],
                          const double *values)
{
    if (!h)
        return 0;
    if (h->n_keys == 0) {
        h->keys = calloc((size_t)n_logs, sizeof(char *));
        if (!h->keys)
            return -1;
        for (int i = 0; i < n_logs; i++)
            h->keys[i] = strdup(names[i]);
        h->n_keys = n_logs;
    }
    double *v = realloc(h->values, (size_t)((h->n_epochs + 1) * h->n_keys) * sizeof(double));
    if (!v)
        return -1;
    h->values = v;
    memcpy(v + h->n_epochs * h->n_keys, values, (size_t)h->n_keys * sizeof(double));
    h->n_epochs++;
    return 0;
}

int nnk_model_loss_gradient(nnk_model *m, int64_t rows, const float *y, double *loss,
                            nnk_err *err)
{
    const nnk_node *out = &m->nodes[m->output];
    int rc = ensure_grad(m, rows * out->out_cols, err);
    if (rc)
        return rc;
    int perceptron = (m->opt->flags & NNK_OPT_PERCEPTRON) != 0;
    rc = batch_loss(m, rows, y, loss, perceptron ? NULL : m->grad_out, err);
    if (rc)
        return rc;
    if (perceptron) /* the error signal yhat - y, straight into the logits */
        for (int64_t i = 0; i < rows * out->out_cols; i++)
            m->grad_out[i] = out->a.data[i] - y[i];
    return nnk_model_backward(m, rows, m->grad_out, m->fused || perceptron, err);
}

typedef struct fit_state {
    nnk_model *m;
    const nnk_dataset *d;
    const nnk_fit_options *o;
    int64_t bs, steps;
    int64_t *perm;
    float *y;
    char names[MAX_LOGS][64];
    const char *name_ptrs[MAX_LOGS];
    double values[MAX_LOGS];
    int n_logs;
    int stop;
    nnk_train_info info;
} fit_state;

static int train_batch(fit_state *s, int64_t b, double *loss_sum, nnk_err *err)
{
    nnk_model *m = s->m;
    int64_t start = b * s->bs;
    int64_t rows = s->d->rows - start < s->bs ? s->d->rows - start : s->bs;
    const int64_t *idx = s->perm + start;
    int rc = nnk_model_ensure_rows(m, rows, err);
    if (rc)
        return rc;
    nnk_model_gather(m, s->d, idx, rows, m->inputs[0].x.data);
    gather_labels(s->d, idx, rows, s->y);
    if ((rc = nnk_model_forward(m, rows, 1, err)))
        return rc;
    double loss = 0;
    if ((rc = nnk_model_loss_gradient(m, rows, s->y, &loss, err)))
        return rc;
    optimizer_step(m);
    const nnk_node *out = &m->nodes[m->output];
    for (int k = 0; k < m->n_metrics; k++)
        m->metrics[k].vt->update(nnk_params_config(m->metrics[k].params),
                                 m->metrics[k].state, out->a.data, s->y, rows,
                                 out->out_cols);
    *loss_sum += loss * (double)rows;
    return NNK_OK;
}

static void running_logs(fit_state *s, double loss_sum, int64_t seen)
{
    nnk_model *m = s->m;
    s->values[0] = seen ? loss_sum / (double)seen : 0;
    for (int k = 0; k < m->n_metrics; k++)
        s->values[1 + k] = m->metrics[k].vt->result(
            nnk_params_config(m->metrics[k].params), m->metrics[k].state);
    s->info.n_logs = 1 + m->n_metrics;
}

static int run_epoch(fit_state *s, int64_t epoch, nnk_rng *data_rng, nnk_err *err)
{
    nnk_model *m = s->m;
    const nnk_fit_options *o = s->o;
    double t0 = now_seconds();
    if (o->shuffle)
        shuffle(data_rng, s->perm, s->d->rows);
    metrics_reset(m);
    s->info.epoch = epoch;
    s->info.n_logs = 0;
    int rc = fire(o, NNK_EPOCH_BEGIN, &s->info, err);
    double loss_sum = 0;
    int64_t seen = 0;
    for (int64_t b = 0; !rc && b < s->steps && !s->stop; b++) {
        s->info.batch = b;
        if ((rc = fire(o, NNK_BATCH_BEGIN, &s->info, err)))
            break;
        rc = train_batch(s, b, &loss_sum, err);
        s->info.global_batch++;
        seen += s->d->rows - b * s->bs < s->bs ? s->d->rows - b * s->bs : s->bs;
        if (!rc) {
            running_logs(s, loss_sum, seen);
            rc = fire(o, NNK_BATCH_END, &s->info, err);
        }
    }
    if (rc)
        return rc;
    running_logs(s, loss_sum, seen);
    int n = 1 + m->n_metrics;
    if (o->validation) {
        double v[MAX_LOGS];
        if ((rc = evaluate_pass(m, o->validation, s->bs, v, err)))
            return rc;
        for (int k = 0; k < n; k++)
            s->values[n + k] = v[k];
        n *= 2;
    }
    s->info.n_logs = n;
    s->info.epoch_seconds = now_seconds() - t0;
    return NNK_OK;
}

int nnk_model_fit(nnk_model *m, const nnk_dataset *train,
                  const nnk_fit_options *o, nnk_history *history, nnk_err *err)
{
    int rc = check_ready(m, train, 1, err);
    if (!rc && o->validation)
        rc = check_ready(m, o->validation, 1, err);
    if (rc)
        return rc;
    if (train->rows == 0)
        return nnk_err_set(err, NNK_EDATA, "data '%s' has no rows", train->source);
    if (o->epochs < 0 || o->batch_size < 1)
        return nnk_err_set(err, NNK_EUSAGE, "fit: epochs must be >= 0 and batch_size >= 1");
    if (1 + 2 * (m->n_metrics + 1) > MAX_LOGS)
        return nnk_err_set(err, NNK_ECONFIG, "fit: too many metrics");
    fit_state s;
    memset(&s, 0, sizeof s);
    s.m = m;
    s.d = train;
    s.o = o;
    s.bs = (m->opt->flags & NNK_OPT_PERCEPTRON) ? 1 : o->batch_size;
    if (s.bs > train->rows)
        s.bs = train->rows;
    s.steps = (train->rows + s.bs - 1) / s.bs;
    s.perm = malloc((size_t)train->rows * sizeof(int64_t));
    s.y = malloc((size_t)(s.bs * train->y_cols) * sizeof(float));
    const nnk_node *out = &m->nodes[m->output];
    if (!s.perm || !s.y || ensure_grad(m, s.bs * out->out_cols, err) ||
        nnk_model_ensure_rows(m, s.bs, err)) {
        free(s.perm);
        free(s.y);
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    for (int64_t i = 0; i < train->rows; i++)
        s.perm[i] = i;
    snprintf(s.names[0], 64, "loss");
    for (int k = 0; k < m->n_metrics; k++)
        snprintf(s.names[1 + k], 64, "%s", m->metrics[k].name);
    int n = 1 + m->n_metrics;
    for (int k = 0; k < n; k++)
        snprintf(s.names[n + k], 64, "val_%s", s.names[k]);
    for (int k = 0; k < MAX_LOGS; k++)
        s.name_ptrs[k] = s.names[k];
    s.info.struct_size = sizeof s.info;
    s.info.epochs = o->epochs;
    s.info.steps = s.steps;
    s.info.samples = train->rows;
    s.info.log_names = s.name_ptrs;
    s.info.log_values = s.values;
    s.info.learning_rate = &m->learning_rate;
    s.info.stop = &s.stop;
    s.info.run_dir = o->run_dir;
    s.info.model = (nnk_model_view *)m;
    s.info.experiment = o->experiment;
    s.info.n_hparams = o->n_hparams;
    s.info.hparam_names = o->hparam_names;
    s.info.hparam_values = o->hparam_values;
    m->fit_data[NNK_SPLIT_TRAIN] = train;
    m->fit_data[NNK_SPLIT_VALIDATION] = o->validation;
    m->fit_data[NNK_SPLIT_TEST] = o->test;
    nnk_rng data_rng;
    nnk_rng_seed(&data_rng, o->seed, 1);
    rc = fire(o, NNK_TRAIN_BEGIN, &s.info, err);
    for (int64_t e = 0; !rc && e < o->epochs && !s.stop; e++) {
        rc = run_epoch(&s, e, &data_rng, err);
        if (!rc && history_append(history, s.info.n_logs, s.names, s.values))
            rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
        if (!rc)
            rc = fire(o, NNK_EPOCH_END, &s.info, err);
    }
    if (!rc)
        rc = fire(o, NNK_TRAIN_END, &s.info, err);
    memset(m->fit_data, 0, sizeof m->fit_data);
    free(s.perm);
    free(s.y);
    return rc;
}
