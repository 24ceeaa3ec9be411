/* Categorical features: text columns of a CSV, their vocabularies fitted
 * on the training split (and kept by the model) and their cells one-hot
 * encoded by them. */
#include "data_internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void free_texts(char **v, int64_t n)
{
    for (int64_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static int cmp_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The index of text in the sorted values, or -1. */
static int64_t vocabulary_index(const nnk_category_info *c, const char *text)
{
    const char *const *hit = bsearch(&text, c->values, (size_t)c->n_values, sizeof(char *), cmp_text);
    return hit ? hit - c->values : -1;
}

/* Text column t's vocabulary: the sorted texts that occur in d's rows. */
static int fit_vocabulary(const nnk_dataset *d, const nnk_text_column *t, char ***values, int64_t *n_values,
                          nnk_err *err)
{
    const char *name = d->feature_names[t->feature];
    char *seen = calloc((size_t)(t->n_values ? t->n_values : 1), 1);
    int64_t n = 0;
    if (!seen)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t r = 0; r < d->rows; r++) {
        float v = d->x_f32[r * d->x_cols + t->feature];
        if (v == v && !seen[(int64_t)v]++)
            n++;
    }
    int rc = NNK_OK;
    *n_values = 0;
    if (n > NNK_MAX_CATEGORIES)
        rc = nnk_err_set(err, NNK_EDATA,
                         "data '%s': column '%s' has %lld distinct texts in the training split (at most %d one-hot "
                         "columns); leave it out of [data] features",
                         d->source, name, (long long)n, NNK_MAX_CATEGORIES);
    else if (!(*values = calloc((size_t)(n ? n : 1), sizeof(char *))))
        rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t v = 0; !rc && v < t->n_values; v++)
        if (seen[v] && !((*values)[(*n_values)++] = strdup(t->values[v])))
            rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    free(seen);
    if (!rc && !n) /* every training cell missing: nothing to encode by */
        rc = nnk_err_set(err, NNK_EDATA, "data '%s': column '%s' has no value in the training split", d->source, name);
    if (!rc)
        qsort(*values, (size_t)*n_values, sizeof(char *), cmp_text);
    return rc;
}

int nnk_model_fit_categories(nnk_model *m, const nnk_dataset *d, const char *unknown, nnk_err *err)
{
    int ignore = unknown && !strcmp(unknown, "ignore");
    if (unknown && !ignore && strcmp(unknown, "error"))
        return nnk_err_set(err, NNK_ECONFIG, "unknown categories: 'error' or 'ignore', got '%s'", unknown);
    if (!d->n_text)
        return nnk_model_set_categories(m, NULL, 0, NULL, 0, 0, err);
    if (!d->feature_names)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    nnk_category_info *cats = calloc((size_t)d->n_text, sizeof *cats);
    char ***values = calloc((size_t)d->n_text, sizeof *values);
    int rc = cats && values ? NNK_OK : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t k = 0; !rc && k < d->n_text; k++) {
        cats[k].feature = d->text[k].feature;
        rc = fit_vocabulary(d, &d->text[k], &values[k], &cats[k].n_values, err);
        cats[k].values = (const char *const *)values[k];
    }
    if (!rc)
        rc = nnk_model_set_categories(m, (const char *const *)d->feature_names, d->x_cols, cats, d->n_text, ignore, err);
    for (int64_t k = 0; values && k < d->n_text; k++)
        free_texts(values[k], cats[k].n_values);
    free(values);
    free(cats);
    return rc;
}

/* The text of a cell of d's feature column f: a text column's value, or a
 * number's shortest float text. NULL when missing. */
static const char *cell_text(const nnk_dataset *d, const nnk_text_column *t, int64_t r, int64_t f, char *buf, size_t n)
{
    float v = d->x_f32[r * d->x_cols + f];
    if (v != v)
        return NULL;
    if (t)
        return t->values[(int64_t)v];
    nnk_format_float(v, buf, n);
    return buf;
}

static const nnk_text_column *text_column_at(const nnk_dataset *d, int64_t f)
{
    for (int64_t k = 0; k < d->n_text; k++)
        if (d->text[k].feature == f)
            return &d->text[k];
    return NULL;
}

static int64_t line_of(const nnk_dataset *d, int64_t r) { return d->lines ? d->lines[r] : r + 2; }

/* Text in a column the model reads as numbers: the message the CSV
 * reader gives for it. */
static int refuse_text(const nnk_dataset *d, const nnk_text_column *t, nnk_err *err)
{
    for (int64_t r = 0; r < d->rows; r++) {
        float v = d->x_f32[r * d->x_cols + t->feature];
        char *end;
        if (v == v && (strtod(t->values[(int64_t)v], &end), *end)) /* numbers in it were numbers */
            return nnk_err_set(err, NNK_EDATA, "data '%s': line %lld, column '%s': '%s' is not a number", d->source,
                               (long long)line_of(d, r), d->feature_names ? d->feature_names[t->feature] : "?",
                               t->values[(int64_t)v]);
    }
    return NNK_OK;
}

/* A category of the model, and where its cells come from in d: a text
 * column, with each of its texts' place in the vocabulary (-1: unknown)
 * worked out once, or numbers (t NULL), looked up by their text cell by
 * cell. */
typedef struct category_source {
    nnk_category_info c;
    const nnk_text_column *t;
    int64_t *hot;
} category_source;

static int encode_rows(const nnk_model *m, const nnk_dataset *d, const category_source *src, int64_t n_src, float *x,
                       nnk_err *err)
{
    char buf[32];
    int64_t n_encoded = nnk_model_encoded_feature_count(m);
    for (int64_t r = 0; r < d->rows; r++) {
        float *out = x + r * n_encoded;
        const float *in = d->x_f32 + r * d->x_cols;
        for (int64_t f = 0, k = 0; f < d->x_cols; f++) {
            if (k == n_src || src[k].c.feature != f) {
                *out++ = in[f];
                continue;
            }
            const category_source *s = &src[k++];
            const char *text = cell_text(d, s->t, r, f, buf, sizeof buf);
            int64_t hot = !text ? -1 : s->t ? s->hot[(int64_t)in[f]] : vocabulary_index(&s->c, text);
            if (text && hot < 0 && !nnk_model_ignores_unknown(m))
                return nnk_err_set(err, NNK_EDATA,
                                   "data '%s': line %lld, column '%s': unknown category '%.200s' (the training split "
                                   "had %lld); set [data] unknown_category = ignore to encode it as all zeros",
                                   d->source, (long long)line_of(d, r), nnk_model_raw_feature_name(m, f), text,
                                   (long long)s->c.n_values);
            for (int64_t v = 0; v < s->c.n_values; v++)
                out[v] = !text ? NAN : v == hot ? 1.0f : 0.0f;
            out += s->c.n_values;
        }
    }
    return NNK_OK;
}

static void free_sources(category_source *src, int64_t n)
{
    for (int64_t k = 0; src && k < n; k++)
        free(src[k].hot);
    free(src);
}

/* Each category's source in d (free with free_sources); NULL when out of
 * memory. */
static category_source *find_sources(const nnk_model *m, const nnk_dataset *d, int64_t n)
{
    category_source *src = calloc((size_t)(n ? n : 1), sizeof *src);
    for (int64_t k = 0; src && k < n; k++) {
        nnk_model_category(m, k, &src[k].c);
        const nnk_text_column *t = text_column_at(d, src[k].c.feature);
        if (t && !(src[k].hot = malloc(sizeof(int64_t) * (size_t)(t->n_values ? t->n_values : 1)))) {
            free_sources(src, k);
            return NULL;
        }
        src[k].t = t;
        for (int64_t v = 0; t && v < t->n_values; v++)
            src[k].hot[v] = vocabulary_index(&src[k].c, t->values[v]);
    }
    return src;
}

/* Text in a column the model has as numbers is refused. */
static int refuse_numeric_text(const nnk_model *m, const nnk_dataset *d, nnk_err *err)
{
    for (int64_t k = 0; k < d->n_text; k++) {
        int64_t c = 0, n = nnk_model_category_count(m);
        nnk_category_info info;
        while (c < n && (nnk_model_category(m, c, &info), info.feature != d->text[k].feature))
            c++;
        if (c == n && refuse_text(d, &d->text[k], err))
            return err->status;
    }
    return NNK_OK;
}

int nnk_model_encode_categories(const nnk_model *m, nnk_dataset *d, nnk_err *err)
{
    int64_t n_cats = nnk_model_category_count(m), n_raw = nnk_model_raw_feature_count(m);
    int64_t n_encoded = nnk_model_encoded_feature_count(m);
    if (!n_cats)
        return refuse_numeric_text(m, d, err);
    if (!d->x_f32 || d->x_cols != n_raw)
        return nnk_err_set(err, NNK_EDATA, "data '%s': %lld feature columns, but the model was trained on %lld",
                           d->source, (long long)d->x_cols, (long long)n_raw);
    if (refuse_numeric_text(m, d, err))
        return err->status;
    int64_t cells;
    if (nnk_size_mul(d->rows, n_encoded, &cells))
        return nnk_err_set(err, NNK_EDATA, "data '%s': %lld rows of %lld encoded features is too many", d->source,
                           (long long)d->rows, (long long)n_encoded);
    float *x = malloc(sizeof(float) * (size_t)(cells ? cells : 1));
    char **names = calloc((size_t)n_encoded, sizeof(char *));
    category_source *src = find_sources(m, d, n_cats);
    int rc = x && names && src ? encode_rows(m, d, src, n_cats, x, err) : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    free_sources(src, n_cats);
    for (int64_t k = 0; !rc && k < n_encoded; k++)
        if (!(names[k] = strdup(nnk_model_encoded_feature_name(m, k))))
            rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (rc) {
        free(x);
        free_texts(names, n_encoded);
        return rc;
    }
    free(d->x_f32);
    d->x_f32 = x;
    free_texts(d->feature_names, d->x_cols);
    d->feature_names = names;
    d->x_cols = n_encoded;
    d->x_shape.ndim = 1;
    d->x_shape.dim[0] = n_encoded;
    nnk_dataset_clear_text(d);
    return NNK_OK;
}

int64_t nnkd__count_missing(const nnk_model *m, const nnk_dataset *d)
{
    int64_t n_cats = nnk_model_category_count(m);
    int encoded = n_cats && d->x_cols == nnk_model_encoded_feature_count(m);
    int64_t n = 0;
    for (int64_t r = 0; r < d->rows; r++) {
        const float *x = d->x_f32 + r * d->x_cols;
        for (int64_t c = 0, f = 0, k = 0; c < d->x_cols; f++) { /* c: column, f: raw feature */
            nnk_category_info info = {0, NULL, 1};
            if (encoded && k < n_cats)
                nnk_model_category(m, k, &info);
            int64_t width = encoded && k < n_cats && info.feature == f ? (k++, info.n_values) : 1;
            n += x[c] != x[c];
            c += width;
        }
    }
    return n;
}
