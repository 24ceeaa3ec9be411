/* The classification report and confusion matrix (report.h). */
#include "report.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int report_init(class_report *r, int64_t n, const char *const *names, int64_t n_names, nnk_err *err)
{
    memset(r, 0, sizeof *r);
    if (n < 1 || n > 100000)
        return nnk_err_set(err, NNK_EUSAGE, "report: %lld classes (1 to 100000)", (long long)n);
    r->n = n;
    r->counts = calloc((size_t)(n * n), sizeof(int64_t));
    r->names = calloc((size_t)n, sizeof(char *));
    for (int64_t k = 0; r->names && k < n; k++) {
        char num[24];
        snprintf(num, sizeof num, "%lld", (long long)k);
        r->names[k] = strdup(names && k < n_names && names[k] ? names[k] : num);
        if (!r->names[k])
            break;
    }
    if (!r->counts || !r->names || !r->names[n - 1]) {
        report_free(r);
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    return NNK_OK;
}

void report_free(class_report *r)
{
    for (int64_t k = 0; r->names && k < r->n; k++)
        free(r->names[k]);
    free(r->names);
    free(r->counts);
    memset(r, 0, sizeof *r);
}

static int64_t first_largest(const float *v, int64_t n)
{
    int64_t k = 0;
    for (int64_t j = 1; j < n; j++)
        if (v[j] > v[k])
            k = j;
    return k;
}

int64_t report_label_class(const class_report *r, const float *y, int64_t i, int64_t cols, int64_t label_cols)
{
    if (label_cols == cols && cols > 1)
        return first_largest(y + i * cols, cols);
    float v = y[i * label_cols];
    return v >= 0 && v < (float)r->n && v == floorf(v) ? (int64_t)v : -1;
}

int report_count(class_report *r, const float *pred, const float *y, int64_t rows, int64_t cols, int64_t label_cols,
                 nnk_err *err)
{
    for (int64_t i = 0; i < rows; i++) {
        int64_t p = cols == 1 ? pred[i] > 0.5f : first_largest(pred + i * cols, cols);
        int64_t t = report_label_class(r, y, i, cols, label_cols);
        if (t < 0)
            return nnk_err_set(err, NNK_EDATA, "report: row %lld: label %g names none of the %lld classes",
                               (long long)i + 1, (double)y[i * label_cols], (long long)r->n);
        if (p >= r->n || t >= r->n)
            return nnk_err_set(err, NNK_EDATA, "report: row %lld: class %lld past the %lld classes", (long long)i + 1,
                               (long long)(p > t ? p : t), (long long)r->n);
        r->counts[t * r->n + p]++;
    }
    return NNK_OK;
}

int report_for_model(nnk_model *m, const nnk_dataset *d, int64_t batch_size, class_report *r, float **pred,
                     int64_t *cols, nnk_err *err)
{
    int64_t n_names = nnk_model_class_count(m);
    *pred = nnk_model_predict(m, d, batch_size, cols, err);
    const char **names = n_names ? calloc((size_t)n_names, sizeof(char *)) : NULL;
    for (int64_t k = 0; names && k < n_names; k++)
        names[k] = nnk_model_class_name(m, k);
    int rc = !*pred              ? (int)err->status
             : n_names && !names ? nnk_err_set(err, NNK_ENOMEM, "out of memory")
                                 : report_init(r, *cols > 1 ? *cols : 2, names, n_names, err);
    free(names);
    if (!rc && (rc = report_count(r, *pred, d->y, d->rows, *cols, d->y_cols, err)))
        report_free(r);
    if (rc) {
        free(*pred);
        *pred = NULL;
    }
    return rc;
}

static double no_nan(double a, double b) { return b != 0 ? a / b : 0; }

void report_class(const class_report *r, int64_t k, double *precision, double *recall, double *f1, int64_t *support)
{
    int64_t tp = r->counts[k * r->n + k], predicted = 0, actual = 0;
    for (int64_t j = 0; j < r->n; j++) {
        predicted += r->counts[j * r->n + k];
        actual += r->counts[k * r->n + j];
    }
    *precision = no_nan((double)tp, (double)predicted);
    *recall = no_nan((double)tp, (double)actual);
    *f1 = no_nan(2 * *precision * *recall, *precision + *recall);
    *support = actual;
}

/* The averages: accuracy, then macro and weighted precision, recall, F1;
 * the total support. */
typedef struct averages {
    double accuracy, macro[3], weighted[3];
    int64_t total;
} averages;

static averages average(const class_report *r)
{
    averages a = {0};
    int64_t right = 0;
    for (int64_t k = 0; k < r->n; k++) {
        double v[3];
        int64_t s;
        report_class(r, k, &v[0], &v[1], &v[2], &s);
        for (int i = 0; i < 3; i++) {
            a.macro[i] += v[i] / (double)r->n;
            a.weighted[i] += v[i] * (double)s;
        }
        a.total += s;
        right += r->counts[k * r->n + k];
    }
    for (int i = 0; i < 3; i++)
        a.weighted[i] = no_nan(a.weighted[i], (double)a.total);
    a.accuracy = no_nan((double)right, (double)a.total);
    return a;
}

/* Characters of UTF-8 text (bytes that start one), as Python pads them. */
static int display_len(const char *s)
{
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xC0) != 0x80;
    return n;
}

/* A name for the terminal, right-aligned in width: control characters as
 * '?'. */
static void put_printable(FILE *f, const char *s, int width)
{
    int len = display_len(s);
    for (int i = len; i < width; i++)
        fputc(' ', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        fputc(*p < 32 || *p == 127 ? '?' : *p, f);
}

static void put_counts_header(const class_report *r, FILE *f, int first, int width)
{
    fprintf(f, "%*s", first, "");
    for (int64_t j = 0; j < r->n; j++) {
        fputc(' ', f);
        put_printable(f, r->names[j], width);
    }
    fputc('\n', f);
}

void report_write_text(const class_report *r, FILE *f)
{
    int width = 12; /* "weighted avg" */
    for (int64_t k = 0; k < r->n; k++)
        width = display_len(r->names[k]) > width ? display_len(r->names[k]) : width;
    fprintf(f, "%*s  %9s %9s %9s %9s\n\n", width, "", "precision", "recall", "f1-score", "support");
    for (int64_t k = 0; k < r->n; k++) {
        double p, rc, f1;
        int64_t s;
        report_class(r, k, &p, &rc, &f1, &s);
        put_printable(f, r->names[k], width);
        fprintf(f, "  %9.2f %9.2f %9.2f %9lld\n", p, rc, f1, (long long)s);
    }
    averages a = average(r);
    fprintf(f, "\n%*s  %9s %9s %9.2f %9lld\n", width, "accuracy", "", "", a.accuracy, (long long)a.total);
    fprintf(f, "%*s  %9.2f %9.2f %9.2f %9lld\n", width, "macro avg", a.macro[0], a.macro[1], a.macro[2],
            (long long)a.total);
    fprintf(f, "%*s  %9.2f %9.2f %9.2f %9lld\n", width, "weighted avg", a.weighted[0], a.weighted[1], a.weighted[2],
            (long long)a.total);
    int cell = 1; /* the widest count or name */
    for (int64_t k = 0; k < r->n * r->n; k++) {
        int digits = snprintf(NULL, 0, "%lld", (long long)r->counts[k]);
        cell = digits > cell ? digits : cell;
    }
    for (int64_t k = 0; k < r->n; k++)
        cell = display_len(r->names[k]) > cell ? display_len(r->names[k]) : cell;
    fprintf(f, "\nconfusion matrix (rows: true class, columns: predicted)\n");
    put_counts_header(r, f, width, cell);
    for (int64_t k = 0; k < r->n; k++) {
        put_printable(f, r->names[k], width);
        for (int64_t j = 0; j < r->n; j++)
            fprintf(f, " %*lld", cell, (long long)r->counts[k * r->n + j]);
        fputc('\n', f);
    }
}

/* A CSV field: quoted when it holds a comma, quote or line break, quotes
 * doubled; a leading =, + or @ (or - before other than a digit) gets a '
 * first, so a spreadsheet does not read the name as a formula. */
static void put_csv(FILE *f, const char *s)
{
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        fputc('"', f);
    if (*s && (strchr("=+@", *s) || (*s == '-' && !(s[1] >= '0' && s[1] <= '9'))))
        fputc('\'', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    if (quote)
        fputc('"', f);
}

void report_write_csv(const class_report *r, FILE *f)
{
    fprintf(f, "class,precision,recall,f1-score,support");
    for (int64_t j = 0; j < r->n; j++) {
        fputc(',', f);
        char head[300];
        snprintf(head, sizeof head, "predicted %s", r->names[j]);
        put_csv(f, head);
    }
    fputc('\n', f);
    for (int64_t k = 0; k < r->n; k++) {
        double p, rc, f1;
        int64_t s;
        report_class(r, k, &p, &rc, &f1, &s);
        put_csv(f, r->names[k]);
        fprintf(f, ",%.17g,%.17g,%.17g,%lld", p, rc, f1, (long long)s);
        for (int64_t j = 0; j < r->n; j++)
            fprintf(f, ",%lld", (long long)r->counts[k * r->n + j]);
        fputc('\n', f);
    }
    averages a = average(r);
    fprintf(f, "accuracy,,,%.17g,%lld\n", a.accuracy, (long long)a.total);
    fprintf(f, "macro avg,%.17g,%.17g,%.17g,%lld\n", a.macro[0], a.macro[1], a.macro[2], (long long)a.total);
    fprintf(f, "weighted avg,%.17g,%.17g,%.17g,%lld\n", a.weighted[0], a.weighted[1], a.weighted[2],
            (long long)a.total);
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void put_json(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n' || *p == '\t' || *p == '\r')
            fprintf(f, "\\%c", *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r');
        else if (*p < 32 || *p == 127)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void put_json_scores(FILE *f, const double *v, int64_t support)
{
    fprintf(f, "{\"precision\": %.17g, \"recall\": %.17g, \"f1-score\": %.17g, \"support\": %lld}", v[0], v[1], v[2],
            (long long)support);
}

void report_write_json(const class_report *r, FILE *f)
{
    fputc('{', f);
    for (int64_t k = 0; k < r->n; k++) {
        double v[3];
        int64_t s;
        report_class(r, k, &v[0], &v[1], &v[2], &s);
        fprintf(f, "%s\n  ", k ? "," : "");
        put_json(f, r->names[k]);
        fputs(": ", f);
        put_json_scores(f, v, s);
    }
    averages a = average(r);
    fprintf(f, ",\n  \"accuracy\": %.17g,\n  \"macro avg\": ", a.accuracy);
    put_json_scores(f, a.macro, a.total);
    fputs(",\n  \"weighted avg\": ", f);
    put_json_scores(f, a.weighted, a.total);
    fputs(",\n  \"confusion_matrix\": {\"labels\": [", f);
    for (int64_t k = 0; k < r->n; k++) {
        fputs(k ? ", " : "", f);
        put_json(f, r->names[k]);
    }
    fputs("], \"counts\": [", f);
    for (int64_t k = 0; k < r->n; k++) {
        fputs(k ? ", [" : "[", f);
        for (int64_t j = 0; j < r->n; j++)
            fprintf(f, "%s%lld", j ? ", " : "", (long long)r->counts[k * r->n + j]);
        fputc(']', f);
    }
    fputs("]}\n}\n", f);
}

typedef struct scored {
    float score;
    uint8_t label;
} scored;

static int by_score_down(const void *a, const void *b)
{
    float x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return x > y ? -1 : x < y;
}

int64_t class_curve(int kind, const float *scores, const uint8_t *labels, int64_t n, double *x, double *y, double *area)
{
    scored *s = malloc(sizeof(scored) * (size_t)(n ? n : 1));
    if (!s)
        return -1;
    double positives = 0;
    for (int64_t i = 0; i < n; i++) {
        s[i] = (scored){scores[i], labels[i] != 0};
        positives += s[i].label;
    }
    qsort(s, (size_t)n, sizeof *s, by_score_down);
    double tp = 0, fp = 0;
    int64_t m = 0;
    x[m] = 0, y[m++] = kind == CURVE_PR; /* ROC from (0, 0); PR from (0, 1) */
    for (int64_t i = 0; i < n; i++) {
        tp += s[i].label, fp += !s[i].label;
        if (i + 1 < n && s[i + 1].score == s[i].score)
            continue; /* one point per distinct score */
        if (kind == CURVE_ROC) {
            x[m] = no_nan(fp, (double)n - positives), y[m++] = no_nan(tp, positives);
        } else {
            x[m] = no_nan(tp, positives), y[m++] = no_nan(tp, tp + fp);
            if (tp == positives) /* full recall: scikit-learn stops there */
                break;
        }
    }
    *area = 0;
    for (int64_t i = 1; i < m; i++)
        *area += fabs(x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
    free(s);
    return m;
}
