/* nnkit predict: a saved model's outputs (or classes) as CSV. */
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>

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

int cmd_predict(const options *o)
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

