/* The number tables runs write (training.csv, lr_find.csv), read whole and
 * strictly, for every tool that reads them (plot, sweep). */
#include "runner.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The next line of a text (cut in place, a \r before its \n dropped), or
 * NULL at its end. */
static char *next_line(char **text)
{
    if (!*text || !**text)
        return NULL;
    char *line = *text, *nl = strchr(line, '\n');
    *text = nl ? nl + 1 : NULL;
    if (nl)
        *nl = 0;
    if (nl && nl > line && nl[-1] == '\r')
        nl[-1] = 0;
    return line;
}

static int add_row(num_table *t, const double *row, nnk_err *err)
{
    if (t->rows == t->cap) {
        int64_t cap = t->cap ? 2 * t->cap : 64;
        double *v = realloc(t->v, sizeof(double) * (size_t)(cap * t->n_cols));
        if (!v)
            return nnk_err_set(err, NNK_ENOMEM, "out of memory");
        t->v = v;
        t->cap = cap;
    }
    memcpy(t->v + t->rows++ * t->n_cols, row, sizeof(double) * (size_t)t->n_cols);
    return NNK_OK;
}

int num_table_read(const char *path, const char *what, const char *first, num_table *t, nnk_err *err)
{
    memset(t, 0, sizeof *t);
    size_t len;
    char *text = (char *)nnk_read_file(path, what, &len, err), *copy = text ? realloc(text, len + 1) : NULL;
    if (!copy) {
        free(text);
        return text ? nnk_err_set(err, NNK_ENOMEM, "out of memory") : (int)err->status;
    }
    text = copy;
    text[len] = 0;
    char *next = text, *line = next_line(&next);
    int rc = NNK_OK;
    for (char *save = NULL, *c = line ? strtok_r(line, ",", &save) : NULL; !rc && c; c = strtok_r(NULL, ",", &save))
        if (t->n_cols == NUM_TABLE_MAX_COLS)
            rc = nnk_err_set(err, NNK_EDATA, "%s '%s': its header has more than %d columns", what, path,
                             NUM_TABLE_MAX_COLS);
        else if (!(t->names[t->n_cols++] = strdup(c)))
            rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (!rc && (t->n_cols < 2 || strcmp(t->names[0], first)))
        rc = nnk_err_set(err, NNK_EDATA, "%s '%s': not a %s (its header must start with '%s')", what, path,
                         strrchr(path, '/') ? strrchr(path, '/') + 1 : path, first);
    /* every row: one number per column, nothing else */
    for (int line_no = 2; !rc && (line = next_line(&next)); line_no++) {
        if (!*line)
            continue;
        char *end = line, *field = line;
        double row[NUM_TABLE_MAX_COLS];
        int n = 0, bad = 0;
        do {
            field = n ? end + 1 : line;
            row[n++] = strtod(field, &end);
            bad = end == field || (*end && *end != ',');
        } while (!bad && *end == ',' && n < NUM_TABLE_MAX_COLS);
        if (bad || !isfinite(row[0]))
            rc = nnk_err_set(err, NNK_EDATA, "%s '%s': line %d, column %d: '%.40s' is not a number", what, path, line_no, n,
                             field);
        else if (n != t->n_cols || *end)
            rc = nnk_err_set(err, NNK_EDATA, "%s '%s': line %d has %d fields, the header has %d", what, path, line_no,
                             n + (*end ? 1 : 0), t->n_cols);
        else
            rc = add_row(t, row, err);
    }
    free(text);
    if (rc)
        num_table_free(t);
    return rc;
}

int num_table_column(const num_table *t, const char *name)
{
    for (int k = 0; k < t->n_cols; k++)
        if (!strcmp(t->names[k], name))
            return k;
    return -1;
}

void num_table_free(num_table *t)
{
    for (int k = 0; k < t->n_cols; k++)
        free(t->names[k]);
    free(t->v);
    memset(t, 0, sizeof *t);
}
