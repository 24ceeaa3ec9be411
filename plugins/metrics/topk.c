/* top_k_categorical_accuracy and sparse_top_k_categorical_accuracy: the
 * share of rows whose label's class is among the k largest predictions,
 * as Keras's in_top_k (TensorFlow's): a class is in when fewer than k
 * predictions are strictly larger than its own, so classes tied at the
 * boundary are all in; a non-finite prediction of the label's class is
 * not. The label's class is an index (sparse labels) or its one-hot
 * row's first largest entry. */
#include "metrics.h"
#include <math.h>

typedef struct topk_config {
    int64_t k;
    metric_shape shape; /* bound */
} topk_config;

static const nnk_param_spec topk_params[] = {
    {"k", NNK_PARAM_INT, "5", 1, 1048576, NULL, "how many of the largest predictions count", offsetof(topk_config, k)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

static int topk_bind(void *config, int64_t cols, int64_t label_cols, size_t *state_size, nnk_err *err)
{
    (void)err;
    topk_config *c = config;
    c->shape = (metric_shape){cols, label_cols};
    *state_size = sizeof(mean_state);
    return NNK_OK;
}

static void topk_update(const void *config, void *state, const float *pred, const float *y, int64_t rows, int64_t cols)
{
    const topk_config *c = config;
    mean_state *s = state;
    for (int64_t r = 0; r < rows; r++) {
        int64_t target = metric_label_class(&c->shape, y, r), larger = 0;
        const float *p = pred + r * cols;
        if (target < 0 || target >= cols || !isfinite(p[target])) {
            s->count += 1;
            continue;
        }
        for (int64_t j = 0; j < cols; j++)
            larger += p[j] > p[target];
        s->sum += larger < c->k;
        s->count += 1;
    }
}

static const nnk_metric_bind topk_binding = {sizeof(nnk_metric_bind), topk_bind};
METRIC_CAPS(topk, &topk_binding, NULL, 1)

#define TOPK_METRIC(var, nm, doc_text)                                                                                 \
    const nnk_metric_vtable var = {                                                                                    \
        .struct_size = sizeof(nnk_metric_vtable),                                                                      \
        .name = nm,                                                                                                    \
        .doc = doc_text,                                                                                               \
        .params = topk_params,                                                                                         \
        .config_size = sizeof(topk_config),                                                                            \
        .state_size = sizeof(mean_state),                                                                              \
        .update = topk_update,                                                                                         \
        .result = metrics_mean_result,                                                                                 \
        .extension = topk_extension,                                                                                   \
    };

TOPK_METRIC(metric_top_k_categorical_accuracy, "top_k_categorical_accuracy",
            "share of rows whose one-hot label is among the k largest predictions")
TOPK_METRIC(metric_sparse_top_k_categorical_accuracy, "sparse_top_k_categorical_accuracy",
            "share of rows whose class index is among the k largest predictions")
