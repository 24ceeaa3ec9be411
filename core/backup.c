/* backup_and_restore's file: the whole state of a fit in progress, so a
 * run killed at any moment resumes to the same weights an uninterrupted
 * run reaches. The state is a TrainingState message (proto/) in the same
 * checked envelope as model files, magic "NNKS", written atomically. */
#include "internal.h"
#include "nnkit_model.pb-c.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a of the resolved experiment: a backup only resumes its own run. */
static void digest(const char *text, char *out, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    snprintf(out, n, "%016llx", (unsigned long long)h);
}

static void rng_to_msg(const nnk_rng *r, Nnkit__RngState *m, uint64_t *words)
{
    nnkit__rng_state__init(m);
    memcpy(words, r->s, sizeof r->s);
    m->n_s = 4;
    m->s = words;
    m->has_spare = r->has_spare;
    m->spare = r->spare;
}

static int rng_from_msg(nnk_rng *r, const Nnkit__RngState *m)
{
    if (!m || m->n_s != 4)
        return -1;
    memcpy(r->s, m->s, sizeof r->s);
    r->has_spare = m->has_spare;
    r->spare = m->spare;
    return 0;
}

typedef struct pieces {
    uint8_t *model;
    uint64_t words[1 + NNK_MAX_OUTPUTS + 256][4];
    Nnkit__RngState rngs[257];
    Nnkit__RngState *rng_ptrs[256];
    ProtobufCBinaryData metric_states[NNK_MAX_OUTPUTS * NNK_MAX_METRICS];
    Nnkit__CallbackState cb[64];
    Nnkit__CallbackState *cb_ptrs[64];
    uint8_t *cb_bytes[64];
    double *history;
} pieces;

int nnk__fit_backup_request(nnk_model *m, const char *path, nnk_err *err)
{
    if (!m->fit)
        return nnk_err_set(err, NNK_EUSAGE, "backup: no fit in progress");
    snprintf(m->fit->pending_backup, sizeof m->fit->pending_backup, "%s", path);
    return NNK_OK;
}

/* Where the loop is, its random streams, the running sums, the metrics'
 * states and the history so far, into st (pointing into p and s). */
static void pack_progress(nnk_model *m, const nnk_fit_state *s, pieces *p, Nnkit__TrainingState *st)
{
    /* an epoch whose EPOCH_END has fired resumes at the start of the next
     * one; a backup after its last batch still runs validation and
     * EPOCH_END */
    int done = s->epoch_finished;
    st->epoch = s->info.epoch + done;
    st->batch = done ? 0 : s->next_batch;
    st->stopped = s->stop != 0;
    st->global_batch = s->info.global_batch;
    st->n_order = (size_t)s->d->rows;
    st->order = s->perm;
    rng_to_msg(&s->data_rng, &p->rngs[256], p->words[0]);
    st->data_rng = &p->rngs[256];
    for (int i = 0; i < m->n_nodes; i++) {
        rng_to_msg(&m->nodes[i].rng, &p->rngs[i], p->words[1 + NNK_MAX_OUTPUTS + i]);
        p->rng_ptrs[i] = &p->rngs[i];
    }
    st->n_layer_rngs = (size_t)m->n_nodes;
    st->layer_rngs = p->rng_ptrs;
    st->loss_sum = s->loss_sum;
    st->n_output_sums = (size_t)m->n_outputs;
    st->output_sums = (double *)s->out_sums;
    st->seen = s->seen;
    for (int k = 0; k < m->n_outputs; k++)
        for (int i = 0; i < m->outs[k].n_metrics; i++) {
            const nnk_metric_inst *mi = &m->outs[k].metrics[i];
            p->metric_states[st->n_metric_states++] = (ProtobufCBinaryData){mi->state_size, mi->state};
        }
    st->metric_states = p->metric_states;
    nnk_history *h = s->history;
    if (h && h->n_epochs) {
        st->n_history_keys = (size_t)h->n_keys;
        st->history_keys = h->keys;
        st->n_history_values = (size_t)(h->n_epochs * h->n_keys);
        st->history_values = h->values;
    }
}

/* Each callback's saved state (those that keep one). */
static int pack_callbacks(const nnk_fit_state *s, pieces *p, Nnkit__TrainingState *st, nnk_err *err)
{
    for (int i = 0; i < s->o->n_callbacks; i++) {
        nnk_callback *cb = s->o->callbacks[i];
        if (!cb->vt || !cb->vt->save_state)
            continue;
        size_t n = 0;
        nnk_err cerr = {NNK_OK, ""};
        if (cb->vt->save_state(cb->state, &p->cb_bytes[i], &n, &cerr))
            return nnk_err_set(err, cerr.status ? cerr.status : NNK_ERUNTIME, "backup: callback '%s': %s", cb->vt->name,
                               cerr.msg);
        Nnkit__CallbackState *cs = &p->cb[st->n_callbacks];
        nnkit__callback_state__init(cs);
        cs->name = cb->name ? cb->name : (char *)cb->vt->name;
        cs->type = (char *)cb->vt->name;
        cs->state = (ProtobufCBinaryData){n, p->cb_bytes[i]};
        p->cb_ptrs[st->n_callbacks++] = cs;
    }
    st->callbacks = p->cb_ptrs;
    return NNK_OK;
}

int nnk__fit_backup_save(nnk_model *m, const char *path, nnk_err *err)
{
    nnk_fit_state *s = m->fit;
    if (!s)
        return nnk_err_set(err, NNK_EUSAGE, "backup: no fit in progress");
    if (m->n_nodes > 256 || s->o->n_callbacks > 64)
        return nnk_err_set(err, NNK_EUSAGE, "backup: too many layers or callbacks");
    pieces *p = calloc(1, sizeof *p);
    if (!p)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    Nnkit__TrainingState st = NNKIT__TRAINING_STATE__INIT;
    size_t model_len = 0;
    int rc = nnk__model_pack(m, 0, &p->model, &model_len, err);
    char dig[32];
    digest(s->o->experiment, dig, sizeof dig);
    st.model.data = p->model;
    st.model.len = model_len;
    st.experiment_digest = dig;
    pack_progress(m, s, p, &st);
    if (!rc)
        rc = pack_callbacks(s, p, &st, err);
    st.run_dir = (char *)(s->o->run_dir ? s->o->run_dir : "");
    if (!rc) {
        size_t len = nnkit__training_state__get_packed_size(&st);
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf) {
            rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
        } else {
            nnkit__training_state__pack(&st, buf);
            rc = nnk__envelope_write(path, "NNKS", buf, len, err);
            free(buf);
        }
    }
    for (int i = 0; i < 64; i++)
        nnk__host_table.free(p->cb_bytes[i]);
    free(p->model);
    free(p);
    return rc;
}

static int restore(nnk_model *m, nnk_fit_state *s, const Nnkit__TrainingState *st, const char *path, nnk_err *err)
{
    char dig[32];
    digest(s->o->experiment, dig, sizeof dig);
    if (strcmp(dig, st->experiment_digest))
        return nnk_err_set(err, NNK_ECONFIG,
                           "backup '%s' belongs to another experiment (its configuration differs from this one); remove it to start afresh",
                           path);
    if ((!s->shard_total && (int64_t)st->n_order != s->d->rows) || (int)st->n_layer_rngs != m->n_nodes ||
        (int)st->n_output_sums != m->n_outputs || st->batch > s->steps)
        return nnk_err_set(err, NNK_ECONFIG, "backup '%s' does not fit this model and data; remove it to start afresh", path);
    int rc = nnk__model_unpack_values(m, st->model.data, st->model.len, path, err);
    if (rc)
        return rc;
    if (!s->shard_total) /* a sharded process draws its order again from the epoch */
        memcpy(s->perm, st->order, sizeof(int64_t) * st->n_order);
    if (rng_from_msg(&s->data_rng, st->data_rng))
        return nnk_err_set(err, NNK_EMODEL, "backup '%s': bad random stream", path);
    for (int i = 0; i < m->n_nodes; i++)
        if (rng_from_msg(&m->nodes[i].rng, st->layer_rngs[i]))
            return nnk_err_set(err, NNK_EMODEL, "backup '%s': bad random stream", path);
    s->next_epoch = st->epoch;
    s->next_batch = st->batch;
    /* TRAIN_END after a backup taken at an epoch's end sees that epoch */
    s->info.epoch = st->batch == 0 && st->epoch > 0 ? st->epoch - 1 : st->epoch;
    s->stop = st->stopped;
    s->info.global_batch = st->global_batch;
    s->loss_sum = st->loss_sum;
    memcpy(s->out_sums, st->output_sums, sizeof(double) * st->n_output_sums);
    s->seen = st->seen;
    size_t k = 0;
    for (int o = 0; o < m->n_outputs; o++)
        for (int i = 0; i < m->outs[o].n_metrics; i++, k++) {
            const nnk_metric_inst *mi = &m->outs[o].metrics[i];
            if (k >= st->n_metric_states || st->metric_states[k].len != mi->state_size)
                return nnk_err_set(err, NNK_ECONFIG, "backup '%s': metric states do not fit this model", path);
            memcpy(mi->state, st->metric_states[k].data, mi->state_size);
        }
    nnk_history *h = s->history;
    if (h && st->n_history_keys) {
        int nk = (int)st->n_history_keys, ne = (int)(st->n_history_values / st->n_history_keys);
        char **keys = calloc((size_t)nk, sizeof(char *));
        double *vals = malloc(sizeof(double) * st->n_history_values);
        if (!keys || !vals) {
            free(keys), free(vals);
            return nnk_err_set(err, NNK_ENOMEM, "out of memory");
        }
        for (int i = 0; i < nk; i++)
            keys[i] = strdup(st->history_keys[i]);
        memcpy(vals, st->history_values, sizeof(double) * st->n_history_values);
        nnk_history_clear(h);
        h->keys = keys;
        h->values = vals;
        h->n_keys = nk;
        h->n_epochs = ne;
    }
    /* each callback takes back its own state, found by its name, so two
     * callbacks of one type never swap */
    for (int c = 0; c < s->o->n_callbacks; c++) {
        nnk_callback *cb = s->o->callbacks[c];
        if (!cb->vt || !cb->vt->load_state)
            continue;
        const char *name = cb->name ? cb->name : cb->vt->name;
        const Nnkit__CallbackState *cs = NULL;
        for (size_t i = 0; i < st->n_callbacks && !cs; i++)
            if (!strcmp(st->callbacks[i]->name, name))
                cs = st->callbacks[i];
        if (!cs || (*cs->type && strcmp(cs->type, cb->vt->name)))
            return nnk_err_set(err, NNK_ECONFIG, "backup '%s' has no state for callback '%s'; remove it to start afresh",
                               path, name);
        nnk_err cerr = {NNK_OK, ""};
        if (cb->vt->load_state(cb->state, cs->state.data, cs->state.len, &cerr))
            return nnk_err_set(err, cerr.status ? cerr.status : NNK_ECONFIG, "backup '%s': callback '%s': %s", path,
                               name, cerr.msg);
    }
    return NNK_OK;
}

int nnk__fit_backup_load(nnk_model *m, nnk_fit_state *s, const char *path, nnk_err *err)
{
    size_t n;
    uint8_t *payload = nnk__envelope_read(path, "NNKS", "backup", &n, err);
    if (!payload) {
        if (err) { /* say what to do about it */
            size_t l = strlen(err->msg);
            snprintf(err->msg + l, sizeof err->msg - l, "; remove it to start afresh");
        }
        return err ? err->status : NNK_EMODEL;
    }
    Nnkit__TrainingState *st = nnkit__training_state__unpack(NULL, n, payload);
    free(payload);
    if (!st)
        return nnk_err_set(err, NNK_EMODEL, "backup '%s': corrupt (protobuf does not parse); remove it to start afresh", path);
    int rc = restore(m, s, st, path, err);
    nnkit__training_state__free_unpacked(st, NULL);
    return rc;
}
