/* nnkit sweep: hyper-parameter search over any key of an experiment.
 * Grid (every combination), random (--trials samples), or hyperband
 * (successive halving: many trials for few epochs, the best third again
 * for three times as many, ...). Each trial is `nnkit train` in its own
 * process (--jobs at a time) and its own run directory, so TensorBoard's
 * HParams dashboard ranks them; the sweep's own run records the search
 * space. A re-run skips the trials that finished. */
#include "bayes.h"
#include "sweep.h"
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

/* A sweep in progress. */
typedef struct sweep {
    const sweep_options *so;
    dim dims[MAX_DIMS];
    int nd, n;                /* dimensions, trials so far */
    trial *t;                 /* MAX_TRIALS */
    int random, hyperband, bayes, minimize;
    int writer;               /* under mpirun rank 0 writes the sweep's own files */
    long long max_epochs;     /* [fit] epochs: Hyperband's last rung */
    char runs_dir[PATH_MAX], root[PATH_MAX], trial_ini[PATH_MAX + 32];
} sweep;

static const char *strategy_name(const sweep *w)
{
    return w->hyperband ? "hyperband" : w->bayes ? "bayes" : w->random ? "random" : "grid";
}

/* The dimensions and the first trials, every configuration built (and so
 * checked) before any training. */
static int plan(sweep *w, nnk_err *err)
{
    const sweep_options *so = w->so;
    for (int i = 0; i < so->n_dims; i++) {
        if (w->nd == MAX_DIMS)
            return nnk_err_set(err, NNK_EUSAGE, "sweep: at most %d parameters", MAX_DIMS);
        int rc = parse_dim(so->dims[i], so->dim_kinds[i], &w->dims[w->nd++], err);
        if (rc)
            return rc;
        w->random |= so->dim_kinds[i] >= DIM_UNIFORM;
    }
    if (w->nd == 0)
        return nnk_err_set(err, NNK_EUSAGE, "sweep: nothing to search (give --grid, --choice, --uniform or --log-uniform)");
    w->hyperband = !strcmp(so->strategy, "hyperband");
    w->bayes = !strcmp(so->strategy, "bayes");
    w->random |= w->hyperband || w->bayes || !strcmp(so->strategy, "random");
    /* bayes: a few random points first, then the model's */
    int n_init = so->trials < 2 * w->nd + 2 ? so->trials : 2 * w->nd + 2;
    w->n = make_trials(w->dims, w->nd, w->random, w->bayes ? n_init : so->trials, (uint64_t)so->seed, w->t, err);
    if (w->n < 0)
        return err->status;
    int rc = NNK_OK;
    for (int i = 0; !rc && i < w->n; i++)
        if ((rc = validate(so, w->dims, w->nd, &w->t[i], err)) && i > 0) {
            char why[NNK_ERR_MAX];
            snprintf(why, sizeof why, "%s", err->msg);
            nnk_err_set(err, err->status, "trial %d: %.480s", i, why);
        }
    return rc;
}

/* The sweep's directory (RUN_DIR/NAME, by default the experiment's stem
 * and -sweep) with the trial experiment and the search space in it. */
static int open_directory(sweep *w, nnk_err *err)
{
    const sweep_options *so = w->so;
    nnk_experiment *e = nnk_experiment_load(so->experiment, err);
    if (!e)
        return err->status;
    for (int i = 0; i < so->n_sets; i++) /* --set run.dir and fit.epochs count too (checked above) */
        nnk_experiment_override(e, so->sets[i], NULL);
    const char *runs = nnk_experiment_get(e, "run", "dir");
    snprintf(w->runs_dir, sizeof w->runs_dir, "%s", runs && *runs ? runs : "runs");
    char stem[256];
    const char *base = strrchr(so->experiment, '/');
    snprintf(stem, sizeof stem, "%s", base ? base + 1 : so->experiment);
    char *dot = strrchr(stem, '.');
    if (dot)
        *dot = 0;
    snprintf(w->root, sizeof w->root, "%.3800s/%s", w->runs_dir, so->name ? so->name : stem);
    if (!so->name)
        strncat(w->root, "-sweep", sizeof w->root - strlen(w->root) - 1);
    const char *max_epochs_text = nnk_experiment_get(e, "fit", "epochs");
    w->max_epochs = max_epochs_text ? atoll(max_epochs_text) : 1;
    nnk_experiment_free(e);
    snprintf(w->trial_ini, sizeof w->trial_ini, "%s/trial.ini", w->root);
    w->writer = !so->reducer || so->reducer->rank == 0;
    char claims[PATH_MAX + 16];
    snprintf(claims, sizeof claims, "%s/.claims", w->root);
    if (w->writer && so->reducer) /* an earlier sweep's claims go: a re-run runs what it did not finish */
        remove_tree(claims);
    int rc = NNK_OK;
    if (w->writer && ((rc = nnk_mkdir_p(so->reducer ? claims : w->root, "sweep directory", err)) ||
                      (rc = write_trial_ini(so->experiment, w->trial_ini, err)) ||
                      (rc = record_space(w->root, w->dims, w->nd, so->objective, strategy_name(w), err))))
        return rc;
    double ready = 1;
    if (so->reducer) /* its files are there */
        rc = so->reducer->sum_doubles(so->reducer->ctx, &ready, 1, err);
    return rc;
}

static void run_all(sweep *w, trial *t, int n)
{
    run_round(w->so, w->root, w->trial_ini, w->dims, w->nd, t, n, w->minimize);
}

/* Bayesian optimization: the random first points, then model-guided
 * points, --jobs at a time; the values the batch's earlier proposals will
 * get stand in as the best so far. */
static int run_bayes(sweep *w, nnk_err *err)
{
    const sweep_options *so = w->so;
    static double X[MAX_TRIALS * MAX_DIMS], y[MAX_TRIALS];
    int nd = w->nd;
    trial *t = w->t;
    for (int i = 0; i < w->n; i++)
        t[i].active = 1;
    run_all(w, t, w->n);
    uint64_t state = (uint64_t)so->seed * 0x9E3779B97F4A7C15ull + 7;
    while (w->n < so->trials && w->n < MAX_TRIALS) {
        int m = 0, n = w->n;
        double worst = -INFINITY, best = INFINITY;
        for (int i = 0; i < n; i++)
            if (t[i].ok) {
                double v = w->minimize ? t[i].objective : -t[i].objective;
                worst = v > worst ? v : worst;
                best = v < best ? v : best;
            }
        for (int i = 0; i < n; i++) {
            memcpy(X + m * nd, t[i].u, sizeof(double) * (size_t)nd);
            y[m++] = t[i].ok ? (w->minimize ? t[i].objective : -t[i].objective) : (isfinite(worst) ? worst + 1 : 1);
        }
        int parallel = so->jobs * (so->reducer ? so->reducer->size : 1); /* one proposal for every slot */
        int batch = parallel < so->trials - n ? parallel : so->trials - n, first = n;
        for (int b = 0; b < batch; b++, n++) {
            memset(&t[n], 0, sizeof t[n]);
            bayes_propose(X, y, m, nd, 2000, &state, t[n].u);
            memcpy(X + m * nd, t[n].u, sizeof(double) * (size_t)nd);
            y[m++] = isfinite(best) ? best : 0; /* a stand-in until it has run */
            values_from_unit(w->dims, nd, &t[n]);
            t[n].active = 1;
            int rc = validate(so, w->dims, nd, &t[n], err);
            if (rc)
                return rc;
        }
        w->n = n;
        run_all(w, t + first, n - first);
    }
    return NNK_OK;
}

/* Hyperband's rung cut: the best `keep` active trials stay active. */
static void keep_best(sweep *w, int keep)
{
    trial *t = w->t;
    for (int k = 0; k < keep; k++) {
        int best = -1;
        for (int i = 0; i < w->n; i++)
            if (t[i].active == 1 && (best < 0 || better_now(&t[i], &t[best], w->minimize)))
                best = i;
        if (best >= 0)
            t[best].active = 2;
    }
    for (int i = 0; i < w->n; i++)
        t[i].active = t[i].active == 2;
}

/* Successive halving: keep the best 1/eta, give them eta times the epochs;
 * a later rung goes on from the weights and optimizer state of the
 * trial's previous one, as Keras Tuner's Hyperband. */
static int run_hyperband(sweep *w, nnk_err *err)
{
    const int eta = 3;
    int rungs = 0, n = w->n, alive = n;
    trial *t = w->t;
    while (rungs < 8 && pow(eta, rungs + 1) <= n)
        rungs++;
    long long epochs = (long long)fmax(1, floor((double)w->max_epochs / pow(eta, rungs)));
    for (int i = 0; i < n; i++)
        t[i].active = 1;
    for (int r = 0; r <= rungs && alive > 0; r++, epochs = epochs * eta > w->max_epochs ? w->max_epochs : epochs * eta) {
        printf("rung %d: %d trials, %lld epochs\n", r, alive, epochs);
        for (int i = 0; i < n; i++) {
            if (!t[i].active)
                continue;
            if (r > 0 && t[i].ok) {
                snprintf(t[i].prev, sizeof t[i].prev, "%s", t[i].name);
                t[i].initial_epoch = t[i].epochs;
            }
            t[i].epochs = epochs;
            t[i].rung = r;
            t[i].ok = 0;
            int rc = validate(w->so, w->dims, w->nd, &t[i], err); /* names it for this rung's epochs */
            if (rc)
                return rc;
        }
        run_all(w, t, n);
        int keep = r == rungs ? alive : (alive + eta - 1) / eta;
        keep_best(w, keep);
        alive = keep;
    }
    return NNK_OK;
}

/* The table, best first; returns the best trial. */
static const trial *print_table(const sweep *w)
{
    static int order[MAX_TRIALS];
    const trial *t = w->t;
    for (int i = 0; i < w->n; i++)
        order[i] = i;
    for (int i = 1; i < w->n; i++)
        for (int j = i; j > 0 && better(&t[order[j]], &t[order[j - 1]], w->minimize); j--) {
            int x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
    printf("\n%-20s %s%-12s %-6s", "trial", w->hyperband ? "rung epochs " : "", w->so->objective, "epoch");
    for (int i = 0; i < w->nd; i++)
        printf(" %-18s", w->dims[i].key);
    printf("\n");
    for (int k = 0; k < w->n; k++) {
        const trial *tr = &t[order[k]];
        printf("%-20s ", tr->top_ok ? tr->top_run : tr->name);
        if (w->hyperband)
            printf("%-4d %-6lld ", tr->top_ok ? tr->top_rung : tr->rung, tr->epochs);
        if (tr->top_ok)
            printf("%-12.6g %-6lld", tr->top_objective, tr->top_epoch);
        else
            printf("%-12s %-6s", "failed", "");
        for (int i = 0; i < w->nd; i++)
            printf(" %-18s", tr->value[i]);
        printf("\n");
    }
    return &t[order[0]];
}

int cmd_sweep_run(const sweep_options *so, nnk_err *err)
{
    static trial trials[MAX_TRIALS];
    static sweep w;
    memset(trials, 0, sizeof trials);
    memset(&w, 0, sizeof w);
    w.so = so;
    w.t = trials;
    int rc = plan(&w, err);
    if (!rc)
        rc = open_directory(&w, err);
    if (rc)
        return rc;
    /* auto: as the first trial's model says the objective is better */
    w.minimize = !strcmp(so->mode, "min") || (!strcmp(so->mode, "auto") && !trials[0].objective_higher);
    printf("sweep %s: %d trials (%s), objective %s (%s), %d at a time%s\n", w.root, w.bayes ? so->trials : w.n,
           strategy_name(&w), so->objective, w.minimize ? "min" : "max", so->jobs * (so->reducer ? so->reducer->size : 1),
           so->reducer ? " over the job's processes" : "");
    if (w.bayes) {
        rc = run_bayes(&w, err);
    } else if (w.hyperband) {
        rc = run_hyperband(&w, err);
    } else {
        for (int i = 0; i < w.n; i++)
            trials[i].active = 1;
        run_all(&w, trials, w.n);
    }
    if (rc)
        return rc;
    const trial *best = print_table(&w);
    if (!best->top_ok)
        return nnk_err_set(err, NNK_ERUNTIME, "sweep: every trial failed; see the .log files in '%s'", w.root);
    return w.writer ? write_best(so, w.root, w.runs_dir, best, err) : NNK_OK;
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



