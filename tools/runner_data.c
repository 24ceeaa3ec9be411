/* Loading an experiment's data for the runner's commands, and writing
 * their results. */
#include "runner.h"
#include <stdio.h>
#include <ftw.h>
#include <string.h>

int write_output(const char *buf, size_t len, const char *path, nnk_err *err)
{
    if (path)
        return nnk_write_file_atomic(path, buf, len, err);
    if (fwrite(buf, 1, len, stdout) != len || fflush(stdout))
        return nnk_err_set(err, NNK_EIO, "stdout: write failed");
    return NNK_OK;
}

void train_data_free(train_data *d)
{
    nnk_dataset_free(d->train);
    nnk_dataset_free(d->validation);
    nnk_dataset_free(d->test);
}

/* What a process holding only its part of the training data cannot do. */
static int check_shard(const nnk_run_config *c, nnk_err *err)
{
    if (c->validation_split > 0 || c->test_split > 0)
        return nnk_err_set(err, NNK_ECONFIG, "section [data]: shard = true takes validation and test files, not "
                           "validation_split or test_split (each process holds only its rows)");
    if (c->standardize || strcmp(c->missing, "error"))
        return nnk_err_set(err, NNK_ECONFIG, "section [data]: shard = true cannot fit %s on the training data (each process "
                           "holds only its rows); use scale", c->standardize ? "standardize" : "missing-value fills");
    return NNK_OK;
}

int load_train_data(const nnk_run_config *c, const nnk_reducer *red, train_data *d, nnk_err *err)
{
    memset(d, 0, sizeof *d);
    if (c->shard && red && red->size > 1) {
        if (check_shard(c, err) ||
            !(d->train = nnk_dataset_load_part(c->train, c->label, c->features, red->rank, red->size, &d->shard_total, err)))
            return err->status;
    } else if (!(d->train = nnk_dataset_load(c->train, c->label, c->features, err))) {
        return err->status;
    }
    if (c->shuffle_split && (c->test_split > 0 || c->validation_split > 0))
        nnk_dataset_shuffle(d->train, (uint64_t)c->seed);
    if (!c->test[0] && c->test_split > 0 && nnk_dataset_split(d->train, c->test_split, &d->test, err))
        return err->status;
    if (!c->validation[0] && c->validation_split > 0 &&
        nnk_dataset_split(d->train, c->validation_split, &d->validation, err))
        return err->status;
    /* string labels: the classes are those of the training split */
    nnk_dataset *split[2] = {d->test, d->validation};
    if (nnk_dataset_fit_classes(d->train, split, 2, err))
        return err->status;
    if (c->test[0] && !(d->test = nnk_dataset_load_classes(c->test, c->label, c->features, d->train->class_names,
                                                           d->train->n_classes, err)))
        return err->status;
    if (c->validation[0] && !(d->validation = nnk_dataset_load_classes(c->validation, c->label, c->features,
                                                                       d->train->class_names, d->train->n_classes, err)))
        return err->status;
    return NNK_OK;
}

int prepare_features(nnk_model *m, const nnk_run_config *c, const train_data *d, nnk_err *err)
{
    /* text columns: one-hot by the training split's vocabulary */
    if (nnk_model_fit_categories(m, d->train, c->unknown_category, err))
        return err->status;
    for (int64_t k = 0; k < d->train->n_text; k++) { /* a mistyped number turns a column to text: say so */
        const nnk_text_column *t = &d->train->text[k];
        if (t->numbers)
            fprintf(stderr,
                    "nnkit: note: data '%s': column '%s' is one-hot encoded as text (line %lld has '%.100s'), though "
                    "%lld of its cells are numbers\n",
                    d->train->source, d->train->feature_names[t->feature], (long long)t->text_line, t->text,
                    (long long)t->numbers);
    }
    nnk_dataset *parts[3] = {d->train, d->validation, d->test};
    for (int i = 0; i < 3; i++)
        if (parts[i] && nnk_model_encode_categories(m, parts[i], err))
            return err->status;
    if (strcmp(c->missing, "error") && nnk_model_fit_missing(m, d->train, c->missing, err))
        return err->status;
    for (int i = 0; i < 3; i++)
        if (parts[i] && nnk_model_check_missing(m, parts[i], err))
            return err->status;
    return NNK_OK;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void remove_tree(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
