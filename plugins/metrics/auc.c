/* auc: the area under the ROC or precision-recall curve as Keras's AUC
 * computes it. num_thresholds thresholds: -1e-7, i / (num_thresholds - 1)
 * for i = 1 .. num_thresholds - 2, and 1 + 1e-7; a prediction counts as
 * positive above each. The state is, per threshold bucket, the positive
 * and negative labels whose prediction falls there (Keras's evenly spaced
 * shortcut: bucket ceil(p (T - 1)) - 1, at least 0, in float; beyond 1,
 * where Keras's shortcut has no bucket, p counts as a plain comparison
 * with the thresholds would count it); the counts at each threshold are sums over the
 * buckets at or above it. summation_method = interpolation (the default):
 * ROC sums trapezoids of TPR over FPR, PR uses Keras's interpolation
 * between thresholds (Davis and Goadrich); minoring and majoring sum
 * rectangles as high as the lower or the higher of each step's two ends
 * (TPR over FPR, or precision over recall). Without
 * multi_label every entry of every column joins one curve; with it, each
 * column has its own curve and the result is their mean. */
#include "metrics.h"
#include <math.h>
#include <string.h>

static const char *const curves[] = {"ROC", "PR", NULL};
static const char *const summations[] = {"interpolation", "minoring", "majoring", NULL};

typedef struct auc_config {
    const char *curve;
    const char *summation_method;
    int64_t num_thresholds;
    int multi_label, from_logits;
    metric_shape shape; /* bound */
} auc_config;

static const nnk_param_spec auc_params[] = {
    {"curve", NNK_PARAM_CHOICE, "ROC", 0, 0, curves, "ROC, or PR (precision against recall)",
     offsetof(auc_config, curve)},
    {"summation_method", NNK_PARAM_CHOICE, "interpolation", 0, 0, summations,
     "interpolation (trapezoids; PR: Davis and Goadrich's), minoring or majoring (the lower or higher end)",
     offsetof(auc_config, summation_method)},
    {"num_thresholds", NNK_PARAM_INT, "200", 2, 100000, NULL, "thresholds the curve is taken at",
     offsetof(auc_config, num_thresholds)},
    {"multi_label", NNK_PARAM_BOOL, "false", 0, 0, NULL, "a curve per column, averaged (false: one over all entries)",
     offsetof(auc_config, multi_label)},
    {"from_logits", NNK_PARAM_BOOL, "false", 0, 0, NULL, "predictions are logits: a sigmoid first",
     offsetof(auc_config, from_logits)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

/* State: for each curve (one, or one per column), positives[T] then
 * negatives[T], per bucket. */
static int64_t curve_count(const auc_config *c) { return c->multi_label ? c->shape.cols : 1; }

static int auc_bind(void *config, int64_t cols, int64_t label_cols, size_t *state_size, nnk_err *err)
{
    auc_config *c = config;
    c->shape = (metric_shape){cols, label_cols};
    int64_t doubles = 2 * c->num_thresholds * curve_count(c);
    if (doubles > ((int64_t)1 << 26))
        return metrics_host->err_set(err, NNK_ECONFIG, "num_thresholds %lld over %lld columns needs too much state",
                                     (long long)c->num_thresholds, (long long)cols);
    *state_size = sizeof(double) * (size_t)doubles;
    return NNK_OK;
}

static void auc_update(const void *config, void *state, const float *pred, const float *y, int64_t rows, int64_t cols)
{
    const auc_config *c = config;
    double *s = state;
    int64_t t = c->num_thresholds;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < cols; j++) {
            float p = pred[r * cols + j];
            if (c->from_logits)
                p = (float)(1 / (1 + exp(-(double)p)));
            if (isnan(p))
                continue; /* no bucket holds it */
            float b = ceilf(p * (float)(t - 1)) - 1;
            int64_t bucket = p > 1.0f + 1e-7f ? t - 1 : b > 0 ? (b < (float)(t - 2) ? (int64_t)b : t - 2) : 0;
            double *curve = s + (c->multi_label ? j : 0) * 2 * t;
            curve[(metric_label_is(&c->shape, y, r, j) ? 0 : t) + bucket] += 1;
        }
}

static double no_nan(double a, double b) { return b != 0 ? a / b : 0; }

/* One curve's area from its buckets. */
static double curve_area(const auc_config *c, const double *buckets)
{
    int64_t t = c->num_thresholds;
    const double *pos = buckets, *neg = buckets + t;
    double total_pos = 0, total_neg = 0;
    for (int64_t i = 0; i < t; i++)
        total_pos += pos[i], total_neg += neg[i];
    double tp = total_pos, fp = total_neg, area = 0; /* at threshold 0: every bucket */
    int roc = !strcmp(c->curve, "ROC"), interpolation = !strcmp(c->summation_method, "interpolation"),
        minoring = !strcmp(c->summation_method, "minoring");
    for (int64_t i = 0; i + 1 < t; i++) {
        double tp1 = tp - pos[i], fp1 = fp - neg[i]; /* at threshold i + 1 */
        if (!roc && interpolation) {
            double dtp = tp - tp1, p0 = tp + fp, p1 = tp1 + fp1, dp = p0 - p1;
            double slope = no_nan(dtp, dp > 0 ? dp : 0), intercept = tp1 - slope * p1;
            double ratio = p0 > 0 && p1 > 0 ? no_nan(p0, p1) : 1;
            double fn1 = total_pos - tp1;
            area += no_nan(slope * (dtp + intercept * log(ratio)), tp1 + fn1 > 0 ? tp1 + fn1 : 0);
        } else { /* x: FPR or recall; y: TPR (recall) or precision */
            double x0 = roc ? no_nan(fp, total_neg) : no_nan(tp, total_pos);
            double x1 = roc ? no_nan(fp1, total_neg) : no_nan(tp1, total_pos);
            double y0 = roc ? no_nan(tp, total_pos) : no_nan(tp, tp + fp);
            double y1 = roc ? no_nan(tp1, total_pos) : no_nan(tp1, tp1 + fp1);
            double height = interpolation ? (y0 + y1) / 2 : minoring ? fmin(y0, y1) : fmax(y0, y1);
            area += (x0 - x1) * height;
        }
        tp = tp1, fp = fp1;
    }
    return area;
}

static double auc_result(const void *config, const void *state)
{
    const auc_config *c = config;
    int64_t n = curve_count(c);
    double sum = 0;
    for (int64_t k = 0; k < n; k++)
        sum += curve_area(c, (const double *)state + k * 2 * c->num_thresholds);
    return n > 0 ? sum / (double)n : 0;
}

static const nnk_metric_bind auc_binding = {sizeof(nnk_metric_bind), auc_bind};
METRIC_CAPS(auc, &auc_binding, NULL, 1)

const nnk_metric_vtable metric_auc = {
    .struct_size = sizeof(nnk_metric_vtable),
    .name = "auc",
    .doc = "area under the ROC or PR curve over num_thresholds thresholds, as Keras's AUC",
    .params = auc_params,
    .config_size = sizeof(auc_config),
    .state_size = 0, /* set when bound */
    .update = auc_update,
    .result = auc_result,
    .extension = auc_extension,
};
