/* CSV reader: a header row, numeric cells, chosen label and feature
 * columns. Every problem names the file, the line and the column. */
#include "internal.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLS 4096

static int split_line(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    size_t l = strlen(p);
    while (l && (p[l - 1] == '\n' || p[l - 1] == '\r'))
        p[--l] = 0;
    for (;;) {
        if (n == max)
            return -1;
        while (*p == ' ' || *p == '\t')
            p++;
        fields[n++] = p;
        char *c = strchr(p, ',');
        char *end = c ? c : p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (!c) {
            *end = 0;
            return n;
        }
        *end = 0;
        p = c + 1;
    }
}

static int find_col(char **header, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(header[i], name))
            return i;
    return -1;
}

/* Parses "a, b" into column indices; -1 terminated list into out. */
static int pick_columns(const char *path, const char *list, char **header,
                        int n_header, int *out, int *n_out, const char *what,
                        nnk_err *err)
{
    *n_out = 0;
    if (!list || !*list)
        return NNK_OK;
    char *copy = strdup(list), *save = NULL;
    int rc = NNK_OK;
    for (char *t = strtok_r(copy, ", ", &save); t && !rc; t = strtok_r(NULL, ", ", &save)) {
        int c = find_col(header, n_header, t);
        if (c < 0) {
            const char *hint = nnk_suggest(t, (const char *const *)header, n_header);
            rc = nnk_err_set(err, NNK_ECONFIG, "data '%s': no %s column '%s'%s%s%s", path,
                             what, t, hint ? " (did you mean '" : "", hint ? hint : "",
                             hint ? "'?)" : "");
        } else {
            out[(*n_out)++] = c;
        }
    }
    free(copy);
    return rc;
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
    if (!isfinite(v) || !isfinite((float)v))
        return nnk_err_set(err, NNK_EDATA, "data '%s': line %lld, column '%s': NaN or Inf ('%s')",
                           path, (long long)line, col, cell);
    *out = (float)v;
    return NNK_OK;
}

static int append_row(float **arr, int64_t *cap, int64_t rows, int cols)
{
    if ((rows + 1) * cols <= *cap)
        return 0;
    int64_t nc = *cap ? *cap * 2 : 1024;
    while (nc < (rows + 1) * cols)
        nc *= 2;
    float *p = realloc(*arr, (size_t)nc * sizeof(float));
    if (!p)
        return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

nnk_dataset *nnk_dataset_load_csv(const char *path, const char *label_columns,
                                  const char *feature_columns, nnk_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        nnk_err_set(err, NNK_EDATA, "data '%s': cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *hline = NULL, *line = NULL;
    size_t hcap = 0, lcap = 0;
    char *header[MAX_COLS], *fields[MAX_COLS];
    int labels[MAX_COLS], feats[MAX_COLS], n_labels = 0, n_feats = 0, n_header;
    nnk_dataset *d = calloc(1, sizeof *d);
    int rc = d ? NNK_OK : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (!rc && getline(&hline, &hcap, f) < 0)
        rc = nnk_err_set(err, NNK_EDATA, "data '%s': empty file (a header row is needed)", path);
    if (!rc && (n_header = split_line(hline, header, MAX_COLS)) < 0)
        rc = nnk_err_set(err, NNK_EDATA, "data '%s': more than %d columns", path, MAX_COLS);
    if (!rc)
        rc = pick_columns(path, label_columns, header, n_header, labels, &n_labels, "label", err);
    if (!rc)
        rc = pick_columns(path, feature_columns, header, n_header, feats, &n_feats, "feature", err);
    if (!rc && n_feats == 0)
        for (int c = 0; c < n_header; c++) {
            int is_label = 0;
            for (int k = 0; k < n_labels; k++)
                is_label |= labels[k] == c;
            if (!is_label)
                feats[n_feats++] = c;
        }
    if (!rc && n_feats == 0)
        rc = nnk_err_set(err, NNK_EDATA, "data '%s': no feature columns", path);
    int64_t xcap = 0, ycap = 0, line_no = 1;
    while (!rc && getline(&line, &lcap, f) >= 0) {
        line_no++;
        if (line[0] == '\n' || (line[0] == '\r' && line[1] == '\n') || !line[0])
            continue;
        int n = split_line(line, fields, MAX_COLS);
        if (n != n_header) {
            rc = nnk_err_set(err, NNK_EDATA, "data '%s': line %lld has %d fields, the header has %d",
                             path, (long long)line_no, n < 0 ? MAX_COLS : n, n_header);
            break;
        }
        if (append_row(&d->x_f32, &xcap, d->rows, n_feats) ||
            (n_labels && append_row(&d->y, &ycap, d->rows, n_labels))) {
            rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
            break;
        }
        for (int k = 0; k < n_feats && !rc; k++)
            rc = parse_cell(path, line_no, header[feats[k]], fields[feats[k]],
                            &d->x_f32[d->rows * n_feats + k], err);
        for (int k = 0; k < n_labels && !rc; k++)
            rc = parse_cell(path, line_no, header[labels[k]], fields[labels[k]],
                            &d->y[d->rows * n_labels + k], err);
        d->rows++;
    }
    if (!rc && ferror(f))
        rc = nnk_err_set(err, NNK_EIO, "data '%s': read error", path);
    if (!rc && d->rows == 0)
        rc = nnk_err_set(err, NNK_EDATA, "data '%s': no data rows", path);
    fclose(f);
    free(hline);
    free(line);
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
    return d;
}
