/* Data sets: named sources, splitting, freeing. */
#include "internal.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void nnk_dataset_free(nnk_dataset *d)
{
    if (!d)
        return;
    free(d->x_u8);
    free(d->x_f32);
    free(d->y);
    free(d->source);
    for (int64_t k = 0; d->names_storage && k < d->n_classes; k++)
        free(d->names_storage[k]);
    free(d->names_storage);
    free(d->missing_at);
    free(d);
}

int nnk_dataset_split(nnk_dataset *d, double fraction, nnk_dataset **tail,
                      nnk_err *err)
{
    *tail = NULL;
    if (!(fraction > 0 && fraction < 1))
        return nnk_err_set(err, NNK_ECONFIG, "split fraction must be in (0, 1), got %g", fraction);
    int64_t keep = (int64_t)((double)d->rows * (1.0 - fraction));
    int64_t n = d->rows - keep;
    if (keep < 1 || n < 1)
        return nnk_err_set(err, NNK_EDATA, "data '%s': %lld rows cannot be split by %g",
                           d->source, (long long)d->rows, fraction);
    nnk_dataset *t = calloc(1, sizeof *t);
    if (!t)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    *t = *d;
    t->rows = n;
    t->x_u8 = NULL;
    t->x_f32 = NULL;
    t->y = NULL;
    t->source = strdup(d->source);
    t->missing_at = d->missing_at ? strdup(d->missing_at) : NULL; /* where in the file */
    if (d->names_storage) { /* its own copy of the class names */
        t->names_storage = calloc((size_t)d->n_classes, sizeof(char *));
        for (int64_t k = 0; t->names_storage && k < d->n_classes; k++)
            t->names_storage[k] = strdup(d->names_storage[k]);
        t->class_names = (const char *const *)t->names_storage;
        if (!t->names_storage)
            t->n_classes = 0;
    }
    size_t esz = d->x_u8 ? 1 : sizeof(float);
    void *x = malloc((size_t)(n * d->x_cols) * esz);
    float *y = d->y_cols ? malloc((size_t)(n * d->y_cols) * sizeof(float)) : NULL;
    if (!x || (d->y_cols && !y) || !t->source) {
        free(x);
        free(y);
        nnk_dataset_free(t);
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    if (d->x_u8) {
        memcpy(x, d->x_u8 + keep * d->x_cols, (size_t)(n * d->x_cols));
        t->x_u8 = x;
    } else {
        memcpy(x, d->x_f32 + keep * d->x_cols, (size_t)(n * d->x_cols) * sizeof(float));
        t->x_f32 = x;
    }
    if (y) {
        memcpy(y, d->y + keep * d->y_cols, (size_t)(n * d->y_cols) * sizeof(float));
        t->y = y;
    }
    d->rows = keep;
    *tail = t;
    return NNK_OK;
}

/* Fisher-Yates over whole rows: inputs (bytes or floats) and labels move
 * together. */
void nnk_dataset_shuffle(nnk_dataset *d, uint64_t seed)
{
    nnk_rng r;
    nnk_rng_seed(&r, seed, 4);
    size_t esz = d->x_u8 ? 1 : sizeof(float), xrow = (size_t)d->x_cols * esz, yrow = (size_t)d->y_cols * sizeof(float);
    unsigned char *x = d->x_u8 ? d->x_u8 : (unsigned char *)d->x_f32, *y = (unsigned char *)d->y;
    unsigned char *tmp = malloc(xrow > yrow ? xrow : yrow ? yrow : 1);
    if (!tmp)
        return;
    for (int64_t i = d->rows - 1; i > 0; i--) {
        int64_t j = (int64_t)(nnk_rng_next(&r) % (uint64_t)(i + 1));
        if (j == i)
            continue;
        memcpy(tmp, x + (size_t)i * xrow, xrow);
        memcpy(x + (size_t)i * xrow, x + (size_t)j * xrow, xrow);
        memcpy(x + (size_t)j * xrow, tmp, xrow);
        if (y && yrow) {
            memcpy(tmp, y + (size_t)i * yrow, yrow);
            memcpy(y + (size_t)i * yrow, y + (size_t)j * yrow, yrow);
            memcpy(y + (size_t)j * yrow, tmp, yrow);
        }
    }
    free(tmp);
}
