/* Histograms of weights (and optionally gradients and activations on a
 * fixed training sample), and the embedding projector's files. */
#include "tensorboard.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 30

/* A sample row holds every input's values, one input after another. */
static int64_t input_cols(const nnk_model_view *m)
{
    nnk_shape s;
    int64_t n = 0;
    for (int i = 0; tb_host->model_input(m, i, NULL, &s) == 0; i++)
        n += nnk_shape_elements(&s);
    return n;
}

static int weight_histograms(tb_state *s, const nnk_train_info *info, int grads, nnk_err *err)
{
    int n = tb_host->model_layer_count(info->model);
    char tag[300];
    for (int i = 0; i < n; i++) {
        nnk_layer_info li;
        tb_host->model_layer(info->model, i, &li);
        for (int w = 0; w < li.n_weights; w++) {
            const nnk_tensor *t = grads ? &li.weights[w].grad : &li.weights[w].value;
            snprintf(tag, sizeof tag, "%s/%s%s", li.name, li.weights[w].name, grads ? "/gradient" : "");
            int rc = nnk_tb_histogram(s->train, tag, t->data, nnk_tensor_elements(t), BUCKETS, info->epoch, -1, err);
            if (rc)
                return rc;
        }
    }
    return NNK_OK;
}

/* Gradients and activations on the first rows of the training data. */
static int sample_histograms(tb_state *s, const nnk_train_info *info, nnk_err *err)
{
    int64_t rows = tb_host->model_rows(info->model, NNK_SPLIT_TRAIN);
    rows = rows < s->c->histogram_samples ? rows : s->c->histogram_samples;
    int64_t xc = input_cols(info->model), yc = tb_host->model_label_cols(info->model);
    float *x = malloc(sizeof(float) * (size_t)(rows * xc + 1));
    float *y = malloc(sizeof(float) * (size_t)(rows * yc + 1));
    int rc = (!x || !y) ? tb_host->err_set(err, NNK_ENOMEM, "out of memory") : NNK_OK;
    if (!rc)
        rc = tb_host->model_sample(info->model, NNK_SPLIT_TRAIN, 0, rows, x, y, err);
    if (!rc && s->c->write_gradients) {
        rc = tb_host->model_gradients(info->model, x, y, rows, err);
        if (!rc)
            rc = weight_histograms(s, info, 1, err);
    }
    int n = tb_host->model_layer_count(info->model);
    for (int i = 0; !rc && s->c->write_activations && i < n; i++) {
        nnk_layer_info li;
        tb_host->model_layer(info->model, i, &li);
        int64_t cols = nnk_shape_elements(&li.output);
        float *out = malloc(sizeof(float) * (size_t)(rows * cols + 1));
        char tag[300];
        snprintf(tag, sizeof tag, "%s/activation", li.name);
        rc = !out ? tb_host->err_set(err, NNK_ENOMEM, "out of memory")
                  : tb_host->model_layer_output(info->model, x, rows, i, out, err);
        if (!rc)
            rc = nnk_tb_histogram(s->train, tag, out, rows * cols, BUCKETS, info->epoch, -1, err);
        free(out);
    }
    free(x);
    free(y);
    return rc;
}

int tb_write_histograms(tb_state *s, const nnk_train_info *info, nnk_err *err)
{
    int rc = weight_histograms(s, info, 0, err);
    if (!rc && (s->c->write_gradients || s->c->write_activations))
        rc = sample_histograms(s, info, err);
    return rc;
}

/* Before training: the layer exists, the data is there and big enough. */
int tb_check_embeddings(tb_state *s, const nnk_train_info *info, nnk_err *err)
{
    const tb_config *c = s->c;
    if (c->embeddings_freq == 0)
        return NNK_OK;
    int n = tb_host->model_layer_count(info->model);
    nnk_layer_info li;
    s->emb_layer = -1;
    if (*c->embeddings_layer) {
        char names[1024] = "";
        for (int i = 0; i < n; i++) {
            tb_host->model_layer(info->model, i, &li);
            if (!strcmp(li.name, c->embeddings_layer))
                s->emb_layer = i;
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", li.name);
        }
        if (s->emb_layer < 0)
            return tb_host->err_set(err, NNK_ECONFIG,
                                    "callback 'tensorboard': embeddings_layer '%s' is not a layer of the model; layers: %s",
                                    c->embeddings_layer, names);
    } else {
        /* the last hidden layer: what feeds the output layer */
        tb_host->model_layer(info->model, n - 1, &li);
        s->emb_layer = n - 1;
        for (int i = 0; i < n - 1; i++) {
            nnk_layer_info lh;
            tb_host->model_layer(info->model, i, &lh);
            if (li.n_inputs > 0 && !strcmp(lh.name, li.inputs[0]))
                s->emb_layer = i;
        }
    }
    static const nnk_split order[3] = {NNK_SPLIT_TEST, NNK_SPLIT_VALIDATION, NNK_SPLIT_TRAIN};
    static const char *const split_names[3] = {"train", "validation", "test"};
    int first = !strcmp(c->embeddings_data, "test") ? 0 : !strcmp(c->embeddings_data, "validation") ? 1 : 2;
    s->emb_split = order[first];
    for (int k = first; k < 3; k++) /* documented fallback: the next split that exists */
        if (tb_host->model_rows(info->model, order[k]) > 0) {
            s->emb_split = order[k];
            break;
        }
    int64_t rows = tb_host->model_rows(info->model, s->emb_split);
    if (!c->embeddings_samples) { /* the default adapts to small data */
        s->emb_rows = rows < 1000 ? rows : 1000;
        return NNK_OK;
    }
    if (c->embeddings_samples > rows)
        return tb_host->err_set(err, NNK_ECONFIG,
                                "callback 'tensorboard': embeddings_samples is %lld but the %s data has %lld rows",
                                (long long)c->embeddings_samples, split_names[s->emb_split], (long long)rows);
    s->emb_rows = c->embeddings_samples;
    return NNK_OK;
}

static int64_t label_of(const float *y, int64_t yc)
{
    if (yc == 1)
        return (int64_t)y[0];
    int64_t k = 0;
    for (int64_t j = 1; j < yc; j++)
        if (y[j] > y[k])
            k = j;
    return k;
}

int tb_write_embeddings(tb_state *s, const nnk_train_info *info, nnk_err *err)
{
    if (s->emb_layer < 0)
        return NNK_OK;
    nnk_layer_info li;
    tb_host->model_layer(info->model, s->emb_layer, &li);
    int64_t rows = s->emb_rows, xc = input_cols(info->model), dims = nnk_shape_elements(&li.output);
    int64_t yc = tb_host->model_label_cols(info->model);
    int iw = 0, ih = 0, images = tb_image_shape(info->model, &iw, &ih);
    float *x = malloc(sizeof(float) * (size_t)(rows * xc));
    float *y = malloc(sizeof(float) * (size_t)(rows * (yc ? yc : 1)));
    float *v = malloc(sizeof(float) * (size_t)(rows * dims));
    char *text = malloc((size_t)rows * 96);
    const char **cells = malloc(sizeof(char *) * (size_t)rows * 2);
    uint8_t *px = images ? malloc((size_t)(rows * xc)) : NULL;
    int rc = (!x || !y || !v || !text || !cells || (images && !px))
                 ? tb_host->err_set(err, NNK_ENOMEM, "out of memory") : NNK_OK;
    if (!rc)
        rc = tb_host->model_sample(info->model, s->emb_split, 0, rows, x, y, err);
    if (!rc)
        rc = tb_host->model_layer_output(info->model, x, rows, s->emb_layer, v, err);
    int have_names = tb_host->model_class_name(info->model, 0) != NULL;
    for (int64_t r = 0; !rc && yc && r < rows; r++) {
        int64_t k = label_of(y + r * yc, yc);
        const char *name = tb_host->model_class_name(info->model, k);
        char *label = text + r * 96;
        snprintf(label, 32, "%lld", (long long)k);
        cells[r * (have_names ? 2 : 1)] = label;
        if (have_names)
            cells[r * 2 + 1] = name ? name : "";
    }
    if (!rc && images) {
        float lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < rows * xc; i++) {
            lo = x[i] < lo ? x[i] : lo;
            hi = x[i] > hi ? x[i] : hi;
        }
        for (int64_t i = 0; i < rows * xc; i++) {
            float t = hi > lo ? (x[i] - lo) / (hi - lo) : 0;
            px[i] = (uint8_t)(t * 255 + 0.5f);
        }
    }
    if (!rc) {
        static const char *const columns[2] = {"label", "class"};
        nnk_tb_embedding e = {li.name, v, rows, dims, columns, have_names ? 2 : 1,
                              yc ? cells : NULL, px, iw, ih};
        char dir[PATH_MAX + 8];
        snprintf(dir, sizeof dir, "%s/train", s->root);
        rc = nnk_tb_projector(dir, &e, err);
        s->last_embedding_epoch = info->epoch;
    }
    free(x), free(y), free(v), free(text), free(cells), free(px);
    return rc;
}
