/* Built-in metrics, streamed over batches: the accuracies and errors (a
 * running sum and a count) here; the classification metrics in
 * confusion.c, auc.c, fscore.c and topk.c. */
#include "metrics.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const nnk_host *metrics_host;

typedef struct threshold_config {
    double threshold;
} threshold_config;

static const nnk_param_spec no_params[] = {{NULL, 0, NULL, 0, 0, NULL, NULL, 0}};
static const nnk_param_spec binary_params[] = {{"threshold", NNK_PARAM_FLOAT, "0.5", -1e30, 1e30, NULL,
                                                "a prediction above it counts as 1",
                                                offsetof(threshold_config, threshold)},
                                               {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

static int64_t argmax(const float *v, int64_t n)
{
    int64_t k = 0;
    for (int64_t j = 1; j < n; j++)
        if (v[j] > v[k])
            k = j;
    return k;
}

static void binary_update(const void *cfg, void *state, const float *p, const float *y, int64_t rows, int64_t cols)
{
    mean_state *s = state;
    double t = ((const threshold_config *)cfg)->threshold;
    for (int64_t i = 0; i < rows * cols; i++)
        s->sum += ((p[i] > t) == (y[i] > t));
    s->count += (double)(rows * cols);
}

static void categorical_update(const void *cfg, void *state, const float *p, const float *y, int64_t rows, int64_t cols)
{
    (void)cfg;
    mean_state *s = state;
    for (int64_t r = 0; r < rows; r++)
        s->sum += argmax(p + r * cols, cols) == argmax(y + r * cols, cols);
    s->count += (double)rows;
}

static void sparse_update(const void *cfg, void *state, const float *p, const float *y, int64_t rows, int64_t cols)
{
    (void)cfg;
    mean_state *s = state;
    for (int64_t r = 0; r < rows; r++)
        s->sum += (float)argmax(p + r * cols, cols) == y[r];
    s->count += (double)rows;
}

static void mse_update(const void *cfg, void *state, const float *p, const float *y, int64_t rows, int64_t cols)
{
    (void)cfg;
    mean_state *s = state;
    for (int64_t i = 0; i < rows * cols; i++)
        s->sum += ((double)p[i] - y[i]) * ((double)p[i] - y[i]);
    s->count += (double)(rows * cols);
}

static void mae_update(const void *cfg, void *state, const float *p, const float *y, int64_t rows, int64_t cols)
{
    (void)cfg;
    mean_state *s = state;
    for (int64_t i = 0; i < rows * cols; i++)
        s->sum += fabs((double)p[i] - y[i]);
    s->count += (double)(rows * cols);
}

double metrics_mean_result(const void *cfg, const void *state)
{
    (void)cfg;
    const mean_state *s = state;
    return s->count > 0 ? s->sum / s->count : 0.0;
}

/* Every built-in metric keeps sums (mean_state), so it works in
 * data-parallel training. */
static const nnk_metric_sums sums = {sizeof(nnk_metric_sums)};

const void *metrics_extension(const char *name, const metric_caps *caps)
{
    if (!strcmp(name, NNK_CAP_DP_SUMS))
        return &sums;
    if (!strcmp(name, NNK_CAP_METRIC_DIRECTION))
        return &caps->direction;
    if (!strcmp(name, NNK_CAP_METRIC_BIND))
        return caps->bind;
    return !strcmp(name, NNK_CAP_METRIC_VALUES) ? caps->values : NULL;
}

int64_t metric_label_class(const metric_shape *s, const float *y, int64_t r)
{
    if (s->label_cols != s->cols)
        return y[r] >= 0 && y[r] < (float)s->cols && y[r] == floorf(y[r]) ? (int64_t)y[r] : -1;
    return argmax(y + r * s->cols, s->cols);
}

int metric_threshold(const char *text, const char *param, double fallback, double lo, int lo_open, double hi,
                     double *out, nnk_err *err)
{
    if (!text || !*text) {
        *out = fallback;
        return NNK_OK;
    }
    char *end;
    double v = strtod(text, &end);
    while (*end == ' ')
        end++;
    if (end == text || *end || !(lo_open ? v > lo : v >= lo) || !(v <= hi))
        return metrics_host->err_set(err, NNK_ECONFIG, "%s must be one number in %s%g, %g], got '%.40s'", param,
                                     lo_open ? "(" : "[", lo, hi, text);
    *out = v;
    return NNK_OK;
}

int metric_threshold_list(const char *text, const char *param, double fallback, double *out, int max, int *n,
                          nnk_err *err)
{
    *n = 0;
    if (!text || !*text) {
        out[(*n)++] = fallback;
        return NNK_OK;
    }
    for (const char *p = text;; p++) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char one[64];
        while (len && *p == ' ')
            p++, len--;
        if (*n >= max)
            return metrics_host->err_set(err, NNK_ECONFIG, "%s holds more than %d values", param, max);
        if (len >= sizeof one)
            return metrics_host->err_set(err, NNK_ECONFIG, "%s: '%.40s...' is not a number", param, p);
        memcpy(one, p, len);
        one[len] = 0;
        while (len && one[len - 1] == ' ')
            one[--len] = 0;
        if (!*one)
            return metrics_host->err_set(err, NNK_ECONFIG, "%s has an empty value in '%.60s'", param, text);
        double v = 0;
        int rc = metric_threshold(one, param, NAN, 0, 0, 1, &v, err);
        if (rc)
            return rc;
        for (int i = 0; i < *n; i++)
            if (out[i] == v)
                return metrics_host->err_set(err, NNK_ECONFIG, "%s holds %g twice", param, v);
        out[(*n)++] = v;
        if (!end)
            return NNK_OK;
        p = end;
    }
}

void metric_number_suffix(double v, char *buf, size_t n)
{
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, n, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

#define METRIC(var, nm, doc_text, prm, fn, higher)                                                                     \
    METRIC_CAPS(var, NULL, NULL, higher)                                                                               \
    static const nnk_metric_vtable var = {                                                                             \
        .struct_size = sizeof(nnk_metric_vtable),                                                                      \
        .name = nm,                                                                                                    \
        .doc = doc_text,                                                                                               \
        .params = prm,                                                                                                 \
        .config_size = sizeof(threshold_config),                                                                       \
        .state_size = sizeof(mean_state),                                                                              \
        .update = fn,                                                                                                  \
        .result = metrics_mean_result,                                                                                 \
        .extension = var##_extension,                                                                                  \
    };

METRIC(binary_acc, "binary_accuracy", "share of outputs on the right side of the threshold", binary_params,
       binary_update, 1)
METRIC(categorical_acc, "categorical_accuracy", "share of rows whose argmax matches the one-hot label", no_params,
       categorical_update, 1)
METRIC(sparse_acc, "sparse_categorical_accuracy", "share of rows whose argmax equals the class index", no_params,
       sparse_update, 1)
METRIC(mse_metric, "mse", "mean squared error", no_params, mse_update, 0)
METRIC(mae_metric, "mae", "mean absolute error", no_params, mae_update, 0)

static const nnk_metric_vtable *const metrics[] = {&binary_acc,
                                                   &categorical_acc,
                                                   &sparse_acc,
                                                   &mse_metric,
                                                   &mae_metric,
                                                   &metric_precision,
                                                   &metric_recall,
                                                   &metric_true_positives,
                                                   &metric_false_positives,
                                                   &metric_true_negatives,
                                                   &metric_false_negatives,
                                                   &metric_auc,
                                                   &metric_f1_score,
                                                   &metric_fbeta_score,
                                                   &metric_top_k_categorical_accuracy,
                                                   &metric_sparse_top_k_categorical_accuracy,
                                                   NULL};

static const nnk_plugin metrics_plugin = {
    .struct_size = sizeof(nnk_plugin),
    .abi_major = NNK_ABI_MAJOR,
    .abi_minor = NNK_ABI_MINOR,
    .name = "nnkit-metrics",
    .version = "0.2.0",
    .doc = "Built-in metrics. 'accuracy' picks binary, categorical or sparse from the loss.",
    .metrics = metrics,
};

static const nnk_plugin *plugin_init(const nnk_host *host, nnk_err *err)
{
    (void)err;
    metrics_host = host;
    return &metrics_plugin;
}

NNK_PLUGIN(plugin_init);
