/* nnkit sweep's trials: each `nnkit train` in its own process and run
 * directory, --jobs at a time, and their scores. */
#include "sweep.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A run's score as Keras Tuner scores a trial: the best value of the
 * objective over its epochs (training.csv), with the epochs trained when it
 * was reached; an objective training.csv lacks is read from metrics.txt
 * (its last value, *epoch 0). */
int read_objective(const char *dir, const char *objective, int minimize, double *value, long long *epoch)
{
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/training.csv", dir);
    num_table t;
    nnk_err ignored = {NNK_OK, ""}; /* a run without a readable history is scored from metrics.txt */
    int found = 0;
    if (!num_table_read(path, "history", "epoch", &t, &ignored)) {
        int col = num_table_column(&t, objective);
        for (int64_t r = 0; col > 0 && r < t.rows; r++) {
            double v = t.v[r * t.n_cols + col];
            if (isfinite(v) && (!found || (minimize ? v < *value : v > *value))) {
                *value = v;
                *epoch = (long long)t.v[r * t.n_cols] + 1; /* training.csv counts from 0 */
                found = 1;
            }
        }
        num_table_free(&t);
    }
    if (found)
        return 0;
    snprintf(path, sizeof path, "%s/metrics.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char key[128];
    double v;
    while (fscanf(f, "%127s %lf", key, &v) == 2)
        if (!strcmp(key, objective)) {
            *value = v;
            *epoch = 0;
            found = 1;
        }
    fclose(f);
    return found ? 0 : -1;
}

/* A trial started by a process of an MPI job must not join the job: the
 * launcher's variables go from its environment. */
static void leave_mpi_environment(void)
{
    extern char **environ;
    for (int again = 1; again;) {
        again = 0;
        for (char **e = environ; e && *e; e++)
            if (!strncmp(*e, "OMPI_", 5) || !strncmp(*e, "PMIX_", 5) || !strncmp(*e, "PMI_", 4)) {
                char name[256];
                size_t len = strcspn(*e, "=");
                snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), *e);
                unsetenv(name);
                again = 1;
                break;
            }
    }
}

/* A finished trial's result from its run directory (exited: its process
 * succeeded), printed as a line of the sweep's progress. */
static void report_trial(const sweep_options *so, const char *root, trial *tr, int exited, int minimize)
{
    char dir[PATH_MAX + 128];
    snprintf(dir, sizeof dir, "%s/%s", root, tr->name);
    tr->ok = exited && read_objective(dir, so->objective, minimize, &tr->objective, &tr->best_epoch) == 0 &&
             isfinite(tr->objective);
    if (tr->ok && tr->best_epoch)
        printf("  %s: %s %.6g (best at epoch %lld)\n", tr->name, so->objective, tr->objective, tr->best_epoch);
    else if (tr->ok)
        printf("  %s: %s %.6g\n", tr->name, so->objective, tr->objective);
    else
        printf("  %s: failed (see %s/%s.log)\n", tr->name, root, tr->name);
    fflush(stdout);
}

/* Under mpirun a free process takes the next trial nobody has: it claims
 * it by creating its claim file, which only one process can (O_EXCL, on
 * the shared file system). */
static int claim_trial(const char *root, int round, int index)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/.claims/%d-%d", root, round, index);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* Under mpirun: waits for every process's share of the round, then reads
 * each trial's result from its run directory (a shared file system). */
static void gather_results(const sweep_options *so, const char *root, trial *t, int n, int minimize)
{
    nnk_err err = {NNK_OK, ""};
    double done = 1; /* a barrier */
    if (so->reducer->sum_doubles(so->reducer->ctx, &done, 1, &err))
        return;
    for (int i = 0; i < n; i++) {
        if (!t[i].active || t[i].same_as || t[i].mine)
            continue;
        report_trial(so, root, &t[i], 1, minimize);
    }
}

/* The command line of a trial's `nnkit train` in argv (its strings live
 * in static buffers until the next call). */
static void trial_argv(const sweep_options *so, const char *root, const char *trial_ini, const dim *dims, int nd,
                       const trial *tr, char *exe, char **argv)
{
    static char buf[MAX_DIMS + 4][PATH_MAX + 16], run_dir[PATH_MAX + 16], from[PATH_MAX + 128], threads[32];
    const char *sets[MAX_DIMS + 300];
    int n_sets = trial_sets(so, dims, nd, tr, buf, sets), a = 0;
    argv[a++] = exe;
    argv[a++] = "train";
    argv[a++] = (char *)trial_ini;
    for (int i = 0; i < n_sets; i++) {
        argv[a++] = strchr(sets[i], '=') ? "--set" : "--unset";
        argv[a++] = (char *)sets[i];
    }
    snprintf(run_dir, sizeof run_dir, "run.dir=%s", root);
    argv[a++] = "--set";
    argv[a++] = run_dir;
    if (tr->prev[0]) {
        snprintf(from, sizeof from, "%s/%s/model.nnk", root, tr->prev);
        argv[a++] = "--from";
        argv[a++] = from;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN); /* the cores shared among the jobs */
    long share = cores / so->jobs / (so->local_processes > 0 ? so->local_processes : 1);
    snprintf(threads, sizeof threads, "%d", so->threads ? so->threads : share > 1 ? (int)share : 1);
    argv[a++] = "--threads";
    argv[a++] = threads;
    argv[a++] = "--overwrite"; /* an unfinished trial without a backup starts again */
    argv[a++] = "--run-name";
    argv[a++] = (char *)tr->name;
    if (so->plugin_dir) {
        argv[a++] = "--plugin-dir";
        argv[a++] = (char *)so->plugin_dir;
    }
    argv[a] = NULL;
}

/* Whether trial `next` of the round runs here now: not stopped in an
 * earlier rung, not the same configuration as an earlier trial, not
 * claimed by another process, not finished before (its result read). */
static int should_start(const sweep_options *so, const char *root, trial *t, int next, int round, int minimize)
{
    trial *tr = &t[next];
    char dir[PATH_MAX + 128];
    snprintf(dir, sizeof dir, "%s/%s", root, tr->name);
    if (!tr->active) /* stopped in an earlier rung: keep its result */
        return 0;
    tr->same_as = 0;
    tr->mine = 0;
    for (int j = 0; j < next && !tr->same_as; j++)
        if (t[j].active && !strcmp(t[j].name, tr->name))
            tr->same_as = j + 1; /* the same configuration: trained once */
    if (tr->same_as || (so->reducer && !claim_trial(root, round, next))) /* or another process took it */
        return 0;
    tr->mine = 1;
    if (read_objective(dir, so->objective, minimize, &tr->objective, &tr->best_epoch) == 0) { /* finished before */
        tr->ok = isfinite(tr->objective);
        return 0;
    }
    return 1;
}

/* Starts a trial's process, its output in ROOT/NAME.log. */
static pid_t start_trial(const char *root, const trial *tr, char *exe, char **argv)
{
    char log[PATH_MAX + 128];
    snprintf(log, sizeof log, "%s/%s.log", root, tr->name);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        leave_mpi_environment(); /* the trial is a process of its own, not one of the job's */
        FILE *f = freopen(log, "w", stdout);
        if (!f || dup2(fileno(stdout), 2) < 0)
            _exit(1);
        execv(exe, argv);
        _exit(127);
    }
    return pid;
}

/* After a round: trials that shared a configuration share its result,
 * and each trial's best over all its runs (Hyperband's rungs) is kept. */
static void settle_round(trial *t, int n, int minimize)
{
    for (int i = 0; i < n; i++)
        if (t[i].active && t[i].same_as) {
            t[i].ok = t[t[i].same_as - 1].ok;
            t[i].objective = t[t[i].same_as - 1].objective;
            t[i].best_epoch = t[t[i].same_as - 1].best_epoch;
        }
    for (int i = 0; i < n; i++)
        if (t[i].active && t[i].ok &&
            (!t[i].top_ok || (minimize ? t[i].objective < t[i].top_objective : t[i].objective > t[i].top_objective))) {
            t[i].top_ok = 1;
            t[i].top_objective = t[i].objective;
            t[i].top_epoch = t[i].best_epoch;
            t[i].top_rung = t[i].rung;
            snprintf(t[i].top_run, sizeof t[i].top_run, "%s", t[i].name);
        }
}

/* Runs the trials of one round, --jobs at a time, skipping those whose
 * run directory already holds their results. Under mpirun the processes
 * take the round's trials in order as they free up (claim_trial). */
void run_round(const sweep_options *so, const char *root, const char *trial_ini, const dim *dims, int nd, trial *t,
               int n, int minimize)
{
    static int rounds; /* every process counts the same rounds */
    int round = rounds++, running = 0, next = 0;
    pid_t pids[64] = {0};
    int slot_trial[64];
    char exe[PATH_MAX];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[el > 0 ? el : 0] = 0;
    for (;;) {
        for (; running < so->jobs && next < n; next++) {
            if (!should_start(so, root, t, next, round, minimize))
                continue;
            char *argv[2 * (MAX_DIMS + 300) + 16];
            trial_argv(so, root, trial_ini, dims, nd, &t[next], exe, argv);
            pid_t pid = start_trial(root, &t[next], exe, argv);
            for (int s = 0; s < so->jobs; s++)
                if (!pids[s]) {
                    pids[s] = pid;
                    slot_trial[s] = next;
                    break;
                }
            running++;
        }
        if (running == 0)
            break;
        int status;
        pid_t done = wait(&status);
        for (int s = 0; s < so->jobs; s++)
            if (pids[s] == done && done > 0) {
                report_trial(so, root, &t[slot_trial[s]], WIFEXITED(status) && WEXITSTATUS(status) == 0, minimize);
                pids[s] = 0;
                running--;
            }
    }
    if (so->reducer) /* every process's trials done: read all of them */
        gather_results(so, root, t, n, minimize);
    settle_round(t, n, minimize);
}
