/* The runner's command line: options, help texts, and what every command
 * shares (errors and their exit status, the registry, a data-parallel job). */
#include "cli.h"
#include "exit_codes.h"
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef NNK_HAVE_MPI
#include <nnkit/mpi.h>
#endif

int fail(const nnk_err *err)
{
    fprintf(stderr, "nnkit: error: %s\n", err->msg);
    return exit_code_of(err->status);
}

int usage_error(const char *cmd, const char *fmt, const char *arg)
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
    {"evaluate", "usage: nnkit evaluate MODEL.nnk --data SPEC [--report [--report-format text|csv|json] [-o OUT]]\n"
                 "                     [--label COLS] [--features COLS] [--batch-size N] [--threads N] [--plugin-dir DIR]\n\n"
                 "Prints the loss and metrics of a saved model on labelled data (fashion-mnist:test,\n"
                 "a .csv file, or IDX files). CSV columns default to those the model was trained on.\n"
                 "--report: a one-output classifier's report as scikit-learn prints it (precision,\n"
                 "recall, F1 and support per class with the class names, accuracy, macro and weighted\n"
                 "averages), then its confusion matrix (rows: true class). --report-format csv or json\n"
                 "writes the report alone (CSV: one row per class with its confusion-matrix row; JSON:\n"
                 "scikit-learn's output_dict with the matrix), to stdout or, atomically, to OUT.\n"},
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
             "each metric with its val_ twin (dashed), against epochs (a metric's several values,\n"
             "f1_score_0, f1_score_1, ..., in one panel); several runs overlay with a legend,\n"
             "accuracy's axis is [0, 1]. --activations draws the named activation functions\n"
             "and their derivatives, computed by the plugins. Without -o it draws in the terminal.\n\n"
             "       nnkit plot --confusion [--normalize] | --roc [--pr] | --pr MODEL.nnk --data SPEC [-o FILE]\n\n"
             "A classifier on labelled data: --confusion draws its confusion matrix (rows: the true\n"
             "class, counts or, with --normalize, shares of the row; in the terminal: the report of\n"
             "evaluate --report), --roc and --pr each class's ROC and precision-recall curve\n"
             "against the rest, with the area under each in the legend, also printed.\n"},
    {"plugins", "usage: nnkit plugins [--plugin-dir DIR]\n\n"
                "Lists every component the loaded plugins provide, with its kind, plugin,\n"
                "parameters (type, default, range) and documentation.\n"},
};

void print_help(const char *cmd)
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

/* Each flag parser looks at argument a (and the next, its value): it
 * returns how many arguments it took (1 or 2), 0 when a is not its, or
 * -2 after printing a usage error. */
#define USAGE(...) (usage_error(__VA_ARGS__), -2)

/* Flags without a value. */
static int switch_flag(const char *cmd, const char *a, options *o)
{
    if (!strcmp(a, "--help") || !strcmp(a, "-h"))
        return o->help = 1;
    if (!strcmp(a, "--classes") && !strcmp(cmd, "predict"))
        return o->classes = 1;
    if (!strcmp(a, "--report") && !strcmp(cmd, "evaluate"))
        return o->report = 1;
    if (!strcmp(cmd, "plot") && (!strcmp(a, "--confusion") || !strcmp(a, "--roc") || !strcmp(a, "--pr") ||
                                 !strcmp(a, "--normalize")))
        return *(!strcmp(a, "--confusion") ? &o->confusion
                 : !strcmp(a, "--roc")     ? &o->roc
                 : !strcmp(a, "--pr")      ? &o->pr
                                           : &o->normalize) = 1;
    if (!strcmp(a, "--overwrite") && !strcmp(cmd, "train"))
        return o->overwrite = 1;
    if (!strcmp(a, "--repair") && !strcmp(cmd, "events"))
        return o->repair = 1;
    return 0;
}

static int takes_threads(const char *cmd)
{
    return !strcmp(cmd, "train") || !strcmp(cmd, "evaluate") || !strcmp(cmd, "predict") || !strcmp(cmd, "lr-find") ||
           !strcmp(cmd, "sweep");
}

/* Flags whose value is a whole number. */
static int count_flag(const char *cmd, const char *a, const char *next, options *o)
{
    long long v;
    const char *shown = next ? next : "";
    if (!strcmp(a, "--rows") && !strcmp(cmd, "predict"))
        return integer_arg(next, 1, LLONG_MAX, &o->rows) ? USAGE(cmd, "option '--rows' needs a positive integer, got '%s'", shown) : 2;
    if (!strcmp(a, "--top") && !strcmp(cmd, "predict")) {
        o->classes = 1;
        return integer_arg(next, 1, LLONG_MAX, &o->top) ? USAGE(cmd, "option '--top' needs a positive integer, got '%s'", shown) : 2;
    }
    if (!strcmp(a, "--threads") && takes_threads(cmd)) {
        if (integer_arg(next, 1, 1024, &v))
            return USAGE(cmd, "option '--threads' needs an integer in [1, 1024], got '%s'", shown);
        o->threads = o->sweep.threads = (int)v; /* train and lr-find: [fit] threads (experiment_open) */
        return 2;
    }
    if (!strcmp(a, "--trials") || !strcmp(a, "--jobs")) {
        if (integer_arg(next, 1, a[2] == 't' ? 1024 : 64, &v))
            return USAGE(cmd, "option '%s' needs a positive integer (at most 1024 trials, 64 jobs)", a);
        *(a[2] == 't' ? &o->sweep.trials : &o->sweep.jobs) = (int)v;
        return 2;
    }
    if (!strcmp(a, "--seed"))
        return integer_arg(next, 0, LLONG_MAX, &o->sweep.seed) ? USAGE(cmd, "option '--seed' needs an integer >= 0, got '%s'", shown) : 2;
    if (!strcmp(a, "--steps"))
        return integer_arg(next, 10, 100000, &o->steps)
                   ? USAGE(cmd, "option '--steps' needs an integer in [10, 100000], got '%s'", shown)
                   : 2;
    if (!strcmp(a, "--batch-size"))
        return integer_arg(next, 1, LLONG_MAX, &o->batch_size)
                   ? USAGE(cmd, "option '--batch-size' needs a positive integer, got '%s'", shown)
                   : 2;
    return 0;
}

/* --min-lr and --max-lr: a number > 0. */
static int rate_flag(const char *cmd, const char *a, const char *next, options *o)
{
    if (strcmp(a, "--min-lr") && strcmp(a, "--max-lr"))
        return 0;
    char *end;
    double v = next ? strtod(next, &end) : 0;
    if (!next || *end || !(v > 0) || !isfinite(v))
        return USAGE(cmd, "option '%s' needs a number > 0", a);
    *(a[3] == 'i' ? &o->min_lr : &o->max_lr) = v;
    return 2;
}

/* --set and --unset: one list, in order (an entry without '=' removes). */
static int set_flag(const char *cmd, const char *a, const char *next, options *o)
{
    if (strcmp(a, "--set") && strcmp(a, "--unset"))
        return 0;
    if (!next)
        return USAGE(cmd, "option '%s' needs a value", a);
    if (a[2] == 's' && !strchr(next, '='))
        return USAGE(cmd, "--set '%s': expected section.key=value (--unset section.key removes a key)", next);
    if (a[2] == 'u' && strchr(next, '='))
        return USAGE(cmd, "--unset '%s': expected section.key, or the name of a callback", next);
    if (o->n_sets == MAX_SETS)
        return USAGE(cmd, "%s", "too many --set options");
    o->sets[o->n_sets++] = next;
    return 2;
}

/* Flags whose value is text, and sweep's search dimensions. */
static int text_flag(const char *cmd, const char *a, const char *next, options *o)
{
    static const struct {
        const char *flag;
        size_t offset;
    } texts[] = {
        {"--plugin-dir", offsetof(options, plugin_dir)}, {"--run-name", offsetof(options, run_name)},
        {"--data", offsetof(options, data)}, {"--input", offsetof(options, input)}, {"-o", offsetof(options, output)},
        {"--output", offsetof(options, output)}, {"--format", offsetof(options, format)},
        {"--report-format", offsetof(options, report_format)},
        {"--from", offsetof(options, from)}, {"--activations", offsetof(options, activations)},
        {"--label", offsetof(options, label)}, {"--features", offsetof(options, features)},
        {"--strategy", offsetof(options, sweep.strategy)}, {"--objective", offsetof(options, sweep.objective)},
        {"--mode", offsetof(options, sweep.mode)}, {"--name", offsetof(options, sweep.name)},
    };
    static const char *const dim_flags[] = {"--grid", "--choice", "--uniform", "--log-uniform"};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++)
        if (!strcmp(a, texts[k].flag)) {
            if (!next)
                return USAGE(cmd, "option '%s' needs a value", a);
            *(const char **)((char *)o + texts[k].offset) = next;
            return 2;
        }
    for (int k = 0; k < 4; k++)
        if (!strcmp(a, dim_flags[k])) {
            if (!next)
                return USAGE(cmd, "option '%s' needs a value", a);
            if (o->sweep.n_dims == 64)
                return USAGE(cmd, "%s", "too many search dimensions");
            o->sweep.dim_kinds[o->sweep.n_dims] = k;
            o->sweep.dims[o->sweep.n_dims++] = next;
            return 2;
        }
    return 0;
}

/* An argument that is no flag: a file (events, plot), weights' second
 * argument, or the one positional argument. */
static int positional_arg(const char *cmd, const char *a, options *o)
{
    if (a[0] == '-' && a[1])
        return USAGE(cmd, "unknown option '%s'", a);
    if (!strcmp(cmd, "events") || !strcmp(cmd, "plot")) {
        if (o->n_files == 256)
            return USAGE(cmd, "%s", "too many files (at most 256)");
        o->files[o->n_files++] = a;
    } else if (o->positional && !strcmp(cmd, "weights") && !o->extra) {
        o->extra = a;
    } else if (o->positional) {
        return USAGE(cmd, "unexpected argument '%s'", a);
    } else {
        o->positional = a;
    }
    return 1;
}

int parse_options(const char *cmd, int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < argc;) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        int took = switch_flag(cmd, a, o);
        if (!took)
            took = count_flag(cmd, a, next, o);
        if (!took)
            took = rate_flag(cmd, a, next, o);
        if (!took)
            took = set_flag(cmd, a, next, o);
        if (!took)
            took = text_flag(cmd, a, next, o);
        if (!took)
            took = positional_arg(cmd, a, o);
        if (took < 0)
            return -took;
        i += took;
    }
    return 0;
}

nnk_registry *load_registry(const options *o, nnk_err *err)
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

void print_logs(const char *title, char names[][64], const double *values, int n)
{
    printf("%s:", title);
    for (int i = 0; i < n; i++)
        printf(" %s %.4f%s", names[i], values[i], i + 1 < n ? " -" : "");
    printf("\n");
}

/* Under mpirun (or another launcher): joins the job, *red its reducer and
 * *local the job's processes on this host; a plain process gets NULL and
 * 1. Fails only when MPI cannot start. */
int join_job(nnk_reducer **red, int *local, nnk_err *err)
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
int finish_job(nnk_reducer *red, int rc, const nnk_err *err)
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

