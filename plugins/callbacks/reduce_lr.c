/* reduce_lr_on_plateau: performance scheduling. Multiplies the learning
 * rate by `factor` when the monitored log has not improved for `patience`
 * epochs, then waits `cooldown` epochs (Keras's ReduceLROnPlateau). */
#include "callbacks.h"
#include <string.h>
#include <math.h>

typedef struct rlr_config {
    const char *monitor, *mode;
    double factor, min_delta, min_lr;
    int64_t patience, cooldown;
} rlr_config;

static const char *const modes[] = {"auto", "min", "max", NULL};

static const nnk_param_spec rlr_params[] = {
    {"monitor", NNK_PARAM_STRING, "val_loss", 0, 0, NULL, "the log to watch", offsetof(rlr_config, monitor)},
    {"factor", NNK_PARAM_FLOAT, "0.1", 1e-9, 0.999999, NULL, "new rate = rate * factor", offsetof(rlr_config, factor)},
    {"patience", NNK_PARAM_INT, "10", 0, 1000000, NULL, "epochs without improvement before reducing", offsetof(rlr_config, patience)},
    {"mode", NNK_PARAM_CHOICE, "auto", 0, 0, modes, "min, max, or auto", offsetof(rlr_config, mode)},
    {"min_delta", NNK_PARAM_FLOAT, "0.0001", 0, 1e30, NULL, "smaller changes do not count", offsetof(rlr_config, min_delta)},
    {"cooldown", NNK_PARAM_INT, "0", 0, 1000000, NULL, "epochs to wait after a reduction", offsetof(rlr_config, cooldown)},
    {"min_lr", NNK_PARAM_FLOAT, "0", 0, 1e30, NULL, "the rate never goes below this", offsetof(rlr_config, min_lr)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

typedef struct rlr_state {
    const rlr_config *c;
    int maximize;
    double best;
    int64_t wait, cooldown_left;
} rlr_state;

static int rlr_create(const void *config, void **state, nnk_err *err)
{
    rlr_state *s = callbacks_host->alloc_zeroed(1, sizeof *s);
    if (!s)
        return callbacks_host->err_set(err, NNK_ENOMEM, "out of memory");
    s->c = config;
    *state = s;
    return NNK_OK;
}

static int rlr_event(void *state, nnk_event ev, const nnk_train_info *info, nnk_err *err)
{
    rlr_state *s = state;
    const rlr_config *c = s->c;
    if (ev == NNK_TRAIN_BEGIN) {
        s->maximize = cb_maximize(c->mode, c->monitor, info);
        s->best = NAN;
        s->wait = s->cooldown_left = 0;
        return cb_check_monitor("reduce_lr_on_plateau", info, c->monitor, err);
    }
    if (ev != NNK_EPOCH_END)
        return NNK_OK;
    int k = cb_find_log(info, c->monitor, 0);
    if (k < 0)
        return NNK_OK;
    double current = info->log_values[k];
    if (s->cooldown_left > 0) {
        s->cooldown_left--;
        s->wait = 0;
    }
    if (cb_improved(s->maximize, current, s->best, c->min_delta)) {
        s->best = current;
        s->wait = 0;
    } else if (s->cooldown_left == 0 && ++s->wait >= c->patience) {
        double lr = *info->learning_rate;
        if (lr > c->min_lr) {
            *info->learning_rate = fmax(lr * c->factor, c->min_lr);
            s->cooldown_left = c->cooldown;
            s->wait = 0;
        }
    }
    return NNK_OK;
}

/* For backup_and_restore: the whole state struct (best, wait, cooldown). */
static int reduce_lr_save(void *state, uint8_t **bytes, size_t *n, nnk_err *err)
{
    *n = sizeof(rlr_state);
    *bytes = callbacks_host->alloc(*n);
    if (!*bytes)
        return callbacks_host->err_set(err, NNK_ENOMEM, "out of memory");
    memcpy(*bytes, state, *n);
    return NNK_OK;
}

static int reduce_lr_load(void *state, const uint8_t *bytes, size_t n, nnk_err *err)
{
    if (n != sizeof(rlr_state))
        return callbacks_host->err_set(err, NNK_ECONFIG, "saved state has the wrong size");
    rlr_state *s = state;
    const void *config = s->c; /* the configuration stays this run's */
    memcpy(s, bytes, n);
    s->c = config;
    return NNK_OK;
}

static void rlr_destroy(void *state) { callbacks_host->free(state); }

const nnk_callback_vtable reduce_lr_on_plateau_callback = {
    .struct_size = sizeof(nnk_callback_vtable),
    .name = "reduce_lr_on_plateau",
    .doc = "cuts the learning rate when a log stops improving, like Keras's ReduceLROnPlateau",
    .params = rlr_params,
    .config_size = sizeof(rlr_config),
    .create = rlr_create,
    .on_event = rlr_event,
    .destroy = rlr_destroy,
    .save_state = reduce_lr_save,
    .load_state = reduce_lr_load,
};
