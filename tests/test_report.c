/* evaluate --report's report (tools/report.c) against scikit-learn's
 * classification_report and confusion_matrix on the same classes
 * (tests/reference/report_references.txt, by make_report_references.py),
 * byte for byte; and names from the data escaped in CSV and JSON. */
#include "../tools/report.h"
#include "helpers.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *read_line(FILE *f, char *buf, size_t n)
{
    if (!fgets(buf, (int)n, f))
        return NULL;
    buf[strcspn(buf, "\n")] = 0;
    return buf;
}

/* Integers after a word on one line. */
static void read_ints(FILE *f, const char *word, int64_t *v, int64_t n)
{
    static char line[1 << 16];
    ck_assert(read_line(f, line, sizeof line) != NULL);
    ck_assert_msg(!strncmp(line, word, strlen(word)), "expected '%s', got '%.40s'", word, line);
    char *p = line + strlen(word);
    for (int64_t i = 0; i < n; i++)
        v[i] = strtoll(p, &p, 10);
}

static char *written(const class_report *r, void (*write)(const class_report *, FILE *))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    write(r, f);
    fclose(f);
    return buf;
}

START_TEST(report_matches_scikit_learn)
{
    FILE *f = test_open_reference(TEST_SOURCE_DIR "/tests/reference/report_references.txt");
    ck_assert(f != NULL);
    char line[4096], name[64];
    int cases = 0;
    while (read_line(f, line, sizeof line) && strncmp(line, "curves ", 7)) {
        long long n, rows;
        ck_assert_int_eq(sscanf(line, "case %63s %lld %lld", name, &n, &rows), 3);
        ck_assert(read_line(f, line, sizeof line) && !strncmp(line, "names ", 6));
        const char *names[16];
        int n_names = 0;
        char *save = NULL;
        if (strcmp(line + 6, "-"))
            for (char *t = strtok_r(line + 6, "\t", &save); t && n_names < 16; t = strtok_r(NULL, "\t", &save))
                names[n_names++] = t;
        class_report r;
        nnk_err err = {0, ""};
        ck_assert_int_eq(report_init(&r, n, names, n_names, &err), NNK_OK);
        int64_t *truth = malloc(sizeof(int64_t) * (size_t)rows), *predicted = malloc(sizeof(int64_t) * (size_t)rows);
        read_ints(f, "true", truth, rows);
        read_ints(f, "pred", predicted, rows);
        float *pred = calloc((size_t)(rows * n), sizeof(float)), *y = malloc(sizeof(float) * (size_t)rows);
        for (long long i = 0; i < rows; i++) { /* the predicted class largest, the rest smaller and unequal */
            for (long long j = 0; j < n; j++)
                pred[i * n + j] = 0.01f * (float)j;
            pred[i * n + predicted[i]] = 0.9f;
            y[i] = (float)truth[i];
        }
        ck_assert_int_eq(report_count(&r, pred, y, rows, n, 1, &err), NNK_OK);
        char *text = written(&r, report_write_text), *at = text;
        long long lines;
        ck_assert(read_line(f, line, sizeof line) && sscanf(line, "report %lld", &lines) == 1);
        for (long long k = 0; k < lines; k++) {
            ck_assert(read_line(f, line, sizeof line) != NULL);
            size_t len = strcspn(at, "\n");
            ck_assert_msg(len == strlen(line) && !strncmp(at, line, len),
                          "%s: line %lld is\n'%.*s', scikit-learn's\n'%s'", name, k + 1, (int)len, at, line);
            at += len + (at[len] == '\n');
        }
        ck_assert_msg(!strncmp(at, "\nconfusion matrix (rows: true class, columns: predicted)\n", 57), "%s: %s", name,
                      at);
        int64_t *cm = malloc(sizeof(int64_t) * (size_t)(n * n));
        read_ints(f, "confusion", cm, n * n);
        for (long long k = 0; k < n * n; k++)
            ck_assert_int_eq(r.counts[k], cm[k]);
        free(cm), free(text), free(truth), free(predicted), free(pred), free(y);
        report_free(&r);
        cases++;
    }
    long long rows, classes;
    ck_assert_int_eq(sscanf(line, "curves %lld %lld", &rows, &classes), 2);
    double *scores = malloc(sizeof(double) * (size_t)(rows * classes));
    int64_t *truth = malloc(sizeof(int64_t) * (size_t)rows);
    ck_assert_int_eq(fscanf(f, " scores"), 0);
    ck_assert_int_eq(test_read_doubles(f, scores, rows * classes), 0);
    ck_assert_int_eq(fscanf(f, "\n"), 0);
    read_ints(f, "true", truth, rows);
    for (long long k = 0; k < classes; k++) {
        float *s = malloc(sizeof(float) * (size_t)rows);
        uint8_t *labels = malloc((size_t)rows);
        double *x = malloc(sizeof(double) * (size_t)(rows + 1)), *y = malloc(sizeof(double) * (size_t)(rows + 1));
        for (long long i = 0; i < rows; i++)
            s[i] = (float)scores[i * classes + k], labels[i] = truth[i] == k;
        long long kk;
        double roc, pr, area;
        ck_assert_int_eq(fscanf(f, " class %lld %lf %lf", &kk, &roc, &pr), 3);
        ck_assert(class_curve(CURVE_ROC, s, labels, rows, x, y, &area) > 1);
        ck_assert_msg(fabs(area - roc) < 1e-12, "class %lld: ROC AUC %.15g, scikit-learn %.15g", k, area, roc);
        ck_assert(class_curve(CURVE_PR, s, labels, rows, x, y, &area) > 1);
        ck_assert_msg(fabs(area - pr) < 1e-12, "class %lld: PR AUC %.15g, scikit-learn %.15g", k, area, pr);
        free(s), free(labels), free(x), free(y);
    }
    free(scores), free(truth);
    fclose(f);
    ck_assert_int_eq(cases, 3);
}
END_TEST

/* Names are outside text: CSV quotes them (and defuses formulas), JSON
 * escapes them, the terminal sees no control characters. */
START_TEST(names_are_escaped)
{
    const char *names[] = {"a \"quoted\", name", "=cmd()", "line\nbreak\x01"};
    class_report r;
    nnk_err err = {0, ""};
    ck_assert_int_eq(report_init(&r, 3, names, 3, &err), NNK_OK);
    const float pred[] = {0.9f, 0.05f, 0.05f, 0.1f, 0.8f, 0.1f, 0.1f, 0.2f, 0.7f, 0.1f, 0.8f, 0.1f};
    const float y[] = {0, 1, 2, 2};
    ck_assert_int_eq(report_count(&r, pred, y, 4, 3, 1, &err), NNK_OK);
    char *csv = written(&r, report_write_csv), *json = written(&r, report_write_json),
         *text = written(&r, report_write_text);
    ck_assert_msg(strstr(csv, "\n\"a \"\"quoted\"\", name\",1,1,1,1,1,0,0\n"), "%s", csv);
    ck_assert_msg(strstr(csv, "\n'=cmd(),0.5,1,0.66666666666666663,1,0,1,0\n"), "%s", csv);
    ck_assert_msg(strstr(csv, "\n\"line\nbreak\x01\",1,0.5,0.66666666666666663,2,0,1,1\n"), "%s", csv);
    ck_assert_msg(strstr(json, "\"a \\\"quoted\\\", name\": {\"precision\": 1,"), "%s", json);
    ck_assert_msg(strstr(json, "\"line\\nbreak\\u0001\": {"), "%s", json);
    ck_assert_msg(strstr(json, "\"counts\": [[1, 0, 0], [0, 1, 0], [0, 1, 1]]"), "%s", json);
    ck_assert_msg(strstr(text, "line?break?") && !strchr(text, '\x01'), "%s", text);
    const float bad[] = {3};
    ck_assert_int_eq(report_count(&r, pred, bad, 1, 3, 1, &err), NNK_EDATA);
    ck_assert_str_eq(err.msg, "report: row 1: label 3 names none of the 3 classes");
    free(csv), free(json), free(text);
    report_free(&r);
}
END_TEST

static Suite *report_suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_add_test(tc, report_matches_scikit_learn);
    tcase_add_test(tc, names_are_escaped);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(report_suite()); }
