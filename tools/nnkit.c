/* nnkit: the experiment runner.
 * Exit status: 0 success, 1 runtime or data failure, 2 usage or
 * configuration error. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <ftw.h>
#include <nnkit/nnkit.h>
#include <nnkit/tensorboard.h>
#include "exit_codes.h"
#include "runner.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef NNK_HAVE_MPI
#include <nnkit/mpi.h>
#endif

#define MAX_SETS 256

typedef struct options {
    const char *positional;
    const char *sets[MAX_SETS];
    int n_sets;
    const char *plugin_dir, *run_name, *data, *input, *output, *label, *features, *format;
    const char *extra; /* a second positional argument (weights: LAYER[/WEIGHT]) */
    const char *from;  /* train: start from a saved model's weights */
    const char *activations; /* plot */
    long long batch_size;
    int threads; /* --threads N: 0 when not given */
    int help, repair, overwrite, classes;
    long long top, rows;
    double min_lr, max_lr;
    long long steps;
    sweep_options sweep;
    const char *files[256];
    int n_files;
} options;

static int fail(const nnk_err *err)
{
    fprintf(stderr, "nnkit: error: %s\n", err->msg);
    return exit_code_of(err->status);
}

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "nnkit %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see 'nnkit %s --help')\n", cmd);
    return 2;
}

static const char *const help_texts[][2] = {
    {"train", "usage: nnkit train EXPERIMENT.ini [--set section.key=value ...] [--unset section.key ...] [--plugin-dir DIR]\n"
              "                   [--run-name NAME] [--overwrite] [--from MODEL.nnk] [--threads N]\n\n"
              "Builds the model an experiment file describes, trains it, and writes\n"
              "<run.dir>/<name>/model.nnk, config.ini (the resolved experiment) and metrics.txt.\n"
              "With [data] test set, evaluates on it at the end. When a backup_and_restore\n"
              "callback left a backup of an interrupted run of this experiment, train resumes\n"
              "that run in its directory.\n\n"
              "  --set S.K=V      override key K of section S (a kind like fit, or a layer's or\n"
              "                   callback's name); S.type=T where no section is named S adds a\n"
              "                   callback: --set ckpt.type=model_checkpoint --set ckpt.filepath=best.nnk,\n"
              "                   or a warm-up: --set warm.type=learning_rate_scheduler\n"
              "                   --set warm.schedule=warmup --set warm.warmup_steps=200\n"
              "  --unset S.K      remove key K of section S (its default applies); --unset NAME\n"
              "                   removes the callback NAME. --set and --unset apply in order\n"
              "  --plugin-dir DIR search DIR for plugins first\n"
              "  --run-name NAME  name of the run directory (default: experiment name and time);\n"
              "                   an existing one is resumed from its backup, or refused\n"
              "  --overwrite      replace an existing run directory that holds no backup\n"
              "  --from MODEL.nnk start from a saved model: its layers with the experiment's layer\n"
              "                   names take its weights (shapes must match), the rest start fresh;\n"
              "                   with the same optimizer its state continues too. With [fit]\n"
              "                   initial_epoch, epoch numbers, schedules and logged steps go on.\n"
              "  --threads N      threads to compute with: nnkit's pool, OpenBLAS on one thread inside each\n"
              "                   (as [fit] threads; default: OPENBLAS_NUM_THREADS or\n"
              "                   every core); results are bit-identical for the same count\n"},
    {"evaluate", "usage: nnkit evaluate MODEL.nnk --data SPEC [--label COLS] [--features COLS] [--batch-size N] [--threads N]\n"
                 "                     [--plugin-dir DIR]\n\n"
                 "Prints the loss and metrics of a saved model on labelled data (fashion-mnist:test,\n"
                 "a .csv file, or IDX files). CSV columns default to those the model was trained on.\n"},
    {"predict", "usage: nnkit predict MODEL.nnk --input FILE [-o OUT.csv] [--rows N] [--classes] [--top K]\n"
                "                     [--features COLS] [--batch-size N] [--threads N] [--plugin-dir DIR]\n\n"
                "Writes the model's outputs for every row of FILE (the first N with --rows) as CSV\n"
                "(class probabilities or regression outputs, each the shortest text that reads back\n"
                "to the same float) to stdout or, atomically, to OUT.csv. The model knows its input\n"
                "columns (from its experiment, or the data it was fit on through the C API);\n"
                "--features overrides them. With --classes, each row's predicted class instead:\n"
                "its index, its name (the data's, saved with the model) and its probability;\n"
                "--top K gives the K most probable, best first.\n"},
    {"summary", "usage: nnkit summary EXPERIMENT.ini|MODEL.nnk [--set section.key=value ...] [--plugin-dir DIR]\n\n"
                "Prints a Keras-style table: layer, type, output shape, parameter count.\n"},
    {"events", "usage: nnkit events [--repair] EVENTFILE...\n\n"
               "Prints every record of TensorBoard event files: wall time, step, tag, kind and\n"
               "value (or size). Damage (a bad CRC, a torn record) is reported with its offset\n"
               "(exit 1) and skipped: the whole records after it are still listed. --repair keeps\n"
               "every whole record and drops only the damaged bytes (written to a temporary file,\n"
               "then renamed over the original), and says what it dropped.\n"},
    {"lr-find", "usage: nnkit lr-find EXPERIMENT.ini [--min-lr 1e-5] [--max-lr 10] [--steps 300] [-o LR.png|LR.svg]\n"
                "                     [--set S.K=V ...] [--threads N] [--plugin-dir DIR]\n\n"
                "The book's learning-rate search: from the experiment's initial weights, trains\n"
                "--steps iterations with the rate growing exponentially from --min-lr to --max-lr,\n"
                "stops when the loss diverges, plots the smoothed loss against the rate, suggests\n"
                "a rate (a tenth of the rate at the lowest loss) and logs the curve to TensorBoard\n"
                "in <run.dir>/<experiment>-lr-find-<time>, with lr_find.csv and metrics.txt. With\n"
                "-o, draws the book's figure (loss against a log-scale rate, the suggestion marked);\n"
                "nnkit plot on the run directory draws the same.\n"},
    {"sweep", "usage: nnkit sweep EXPERIMENT.ini [--grid S.K=V1,V2 ...] [--choice S.K=A,B ...] [--uniform S.K=LO:HI ...]\n"
              "                   [--log-uniform S.K=LO:HI ...] [--trials N] [--jobs N] [--strategy grid|random|hyperband|bayes]\n"
              "                   [--objective val_loss] [--mode auto|min|max] [--seed N] [--name NAME] [--set S.K=V ...]\n"
              "                   [--unset S.K ...] [--threads N]\n\n"
              "Hyper-parameter search over any key of any section. With only --grid/--choice every\n"
              "combination is tried; with a range, --trials random samples; hyperband trains many\n"
              "trials briefly and the best third three times longer, and so on; bayes tries a few\n"
              "random points, then where a Gaussian process expects the most improvement. A\n"
              "LOW:HIGH range written as integers gives integers. Each trial is\n"
              "'nnkit train' in its own process (--jobs at a time) and its own TensorBoard run\n"
              "under <run.dir>/<experiment>-sweep (or --name), whose own run records the search\n"
              "space for the HParams dashboard. A trial scores its best epoch (Keras Tuner's rule).\n"
              "Prints the trials best first, each with that epoch, and writes the best trial's\n"
              "experiment, for the epochs that reached it, as best.ini. A re-run skips the trials\n"
              "that finished. Each\n"
              "trial gets --threads threads (default: the cores divided among the jobs).\n"},
    {"check-plugin", "usage: nnkit check-plugin PLUGIN.so\n\n"
                     "Loads a plugin, validates its descriptor (ABI version, names, parameter specs,\n"
                     "defaults within their ranges) and checks each component: finite-difference\n"
                     "gradients over random shapes and parameter values, shape inference, a save/load\n"
                     "round trip and determinism for layers; gradients for activations and losses;\n"
                     "streaming for metrics; descent for optimizers. Prints a pass/fail table.\n"
                     "Exit status: 0 all pass, 1 a check failed, 2 the plugin does not load.\n"},
    {"weights", "usage: nnkit weights MODEL.nnk [LAYER[/WEIGHT]] [--format text|csv|npy] [-o OUT] [--plugin-dir DIR]\n\n"
                "Prints a saved model's weights, as Keras's get_weights() gives them: every layer's,\n"
                "one layer's, or one weight (e.g. hidden1/kernel), with names and shapes. --format csv\n"
                "writes one weight's rows; npy writes NumPy's .npy format (numpy.load reads it): one\n"
                "weight to -o FILE or stdout, several to -o DIR as LAYER.WEIGHT.npy.\n"},
    {"export", "usage: nnkit export MODEL.nnk -o model.onnx | --format c -o model.c [--plugin-dir DIR]\n\n"
               "Writes the model as ONNX (opset 17; the default), taking the same raw input as nnkit\n"
               "predict (its preprocessing comes first, as ONNX ops), or with --format c as one C99 file and its header (model.c, model.h): the weights as\n"
               "static const arrays and one function, int model_predict(const float *in, float *out),\n"
               "named after the output file, that computes what nnkit predict does for one sample\n"
               "(preprocessing included) with nothing but libm: no BLAS, no allocation, no nnkit.\n"
               "The header gives the input and output sizes and the stack the function uses.\n"},
    {"plot", "usage: nnkit plot RUN_DIR... [-o curves.png|curves.svg] [--activations relu,sigmoid,...] [--plugin-dir DIR]\n\n"
             "Draws the book's learning curves from each run's training.csv: loss and val_loss, and\n"
             "each metric with its val_ twin (dashed), against epochs; several runs overlay with a\n"
             "legend, accuracy's axis is [0, 1]. --activations draws the named activation functions\n"
             "and their derivatives, computed by the plugins. Without -o it draws in the terminal.\n"},
    {"plugins", "usage: nnkit plugins [--plugin-dir DIR]\n\n"
                "Lists every component the loaded plugins provide, with its kind, plugin,\n"
                "parameters (type, default, range) and documentation.\n"},
};

static void print_help(const char *cmd)
{
    for (size_t i = 0; i < sizeof help_texts / sizeof help_texts[0]; i++)
        if (cmd && !strcmp(cmd, help_texts[i][0])) {
            fputs(help_texts[i][1], stdout);
            return;
        }
    printf("usage: nnkit COMMAND [ARGS]\n\n"
           "commands:\n"
           "  train EXPERIMENT.ini     train a model from an experiment file\n"
           "  evaluate MODEL.nnk       loss and metrics of a saved model on data\n"
           "  predict MODEL.nnk        outputs of a saved model as CSV\n"
           "  summary FILE             the model's layers, shapes and parameter counts\n"
           "  plugins                  every component and its parameters\n"
           "  weights MODEL.nnk        a saved model's weights (text, CSV or NumPy .npy)\n"
           "  export MODEL.nnk         the model as ONNX (-o model.onnx) or standalone C (--format c)\n"
           "  plot RUN_DIR...          learning curves (PNG, SVG or the terminal); --activations\n"
           "  events FILE...           the records of TensorBoard event files\n"
           "  check-plugin PLUGIN.so   validate a plugin and check its components\n"
           "  lr-find EXPERIMENT.ini   loss against an exponentially growing learning rate\n"
           "  sweep EXPERIMENT.ini     hyper-parameter search (grid, random, hyperband, bayes)\n\n"
           "'nnkit COMMAND --help' tells more. Exit status: 0 success, 1 runtime or data\n"
           "failure, 2 usage or configuration error.\n");
}

/* An option's integer: all of text, in [lo, hi], representable (a number
 * past int64 is refused, never clamped). Returns 0 and sets *out when so. */
static int integer_arg(const char *text, long long lo, long long hi, long long *out)
{
    if (!text || !*text)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_options(const char *cmd, int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKE(flag, field)                                                   \
    if (!strcmp(a, flag)) {                                                 \
        if (!next)                                                          \
            return usage_error(cmd, "option '%s' needs a value", flag);     \
        o->field = next;                                                    \
        i++;                                                                \
        continue;                                                           \
    }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            o->help = 1;
            continue;
        }
        if (!strcmp(a, "--classes") && !strcmp(cmd, "predict")) {
            o->classes = 1;
            continue;
        }
        if (!strcmp(a, "--rows") && !strcmp(cmd, "predict")) {
            if (integer_arg(next, 1, LLONG_MAX, &o->rows))
                return usage_error(cmd, "option '--rows' needs a positive integer, got '%s'", next ? next : "");
            i++;
            continue;
        }
        if (!strcmp(a, "--top") && !strcmp(cmd, "predict")) {
            if (integer_arg(next, 1, LLONG_MAX, &o->top))
                return usage_error(cmd, "option '--top' needs a positive integer, got '%s'", next ? next : "");
            o->classes = 1;
            i++;
            continue;
        }
        if (!strcmp(a, "--overwrite") && !strcmp(cmd, "train")) {
            o->overwrite = 1;
            continue;
        }
        if (!strcmp(a, "--repair") && !strcmp(cmd, "events")) {
            o->repair = 1;
            continue;
        }
        if (!strcmp(a, "--threads") && (!strcmp(cmd, "train") || !strcmp(cmd, "evaluate") || !strcmp(cmd, "predict") ||
                                         !strcmp(cmd, "lr-find") || !strcmp(cmd, "sweep"))) {
            long long v;
            if (integer_arg(next, 1, 1024, &v))
                return usage_error(cmd, "option '--threads' needs an integer in [1, 1024], got '%s'", next ? next : "");
            o->threads = (int)v;
            o->sweep.threads = (int)v;
            static char set[32]; /* train and lr-find: as fit.threads, so config.ini records it */
            snprintf(set, sizeof set, "fit.threads=%lld", v);
            if (strcmp(cmd, "sweep") && o->n_sets < MAX_SETS)
                o->sets[o->n_sets++] = set;
            i++;
            continue;
        }
        if (!strcmp(a, "--set") || !strcmp(a, "--unset")) { /* one list, in order: an entry without '=' removes */
            if (!next)
                return usage_error(cmd, "option '%s' needs a value", a);
            if (a[2] == 's' && !strchr(next, '='))
                return usage_error(cmd, "--set '%s': expected section.key=value (--unset section.key removes a key)", next);
            if (a[2] == 'u' && strchr(next, '='))
                return usage_error(cmd, "--unset '%s': expected section.key, or the name of a callback", next);
            if (o->n_sets == MAX_SETS)
                return usage_error(cmd, "%s", "too many --set options");
            o->sets[o->n_sets++] = next;
            i++;
            continue;
        }
        TAKE("--plugin-dir", plugin_dir)
        TAKE("--run-name", run_name)
        TAKE("--data", data)
        TAKE("--input", input)
        TAKE("-o", output)
        TAKE("--format", format)
        TAKE("--from", from)
        TAKE("--activations", activations)
        TAKE("--output", output)
        TAKE("--label", label)
        TAKE("--features", features)
        static const char *const dim_flags[] = {"--grid", "--choice", "--uniform", "--log-uniform"};
        int dim_kind = -1;
        for (int k = 0; k < 4; k++)
            if (!strcmp(a, dim_flags[k]))
                dim_kind = k;
        if (dim_kind >= 0) {
            if (!next)
                return usage_error(cmd, "option '%s' needs a value", a);
            if (o->sweep.n_dims == 64)
                return usage_error(cmd, "%s", "too many search dimensions");
            o->sweep.dim_kinds[o->sweep.n_dims] = dim_kind;
            o->sweep.dims[o->sweep.n_dims++] = next;
            i++;
            continue;
        }
        if (!strcmp(a, "--trials") || !strcmp(a, "--jobs")) {
            long long v;
            if (integer_arg(next, 1, a[2] == 't' ? 1024 : 64, &v))
                return usage_error(cmd, "option '%s' needs a positive integer (at most 1024 trials, 64 jobs)", a);
            *(a[2] == 't' ? &o->sweep.trials : &o->sweep.jobs) = (int)v;
            i++;
            continue;
        }
        if (!strcmp(a, "--seed")) {
            if (integer_arg(next, 0, LLONG_MAX, &o->sweep.seed))
                return usage_error(cmd, "option '--seed' needs an integer >= 0, got '%s'", next ? next : "");
            i++;
            continue;
        }
        TAKE("--strategy", sweep.strategy)
        TAKE("--objective", sweep.objective)
        TAKE("--mode", sweep.mode)
        TAKE("--name", sweep.name)
        if (!strcmp(a, "--min-lr") || !strcmp(a, "--max-lr")) {
            char *end;
            double v = next ? strtod(next, &end) : 0;
            if (!next || *end || !(v > 0) || !isfinite(v))
                return usage_error(cmd, "option '%s' needs a number > 0", a);
            *(a[2] == 'm' && a[3] == 'i' ? &o->min_lr : &o->max_lr) = v;
            i++;
            continue;
        }
        if (!strcmp(a, "--steps")) {
            if (integer_arg(next, 10, 100000, &o->steps))
                return usage_error(cmd, "option '--steps' needs an integer in [10, 100000], got '%s'", next ? next : "");
            i++;
            continue;
        }
        if (!strcmp(a, "--batch-size")) {
            if (integer_arg(next, 1, LLONG_MAX, &o->batch_size))
                return usage_error(cmd, "option '--batch-size' needs a positive integer, got '%s'",
                                   next ? next : "");
            i++;
            continue;
        }
#undef TAKE
        if (a[0] == '-' && a[1])
            return usage_error(cmd, "unknown option '%s'", a);
        if (!strcmp(cmd, "events") || !strcmp(cmd, "plot")) {
            if (o->n_files == 256)
                return usage_error(cmd, "%s", "too many files (at most 256)");
            o->files[o->n_files++] = a;
            continue;
        }
        if (o->positional && !strcmp(cmd, "weights") && !o->extra) {
            o->extra = a;
            continue;
        }
        if (o->positional)
            return usage_error(cmd, "unexpected argument '%s'", a);
        o->positional = a;
    }
    return 0;
}

static nnk_registry *load_registry(const options *o, nnk_err *err)
{
    nnk_registry *reg = nnk_registry_new();
    if (!reg) {
        nnk_err_set(err, NNK_ENOMEM, "out of memory");
        return NULL;
    }
    if (nnk_registry_load_default(reg, o->plugin_dir, err)) {
        nnk_registry_free(reg);
        return NULL;
    }
    return reg;
}

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

static void print_logs(const char *title, char names[][64], const double *values, int n)
{
    printf("%s:", title);
    for (int i = 0; i < n; i++)
        printf(" %s %.4f%s", names[i], values[i], i + 1 < n ? " -" : "");
    printf("\n");
}

/* The last epoch's logs and the test results, one "name value" per line,
 * for sweeps and scripts. */
static int write_metrics(const char *path, const nnk_history *h, char tnames[][64], const double *tvalues, int tn,
                         nnk_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    fprintf(f, "epochs %d\n", h->n_epochs);
    for (int k = 0; h->n_epochs && k < h->n_keys; k++)
        fprintf(f, "%s %.9g\n", h->keys[k], h->values[(h->n_epochs - 1) * h->n_keys + k]);
    for (int k = 0; k < tn; k++)
        fprintf(f, "test_%s %.9g\n", tnames[k], tvalues[k]);
    fclose(f);
    int rc = nnk_write_file_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

/* The class names the model keeps: [data] class_names, or the data's own
 * (Fashion-MNIST's). Their count must fit the one classifier output. */
static int set_class_names(nnk_model *m, const char *list, const nnk_dataset *train, nnk_err *err)
{
    const char *names[1024];
    int64_t n = 0;
    char *copy = NULL;
    if (*list) {
        copy = strdup(list);
        char *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t && n < 1024; t = strtok_r(NULL, ",", &save)) {
            while (*t == ' ')
                t++;
            size_t l = strlen(t);
            while (l && t[l - 1] == ' ')
                t[--l] = 0;
            names[n++] = t;
        }
    } else if (train->class_names) {
        for (n = 0; n < train->n_classes && n < 1024; n++)
            names[n] = train->class_names[n];
    }
    const char *out_names[NNK_MAX_OUTPUTS];
    int64_t cols[NNK_MAX_OUTPUTS];
    int n_out = nnk_model_outputs(m, out_names, cols, NNK_MAX_OUTPUTS);
    int rc = NNK_OK;
    if (n && *list && (n_out != 1 || n != (cols[0] > 1 ? cols[0] : 2)))
        rc = nnk_err_set(err, NNK_ECONFIG, "section [data]: %lld class_names for %s '%s' with %lld unit%s (want %lld)",
                         (long long)n, n_out == 1 ? "output" : "the first of several outputs,", out_names[0],
                         (long long)cols[0], cols[0] == 1 ? "" : "s", (long long)(cols[0] > 1 ? cols[0] : 2));
    if (!rc && n)
        rc = nnk_model_set_class_names(m, names, n, err);
    free(copy);
    return rc;
}

/* Under mpirun (or another launcher): joins the job, *red its reducer and
 * *local the job's processes on this host; a plain process gets NULL and
 * 1. Fails only when MPI cannot start. */
static int join_job(nnk_reducer **red, int *local, nnk_err *err)
{
    *red = NULL;
    *local = 1;
#ifdef NNK_HAVE_MPI
    if (nnk_mpi_launched() && !(*red = nnk_mpi_join(err)))
        return err->status;
    *local = nnk_mpi_local_size(*red);
#else
    (void)err;
#endif
    return NNK_OK;
}

/* The command's exit status. A job's process that failed leaves the
 * others to mpirun (which ends them), printing its error unless another
 * rank's failure stopped it silently; one that succeeded leaves the job. */
static int finish_job(nnk_reducer *red, int rc, const nnk_err *err)
{
    if (rc)
        return err->msg[0] || !red ? fail(err) : exit_code_of(err->status);
#ifdef NNK_HAVE_MPI
    nnk_mpi_leave(red);
#else
    (void)red;
#endif
    return 0;
}

/* The run's directory: named by --run-name or [run] name, an interrupted
 * run of this experiment (its backup), or the experiment and the time. An
 * existing one without a backup is refused unless --overwrite replaces it.
 * Made, with stale temporaries of an earlier process removed. */
static int choose_run_dir(const options *o, const nnk_run_config *c, nnk_callback *const *cbs, int n_cbs, char *run_dir,
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
static int share_run_dir(const nnk_reducer *red, char *run_dir, size_t size, nnk_err *err)
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

static int cmd_train(const options *o)
{
    nnk_err err = {NNK_OK, ""};
    if (!o->positional)
        return usage_error("train", "%s", "missing EXPERIMENT.ini");
    if (o->run_name && (!*o->run_name || strchr(o->run_name, '/') || !strcmp(o->run_name, ".") || !strcmp(o->run_name, "..")))
        return usage_error("train", "--run-name must be one path component, got '%s'", o->run_name);
    nnk_registry *reg = NULL;
    nnk_experiment *e = NULL;
    nnk_model *m = NULL;
    nnk_callback **cbs = NULL, *console = NULL;
    int n_cbs = 0, rc = NNK_OK;
    nnk_experiment_parts parts = {0};
    train_data data = {0};
    nnk_history hist = {0};
    char run_dir[4096] = "", path[4200];
    char *resolved = NULL, **hp_names = NULL, **hp_values = NULL;
    int n_hp = 0, created_dir = 0, trained = 0;
    nnk_reducer *red = NULL; /* under mpirun: data-parallel over its processes */
    int local = 1; /* this host's processes of the job */
    if (join_job(&red, &local, &err))
        return fail(&err);
    int rank = red ? red->rank : 0; /* only rank 0 writes files and prints */

    if (!(reg = load_registry(o, &err)) || !(e = nnk_experiment_load(o->positional, &err)))
        goto out;
    for (int i = 0; i < o->n_sets; i++)
        if (nnk_experiment_override(e, o->sets[i], &err))
            goto out;
    if (nnk_experiment_settings(e, &parts, &err) || !(m = nnk_experiment_model(e, reg, &err)) ||
        !(cbs = nnk_experiment_callbacks(e, reg, &n_cbs, &err)))
        goto out;
    const nnk_run_config *c = &parts.cfg;
    int threads = (int)c->threads;
    if (red && threads == 0 && !getenv("OPENBLAS_NUM_THREADS")) { /* this host's cores shared by its processes */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores / local > 1 ? (int)(cores / local) : 1;
    }
    nnk_set_threads(threads);
    int has_console = 0, has_history = 0;
    for (int i = 0; i < e->n; i++) {
        const nnk_ini_section *s = &e->sections[i];
        if (strcmp(s->kind, "callback"))
            continue;
        const char *type = nnk_ini_section_type(s), *file = nnk_ini_section_value(s, "filename");
        has_console |= !strcmp(type, "console");
        has_history |= !strcmp(type, "csv_logger") && !strcmp(file ? file : "training.csv", "training.csv");
    }
    if (c->verbose > 0 && !has_console) {
        const char *k[] = {"mode"}, *v[] = {c->verbose == 2 ? "lines" : "auto"};
        if (!(console = nnk_callback_new(reg, "console", "console", k, v, NULL, 1, &err)))
            goto out;
        cbs[n_cbs++] = console;
    }
    /* every run records its history in training.csv (Keras's History) */
    if (!has_history) {
        nnk_callback *h = nnk_callback_new(reg, "csv_logger", "history", NULL, NULL, NULL, 0, &err);
        if (!h)
            goto out;
        cbs[n_cbs++] = h;
    }
    if (load_train_data(c, red, &data, &err) || nnk_model_set_scale(m, c->scale, &err) ||
        nnk_model_set_columns(m, c->label, c->features, &err))
        goto out;
    if (prepare_features(m, c, &data, &err) || (c->standardize && nnk_model_fit_standardizer(m, data.train, &err)))
        goto out;
    if (nnk_model_build(m, (uint64_t)c->seed, &err) || set_class_names(m, c->class_names, data.train, &err))
        goto out;
    if (o->from) { /* continue or fine-tune: the saved model's weights by layer name */
        nnk_model *src = nnk_model_load(reg, o->from, &err);
        int matched = 0;
        if (!src || nnk_model_take_weights(m, src, &matched, &err)) {
            if (src)
                nnk_err_set(&err, NNK_ECONFIG, "--from '%s': %.400s", o->from, err.msg);
            nnk_model_free(src);
            goto out;
        }
        nnk_model_free(src);
        if (!matched) {
            nnk_err_set(&err, NNK_ECONFIG, "--from '%s': no layer of the saved model has a name this experiment uses", o->from);
            goto out;
        }
    }
    /* everything is checked; only now does the run directory appear: rank 0
     * chooses and makes it (its clock names a new run) and tells the others */
    if (rank == 0)
        choose_run_dir(o, c, cbs, n_cbs, run_dir, sizeof run_dir, &created_dir, &err);
    if (red && share_run_dir(red, run_dir, sizeof run_dir, &err))
        goto out;
    if (err.status)
        goto out;
    /* config.ini names the run it describes */
    const char *base = strrchr(run_dir, '/');
    if (nnk_params_set(parts.run, "name", base ? base + 1 : run_dir, "--run-name", &err))
        goto out;
    snprintf(path, sizeof path, "%s/config.ini", run_dir);
    if (!(resolved = nnk_experiment_resolved_text(e, m, &parts))) {
        nnk_err_set(&err, NNK_ENOMEM, "out of memory");
        goto out;
    }
    if ((rank == 0 && nnk_write_file_atomic(path, resolved, strlen(resolved), &err)) ||
        nnk_experiment_hparams(e, &parts, m, &hp_names, &hp_values, &n_hp)) {
        if (!err.status)
            nnk_err_set(&err, NNK_ENOMEM, "out of memory");
        goto out;
    }
    nnk_fit_options fo;
    nnk_fit_options_init(&fo);
    fo.epochs = c->epochs;
    fo.initial_epoch = c->initial_epoch;
    fo.batch_size = c->batch_size;
    fo.shuffle = c->shuffle;
    fo.seed = (uint64_t)c->seed;
    fo.validation = data.validation;
    fo.callbacks = cbs;
    fo.n_callbacks = n_cbs;
    fo.run_dir = run_dir;
    fo.test = data.test;
    fo.experiment = resolved;
    fo.n_hparams = n_hp;
    fo.hparam_names = (const char *const *)hp_names;
    fo.hparam_values = (const char *const *)hp_values;
    fo.keep_backups = 1; /* until model.nnk and metrics.txt are on disk */
    fo.reducer = red;
    fo.check_weights_every_step = !strcmp(c->check_weights, "step");
    fo.gradient_buckets = c->gradient_buckets;
    fo.sharded_rows = data.shard_total;
    if (nnk_model_fit(m, data.train, &fo, &hist, &err))
        goto out;
    trained = 1;
    if (rank != 0) /* rank 0 saves the results */
        goto out;
    snprintf(path, sizeof path, "%s/model.nnk", run_dir);
    if (nnk_model_save(m, path, &err))
        goto out;
    char tnames[40][64];
    double tvalues[40];
    int tn = 0;
    if (data.test) {
        if (nnk_model_evaluate(m, data.test, c->batch_size, tnames, tvalues, 40, &tn, &err))
            goto out;
        print_logs("test", tnames, tvalues, tn);
    }
    snprintf(path, sizeof path, "%s/metrics.txt", run_dir);
    if (write_metrics(path, &hist, tnames, tvalues, tn, &err) || nnk_callbacks_run_saved(cbs, n_cbs, run_dir, &err))
        goto out;
    printf("run saved in %s (model.nnk, config.ini, metrics.txt, training.csv)\n", run_dir);
out:
    rc = err.status;
    /* a run that failed before it trained anything leaves nothing behind
     * (only a directory this invocation created, and never one holding a
     * backup to resume from); the callbacks close their files first */
    int discard = rc && !trained && created_dir && hist.n_epochs == 0 &&
                  !nnk_callback_backup(cbs, cbs ? n_cbs : 0, run_dir, path, sizeof path);
    for (int i = 0; cbs && i < n_cbs; i++)
        nnk_callback_free(cbs[i]);
    if (discard)
        remove_tree(run_dir);
    free(cbs);
    nnk_history_clear(&hist);
    free(resolved);
    nnk_experiment_hparams_free(hp_names, hp_values, n_hp);
    train_data_free(&data);
    nnk_model_free(m);
    nnk_experiment_parts_clear(&parts);
    nnk_experiment_free(e);
    nnk_registry_free(reg);
    return finish_job(red, rc, &err);
}

static nnk_dataset *load_for_model(const nnk_model *m, const char *spec, const options *o,
                                   int labels, nnk_err *err)
{
    const char *label = o->label ? o->label : nnk_model_label_columns(m);
    const char *feats = o->features ? o->features : nnk_model_feature_columns(m);
    /* string labels read as the classes the model was trained with */
    int64_t n_classes = nnk_model_class_count(m);
    const char **classes = n_classes ? calloc((size_t)n_classes, sizeof(char *)) : NULL;
    for (int64_t k = 0; classes && k < n_classes; k++)
        classes[k] = nnk_model_class_name(m, k);
    nnk_dataset *d;
    if (labels) {
        d = nnk_dataset_load_classes(spec, label, feats, classes, classes ? n_classes : 0, err);
    } else { /* predict: the label columns, when the file has them, are not features */
        d = *label && !*feats ? nnk_dataset_load_classes(spec, label, feats, classes, classes ? n_classes : 0, NULL) : NULL;
        if (!d)
            d = nnk_dataset_load(spec, "", feats, err);
        else
            d->y_cols = 0;
    }
    free(classes);
    if (d && (nnk_model_encode_categories(m, d, err) || nnk_model_check_missing(m, d, err))) {
        nnk_dataset_free(d);
        return NULL;
    }
    return d;
}

static int cmd_evaluate(const options *o)
{
    nnk_err err = {NNK_OK, ""};
    if (!o->positional)
        return usage_error("evaluate", "%s", "missing MODEL.nnk");
    if (!o->data)
        return usage_error("evaluate", "%s", "missing --data SPEC");
    nnk_set_threads(o->threads);
    nnk_registry *reg = load_registry(o, &err);
    nnk_model *m = reg ? nnk_model_load(reg, o->positional, &err) : NULL;
    nnk_dataset *d = m ? load_for_model(m, o->data, o, 1, &err) : NULL;
    if (d) {
        char names[40][64];
        double values[40];
        int n;
        if (!nnk_model_evaluate(m, d, o->batch_size ? o->batch_size : 32, names, values, 40, &n, &err))
            print_logs("evaluate", names, values, n);
    }
    nnk_dataset_free(d);
    nnk_model_free(m);
    nnk_registry_free(reg);
    return err.status ? fail(&err) : 0;
}

/* predict's CSV: one column per unit (prob_J for one classifier output,
 * output_J for one regression unit, <output>_J with several outputs), one
 * row per sample. */
static void write_output_values(FILE *f, const nnk_model *m, const float *out, int64_t rows, int64_t cols)
{
    const char *names[16];
    int64_t widths[16];
    int n_out = nnk_model_outputs(m, names, widths, 16);
    for (int k = 0, col = 0; k < n_out && k < 16; k++)
        for (int64_t j = 0; j < widths[k]; j++, col++)
            fprintf(f, "%s%s_%lld", col ? "," : "", n_out > 1 ? names[k] : widths[k] > 1 ? "prob" : "output",
                    (long long)j);
    for (int64_t r = 0; r < rows; r++) {
        fputc('\n', f);
        for (int64_t j = 0; j < cols; j++) { /* the shortest text that reads back to the same float */
            char num[32];
            nnk_format_float(out[r * cols + j], num, sizeof num);
            fprintf(f, "%s%s", j ? "," : "", num);
        }
    }
    fputc('\n', f);
}

static int cmd_predict(const options *o)
{
    nnk_err err = {NNK_OK, ""};
    if (!o->positional)
        return usage_error("predict", "%s", "missing MODEL.nnk");
    if (!o->input)
        return usage_error("predict", "%s", "missing --input FILE");
    nnk_set_threads(o->threads);
    nnk_registry *reg = load_registry(o, &err);
    nnk_model *m = reg ? nnk_model_load(reg, o->positional, &err) : NULL;
    nnk_dataset *d = m ? load_for_model(m, o->input, o, 0, &err) : NULL;
    if (d && o->rows > 0 && o->rows < d->rows) /* the first N, as the book's X_new = X_test[:3] */
        d->rows = o->rows;
    int64_t cols = 0;
    float *out = d ? nnk_model_predict(m, d, o->batch_size ? o->batch_size : 256, &cols, &err) : NULL;
    if (out) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (f) {
            if (o->classes)
                write_class_predictions(f, m, out, d->rows, cols, o->top, &err);
            else
                write_output_values(f, m, out, d->rows, cols);
            fclose(f);
        }
        if (err.status)
            ; /* already said */
        else if (!buf)
            nnk_err_set(&err, NNK_ENOMEM, "out of memory");
        else
            write_output(buf, len, o->output, &err);
        free(buf);
    }
    free(out);
    nnk_dataset_free(d);
    nnk_model_free(m);
    nnk_registry_free(reg);
    return err.status ? fail(&err) : 0;
}

static int is_model_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char magic[4] = {0};
    if (f) {
        if (fread(magic, 1, 4, f) != 4)
            magic[0] = 0;
        fclose(f);
    }
    return !memcmp(magic, "NNKM", 4);
}

/* What training builds from a CSV file: its text columns one-hot encoded
 * by the training split's vocabulary, so the summary shows the encoded
 * inputs and the parameter counts training will have. Other sources hold
 * only numbers and are not read. */
static int summary_columns(nnk_model *m, const nnk_run_config *c, nnk_err *err)
{
    size_t n = strlen(c->train);
    if (n < 4 || strcasecmp(c->train + n - 4, ".csv"))
        return NNK_OK;
    train_data data;
    int rc = load_train_data(c, NULL, &data, err) || nnk_model_set_columns(m, c->label, c->features, err) ||
             prepare_features(m, c, &data, err);
    train_data_free(&data);
    return rc ? err->status : NNK_OK;
}

static int cmd_summary(const options *o)
{
    nnk_err err = {NNK_OK, ""};
    if (!o->positional)
        return usage_error("summary", "%s", "missing EXPERIMENT.ini or MODEL.nnk");
    nnk_registry *reg = load_registry(o, &err);
    nnk_model *m = NULL;
    nnk_experiment *e = NULL;
    if (reg && is_model_file(o->positional)) {
        m = nnk_model_load(reg, o->positional, &err);
    } else if (reg && (e = nnk_experiment_load(o->positional, &err))) {
        int rc = 0;
        for (int i = 0; i < o->n_sets && !rc; i++)
            rc = nnk_experiment_override(e, o->sets[i], &err);
        nnk_experiment_parts parts;
        if (!rc && !nnk_experiment_settings(e, &parts, &err)) {
            m = nnk_experiment_model(e, reg, &err);
            if (m && summary_columns(m, &parts.cfg, &err)) {
                nnk_model_free(m);
                m = NULL;
            }
            if (m && nnk_model_build(m, (uint64_t)parts.cfg.seed, &err)) {
                nnk_model_free(m);
                m = NULL;
            }
            nnk_experiment_parts_clear(&parts);
        }
    }
    if (m)
        nnk_model_summary(m, stdout);
    nnk_model_free(m);
    nnk_experiment_free(e);
    nnk_registry_free(reg);
    return err.status ? fail(&err) : 0;
}

static void print_record(void *user, const nnk_tb_record_info *r)
{
    (void)user;
    printf("%17.6f %8lld  %-40s %-12s %s\n", r->wall_time, (long long)r->step,
           r->tag[0] ? r->tag : "-", r->kind, r->value);
}

static int cmd_sweep(const options *o)
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

static int cmd_plot(const options *o)
{
    if (!o->n_files && !o->activations)
        return usage_error("plot", "%s", "missing RUN_DIR (or --activations NAMES)");
    nnk_err err = {NNK_OK, ""};
    if (cmd_plot_run(o->files, o->n_files, o->activations, o->output, o->plugin_dir, &err))
        return fail(&err);
    if (o->output)
        printf("plot: wrote %s\n", o->output);
    return 0;
}

static int cmd_weights(const options *o)
{
    if (!o->positional)
        return usage_error("weights", "%s", "missing MODEL.nnk");
    const char *format = o->format ? o->format : "text";
    if (strcmp(format, "text") && strcmp(format, "csv") && strcmp(format, "npy"))
        return usage_error("weights", "--format must be text, csv or npy, got '%s'", format);
    nnk_err err = {NNK_OK, ""};
    if (cmd_weights_run(o->positional, o->extra, format, o->output, o->plugin_dir, &err))
        return fail(&err);
    return 0;
}

static int cmd_export(const options *o)
{
    if (!o->positional)
        return usage_error("export", "%s", "missing MODEL.nnk");
    const char *format = o->format ? o->format : "onnx";
    int onnx = !strcmp(format, "onnx");
    if (!onnx && strcmp(format, "c"))
        return usage_error("export", "--format must be onnx or c, got '%s'", format);
    if (!o->output)
        return usage_error("export", "missing -o %s", onnx ? "OUT.onnx" : "OUT.c");
    size_t n = strlen(o->output);
    if (onnx ? n < 6 || strcmp(o->output + n - 5, ".onnx") : n < 3 || strcmp(o->output + n - 2, ".c"))
        return usage_error("export", onnx ? "-o '%s' must end in .onnx" : "-o '%s' must end in .c (the header goes beside it as .h)",
                           o->output);
    nnk_err err = {NNK_OK, ""};
    nnk_registry *reg = load_registry(o, &err);
    nnk_model *m = reg ? nnk_model_load(reg, o->positional, &err) : NULL;
    if (m && !export_check_finite(m, &err))
        onnx ? export_onnx(m, o->positional, o->output, &err) : export_c(m, o->positional, o->output, &err);
    nnk_model_free(m);
    nnk_registry_free(reg);
    return err.status ? fail(&err) : 0;
}

static int cmd_lr_find(const options *o)
{
    if (!o->positional)
        return usage_error("lr-find", "%s", "missing EXPERIMENT.ini");
    double lo = o->min_lr > 0 ? o->min_lr : 1e-5, hi = o->max_lr > 0 ? o->max_lr : 10;
    if (lo >= hi)
        return usage_error("lr-find", "%s", "--min-lr must be below --max-lr");
    nnk_err err = {NNK_OK, ""};
    if (cmd_lr_find_run(o->positional, o->sets, o->n_sets, o->plugin_dir, lo, hi, o->steps ? o->steps : 300, o->output, &err))
        return fail(&err);
    return 0;
}

/* The checker is its own program (it needs the engine's internals): beside
 * this one in a build tree, in NNK_LIBEXEC_DIR when installed. */
static int cmd_check_plugin(const options *o)
{
    if (!o->positional)
        return usage_error("check-plugin", "%s", "missing PLUGIN.so");
    char self[PATH_MAX], helper[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    snprintf(helper, sizeof helper, "%s/nnkit-check-plugin", self);
    if (access(helper, X_OK))
        snprintf(helper, sizeof helper, "%s/nnkit-check-plugin", NNK_LIBEXEC_DIR);
    fflush(stdout);
    char *argv[] = {helper, (char *)o->positional, NULL};
    execv(helper, argv);
    fprintf(stderr, "nnkit: error: check-plugin: cannot run '%s': %s\n", helper, strerror(errno));
    return 1;
}

static int cmd_events(const options *o)
{
    if (o->n_files == 0)
        return usage_error("events", "%s", "missing EVENTFILE");
    int worst = 0;
    static const char *const what[] = {"", "truncated record (the file ends inside it)", "bad CRC",
                                       "undecodable Event", "histogram whose shape disagrees with its content"};
    for (int i = 0; i < o->n_files; i++) {
        const char *path = o->files[i];
        nnk_err err = {NNK_OK, ""};
        nnk_tb_scan scan;
        if (o->n_files > 1)
            printf("%s%s:\n", i ? "\n" : "", path);
        if (o->repair) {
            if (nnk_tb_repair(path, &scan, &err)) {
                fprintf(stderr, "nnkit: error: %s\n", err.msg);
                worst = 1;
            } else if (!scan.damaged_spans) {
                printf("'%s' is whole: %llu records, nothing to repair\n", path, (unsigned long long)scan.records);
            } else {
                printf("repaired '%s': kept %llu whole records, dropped %llu damaged span%s of %llu bytes (the first at offset %llu)\n",
                       path, (unsigned long long)scan.records, (unsigned long long)scan.damaged_spans,
                       scan.damaged_spans > 1 ? "s" : "", (unsigned long long)scan.damaged_bytes,
                       (unsigned long long)scan.first_bad);
            }
            continue;
        }
        printf("%17s %8s  %-40s %-12s %s\n", "wall_time", "step", "tag", "kind", "value");
        int r = nnk_tb_scan_file(path, print_record, NULL, &scan, &err);
        if (r < 0) {
            fprintf(stderr, "nnkit: error: %s\n", err.msg);
            worst = 1;
        } else if (r != NNK_TB_READ_OK) {
            fprintf(stderr, "nnkit: error: event file '%s': %s at offset %llu; %llu damaged bytes skipped, %llu whole records read (--repair keeps those)\n",
                    path, what[r], (unsigned long long)scan.first_bad, (unsigned long long)scan.damaged_bytes,
                    (unsigned long long)scan.records);
            worst = 1;
        }
    }
    return worst;
}

static const char *type_name(nnk_param_type t)
{
    static const char *const names[] = {"int", "float", "bool", "string", "choice", "activation"};
    return (unsigned)t < 6 ? names[t] : "?";
}

static int cmd_plugins(const options *o)
{
    nnk_err err = {NNK_OK, ""};
    nnk_registry *reg = load_registry(o, &err);
    if (!reg)
        return fail(&err);
    printf("searched: %s\n", nnk_registry_searched(reg));
    for (int k = 0; k < NNK_KIND_COUNT; k++) {
        printf("\n%s%s:\n", nnk_kind_name((nnk_kind)k), k == NNK_KIND_LOSS ? "es" : "s");
        for (int i = 0; i < nnk_registry_count(reg); i++) {
            const nnk_component_info *c = nnk_registry_at(reg, i);
            if (c->kind != (nnk_kind)k)
                continue;
            printf("  %-34s %s (%s %s)\n", c->name, c->doc, c->plugin_name, c->plugin_version);
            if (c->kind == NNK_KIND_OPTIMIZER) /* [compile] learning_rate, per optimizer */
                printf("      %-20s float > 0, default %.15g: the step size ([compile] learning_rate)\n",
                       "learning_rate", nnk_optimizer_default_learning_rate(c->vtable));
            for (const nnk_param_spec *p = c->params; p && p->name; p++) {
                char range[128] = "";
                if (p->min != 0 || p->max != 0)
                    snprintf(range, sizeof range, " in [%.15g, %.15g]", p->min, p->max);
                if (p->choices) {
                    strcpy(range, " one of");
                    for (int j = 0; p->choices[j]; j++)
                        snprintf(range + strlen(range), sizeof range - strlen(range), "%s %s",
                                 j ? "," : "", p->choices[j]);
                }
                printf("      %-20s %s%s, default %s: %s\n", p->name, type_name(p->type), range,
                       p->default_value ? p->default_value : "(required)", p->doc ? p->doc : "");
            }
        }
    }
    nnk_registry_free(reg);
    return 0;
}

int main(int argc, char **argv)
{
    /* past a file-size limit (ulimit -f) writes fail with EFBIG, reported
     * like a full disk, instead of SIGXFSZ killing the run mid-file */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        print_help(argc > 2 ? argv[2] : NULL);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("nnkit %s (plugin ABI %d.%d)\n", NNK_VERSION, NNK_ABI_MAJOR, NNK_ABI_MINOR);
        return 0;
    }
    static const struct {
        const char *name;
        int (*fn)(const options *);
    } cmds[] = {{"train", cmd_train}, {"evaluate", cmd_evaluate}, {"predict", cmd_predict},
                {"summary", cmd_summary}, {"plugins", cmd_plugins}, {"events", cmd_events},
                {"check-plugin", cmd_check_plugin}, {"lr-find", cmd_lr_find},
                {"sweep", cmd_sweep}, {"weights", cmd_weights}, {"plot", cmd_plot}, {"export", cmd_export}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[1], cmds[i].name))
            continue;
        options o;
        int rc = parse_options(cmds[i].name, argc - 2, argv + 2, &o);
        if (rc)
            return rc;
        if (o.help) {
            print_help(cmds[i].name);
            return 0;
        }
        return cmds[i].fn(&o);
    }
    fprintf(stderr, "nnkit: unknown command '%s' (commands: train, evaluate, predict, summary, plugins, weights, plot, events, export, check-plugin, lr-find, sweep)\n",
            argv[1]);
    return 2;
}
