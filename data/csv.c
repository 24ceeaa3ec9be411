/* CSV reader: a header row, numeric cells, chosen label and feature
 * columns. Every problem names the file, the line and the column. */
#include "data_internal.h"
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A growable array of field pointers into one line. */
typedef struct fields {
    char **v;
    int n, cap;
} fields;

/* Splits line in place at commas, trimming blanks and the line end.
 * Returns the number of fields, or -1 when out of memory. */
static int split_line(char *line, fields *f)
{
    f->n = 0;
    char *p = line;
    size_t l = strlen(p);
    while (l && (p[l - 1] == '\n' || p[l - 1] == '\r'))
        p[--l] = 0;
    for (;;) {
        if (f->n == f->cap) {
            int cap = f->cap ? f->cap * 2 : 64;
            char **v = cap > f->cap ? realloc(f->v, sizeof(char *) * (size_t)cap) : NULL;
            if (!v)
                return -1;
            f->v = v;
            f->cap = cap;
        }
        while (*p == ' ' || *p == '\t')
            p++;
        f->v[f->n++] = p;
        char *c = strchr(p, ',');
        char *end = c ? c : p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        *end = 0;
        if (!c)
            return f->n;
        p = c + 1;
    }
}

/* A line may hold no control character but its end (\n, \r\n) and tabs:
 * a NUL would cut a cell short unseen, and the rest would reach names,
 * classes and categories that files and logs carry. */
static int check_line(const char *path, int64_t line_no, const char *line, ssize_t len, nnk_err *err)
{
    for (ssize_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        int at_end = (c == '\n' && i == len - 1) || (c == '\r' && i == len - 2 && line[i + 1] == '\n') ||
                     (c == '\r' && i == len - 1);
        if ((c < 0x20 && c != '\t' && !at_end) || c == 0x7f)
            return nnk_err_set(err, NNK_EDATA, "data '%s': line %lld, byte %lld: control character 0x%02x%s", path,
                               (long long)line_no, (long long)i + 1, c, c ? "" : " (NUL)");
    }
    return NNK_OK;
}

static int cmp_name_at(const void *a, const void *b)
{
    char *const *x = *(char **const *)a, *const *y = *(char **const *)b;
    int c = strcmp(*x, *y);
    return c ? c : (x > y) - (x < y); /* equal names in column order */
}

/* Column names: not empty, at most 256 bytes, each once (found by sorting,
 * so a header of a million columns costs no quadratic time). */
static int check_header(const char *path, char **header, int n, nnk_err *err)
{
    for (int i = 0; i < n; i++) {
        if (!*header[i])
            return nnk_err_set(err, NNK_EDATA, "data '%s': column %d of the header has no name", path, i + 1);
        if (strlen(header[i]) > 256)
            return nnk_err_set(err, NNK_EDATA, "data '%s': column %d's name is %zu bytes long (at most 256)", path, i + 1,
                               strlen(header[i]));
    }
    char ***order = malloc(sizeof(char **) * (size_t)(n > 0 ? n : 1));
    if (!order)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++)
        order[i] = &header[i];
    qsort(order, (size_t)n, sizeof *order, cmp_name_at);
    int first = -1, second = -1; /* the repeat that comes first in the header */
    for (int i = 1; i < n; i++)
        if (!strcmp(*order[i], *order[i - 1]) && (second < 0 || order[i] - header < second)) {
            first = (int)(order[i - 1] - header);
            second = (int)(order[i] - header);
        }
    free(order);
    if (second >= 0)
        return nnk_err_set(err, NNK_EDATA, "data '%s': column '%s' appears twice in the header (columns %d and %d)", path,
                           header[second], first + 1, second + 1);
    return NNK_OK;
}

static int find_col(char **header, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(header[i], name))
            return i;
    return -1;
}

/* Parses "a, b" into column indices (a new array in *out, the caller
 * frees it). */
static int pick_columns(const char *path, const char *list, char **header,
                        int n_header, int **out, int *n_out, const char *what,
                        nnk_err *err)
{
    *n_out = 0;
    *out = NULL;
    if (!list || !*list)
        return NNK_OK;
    size_t names = 1;
    for (const char *c = list; *c; c++)
        names += *c == ',' || *c == ' ';
    char *copy = strdup(list), *save = NULL;
    *out = malloc(sizeof(int) * names);
    if (!copy || !*out) {
        free(copy);
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    int rc = NNK_OK;
    for (char *t = strtok_r(copy, ", ", &save); t && !rc; t = strtok_r(NULL, ", ", &save)) {
        int c = find_col(header, n_header, t);
        if (c < 0) {
            const char *hint = nnk_suggest(t, (const char *const *)header, n_header);
            rc = nnk_err_set(err, NNK_ECONFIG, "data '%s': no %s column '%.200s'%s%.200s%s", path,
                             what, t, hint ? " (did you mean '" : "", hint ? hint : "",
                             hint ? "'?)" : "");
        } else {
            (*out)[(*n_out)++] = c;
        }
    }
    free(copy);
    return rc;
}

/* An empty cell, NA, N/A or nan: a missing value. */
static int is_missing(const char *cell)
{
    return !*cell || !strcmp(cell, "NA") || !strcmp(cell, "N/A") || !strcasecmp(cell, "nan");
}

/* A parsed number into *out, or an error when it is NaN or Inf or past
 * float's range. */
static int store_number(const char *path, int64_t line, const char *col, const char *cell, double v, float *out,
                        nnk_err *err)
{
    if (!isfinite(v) || !isfinite((float)v))
        return nnk_err_set(err, NNK_EDATA, "data '%s': line %lld, column '%s': NaN or Inf ('%s')",
                           path, (long long)line, col, cell);
    *out = (float)v;
    return NNK_OK;
}

static int parse_cell(const char *path, int64_t line, const char *col,
                      const char *cell, float *out, nnk_err *err)
{
    char *end;
    errno = 0;
    double v = strtod(cell, &end);
    if (!*cell || *end)
        return nnk_err_set(err, NNK_EDATA, "data '%s': line %lld, column '%s': '%s' is not a number",
                           path, (long long)line, col, cell);
    return store_number(path, line, col, cell, v, out, err);
}

static int append_lines(int64_t **lines, int64_t *cap, int64_t rows, int64_t line)
{
    if (rows == *cap) {
        int64_t nc = *cap ? *cap * 2 : 1024;
        int64_t *p = realloc(*lines, sizeof(int64_t) * (size_t)nc);
        if (!p)
            return -1;
        *lines = p;
        *cap = nc;
    }
    (*lines)[rows] = line;
    return 0;
}

static int append_row(float **arr, int64_t *cap, int64_t rows, int cols)
{
    int64_t need;
    if (nnk_size_mul(rows + 1, cols, &need))
        return -1;
    if (need <= *cap)
        return 0;
    int64_t nc = *cap ? *cap * 2 : 1024;
    while (nc < need)
        nc *= 2;
    float *p = realloc(*arr, (size_t)nc * sizeof(float));
    if (!p)
        return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

/* Text feature columns: a column turns to text at its first cell that is
 * not a number, and from then on every cell holds the index of its text
 * (numbers as their shortest float text, so "1.50" and "1.5" agree). */
typedef struct text_columns {
    nnk_text_dict *dicts; /* per feature */
    char *is_text;
    int64_t *numbers, *text_line; /* per feature: cells that were numbers; the first that was not, */
    char **first_text;            /* and its text */
} text_columns;

/* The index of cell's text in dict, as a float (exact below 2^24);
 * *number (may be NULL) says whether the text was a number. */
static int intern_cell(nnk_text_dict *dict, const char *cell, float *out, int *number)
{
    char *end, buf[32];
    double v = strtod(cell, &end);
    int is_number = *cell && !*end && isfinite(v) && isfinite((float)v);
    if (number)
        *number = is_number;
    if (is_number) {
        nnk_format_float((float)v, buf, sizeof buf);
        cell = buf;
    }
    int64_t i = dict->n < (1 << 24) ? nnkd__text_dict_intern(dict, cell) : -1;
    *out = (float)i;
    return i < 0 ? -1 : 0;
}

/* Column k of the rows read so far becomes text: their numbers turn into
 * indices of their texts. */
static int turn_to_text(text_columns *tc, float *x, int64_t rows, int cols, int k, int64_t line, const char *cell)
{
    tc->is_text[k] = 1;
    tc->text_line[k] = line;
    if (!(tc->first_text[k] = strdup(cell)))
        return -1;
    for (int64_t r = 0; r < rows; r++) {
        float *v = &x[r * cols + k];
        char buf[32];
        if (*v != *v)
            continue;
        tc->numbers[k]++;
        nnk_format_float(*v, buf, sizeof buf);
        if (intern_cell(&tc->dicts[k], buf, v, NULL))
            return -1;
    }
    return 0;
}

/* Moves the text columns into d (which holds cols features). */
static int keep_text_columns(nnk_dataset *d, text_columns *tc, int cols)
{
    int n = 0;
    for (int k = 0; k < cols; k++)
        n += tc->is_text[k];
    if (!n)
        return 0;
    if (!(d->text = calloc((size_t)n, sizeof *d->text)))
        return -1;
    for (int k = 0; k < cols; k++) {
        if (!tc->is_text[k])
            continue;
        nnk_text_column *t = &d->text[d->n_text++];
        t->feature = k;
        t->values = tc->dicts[k].values;
        t->n_values = tc->dicts[k].n;
        t->numbers = tc->numbers[k];
        t->text_line = tc->text_line[k];
        t->text = tc->first_text[k];
        tc->first_text[k] = NULL;
        tc->dicts[k].values = NULL;
        tc->dicts[k].n = 0;
    }
    return 0;
}

/* String labels: each row's label text, to become class indices at the end
 * (sorted distinct values), or looked up in known classes at once. */
typedef struct string_labels {
    char **text;
    int64_t n, cap;
    int any;           /* some cell of the label column is not a number */
} string_labels;

static int cmp_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int64_t class_index(const char *const *classes, int64_t n, const char *name)
{
    for (int64_t k = 0; k < n; k++)
        if (!strcmp(classes[k], name))
            return k;
    return -1;
}

/* Turns the collected label texts of d into indices of their sorted
 * distinct values, which become d's class names. */
static int classes_from_file(nnk_dataset *d, string_labels *sl, const char *path, nnk_err *err)
{
    char **sorted = malloc(sizeof(char *) * (size_t)(sl->n ? sl->n : 1));
    if (!sorted)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    memcpy(sorted, sl->text, sizeof(char *) * (size_t)sl->n);
    qsort(sorted, (size_t)sl->n, sizeof(char *), cmp_text);
    int64_t distinct = 0;
    for (int64_t i = 0; i < sl->n; i++)
        if (!distinct || strcmp(sorted[distinct - 1], sorted[i]))
            sorted[distinct++] = sorted[i];
    if (distinct > 100000) {
        free(sorted);
        return nnk_err_set(err, NNK_EDATA, "data '%s': %lld distinct string labels; at most 100000 classes", path,
                           (long long)distinct);
    }
    d->names_storage = calloc((size_t)distinct, sizeof(char *));
    for (int64_t k = 0; d->names_storage && k < distinct; k++)
        d->names_storage[k] = strdup(sorted[k]);
    d->n_classes = distinct;
    d->class_names = (const char *const *)d->names_storage;
    d->text_labels = 1;
    for (int64_t r = 0; d->names_storage && r < sl->n; r++) { /* the names are sorted: a binary search */
        char *const *hit = bsearch(&sl->text[r], d->names_storage, (size_t)distinct, sizeof(char *), cmp_text);
        d->y[r] = (float)(hit - d->names_storage);
    }
    free(sorted);
    return d->names_storage ? NNK_OK : nnk_err_set(err, NNK_ENOMEM, "out of memory");
}

nnk_dataset *nnk_dataset_load_csv(const char *path, const char *label_columns,
                                  const char *feature_columns, nnk_err *err)
{
    return nnk_dataset_load_csv_classes(path, label_columns, feature_columns, NULL, 0, err);
}

static nnk_dataset *load_csv(const char *path, const char *label_columns, const char *feature_columns,
                             const char *const *classes, int64_t n_classes, int64_t lo, int64_t hi, nnk_err *err);

nnk_dataset *nnk_dataset_load_csv_classes(const char *path, const char *label_columns,
                                          const char *feature_columns, const char *const *classes,
                                          int64_t n_classes, nnk_err *err)
{
    return load_csv(path, label_columns, feature_columns, classes, n_classes, 0, INT64_MAX, err);
}

/* The data rows of a CSV file: its non-empty lines after the header. */
static int64_t count_rows(const char *path, nnk_err *err)
{
    FILE *f = nnk_open_input(path, "data", err);
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    int64_t n = 0, lines = 0;
    while (getline(&line, &cap, f) >= 0)
        n += lines++ > 0 && line[0] != '\n' && !(line[0] == '\r' && line[1] == '\n') && line[0];
    free(line);
    fclose(f);
    return n;
}

nnk_dataset *nnkd__load_csv_part(const char *path, const char *label_columns, const char *feature_columns,
                                       int part, int parts, int64_t *total, nnk_err *err)
{
    int64_t n = count_rows(path, err);
    if (n < 0) {
        if (err)
            err->status = NNK_EDATA;
        return NULL;
    }
    int64_t base = n / parts, rem = n % parts, lo = part * base + (part < rem ? part : rem);
    nnk_dataset *d = load_csv(path, label_columns, feature_columns, NULL, 0, lo, lo + base + (part < rem), err);
    if (d && (d->n_text || d->text_labels)) { /* a vocabulary needs every row */
        nnk_err_set(err, NNK_EDATA, "data '%s': column '%s' holds text; a shard of the data cannot fit its classes or "
                    "categories (use numbers, or load the whole file)", path,
                    d->n_text ? d->feature_names[d->text[0].feature] : label_columns);
        nnk_dataset_free(d);
        return NULL;
    }
    if (total)
        *total = n;
    return d;
}

/* A CSV file being read into d. */
typedef struct csv_reader {
    const char *path;
    FILE *f;
    nnk_dataset *d;
    fields header, row;
    int *labels, *feats, n_labels, n_feats, n_header;
    const char *const *classes; /* known classes of string labels, or NULL */
    int64_t n_classes;
    text_columns tc;
    string_labels sl;
    char *hline, *line;   /* the header line (header.v points into it), a data line */
    size_t hcap, lcap;
    int64_t xcap, ycap, lines_cap;
} csv_reader;

/* Every column but the labels, when no feature column is named. */
static int all_but_labels(csv_reader *r, nnk_err *err)
{
    free(r->feats);
    if (!(r->feats = malloc(sizeof(int) * (size_t)r->n_header)))
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int c = 0; c < r->n_header; c++) {
        int is_label = 0;
        for (int k = 0; k < r->n_labels; k++)
            is_label |= r->labels[k] == c;
        if (!is_label)
            r->feats[r->n_feats++] = c;
    }
    return NNK_OK;
}

/* The header row, the label and feature columns, the features' names. */
static int read_header(csv_reader *r, const char *label_columns, const char *feature_columns, nnk_err *err)
{
    ssize_t hlen = getline(&r->hline, &r->hcap, r->f);
    char *hline = r->hline;
    int rc = hlen < 0 ? nnk_err_set(err, NNK_EDATA, "data '%s': empty file (a header row is needed)", r->path) : NNK_OK;
    if (!rc)
        rc = check_line(r->path, 1, hline, hlen, err);
    char *h = hline;
    if (!rc && !strncmp(h, "\xEF\xBB\xBF", 3)) /* a UTF-8 byte order mark is not part of a name */
        h += 3;
    if (!rc && (r->n_header = split_line(h, &r->header)) < 0)
        rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (!rc)
        rc = check_header(r->path, r->header.v, r->n_header, err);
    if (!rc)
        rc = pick_columns(r->path, label_columns, r->header.v, r->n_header, &r->labels, &r->n_labels, "label", err);
    if (!rc)
        rc = pick_columns(r->path, feature_columns, r->header.v, r->n_header, &r->feats, &r->n_feats, "feature", err);
    if (!rc && r->n_feats == 0)
        rc = all_but_labels(r, err);
    if (!rc && r->n_feats == 0)
        rc = nnk_err_set(err, NNK_EDATA, "data '%s': no feature columns", r->path);
    return rc;
}

/* The text-column bookkeeping and the features' names in d. */
static int start_columns(csv_reader *r, nnk_err *err)
{
    text_columns *tc = &r->tc;
    size_t n = (size_t)r->n_feats;
    if (!(tc->dicts = calloc(n, sizeof *tc->dicts)) || !(tc->is_text = calloc(n, 1)) ||
        !(tc->numbers = calloc(n, sizeof(int64_t))) || !(tc->text_line = calloc(n, sizeof(int64_t))) ||
        !(tc->first_text = calloc(n, sizeof(char *))) || !(r->d->feature_names = calloc(n, sizeof(char *))))
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    r->d->x_cols = r->n_feats; /* so that freeing d frees the names */
    for (int k = 0; k < r->n_feats; k++)
        if (!(r->d->feature_names[k] = strdup(r->header.v[r->feats[k]])))
            return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    return NNK_OK;
}

/* The current row's feature cells: numbers, missing cells (NaN until a
 * model fills them, or refuses), or texts of a text column. */
static int read_features(csv_reader *r, int64_t line_no, nnk_err *err)
{
    nnk_dataset *d = r->d;
    int rc = NNK_OK;
    for (int k = 0; k < r->n_feats && !rc; k++) {
        const char *cell = r->row.v[r->feats[k]], *name = r->header.v[r->feats[k]];
        float *x = &d->x_f32[d->rows * r->n_feats + k];
        if (is_missing(cell)) {
            *x = NAN;
            if (!d->n_missing++) {
                char at[300];
                snprintf(at, sizeof at, "line %lld, column '%.200s'", (long long)line_no, name);
                d->missing_at = strdup(at);
            }
            continue;
        }
        if (!r->tc.is_text[k]) { /* a number, parsed once, or the column's first text */
            char *end;
            double v = strtod(cell, &end);
            if (!*end) {
                rc = store_number(r->path, line_no, name, cell, v, x, err);
                continue;
            }
            if (turn_to_text(&r->tc, d->x_f32, d->rows, r->n_feats, k, line_no, cell)) {
                rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
                continue;
            }
        }
        int number = 0;
        if (intern_cell(&r->tc.dicts[k], cell, x, &number))
            rc = nnk_err_set(err, NNK_EDATA, "data '%s': line %lld, column '%s': out of memory or too many distinct texts",
                             r->path, (long long)line_no, name);
        r->tc.numbers[k] += number;
    }
    return rc;
}

/* A label cell kept as text until the column's kind is known. */
static int keep_label_text(string_labels *sl, const char *cell, int text, nnk_err *err)
{
    if (sl->n == sl->cap) {
        int64_t cap = sl->cap ? sl->cap * 2 : 1024;
        char **t = realloc(sl->text, sizeof(char *) * (size_t)cap);
        if (!t)
            return nnk_err_set(err, NNK_ENOMEM, "out of memory");
        sl->text = t;
        sl->cap = cap;
    }
    if (!(sl->text[sl->n++] = strdup(cell)))
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    sl->any |= text;
    return NNK_OK;
}

/* The current row's label cells: numbers, or class names (against the
 * known classes, or kept to become the file's own classes). */
static int read_labels(csv_reader *r, int64_t line_no, nnk_err *err)
{
    nnk_dataset *d = r->d;
    int rc = NNK_OK;
    for (int k = 0; k < r->n_labels && !rc; k++) {
        const char *cell = r->row.v[r->labels[k]], *name = r->header.v[r->labels[k]];
        char *end;
        strtod(cell, &end);
        int text = !*cell || *end; /* not a number: a class name */
        if (text && is_missing(cell)) /* empty, NA, N/A ("nan" reads as a number: refused below) */
            rc = nnk_err_set(err, NNK_EDATA, "data '%s': line %lld, column '%s': the label is missing ('%s')", r->path,
                             (long long)line_no, name, cell);
        else if (text && r->n_labels > 1)
            rc = nnk_err_set(err, NNK_EDATA, "data '%s': line %lld, column '%s': string labels ('%s') need a single label column",
                             r->path, (long long)line_no, name, cell);
        else if (text && r->classes) {
            int64_t c = class_index(r->classes, r->n_classes, cell);
            if (c < 0)
                rc = nnk_err_set(err, NNK_EDATA, "data '%s': line %lld, column '%s': '%s' is not one of the %lld known classes",
                                 r->path, (long long)line_no, name, cell, (long long)r->n_classes);
            d->y[d->rows] = (float)c;
        } else if (r->n_labels == 1 && !r->classes) {
            rc = keep_label_text(&r->sl, cell, text, err);
            if (!rc && !text)
                rc = parse_cell(r->path, line_no, name, cell, &d->y[d->rows], err);
        } else {
            rc = parse_cell(r->path, line_no, name, cell, &d->y[d->rows * r->n_labels + k], err);
        }
    }
    return rc;
}

/* The data rows lo..hi-1 (counting rows, not lines). */
static int read_rows(csv_reader *r, int64_t lo, int64_t hi, nnk_err *err)
{
    nnk_dataset *d = r->d;
    int64_t line_no = 1, data_row = -1;
    ssize_t len;
    int rc = NNK_OK;
    while (!rc && (len = getline(&r->line, &r->lcap, r->f)) >= 0) {
        line_no++;
        if ((rc = check_line(r->path, line_no, r->line, len, err)))
            break;
        char *line = r->line;
        if (line[0] == '\n' || (line[0] == '\r' && line[1] == '\n') || !line[0])
            continue;
        if (++data_row < lo || data_row >= hi) /* another part's row */
            continue;
        int n = split_line(line, &r->row);
        if (n < 0)
            return nnk_err_set(err, NNK_ENOMEM, "out of memory");
        if (n != r->n_header)
            return nnk_err_set(err, NNK_EDATA, "data '%s': line %lld has %d fields, the header has %d", r->path,
                               (long long)line_no, n, r->n_header);
        if (append_row(&d->x_f32, &r->xcap, d->rows, r->n_feats) ||
            (r->n_labels && append_row(&d->y, &r->ycap, d->rows, r->n_labels)) ||
            append_lines(&d->lines, &r->lines_cap, d->rows, line_no))
            return nnk_err_set(err, NNK_ENOMEM, "data '%s': out of memory at line %lld", r->path, (long long)line_no);
        rc = read_features(r, line_no, err);
        if (!rc)
            rc = read_labels(r, line_no, err);
        d->rows++;
    }
    if (!rc && ferror(r->f))
        rc = nnk_err_set(err, NNK_EIO, "data '%s': read error", r->path);
    if (!rc && d->rows == 0)
        rc = nnk_err_set(err, NNK_EDATA, "data '%s': no data rows", r->path);
    return rc;
}

/* After the rows: string labels' classes (the file's own, or the known
 * ones naming them), text columns kept as categories. */
static int finish_columns(csv_reader *r, nnk_err *err)
{
    nnk_dataset *d = r->d;
    int rc = NNK_OK;
    if (r->sl.any) /* a string label column: its sorted values are the classes */
        rc = classes_from_file(d, &r->sl, r->path, err);
    if (!rc && keep_text_columns(d, &r->tc, r->n_feats))
        rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (!rc && r->classes && r->n_labels == 1 && !d->names_storage) { /* the known classes name them */
        d->names_storage = calloc((size_t)(r->n_classes ? r->n_classes : 1), sizeof(char *));
        for (int64_t k = 0; d->names_storage && k < r->n_classes; k++)
            d->names_storage[k] = strdup(r->classes[k]);
        d->n_classes = d->names_storage ? r->n_classes : 0;
        d->class_names = (const char *const *)d->names_storage;
    }
    return rc;
}

static void reader_free(csv_reader *r)
{
    text_columns *tc = &r->tc;
    for (int k = 0; tc->dicts && k < r->n_feats; k++)
        nnkd__text_dict_free(&tc->dicts[k]);
    for (int k = 0; tc->first_text && k < r->n_feats; k++)
        free(tc->first_text[k]);
    free(tc->dicts);
    free(tc->is_text);
    free(tc->numbers);
    free(tc->text_line);
    free(tc->first_text);
    for (int64_t i = 0; i < r->sl.n; i++)
        free(r->sl.text[i]);
    free(r->sl.text);
    if (r->f)
        fclose(r->f);
    free(r->hline);
    free(r->header.v);
    free(r->row.v);
    free(r->labels);
    free(r->feats);
    free(r->line);
}

static nnk_dataset *load_csv(const char *path, const char *label_columns, const char *feature_columns,
                             const char *const *classes, int64_t n_classes, int64_t lo, int64_t hi, nnk_err *err)
{
    csv_reader r = {.path = path, .classes = classes, .n_classes = n_classes};
    if (!(r.f = nnk_open_input(path, "data", err))) {
        if (err)
            err->status = NNK_EDATA;
        return NULL;
    }
    r.d = calloc(1, sizeof *r.d);
    int rc = r.d ? NNK_OK : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (!rc)
        rc = read_header(&r, label_columns, feature_columns, err);
    if (!rc)
        rc = start_columns(&r, err);
    if (!rc)
        rc = read_rows(&r, lo, hi, err);
    if (!rc)
        rc = finish_columns(&r, err);
    nnk_dataset *d = r.d;
    int n_feats = r.n_feats, n_labels = r.n_labels;
    reader_free(&r);
    if (rc) {
        nnk_dataset_free(d);
        return NULL;
    }
    if (!d->x_f32)
        d->x_f32 = malloc(sizeof(float));
    d->x_cols = n_feats;
    d->x_shape.ndim = 1;
    d->x_shape.dim[0] = n_feats;
    d->y_cols = n_labels;
    d->source = strdup(path);
    d->label_columns = strdup(label_columns ? label_columns : "");
    return d;
}
