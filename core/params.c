/* Typed parameter sets: the core parses and range-checks every
 * hyper-parameter from its spec, so plugins never parse strings. */
#include "nnkit/nnkit.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct nnk_params {
    const nnk_param_spec *specs;
    int n;
    void *config;
    char **strings; /* owned text of string-typed params, by spec index */
    unsigned char *set_by_user;
    char *owner;
};

static int spec_count(const nnk_param_spec *s)
{
    int n = 0;
    while (s && s[n].name)
        n++;
    return n;
}

static const char *type_text(const nnk_param_spec *s)
{
    switch (s->type) {
    case NNK_PARAM_INT: return "an integer";
    case NNK_PARAM_FLOAT: return "a number";
    case NNK_PARAM_BOOL: return "true or false";
    case NNK_PARAM_STRING: return "text";
    case NNK_PARAM_CHOICE: return "one of the listed choices";
    case NNK_PARAM_ACTIVATION: return "an activation name";
    case NNK_PARAM_INTS: return "1 to 4 integers";
    }
    return "?";
}

static void range_text(const nnk_param_spec *s, char *buf, size_t n)
{
    if (s->min == 0 && s->max == 0)
        snprintf(buf, n, "%s", type_text(s));
    else
        snprintf(buf, n, "%s in [%.15g, %.15g]", type_text(s), s->min, s->max);
}

static int where_prefix(char *buf, size_t n, const char *where)
{
    return snprintf(buf, n, "%s%s", where ? where : "", where ? ": " : "");
}

/* "3", "3,3", "3, 3", "(3, 3)" or "[3, 3]": 1 to NNK_MAX_DIMS integers,
 * each inside the spec's range; 0, or -1 (*out untouched). */
static int parse_ints(const char *text, const nnk_param_spec *s, nnk_ints *out)
{
    nnk_ints v = {0, {0}};
    const char *c = text + strspn(text, " \t");
    char close = *c == '(' ? ')' : *c == '[' ? ']' : 0;
    c += close != 0;
    for (;;) {
        char *end;
        errno = 0;
        long long x = strtoll(c, &end, 10);
        if (end == c || errno || v.n == NNK_MAX_DIMS || ((s->min || s->max) && (x < s->min || x > s->max)))
            return -1;
        v.v[v.n++] = x;
        c = end + strspn(end, " \t");
        if (*c != ',')
            break;
        c++;
    }
    if (close && *c++ != close)
        return -1;
    if (c[strspn(c, " \t")])
        return -1;
    *out = v;
    return 0;
}

static int parse_value(nnk_params *p, int i, const char *value,
                       const char *where, nnk_err *err)
{
    const nnk_param_spec *s = &p->specs[i];
    char *slot = (char *)p->config + s->offset;
    char pre[300], range[96];
    where_prefix(pre, sizeof pre, where);
    range_text(s, range, sizeof range);
    const char *end_msg = "%s%s: parameter '%s' must be %s, got '%s'";
    switch (s->type) {
    case NNK_PARAM_INTS:
        if (parse_ints(value, s, (nnk_ints *)slot))
            return nnk_err_set(err, NNK_ECONFIG, end_msg, pre, p->owner, s->name, range, value);
        return NNK_OK;
    case NNK_PARAM_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (!*value || *end || errno ||
            ((s->min || s->max) && (v < s->min || v > s->max)))
            return nnk_err_set(err, NNK_ECONFIG, end_msg, pre, p->owner,
                               s->name, range, value);
        *(int64_t *)slot = v;
        return NNK_OK;
    }
    case NNK_PARAM_FLOAT: {
        char *end;
        errno = 0;
        double v = strtod(value, &end);
        if (!*value || *end || errno || !isfinite(v) ||
            ((s->min || s->max) && (v < s->min || v > s->max)))
            return nnk_err_set(err, NNK_ECONFIG, end_msg, pre, p->owner,
                               s->name, range, value);
        *(double *)slot = v;
        return NNK_OK;
    }
    case NNK_PARAM_BOOL: {
        int v;
        if (!strcasecmp(value, "true") || !strcmp(value, "1") ||
            !strcasecmp(value, "yes"))
            v = 1;
        else if (!strcasecmp(value, "false") || !strcmp(value, "0") ||
                 !strcasecmp(value, "no"))
            v = 0;
        else
            return nnk_err_set(err, NNK_ECONFIG, end_msg, pre, p->owner,
                               s->name, range, value);
        *(int *)slot = v;
        return NNK_OK;
    }
    case NNK_PARAM_CHOICE: {
        int ok = 0;
        for (int c = 0; s->choices && s->choices[c]; c++)
            if (!strcmp(s->choices[c], value))
                ok = 1;
        if (!ok) {
            char list[256] = "";
            for (int c = 0; s->choices && s->choices[c]; c++) {
                if (c)
                    strncat(list, ", ", sizeof list - strlen(list) - 1);
                strncat(list, s->choices[c], sizeof list - strlen(list) - 1);
            }
            return nnk_err_set(err, NNK_ECONFIG,
                               "%s%s: parameter '%s' must be one of %s, got '%s'",
                               pre, p->owner, s->name, list, value);
        }
    }
    /* fall through */
    case NNK_PARAM_STRING:
    case NNK_PARAM_ACTIVATION: {
        char *copy = strdup(value);
        if (!copy)
            return nnk_err_set(err, NNK_ENOMEM, "out of memory");
        free(p->strings[i]);
        p->strings[i] = copy;
        *(const char **)slot = copy;
        return NNK_OK;
    }
    }
    return nnk_err_set(err, NNK_ECONFIG, "%s: bad spec", p->owner);
}

void nnk_params_free(nnk_params *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++)
        free(p->strings[i]);
    free(p->strings);
    free(p->set_by_user);
    free(p->config);
    free(p->owner);
    free(p);
}

nnk_params *nnk_params_new(const nnk_param_spec *specs, size_t config_size,
                           const char *owner, nnk_err *err)
{
    nnk_params *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->specs = specs;
    p->n = spec_count(specs);
    p->config = calloc(1, config_size ? config_size : 1);
    p->strings = calloc((size_t)p->n + 1, sizeof(char *));
    p->set_by_user = calloc((size_t)p->n + 1, 1);
    p->owner = strdup(owner ? owner : "component");
    if (!p->config || !p->strings || !p->set_by_user || !p->owner) {
        nnk_params_free(p);
        nnk_err_set(err, NNK_ENOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < p->n; i++) {
        const char *d = specs[i].default_value;
        if (!d)
            continue; /* required: checked by nnk_params_check_required */
        if (parse_value(p, i, d, "(default)", err)) {
            nnk_params_free(p);
            return NULL;
        }
    }
    return p;
}

static int find_spec(const nnk_params *p, const char *key)
{
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->specs[i].name, key))
            return i;
    return -1;
}

int nnk_params_has(const nnk_params *p, const char *key)
{
    return find_spec(p, key) >= 0;
}

int nnk_params_set(nnk_params *p, const char *key, const char *value,
                   const char *where, nnk_err *err)
{
    int i = find_spec(p, key);
    if (i < 0) {
        const char *names[64];
        int n = p->n < 64 ? p->n : 64;
        for (int k = 0; k < n; k++)
            names[k] = p->specs[k].name;
        const char *hint = nnk_suggest(key, names, n);
        char pre[300];
        where_prefix(pre, sizeof pre, where);
        if (hint)
            return nnk_err_set(err, NNK_ECONFIG,
                               "%sunknown key '%s' for %s (did you mean '%s'?)",
                               pre, key, p->owner, hint);
        return nnk_err_set(err, NNK_ECONFIG, "%sunknown key '%s' for %s", pre,
                           key, p->owner);
    }
    int rc = parse_value(p, i, value, where, err);
    if (!rc)
        p->set_by_user[i] = 1;
    return rc;
}

int nnk_params_set_int(nnk_params *p, const char *key, int64_t value, const char *where, nnk_err *err)
{
    int i = find_spec(p, key);
    if (i < 0 || p->specs[i].type != NNK_PARAM_INT)
        return nnk_err_set(err, NNK_EUSAGE, "%s has no integer parameter '%s'", p->owner, key);
    const nnk_param_spec *s = &p->specs[i];
    if ((s->min || s->max) && (value < s->min || value > s->max)) {
        char pre[300], range[96];
        where_prefix(pre, sizeof pre, where);
        range_text(s, range, sizeof range);
        return nnk_err_set(err, NNK_ECONFIG, "%s%s: parameter '%s' must be %s, got %lld", pre, p->owner, s->name, range,
                           (long long)value);
    }
    *(int64_t *)((char *)p->config + s->offset) = value;
    p->set_by_user[i] = 1;
    return NNK_OK;
}

int nnk_params_check_required(const nnk_params *p, nnk_err *err)
{
    for (int i = 0; i < p->n; i++)
        if (!p->specs[i].default_value && !p->set_by_user[i])
            return nnk_err_set(err, NNK_ECONFIG, "%s: missing required parameter '%s'",
                               p->owner, p->specs[i].name);
    return NNK_OK;
}

const void *nnk_params_config(const nnk_params *p) { return p->config; }
int nnk_params_count(const nnk_params *p) { return p->n; }
const nnk_param_spec *nnk_params_spec(const nnk_params *p, int i)
{
    return &p->specs[i];
}

void nnk_params_format(const nnk_params *p, int i, char *buf, size_t n)
{
    const nnk_param_spec *s = &p->specs[i];
    const char *slot = (const char *)p->config + s->offset;
    switch (s->type) {
    case NNK_PARAM_INT: snprintf(buf, n, "%lld", (long long)*(const int64_t *)slot); break;
    case NNK_PARAM_FLOAT: nnk_format_double(*(const double *)slot, buf, n); break;
    case NNK_PARAM_BOOL: snprintf(buf, n, "%s", *(const int *)slot ? "true" : "false"); break;
    case NNK_PARAM_INTS: {
        const nnk_ints *v = (const nnk_ints *)slot;
        size_t used = 0;
        buf[0] = 0;
        for (int64_t k = 0; k < v->n && k < NNK_MAX_DIMS && used < n; k++)
            used += (size_t)snprintf(buf + used, n - used, "%s%lld", k ? "," : "", (long long)v->v[k]);
        break;
    }
    default: snprintf(buf, n, "%s", *(const char *const *)slot); break;
    }
}

static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    int d[64][64];
    for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < c)
                c = d[i - 2][j - 2] + 1; /* a swap of neighbours is one edit */
            d[i][j] = c;
        }
    return d[la][lb];
}

const char *nnk_suggest(const char *word, const char *const *cand, int n)
{
    const char *best = NULL;
    int best_d = 1 << 30;
    for (int i = 0; i < n; i++) {
        int d = edit_distance(word, cand[i]);
        if (d < best_d) {
            best_d = d;
            best = cand[i];
        }
    }
    int len = (int)strlen(word);
    int limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    return best_d <= limit ? best : NULL;
}

/* The fewest significant digits that read back to exactly v, so 0.0833333
 * prints as 0.0833333 and not 0.083333333300000006. */
void nnk_format_double(double v, char *buf, size_t n)
{
    if (!n)
        return;
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, n, "%.*g", digits, v);
        if (strtod(buf, NULL) == v || v != v)
            return;
    }
}

void nnk_format_float(float v, char *buf, size_t n)
{
    if (!n)
        return;
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, n, "%.*g", digits, (double)v);
        if (strtof(buf, NULL) == v || v != v)
            return;
    }
}
