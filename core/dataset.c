/* Data sets: freeing them and shuffling their rows (the loaders,
 * splitting and classes are libnnkit-data). */
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
    free(d->label_columns);
    for (int64_t k = 0; d->names_storage && k < d->n_classes; k++)
        free(d->names_storage[k]);
    free(d->names_storage);
    free(d->missing_at);
    free(d->lines);
    for (int64_t c = 0; d->feature_names && c < d->x_cols; c++)
        free(d->feature_names[c]);
    free(d->feature_names);
    nnk_dataset_clear_text(d);
    free(d);
}

void nnk_dataset_clear_text(nnk_dataset *d)
{
    for (int64_t k = 0; k < d->n_text; k++) {
        for (int64_t v = 0; v < d->text[k].n_values; v++)
            free(d->text[k].values[v]);
        free(d->text[k].values);
        free(d->text[k].text);
    }
    free(d->text);
    d->text = NULL;
    d->n_text = 0;
}

void nnk_dataset_shuffle(nnk_dataset *d, uint64_t seed)
{
    nnk_rng r;
    nnk__rng_seed(&r, seed, 4);
    size_t esz = d->x_u8 ? 1 : sizeof(float), xrow = (size_t)d->x_cols * esz, yrow = (size_t)d->y_cols * sizeof(float);
    unsigned char *x = d->x_u8 ? d->x_u8 : (unsigned char *)d->x_f32, *y = (unsigned char *)d->y;
    unsigned char *tmp = malloc(xrow > yrow ? xrow : yrow ? yrow : 1);
    if (!tmp)
        return;
    for (int64_t i = d->rows - 1; i > 0; i--) {
        int64_t j = (int64_t)(nnk__rng_next(&r) % (uint64_t)(i + 1));
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
        if (d->lines) {
            int64_t l = d->lines[i];
            d->lines[i] = d->lines[j];
            d->lines[j] = l;
        }
    }
    free(tmp);
}

