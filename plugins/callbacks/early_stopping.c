/* early_stopping: stop when the monitored log has not improved for
 * `patience` epochs (Keras's EarlyStopping). With restore_best_weights
 * the best epoch's weights come back whenever training ends. */
#include "callbacks.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct es_config {
    const char *monitor, *mode, *baseline;
    double min_delta;
    int64_t patience, start_from_epoch;
    int restore_best_weights;
} es_config;

static const char *const modes[] = {"auto", "min", "max", NULL};

static const nnk_param_spec es_params[] = {
    {"monitor", NNK_PARAM_STRING, "val_loss", 0, 0, NULL, "the log to watch", offsetof(es_config, monitor)},
    {"min_delta", NNK_PARAM_FLOAT, "0", 0, 1e30, NULL, "smaller changes do not count as improvement", offsetof(es_config, min_delta)},
    {"patience", NNK_PARAM_INT, "0", 0, 1000000, NULL, "epochs without improvement before stopping", offsetof(es_config, patience)},
    {"mode", NNK_PARAM_CHOICE, "auto", 0, 0, modes, "min, max, or auto (max for accuracy-like logs)", offsetof(es_config, mode)},
    {"baseline", NNK_PARAM_STRING, "", 0, 0, NULL, "a value to beat (empty: none)", offsetof(es_config, baseline)},
    {"restore_best_weights", NNK_PARAM_BOOL, "false", 0, 0, NULL, "restore the best epoch's weights when training ends", offsetof(es_config, restore_best_weights)},
    {"start_from_epoch", NNK_PARAM_INT, "0", 0, 1000000, NULL, "epochs to wait before watching", offsetof(es_config, start_from_epoch)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

typedef struct es_state {
    const es_config *c;
    int maximize;
    double best, baseline;
    int64_t wait, best_epoch;
    float *best_weights;
    int64_t n_weights;
} es_state;

static int es_create(const void *config, void **state, nnk_err *err)
{
    const es_config *c = config;
    es_state *s = callbacks_host->alloc_zeroed(1, sizeof *s);
    if (!s)
        return callbacks_host->err_set(err, NNK_ENOMEM, "out of memory");
    s->c = c;
    s->baseline = NAN;
    if (*c->baseline) {
        char *end;
        s->baseline = strtod(c->baseline, &end);
        if (*end || !isfinite(s->baseline)) {
            callbacks_host->free(s);
            return callbacks_host->err_set(err, NNK_ECONFIG, "parameter 'baseline' must be a number, got '%s'", c->baseline);
        }
    }
    *state = s;
    return NNK_OK;
}

static int es_event(void *state, nnk_event ev, const nnk_train_info *info, nnk_err *err)
{
    es_state *s = state;
    const es_config *c = s->c;
    if (ev == NNK_TRAIN_BEGIN) {
        s->maximize = cb_maximize(c->mode, c->monitor, info);
        s->best = NAN;
        s->wait = 0;
        s->best_epoch = -1;
        return cb_check_monitor("early_stopping", info, c->monitor, err);
    }
    if (ev == NNK_EPOCH_END) {
        int k = cb_find_log(info, c->monitor, 0);
        if (k < 0 || info->epoch < c->start_from_epoch)
            return NNK_OK;
        double current = info->log_values[k];
        s->wait++;
        if (cb_improved(s->maximize, current, s->best, c->min_delta)) {
            s->best = current;
            s->best_epoch = info->epoch;
            if (c->restore_best_weights && cb_snapshot_weights(info, &s->best_weights, &s->n_weights, err))
                return NNK_ENOMEM;
            /* with a baseline, waiting only resets once it is beaten */
            if (isnan(s->baseline) || cb_improved(s->maximize, current, s->baseline, c->min_delta))
                s->wait = 0;
            return NNK_OK;
        }
        if (s->wait >= c->patience && info->epoch > 0)
            *info->stop = 1;
        return NNK_OK;
    }
    if (ev == NNK_TRAIN_END && c->restore_best_weights && s->best_weights)
        cb_restore_weights(info, s->best_weights);
    return NNK_OK;
}

/* For backup_and_restore: the counters, then the best weights. */
typedef struct es_saved {
    double best;
    int64_t wait, best_epoch, n_weights;
} es_saved;

static int es_save(void *state, uint8_t **bytes, size_t *n, nnk_err *err)
{
    es_state *s = state;
    int64_t nw = s->best_weights ? s->n_weights : 0;
    *n = sizeof(es_saved) + sizeof(float) * (size_t)nw;
    *bytes = callbacks_host->alloc(*n);
    if (!*bytes)
        return callbacks_host->err_set(err, NNK_ENOMEM, "out of memory");
    es_saved h = {s->best, s->wait, s->best_epoch, nw};
    memcpy(*bytes, &h, sizeof h);
    if (nw)
        memcpy(*bytes + sizeof h, s->best_weights, sizeof(float) * (size_t)nw);
    return NNK_OK;
}

static int es_load(void *state, const uint8_t *bytes, size_t n, nnk_err *err)
{
    es_state *s = state;
    es_saved h;
    if (n < sizeof h)
        return callbacks_host->err_set(err, NNK_ECONFIG, "saved state too short");
    memcpy(&h, bytes, sizeof h);
    if (n != sizeof h + sizeof(float) * (size_t)h.n_weights)
        return callbacks_host->err_set(err, NNK_ECONFIG, "saved state has the wrong size");
    s->best = h.best;
    s->wait = h.wait;
    s->best_epoch = h.best_epoch;
    if (h.n_weights) {
        callbacks_host->free(s->best_weights);
        s->best_weights = callbacks_host->alloc(sizeof(float) * (size_t)h.n_weights);
        if (!s->best_weights)
            return callbacks_host->err_set(err, NNK_ENOMEM, "out of memory");
        memcpy(s->best_weights, bytes + sizeof h, sizeof(float) * (size_t)h.n_weights);
        s->n_weights = h.n_weights;
    }
    return NNK_OK;
}

static void es_destroy(void *state)
{
    es_state *s = state;
    if (s)
        callbacks_host->free(s->best_weights);
    callbacks_host->free(s);
}

const nnk_callback_vtable early_stopping_callback = {
    .struct_size = sizeof(nnk_callback_vtable),
    .name = "early_stopping",
    .doc = "stops training when a log stops improving, like Keras's EarlyStopping",
    .params = es_params,
    .config_size = sizeof(es_config),
    .create = es_create,
    .on_event = es_event,
    .destroy = es_destroy,
    .save_state = es_save,
    .load_state = es_load,
};
