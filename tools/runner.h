/* Shared between the runner's commands (tools/). */
#ifndef NNKIT_RUNNER_H
#define NNKIT_RUNNER_H
#include <nnkit/data.h>
#include <nnkit/experiment.h>

/* An experiment ready to run (experiment_loader.c): the plugins (the
 * standard search, plugin_dir first), the file with the --set/--unset
 * list applied in order, its checked settings ([fit] threads set to
 * threads when > 0) and its model, compiled but not built. */
typedef struct loaded_experiment {
    nnk_registry *reg;
    nnk_experiment *e;
    nnk_experiment_parts parts;
    nnk_model *m;
} loaded_experiment;

/* Opens path into *x; on failure *x holds nothing (err says why). */
int experiment_open(loaded_experiment *x, const char *path, const char *const *sets, int n_sets, int threads,
                    const char *plugin_dir, nnk_err *err);
/* Frees what *x holds (the model too, unless taken: set x->m NULL). */
void experiment_close(loaded_experiment *x);

/* The training data of an experiment with its validation and test parts
 * (files, or splits of the training file as [data] says). */
typedef struct train_data {
    nnk_dataset *train, *validation, *test;
    int64_t shard_total; /* > 0: train is this process's part of so many rows */
} train_data;

/* The experiment's training data, split as [data] says; string labels take
 * the training split's classes. With [data] shard and several processes
 * (red not NULL), only this process's part of the training file. */
int load_train_data(const nnk_run_config *c, const nnk_reducer *red, train_data *d, nnk_err *err);
/* Before build: one-hot encodes text columns by the training split's
 * vocabulary, then fills missing cells as [data] missing says (fitted on
 * the training split) or refuses data that has them, for every part. */
int prepare_features(nnk_model *m, const nnk_run_config *c, const train_data *d, nnk_err *err);
void train_data_free(train_data *d);

/* nnkit sweep (sweep.c) */
typedef struct sweep_options {
    const char *experiment, *plugin_dir, *name;
    const char *const *sets;
    int n_sets;
    const char *dims[64];      /* "section.key=..." as given */
    int dim_kinds[64];         /* 0 grid, 1 choice, 2 uniform, 3 log-uniform */
    int n_dims;
    const char *strategy;      /* grid, random, hyperband, bayes */
    const char *objective, *mode;
    int trials, jobs;
    int threads;               /* each trial's; 0: cores / jobs */
    long long seed;
    const nnk_reducer *reducer; /* under mpirun: the processes share the trials */
    int local_processes;        /* the sweep's processes on this host */
} sweep_options;
int cmd_sweep_run(const sweep_options *so, nnk_err *err);

/* nnkit weights (weights.c): which is LAYER or LAYER/WEIGHT (NULL: all);
 * format text, csv or npy; output a file (a directory for several npy
 * arrays), or NULL for stdout. */
int cmd_weights_run(const char *model, const char *which, const char *format, const char *output,
                    const char *plugin_dir, nnk_err *err);

/* The vtable of a model's component (export_common.c; NULL when the
 * registry has none): the exporters ask it for its export capabilities
 * (nnkit.export.onnx/1, nnkit.export.c/1) and know no component by name. */
const void *export_component(const nnk_model *m, nnk_kind kind, const char *name);

/* Both formats refuse a model with NaN or Inf in a weight or in its saved
 * preprocessing (EMODEL naming the layer, the weight and the place). */
int export_check_finite(const nnk_model *m, nnk_err *err);
/* nnkit export --format c (export_c.c): output (.c) and its header (.h). */
int export_c(const nnk_model *m, const char *model_path, const char *output, nnk_err *err);
/* nnkit export --format onnx (export_onnx.c): an ONNX model (opset 17). */
int export_onnx(const nnk_model *m, const char *model_path, const char *output, nnk_err *err);

/* Removes dir and everything in it (a run that failed on its
 * configuration, a sweep's stale claims). */
void remove_tree(const char *dir);

/* Writes a finished output buffer to path atomically (nnk_write_file_atomic),
 * or to stdout when path is NULL (runner_data.c). */
int write_output(const char *buf, size_t len, const char *path, nnk_err *err);

/* nnkit predict --classes (classes.c): a header and per row the class
 * index, name and probability, or the top K of them. */
int write_class_predictions(FILE *f, const nnk_model *m, const float *out, int64_t rows, int64_t cols, int64_t top,
                            nnk_err *err);

/* nnkit plot (plot.c): learning curves of runs and/or activations (a
 * comma-separated list, may be NULL), to out (.png or .svg) or, with out
 * NULL, the terminal. */
/* A table of numbers a run writes (history.c): RUN/training.csv (first
 * column "epoch", then one per log) or RUN/lr_find.csv. Read strictly: a
 * header whose first name is `first`, then rows of exactly as many numbers
 * (nan and inf allowed but in the first column); a short or long row or
 * text where a number goes is EDATA naming `what`, the file and the line;
 * so is a header of more than NUM_TABLE_MAX_COLS names. */
#define NUM_TABLE_MAX_COLS (1 + NNK_MAX_LOGS) /* epoch, then every log a fit can give */
typedef struct num_table {
    int n_cols;
    char *names[NUM_TABLE_MAX_COLS];
    int64_t rows, cap;
    double *v; /* rows x n_cols, row-major */
} num_table;
int num_table_read(const char *path, const char *what, const char *first, num_table *t, nnk_err *err);
int num_table_column(const num_table *t, const char *name); /* -1 when it has none */
void num_table_free(num_table *t);

/* nnkit plot's runs (plot_runs.c): up to max of the given directories
 * (non-directories skipped with a note; past max, the best by their last
 * val_loss), each labelled by the settings that tell it from the others.
 * Returns how many, or -1 with err set. */
#define PLOT_MAX_DIRS 1024
typedef struct plot_run {
    const char *dir;
    char label[160];
    double last;
} plot_run;
int plot_runs(const char *const *dirs, int n_dirs, plot_run *out, int max, nnk_err *err);

int cmd_plot_run(const char *const *runs, int n_runs, const char *activations, const char *out, const char *plugin_dir,
                 nnk_err *err);

#endif
