/* Where a training run writes: its directory (chosen, made, shared with
 * the job's other processes) and what an interrupted run left there. */
#include "cli.h"
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A file's name ends in ".tmp.PID" (an atomic write in progress) and
 * that process is gone. */
static int is_stale_temporary(const char *path)
{
    const char *t = NULL;
    for (const char *p = strstr(path, ".tmp."); p; p = strstr(p + 1, ".tmp."))
        t = p;
    if (!t || !t[5])
        return 0;
    char *end;
    long pid = strtol(t + 5, &end, 10);
    if (*end || pid <= 0)
        return 0;
    return pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static int remove_if_stale(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)ftw;
    if (flag == FTW_F && is_stale_temporary(path))
        unlink(path);
    return 0;
}

/* Temporaries an earlier, killed run left behind in its directory. */
static void remove_stale_temporaries(const char *dir)
{
    nftw(dir, remove_if_stale, 16, FTW_PHYS);
}

static int newest_first(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*b)->d_name, (*a)->d_name);
}

/* The newest run directory of this experiment (<dir>/<stem>-...) whose
 * callbacks left a backup to resume from. */
static int find_backed_up_run(const char *dir, const char *stem, nnk_callback *const *cbs, int n_cbs,
                              char *run_dir, size_t n)
{
    struct dirent **list;
    int count = scandir(dir, &list, NULL, newest_first), found = 0;
    size_t sl = strlen(stem);
    for (int i = 0; i < count; i++) {
        char path[4096], candidate[4096];
        if (!found && !strncmp(list[i]->d_name, stem, sl) && list[i]->d_name[sl] == '-') {
            snprintf(candidate, sizeof candidate, "%s/%s", dir, list[i]->d_name);
            if (nnk_callback_backup(cbs, n_cbs, candidate, path, sizeof path)) {
                snprintf(run_dir, n, "%s", candidate);
                found = 1;
            }
        }
        free(list[i]);
    }
    if (count >= 0)
        free(list);
    return found;
}

static void experiment_stem(const char *path, char *out, size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out, n, "%s", base);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = 0;
}

/* The run's directory: named by --run-name or [run] name, an interrupted
 * run of this experiment (its backup), or the experiment and the time. An
 * existing one without a backup is refused unless --overwrite replaces it.
 * Made, with stale temporaries of an earlier process removed. */
int choose_run_dir(const options *o, const nnk_run_config *c, nnk_callback *const *cbs, int n_cbs, char *run_dir,
                          size_t size, int *created_dir, nnk_err *err)
{
    char stem[256], path[4200];
    experiment_stem(o->positional, stem, sizeof stem);
    const char *name = o->run_name ? o->run_name : c->run_name;
    if (name && *name) {
        snprintf(run_dir, size, "%s/%s", c->run_dir, name);
    } else if (find_backed_up_run(c->run_dir, stem, cbs, n_cbs, run_dir, size)) {
        /* an interrupted run of this experiment: carry on in its directory */
    } else {
        char stamp[64];
        time_t t = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&t));
        snprintf(run_dir, size, "%s/%s-%s", c->run_dir, stem, stamp);
        for (int k = 2; access(run_dir, F_OK) == 0 && k < 1000; k++)
            snprintf(run_dir, size, "%s/%s-%s-%d", c->run_dir, stem, stamp, k);
    }
    /* an existing run is continued from its backup, replaced when asked,
     * and otherwise left alone: never silently mixed into */
    if (access(run_dir, F_OK) == 0 && !nnk_callback_backup(cbs, n_cbs, run_dir, path, sizeof path)) {
        if (!o->overwrite)
            return nnk_err_set(err, NNK_ECONFIG,
                               "run directory '%s' exists and holds no backup to resume; use --overwrite to replace it, "
                               "or another --run-name",
                               run_dir);
        remove_tree(run_dir);
    }
    *created_dir = access(run_dir, F_OK) != 0;
    if (nnk_mkdir_p(run_dir, "run directory", err))
        return err->status;
    if (!*created_dir)
        remove_stale_temporaries(run_dir);
    return NNK_OK;
}

/* Rank 0's run directory and status, to every process; another rank that
 * gets a failure exits with its status and no message of its own. */
int share_run_dir(const nnk_reducer *red, char *run_dir, size_t size, nnk_err *err)
{
    int32_t status = err->status;
    int rc = red->broadcast(red->ctx, &status, sizeof status, 0, err);
    if (!rc)
        rc = red->broadcast(red->ctx, run_dir, (int64_t)size, 0, err);
    if (!rc && red->rank != 0 && status) {
        err->status = status;
        err->msg[0] = 0;
    }
    return rc;
}

