/* A small CNN's training trajectory against an independent implementation:
 * conv2d (dilated, and strided with TensorFlow's SAME padding), batch
 * normalization on images, max and average pooling (the latter over real
 * cells only at the border), flatten and dense, trained by SGD (the
 * layers' fused step) and by Adam, compared weight by weight, moving
 * statistics included, after every one of 8 steps, and the epoch losses.
 * The reference (tests/reference/cnn_trajectories.txt) comes from
 * make_cnn_trajectories.py beside it: PyTorch's autograd in float64 in
 * its own NCHW layout; this test needs neither. */
#include "helpers.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* float32 against float64 over 8 steps through two convolutions and batch
 * normalization; a wrong padding side, pooling divisor or statistic moves
 * weights by 1e-3 or more. */
#define WEIGHT_ATOL 5e-6
#define WEIGHT_RTOL 5e-5
#define LOSS_RTOL 2e-5
#define N_TENSORS 10

typedef struct ref_case {
    char name[32], optimizer[32];
    double lr;
    int n_steps, n_weights, n_epochs;
    double *steps;
    double epoch_loss[4];
} ref_case;

static int64_t rows, cols;
static float *x, *y;
static char tensor_layer[N_TENSORS][16], tensor_name[N_TENSORS][32];
static int tensor_size[N_TENSORS], n_start;
static float *start; /* every tensor's starting values, in order */
static ref_case cases[4];
static int n_cases;

static int read_floats(FILE *f, float *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        double d;
        if (fscanf(f, "%lf", &d) != 1)
            return -1;
        v[i] = (float)d;
    }
    return 0;
}

static int read_weights(FILE *f)
{
    int n;
    if (fscanf(f, "%d", &n) != 1 || n != N_TENSORS)
        return -1;
    start = malloc(sizeof(float) * 4096);
    for (int k = 0; k < n; k++) {
        if (fscanf(f, "%15s %31s %d", tensor_layer[k], tensor_name[k], &tensor_size[k]) != 3 || tensor_size[k] < 1 ||
            n_start + tensor_size[k] > 4096 || read_floats(f, start + n_start, tensor_size[k]))
            return -1;
        n_start += tensor_size[k];
    }
    return 0;
}

static int read_case(FILE *f, ref_case *rc)
{
    if (fscanf(f, "%31s optimizer %31s lr %lf steps %d %d", rc->name, rc->optimizer, &rc->lr, &rc->n_steps,
               &rc->n_weights) != 5 ||
        rc->n_steps < 1 || rc->n_weights != n_start)
        return -1;
    rc->steps = malloc(sizeof(double) * (size_t)(rc->n_steps * rc->n_weights));
    if (test_read_doubles(f, rc->steps, (int64_t)rc->n_steps * rc->n_weights))
        return -1;
    if (fscanf(f, " epoch_loss %d", &rc->n_epochs) != 1 || rc->n_epochs < 1 || rc->n_epochs > 4)
        return -1;
    return test_read_doubles(f, rc->epoch_loss, rc->n_epochs);
}

static int load_reference(void)
{
    const char *path = TEST_SOURCE_DIR "/tests/reference/cnn_trajectories.txt";
    FILE *f = test_open_reference(path);
    if (!f)
        return -1;
    char word[64] = "";
    int rc = 0;
    while (!rc && fscanf(f, "%63s", word) == 1 && strcmp(word, "end")) {
        int64_t r, k;
        if (!strcmp(word, "x") || !strcmp(word, "y")) {
            rc = fscanf(f, "%lld %lld", (long long *)&r, (long long *)&k) == 2 && r == 32 && k >= 1 && k <= 128 ? 0 : -1;
            float **v = word[0] == 'x' ? &x : &y;
            *v = malloc(sizeof(float) * (size_t)(r * k));
            rc = rc || read_floats(f, *v, r * k);
            if (word[0] == 'x')
                rows = r, cols = k;
        } else if (!strcmp(word, "weights")) {
            rc = read_weights(f);
        } else {
            rc = strcmp(word, "case") || n_cases == 4 ? -1 : read_case(f, &cases[n_cases++]);
        }
    }
    fclose(f);
    int whole = !rc && !strcmp(word, "end") && x && y && start && n_cases == 2;
    if (!whole)
        fprintf(stderr, "%s: not a whole reference (at '%s')\n", path, word);
    return whole ? 0 : -1;
}

typedef struct watch {
    const ref_case *rc;
    nnk_model *m;
    int step;
    double worst;
    char first_bad[512];
} watch;

static int compare_step(void *user, nnk_event ev, const nnk_train_info *info, nnk_err *err)
{
    (void)info, (void)err;
    watch *w = user;
    if (ev != NNK_BATCH_END)
        return NNK_OK;
    ck_assert_int_lt(w->step, w->rc->n_steps);
    const double *want = w->rc->steps + (int64_t)w->step * w->rc->n_weights;
    float got[4096];
    for (int k = 0, off = 0; k < N_TENSORS; off += tensor_size[k++]) {
        nnk_err e = {0, ""};
        ck_assert_msg(!nnk_model_get_weights(w->m, tensor_layer[k], tensor_name[k], got, tensor_size[k], &e), "%s",
                      e.msg);
        for (int i = 0; i < tensor_size[k]; i++) {
            double d = fabs((double)got[i] - want[off + i]), tol = WEIGHT_ATOL + WEIGHT_RTOL * fabs(want[off + i]);
            if (d / tol > w->worst)
                w->worst = d / tol;
            if (d > tol && !w->first_bad[0])
                snprintf(w->first_bad, sizeof w->first_bad, "step %d, %.15s/%.31s[%d]: %.9g, reference %.9g", w->step + 1,
                         tensor_layer[k], tensor_name[k], i, (double)got[i], want[off + i]);
        }
    }
    w->step++;
    return NNK_OK;
}

/* The reference's model, layer by layer. */
static nnk_model *cnn_model(nnk_registry *reg, const ref_case *rc)
{
    static const struct {
        const char *name, *type, *keys[6], *values[6];
        int n;
    } layers[] = {
        {"conv1", "conv2d", {"filters", "kernel_size", "dilation_rate", "padding", "activation"},
         {"3", "3", "2", "same", "tanh"}, 5},
        {"bn", "batch_normalization", {NULL}, {NULL}, 0},
        {"pool1", "max_pooling2d", {"pool_size"}, {"2"}, 1},
        {"conv2", "conv2d", {"filters", "kernel_size", "strides", "padding", "activation"},
         {"4", "2,3", "1,2", "same", "tanh"}, 5},
        {"pool2", "average_pooling2d", {"pool_size", "strides", "padding"}, {"3", "2", "same"}, 3},
        {"flat", "flatten", {NULL}, {NULL}, 0},
        {"out", "dense", {"units", "activation"}, {"3", "softmax"}, 2},
    };
    nnk_model *m = nnk_model_new(reg);
    nnk_err err = {0, ""};
    nnk_shape in = {3, {8, 8, 2}};
    ck_assert_int_eq(nnk_model_add_input(m, "image", &in, &err), 0);
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++)
        ck_assert_msg(!nnk_model_add_layer(m, layers[i].name, layers[i].type, NULL, 0, layers[i].keys,
                                           layers[i].values, NULL, layers[i].n, &err),
                      "%s", err.msg);
    ck_assert_msg(!nnk_model_compile(m, "sparse_categorical_crossentropy", NULL, rc->optimizer, rc->lr, NULL, NULL,
                                     NULL, 0, &err),
                  "%s", err.msg);
    ck_assert_msg(!nnk_model_build(m, 1, &err), "%s", err.msg);
    for (int k = 0, off = 0; k < N_TENSORS; off += tensor_size[k++])
        ck_assert_msg(!nnk_model_set_weights(m, tensor_layer[k], tensor_name[k], start + off, tensor_size[k], &err),
                      "%s", err.msg);
    return m;
}

START_TEST(cnn_trajectory_matches_reference)
{
    const ref_case *rc = &cases[_i];
    nnk_registry *reg = test_registry();
    nnk_model *m = cnn_model(reg, rc);
    nnk_err err = {0, ""};
    nnk_dataset *d = test_dataset(x, rows, cols, y, 1);
    watch w = {rc, m, 0, 0, ""};
    nnk_callback *cb = nnk_callback_from_fn(compare_step, &w);
    nnk_fit_options fo;
    nnk_fit_options_init(&fo);
    fo.epochs = rc->n_epochs;
    fo.batch_size = 8;
    fo.shuffle = 0;
    fo.callbacks = &cb;
    fo.n_callbacks = 1;
    nnk_history h = {0};
    ck_assert_msg(!nnk_model_fit(m, d, &fo, &h, &err), "%s: %s", rc->name, err.msg);
    ck_assert_int_eq(w.step, rc->n_steps);
    ck_assert_msg(!w.first_bad[0], "%s: %s (worst %.2f of the tolerance)", rc->name, w.first_bad, w.worst);
    for (int e = 0; e < rc->n_epochs; e++)
        ck_assert_msg(fabs(h.values[e * h.n_keys] - rc->epoch_loss[e]) <= LOSS_RTOL * fabs(rc->epoch_loss[e]),
                      "%s: epoch %d loss %.9g, reference %.9g", rc->name, e + 1, h.values[e * h.n_keys],
                      rc->epoch_loss[e]);
    printf("  cnn %-6s %d steps, worst weight %.3f of the tolerance\n", rc->name, rc->n_steps, w.worst);
    nnk_history_clear(&h);
    nnk_callback_free(cb);
    nnk_dataset_free(d);
    nnk_model_free(m);
    nnk_registry_free(reg);
}
END_TEST

int main(void)
{
    if (load_reference())
        return 1;
    Suite *s = suite_create("reference_cnn");
    TCase *tc = tcase_create("all");
    tcase_add_loop_test(tc, cnn_trajectory_matches_reference, 0, n_cases);
    suite_add_tcase(s, tc);
    return test_run_suite(s);
}
