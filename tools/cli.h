/* The runner's command line and its commands, one file each: train.c,
 * evaluate.c, predict.c, summary.c, plugins.c, weights.c, plot.c,
 * events.c, export.c, check_plugin.c, lrfind.c, sweep.c. */
#ifndef NNKIT_CLI_H
#define NNKIT_CLI_H
#include "runner.h"

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
    int report;                /* evaluate --report */
    int confusion, roc, pr, normalize; /* plot --confusion, --roc, --pr, --normalize */
    const char *report_format; /* text (default), csv or json */
    long long top, rows;
    double min_lr, max_lr;
    long long steps;
    sweep_options sweep;
    const char *files[256];
    int n_files;
} options;


/* Parses a command's arguments into *o; 0, or prints a usage error and
 * returns exit status 2. */
int parse_options(const char *cmd, int argc, char **argv, options *o);
/* The help of cmd (NULL: the command list) on stdout. */
void print_help(const char *cmd);
/* Prints "nnkit: error: MSG" and returns the status's exit code. */
int fail(const nnk_err *err);
/* Prints a usage error of cmd (fmt with one %s, arg) and returns 2. */
int usage_error(const char *cmd, const char *fmt, const char *arg);
/* The plugins: --plugin-dir, then the standard search. */
nnk_registry *load_registry(const options *o, nnk_err *err);
/* "title: name value - name value" on stdout. */
void print_logs(const char *title, char names[][64], const double *values, int n);
/* Under mpirun (or another launcher): joins the job, *red its reducer and
 * *local the job's processes on this host; a plain process gets NULL and
 * 1. Fails only when MPI cannot start. */
int join_job(nnk_reducer **red, int *local, nnk_err *err);
/* The command's exit status; a process that succeeded leaves the job. */
int finish_job(nnk_reducer *red, int rc, const nnk_err *err);

/* train's run directory (run_dir.c): chosen and made by rank 0, then
 * shared with the other processes. */
int choose_run_dir(const options *o, const nnk_run_config *c, nnk_callback *const *cbs, int n_cbs, char *run_dir,
                   size_t size, int *created_dir, nnk_err *err);
int share_run_dir(const nnk_reducer *red, char *run_dir, size_t size, nnk_err *err);

/* A data file read for a saved model (evaluate.c): its columns and
 * classes, text columns encoded, missing cells checked; labels 0 for
 * predict (the label columns, when the file has them, are no features). */
nnk_dataset *load_for_model(const nnk_model *m, const char *spec, const options *o, int labels, nnk_err *err);

/* lr-find's probe from min_lr to max_lr over steps steps (lrfind.c). */
int cmd_lr_find_run(const options *o, double min_lr, double max_lr, long long steps, nnk_err *err);

int cmd_train(const options *o);
int cmd_evaluate(const options *o);
int cmd_predict(const options *o);
int cmd_summary(const options *o);
int cmd_plugins(const options *o);
int cmd_events(const options *o);
int cmd_check_plugin(const options *o);
int cmd_lr_find(const options *o);
int cmd_sweep(const options *o);
int cmd_weights(const options *o);
int cmd_plot(const options *o);
int cmd_export(const options *o);
#endif
