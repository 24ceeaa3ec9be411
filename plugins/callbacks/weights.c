/* Copies of every weight of the model (trainable and state), for
 * callbacks that restore an earlier epoch's weights. */
#include "callbacks.h"
#include <string.h>

static int64_t total_size(const nnk_train_info *info)
{
    int64_t n = 0;
    nnk_layer_info li;
    for (int i = 0; i < callbacks_host->model_layer_count(info->model); i++) {
        callbacks_host->model_layer(info->model, i, &li);
        for (int w = 0; w < li.n_weights; w++)
            n += nnk_tensor_elements(&li.weights[w].value);
    }
    return n;
}

int cb_snapshot_weights(const nnk_train_info *info, float **buf, int64_t *n, nnk_err *err)
{
    int64_t need = total_size(info);
    if (!*buf) {
        *buf = callbacks_host->alloc(sizeof(float) * (size_t)(need ? need : 1));
        if (!*buf)
            return callbacks_host->err_set(err, NNK_ENOMEM, "out of memory");
        *n = need;
    }
    int64_t o = 0;
    nnk_layer_info li;
    for (int i = 0; i < callbacks_host->model_layer_count(info->model); i++) {
        callbacks_host->model_layer(info->model, i, &li);
        for (int w = 0; w < li.n_weights; w++) {
            int64_t s = nnk_tensor_elements(&li.weights[w].value);
            memcpy(*buf + o, li.weights[w].value.data, sizeof(float) * (size_t)s);
            o += s;
        }
    }
    return NNK_OK;
}

void cb_restore_weights(const nnk_train_info *info, const float *buf)
{
    int64_t o = 0;
    nnk_layer_info li;
    for (int i = 0; i < callbacks_host->model_layer_count(info->model); i++) {
        callbacks_host->model_layer(info->model, i, &li);
        for (int w = 0; w < li.n_weights; w++) {
            int64_t s = nnk_tensor_elements(&li.weights[w].value);
            memcpy(li.weights[w].value.data, buf + o, sizeof(float) * (size_t)s);
            o += s;
        }
    }
}
