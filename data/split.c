/* Splitting a data set (Keras's validation_split) and fitting string
 * labels' classes on the training split. */
#include "data_internal.h"
#include <stdlib.h>
#include <string.h>

static char **copy_texts(char *const *v, int64_t n)
{
    char **c = calloc((size_t)(n ? n : 1), sizeof(char *));
    for (int64_t i = 0; c && i < n; i++)
        if (!(c[i] = strdup(v[i]))) {
            while (i--)
                free(c[i]);
            free(c);
            return NULL;
        }
    return c;
}

/* t's own copies of d's column names and text columns; -1 when out of
 * memory (t then holds what was copied, for nnk_dataset_free). */
static int copy_columns(const nnk_dataset *d, nnk_dataset *t)
{
    t->feature_names = NULL;
    t->text = NULL;
    t->n_text = 0;
    if (d->feature_names && !(t->feature_names = copy_texts(d->feature_names, d->x_cols)))
        return -1;
    if (d->n_text && !(t->text = calloc((size_t)d->n_text, sizeof *t->text)))
        return -1;
    for (int64_t k = 0; k < d->n_text; k++) {
        t->text[k] = d->text[k];
        t->text[k].text = NULL;
        if (!(t->text[k].values = copy_texts(d->text[k].values, d->text[k].n_values)) ||
            (d->text[k].text && !(t->text[k].text = strdup(d->text[k].text))))
            return -1;
        t->n_text = k + 1;
    }
    return 0;
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
    t->label_columns = d->label_columns ? strdup(d->label_columns) : NULL;
    t->missing_at = d->missing_at ? strdup(d->missing_at) : NULL; /* where in the file */
    t->lines = d->lines ? malloc(sizeof(int64_t) * (size_t)n) : NULL;
    if (t->lines)
        memcpy(t->lines, d->lines + keep, sizeof(int64_t) * (size_t)n);
    int columns_failed = copy_columns(d, t);
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
    if (!x || (d->y_cols && !y) || !t->source || (d->lines && !t->lines) || columns_failed) {
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
/* Renumbers d's labels by map (old class -> new, -1: absent from train) and
 * gives it the names; fails naming the first row whose class train lacks. */
static int renumber_classes(nnk_dataset *d, const int64_t *map, char **names, int64_t n, nnk_err *err)
{
    for (int64_t r = 0; r < d->rows; r++) {
        int64_t old = (int64_t)d->y[r], now = map[old];
        if (now < 0)
            return nnk_err_set(err, NNK_EDATA, "data '%s': line %lld: label '%s' does not occur in the training split",
                               d->source, (long long)(d->lines ? d->lines[r] : r + 2), d->class_names[old]);
    }
    char **copy = copy_texts(names, n);
    if (!copy)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t r = 0; r < d->rows; r++)
        d->y[r] = (float)map[(int64_t)d->y[r]];
    for (int64_t k = 0; k < d->n_classes; k++)
        free(d->names_storage[k]);
    free(d->names_storage);
    d->names_storage = copy;
    d->class_names = (const char *const *)copy;
    d->n_classes = n;
    return NNK_OK;
}

int nnk_dataset_fit_classes(nnk_dataset *train, nnk_dataset *const *others, int n_others, nnk_err *err)
{
    if (!train->text_labels || train->y_cols != 1)
        return NNK_OK;
    int64_t all = train->n_classes, n = 0;
    int64_t *map = malloc(sizeof(int64_t) * (size_t)(all ? all : 1));
    char **names = malloc(sizeof(char *) * (size_t)(all ? all : 1));
    if (!map || !names) {
        free(map);
        free(names);
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    for (int64_t k = 0; k < all; k++)
        map[k] = -1;
    for (int64_t r = 0; r < train->rows; r++)
        map[(int64_t)train->y[r]] = 0;
    for (int64_t k = 0; k < all; k++) /* the names are sorted: present ones keep their order */
        if (!map[k]) {
            names[n] = train->names_storage[k];
            map[k] = n++;
        }
    int rc = NNK_OK;
    for (int i = 0; i < n_others && !rc; i++)
        if (others[i] && others[i]->text_labels)
            rc = renumber_classes(others[i], map, names, n, err);
    if (!rc)
        rc = renumber_classes(train, map, names, n, err);
    free(map);
    free(names);
    return rc;
}

