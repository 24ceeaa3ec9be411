/* PR curves for TensorBoard's PR Curves dashboard, as its pr_curve
 * summary's pb() writes them (FORMAT.md 4.7): each prediction falls in
 * bucket floor(p (T - 1)), in float (predictions outside [0, 1] in none);
 * at threshold i, TP and FP count the buckets from i up, TN and FN the
 * rest; precision = TP / max(1e-7, TP + FP) and recall = TP / max(1e-7,
 * TP + FN), in double; all six rows stored as a float [6, T] tensor, tag
 * NAME/pr_curves, display name NAME. */
#include "internal.h"
#include "pr_curve.pb-c.h"
#include "tensor.pb-c.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The [6, t] rows from n labels and predictions, into rows. */
static void pr_rows(const uint8_t *labels, const float *predictions, int64_t n, int t, float *rows)
{
    double *tp = calloc((size_t)t * 2, sizeof(double)), *fp = tp + t;
    for (int64_t i = 0; i < n; i++) {
        float b = floorf(predictions[i] * (float)(t - 1));
        if (b >= 0 && b <= (float)(t - 1)) /* NaN fails both */
            (labels[i] ? tp : fp)[(int)b] += 1;
    }
    for (int i = t - 2; i >= 0; i--) { /* counts at or above each threshold */
        tp[i] += tp[i + 1];
        fp[i] += fp[i + 1];
    }
    for (int i = 0; i < t; i++) {
        double tn = fp[0] - fp[i], fn = tp[0] - tp[i];
        float *col = rows + i;
        col[0] = (float)tp[i];
        col[t] = (float)fp[i];
        col[2 * t] = (float)tn;
        col[3 * t] = (float)fn;
        col[4 * t] = (float)(tp[i] / fmax(1e-7, tp[i] + fp[i]));
        col[5 * t] = (float)(tp[i] / fmax(1e-7, tp[i] + fn));
    }
    free(tp);
}

int nnk_tb_pr_curve(nnk_tb_writer *w, const char *name, const uint8_t *labels, const float *predictions, int64_t n,
                    int num_thresholds, const char *description, int64_t step, double wall_time, nnk_err *err)
{
    if (num_thresholds < 2 || num_thresholds > 1000000 || n < 0)
        return tb_err(err, NNK_EUSAGE, "pr curve '%s': num_thresholds must be 2 to 1000000, got %d", name,
                      num_thresholds);
    float *rows = malloc(sizeof(float) * 6 * (size_t)num_thresholds);
    char *tag = malloc(strlen(name) + sizeof "/pr_curves");
    uint8_t content[16];
    if (!rows || !tag) {
        free(rows), free(tag);
        return tb_err(err, NNK_ENOMEM, "out of memory");
    }
    pr_rows(labels, predictions, n, num_thresholds, rows);
    strcpy(tag, name);
    strcat(tag, "/pr_curves");
    Tensorboard__PrCurvePluginData data = TENSORBOARD__PR_CURVE_PLUGIN_DATA__INIT;
    data.num_thresholds = (uint32_t)num_thresholds;
    size_t content_len = tensorboard__pr_curve_plugin_data__pack(&data, content);
    tb_matrix m;
    tb_matrix_init(&m, 6, num_thresholds, DT_FLOAT, rows, sizeof(float) * 6 * (size_t)num_thresholds);
    Tensorboard__SummaryMetadata md = TENSORBOARD__SUMMARY_METADATA__INIT;
    Tensorboard__SummaryMetadata__PluginData pd = TENSORBOARD__SUMMARY_METADATA__PLUGIN_DATA__INIT;
    pd.plugin_name = "pr_curves";
    pd.content.data = content;
    pd.content.len = content_len;
    md.plugin_data = &pd;
    md.display_name = (char *)name;
    md.summary_description = (char *)(description ? description : "");
    int rc = tb_write_tensor(w, tag, &m.t, &md, step, wall_time, err);
    free(rows), free(tag);
    return rc;
}
