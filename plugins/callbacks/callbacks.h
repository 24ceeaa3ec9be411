/* The built-in callbacks plugin: shared between its source files only. */
#ifndef NNKIT_PLUGIN_CALLBACKS_H
#define NNKIT_PLUGIN_CALLBACKS_H
#include <nnkit/plugin.h>

extern const nnk_host *callbacks_host;
extern const nnk_callback_vtable console_callback;
extern const nnk_callback_vtable csv_logger_callback;
extern const nnk_callback_vtable early_stopping_callback;
extern const nnk_callback_vtable model_checkpoint_callback;
extern const nnk_callback_vtable reduce_lr_on_plateau_callback;
extern const nnk_callback_vtable terminate_on_nan_callback;
extern const nnk_callback_vtable learning_rate_scheduler_callback;
extern const nnk_callback_vtable backup_and_restore_callback;

/* Whether this process writes files: in data-parallel training only rank
 * 0 does (every rank runs the callbacks, so decisions agree). */
static inline int cb_writes_files(const nnk_train_info *info)
{
    return !NNK_HAS(info, rank) || info->rank == 0;
}

/* monitor.c */
int cb_find_log(const nnk_train_info *info, const char *name, int all_names);
int cb_check_monitor(const char *callback, const nnk_train_info *info, const char *monitor, nnk_err *err);
/* mode min or max as said; auto as the model says the log is better
 * (nnkit.model.log_direction/1: every loss lower, a metric by its
 * direction, else Keras's name rule). */
int cb_maximize(const char *mode, const char *monitor, const nnk_train_info *info);
int cb_improved(int maximize, double current, double best, double min_delta);
/* "epoch" gives 0, "N" gives N batches */
int cb_parse_save_freq(const char *text, int64_t *every, nnk_err *err);
/* mkdir -p of the directory path will be written in, checked writable */
int cb_make_parent_dirs(const char *callback, const char *path, nnk_err *err);
/* weights.c: buf is allocated on first use (n floats) */
int cb_snapshot_weights(const nnk_train_info *info, float **buf, int64_t *n, nnk_err *err);
void cb_restore_weights(const nnk_train_info *info, const float *buf);
#endif
