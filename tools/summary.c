/* nnkit summary: the layers, shapes and parameter counts of a model file
 * or of the model an experiment builds. */
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* The summary of the model an experiment builds, its text columns encoded
 * as training would. */
static int experiment_summary(const options *o, nnk_err *err)
{
    loaded_experiment x;
    if (experiment_open(&x, o->positional, o->sets, o->n_sets, 0, o->plugin_dir, err))
        return err->status;
    int rc = summary_columns(x.m, &x.parts.cfg, err) || nnk_model_build(x.m, (uint64_t)x.parts.cfg.seed, err);
    if (!rc)
        nnk_model_summary(x.m, stdout);
    experiment_close(&x);
    return rc ? err->status : NNK_OK;
}

int cmd_summary(const options *o)
{
    nnk_err err = {NNK_OK, ""};
    if (!o->positional)
        return usage_error("summary", "%s", "missing EXPERIMENT.ini or MODEL.nnk");
    if (!is_model_file(o->positional))
        return experiment_summary(o, &err) ? fail(&err) : 0;
    nnk_registry *reg = load_registry(o, &err);
    nnk_model *m = reg ? nnk_model_load(reg, o->positional, &err) : NULL;
    if (m)
        nnk_model_summary(m, stdout);
    nnk_model_free(m);
    nnk_registry_free(reg);
    return err.status ? fail(&err) : 0;
}
