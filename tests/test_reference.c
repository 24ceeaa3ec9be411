/* Training trajectories against an independent implementation: every
 * optimizer (with its variants), the L1/L2 penalties on kernels and
 * biases, the three kinds of gradient clipping and every loss, over all
 * 12 steps of 3 epochs, compared weight by weight after every step, and
 * the reported epoch loss. The reference (tests/reference/trajectories.txt)
 * comes from make_trajectories.py beside it: PyTorch's autograd in float64
 * with Keras's update rules written out; this test needs neither. */
#include "helpers.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CASES 64
#define MAX_PARAMS 8

/* nnkit trains in float32 and the reference in float64: after 12 steps the
 * weights agree to a few float32 ulps of the largest step. The tolerance is
 * far below what a wrong rule moves (a frozen bias correction, a halved L2
 * gradient, a missing clip all move weights by 1e-3 or more). */
#define WEIGHT_ATOL 2e-6
#define WEIGHT_RTOL 2e-5
#define LOSS_RTOL 1e-5

typedef struct matrix {
    int64_t rows, cols;
    float *v;
} matrix;

typedef struct ref_case {
    char name[64], optimizer[32], loss[64], output[32], labels[16];
    double lr;
    int n_params;
    char keys[MAX_PARAMS][32];
    char values[MAX_PARAMS][32];
    int n_steps, n_weights, n_epochs;
    double *steps; /* n_steps x n_weights */
    double epoch_loss[8];
} ref_case;

static matrix x, y_reg, y_cls, y_bin, y_onehot;
static double *w0;
static int n_w0;
static ref_case cases[MAX_CASES];
static int n_cases;

static int read_matrix(FILE *f, matrix *m)
{
    if (fscanf(f, "%lld %lld", (long long *)&m->rows, (long long *)&m->cols) != 2 || m->rows < 1 || m->cols < 1)
        return -1;
    m->v = malloc(sizeof(float) * (size_t)(m->rows * m->cols));
    for (int64_t i = 0; i < m->rows * m->cols; i++) {
        double d;
        if (fscanf(f, "%lf", &d) != 1)
            return -1;
        m->v[i] = (float)d;
    }
    return 0;
}

static int read_case(FILE *f, ref_case *rc)
{
    if (fscanf(f, "%63s optimizer %31s lr %lf loss %63s output %31s labels %15s params %d", rc->name, rc->optimizer,
               &rc->lr, rc->loss, rc->output, rc->labels, &rc->n_params) != 7 ||
        rc->n_params < 0 || rc->n_params > MAX_PARAMS)
        return -1;
    for (int i = 0; i < rc->n_params; i++)
        if (fscanf(f, "%31s %31s", rc->keys[i], rc->values[i]) != 2)
            return -1;
    if (fscanf(f, " steps %d %d", &rc->n_steps, &rc->n_weights) != 2 || rc->n_steps < 1 || rc->n_weights != n_w0)
        return -1;
    rc->steps = malloc(sizeof(double) * (size_t)(rc->n_steps * rc->n_weights));
    if (test_read_doubles(f, rc->steps, (int64_t)rc->n_steps * rc->n_weights))
        return -1;
    if (fscanf(f, " epoch_loss %d", &rc->n_epochs) != 1 || rc->n_epochs < 1 || rc->n_epochs > 8)
        return -1;
    return test_read_doubles(f, rc->epoch_loss, rc->n_epochs);
}

/* Reads the whole reference; a message on stderr and -1 when it is not
 * there or not whole. */
static int load_reference(void)
{
    const char *path = TEST_SOURCE_DIR "/tests/reference/trajectories.txt";
    FILE *f = test_open_reference(path);
    if (!f)
        return -1;
    char word[64];
    int rc = 0;
    while (!rc && fscanf(f, "%63s", word) == 1 && strcmp(word, "end")) {
        matrix *m = !strcmp(word, "x") ? &x : !strcmp(word, "y_reg") ? &y_reg : !strcmp(word, "y_cls") ? &y_cls
                  : !strcmp(word, "y_bin") ? &y_bin : !strcmp(word, "y_onehot") ? &y_onehot : NULL;
        if (m) {
            rc = read_matrix(f, m);
        } else if (!strcmp(word, "w0")) {
            rc = fscanf(f, "%d", &n_w0) == 1 && n_w0 == 5 * 8 + 8 + 8 * 3 + 3 ? 0 : -1;
            w0 = malloc(sizeof(double) * 75);
            for (int i = 0; !rc && i < n_w0; i++)
                rc = fscanf(f, "%lf", &w0[i]) == 1 ? 0 : -1;
        } else {
            rc = strcmp(word, "case") || n_cases == MAX_CASES ? -1 : read_case(f, &cases[n_cases++]);
        }
    }
    fclose(f);
    if (rc || strcmp(word, "end") || !x.v || !w0)
        fprintf(stderr, "%s: not a whole reference (at '%s')\n", path, word);
    return rc || strcmp(word, "end") || !x.v || !w0 ? -1 : 0;
}

/* Python writes booleans of its cases as 0/1 and numbers with repr. */
static const char *param_text(const char *v)
{
    return !strcmp(v, "1") ? "true" : !strcmp(v, "0") ? "false" : v;
}

typedef struct watch {
    const ref_case *rc;
    nnk_model *m;
    int step;
    double worst;
    char first_bad[256];
} watch;

/* After every batch: the weights against the reference's after that step. */
static int compare_step(void *user, nnk_event ev, const nnk_train_info *info, nnk_err *err)
{
    (void)info, (void)err;
    watch *w = user;
    if (ev != NNK_BATCH_END)
        return NNK_OK;
    int64_t n;
    float *got = nnk_model_weights_copy(w->m, &n);
    ck_assert_int_eq(n, w->rc->n_weights);
    ck_assert_int_lt(w->step, w->rc->n_steps);
    const double *want = w->rc->steps + (int64_t)w->step * w->rc->n_weights;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]), tol = WEIGHT_ATOL + WEIGHT_RTOL * fabs(want[i]);
        if (d / tol > w->worst)
            w->worst = d / tol;
        if (d > tol && !w->first_bad[0])
            snprintf(w->first_bad, sizeof w->first_bad, "step %d, weight %lld: %.9g, reference %.9g", w->step + 1,
                     (long long)i, (double)got[i], want[i]);
    }
    free(got);
    w->step++;
    return NNK_OK;
}

static void run_case(const ref_case *rc)
{
    nnk_registry *reg = test_registry();
    nnk_model *m = nnk_model_new(reg);
    nnk_err err = {NNK_OK, ""};
    nnk_shape in = {1, {5}};
    ck_assert_int_eq(nnk_model_add_input(m, "input", &in, &err), 0);
    const char *layer_keys[MAX_PARAMS + 2], *layer_values[MAX_PARAMS + 2];
    const char *compile_keys[MAX_PARAMS], *compile_values[MAX_PARAMS];
    int nl = 2, nc = 0;
    nnk_compile_options co;
    nnk_compile_options_init(&co);
    for (int i = 0; i < rc->n_params; i++) {
        const char *k = rc->keys[i], *v = param_text(rc->values[i]);
        if (!strncmp(k, "kernel_", 7) || !strncmp(k, "bias_", 5)) {
            layer_keys[nl] = k;
            layer_values[nl++] = v;
        } else if (!strcmp(k, "clipnorm")) {
            co.clipnorm = atof(v);
        } else if (!strcmp(k, "clipvalue")) {
            co.clipvalue = atof(v);
        } else if (!strcmp(k, "global_clipnorm")) {
            co.global_clipnorm = atof(v);
        } else {
            compile_keys[nc] = k;
            compile_values[nc++] = v;
        }
    }
    layer_keys[0] = "units", layer_values[0] = "8";
    layer_keys[1] = "activation", layer_values[1] = "tanh";
    ck_assert_msg(!nnk_model_add_layer(m, "hidden", "dense", NULL, 0, layer_keys, layer_values, NULL, nl, &err), "%s",
                  err.msg);
    layer_values[0] = "3", layer_values[1] = rc->output;
    ck_assert_msg(!nnk_model_add_layer(m, "output", "dense", NULL, 0, layer_keys, layer_values, NULL, nl, &err), "%s",
                  err.msg);
    const char *loss = rc->loss;
    co.optimizer = rc->optimizer;
    co.learning_rate = rc->lr;
    co.losses = &loss;
    co.n_losses = 1;
    co.keys = compile_keys;
    co.values = compile_values;
    co.n_params = nc;
    ck_assert_msg(!nnk_model_compile_with(m, &co, &err), "%s: %s", rc->name, err.msg);
    ck_assert_msg(!nnk_model_build(m, 1, &err), "%s", err.msg);
    /* the reference's starting weights, in model order */
    static const char *const names[4][2] = {{"hidden", "kernel"}, {"hidden", "bias"}, {"output", "kernel"},
                                            {"output", "bias"}};
    static const int sizes[4] = {40, 8, 24, 3};
    float start[75];
    for (int i = 0; i < n_w0; i++)
        start[i] = (float)w0[i];
    for (int k = 0, off = 0; k < 4; off += sizes[k++])
        ck_assert_msg(!nnk_model_set_weights(m, names[k][0], names[k][1], start + off, sizes[k], &err), "%s",
                      err.msg);
    const matrix *y = !strcmp(rc->labels, "reg") ? &y_reg : !strcmp(rc->labels, "cls") ? &y_cls
                    : !strcmp(rc->labels, "bin") ? &y_bin : &y_onehot;
    nnk_dataset *d = test_dataset(x.v, x.rows, x.cols, y->v, y->cols);
    watch w = {rc, m, 0, 0, ""};
    nnk_callback *cb = nnk_callback_from_fn(compare_step, &w);
    nnk_fit_options fo;
    nnk_fit_options_init(&fo);
    fo.epochs = 3;
    fo.batch_size = 16;
    fo.shuffle = 0;
    fo.callbacks = &cb;
    fo.n_callbacks = 1;
    nnk_history h = {0};
    ck_assert_msg(!nnk_model_fit(m, d, &fo, &h, &err), "%s: %s", rc->name, err.msg);
    ck_assert_int_eq(w.step, rc->n_steps);
    ck_assert_msg(!w.first_bad[0], "%s: %s (worst %.2f of the tolerance)", rc->name, w.first_bad, w.worst);
    ck_assert_int_eq(h.n_epochs, rc->n_epochs);
    ck_assert_str_eq(h.keys[0], "loss");
    for (int e = 0; e < rc->n_epochs; e++)
        ck_assert_msg(fabs(h.values[e * h.n_keys] - rc->epoch_loss[e]) <= LOSS_RTOL * fabs(rc->epoch_loss[e]),
                      "%s: epoch %d loss %.9g, reference %.9g", rc->name, e + 1, h.values[e * h.n_keys],
                      rc->epoch_loss[e]);
    printf("  %-28s 12 steps, worst weight %.3f of the tolerance\n", rc->name, w.worst);
    nnk_history_clear(&h);
    nnk_callback_free(cb);
    nnk_dataset_free(d);
    nnk_model_free(m);
    nnk_registry_free(reg);
}

/* The cases the reference holds: none may go missing unnoticed. */
START_TEST(reference_covers_everything)
{
    static const char *const want[] = {"sgd", "sgd_momentum", "sgd_nesterov", "adagrad", "rmsprop",
                                       "rmsprop_centered_momentum", "adam", "adamax", "nadam", "adamw", "kernel_l1",
                                       "kernel_l2", "bias_l1", "bias_l2", "clipnorm", "clipvalue", "global_clipnorm",
                                       "mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int found = 0;
        for (int k = 0; k < n_cases; k++)
            found |= !strcmp(cases[k].name, want[i]);
        ck_assert_msg(found, "the reference has no case '%s'", want[i]);
    }
}
END_TEST

START_TEST(trajectory_matches_reference)
{
    ck_assert_int_lt(_i, n_cases);
    run_case(&cases[_i]);
}
END_TEST

int main(void)
{
    if (load_reference())
        return 1;
    Suite *s = suite_create("reference");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, reference_covers_everything);
    /* one test per case, so each failure names its case */
    tcase_add_loop_test(tc, trajectory_matches_reference, 0, n_cases);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
