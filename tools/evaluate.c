/* nnkit evaluate: a saved model's loss and metrics on data, and with
 * --report a classifier's report and confusion matrix (report.c). */
#include "cli.h"
#include "report.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

nnk_dataset *load_for_model(const nnk_model *m, const char *spec, const options *o, int labels, nnk_err *err)
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
        d = *label && !*feats ? nnk_dataset_load_classes(spec, label, feats, classes, classes ? n_classes : 0, NULL)
                              : NULL;
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

/* The report of a one-output classifier on d, in the format asked for,
 * into a buffer the caller frees (NULL with err set). */
static char *classification_report(nnk_model *m, const nnk_dataset *d, const options *o, size_t *len, nnk_err *err)
{
    const char *format = o->report_format ? o->report_format : "text";
    nnk_output_info info;
    int outputs = 0;
    while (nnk_model_output_info(m, outputs, &info) == 0)
        outputs++;
    if (outputs != 1) {
        nnk_err_set(err, NNK_EUSAGE, "evaluate --report: the model has %d outputs; the report covers one", outputs);
        return NULL;
    }
    int64_t cols = 0;
    float *pred = NULL;
    class_report r;
    char *buf = NULL;
    if (!report_for_model(m, d, o->batch_size ? o->batch_size : 256, &r, &pred, &cols, err)) {
        FILE *f = open_memstream(&buf, len);
        if (f) {
            !strcmp(format, "csv")    ? report_write_csv(&r, f)
            : !strcmp(format, "json") ? report_write_json(&r, f)
                                      : report_write_text(&r, f);
            fclose(f);
        }
        if (!buf)
            nnk_err_set(err, NNK_ENOMEM, "out of memory");
        report_free(&r);
        free(pred);
    }
    return buf;
}

int cmd_evaluate(const options *o)
{
    nnk_err err = {NNK_OK, ""};
    if (!o->positional)
        return usage_error("evaluate", "%s", "missing MODEL.nnk");
    if (!o->data)
        return usage_error("evaluate", "%s", "missing --data SPEC");
    if ((o->report_format || o->output) && !o->report)
        return usage_error("evaluate", "%s", "--report-format and -o go with --report");
    if (o->report_format && strcmp(o->report_format, "text") && strcmp(o->report_format, "csv") &&
        strcmp(o->report_format, "json")) { /* before the model loads */
        nnk_err_set(&err, NNK_EUSAGE, "evaluate: --report-format '%.40s': expected text, csv or json",
                    o->report_format);
        return fail(&err);
    }
    nnk_set_threads(o->threads);
    nnk_registry *reg = load_registry(o, &err);
    nnk_model *m = reg ? nnk_model_load(reg, o->positional, &err) : NULL;
    nnk_dataset *d = m ? load_for_model(m, o->data, o, 1, &err) : NULL;
    int text = !o->report_format || !strcmp(o->report_format, "text");
    if (d && (!o->report || (text && !o->output))) { /* csv and json: the report alone, for scripts */
        char names[NNK_MAX_LOGS / 2][NNK_LOG_NAME_MAX];
        double values[NNK_MAX_LOGS / 2];
        int n;
        if (!nnk_model_evaluate(m, d, o->batch_size ? o->batch_size : 32, names, values, NNK_MAX_LOGS / 2, &n, &err))
            print_logs("evaluate", names, values, n);
    }
    if (d && o->report && !err.status) {
        size_t len = 0;
        char *buf = classification_report(m, d, o, &len, &err);
        if (buf && !o->output)
            fputs(text ? "\n" : "", stdout), fwrite(buf, 1, len, stdout);
        else if (buf)
            write_output(buf, len, o->output, &err);
        free(buf);
    }
    nnk_dataset_free(d);
    nnk_model_free(m);
    nnk_registry_free(reg);
    return err.status ? fail(&err) : 0;
}
