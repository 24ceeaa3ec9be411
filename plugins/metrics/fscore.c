/* f1_score and fbeta_score as Keras's F1Score and FBetaScore: per class
 * the true and false positives, false negatives and support (the labels'
 * sum), streamed over batches; then F = (1 + beta^2) P R / (beta^2 P + R)
 * with Keras's divide_no_nan (0 where a denominator is 0). A prediction
 * is 1 above threshold, or, with none given, where it equals its row's
 * largest (ties make several). average: micro (the counts of every class
 * added first), macro (the mean over classes), weighted (by support), or
 * none: one value per class, each logged as <metric>_<class index>
 * (nnkit.metric.values/1). */
#include "metrics.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const averages[] = {"micro", "macro", "weighted", "none", NULL};

typedef struct fscore_config {
    const char *average;
    const char *threshold; /* "": the row's largest */
    double beta;
    metric_shape shape; /* bound */
    double cut;         /* bound: the threshold, or NAN for the row's largest */
} fscore_config;

#define AVERAGE_PARAM                                                                                                  \
    {                                                                                                                  \
        "average", NNK_PARAM_CHOICE, "micro", 0, 0, averages,                                                          \
            "micro, macro, weighted (by support) or none (per class)", offsetof(fscore_config, average)                \
    }
#define THRESHOLD_PARAM                                                                                                \
    {                                                                                                                  \
        "threshold", NNK_PARAM_STRING, "", 0, 0, NULL,                                                                 \
            "in (0, 1]: a prediction above it is 1 (empty: each row's largest is)", offsetof(fscore_config, threshold) \
    }

static const nnk_param_spec f1_params[] = {AVERAGE_PARAM, THRESHOLD_PARAM, {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};
static const nnk_param_spec fbeta_params[] = {AVERAGE_PARAM,
                                              THRESHOLD_PARAM,
                                              {"beta", NNK_PARAM_FLOAT, "1.0", 1e-12, 1e12, NULL,
                                               "weight of recall against precision", offsetof(fscore_config, beta)},
                                              {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

/* State: tp[c], fp[c], fn[c], support[c] for c classes. */
static int fscore_bind(void *config, int64_t cols, int64_t label_cols, size_t *state_size, nnk_err *err)
{
    fscore_config *c = config;
    c->shape = (metric_shape){cols, label_cols};
    if (!strcmp(c->average, "none") && cols > NNK_MAX_METRIC_VALUES)
        return metrics_host->err_set(err, NNK_ECONFIG, "average = none logs one value per class, at most %d, not %lld",
                                     NNK_MAX_METRIC_VALUES, (long long)cols);
    *state_size = sizeof(double) * 4 * (size_t)cols;
    return metric_threshold(c->threshold, "threshold", NAN, 0, 1, 1, &c->cut, err);
}

static void fscore_update(const void *config, void *state, const float *pred, const float *y, int64_t rows,
                          int64_t cols)
{
    const fscore_config *c = config;
    double *tp = state, *fp = tp + cols, *fn = fp + cols, *support = fn + cols;
    for (int64_t r = 0; r < rows; r++) {
        const float *p = pred + r * cols;
        float top = p[0];
        for (int64_t j = 1; j < cols; j++)
            top = p[j] > top ? p[j] : top;
        for (int64_t j = 0; j < cols; j++) {
            int one = isnan(c->cut) ? p[j] >= top : p[j] > c->cut;
            double label = c->shape.label_cols == cols ? y[r * cols + j] : metric_label_is(&c->shape, y, r, j);
            tp[j] += one * label;
            fp[j] += one * (1 - label);
            fn[j] += (1 - one) * label;
            support[j] += label;
        }
    }
}

static double no_nan(double a, double b) { return b != 0 ? a / b : 0; }

static double f_of(double tp, double fp, double fn, double beta)
{
    double p = no_nan(tp, tp + fp), r = no_nan(tp, tp + fn), b2 = beta * beta;
    return no_nan(p * r, b2 * p + r) * (1 + b2);
}

static double fscore_result(const void *config, const void *state)
{
    const fscore_config *c = config;
    int64_t n = c->shape.cols;
    const double *tp = state, *fp = tp + n, *fn = fp + n, *support = fn + n;
    double beta = c->beta > 0 ? c->beta : 1, sums[4] = {0, 0, 0, 0}, macro = 0, weighted = 0;
    for (int64_t j = 0; j < n; j++) {
        double f = f_of(tp[j], fp[j], fn[j], beta);
        sums[0] += tp[j], sums[1] += fp[j], sums[2] += fn[j], sums[3] += support[j];
        macro += f;
        weighted += f * support[j];
    }
    if (!strcmp(c->average, "micro"))
        return f_of(sums[0], sums[1], sums[2], beta);
    if (!strcmp(c->average, "macro") || !strcmp(c->average, "none")) /* none: one class, its F */
        return n > 0 ? macro / (double)n : 0;
    return no_nan(weighted, sums[3]);
}

/* average = none: a value per class, suffixed with its index. */
static int fscore_count(const void *config)
{
    const fscore_config *c = config;
    return strcmp(c->average, "none") ? 1 : (int)c->shape.cols;
}

static void fscore_suffix(const void *config, int i, char *buf, size_t n)
{
    (void)config;
    snprintf(buf, n, "%d", i);
}

static void fscore_results(const void *config, const void *state, double *values)
{
    const fscore_config *c = config;
    if (fscore_count(config) == 1) { /* an average, or the one class's F */
        values[0] = fscore_result(config, state);
        return;
    }
    int64_t n = c->shape.cols;
    const double *tp = state, *fp = tp + n, *fn = fp + n;
    for (int64_t j = 0; j < n; j++)
        values[j] = f_of(tp[j], fp[j], fn[j], c->beta > 0 ? c->beta : 1);
}

static const nnk_metric_bind fscore_binding = {sizeof(nnk_metric_bind), fscore_bind};
static const nnk_metric_values fscore_values = {sizeof(nnk_metric_values), fscore_count, fscore_suffix, fscore_results};
METRIC_CAPS(fscore, &fscore_binding, &fscore_values, 1)

const nnk_metric_vtable metric_f1_score = {
    .struct_size = sizeof(nnk_metric_vtable),
    .name = "f1_score",
    .doc = "harmonic mean of precision and recall per class, averaged, as Keras's F1Score",
    .params = f1_params,
    .config_size = sizeof(fscore_config),
    .update = fscore_update,
    .result = fscore_result,
    .extension = fscore_extension,
};

const nnk_metric_vtable metric_fbeta_score = {
    .struct_size = sizeof(nnk_metric_vtable),
    .name = "fbeta_score",
    .doc = "F-beta: recall weighted beta times precision, per class, averaged, as Keras's FBetaScore",
    .params = fbeta_params,
    .config_size = sizeof(fscore_config),
    .update = fscore_update,
    .result = fscore_result,
    .extension = fscore_extension,
};
