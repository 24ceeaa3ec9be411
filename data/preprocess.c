/* Missing-value fills and standardization, fitted on the training split
 * and kept by the model (nnk_model_set_fill, nnk_model_set_standardizer),
 * which applies them to every row it gathers. */
#include "data_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Column c's fill: the mean or median of the values present (0 when none). */
static float column_fill(const nnk_dataset *d, int64_t c, int median, float *present)
{
    int64_t n = 0;
    double sum = 0;
    for (int64_t r = 0; r < d->rows; r++) {
        float v = d->x_f32[r * d->x_cols + c];
        if (v == v) {
            present[n++] = v;
            sum += v;
        }
    }
    if (!n)
        return 0; /* nothing to go by */
    if (!median)
        return (float)(sum / (double)n);
    qsort(present, (size_t)n, sizeof(float), cmp_float);
    return n % 2 ? present[n / 2] : (float)(((double)present[n / 2 - 1] + present[n / 2]) / 2);
}

int nnk_model_fit_missing(nnk_model *m, const nnk_dataset *d, const char *how, nnk_err *err)
{
    int mean = !strcmp(how, "mean"), median = !strcmp(how, "median"), zero = !strcmp(how, "zero");
    if (!mean && !median && !zero)
        return nnk_err_set(err, NNK_ECONFIG, "missing values: fill with mean, median or zero, got '%s'", how);
    int64_t cols = d->x_cols;
    float *fill = calloc((size_t)(cols ? cols : 1), sizeof(float));
    float *present = malloc(sizeof(float) * (size_t)(d->rows ? d->rows : 1));
    int rc = fill && present ? NNK_OK : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t c = 0; !rc && !zero && d->x_f32 && c < cols; c++)
        fill[c] = column_fill(d, c, median, present);
    if (!rc)
        rc = nnk_model_set_fill(m, fill, cols ? cols : 1, err);
    free(present);
    free(fill);
    return rc;
}

int nnk_model_check_missing(const nnk_model *m, const nnk_dataset *d, nnk_err *err)
{
    nnk_preprocessing pp;
    nnk_model_preprocessing(m, &pp);
    if (!d->x_f32 || (pp.fill && pp.n == d->x_cols))
        return NNK_OK;
    int64_t n = nnkd__count_missing(m, d);
    if (!n)
        return NNK_OK;
    return nnk_err_set(err, NNK_EDATA,
                       "data '%s': %lld missing value%s (the file's first: %s); set [data] missing = mean, median or "
                       "zero to fill them from the training split",
                       d->source, (long long)n, n > 1 ? "s" : "", d->missing_at ? d->missing_at : "?");
}

int nnk_model_fit_standardizer(nnk_model *m, const nnk_dataset *d, nnk_err *err)
{
    enum { CHUNK = 256 }; /* rows gathered at a time */
    int64_t cols = d->x_cols;
    double *sum = calloc((size_t)cols, sizeof(double)), *sq = calloc((size_t)cols, sizeof(double));
    float *mean = malloc((size_t)cols * sizeof(float)), *sd = malloc((size_t)cols * sizeof(float));
    float *rows = malloc((size_t)(cols * CHUNK) * sizeof(float));
    int rc = sum && sq && mean && sd && rows ? NNK_OK : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (!rc) /* the rows as the model gathers them before any standardization: fills and scale */
        rc = nnk_model_set_standardizer(m, NULL, NULL, 0, err);
    for (int64_t r0 = 0; !rc && r0 < d->rows; r0 += CHUNK) {
        int64_t n = d->rows - r0 < CHUNK ? d->rows - r0 : CHUNK;
        rc = nnk_model_prepare_rows(m, d, r0, n, rows, err);
        for (int64_t r = 0; !rc && r < n; r++)
            for (int64_t c = 0; c < cols; c++) {
                float v = rows[r * cols + c];
                sum[c] += v;
                sq[c] += (double)v * v;
            }
    }
    double n = d->rows > 0 ? (double)d->rows : 1.0;
    for (int64_t c = 0; !rc && c < cols; c++) {
        double mu = sum[c] / n, var = sq[c] / n - mu * mu;
        mean[c] = (float)mu;
        sd[c] = (float)(var > 1e-12 ? sqrt(var) : 1.0); /* constant column: leave it */
    }
    if (!rc)
        rc = nnk_model_set_standardizer(m, mean, sd, cols, err);
    free(sum), free(sq), free(mean), free(sd), free(rows);
    return rc;
}
