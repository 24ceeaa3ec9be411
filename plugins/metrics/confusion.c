/* Keras's confusion-matrix metrics: precision, recall and the four counts
 * (true_positives, ...) at one threshold, or at several, as Keras's list
 * of thresholds, which log one value each (nnkit.metric.values/1).
 * Labels count as positive where they are non-zero (Keras casts them to
 * bool; class indices count as one-hot); a prediction is positive above
 * the threshold. With top_k, only each row's k largest predictions stay
 * (ties to the lower column, as top_k sorts), the others become -1e10;
 * with class_id, only that column counts; else every entry does. */
#include "metrics.h"
#include <math.h>
#include <string.h>

#define NEG_INF -1e10 /* Keras's metrics_utils.NEG_INF */

#define MAX_THRESHOLDS NNK_MAX_METRIC_VALUES

typedef struct confusion_config {
    const char *thresholds;           /* "": 0.5, or NEG_INF with top_k */
    int64_t class_id;                 /* -1: every column */
    int64_t top_k;                    /* 0: every prediction */
    metric_shape shape;               /* bound */
    int n_thresholds;                 /* bound */
    double threshold[MAX_THRESHOLDS]; /* bound */
} confusion_config;

/* The state: one of these per threshold. */
typedef struct confusion_state {
    double tp, fp, tn, fn;
} confusion_state;

static const nnk_param_spec confusion_params[] = {
    {"thresholds", NNK_PARAM_STRING, "", 0, 0, NULL,
     "a prediction above it is positive (empty: 0.5, or any of the top k with top_k); several, comma-separated, "
     "log one value each",
     offsetof(confusion_config, thresholds)},
    {"class_id", NNK_PARAM_INT, "-1", -1, 1048576, NULL, "the one column that counts (-1: every column)",
     offsetof(confusion_config, class_id)},
    {"top_k", NNK_PARAM_INT, "0", 0, 1048576, NULL, "only each row's k largest predictions can be positive (0: all)",
     offsetof(confusion_config, top_k)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

static int confusion_bind(void *config, int64_t cols, int64_t label_cols, size_t *state_size, nnk_err *err)
{
    confusion_config *c = config;
    c->shape = (metric_shape){cols, label_cols};
    if (c->class_id >= cols)
        return metrics_host->err_set(err, NNK_ECONFIG, "class_id %lld is outside the output's %lld columns",
                                     (long long)c->class_id, (long long)cols);
    int rc = metric_threshold_list(c->thresholds, "thresholds", c->top_k ? NEG_INF : 0.5, c->threshold, MAX_THRESHOLDS,
                                   &c->n_thresholds, err);
    *state_size = sizeof(confusion_state) * (size_t)c->n_thresholds;
    return rc;
}

/* Whether column j is among the row's k largest predictions (ties to the
 * lower column, as top_k sorts them). */
static int in_top_k(const float *p, int64_t cols, int64_t k, int64_t j)
{
    int64_t above = 0; /* entries that top_k would place before j */
    for (int64_t i = 0; i < cols && above < k; i++)
        above += p[i] > p[j] || (p[i] == p[j] && i < j);
    return above < k;
}

static void confusion_update(const void *config, void *state, const float *pred, const float *y, int64_t rows,
                             int64_t cols)
{
    const confusion_config *c = config;
    confusion_state *s = state;
    int64_t j0 = c->class_id >= 0 ? c->class_id : 0, j1 = c->class_id >= 0 ? c->class_id + 1 : cols;
    for (int64_t r = 0; r < rows; r++) {
        const float *p = pred + r * cols;
        for (int64_t j = j0; j < j1; j++) {
            double v = c->top_k > 0 && !in_top_k(p, cols, c->top_k, j) ? NEG_INF : p[j];
            int label = metric_label_is(&c->shape, y, r, j);
            for (int t = 0; t < c->n_thresholds; t++) {
                confusion_state *st = &s[t];
                *(v > c->threshold[t] ? (label ? &st->tp : &st->fp) : (label ? &st->fn : &st->tn)) += 1;
            }
        }
    }
}

static double ratio(double a, double b) { return b != 0 ? a / b : 0; } /* Keras's divide_no_nan */

static double precision_of(const confusion_state *s) { return ratio(s->tp, s->tp + s->fp); }
static double recall_of(const confusion_state *s) { return ratio(s->tp, s->tp + s->fn); }
static double tp_of(const confusion_state *s) { return s->tp; }
static double fp_of(const confusion_state *s) { return s->fp; }
static double tn_of(const confusion_state *s) { return s->tn; }
static double fn_of(const confusion_state *s) { return s->fn; }

static int confusion_count(const void *config) { return ((const confusion_config *)config)->n_thresholds; }

/* A value's log suffix: its threshold (precision_0.3). */
static void confusion_suffix(const void *config, int i, char *buf, size_t n)
{
    metric_number_suffix(((const confusion_config *)config)->threshold[i], buf, n);
}

static const nnk_metric_bind confusion_binding = {sizeof(nnk_metric_bind), confusion_bind};

/* Each metric: its value at one threshold's counts, its result (the first
 * threshold's: the only one when result is used) and its values. */
#define CONFUSION_METRIC(var, nm, doc_text, of, higher)                                                                \
    static double var##_result(const void *config, const void *state) { return (void)config, of(state); }              \
    static void var##_results(const void *config, const void *state, double *values)                                   \
    {                                                                                                                  \
        const confusion_state *s = state;                                                                              \
        for (int t = 0; t < confusion_count(config); t++)                                                              \
            values[t] = of(&s[t]);                                                                                     \
    }                                                                                                                  \
    static const nnk_metric_values var##_values = {sizeof(nnk_metric_values), confusion_count, confusion_suffix,       \
                                                   var##_results};                                                     \
    METRIC_CAPS(var, &confusion_binding, &var##_values, higher)                                                        \
    const nnk_metric_vtable var = {                                                                                    \
        .struct_size = sizeof(nnk_metric_vtable),                                                                      \
        .name = nm,                                                                                                    \
        .doc = doc_text,                                                                                               \
        .params = confusion_params,                                                                                    \
        .config_size = sizeof(confusion_config),                                                                       \
        .state_size = sizeof(confusion_state),                                                                         \
        .update = confusion_update,                                                                                    \
        .result = var##_result,                                                                                        \
        .extension = var##_extension,                                                                                  \
    };

CONFUSION_METRIC(metric_precision, "precision", "true positives / predicted positives, as Keras's Precision",
                 precision_of, 1)
CONFUSION_METRIC(metric_recall, "recall", "true positives / actual positives, as Keras's Recall", recall_of, 1)
CONFUSION_METRIC(metric_true_positives, "true_positives", "the count of positive predictions of positive labels", tp_of,
                 1)
CONFUSION_METRIC(metric_false_positives, "false_positives", "the count of positive predictions of negative labels",
                 fp_of, 0)
CONFUSION_METRIC(metric_true_negatives, "true_negatives", "the count of negative predictions of negative labels", tn_of,
                 1)
CONFUSION_METRIC(metric_false_negatives, "false_negatives", "the count of negative predictions of positive labels",
                 fn_of, 0)
