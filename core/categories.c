/* Categorical features as the model keeps them: the vocabularies of text
 * columns (fitted by libnnkit-data on the training split), the raw and
 * encoded feature names, saved with the model. */
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

/* A copy of n texts (NULL when out of memory). */
static char **copy_texts(const char *const *v, int64_t n)
{
    char **c = calloc((size_t)(n ? n : 1), sizeof(char *));
    for (int64_t i = 0; c && i < n; i++)
        if (!(c[i] = strdup(v[i]))) {
            free_texts(c, i);
            return NULL;
        }
    return c;
}

int nnk_model_set_categories(nnk_model *m, const char *const *raw_names, int64_t n_raw, const nnk_category_info *cats,
                             int64_t n_cats, int ignore_unknown, nnk_err *err)
{
    if (!n_cats) {
        nnk__model_clear_categories(m);
        return NNK_OK;
    }
    int given = raw_names && cats && n_raw > 0 && n_cats > 0;
    for (int64_t f = 0; given && f < n_raw; f++)
        given = raw_names[f] != NULL;
    for (int64_t k = 0; given && k < n_cats; k++)
        for (int64_t v = 0; given && v < cats[k].n_values; v++)
            given = cats[k].values && cats[k].values[v];
    if (!given)
        return nnk_err_set(err, NNK_EUSAGE, "categories: %lld feature names and %lld categories, with a name or a "
                           "vocabulary missing", (long long)n_raw, (long long)n_cats);
    char **raw = copy_texts(raw_names, n_raw);
    nnk_category *own = calloc((size_t)n_cats, sizeof *own);
    int rc = raw && own ? NNK_OK : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t k = 0; !rc && k < n_cats; k++) {
        own[k].feature = cats[k].feature;
        if (!(own[k].values = copy_texts(cats[k].values, cats[k].n_values)))
            rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
        else
            own[k].n_values = cats[k].n_values;
    }
    if (rc) {
        free_texts(raw, raw ? n_raw : 0);
        free_categories(own, n_cats);
        return rc;
    }
    rc = nnk__model_set_categories(m, raw, n_raw, own, n_cats, ignore_unknown, err); /* takes them */
    return rc ? rc : grow_inputs(m, err);
}

int64_t nnk_model_category_count(const nnk_model *m) { return m->n_categories; }

int nnk_model_category(const nnk_model *m, int64_t k, nnk_category_info *out)
{
    if (k < 0 || k >= m->n_categories)
        return -1;
    out->feature = m->categories[k].feature;
    out->values = (const char *const *)m->categories[k].values;
    out->n_values = m->categories[k].n_values;
    return 0;
}

int64_t nnk_model_raw_feature_count(const nnk_model *m) { return m->n_raw; }

const char *nnk_model_raw_feature_name(const nnk_model *m, int64_t i)
{
    return i >= 0 && i < m->n_raw ? m->raw_names[i] : NULL;
}

int nnk_model_ignores_unknown(const nnk_model *m) { return m->ignore_unknown; }

int64_t nnk_model_encoded_feature_count(const nnk_model *m) { return m->n_encoded; }

const char *nnk_model_encoded_feature_name(const nnk_model *m, int64_t i)
{
    return i >= 0 && i < m->n_encoded ? m->encoded_names[i] : NULL;
}
