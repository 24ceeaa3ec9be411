/* What the callbacks share: finding a log by name (with the list of names
 * when it is missing), Keras's auto/min/max modes, save_freq, and making
 * the directories a file will go in. */
#include "callbacks.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

int cb_find_log(const nnk_train_info *info, const char *name, int all_names)
{
    int n = all_names ? info->n_log_names : info->n_logs;
    for (int i = 0; i < n; i++)
        if (!strcmp(info->log_names[i], name))
            return i;
    return -1;
}

int cb_check_monitor(const char *callback, const nnk_train_info *info, const char *monitor, nnk_err *err)
{
    if (cb_find_log(info, monitor, 1) >= 0)
        return NNK_OK;
    char names[512] = "";
    for (int i = 0; i < info->n_log_names; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", info->log_names[i]);
    return callbacks_host->err_set(err, NNK_ECONFIG, "callback '%s': monitor '%s' is not logged in this run; logs: %s",
                                   callback, monitor, names);
}

int cb_maximize(const char *mode, const char *monitor, const nnk_train_info *info)
{
    if (!strcmp(mode, "max"))
        return 1;
    if (!strcmp(mode, "min"))
        return 0;
    const nnk_host_log_direction *d = NNK_CAPABILITY(callbacks_host, NNK_CAP_LOG_DIRECTION);
    if (d && NNK_HAS(d, higher_is_better) && d->higher_is_better)
        return d->higher_is_better(info && NNK_HAS(info, model) ? info->model : NULL, monitor);
    return strstr(monitor, "acc") != NULL || strstr(monitor, "auc") != NULL; /* an older host: Keras's name rule */
}

int cb_improved(int maximize, double current, double best, double min_delta)
{
    if (isnan(current))
        return 0;
    if (isnan(best))
        return 1;
    return maximize ? current > best + min_delta : current < best - min_delta;
}

int cb_parse_save_freq(const char *text, int64_t *every, nnk_err *err)
{
    *every = 0;
    if (!strcmp(text, "epoch"))
        return NNK_OK;
    char *end;
    *every = strtoll(text, &end, 10);
    if (!*text || *end || *every < 1)
        return callbacks_host->err_set(err, NNK_ECONFIG, "parameter 'save_freq' must be 'epoch' or a positive integer, got '%s'",
                                       text);
    return NNK_OK;
}

int cb_make_parent_dirs(const char *callback, const char *path, nnk_err *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return NNK_OK;
    *slash = 0;
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(dir, 0755);
            *p = '/';
        }
    if (mkdir(dir, 0755) && errno != EEXIST)
        return callbacks_host->err_set(err, NNK_EIO, "callback '%s': cannot create '%s': %s", callback, dir, strerror(errno));
    if (access(dir, W_OK))
        return callbacks_host->err_set(err, NNK_EIO, "callback '%s': cannot write in '%s': %s", callback, dir, strerror(errno));
    return NNK_OK;
}
