/* nnkit plot --confusion, --roc and --pr: a saved classifier on labelled
 * data. The confusion matrix as a picture (plot_draw.c), or the ROC and
 * precision-recall curves of each class against the rest with each
 * curve's area in the legend (report.c computes both), also printed. */
#include "plot.h"
#include "report.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Class k's curve into a series of panel p (points thinned to
 * MAX_POINTS); its area printed and in the label. */
static int add_curve(panel *p, int kind, const class_report *r, int64_t k, const float *pred, int64_t cols,
                     const uint8_t *labels, float *scores, int64_t rows, double *x, double *y, nnk_err *err)
{
    for (int64_t i = 0; i < rows; i++)
        scores[i] = cols > 1 ? pred[i * cols + k] : k ? pred[i] : 1 - pred[i];
    double area;
    int64_t m = class_curve(kind, scores, labels, rows, x, y, &area);
    if (m < 0)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (p->n == MAX_SERIES)
        return nnk_err_set(err, NNK_EUSAGE, "plot: more than %d classes to draw", MAX_SERIES);
    series *s = calloc(1, sizeof *s);
    if (!s)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    char name[48];
    snprintf(name, sizeof name, "%.40s", r->names[k]);
    for (char *c = name; *c; c++)
        *c = (unsigned char)*c < 32 || *c == 127 || *c == '#' ? '?' : *c;
    snprintf(s->label, sizeof s->label, "%s (AUC %.3f)", name, area);
    printf("plot: %s %s AUC %.4f\n", name, kind == CURVE_ROC ? "ROC" : "PR", area);
    int64_t step = m > MAX_POINTS ? (m - 2) / (MAX_POINTS - 1) + 1 : 1; /* room for the last point */
    for (int64_t i = 0; i < m - 1; i += step) {
        s->x[s->n] = x[i];
        s->y[s->n++] = y[i];
    }
    s->x[s->n] = x[m - 1];
    s->y[s->n++] = y[m - 1];
    s->run = (int)(k % 10);
    p->s[p->n++] = s;
    return NNK_OK;
}

static void curve_panel(panel *p, int kind)
{
    memset(p, 0, sizeof *p);
    snprintf(p->title, sizeof p->title, "%s",
             kind == CURVE_ROC ? "ROC, each class against the rest" : "precision-recall, each class against the rest");
    snprintf(p->xlabel, sizeof p->xlabel, "%s", kind == CURVE_ROC ? "false positive rate" : "recall");
    snprintf(p->ylabel, sizeof p->ylabel, "%s", kind == CURVE_ROC ? "true positive rate" : "precision");
    p->fixed = 1, p->y0 = 0, p->y1 = 1.02;
}

/* The ROC and/or PR panels of every class. */
static int curves(const options *o, const class_report *r, const float *pred, int64_t cols, const nnk_dataset *d,
                  nnk_err *err)
{
    figure *f = calloc(1, sizeof *f);
    uint8_t *labels = malloc((size_t)d->rows + 1);
    float *scores = malloc(sizeof(float) * (size_t)(d->rows + 1));
    double *x = malloc(sizeof(double) * (size_t)(d->rows + 2)), *y = malloc(sizeof(double) * (size_t)(d->rows + 2));
    int rc = f && labels && scores && x && y ? NNK_OK : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    int kinds[2] = {o->roc ? CURVE_ROC : -1, o->pr ? CURVE_PR : -1};
    for (int q = 0; !rc && q < 2; q++) {
        if (kinds[q] < 0)
            continue;
        panel *p = &f->p[f->n++];
        curve_panel(p, kinds[q]);
        for (int64_t k = cols > 1 ? 0 : 1; !rc && k < r->n; k++) {
            for (int64_t i = 0; i < d->rows; i++) /* the label's class, as the report counts it */
                labels[i] = report_label_class(r, d->y, i, cols, d->y_cols) == k;
            rc = add_curve(p, kinds[q], r, k, pred, cols, labels, scores, d->rows, x, y, err);
        }
    }
    if (!rc && o->output)
        rc = draw_file(f, o->output, err);
    else if (!rc)
        draw_terminal(f);
    for (int i = 0; f && i < f->n; i++)
        for (int k = 0; k < f->p[i].n; k++)
            free(f->p[i].s[k]);
    free(f), free(labels), free(scores), free(x), free(y);
    return rc;
}

static int plot_model(const options *o, nnk_model *m, const nnk_dataset *d, nnk_err *err)
{
    int64_t cols = 0;
    float *pred = NULL;
    class_report r;
    int rc = report_for_model(m, d, o->batch_size ? o->batch_size : 256, &r, &pred, &cols, err);
    if (rc)
        return rc;
    if (o->confusion && o->output)
        rc = draw_confusion_file(&r, o->normalize, o->output, err);
    else if (o->confusion)
        report_write_text(&r, stdout);
    else
        rc = curves(o, &r, pred, cols, d, err);
    report_free(&r);
    free(pred);
    return rc;
}

int cmd_plot_classes(const options *o)
{
    nnk_err err = {NNK_OK, ""};
    if (o->n_files != 1)
        return usage_error("plot", "%s", "--confusion, --roc and --pr take one MODEL.nnk");
    if (!o->data)
        return usage_error("plot", "%s", "missing --data SPEC (the labelled rows to judge the model on)");
    if (o->confusion && (o->roc || o->pr))
        return usage_error("plot", "%s", "--confusion draws a picture of its own; --roc and --pr go together");
    nnk_set_threads(o->threads);
    nnk_registry *reg = load_registry(o, &err);
    nnk_model *m = reg ? nnk_model_load(reg, o->files[0], &err) : NULL;
    nnk_dataset *d = m ? load_for_model(m, o->data, o, 1, &err) : NULL;
    if (d)
        plot_model(o, m, d, &err);
    nnk_dataset_free(d);
    nnk_model_free(m);
    nnk_registry_free(reg);
    if (err.status)
        return fail(&err);
    if (o->output)
        printf("plot: wrote %s\n", o->output);
    return 0;
}
