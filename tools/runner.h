/* Shared between the runner's commands (tools/). */
#ifndef NNKIT_RUNNER_H
#define NNKIT_RUNNER_H
#include <nnkit/nnkit.h>

/* The training data of an experiment with its validation and test parts
 * (files, or splits of the training file as [data] says). */
typedef struct train_data {
    nnk_dataset *train, *validation, *test;
} train_data;

int load_train_data(const nnk_run_config *c, train_data *d, nnk_err *err);
void train_data_free(train_data *d);

/* nnkit lr-find (lrfind.c) */
int cmd_lr_find_run(const char *experiment, const char *const *sets, int n_sets, const char *plugin_dir,
                    double min_lr, double max_lr, long long steps, nnk_err *err);
#endif
