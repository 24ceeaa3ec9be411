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

/* The extension of every built-in metric (dp.sums), and of those that also
 * bind to the output's shape. */
const void *metrics_sums_extension(const char *name);
const void *metrics_bound_extension(const char *name, const nnk_metric_bind *bind);

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

extern const nnk_metric_vtable metric_precision, metric_recall, metric_true_positives, metric_false_positives,
    metric_true_negatives, metric_false_negatives, metric_auc, metric_f1_score, metric_fbeta_score,
    metric_top_k_categorical_accuracy, metric_sparse_top_k_categorical_accuracy;
#endif
