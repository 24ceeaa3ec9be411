/* nnkit predict --classes [--top K]: per row the predicted class index,
 * its name and its probability (Keras's argmax over predict's output), or
 * the K most probable, best first. */
#include "runner.h"
#include <stdlib.h>
#include <string.h>

/* The one output's activation (softmax, sigmoid, ...), or NULL. */
static const char *output_activation(const nnk_model *m, const char *output)
{
    for (int i = 0; i < nnk_model_layer_count(m); i++) {
        nnk_layer_info li;
        nnk_model_layer(m, i, &li);
        if (!strcmp(li.name, output))
            return li.activation;
    }
    return NULL;
}

int write_class_predictions(FILE *f, const nnk_model *m, const float *out, int64_t rows, int64_t cols, int64_t top,
                            nnk_err *err)
{
    const char *names[NNK_MAX_OUTPUTS];
    int64_t widths[NNK_MAX_OUTPUTS];
    if (nnk_model_outputs(m, names, widths, NNK_MAX_OUTPUTS) != 1)
        return nnk_err_set(err, NNK_EUSAGE, "predict --classes: the model has several outputs; use plain predict");
    const char *act = output_activation(m, names[0]);
    int binary = cols == 1 && act && !strcmp(act, "sigmoid");
    if (cols == 1 && !binary)
        return nnk_err_set(err, NNK_EUSAGE,
                           "predict --classes: output '%s' is no classifier (a softmax over several units, or one sigmoid unit)",
                           names[0]);
    int64_t n_classes = binary ? 2 : cols, k_max = top > 0 ? (top < n_classes ? top : n_classes) : 1;
    for (int64_t k = 0; k < k_max; k++) {
        if (k_max == 1)
            fprintf(f, "class,name,probability");
        else
            fprintf(f, "%sclass_%lld,name_%lld,probability_%lld", k ? "," : "", (long long)k + 1, (long long)k + 1,
                    (long long)k + 1);
    }
    fputc('\n', f);
    int64_t *order = malloc(sizeof(int64_t) * (size_t)n_classes);
    float *p = malloc(sizeof(float) * (size_t)n_classes);
    if (!order || !p) {
        free(order);
        free(p);
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    for (int64_t r = 0; r < rows; r++) {
        if (binary) {
            p[1] = out[r];
            p[0] = 1 - out[r];
        } else {
            memcpy(p, out + r * cols, sizeof(float) * (size_t)cols);
        }
        /* the K best by probability, ties to the lower index (argmax's) */
        for (int64_t j = 0; j < n_classes; j++)
            order[j] = j;
        for (int64_t k = 0; k < k_max; k++)
            for (int64_t j = k + 1; j < n_classes; j++)
                if (p[order[j]] > p[order[k]] || (p[order[j]] == p[order[k]] && order[j] < order[k])) {
                    int64_t t = order[k];
                    order[k] = order[j];
                    order[j] = t;
                }
        for (int64_t k = 0; k < k_max; k++) {
            const char *name = nnk_model_class_name(m, order[k]);
            char idx[32];
            snprintf(idx, sizeof idx, "%lld", (long long)order[k]);
            char prob[32]; /* the shortest text that reads back to the same float */
            nnk_format_float(p[order[k]], prob, sizeof prob);
            fprintf(f, "%s%lld,%s,%s", k ? "," : "", (long long)order[k], name ? name : idx, prob);
        }
        fputc('\n', f);
    }
    free(order);
    free(p);
    return NNK_OK;
}
