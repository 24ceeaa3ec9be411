/* The nnkit-vision plugin's layers and reshape, through models: each
 * layer's output against loops written here from TensorFlow's rules
 * (SAME padding: out = ceil(in / stride), the odd padding row and column
 * after; pooling windows read real cells only), max pooling's gradient on
 * ties, the errors a bad configuration gets, and parameter counts against
 * Keras's for the book's chapter-14 model. Gradients are check-plugin's
 * (finite differences); whole trajectories are test_reference's. */
#include "helpers.h"
#include "../core/internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nnk_registry *reg;

/* A model of one input (h, w, c) and a chain of layers, each given as
 * "type key=value key=value ..." (at most 6 pairs); NULL with err set when
 * it does not build. */
static nnk_model *chain(const int64_t in[3], const char *const *specs, int n, nnk_err *err)
{
    nnk_model *m = nnk_model_new(reg);
    nnk_shape s = {3, {in[0], in[1], in[2]}};
    int rc = nnk_model_add_input(m, "image", &s, err);
    for (int i = 0; !rc && i < n; i++) {
        char text[256], *keys[6], *values[6], *save = NULL, name[16];
        snprintf(text, sizeof text, "%s", specs[i]);
        char *type = strtok_r(text, " ", &save);
        int k = 0;
        for (char *kv; k < 6 && (kv = strtok_r(NULL, " ", &save)); k++) {
            keys[k] = kv;
            values[k] = strchr(kv, '=');
            *values[k]++ = 0;
        }
        snprintf(name, sizeof name, "l%d", i);
        rc = nnk_model_add_layer(m, name, type, NULL, 0, (const char **)keys, (const char **)values, NULL, k, err);
    }
    if (!rc)
        rc = nnk_model_compile(m, "mse", NULL, "sgd", 0.01, NULL, NULL, NULL, 0, err);
    if (!rc)
        rc = nnk_model_build(m, 5, err);
    if (rc) {
        nnk_model_free(m);
        return NULL;
    }
    return m;
}

static nnk_model *must_chain(const int64_t in[3], const char *const *specs, int n)
{
    nnk_err err = {0, ""};
    nnk_model *m = chain(in, specs, n, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    return m;
}

/* The last layer's output for rows of x. */
static const float *run(nnk_model *m, const float *x, int64_t rows)
{
    nnk_err err = {0, ""};
    ck_assert_int_eq(nnk__model_ensure_rows(m, rows, &err), 0);
    nnk__model_set_inputs(m, x, rows);
    ck_assert_msg(nnk__model_forward(m, rows, 0, &err) == 0, "%s", err.msg);
    return m->nodes[m->n_nodes - 1].a.data;
}

static float *values(int64_t n, uint64_t seed)
{
    float *v = malloc(sizeof(float) * (size_t)n);
    uint64_t s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 2 - 1);
    }
    return v;
}

/* TensorFlow's output size and padding before, along one axis. */
static void tf_axis(int64_t in, int64_t k, int64_t stride, int64_t dil, int same, int64_t *out, int64_t *before)
{
    int64_t span = (k - 1) * dil + 1;
    *out = same ? (in + stride - 1) / stride : (in - span) / stride + 1;
    int64_t total = (*out - 1) * stride + span - in;
    *before = same && total > 0 ? total / 2 : 0;
}

typedef struct conv_case {
    int64_t h, w, c, filters, kh, kw, sh, sw, dh, dw;
    int same;
} conv_case;

static void check_conv(const conv_case *t)
{
    char spec[200];
    snprintf(spec, sizeof spec, "conv2d filters=%lld kernel_size=%lld,%lld strides=%lld,%lld dilation_rate=%lld,%lld "
                                "padding=%s",
             (long long)t->filters, (long long)t->kh, (long long)t->kw, (long long)t->sh, (long long)t->sw,
             (long long)t->dh, (long long)t->dw, t->same ? "same" : "valid");
    const char *specs[] = {spec};
    int64_t in[3] = {t->h, t->w, t->c}, oh, ow, pt, pl, rows = 2;
    nnk_model *m = must_chain(in, specs, 1);
    tf_axis(t->h, t->kh, t->sh, t->dh, t->same, &oh, &pt);
    tf_axis(t->w, t->kw, t->sw, t->dw, t->same, &ow, &pl);
    ck_assert(m->nodes[0].out_shape.dim[0] == oh && m->nodes[0].out_shape.dim[1] == ow);
    int64_t nk = t->kh * t->kw * t->c * t->filters;
    float *x = values(rows * t->h * t->w * t->c, 1), *k = values(nk, 2), *b = values(t->filters, 3);
    nnk_err err = {0, ""};
    ck_assert_int_eq(nnk_model_set_weights(m, "l0", "kernel", k, nk, &err), 0);
    ck_assert_int_eq(nnk_model_set_weights(m, "l0", "bias", b, t->filters, &err), 0);
    const float *y = run(m, x, rows);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < oh; i++)
            for (int64_t j = 0; j < ow; j++)
                for (int64_t f = 0; f < t->filters; f++) {
                    double want = b[f];
                    for (int64_t u = 0; u < t->kh; u++)
                        for (int64_t v = 0; v < t->kw; v++) {
                            int64_t yy = i * t->sh - pt + u * t->dh, xx = j * t->sw - pl + v * t->dw;
                            if (yy < 0 || yy >= t->h || xx < 0 || xx >= t->w)
                                continue;
                            for (int64_t c = 0; c < t->c; c++)
                                want += (double)x[((r * t->h + yy) * t->w + xx) * t->c + c] *
                                        k[((u * t->kw + v) * t->c + c) * t->filters + f];
                        }
                    float got = y[((r * oh + i) * ow + j) * t->filters + f];
                    ck_assert_msg(fabs(got - want) <= 1e-4 * (1 + fabs(want)), "y[%lld][%lld][%lld][%lld] = %g, want %g",
                                  (long long)r, (long long)i, (long long)j, (long long)f, (double)got, want);
                }
    free(x), free(k), free(b);
    nnk_model_free(m);
}

START_TEST(conv2d_matches_tensorflow_rules)
{
    const conv_case cases[] = {
        {5, 6, 2, 3, 2, 3, 2, 2, 1, 1, 1},  /* same, even kernel, stride 2: odd padding after */
        {7, 7, 1, 4, 3, 3, 1, 1, 1, 1, 1},  /* same, stride 1 */
        {8, 5, 3, 2, 3, 2, 1, 1, 2, 2, 0},  /* valid, dilated */
        {9, 9, 2, 2, 3, 3, 3, 2, 1, 1, 0},  /* valid, uneven strides */
        {6, 6, 2, 2, 3, 3, 2, 2, 2, 1, 1},  /* same, stride and dilation together */
        {4, 4, 3, 5, 1, 1, 1, 1, 1, 1, 0},  /* a 1x1 kernel */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_conv(&cases[i]);
}
END_TEST

/* 3x3 maps, 2x2 windows with stride 2 and same padding: out 2x2, the last
 * row and column of windows reading real cells only. */
START_TEST(pooling_reads_real_cells_only)
{
    int64_t in[3] = {3, 3, 1};
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const char *maxs[] = {"max_pooling2d pool_size=2 padding=same"}, *avgs[] = {"average_pooling2d pool_size=2 "
                                                                                 "padding=same"};
    nnk_model *mx = must_chain(in, maxs, 1), *av = must_chain(in, avgs, 1);
    const float want_max[4] = {5, 6, 8, 9}, want_avg[4] = {3, 4.5f, 7.5f, 9};
    const float *y = run(mx, x, 1);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(y[i] == want_max[i], "max[%d] = %g", i, (double)y[i]);
    y = run(av, x, 1);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(y[i] == want_avg[i], "average[%d] = %g", i, (double)y[i]);
    nnk_model_free(mx), nnk_model_free(av);
    /* strides default to the pool size; valid drops what does not fit */
    int64_t in2[3] = {5, 7, 2};
    const char *valid[] = {"max_pooling2d pool_size=2,3"};
    nnk_model *v = must_chain(in2, valid, 1);
    ck_assert(v->nodes[0].out_shape.dim[0] == 2 && v->nodes[0].out_shape.dim[1] == 2);
    nnk_model_free(v);
}
END_TEST

/* Max pooling's gradient on ties goes to the first maximum, top row first
 * (TensorFlow's CPU kernel); global max pooling shares it among all. */
START_TEST(max_gradients_on_ties)
{
    int64_t in[3] = {2, 2, 1};
    const float x[4] = {1, 1, 1, 1};
    const char *pool[] = {"max_pooling2d pool_size=2"}, *global[] = {"global_max_pooling2d"};
    nnk_model *a = must_chain(in, pool, 1), *b = must_chain(in, global, 1);
    nnk_model *ms[2] = {a, b};
    const float want[2][4] = {{1, 0, 0, 0}, {0.25f, 0.25f, 0.25f, 0.25f}};
    for (int t = 0; t < 2; t++) {
        nnk_model *m = ms[t];
        run(m, x, 1);
        nnk_node *n = &m->nodes[0];
        float dy = 1, dx[4];
        nnk_tensor dout = n->a, din_t = m->inputs[0].x, *din[1] = {&din_t};
        dout.data = &dy;
        din_t.data = dx;
        const nnk_tensor *ins[1] = {&m->inputs[0].x};
        nnk_err err = {0, ""};
        ck_assert_int_eq(n->vt->backward(&n->layer, 1, ins, &n->a, &dout, din, &err), 0);
        for (int i = 0; i < 4; i++)
            ck_assert_msg(dx[i] == want[t][i], "model %d: dx[%d] = %g", t, i, (double)dx[i]);
    }
    nnk_model_free(a), nnk_model_free(b);
}
END_TEST

START_TEST(global_pooling_and_reshape)
{
    int64_t in[3] = {2, 3, 2};
    float x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (float)(i * (i % 2 ? -1 : 1)); /* channel 0: 0 2 4 ...; channel 1: -1 -3 ... */
    const char *avg[] = {"global_average_pooling2d keepdims=true"}, *mx[] = {"global_max_pooling2d"};
    nnk_model *a = must_chain(in, avg, 1), *b = must_chain(in, mx, 1);
    ck_assert(a->nodes[0].out_shape.ndim == 3 && b->nodes[0].out_shape.ndim == 1);
    const float *y = run(a, x, 1);
    ck_assert(y[0] == 5.0f && y[1] == -6.0f);
    y = run(b, x, 1);
    ck_assert(y[0] == 10.0f && y[1] == -1.0f);
    nnk_model_free(a), nnk_model_free(b);
    const char *rs[] = {"reshape target_shape=(3,-1)"};
    nnk_model *r = must_chain(in, rs, 1);
    ck_assert(r->nodes[0].out_shape.ndim == 2 && r->nodes[0].out_shape.dim[0] == 3 && r->nodes[0].out_shape.dim[1] == 4);
    y = run(r, x, 1);
    ck_assert(!memcmp(y, x, sizeof x));
    nnk_model_free(r);
}
END_TEST

/* A bad configuration: one line naming the layer and what is wrong, and
 * the model is not built. */
START_TEST(bad_configurations_are_named)
{
    static const struct {
        int64_t in[3];
        const char *spec, *want;
    } cases[] = {
        {{5, 5, 1}, "conv2d filters=2 kernel_size=7",
         "layer 'l0': a 7-tap window (dilation 1) does not fit in 5 rows with padding valid (input from input "
         "'image' with shape (None, 5, 5, 1))"},
        {{5, 5, 1}, "conv2d filters=2 kernel_size=3,3,3",
         "layer 'l0': kernel_size takes 1 or 2 values (rows, columns), got 3 (input from input 'image' with shape "
         "(None, 5, 5, 1))"},
        {{5, 5, 1}, "conv2d filters=2 kernel_size=0", "layer 'l0': parameter 'kernel_size' must be 1 to 4 integers "
                                                       "in [1, 4096], got '0'"},
        {{5, 5, 1}, "max_pooling2d pool_size=6",
         "layer 'l0': a 6x6 window does not fit in 5x5 cells with padding valid (input from input 'image' with "
         "shape (None, 5, 5, 1))"},
        {{5, 5, 1}, "reshape target_shape=4,-1",
         "layer 'l0': a sample of 25 values cannot take target_shape 4,-1 (input from input 'image' with shape "
         "(None, 5, 5, 1))"},
        {{5, 5, 1}, "reshape target_shape=-1,-1",
         "layer 'l0': target_shape axes are positive, with at most one -1 (input from input 'image' with shape "
         "(None, 5, 5, 1))"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nnk_err err = {0, ""};
        const char *specs[] = {cases[i].spec};
        ck_assert_ptr_null(chain(cases[i].in, specs, 1, &err));
        ck_assert_str_eq(err.msg, cases[i].want);
    }
    /* a conv2d on flat samples says what it needs */
    nnk_model *m = nnk_model_new(reg);
    nnk_shape flat = {1, {25}};
    nnk_err err = {0, ""};
    const char *keys[] = {"filters", "kernel_size"}, *vals[] = {"2", "3"};
    ck_assert_int_eq(nnk_model_add_input(m, "x", &flat, &err), 0);
    ck_assert_int_eq(nnk_model_add_layer(m, "c", "conv2d", NULL, 0, keys, vals, NULL, 2, &err), 0);
    ck_assert_int_eq(nnk_model_compile(m, "mse", NULL, "sgd", 0.01, NULL, NULL, NULL, 0, &err), 0);
    ck_assert_int_ne(nnk_model_build(m, 1, &err), 0);
    ck_assert_str_eq(err.msg, "layer 'c': needs images (rows, columns, channels), got 1 axes per sample (give [input] "
                              "shape = H,W,C, or a reshape before it) (input from input 'x' with shape (None, 25))");
    nnk_model_free(m);
}
END_TEST

/* The book's chapter-14 Fashion-MNIST model: Keras's summary counts
 * (kh kw in_c filters + filters per convolution, in out + out per dense). */
START_TEST(parameter_counts_match_keras)
{
    int64_t in[3] = {28, 28, 1};
    const char *specs[] = {
        "conv2d filters=64 kernel_size=7 padding=same activation=relu",
        "max_pooling2d",
        "conv2d filters=128 kernel_size=3 padding=same activation=relu",
        "conv2d filters=128 kernel_size=3 padding=same activation=relu",
        "max_pooling2d",
        "conv2d filters=256 kernel_size=3 padding=same activation=relu",
        "conv2d filters=256 kernel_size=3 padding=same activation=relu",
        "max_pooling2d",
        "flatten",
        "dense units=128 activation=relu",
        "dropout rate=0.5",
        "dense units=64 activation=relu",
        "dropout rate=0.5",
        "dense units=10 activation=softmax",
    };
    const int64_t keras[] = {3200, 0, 73856, 147584, 0, 295168, 590080, 0, 0, 295040, 0, 8256, 0, 650};
    nnk_model *m = must_chain(in, specs, 14);
    for (int i = 0; i < 14; i++) {
        nnk_layer_info li;
        ck_assert_int_eq(nnk_model_layer(m, i, &li), 0);
        int64_t n = 0;
        for (int w = 0; w < li.n_weights; w++)
            n += nnk_tensor_elements(&li.weights[w].value);
        ck_assert_msg(n == keras[i], "layer %d: %lld parameters, Keras has %lld", i, (long long)n, (long long)keras[i]);
    }
    ck_assert_int_eq(nnk_model_param_count(m), 1413834);
    nnk_model_free(m);
}
END_TEST

static Suite *vision_suite(void)
{
    Suite *s = suite_create("vision");
    TCase *tc = tcase_create("vision");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, conv2d_matches_tensorflow_rules);
    tcase_add_test(tc, pooling_reads_real_cells_only);
    tcase_add_test(tc, max_gradients_on_ties);
    tcase_add_test(tc, global_pooling_and_reshape);
    tcase_add_test(tc, bad_configurations_are_named);
    tcase_add_test(tc, parameter_counts_match_keras);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    reg = test_registry();
    int rc = test_run_suite(vision_suite());
    nnk_registry_free(reg);
    return rc;
}
