/* model_checkpoint: saves the model every epoch (or every N batches),
 * optionally only when the monitored log improves, to a path pattern such
 * as "ckpt/model-{epoch:02d}-{val_loss:.2f}.nnk" (Keras's ModelCheckpoint;
 * {epoch} counts from 1). Relative paths go into the run directory. */
#include "callbacks.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct ckpt_config {
    const char *filepath, *monitor, *mode, *save_freq;
    int save_best_only, save_weights_only;
} ckpt_config;

static const char *const modes[] = {"auto", "min", "max", NULL};

static const nnk_param_spec ckpt_params[] = {
    {"filepath", NNK_PARAM_STRING, "checkpoint.nnk", 0, 0, NULL,
     "path pattern with {epoch} and log fields, e.g. model-{epoch:02d}-{val_loss:.2f}.nnk", offsetof(ckpt_config, filepath)},
    {"monitor", NNK_PARAM_STRING, "val_loss", 0, 0, NULL, "the log that decides the best model", offsetof(ckpt_config, monitor)},
    {"mode", NNK_PARAM_CHOICE, "auto", 0, 0, modes, "min, max, or auto", offsetof(ckpt_config, mode)},
    {"save_best_only", NNK_PARAM_BOOL, "false", 0, 0, NULL, "save only when the monitored log improves", offsetof(ckpt_config, save_best_only)},
    {"save_weights_only", NNK_PARAM_BOOL, "false", 0, 0, NULL, "leave out the optimizer's state", offsetof(ckpt_config, save_weights_only)},
    {"save_freq", NNK_PARAM_STRING, "epoch", 0, 0, NULL, "'epoch', or N: every N batches", offsetof(ckpt_config, save_freq)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

typedef struct ckpt_state {
    const ckpt_config *c;
    int64_t every; /* batches; 0: every epoch */
    int maximize;
    double best;
    char pattern[PATH_MAX];
} ckpt_state;

static int ckpt_create(const void *config, void **state, nnk_err *err)
{
    const ckpt_config *c = config;
    int64_t every;
    if (cb_parse_save_freq(c->save_freq, &every, err))
        return NNK_ECONFIG;
    ckpt_state *s = callbacks_host->alloc_zeroed(1, sizeof *s);
    if (!s)
        return callbacks_host->err_set(err, NNK_ENOMEM, "out of memory");
    s->c = c;
    s->every = every;
    *state = s;
    return NNK_OK;
}

/* Expands {epoch[:fmt]} and {log[:fmt]} (Python format specs such as 02d
 * or .2f). With check set, only reports unknown fields. */
static int expand(const ckpt_state *s, const nnk_train_info *info, int64_t epoch, char *out, size_t n,
                  int check, nnk_err *err)
{
    const char *p = s->pattern;
    size_t o = 0;
    while (*p && o + 1 < n) {
        if (*p != '{') {
            out[o++] = *p++;
            continue;
        }
        const char *close = strchr(p, '}');
        if (!close)
            return callbacks_host->err_set(err, NNK_ECONFIG, "callback 'model_checkpoint': unclosed '{' in filepath '%s'",
                                           s->c->filepath);
        char field[128] = "", spec[32] = "";
        const char *colon = memchr(p, ':', (size_t)(close - p));
        snprintf(field, sizeof field, "%.*s", (int)((colon ? colon : close) - p - 1), p + 1);
        if (colon)
            snprintf(spec, sizeof spec, "%.*s", (int)(close - colon - 1), colon + 1);
        char fmt[40], piece[128];
        if (!strcmp(field, "epoch")) {
            snprintf(fmt, sizeof fmt, "%%%slld", *spec ? spec : "");
            if (*spec && spec[strlen(spec) - 1] == 'd')
                snprintf(fmt, sizeof fmt, "%%%.*slld", (int)strlen(spec) - 1, spec);
            snprintf(piece, sizeof piece, fmt, (long long)epoch + 1);
        } else {
            int k = cb_find_log(info, field, 1);
            if (k < 0) {
                char names[512] = "";
                for (int i = 0; i < info->n_log_names; i++)
                    snprintf(names + strlen(names), sizeof names - strlen(names), ", %s", info->log_names[i]);
                return callbacks_host->err_set(err, NNK_ECONFIG,
                                               "callback 'model_checkpoint': filepath field '{%s}' is not logged in this run; fields: epoch%s",
                                               field, names);
            }
            double v = check || k >= info->n_logs ? 0 : info->log_values[k];
            snprintf(fmt, sizeof fmt, "%%%sf", *spec ? spec : "");
            if (*spec && (spec[strlen(spec) - 1] == 'f' || spec[strlen(spec) - 1] == 'e' || spec[strlen(spec) - 1] == 'g'))
                snprintf(fmt, sizeof fmt, "%%%s", spec);
            snprintf(piece, sizeof piece, fmt, v);
        }
        o += (size_t)snprintf(out + o, n - o, "%s", piece);
        p = close + 1;
    }
    out[o < n ? o : n - 1] = 0;
    return NNK_OK;
}


static int save(ckpt_state *s, const nnk_train_info *info, nnk_err *err)
{
    if (s->c->save_best_only) {
        int k = cb_find_log(info, s->c->monitor, 0);
        if (k < 0 || !cb_improved(s->maximize, info->log_values[k], s->best, 0))
            return NNK_OK;
        s->best = info->log_values[k];
    }
    char path[PATH_MAX];
    int rc = expand(s, info, info->epoch, path, sizeof path, 0, err);
    if (!rc)
        rc = cb_make_parent_dirs("model_checkpoint", path, err);
    return rc ? rc : callbacks_host->model_save(info->model, path, s->c->save_weights_only, err);
}

static int ckpt_event(void *state, nnk_event ev, const nnk_train_info *info, nnk_err *err)
{
    if (!cb_writes_files(info)) /* another rank writes */
        return NNK_OK;
    ckpt_state *s = state;
    if (ev == NNK_TRAIN_BEGIN) {
        const char *fp = s->c->filepath;
        if (fp[0] != '/' && info->run_dir)
            snprintf(s->pattern, sizeof s->pattern, "%s/%s", info->run_dir, fp);
        else
            snprintf(s->pattern, sizeof s->pattern, "%s", fp);
        s->maximize = cb_maximize(s->c->mode, s->c->monitor, info);
        s->best = NAN;
        char probe[PATH_MAX];
        int rc = s->c->save_best_only ? cb_check_monitor("model_checkpoint", info, s->c->monitor, err) : NNK_OK;
        if (!rc)
            rc = expand(s, info, 0, probe, sizeof probe, 1, err);
        return rc ? rc : cb_make_parent_dirs("model_checkpoint", probe, err); /* an unwritable place fails now, not after an epoch */
    }
    if (ev == NNK_EPOCH_END && !s->every)
        return save(s, info, err);
    if (ev == NNK_BATCH_END && s->every && info->global_batch % s->every == 0)
        return save(s, info, err);
    return NNK_OK;
}

/* For backup_and_restore: the whole state struct (best so far, path pattern). */
static int model_checkpoint_save(void *state, uint8_t **bytes, size_t *n, nnk_err *err)
{
    *n = sizeof(ckpt_state);
    *bytes = callbacks_host->alloc(*n);
    if (!*bytes)
        return callbacks_host->err_set(err, NNK_ENOMEM, "out of memory");
    memcpy(*bytes, state, *n);
    return NNK_OK;
}

static int model_checkpoint_load(void *state, const uint8_t *bytes, size_t n, nnk_err *err)
{
    if (n != sizeof(ckpt_state))
        return callbacks_host->err_set(err, NNK_ECONFIG, "saved state has the wrong size");
    ckpt_state *s = state;
    const void *config = s->c; /* the configuration stays this run's */
    memcpy(s, bytes, n);
    s->c = config;
    return NNK_OK;
}

static void ckpt_destroy(void *state) { callbacks_host->free(state); }

const nnk_callback_vtable model_checkpoint_callback = {
    .struct_size = sizeof(nnk_callback_vtable),
    .name = "model_checkpoint",
    .doc = "saves the model during training, like Keras's ModelCheckpoint",
    .params = ckpt_params,
    .config_size = sizeof(ckpt_config),
    .create = ckpt_create,
    .on_event = ckpt_event,
    .destroy = ckpt_destroy,
    .save_state = model_checkpoint_save,
    .load_state = model_checkpoint_load,
};
