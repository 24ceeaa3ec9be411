/* nnkit evaluate: a saved model's loss and metrics on data. */
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>

nnk_dataset *load_for_model(const nnk_model *m, const char *spec, const options *o,
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

int cmd_evaluate(const options *o)
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

