/* nnkit sweep: hyper-parameter search over any key of an experiment.
 * Grid (every combination), random (--trials samples), or hyperband
 * (successive halving: many trials for few epochs, the best third again
 * for three times as many, ...). Each trial is `nnkit train` in its own
 * process (--jobs at a time) and its own run directory, so TensorBoard's
 * HParams dashboard ranks them; the sweep's own run records the search
 * space. A re-run skips the trials that finished. */
#include "bayes.h"
#include "cli.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <nnkit/tensorboard.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_DIMS 16
#define MAX_VALUES 64
#define MAX_TRIALS 1024

enum { DIM_GRID, DIM_CHOICE, DIM_UNIFORM, DIM_LOG };

typedef struct dim {
    char key[128];
    int kind;
    double lo, hi;
    int integer;       /* LOW:HIGH written as integers: values are rounded (Keras Tuner's hp.Int) */
    char values[MAX_VALUES][64];
    int n_values;
} dim;

typedef struct trial {
    char value[MAX_DIMS][64];
    double u[MAX_DIMS];  /* random and bayes: its point in the unit cube */
    char name[64];       /* trial-<id>: the id is a digest of its whole
                            resolved configuration */
    double objective;
    int ok, active;
    int rung;          /* hyperband: the last rung it reached */
    int same_as;       /* 1 + the trial with the same configuration, or 0 */
    long long epochs;
    long long initial_epoch; /* hyperband: epochs its previous rung trained */
    char prev[64];           /* hyperband: the previous rung's run it goes on from */
    int mine;                /* under mpirun: this process ran it this round */
    long long best_epoch;    /* epochs trained at its best epoch this run (Keras Tuner scores a trial by it), or 0 */
    /* its best over every run it had (every rung of Hyperband's), which ranks it */
    int top_ok, top_rung;
    double top_objective;
    long long top_epoch;
    char top_run[64];
} trial;

static int parse_dim(const char *spec, int kind, dim *d, nnk_err *err)
{
    static const char *const flags[] = {"--grid", "--choice", "--uniform", "--log-uniform"};
    const char *eq = strchr(spec, '=');
    memset(d, 0, sizeof *d);
    d->kind = kind;
    if (!eq || eq == spec || !strchr(spec, '.') || strchr(spec, '.') > eq)
        return nnk_err_set(err, NNK_EUSAGE, "%s '%s': expected section.key=%s", flags[kind], spec,
                           kind >= DIM_UNIFORM ? "LOW:HIGH" : "V1,V2,...");
    snprintf(d->key, sizeof d->key, "%.*s", (int)(eq - spec), spec);
    const char *v = eq + 1;
    if (kind >= DIM_UNIFORM) {
        char *end;
        d->lo = strtod(v, &end);
        if (end == v || *end != ':')
            return nnk_err_set(err, NNK_EUSAGE, "%s '%s': expected LOW:HIGH", flags[kind], spec);
        const char *h = end + 1;
        d->hi = strtod(h, &end);
        if (end == h || *end || !isfinite(d->lo) || !isfinite(d->hi))
            return nnk_err_set(err, NNK_EUSAGE, "%s '%s': expected LOW:HIGH", flags[kind], spec);
        if (!(d->lo < d->hi))
            return nnk_err_set(err, NNK_EUSAGE, "%s '%s': the range is empty or inverted (%g is not below %g)",
                               flags[kind], spec, d->lo, d->hi);
        d->integer = !strpbrk(v, ".eE") && !strpbrk(h, ".eE");
        if (kind == DIM_LOG && d->lo <= 0)
            return nnk_err_set(err, NNK_EUSAGE, "%s '%s': a log-uniform range must be above 0", flags[kind], spec);
        return NNK_OK;
    }
    char *copy = strdup(v), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && d->n_values < MAX_VALUES; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (*t)
            snprintf(d->values[d->n_values++], 64, "%s", t);
    }
    free(copy);
    if (d->n_values == 0)
        return nnk_err_set(err, NNK_EUSAGE, "%s '%s': no values", flags[kind], spec);
    return NNK_OK;
}

/* A trial's values from its point in the unit cube: ranges map linearly
 * (or on a log scale), lists pick the value whose share u falls in. */
static void values_from_unit(const dim *dims, int nd, trial *t)
{
    for (int i = 0; i < nd; i++) {
        const dim *d = &dims[i];
        double u = t->u[i];
        double x = d->kind == DIM_UNIFORM ? d->lo + (d->hi - d->lo) * u
                   : d->kind == DIM_LOG   ? exp(log(d->lo) + (log(d->hi) - log(d->lo)) * u)
                                          : 0;
        if (d->kind >= DIM_UNIFORM && d->integer)
            snprintf(t->value[i], 64, "%.0f", round(x));
        else if (d->kind >= DIM_UNIFORM)
            snprintf(t->value[i], 64, "%.6g", x);
        else
            snprintf(t->value[i], 64, "%s", d->values[(int)(u * d->n_values) % d->n_values]);
    }
}

static int make_trials(const dim *dims, int nd, int random, int n_random, uint64_t seed, trial *t, nnk_err *err)
{
    int n = 0;
    if (!random) {
        int total = 1;
        for (int i = 0; i < nd; i++)
            total *= dims[i].n_values;
        if (total > MAX_TRIALS)
            return nnk_err_set(err, NNK_EUSAGE, "sweep: %d grid combinations, at most %d", total, MAX_TRIALS), -1;
        for (int k = 0; k < total; k++, n++)
            for (int i = 0, r = k; i < nd; i++) {
                snprintf(t[n].value[i], 64, "%s", dims[i].values[r % dims[i].n_values]);
                r /= dims[i].n_values;
            }
        return n;
    }
    uint64_t s = seed * 2654435761u + 1;
    for (; n < n_random && n < MAX_TRIALS; n++) {
        for (int i = 0; i < nd; i++)
            t[n].u[i] = bayes_uniform(&s);
        values_from_unit(dims, nd, &t[n]);
    }
    return n;
}

/* The --set assignments a trial's `nnkit train` gets (but run.dir and the
 * run name), in the order it gets them; strings live in buf. */
static int trial_sets(const sweep_options *so, const dim *dims, int nd, const trial *t,
                      char buf[][PATH_MAX + 16], const char **sets)
{
    int n = 0;
    for (int i = 0; i < nd; i++) {
        snprintf(buf[n], sizeof buf[n], "%s=%s", dims[i].key, t->value[i]);
        sets[n] = buf[n];
        n++;
    }
    for (int i = 0; i < so->n_sets; i++)
        sets[n++] = so->sets[i];
    snprintf(buf[n], sizeof buf[n], "fit.verbose=2");
    sets[n] = buf[n];
    n++;
    if (t->epochs > 0) {
        snprintf(buf[n], sizeof buf[n], "fit.epochs=%lld", t->epochs);
        sets[n] = buf[n];
        n++;
    }
    if (t->initial_epoch > 0) {
        snprintf(buf[n], sizeof buf[n], "fit.initial_epoch=%lld", t->initial_epoch);
        sets[n] = buf[n];
        n++;
    }
    return n;
}

/* FNV-1a of the resolved experiment without its first line (which names
 * the file) and its [run] section (where the run goes): two trials are the
 * same trial exactly when everything that shapes training is the same. */
static void config_id(const char *resolved, char *id, size_t n)
{
    const char *start = strchr(resolved, '\n');
    start = start ? start + 1 : resolved;
    const char *end = strstr(start, "\n[run]\n");
    size_t len = end ? (size_t)(end - start) : strlen(start);
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)start[i]) * 0x100000001b3ull;
    snprintf(id, n, "%012llx", (unsigned long long)(h >> 16));
}

/* Every key must mean something: builds the trial's experiment (as its
 * `nnkit train` will) before any training, and names the trial by its
 * resolved configuration. */
static int validate(const sweep_options *so, const dim *dims, int nd, trial *t, nnk_err *err)
{
    static char buf[MAX_DIMS + 4][PATH_MAX + 16];
    const char *sets[MAX_DIMS + 300];
    int n_sets = trial_sets(so, dims, nd, t, buf, sets);
    loaded_experiment x;
    nnk_callback **cbs = NULL;
    int n_cbs = 0;
    int rc = experiment_open(&x, so->experiment, sets, n_sets, 0, so->plugin_dir, err);
    if (rc)
        return rc;
    if (!(cbs = nnk_experiment_callbacks(x.e, x.reg, &n_cbs, err)))
        rc = err->status;
    if (!rc)
        rc = nnk_model_build(x.m, 1, err);
    char *resolved = rc ? NULL : nnk_experiment_resolved_text(x.e, x.m, &x.parts);
    if (!rc && !resolved)
        rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (!rc) {
        char id[32];
        config_id(resolved, id, sizeof id);
        snprintf(t->name, sizeof t->name, "trial-%s", id);
    }
    free(resolved);
    for (int i = 0; cbs && i < n_cbs; i++)
        nnk_callback_free(cbs[i]);
    free(cbs);
    experiment_close(&x);
    return rc;
}

/* A run's score as Keras Tuner scores a trial: the best value of the
 * objective over its epochs (training.csv), with the epochs trained when it
 * was reached; an objective training.csv lacks is read from metrics.txt
 * (its last value, *epoch 0). */
static int read_objective(const char *dir, const char *objective, int minimize, double *value, long long *epoch)
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

/* Runs the trials of one round, --jobs at a time, skipping those whose
 * run directory already holds their results. Under mpirun the processes
 * take the round's trials in order as they free up (claim_trial). */
static void run_round(const sweep_options *so, const char *root, const char *trial_ini, const dim *dims, int nd,
                      trial *t, int n, int minimize)
{
    static int rounds; /* every process counts the same rounds */
    int round = rounds++;
    int running = 0, next = 0;
    pid_t pids[64] = {0};
    int slot_trial[64];
    char exe[PATH_MAX];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[el > 0 ? el : 0] = 0;
    for (;;) {
        while (running < so->jobs && next < n) {
            trial *tr = &t[next];
            char dir[PATH_MAX + 128];
            snprintf(dir, sizeof dir, "%s/%s", root, tr->name);
            if (!tr->active) { /* stopped in an earlier rung: keep its result */
                next++;
                continue;
            }
            tr->same_as = 0;
            tr->mine = 0;
            for (int j = 0; j < next && !tr->same_as; j++)
                if (t[j].active && !strcmp(t[j].name, tr->name))
                    tr->same_as = j + 1; /* the same configuration: trained once */
            if (tr->same_as) {
                next++;
                continue;
            }
            if (so->reducer && !claim_trial(root, round, next)) { /* another process took it */
                next++;
                continue;
            }
            tr->mine = 1;
            if (read_objective(dir, so->objective, minimize, &tr->objective, &tr->best_epoch) == 0) { /* finished before */
                tr->ok = isfinite(tr->objective);
                next++;
                continue;
            }
            static char buf[MAX_DIMS + 4][PATH_MAX + 16], run_dir[PATH_MAX + 16];
            const char *sets[MAX_DIMS + 300];
            char *argv[2 * (MAX_DIMS + 300) + 16];
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
            static char from[PATH_MAX + 128];
            if (tr->prev[0]) {
                snprintf(from, sizeof from, "%s/%s/model.nnk", root, tr->prev);
                argv[a++] = "--from";
                argv[a++] = from;
            }
            static char threads[32]; /* the cores shared among the jobs */
            long cores = sysconf(_SC_NPROCESSORS_ONLN);
            long share = cores / so->jobs / (so->local_processes > 0 ? so->local_processes : 1);
            snprintf(threads, sizeof threads, "%d", so->threads ? so->threads : share > 1 ? (int)share : 1);
            argv[a++] = "--threads";
            argv[a++] = threads;
            argv[a++] = "--overwrite"; /* an unfinished trial without a backup starts again */
            argv[a++] = "--run-name";
            argv[a++] = tr->name;
            if (so->plugin_dir) {
                argv[a++] = "--plugin-dir";
                argv[a++] = (char *)so->plugin_dir;
            }
            argv[a] = NULL;
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
            for (int s = 0; s < so->jobs; s++)
                if (!pids[s]) {
                    pids[s] = pid;
                    slot_trial[s] = next;
                    break;
                }
            running++;
            next++;
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
    for (int i = 0; i < n; i++)
        if (t[i].active && t[i].same_as) {
            t[i].ok = t[t[i].same_as - 1].ok;
            t[i].objective = t[t[i].same_as - 1].objective;
            t[i].best_epoch = t[t[i].same_as - 1].best_epoch;
        }
    for (int i = 0; i < n; i++) /* each trial's best over all its runs (Hyperband's rungs) */
        if (t[i].active && t[i].ok &&
            (!t[i].top_ok || (minimize ? t[i].objective < t[i].top_objective : t[i].objective > t[i].top_objective))) {
            t[i].top_ok = 1;
            t[i].top_objective = t[i].objective;
            t[i].top_epoch = t[i].best_epoch;
            t[i].top_rung = t[i].rung;
            snprintf(t[i].top_run, sizeof t[i].top_run, "%s", t[i].name);
        }
}

/* Whether a ranks above b by this run's score (Hyperband's rung cut). */
static int better_now(const trial *a, const trial *b, int minimize)
{
    if (a->ok != b->ok)
        return a->ok;
    return minimize ? a->objective < b->objective : a->objective > b->objective;
}

/* Whether a ranks above b by its best score over all its runs (the table). */
static int better(const trial *a, const trial *b, int minimize)
{
    if (a->top_ok != b->top_ok)
        return a->top_ok;
    return minimize ? a->top_objective < b->top_objective : a->top_objective > b->top_objective;
}

/* The logs of one epoch (epochs trained: row epoch - 1 of training.csv) as
 * "key value, ...". */
static void epoch_logs(const char *root, const char *run, long long epoch, char *out, size_t n)
{
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s/training.csv", root, run);
    num_table t;
    nnk_err ignored = {NNK_OK, ""}; /* the comment is left out when the history cannot be read */
    if (num_table_read(path, "history", "epoch", &t, &ignored))
        return;
    for (int64_t r = 0; r < t.rows; r++) {
        if ((long long)t.v[r * t.n_cols] != epoch - 1)
            continue;
        size_t k = 0;
        for (int c = 1; c < t.n_cols && k < n; c++) {
            char v[40];
            nnk_format_double(t.v[r * t.n_cols + c], v, sizeof v);
            k += (size_t)snprintf(out + k, n - k, "%s%s %s", k ? ", " : "", t.names[c], v);
        }
        break;
    }
    num_table_free(&t);
}

/* Sets [fit] epochs in INI text (adding the key when the section lacks it). */
static int set_epochs(char **text, size_t *len, long long epochs)
{
    char *fit = strstr(*text, "\n[fit]\n");
    if (!fit)
        return 0;
    char *end = strstr(fit + 1, "\n["), *key = strstr(fit, "\nepochs = ");
    char *out = NULL;
    size_t olen = 0;
    FILE *f = open_memstream(&out, &olen);
    if (!f)
        return -1;
    if (key && (!end || key < end)) {
        char *eol = strchr(key + 1, '\n');
        fprintf(f, "%.*s\nepochs = %lld%s", (int)(key - *text), *text, epochs, eol ? eol : "\n");
    } else {
        fprintf(f, "%.*s\nepochs = %lld%s", (int)(fit + 7 - *text), *text, epochs, fit + 7);
    }
    fclose(f);
    free(*text);
    *text = out;
    *len = olen;
    return 0;
}

/* The search space as text in the sweep's own run (step k for its k-th
 * search). No hparams experiment record: TensorBoard uses one such record
 * for the whole log directory, picked arbitrarily, so with two sweeps (or
 * plain runs) under one --logdir the other runs' hyper-parameters and
 * metrics would vanish. Without it, the HParams dashboard builds its
 * columns from every run's session start and every metric the runs log. */
static int record_space(const char *root, const dim *dims, int nd, const char *objective, const char *strategy,
                        nnk_err *err)
{
    int64_t step = 0;
    DIR *dir = opendir(root);
    for (struct dirent *de; dir && (de = readdir(dir));)
        step += !strncmp(de->d_name, "events.out.tfevents.", 20);
    if (dir)
        closedir(dir);
    char text[8192];
    int len = snprintf(text, sizeof text, "Search space (%s, objective `%s`):\n\n", strategy, objective);
    for (int i = 0; i < nd && len < (int)sizeof text; i++) {
        const dim *d = &dims[i];
        if (d->kind >= DIM_UNIFORM) {
            len += snprintf(text + len, sizeof text - (size_t)len, "* `%s`: %s in [%g, %g]\n", d->key,
                            d->kind == DIM_LOG ? "log-uniform" : "uniform", d->lo, d->hi);
            continue;
        }
        len += snprintf(text + len, sizeof text - (size_t)len, "* `%s`: one of", d->key);
        for (int k = 0; k < d->n_values && len < (int)sizeof text; k++)
            len += snprintf(text + len, sizeof text - (size_t)len, " %s", d->values[k]);
        if (len < (int)sizeof text)
            len += snprintf(text + len, sizeof text - (size_t)len, "\n");
    }
    nnk_tb_writer *w = nnk_tb_writer_open(root, err);
    if (!w)
        return err->status;
    int rc = nnk_tb_text(w, "search_space", text, step, -1, err);
    int crc = nnk_tb_close(w, rc ? NULL : err);
    return rc ? rc : crc;
}

/* The experiment a trial trains: the original (its data paths made
 * absolute, since trial.ini lives elsewhere), plus a tensorboard callback
 * when it has none, so every trial is a TensorBoard run. */
static int write_trial_ini(const char *experiment, const char *path, nnk_err *err)
{
    nnk_experiment *e = nnk_experiment_load(experiment, err);
    if (!e)
        return err->status;
    int has_tb = 0, rc = NNK_OK;
    for (int i = 0; !rc && i < e->n; i++) {
        nnk_ini_section *s = &e->sections[i];
        for (int k = 0; k < s->n; k++) {
            if (!strcmp(s->kind, "data") &&
                (!strcmp(s->entries[k].key, "train") || !strcmp(s->entries[k].key, "test") ||
                 !strcmp(s->entries[k].key, "validation"))) {
                char *abs = nnk_experiment_data_path(s->entries[k].value);
                if (!abs) {
                    rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
                    break;
                }
                free(s->entries[k].value);
                s->entries[k].value = abs;
            }
        }
        has_tb |= !strcmp(s->kind, "callback") && !strcmp(nnk_ini_section_type(s), "tensorboard");
    }
    char *text = rc ? NULL : nnk_experiment_text(e);
    nnk_experiment_free(e);
    if (!rc && !text)
        rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    char *out = NULL;
    size_t len = 0;
    FILE *f = text ? open_memstream(&out, &len) : NULL;
    if (f) {
        fputs(text, f);
        if (!has_tb)
            fputs("\n[callback tensorboard]\n", f);
        fclose(f);
    }
    if (!rc)
        rc = out ? nnk_write_file_atomic(path, out, len, err) : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    free(text);
    free(out);
    return rc;
}

static int write_best(const sweep_options *so, const char *root, const char *runs_dir, const trial *best, nnk_err *err);

int cmd_sweep_run(const sweep_options *so, nnk_err *err)
{
    dim dims[MAX_DIMS];
    int nd = 0, random = 0;
    for (int i = 0; i < so->n_dims; i++) {
        if (nd == MAX_DIMS)
            return nnk_err_set(err, NNK_EUSAGE, "sweep: at most %d parameters", MAX_DIMS);
        int rc = parse_dim(so->dims[i], so->dim_kinds[i], &dims[nd++], err);
        if (rc)
            return rc;
        random |= so->dim_kinds[i] >= DIM_UNIFORM;
    }
    if (nd == 0)
        return nnk_err_set(err, NNK_EUSAGE, "sweep: nothing to search (give --grid, --choice, --uniform or --log-uniform)");
    int hyperband = !strcmp(so->strategy, "hyperband"), bayes = !strcmp(so->strategy, "bayes");
    random |= hyperband || bayes || !strcmp(so->strategy, "random");
    static trial t[MAX_TRIALS];
    memset(t, 0, sizeof t);
    /* bayes: a few random points first, then the model's */
    int n_init = so->trials < 2 * nd + 2 ? so->trials : 2 * nd + 2;
    int n = make_trials(dims, nd, random, bayes ? n_init : so->trials, (uint64_t)so->seed, t, err);
    if (n < 0)
        return err->status;
    int rc = NNK_OK;
    for (int i = 0; !rc && i < n; i++) /* every trial's configuration, before any training */
        if ((rc = validate(so, dims, nd, &t[i], err)) && i > 0) {
            char why[NNK_ERR_MAX];
            snprintf(why, sizeof why, "%s", err->msg);
            nnk_err_set(err, err->status, "trial %d: %.480s", i, why);
        }
    if (rc)
        return rc;
    /* the run directory and the trial experiment */
    nnk_experiment *e = nnk_experiment_load(so->experiment, err);
    if (!e)
        return err->status;
    for (int i = 0; i < so->n_sets; i++) /* --set run.dir and fit.epochs count too (checked above) */
        nnk_experiment_override(e, so->sets[i], NULL);
    const char *runs = nnk_experiment_get(e, "run", "dir");
    char runs_dir[PATH_MAX];
    snprintf(runs_dir, sizeof runs_dir, "%s", runs && *runs ? runs : "runs");
    char stem[256], root[PATH_MAX], trial_ini[PATH_MAX + 32];
    const char *base = strrchr(so->experiment, '/');
    snprintf(stem, sizeof stem, "%s", base ? base + 1 : so->experiment);
    char *dot = strrchr(stem, '.');
    if (dot)
        *dot = 0;
    snprintf(root, sizeof root, "%.3800s/%s", runs_dir, so->name ? so->name : stem);
    if (!so->name)
        strncat(root, "-sweep", sizeof root - strlen(root) - 1);
    const char *max_epochs_text = nnk_experiment_get(e, "fit", "epochs");
    long long max_epochs = max_epochs_text ? atoll(max_epochs_text) : 1;
    nnk_experiment_free(e);
    snprintf(trial_ini, sizeof trial_ini, "%s/trial.ini", root);
    int writer = !so->reducer || so->reducer->rank == 0; /* under mpirun rank 0 writes the sweep's own files */
    char claims[PATH_MAX + 16];
    snprintf(claims, sizeof claims, "%s/.claims", root);
    if (writer && so->reducer) /* an earlier sweep's claims go: a re-run runs what it did not finish */
        remove_tree(claims);
    if (writer && ((rc = nnk_mkdir_p(so->reducer ? claims : root, "sweep directory", err)) ||
                   (rc = write_trial_ini(so->experiment, trial_ini, err)) ||
                   (rc = record_space(root, dims, nd, so->objective,
                                      hyperband ? "hyperband" : bayes ? "bayes" : random ? "random" : "grid", err))))
        return rc;
    double ready = 1;
    if (so->reducer && (rc = so->reducer->sum_doubles(so->reducer->ctx, &ready, 1, err))) /* its files are there */
        return rc;
    int minimize = !strcmp(so->mode, "min") ||
                   (!strcmp(so->mode, "auto") && !strstr(so->objective, "acc"));
    printf("sweep %s: %d trials (%s), objective %s (%s), %d at a time%s\n", root, bayes ? so->trials : n,
           hyperband ? "hyperband" : bayes ? "bayes" : random ? "random" : "grid", so->objective, minimize ? "min" : "max",
           so->jobs * (so->reducer ? so->reducer->size : 1), so->reducer ? " over the job's processes" : "");
    if (bayes) {
        for (int i = 0; i < n; i++)
            t[i].active = 1;
        run_round(so, root, trial_ini, dims, nd, t, n, minimize);
        /* then model-guided points, --jobs at a time; the values the
         * batch's earlier proposals will get stand in as the best so far */
        uint64_t state = (uint64_t)so->seed * 0x9E3779B97F4A7C15ull + 7;
        static double X[MAX_TRIALS * MAX_DIMS], y[MAX_TRIALS];
        while (n < so->trials && n < MAX_TRIALS && !rc) {
            int m = 0;
            double worst = -INFINITY, best = INFINITY;
            for (int i = 0; i < n; i++)
                if (t[i].ok) {
                    double v = minimize ? t[i].objective : -t[i].objective;
                    worst = v > worst ? v : worst;
                    best = v < best ? v : best;
                }
            for (int i = 0; i < n; i++) {
                memcpy(X + m * nd, t[i].u, sizeof(double) * (size_t)nd);
                y[m++] = t[i].ok ? (minimize ? t[i].objective : -t[i].objective) : (isfinite(worst) ? worst + 1 : 1);
            }
            int parallel = so->jobs * (so->reducer ? so->reducer->size : 1); /* one proposal for every slot */
            int batch = parallel < so->trials - n ? parallel : so->trials - n, first = n;
            for (int b = 0; b < batch; b++, n++) {
                memset(&t[n], 0, sizeof t[n]);
                bayes_propose(X, y, m, nd, 2000, &state, t[n].u);
                memcpy(X + m * nd, t[n].u, sizeof(double) * (size_t)nd);
                y[m++] = isfinite(best) ? best : 0; /* a stand-in until it has run */
                values_from_unit(dims, nd, &t[n]);
                t[n].active = 1;
                if ((rc = validate(so, dims, nd, &t[n], err)))
                    return rc;
            }
            run_round(so, root, trial_ini, dims, nd, t + first, n - first, minimize);
        }
    } else if (!hyperband) {
        for (int i = 0; i < n; i++)
            t[i].active = 1;
        run_round(so, root, trial_ini, dims, nd, t, n, minimize);
    } else {
        /* successive halving: keep the best 1/eta, give them eta times the epochs */
        const int eta = 3;
        int rungs = 0;
        while (rungs < 8 && pow(eta, rungs + 1) <= n)
            rungs++;
        long long epochs = (long long)fmax(1, floor((double)max_epochs / pow(eta, rungs)));
        int alive = n;
        for (int i = 0; i < n; i++)
            t[i].active = 1;
        for (int r = 0; r <= rungs && alive > 0; r++, epochs = epochs * eta > max_epochs ? max_epochs : epochs * eta) {
            printf("rung %d: %d trials, %lld epochs\n", r, alive, epochs);
            for (int i = 0; i < n; i++)
                if (t[i].active) {
                    /* a later rung goes on from the weights and optimizer state
                     * of the trial's previous one, as Keras Tuner's Hyperband */
                    if (r > 0 && t[i].ok) {
                        snprintf(t[i].prev, sizeof t[i].prev, "%s", t[i].name);
                        t[i].initial_epoch = t[i].epochs;
                    }
                    t[i].epochs = epochs;
                    t[i].rung = r;
                    t[i].ok = 0;
                    if ((rc = validate(so, dims, nd, &t[i], err))) /* names it for this rung's epochs */
                        return rc;
                }
            run_round(so, root, trial_ini, dims, nd, t, n, minimize);
            int keep = r == rungs ? alive : (alive + eta - 1) / eta;
            /* rank the active trials; the rest stop here */
            for (int k = 0; k < keep; k++) {
                int best = -1;
                for (int i = 0; i < n; i++)
                    if (t[i].active == 1 && (best < 0 || better_now(&t[i], &t[best], minimize)))
                        best = i;
                if (best >= 0)
                    t[best].active = 2;
            }
            for (int i = 0; i < n; i++)
                t[i].active = t[i].active == 2;
            alive = keep;
        }
    }
    /* the table, best first */
    int order[MAX_TRIALS];
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && better(&t[order[j]], &t[order[j - 1]], minimize); j--) {
            int x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
    printf("\n%-20s %s%-12s %-6s", "trial", hyperband ? "rung epochs " : "", so->objective, "epoch");
    for (int i = 0; i < nd; i++)
        printf(" %-18s", dims[i].key);
    printf("\n");
    for (int k = 0; k < n; k++) {
        const trial *tr = &t[order[k]];
        printf("%-20s ", tr->top_ok ? tr->top_run : tr->name);
        if (hyperband)
            printf("%-4d %-6lld ", tr->top_ok ? tr->top_rung : tr->rung, tr->epochs);
        if (tr->top_ok)
            printf("%-12.6g %-6lld", tr->top_objective, tr->top_epoch);
        else
            printf("%-12s %-6s", "failed", "");
        for (int i = 0; i < nd; i++)
            printf(" %-18s", tr->value[i]);
        printf("\n");
    }
    const trial *best = &t[order[0]];
    if (!best->top_ok)
        return nnk_err_set(err, NNK_ERUNTIME, "sweep: every trial failed; see the .log files in '%s'", root);
    if (!writer)
        return NNK_OK;
    return write_best(so, root, runs_dir, best, err);
}

/* best.ini: the best trial's configuration, trained from the start for the
 * epochs that reached its best epoch (runs are reproducible, so it trains
 * that model again), its [run] where the experiment's runs go, under a
 * fresh name; a comment gives that epoch's logs. */
static int write_best(const sweep_options *so, const char *root, const char *runs_dir, const trial *best, nnk_err *err)
{
    char from[PATH_MAX + 128], to[PATH_MAX + 16], logs[1024] = "";
    snprintf(from, sizeof from, "%s/%s/config.ini", root, best->top_run);
    snprintf(to, sizeof to, "%s/best.ini", root);
    if (best->top_epoch > 0)
        epoch_logs(root, best->top_run, best->top_epoch, logs, sizeof logs);
    size_t len;
    unsigned char *cfg = nnk_read_file(from, "config", &len, err);
    if (!cfg)
        return err->status;
    char *ie = strstr((char *)cfg, "\ninitial_epoch = "); /* a Hyperband rung went on from earlier ones */
    if (ie)
        for (char *d = ie + 17; *d && *d != '\n'; d++)
            *d = *d >= '0' && *d <= '9' ? (d == ie + 17 ? '0' : ' ') : *d;
    char *run = strstr((char *)cfg, "\n[run]\n");
    if (run)
        len = (size_t)(run - (char *)cfg) + 1;
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    if (f) {
        if (best->top_epoch > 0)
            fprintf(f, "; best trial %s: %s %.17g at epoch %lld%s%s\n", best->top_run, so->objective, best->top_objective,
                    best->top_epoch, logs[0] ? "; its logs: " : "", logs);
        fwrite(cfg, 1, len, f);
        fprintf(f, "\n[run]\ndir = %s\nname = \n", runs_dir);
        fclose(f);
    }
    free(cfg);
    if (text && best->top_epoch > 0 && set_epochs(&text, &tlen, best->top_epoch)) {
        free(text);
        text = NULL;
    }
    int rc = text ? nnk_write_file_atomic(to, text, tlen, err) : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    free(text);
    if (!rc && best->top_epoch > 0)
        printf("\nbest: %s (%s %.6g at epoch %lld); its experiment is %s\n", best->top_run, so->objective,
               best->top_objective, best->top_epoch, to);
    else if (!rc)
        printf("\nbest: %s (%s %.6g); its experiment is %s\n", best->top_run, so->objective, best->top_objective, to);
    return rc;
}

int cmd_sweep(const options *o)
{
    if (!o->positional)
        return usage_error("sweep", "%s", "missing EXPERIMENT.ini");
    sweep_options so = o->sweep;
    so.experiment = o->positional;
    so.plugin_dir = o->plugin_dir;
    so.sets = o->sets;
    so.n_sets = o->n_sets;
    so.strategy = so.strategy ? so.strategy : "auto";
    if (strcmp(so.strategy, "auto") && strcmp(so.strategy, "grid") && strcmp(so.strategy, "random") &&
        strcmp(so.strategy, "hyperband") && strcmp(so.strategy, "bayes"))
        return usage_error("sweep", "--strategy must be grid, random, hyperband or bayes, got '%s'", so.strategy);
    if (!strcmp(so.strategy, "grid"))
        for (int i = 0; i < so.n_dims; i++)
            if (so.dim_kinds[i] >= 2)
                return usage_error("sweep", "%s", "--strategy grid takes only --grid and --choice");
    so.objective = so.objective ? so.objective : "val_loss";
    so.mode = so.mode ? so.mode : "auto";
    if (strcmp(so.mode, "auto") && strcmp(so.mode, "min") && strcmp(so.mode, "max"))
        return usage_error("sweep", "--mode must be auto, min or max, got '%s'", so.mode);
    so.trials = so.trials ? so.trials : 10;
    so.jobs = so.jobs ? so.jobs : 1;
    so.seed = so.seed ? so.seed : 42;
    nnk_err err = {NNK_OK, ""};
    nnk_reducer *red = NULL; /* under mpirun: the processes share the trials, rank 0 reports */
    if (join_job(&red, &so.local_processes, &err))
        return fail(&err);
    so.reducer = red && red->size > 1 ? red : NULL;
    if (so.reducer && red->rank != 0 && !freopen("/dev/null", "w", stdout))
        return fail(&err);
    return finish_job(red, cmd_sweep_run(&so, &err), &err);
}

