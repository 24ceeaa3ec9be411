/* Categorical features: text columns of a CSV one-hot encoded by a
 * vocabulary fitted on the training split and saved with the model. */
#include "internal.h"
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

static void free_categories(nnk_category *c, int64_t n)
{
    for (int64_t k = 0; c && k < n; k++)
        free_texts(c[k].values, c[k].n_values);
    free(c);
}

void nnk__model_clear_categories(nnk_model *m)
{
    free_categories(m->categories, m->n_categories);
    free_texts(m->raw_names, m->n_raw);
    free_texts(m->encoded_names, m->n_encoded);
    m->categories = NULL;
    m->raw_names = m->encoded_names = NULL;
    m->n_categories = m->n_raw = m->n_encoded = 0;
    m->ignore_unknown = 0;
}

static int cmp_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The index of text in the sorted values, or -1. */
static int64_t vocabulary_index(const nnk_category *c, const char *text)
{
    char *const *hit = bsearch(&text, c->values, (size_t)c->n_values, sizeof(char *), cmp_text);
    return hit ? hit - c->values : -1;
}

int nnk__model_set_categories(nnk_model *m, char **raw_names, int64_t n_raw, nnk_category *cats, int64_t n_cats,
                             int ignore_unknown, nnk_err *err)
{
    int64_t n_encoded = n_raw;
    int rc = NNK_OK;
    for (int64_t k = 0; k < n_cats && !rc; k++) {
        const nnk_category *c = &cats[k];
        if (c->feature < 0 || c->feature >= n_raw || (k && c->feature <= cats[k - 1].feature) || c->n_values < 1 ||
            c->n_values > NNK_MAX_CATEGORIES)
            rc = nnk_err_set(err, NNK_EMODEL, "category %lld: feature %lld of %lld with %lld values is out of order",
                             (long long)k, (long long)c->feature, (long long)n_raw, (long long)c->n_values);
        for (int64_t v = 1; !rc && v < c->n_values; v++)
            if (strcmp(c->values[v - 1], c->values[v]) >= 0)
                rc = nnk_err_set(err, NNK_EMODEL, "category '%s': values not sorted and distinct at %lld",
                                 raw_names[c->feature], (long long)v);
        n_encoded += c->n_values - 1;
    }
    char **names = rc ? NULL : calloc((size_t)(n_encoded ? n_encoded : 1), sizeof(char *));
    if (!rc && !names)
        rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t f = 0, k = 0, out = 0; !rc && f < n_raw; f++) {
        if (k < n_cats && cats[k].feature == f) {
            for (int64_t v = 0; !rc && v < cats[k].n_values; v++) {
                size_t len = strlen(raw_names[f]) + strlen(cats[k].values[v]) + 2;
                if (!(names[out] = malloc(len)))
                    rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
                else
                    snprintf(names[out++], len, "%s=%s", raw_names[f], cats[k].values[v]);
            }
            k++;
        } else if (!(names[out++] = strdup(raw_names[f]))) {
            rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
        }
    }
    if (rc) {
        free_texts(names, n_encoded);
        free_texts(raw_names, n_raw);
        free_categories(cats, n_cats);
        return rc;
    }
    nnk__model_clear_categories(m);
    m->categories = cats;
    m->n_categories = n_cats;
    m->raw_names = raw_names;
    m->n_raw = n_raw;
    m->encoded_names = names;
    m->n_encoded = n_cats ? n_encoded : 0;
    if (!n_cats) { /* names only matter with categories */
        free_texts(names, n_encoded);
        m->encoded_names = NULL;
    }
    m->ignore_unknown = ignore_unknown;
    return NNK_OK;
}

/* Before build: inputs declared with the raw column count they take grow by
 * their text columns' one-hot widths (an input declared with the encoded
 * count already is left alone). */
static int grow_inputs(nnk_model *m, nnk_err *err)
{
    int64_t declared = 0;
    for (int i = 0; i < m->n_inputs; i++)
        declared += nnk_shape_elements(&m->inputs[i].shape);
    if (m->built || declared != m->n_raw || m->n_encoded == m->n_raw)
        return NNK_OK;
    int64_t start = 0, k = 0;
    for (int i = 0; i < m->n_inputs; i++) {
        nnk_input_node *in = &m->inputs[i];
        int64_t size = nnk_shape_elements(&in->shape), extra = 0;
        for (; k < m->n_categories && m->categories[k].feature < start + size; k++)
            extra += m->categories[k].n_values - 1;
        if (extra && in->shape.ndim != 1)
            return nnk_err_set(err, NNK_ECONFIG, "input '%s': text column '%s' needs a flat input (shape = N) to be one-hot encoded",
                               in->name, m->raw_names[m->categories[k - 1].feature]);
        in->shape.dim[0] += extra;
        in->cols += extra;
        start += size;
    }
    return NNK_OK;
}

int nnk_model_fit_categories(nnk_model *m, const nnk_dataset *d, const char *unknown, nnk_err *err)
{
    int ignore = unknown && !strcmp(unknown, "ignore");
    if (unknown && !ignore && strcmp(unknown, "error"))
        return nnk_err_set(err, NNK_ECONFIG, "unknown categories: 'error' or 'ignore', got '%s'", unknown);
    if (!d->n_text) {
        nnk__model_clear_categories(m);
        return NNK_OK;
    }
    nnk_category *cats = calloc((size_t)d->n_text, sizeof *cats);
    char **raw = calloc((size_t)d->x_cols, sizeof(char *));
    int rc = cats && raw && d->feature_names ? NNK_OK : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t c = 0; !rc && c < d->x_cols; c++)
        if (!(raw[c] = strdup(d->feature_names[c])))
            rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t k = 0; !rc && k < d->n_text; k++) {
        const nnk_text_column *t = &d->text[k];
        char *seen = calloc((size_t)(t->n_values ? t->n_values : 1), 1);
        int64_t n = 0;
        if (!seen) {
            rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
            break;
        }
        for (int64_t r = 0; r < d->rows; r++) {
            float v = d->x_f32[r * d->x_cols + t->feature];
            if (v == v && !seen[(int64_t)v]++)
                n++;
        }
        cats[k].feature = t->feature;
        if (n > NNK_MAX_CATEGORIES)
            rc = nnk_err_set(err, NNK_EDATA,
                             "data '%s': column '%s' has %lld distinct texts in the training split (at most %d one-hot "
                             "columns); leave it out of [data] features",
                             d->source, raw[t->feature], (long long)n, NNK_MAX_CATEGORIES);
        else if (!(cats[k].values = calloc((size_t)(n ? n : 1), sizeof(char *))))
            rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
        for (int64_t v = 0; !rc && v < t->n_values; v++)
            if (seen[v] && !(cats[k].values[cats[k].n_values++] = strdup(t->values[v])))
                rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
        free(seen);
        if (!rc && !n) /* every training cell missing: nothing to encode by */
            rc = nnk_err_set(err, NNK_EDATA, "data '%s': column '%s' has no value in the training split", d->source,
                             raw[t->feature]);
        if (!rc)
            qsort(cats[k].values, (size_t)cats[k].n_values, sizeof(char *), cmp_text);
    }
    if (rc) {
        free_texts(raw, d->x_cols);
        free_categories(cats, d->n_text);
        return rc;
    }
    rc = nnk__model_set_categories(m, raw, d->x_cols, cats, d->n_text, ignore, err);
    return rc ? rc : grow_inputs(m, err);
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

/* Where a category's cells come from in d: a text column, with each of its
 * texts' place in the vocabulary (-1: unknown) worked out once, or numbers
 * (t NULL), looked up by their text cell by cell. */
typedef struct category_source {
    const nnk_text_column *t;
    int64_t *hot;
} category_source;

static int encode_rows(const nnk_model *m, const nnk_dataset *d, const category_source *src, float *x, nnk_err *err)
{
    char buf[32];
    for (int64_t r = 0; r < d->rows; r++) {
        float *out = x + r * m->n_encoded;
        const float *in = d->x_f32 + r * d->x_cols;
        for (int64_t f = 0, k = 0; f < d->x_cols; f++) {
            if (k == m->n_categories || m->categories[k].feature != f) {
                *out++ = in[f];
                continue;
            }
            const nnk_category *c = &m->categories[k];
            const category_source *s = &src[k++];
            const char *text = cell_text(d, s->t, r, f, buf, sizeof buf);
            int64_t hot = !text ? -1 : s->t ? s->hot[(int64_t)in[f]] : vocabulary_index(c, text);
            if (text && hot < 0 && !m->ignore_unknown)
                return nnk_err_set(err, NNK_EDATA,
                                   "data '%s': line %lld, column '%s': unknown category '%.200s' (the training split "
                                   "had %lld); set [data] unknown_category = ignore to encode it as all zeros",
                                   d->source, (long long)line_of(d, r), m->raw_names[f], text, (long long)c->n_values);
            for (int64_t v = 0; v < c->n_values; v++)
                out[v] = !text ? NAN : v == hot ? 1.0f : 0.0f;
            out += c->n_values;
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
static category_source *find_sources(const nnk_model *m, const nnk_dataset *d)
{
    category_source *src = calloc((size_t)m->n_categories, sizeof *src);
    for (int64_t k = 0; src && k < m->n_categories; k++) {
        const nnk_text_column *t = text_column_at(d, m->categories[k].feature);
        if (t && !(src[k].hot = malloc(sizeof(int64_t) * (size_t)(t->n_values ? t->n_values : 1)))) {
            free_sources(src, k);
            return NULL;
        }
        src[k].t = t;
        for (int64_t v = 0; t && v < t->n_values; v++)
            src[k].hot[v] = vocabulary_index(&m->categories[k], t->values[v]);
    }
    return src;
}

int nnk_model_encode_categories(const nnk_model *m, nnk_dataset *d, nnk_err *err)
{
    if (!m->n_categories) {
        for (int64_t k = 0; k < d->n_text; k++)
            if (refuse_text(d, &d->text[k], err))
                return err->status;
        return NNK_OK;
    }
    if (!d->x_f32 || d->x_cols != m->n_raw)
        return nnk_err_set(err, NNK_EDATA, "data '%s': %lld feature columns, but the model was trained on %lld",
                           d->source, (long long)d->x_cols, (long long)m->n_raw);
    for (int64_t k = 0; k < d->n_text; k++) { /* text where the model has numbers */
        int64_t c = 0;
        while (c < m->n_categories && m->categories[c].feature != d->text[k].feature)
            c++;
        if (c == m->n_categories && refuse_text(d, &d->text[k], err))
            return err->status;
    }
    int64_t cells;
    if (nnk_size_mul(d->rows, m->n_encoded, &cells))
        return nnk_err_set(err, NNK_EDATA, "data '%s': %lld rows of %lld encoded features is too many", d->source,
                           (long long)d->rows, (long long)m->n_encoded);
    float *x = malloc(sizeof(float) * (size_t)(cells ? cells : 1));
    char **names = calloc((size_t)m->n_encoded, sizeof(char *));
    category_source *src = find_sources(m, d);
    int rc = x && names && src ? encode_rows(m, d, src, x, err) : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    free_sources(src, m->n_categories);
    for (int64_t k = 0; !rc && k < m->n_encoded; k++)
        if (!(names[k] = strdup(m->encoded_names[k])))
            rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (rc) {
        free(x);
        free_texts(names, m->n_encoded);
        return rc;
    }
    free(d->x_f32);
    d->x_f32 = x;
    free_texts(d->feature_names, d->x_cols);
    d->feature_names = names;
    d->x_cols = m->n_encoded;
    d->x_shape.ndim = 1;
    d->x_shape.dim[0] = m->n_encoded;
    nnk__dataset_clear_text(d);
    return NNK_OK;
}

int64_t nnk__model_count_missing(const nnk_model *m, const nnk_dataset *d)
{
    int encoded = m->n_categories && d->x_cols == m->n_encoded;
    int64_t n = 0;
    for (int64_t r = 0; r < d->rows; r++) {
        const float *x = d->x_f32 + r * d->x_cols;
        for (int64_t c = 0, f = 0, k = 0; c < d->x_cols; f++) { /* c: column, f: raw feature */
            int64_t width = encoded && k < m->n_categories && m->categories[k].feature == f ? m->categories[k++].n_values : 1;
            n += x[c] != x[c];
            c += width;
        }
    }
    return n;
}

int64_t nnk_model_encoded_feature_count(const nnk_model *m) { return m->n_encoded; }

const char *nnk_model_encoded_feature_name(const nnk_model *m, int64_t i)
{
    return i >= 0 && i < m->n_encoded ? m->encoded_names[i] : NULL;
}
