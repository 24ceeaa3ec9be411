/* The CSV reader: any bytes give a data set of finite numbers with the
 * header's shape, or one clean error line. Text columns hold valid indices
 * of their texts, and one-hot encoding by a vocabulary fitted on the same
 * rows always succeeds, giving exactly one 1 per text cell (NaN blocks for
 * missing ones). The first input byte picks the
 * label columns asked for (none, the first, the last, two, or one that may
 * not exist). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static const char *const labels[] = {"", "a", "label", "a,b", "species"};
    const char *label = n ? labels[data[0] % 5] : "";
    const char *path = fuzz_path("data.csv");
    fuzz_write(path, n ? data + 1 : data, n ? n - 1 : 0);
    nnk_err err = {NNK_OK, ""};
    nnk_dataset *d = nnk_dataset_load_csv(path, label, "", &err);
    if (!d) {
        fuzz_check_error(&err, err.status);
        return 0;
    }
    if (d->rows < 1 || d->x_cols < 1 || d->x_shape.ndim != 1 || d->x_shape.dim[0] != d->x_cols || !d->x_f32)
        abort();
    for (int64_t k = 0; k < d->n_text; k++) {
        const nnk_text_column *t = &d->text[k];
        if (t->feature < 0 || t->feature >= d->x_cols || (k && t->feature <= d->text[k - 1].feature))
            abort();
        for (int64_t r = 0; r < d->rows; r++) {
            float v = d->x_f32[r * d->x_cols + t->feature];
            if (v == v && !(v >= 0 && v < (float)t->n_values && v == (float)(int64_t)v))
                abort();
        }
    }
    /* before encoding: the raw cells, and for each text column which texts
     * occur (the vocabulary's width) and each text's rank among them */
    int64_t raw = d->x_cols, n_text = d->n_text, total = 0;
    for (int64_t k = 0; k < n_text; k++)
        total += d->text[k].n_values;
    float *cells = malloc(sizeof(float) * (size_t)(d->rows * raw));
    int64_t *rank = calloc((size_t)(total + 1), sizeof(int64_t)), *width = calloc((size_t)(n_text + 1), sizeof(int64_t)),
            *feature = calloc((size_t)(n_text + 1), sizeof(int64_t)), *first = calloc((size_t)(n_text + 1), sizeof(int64_t));
    memcpy(cells, d->x_f32, sizeof(float) * (size_t)(d->rows * raw));
    for (int64_t k = 0, base = 0; k < n_text; base += d->text[k++].n_values) {
        const nnk_text_column *t = &d->text[k];
        feature[k] = t->feature;
        first[k] = base; /* where its texts' ranks start */
        char *there = calloc((size_t)t->n_values + 1, 1);
        for (int64_t r = 0; r < d->rows; r++) {
            float v = cells[r * raw + t->feature];
            if (v == v)
                there[(int64_t)v] = 1;
        }
        for (int64_t i = 0; i < t->n_values; i++) {
            width[k] += there[i];
            for (int64_t j = 0; j < t->n_values; j++)
                rank[base + i] += there[j] && strcmp(t->values[j], t->values[i]) < 0;
        }
        free(there);
    }
    nnk_model *m = nnk_model_new(fuzz_registry());
    if (nnk_model_fit_categories(m, d, "error", &err)) {
        fuzz_check_error(&err, err.status); /* too many texts, or a column with none in its rows */
    } else {
        if (nnk_model_encode_categories(m, d, &err) || d->n_text)
            abort();
        int64_t out = 0;
        for (int64_t r = 0; r < d->rows; r++)
            for (int64_t f = 0, k = 0; f < raw; f++) {
                float v = cells[r * raw + f];
                if (k < n_text && feature[k] == f) { /* one-hot: the 1 at the text's rank among those present */
                    for (int64_t j = 0; j < width[k]; j++, out++) {
                        float e = d->x_f32[out];
                        if (v != v ? e == e : e != (j == rank[first[k] + (int64_t)v] ? 1.0f : 0.0f))
                            abort();
                    }
                    k++;
                } else if (!(d->x_f32[out] == v || (v != v && d->x_f32[out] != d->x_f32[out]))) {
                    abort();
                } else {
                    out++;
                }
            }
        if (out != d->rows * d->x_cols)
            abort();
        d->n_missing = 0; /* a missing text is a NaN block now */
        for (int64_t i = 0; i < d->rows * d->x_cols; i++)
            d->n_missing += d->x_f32[i] != d->x_f32[i];
    }
    free(cells);
    free(rank);
    free(width);
    free(feature);
    free(first);
    nnk_model_free(m);
    fuzz_check_finite_and_free(d);
    return 0;
}
