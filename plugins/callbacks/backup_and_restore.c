/* backup_and_restore: keeps the last backup of the whole training state
 * (Keras's BackupAndRestore), written atomically every epoch or every N
 * batches, and deleted once the run's results are saved. The next `nnkit train` of
 * the same experiment finds it and resumes, so an interrupted run ends
 * with the same weights as an uninterrupted one. */
#include "callbacks.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct br_config {
    const char *backup_dir, *save_freq;
    int delete_checkpoint;
} br_config;

static const nnk_param_spec br_params[] = {
    {"backup_dir", NNK_PARAM_STRING, "backup", 0, 0, NULL,
     "where the backup lives; relative paths are inside the run directory", offsetof(br_config, backup_dir)},
    {"save_freq", NNK_PARAM_STRING, "epoch", 0, 0, NULL, "'epoch', or N: every N batches", offsetof(br_config, save_freq)},
    {"delete_checkpoint", NNK_PARAM_BOOL, "true", 0, 0, NULL, "delete the backup when training completes",
     offsetof(br_config, delete_checkpoint)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

typedef struct br_state {
    const br_config *c;
    int64_t every;
    char path[PATH_MAX];
} br_state;

static int br_create(const void *config, void **state, nnk_err *err)
{
    const br_config *c = config;
    int64_t every;
    if (cb_parse_save_freq(c->save_freq, &every, err))
        return NNK_ECONFIG;
    br_state *s = callbacks_host->alloc_zeroed(1, sizeof *s);
    if (!s)
        return callbacks_host->err_set(err, NNK_ENOMEM, "out of memory");
    s->c = c;
    s->every = every;
    *state = s;
    return NNK_OK;
}

static int br_path(void *state, const char *run_dir, char *path, size_t n)
{
    const br_config *c = ((br_state *)state)->c;
    if (c->backup_dir[0] == '/' || !run_dir)
        snprintf(path, n, "%s/training.nnkstate", c->backup_dir);
    else
        snprintf(path, n, "%s/%s/training.nnkstate", run_dir, c->backup_dir);
    return 0;
}

static int br_event(void *state, nnk_event ev, const nnk_train_info *info, nnk_err *err)
{
    br_state *s = state;
    if (ev == NNK_TRAIN_BEGIN) {
        br_path(s, info->run_dir, s->path, sizeof s->path);
        return cb_writes_files(info) ? cb_make_parent_dirs("backup_and_restore", s->path, err) : NNK_OK;
    }
    if ((ev == NNK_EPOCH_END && !s->every) || (ev == NNK_BATCH_END && s->every && info->global_batch % s->every == 0))
        return callbacks_host->fit_backup(info->model, s->path, err);
    /* the backup goes once the run's results are safe: at TRAIN_END, or
     * later when the application saves them after fit (nnkit train) */
    int kept = NNK_HAS(info, keep_backup) && info->keep_backup;
    if (ev == NNK_RUN_SAVED && !s->path[0])
        br_path(s, info->run_dir, s->path, sizeof s->path);
    if (((ev == NNK_TRAIN_END && !kept) || (ev == NNK_RUN_SAVED && kept)) && s->c->delete_checkpoint && cb_writes_files(info) &&
        unlink(s->path) && errno != ENOENT)
        return callbacks_host->err_set(err, NNK_EIO, "callback 'backup_and_restore': cannot delete '%s': %s", s->path,
                                       strerror(errno));
    return NNK_OK;
}

static void br_destroy(void *state) { callbacks_host->free(state); }

const nnk_callback_vtable backup_and_restore_callback = {
    .struct_size = sizeof(nnk_callback_vtable),
    .name = "backup_and_restore",
    .doc = "keeps a backup of the whole training state and resumes from it, like Keras's BackupAndRestore",
    .params = br_params,
    .config_size = sizeof(br_config),
    .create = br_create,
    .on_event = br_event,
    .destroy = br_destroy,
    .backup_path = br_path,
};
