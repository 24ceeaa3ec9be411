/* The built-in metrics plugin's shared parts: every metric keeps sums of
 * doubles, so it streams over batches and adds up across processes
 * (nnkit.dp.sums/1); the classification metrics size their state by the
 * output's shape (nnkit.metric.bind/1). */
#ifndef NNK_METRICS_H
#define NNK_METRICS_H
#include <nnkit/plugin.h>
#include <stdint.h>

extern const nnk_host *metrics_host; /* set by the plugin's init */

/* A running sum and a count; result sum / count. */
typedef struct mean_state {
    double sum, count;
} mean_state;
double metrics_mean_result(const void *config, const void *state);

/* What a built-in metric offers besides dp.sums (which all offer): bind
 * and values, either may be NULL, and its direction. */
typedef struct metric_caps {
    const nnk_metric_bind *bind;
    const nnk_metric_values *values;
    nnk_metric_direction direction;
} metric_caps;
const void *metrics_extension(const char *name, const metric_caps *caps);

/* A metric's caps, named prefix_caps, and its extension function,
 * prefix_extension. */
#define METRIC_CAPS(prefix, bind, values, higher)                                                                      \
    static const metric_caps prefix##_caps = {bind, values, {sizeof(nnk_metric_direction), higher}};                   \
    static const void *prefix##_extension(const char *name) { return metrics_extension(name, &prefix##_caps); }

/* An output's shape as bind saw it: cols columns, labels label_cols wide
 * (cols, or 1: class indices). */
typedef struct metric_shape {
    int64_t cols, label_cols;
} metric_shape;

/* Whether row r's label says class j (one-hot or multi-hot labels: a
 * non-zero entry; class indices: the index), as Keras casts labels to
 * bool. */
static inline int metric_label_is(const metric_shape *s, const float *y, int64_t r, int64_t j)
{
    if (s->label_cols == s->cols)
        return y[r * s->cols + j] != 0;
    return y[r] == (float)j;
}

/* The class row r's label names: an index, or the first largest entry. */
int64_t metric_label_class(const metric_shape *s, const float *y, int64_t r);

/* A threshold parameter's text (thresholds = 0.5): an empty text gives
 * fallback; else one number in [lo, hi] (lo_open: above lo). NNK_OK, or
 * NNK_ECONFIG with err naming the parameter. */
int metric_threshold(const char *text, const char *param, double fallback, double lo, int lo_open, double hi,
                     double *out, nnk_err *err);

/* A list of thresholds (thresholds = 0.3, 0.5, 0.7): an empty text gives
 * the one fallback; else 1 to max numbers in [0, 1], all different, as
 * Keras's metrics take them. *n gets how many. NNK_OK, or NNK_ECONFIG
 * with err naming the parameter. */
int metric_threshold_list(const char *text, const char *param, double fallback, double *out, int max, int *n,
                          nnk_err *err);

/* The shortest text of v that reads back as v (0.3, not 0.299999...):
 * the log suffix of a threshold's value. */
void metric_number_suffix(double v, char *buf, size_t n);

extern const nnk_metric_vtable metric_precision, metric_recall, metric_true_positives, metric_false_positives,
    metric_true_negatives, metric_false_negatives, metric_auc, metric_f1_score, metric_fbeta_score,
    metric_top_k_categorical_accuracy, metric_sparse_top_k_categorical_accuracy;
#endif
