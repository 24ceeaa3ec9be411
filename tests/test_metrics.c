/* The classification metrics against tests/reference/metric_references.txt
 * (scikit-learn's values, and Keras's AUC and top-k rules written out in
 * NumPy, by make_metric_references.py): every metric and configuration on
 * every case, fed in uneven batches as training streams them, and fed
 * whole; and the one-line errors of configurations that do not fit the
 * output. */
#include "helpers.h"
#include <math.h>
#include <nnkit/plugin.h>
#include <stdlib.h>
#include <string.h>

static nnk_registry *reg;

typedef struct metric {
    const nnk_metric_vtable *vt;
    nnk_params *params;
    void *state;
    size_t size;
} metric;

/* A metric with "key=value,key=value" (or "-") set and bound to the
 * shape; NNK_OK, or the status with err set. */
static int metric_open(metric *m, const char *name, const char *params, int64_t cols, int64_t label_cols, nnk_err *err)
{
    const nnk_component_info *c = nnk_registry_find(reg, NNK_KIND_METRIC, name);
    ck_assert_msg(c != NULL, "no metric '%s'", name);
    m->vt = c->vtable;
    m->params = nnk_params_new(m->vt->params, m->vt->config_size, name, err);
    ck_assert(m->params != NULL);
    char copy[256];
    snprintf(copy, sizeof copy, "%s", strcmp(params, "-") ? params : "");
    char *save = NULL;
    for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        ck_assert(eq != NULL);
        *eq = 0;
        for (char *c = eq + 1; *c; c++) /* a list's values are ':'-separated in the references */
            *c = *c == ':' ? ',' : *c;
        int rc = nnk_params_set(m->params, kv, eq + 1, NULL, err);
        if (rc)
            return rc;
    }
    const nnk_metric_bind *b = m->vt->extension ? m->vt->extension(NNK_CAP_METRIC_BIND) : NULL;
    m->size = m->vt->state_size;
    if (b && b->bind((void *)nnk_params_config(m->params), cols, label_cols, &m->size, err))
        return err->status;
    m->state = calloc(1, m->size + 1);
    return NNK_OK;
}

static void metric_close(metric *m)
{
    nnk_params_free(m->params);
    free(m->state);
}

/* Value `index` after feeding rows in batches of the given sizes
 * (repeated): result's when index is -1, else that of the metric's
 * several values (nnkit.metric.values/1), which must number more than
 * index. */
static double streamed(metric *m, const float *pred, const float *y, int64_t rows, int64_t cols, int64_t label_cols,
                       const int *sizes, int n_sizes, int index)
{
    const void *cfg = nnk_params_config(m->params);
    memset(m->state, 0, m->size);
    for (int64_t r = 0, k = 0; r < rows; k++) {
        int64_t n = sizes[k % n_sizes] < rows - r ? sizes[k % n_sizes] : rows - r;
        m->vt->update(cfg, m->state, pred + r * cols, y + r * label_cols, n, cols);
        r += n;
    }
    if (index < 0)
        return m->vt->result(cfg, m->state);
    const nnk_metric_values *v = m->vt->extension ? m->vt->extension(NNK_CAP_METRIC_VALUES) : NULL;
    ck_assert_msg(v != NULL, "%s has no nnkit.metric.values/1", m->vt->name);
    int count = v->count(cfg);
    ck_assert_msg(count > index, "%s gives %d values, the reference has value %d", m->vt->name, count, index);
    double values[NNK_MAX_METRIC_VALUES];
    v->results(cfg, m->state, values);
    return values[index];
}

START_TEST(metrics_match_their_references)
{
    FILE *f = test_open_reference(TEST_SOURCE_DIR "/tests/reference/metric_references.txt");
    ck_assert(f != NULL);
    char word[64], name[64], metric_name[64], params[256];
    int cases = 0, checks = 0;
    while (fscanf(f, "%63s", word) == 1) {
        long long rows, cols, label_cols;
        ck_assert_str_eq(word, "case");
        ck_assert_int_eq(fscanf(f, "%63s %lld %lld %lld pred", name, &rows, &cols, &label_cols), 4);
        double *pv = malloc(sizeof(double) * (size_t)(rows * cols)),
               *yv = malloc(sizeof(double) * (size_t)(rows * label_cols));
        float *pred = malloc(sizeof(float) * (size_t)(rows * cols)),
              *y = malloc(sizeof(float) * (size_t)(rows * label_cols));
        ck_assert_int_eq(test_read_doubles(f, pv, rows * cols), 0);
        ck_assert_int_eq(fscanf(f, " y"), 0);
        ck_assert_int_eq(test_read_doubles(f, yv, rows * label_cols), 0);
        for (long long i = 0; i < rows * cols; i++)
            pred[i] = (float)pv[i];
        for (long long i = 0; i < rows * label_cols; i++)
            y[i] = (float)yv[i];
        int n_expect = 0;
        ck_assert_int_eq(fscanf(f, " expect %d", &n_expect), 1);
        for (int e = 0; e < n_expect; e++) {
            double want;
            ck_assert_int_eq(fscanf(f, "%63s %255s %lf", metric_name, params, &want), 3);
            int index = -1; /* metric[i]: value i of several */
            char *bracket = strchr(metric_name, '[');
            if (bracket) {
                index = atoi(bracket + 1);
                *bracket = 0;
            }
            metric m;
            nnk_err err = {0, ""};
            ck_assert_msg(metric_open(&m, metric_name, params, cols, label_cols, &err) == NNK_OK, "%s %s: %s",
                          metric_name, params, err.msg);
            const int uneven[] = {1, 3, 7, 2}, whole[] = {1 << 30};
            double a = streamed(&m, pred, y, rows, cols, label_cols, uneven, 4, index);
            double b = streamed(&m, pred, y, rows, cols, label_cols, whole, 1, index);
            ck_assert_msg(fabs(a - want) <= 1e-6 * fmax(1, fabs(want)), "%s: %s[%d] %s gives %.12g, reference %.12g",
                          name, metric_name, index, params, a, want);
            ck_assert_msg(a == b, "%s: %s %s streamed %.17g, whole %.17g", name, metric_name, params, a, b);
            metric_close(&m);
            checks++;
        }
        free(pv), free(yv), free(pred), free(y);
        cases++;
    }
    fclose(f);
    ck_assert_int_eq(cases, 6);
    printf("  %d metric values on %d cases match their references\n", checks, cases);
}
END_TEST

/* Configurations that cannot fit the output are refused with the
 * parameter's name, before any update. */
START_TEST(bad_configurations_are_refused)
{
    const struct {
        const char *metric, *params, *message;
        int64_t cols;
    } bad[] = {
        {"precision", "class_id=10", "class_id 10 is outside the output's 10 columns", 10},
        {"recall", "thresholds=1.5", "thresholds must be one number in [0, 1], got '1.5'", 10},
        {"true_positives", "thresholds=0.5 0.7", "thresholds must be one number in [0, 1], got '0.5 0.7'", 3},
        {"precision", "thresholds=0.5:0.2:0.5", "thresholds holds 0.5 twice", 3},
        {"recall", "thresholds=0.5::0.7", "thresholds has an empty value in '0.5,,0.7'", 3},
        {"false_negatives", "thresholds=0.1:1.2", "thresholds must be one number in [0, 1], got '1.2'", 3},
        {"f1_score", "average=none", "average = none logs one value per class, at most 128, not 129", 129},
        {"f1_score", "threshold=0", "threshold must be one number in (0, 1], got '0'", 3},
        {"fbeta_score", "threshold=abc", "threshold must be one number in (0, 1], got 'abc'", 3},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        metric m;
        nnk_err err = {0, ""};
        ck_assert_int_eq(metric_open(&m, bad[i].metric, bad[i].params, bad[i].cols, bad[i].cols, &err), NNK_ECONFIG);
        ck_assert_str_eq(err.msg, bad[i].message);
        nnk_params_free(m.params);
    }
    nnk_err err = {0, ""};
    nnk_params *p =
        nnk_params_new(((const nnk_metric_vtable *)nnk_registry_find(reg, NNK_KIND_METRIC, "auc")->vtable)->params,
                       ((const nnk_metric_vtable *)nnk_registry_find(reg, NNK_KIND_METRIC, "auc")->vtable)->config_size,
                       "metric 'auc'", &err);
    ck_assert_int_eq(nnk_params_set(p, "curve", "DET", "exp.ini:3", &err), NNK_ECONFIG);
    ck_assert_msg(strstr(err.msg, "exp.ini:3") && strstr(err.msg, "curve"), "%s", err.msg);
    nnk_params_free(p);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_add_test(tc, metrics_match_their_references);
    tcase_add_test(tc, bad_configurations_are_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    reg = test_registry();
    int rc = test_run_suite(metrics_suite());
    nnk_registry_free(reg);
    return rc;
}
