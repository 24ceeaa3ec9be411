/* Models: dense gradients by finite differences, the perceptron rule by
 * hand, convergence (XOR, Iris, Fashion-MNIST subset), save/load,
 * determinism, shape errors. */
#include "helpers.h"
#include <nnkit/data.h>
#include "../core/internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static nnk_registry *reg;

typedef struct layer_def {
    const char *name, *type;
    const char *keys[4], *values[4];
    int n;
} layer_def;

static nnk_model *make_model(int in_cols, const layer_def *layers, int n_layers, const char *loss,
                             const char *metrics, const char *opt, double lr, uint64_t seed)
{
    nnk_model *m = nnk_model_new(reg);
    nnk_err err = {0, ""};
    nnk_shape s = {1, {in_cols}};
    ck_assert_int_eq(nnk_model_add_input(m, "input", &s, &err), 0);
    for (int i = 0; i < n_layers; i++)
        ck_assert_msg(nnk_model_add_layer(m, layers[i].name, layers[i].type, NULL, 0, layers[i].keys,
                                          layers[i].values, NULL, layers[i].n, &err) == 0,
                      "%s", err.msg);
    ck_assert_msg(nnk_model_compile(m, loss, metrics, opt, lr, NULL, NULL, NULL, 0, &err) == 0, "%s",
                  err.msg);
    ck_assert_msg(nnk_model_build(m, seed, &err) == 0, "%s", err.msg);
    return m;
}

static double model_loss(nnk_model *m, const float *x, const float *y, int rows, int with_grad)
{
    nnk_err err = {0, ""};
    nnk__model_ensure_rows(m, rows, &err);
    nnk__model_set_inputs(m, x, rows);
    ck_assert_int_eq(nnk__model_split_labels(m, y, m->outs[0].label_cols, rows, &err), 0);
    ck_assert_int_eq(nnk__model_forward(m, rows, 1, &err), 0);
    double loss;
    ck_assert_int_eq(nnk__model_loss(m, rows, &loss, NULL, with_grad, &err), 0);
    return loss;
}

/* Every weight of a dense stack (tanh, elu, softmax + fused cross-entropy)
 * against central differences. */
/* The preprocessing setters refuse what the engine could not apply, name
 * it in one line, and leave the model as it was. */
START_TEST(preprocessing_setters_refuse_bad_values)
{
    layer_def l[] = {{"out", "dense", {"units"}, {"1"}, 1}};
    nnk_model *m = make_model(2, l, 1, "mse", NULL, "sgd", 0.01, 1);
    nnk_err err = {0, ""};
    const float fill[2] = {1.5f, 2.5f}, bad_fill[2] = {1.0f, NAN}, mean[2] = {0, 1}, sd[2] = {1, 0};
    ck_assert_int_eq(nnk_model_set_fill(m, fill, 2, &err), 0);
    ck_assert_int_eq(nnk_model_set_fill(m, bad_fill, 2, &err), NNK_EUSAGE);
    ck_assert_str_eq(err.msg, "missing-value fill: feature 1 has nan (a fill must be a number)");
    nnk_preprocessing pp;
    nnk_model_preprocessing(m, &pp);
    ck_assert(pp.fill && pp.fill[0] == 1.5f && pp.fill[1] == 2.5f); /* the earlier fill stays */
    ck_assert_int_eq(nnk_model_set_standardizer(m, mean, sd, 2, &err), NNK_EUSAGE);
    ck_assert_str_eq(err.msg, "standardizer: feature 1: mean 1 and std 0 (std must be > 0)");
    nnk_model_preprocessing(m, &pp);
    ck_assert_ptr_null(pp.mean);
    const char *names[2] = {"a", "b"}, *values[2] = {"x", "y"}, *unsorted[2] = {"y", "x"};
    nnk_category_info cat = {1, values, 2}, bad = {1, unsorted, 2}, none = {1, NULL, 2};
    ck_assert_int_eq(nnk_model_set_categories(m, NULL, 2, &cat, 1, 0, &err), NNK_EUSAGE);
    ck_assert_int_eq(nnk_model_set_categories(m, names, 2, &none, 1, 0, &err), NNK_EUSAGE);
    ck_assert_str_eq(err.msg, "categories: 2 feature names and 1 categories, with a name or a vocabulary missing");
    ck_assert_int_eq(nnk_model_set_categories(m, names, 2, &bad, 1, 0, &err), NNK_EMODEL);
    ck_assert_str_eq(err.msg, "category 'b': values not sorted and distinct at 1");
    ck_assert_int_eq(nnk_model_category_count(m), 0);
    nnk_model_free(m);
}
END_TEST

START_TEST(dense_gradients)
{
    layer_def layers[] = {
        {"h1", "dense", {"units", "activation"}, {"5", "tanh"}, 2},
        {"h2", "dense", {"units", "activation"}, {"4", "elu"}, 2},
        {"out", "dense", {"units", "activation"}, {"3", "softmax"}, 2},
    };
    nnk_model *m = make_model(3, layers, 3, "sparse_categorical_crossentropy", NULL, "sgd", 0.1, 7);
    ck_assert(m->outs[0].fused);
    const float x[12] = {0.5f, -1.0f, 2.0f, 0.1f, 0.3f, -0.7f, -1.2f, 0.8f, 0.0f, 1.5f, -0.4f, 0.9f};
    const float y[4] = {0, 2, 1, 2};
    model_loss(m, x, y, 4, 1);
    int checked = 0;
    for (int i = 0; i < nnk__model_weight_count(m); i++) {
        nnk_weight *w = nnk__model_weight_at(m, i, NULL);
        int64_t n = w->value.shape[0] * (w->value.ndim > 1 ? w->value.shape[1] : 1);
        float *analytic = malloc(sizeof(float) * (size_t)n);
        memcpy(analytic, w->grad.data, sizeof(float) * (size_t)n);
        for (int64_t j = 0; j < n; j++) {
            float keep = w->value.data[j];
            double h = 1e-2;
            w->value.data[j] = keep + (float)h;
            double lp = model_loss(m, x, y, 4, 0);
            w->value.data[j] = keep - (float)h;
            double lm = model_loss(m, x, y, 4, 0);
            w->value.data[j] = keep;
            double fd = (lp - lm) / (2 * h);
            ck_assert_msg(fabs(fd - analytic[j]) < 1e-3 + 1e-2 * fabs(fd),
                          "weight %d[%lld]: analytic %g, finite difference %g", i, (long long)j,
                          (double)analytic[j], fd);
            checked++;
        }
        free(analytic);
    }
    ck_assert_int_eq(checked, 3 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3);
    nnk_model_free(m);
}
END_TEST

/* The book's rule worked through by hand: eta = 0.5, weights from zero,
 * heaviside(0) = 1.
 *   x1 = (1, 2), y = 0: yhat = 1 -> w = -0.5 (1, 2) = (-0.5, -1), b = -0.5
 *   x2 = (3, 1), y = 1: z = -1.5 - 1 - 0.5 = -3 -> yhat = 0
 *                       -> w = (-0.5 + 1.5, -1 + 0.5) = (1, -0.5), b = 0 */
START_TEST(perceptron_rule_by_hand)
{
    layer_def layers[] = {{"tlu", "dense", {"units", "activation", "kernel_initializer"},
                           {"1", "heaviside", "zeros"}, 3}};
    nnk_model *m = make_model(2, layers, 1, "mse", "accuracy", "perceptron", 0.5, 1);
    const float x[4] = {1, 2, 3, 1}, y[2] = {0, 1};
    nnk_dataset *d = test_dataset(x, 2, 2, y, 1);
    nnk_fit_options o;
    nnk_fit_options_init(&o);
    o.epochs = 1;
    o.shuffle = 0;
    nnk_err err = {0, ""};
    ck_assert_msg(nnk_model_fit(m, d, &o, NULL, &err) == 0, "%s", err.msg);
    const float *k = m->nodes[0].layer.weights[0].value.data;
    const float *b = m->nodes[0].layer.weights[1].value.data;
    ck_assert(k[0] == 1.0f && k[1] == -0.5f && b[0] == 0.0f);
    nnk_dataset_free(d);
    nnk_model_free(m);
}
END_TEST

START_TEST(perceptron_needs_a_step_activation)
{
    nnk_model *m = nnk_model_new(reg);
    nnk_err err = {0, ""};
    nnk_shape s = {1, {2}};
    nnk_model_add_input(m, "input", &s, &err);
    const char *k[] = {"units", "activation"}, *v[] = {"1", "sigmoid"};
    nnk_model_add_layer(m, "tlu", "dense", NULL, 0, k, v, NULL, 2, &err);
    nnk_model_compile(m, "mse", NULL, "perceptron", 1.0, NULL, NULL, NULL, 0, &err);
    ck_assert_int_eq(nnk_model_build(m, 1, &err), NNK_ECONFIG);
    ck_assert_str_eq(err.msg, "optimizer 'perceptron' needs a single trainable layer with a step activation (heaviside or sign)");
    nnk_model_free(m);
}
END_TEST

static nnk_dataset *iris_setosa(void)
{
    nnk_err err = {0, ""};
    nnk_dataset *d = nnk_dataset_load_csv(TEST_SOURCE_DIR "/examples/data/iris_setosa.csv",
                                          "is_setosa", "petal_length, petal_width", &err);
    ck_assert_msg(d != NULL, "%s", err.msg);
    return d;
}

START_TEST(iris_perceptron_separates)
{
    layer_def layers[] = {{"tlu", "dense", {"units", "activation", "kernel_initializer"},
                           {"1", "heaviside", "zeros"}, 3}};
    nnk_model *m = make_model(2, layers, 1, "mse", "accuracy", "perceptron", 1.0, 42);
    nnk_dataset *d = iris_setosa();
    nnk_fit_options o;
    nnk_fit_options_init(&o);
    o.epochs = 10;
    nnk_err err = {0, ""};
    nnk_history h = {0};
    ck_assert_int_eq(nnk_model_fit(m, d, &o, &h, &err), 0);
    char names[8][64];
    double v[8];
    int n;
    ck_assert_int_eq(nnk_model_evaluate(m, d, 32, names, v, 8, &n, &err), 0);
    ck_assert_str_eq(names[1], "accuracy");
    ck_assert_msg(v[1] == 1.0, "training accuracy %g", v[1]);
    nnk_history_clear(&h);
    nnk_dataset_free(d);
    nnk_model_free(m);
}
END_TEST

/* A metric with several values logs one per value (nnkit.metric.values/1),
 * named by its suffixes; and mode = auto's direction of every log: losses
 * lower, each metric as it says (nnkit.metric.direction/1, several values
 * as their metric), other names by Keras's rule; the host's capability
 * answers the same. */
START_TEST(logs_of_several_values_and_their_directions)
{
    nnk_model *m = nnk_model_new(reg);
    nnk_err err = {0, ""};
    nnk_shape s = {1, {2}};
    ck_assert_int_eq(nnk_model_add_input(m, "input", &s, &err), 0);
    const char *lk[] = {"units", "activation"}, *lv[] = {"3", "softmax"};
    ck_assert_int_eq(nnk_model_add_layer(m, "out", "dense", NULL, 0, lk, lv, NULL, 2, &err), 0);
    const char *keys[] = {"f1_score.average", "precision.thresholds"}, *values[] = {"none", "0.2, 0.7"};
    ck_assert_msg(nnk_model_compile(m, "sparse_categorical_crossentropy", "accuracy, precision, false_negatives, f1_score, mae",
                                    "sgd", 0.1, keys, values, NULL, 2, &err) == 0,
                  "%s", err.msg);
    ck_assert_msg(nnk_model_build(m, 1, &err) == 0, "%s", err.msg);
    nnk_dataset *d = iris_setosa();
    char names[16][64];
    double v[16];
    int n = 0;
    ck_assert_msg(nnk_model_evaluate(m, d, 32, names, v, 16, &n, &err) == 0, "%s", err.msg);
    const char *want[] = {"loss", "accuracy", "precision_0.2", "precision_0.7", "false_negatives",
                          "f1_score_0", "f1_score_1", "f1_score_2", "mae"};
    ck_assert_int_eq(n, 9);
    for (int i = 0; i < n; i++)
        ck_assert_str_eq(names[i], want[i]);
    ck_assert_int_eq(nnk_model_evaluate(m, d, 32, names, v, 8, &n, &err), NNK_EUSAGE); /* no room: refused */
    const struct {
        const char *log;
        int higher;
    } dirs[] = {{"loss", 0}, {"val_loss", 0}, {"accuracy", 1}, {"val_precision_0.2", 1}, {"precision_0.7", 1},
                {"val_false_negatives", 0}, {"f1_score_2", 1}, {"val_f1_score_0", 1}, {"val_mae", 0},
                {"val_my_acc", 1}, {"val_auc_of_mine", 1}, {"val_something", 0}};
    const nnk_host_log_direction *host = NNK_CAPABILITY(&nnk__host_table, NNK_CAP_LOG_DIRECTION);
    ck_assert(host != NULL);
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        ck_assert_msg(nnk_model_log_higher_is_better(m, dirs[i].log) == dirs[i].higher, "%s", dirs[i].log);
        ck_assert_int_eq(host->higher_is_better((const nnk_model_view *)m, dirs[i].log), dirs[i].higher);
    }
    ck_assert_int_eq(nnk_model_log_higher_is_better(NULL, "val_precision"), 0); /* no model: the name rule */
    ck_assert_int_eq(nnk_model_log_higher_is_better(NULL, "val_auc"), 1);
    nnk_dataset_free(d);
    nnk_model_free(m);
}
END_TEST

START_TEST(xor_converges)
{
    layer_def layers[] = {
        {"h", "dense", {"units", "activation"}, {"8", "tanh"}, 2},
        {"out", "dense", {"units", "activation"}, {"1", "sigmoid"}, 2},
    };
    nnk_model *m = make_model(2, layers, 2, "binary_crossentropy", "accuracy", "sgd", 0.5, 5);
    ck_assert(m->outs[0].fused);
    const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1}, y[4] = {0, 1, 1, 0};
    nnk_dataset *d = test_dataset(x, 4, 2, y, 1);
    nnk_fit_options o;
    nnk_fit_options_init(&o);
    o.epochs = 500;
    o.batch_size = 4;
    nnk_err err = {0, ""};
    ck_assert_int_eq(nnk_model_fit(m, d, &o, NULL, &err), 0);
    int64_t cols;
    float *p = nnk_model_predict(m, d, 4, &cols, &err);
    for (int i = 0; i < 4; i++)
        ck_assert_msg((p[i] > 0.5f) == (y[i] > 0.5f), "xor(%g,%g) -> %g", (double)x[2 * i],
                      (double)x[2 * i + 1], (double)p[i]);
    free(p);
    nnk_dataset_free(d);
    nnk_model_free(m);
}
END_TEST

static nnk_model *iris_mlp(uint64_t seed)
{
    layer_def layers[] = {
        {"h", "dense", {"units", "activation"}, {"16", "relu"}, 2},
        {"out", "dense", {"units", "activation"}, {"3", "softmax"}, 2},
    };
    return make_model(4, layers, 2, "sparse_categorical_crossentropy", "accuracy", "sgd", 0.05, seed);
}

static nnk_dataset *iris(void)
{
    nnk_err err = {0, ""};
    nnk_dataset *d = nnk_dataset_load_csv(TEST_SOURCE_DIR "/examples/data/iris.csv", "species",
                                          "sepal_length,sepal_width,petal_length,petal_width", &err);
    ck_assert_msg(d != NULL, "%s", err.msg);
    return d;
}

static float *train_iris(uint64_t seed, int64_t *n)
{
    nnk_model *m = iris_mlp(seed);
    nnk_dataset *d = iris();
    nnk_err err = {0, ""};
    nnk_model_fit_standardizer(m, d, &err);
    nnk_fit_options o;
    nnk_fit_options_init(&o);
    o.epochs = 5;
    o.batch_size = 8;
    o.seed = seed;
    ck_assert_int_eq(nnk_model_fit(m, d, &o, NULL, &err), 0);
    float *w = nnk_model_weights_copy(m, n);
    nnk_dataset_free(d);
    nnk_model_free(m);
    return w;
}

START_TEST(same_seed_same_weights)
{
    int64_t n1, n2, n3;
    float *a = train_iris(11, &n1), *b = train_iris(11, &n2), *c = train_iris(12, &n3);
    ck_assert_int_eq(n1, n2);
    ck_assert(memcmp(a, b, sizeof(float) * (size_t)n1) == 0);
    ck_assert(memcmp(a, c, sizeof(float) * (size_t)n1) != 0);
    free(a);
    free(b);
    free(c);
}
END_TEST


typedef struct event_log {
    char seq[256];
    int n;
    double lr_seen[8];
} event_log;

/* Records the order of events, halves the learning rate after every
 * epoch, and stops training at the end of the second epoch. */
static int recording_callback(void *user, nnk_event ev, const nnk_train_info *info, nnk_err *err)
{
    event_log *log = user;
    (void)err;
    static const char code[] = {'T', 't', 'E', 'e', 'B', 'b'};
    if ((ev == NNK_BATCH_BEGIN || ev == NNK_BATCH_END) && info->batch > 0)
        return 0; /* one batch per epoch is enough to see the order */
    if (log->n < 250)
        log->seq[log->n++] = code[ev];
    if (ev == NNK_EPOCH_END) {
        ck_assert_int_eq(info->n_logs, 4);
        ck_assert_str_eq(info->log_names[0], "loss");
        ck_assert_str_eq(info->log_names[3], "val_accuracy");
        log->lr_seen[info->epoch] = *info->learning_rate;
        *info->learning_rate /= 2;
        if (info->epoch == 1)
            *info->stop = 1;
    }
    return 0;
}

START_TEST(callbacks_see_events_and_steer)
{
    nnk_model *m = iris_mlp(3);
    nnk_dataset *d = iris(), *val = NULL;
    nnk_err err = {0, ""};
    ck_assert_int_eq(nnk_dataset_split(d, 0.2, &val, &err), 0);
    event_log log = {{0}, 0, {0}};
    nnk_callback *cb = nnk_callback_from_fn(recording_callback, &log);
    nnk_fit_options o;
    nnk_fit_options_init(&o);
    o.epochs = 10;
    o.validation = val;
    o.callbacks = &cb;
    o.n_callbacks = 1;
    nnk_history h = {0};
    ck_assert_int_eq(nnk_model_fit(m, d, &o, &h, &err), 0);
    ck_assert_str_eq(log.seq, "TEBbeEBbet");
    ck_assert_int_eq(h.n_epochs, 2);
    ck_assert(log.lr_seen[0] == 0.05 && log.lr_seen[1] == 0.025);
    ck_assert(nnk_model_learning_rate(m) == 0.0125);
    nnk_history_clear(&h);
    nnk_callback_free(cb);
    nnk_dataset_free(d);
    nnk_dataset_free(val);
    nnk_model_free(m);
}
END_TEST

static int failing_callback(void *user, nnk_event ev, const nnk_train_info *info, nnk_err *err)
{
    (void)user, (void)info;
    if (ev == NNK_EPOCH_END)
        return nnk_err_set(err, NNK_EIO, "disk full");
    return 0;
}

START_TEST(callback_errors_stop_training)
{
    nnk_model *m = iris_mlp(3);
    nnk_dataset *d = iris();
    nnk_err err = {0, ""};
    nnk_callback *cb = nnk_callback_from_fn(failing_callback, NULL);
    nnk_fit_options o;
    nnk_fit_options_init(&o);
    o.epochs = 3;
    o.callbacks = &cb;
    o.n_callbacks = 1;
    ck_assert_int_eq(nnk_model_fit(m, d, &o, NULL, &err), NNK_EIO);
    ck_assert_str_eq(err.msg, "disk full");
    nnk_callback_free(cb);
    nnk_dataset_free(d);
    nnk_model_free(m);
}
END_TEST


/* dropout: at inference the identity; in training about `rate` of the
 * values are zero and the rest scaled by 1 / (1 - rate). */
START_TEST(dropout_behaviour)
{
    layer_def layers[] = {{"drop", "dropout", {"rate"}, {"0.25"}, 1}};
    nnk_model *m = make_model(400, layers, 1, "mse", NULL, "sgd", 0.1, 5);
    nnk_err err = {0, ""};
    float x[800];
    for (int i = 0; i < 800; i++)
        x[i] = 1.0f + (float)(i % 7);
    nnk__model_ensure_rows(m, 2, &err);
    nnk__model_set_inputs(m, x, 2);
    ck_assert_int_eq(nnk__model_forward(m, 2, 0, &err), 0);
    ck_assert(memcmp(m->nodes[0].a.data, x, sizeof x) == 0);
    ck_assert_int_eq(nnk__model_forward(m, 2, 1, &err), 0);
    int zeros = 0;
    for (int i = 0; i < 800; i++) {
        float v = m->nodes[0].a.data[i];
        if (v == 0)
            zeros++;
        else
            ck_assert_msg(fabsf(v - x[i] / 0.75f) < 1e-5f, "kept value %g, want %g", (double)v, (double)(x[i] / 0.75f));
    }
    ck_assert_msg(zeros > 150 && zeros < 250, "%d of 800 dropped at rate 0.25", zeros);
    nnk_model_free(m);
}
END_TEST

/* batch_normalization: training output has mean 0 and variance ~1 per
 * feature, and the moving statistics move by (1 - momentum). */
START_TEST(batch_normalization_behaviour)
{
    layer_def layers[] = {{"bn", "batch_normalization", {"momentum"}, {"0.9"}, 1}};
    nnk_model *m = make_model(2, layers, 1, "mse", NULL, "sgd", 0.1, 5);
    nnk_err err = {0, ""};
    const float x[8] = {1, 10, 2, 20, 3, 30, 6, 40}; /* feature means 3 and 25 */
    nnk__model_ensure_rows(m, 4, &err);
    nnk__model_set_inputs(m, x, 4);
    ck_assert_int_eq(nnk__model_forward(m, 4, 1, &err), 0);
    for (int j = 0; j < 2; j++) {
        double mean = 0, var = 0;
        for (int i = 0; i < 4; i++)
            mean += m->nodes[0].a.data[i * 2 + j] / 4.0;
        for (int i = 0; i < 4; i++)
            var += pow(m->nodes[0].a.data[i * 2 + j] - mean, 2) / 4.0;
        ck_assert(fabs(mean) < 1e-5 && fabs(var - 1) < 1e-2);
    }
    const nnk_weight *mm = &m->nodes[0].layer.weights[2], *mv = &m->nodes[0].layer.weights[3];
    ck_assert_str_eq(mm->name, "moving_mean");
    ck_assert(!mm->trainable && !mv->trainable);
    ck_assert(fabsf(mm->value.data[0] - 0.3f) < 1e-6f && fabsf(mm->value.data[1] - 2.5f) < 1e-6f);
    /* batch variance of feature 0: (4 + 1 + 0 + 9) / 4 = 3.5; 0.9 * 1 + 0.1 * 3.5 */
    ck_assert(fabsf(mv->value.data[0] - 1.25f) < 1e-5f);
    nnk_model_free(m);
}
END_TEST

/* batch_normalization's one-pass moments, taken around the moving mean
 * (0 at first), are summed again around the mean when the shift is too
 * far for double: 4096 rows near 1e6 with a spread of a tenth, whose sum
 * of squares in one pass loses 4% of the variance, still normalize to
 * variance 1 and move the moving variance by the exact batch variance. */
START_TEST(batch_normalization_far_from_its_moving_mean)
{
    enum { ROWS = 4096 };
    layer_def layers[] = {{"bn", "batch_normalization", {"momentum", "epsilon"}, {"0.9", "1e-12"}, 2}};
    nnk_model *m = make_model(2, layers, 1, "mse", NULL, "sgd", 0.1, 5);
    nnk_err err = {0, ""};
    float *x = malloc(sizeof(float) * 2 * ROWS);
    double mean = 0, var = 0;
    for (int i = 0; i < ROWS; i++) {
        x[2 * i] = 1e6f + 0.0625f * (float)((i * 37) % 17 - 8); /* exact floats */
        x[2 * i + 1] = (float)(i % 5);
        mean += x[2 * i] / (double)ROWS;
    }
    for (int i = 0; i < ROWS; i++)
        var += (x[2 * i] - mean) * (x[2 * i] - mean) / ROWS;
    ck_assert_int_eq(nnk__model_ensure_rows(m, ROWS, &err), 0);
    nnk__model_set_inputs(m, x, ROWS);
    ck_assert_int_eq(nnk__model_forward(m, ROWS, 1, &err), 0);
    double squares = 0;
    for (int i = 0; i < ROWS; i++)
        squares += pow(m->nodes[0].a.data[2 * i], 2) / ROWS;
    ck_assert_msg(fabs(squares - 1) < 1e-4, "normalized variance %.7g, want 1", squares);
    const nnk_weight *mv = &m->nodes[0].layer.weights[3];
    ck_assert_msg(fabs(mv->value.data[0] - (0.9 + 0.1 * var)) < 1e-6, "moving variance %.7g, want %.7g",
                  (double)mv->value.data[0], 0.9 + 0.1 * var);
    free(x);
    nnk_model_free(m);
}
END_TEST

/* normalization adapts to the training data before the first epoch. */
START_TEST(normalization_adapts)
{
    layer_def layers[] = {{"norm", "normalization", {NULL}, {NULL}, 0},
                          {"out", "dense", {"units"}, {"1"}, 1}};
    nnk_model *m = make_model(2, layers, 2, "mse", NULL, "sgd", 0.01, 5);
    const float x[8] = {1, 100, 3, 300, 5, 500, 7, 700}, y[4] = {0, 1, 0, 1};
    nnk_dataset *d = test_dataset(x, 4, 2, y, 1);
    nnk_err err = {0, ""};
    nnk_fit_options o;
    nnk_fit_options_init(&o);
    o.epochs = 1;
    ck_assert_int_eq(nnk_model_fit(m, d, &o, NULL, &err), 0);
    const float *mean = m->nodes[0].layer.weights[0].value.data, *var = m->nodes[0].layer.weights[1].value.data;
    ck_assert(fabsf(mean[0] - 4) < 1e-5f && fabsf(mean[1] - 400) < 1e-3f);
    ck_assert(fabsf(var[0] - 5) < 1e-4f && fabsf(var[1] - 50000) < 1);
    ck_assert_int_eq(m->nodes[0].adapted, 1);
    nnk_dataset_free(d);
    nnk_model_free(m);
}
END_TEST


/* l2 on the kernel adds l2 * sum w^2 to the reported loss (as Keras's
 * regularization losses do), and clipvalue bounds every update. */
START_TEST(regularization_and_clipping)
{
    layer_def plain[] = {{"out", "dense", {"units"}, {"2"}, 1}};
    layer_def regularized[] = {{"out", "dense", {"units", "kernel_l2", "kernel_l1"}, {"2", "0.5", "0.25"}, 3}};
    nnk_model *a = make_model(3, plain, 1, "mse", NULL, "sgd", 0.1, 9);
    nnk_model *b = make_model(3, regularized, 1, "mse", NULL, "sgd", 0.1, 9);
    const float x[6] = {1, 2, 3, -1, 0.5f, 2}, y[4] = {1, 0, 0, 1};
    nnk_dataset *d = test_dataset(x, 2, 3, y, 2);
    nnk_err err = {0, ""};
    char names[4][64];
    double va[4], vb[4];
    int n;
    ck_assert_int_eq(nnk_model_evaluate(a, d, 32, names, va, 4, &n, &err), 0);
    ck_assert_int_eq(nnk_model_evaluate(b, d, 32, names, vb, 4, &n, &err), 0);
    const nnk_tensor *k = &b->nodes[0].layer.weights[0].value;
    double pen = 0;
    for (int i = 0; i < 6; i++)
        pen += 0.5 * k->data[i] * k->data[i] + 0.25 * fabs(k->data[i]);
    ck_assert_msg(fabs(vb[0] - va[0] - pen) < 1e-6, "loss %g vs %g + penalty %g", vb[0], va[0], pen);
    nnk_model_free(a);
    nnk_model_free(b);

    /* one step of sgd at lr 1 with clipvalue 0.01: no weight moves further */
    nnk_model *c = nnk_model_new(reg);
    nnk_shape s = {1, {3}};
    nnk_model_add_input(c, "input", &s, &err);
    nnk_model_add_layer(c, "out", "dense", NULL, 0, (const char *[]){"units"}, (const char *[]){"2"}, NULL, 1, &err);
    nnk_compile_options co;
    nnk_compile_options_init(&co);
    co.learning_rate = 1.0;
    co.losses = (const char *[]){"mse"};
    co.n_losses = 1;
    co.clipvalue = 0.01;
    ck_assert_int_eq(nnk_model_compile_with(c, &co, &err), 0);
    ck_assert_int_eq(nnk_model_build(c, 9, &err), 0);
    int64_t nw;
    float *before = nnk_model_weights_copy(c, &nw);
    nnk_fit_options o;
    nnk_fit_options_init(&o);
    o.batch_size = 2;
    ck_assert_int_eq(nnk_model_fit(c, d, &o, NULL, &err), 0);
    float *after = nnk_model_weights_copy(c, &nw);
    double moved = 0;
    for (int64_t i = 0; i < nw; i++)
        moved = fmax(moved, fabs(after[i] - before[i]));
    ck_assert_msg(moved <= 0.0100001 && moved > 0.009, "largest update %g with clipvalue 0.01", moved);
    free(before), free(after);
    nnk_dataset_free(d);
    nnk_model_free(c);
}
END_TEST

static nnk_dataset *csv_text(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    nnk_err err = {0, ""};
    nnk_dataset *d = nnk_dataset_load_csv(path, "y", NULL, &err);
    ck_assert_msg(d != NULL, "%s", err.msg);
    return d;
}

/* Text columns: the vocabulary is the training rows' sorted texts, the
 * input grows to the encoded width, cells become exact one-hot rows (NaN
 * when missing, filled by frequency with mean), and a saved model encodes
 * new data the same way, refusing an unknown text by its line. */
START_TEST(categories_one_hot)
{
    nnk_err err = {0, ""};
    nnk_dataset *d = csv_text("cat.csv", "x,color,y\n1,red,0\n2,blue,1\n3,red,0\n4,green,1\n5,,0\n");
    nnk_model *m = nnk_model_new(reg);
    nnk_shape s = {1, {2}};
    const char *keys[] = {"units"}, *values[] = {"1"};
    ck_assert_int_eq(nnk_model_add_input(m, "input", &s, &err), 0);
    ck_assert_int_eq(nnk_model_add_layer(m, "out", "dense", NULL, 0, keys, values, NULL, 1, &err), 0);
    ck_assert_int_eq(nnk_model_compile(m, "mse", NULL, "sgd", 0.1, NULL, NULL, NULL, 0, &err), 0);
    ck_assert_int_eq(nnk__model_check_data(m, d, &err), NNK_EDATA); /* text not yet encoded */
    ck_assert_msg(nnk_model_fit_categories(m, d, "error", &err) == 0, "%s", err.msg);
    ck_assert_int_eq(nnk_model_encoded_feature_count(m), 4);
    const char *names[4] = {"x", "color=blue", "color=green", "color=red"};
    for (int i = 0; i < 4; i++)
        ck_assert_str_eq(nnk_model_encoded_feature_name(m, i), names[i]);
    ck_assert_int_eq(m->inputs[0].shape.dim[0], 4);
    ck_assert_msg(nnk_model_encode_categories(m, d, &err) == 0, "%s", err.msg);
    ck_assert(d->x_cols == 4 && d->n_text == 0);
    const float want[5][4] = {{1, 0, 0, 1}, {2, 1, 0, 0}, {3, 0, 0, 1}, {4, 0, 1, 0}, {5, NAN, NAN, NAN}};
    for (int r = 0; r < 5; r++)
        for (int c = 0; c < 4; c++) {
            float v = d->x_f32[r * 4 + c];
            ck_assert_msg(v == want[r][c] || (v != v && want[r][c] != want[r][c]), "row %d col %d: %g", r, c, (double)v);
        }
    ck_assert_str_eq(d->feature_names[3], "color=red");
    /* the missing cell counts once, not once per one-hot column */
    ck_assert_int_eq(nnk_model_check_missing(m, d, &err), NNK_EDATA);
    ck_assert_msg(strstr(err.msg, ": 1 missing value (") != NULL, "%s", err.msg);
    ck_assert_int_eq(nnk_model_fit_missing(m, d, "mean", &err), 0);
    ck_assert(m->fill[1] == 0.25f && m->fill[2] == 0.25f && m->fill[3] == 0.5f);
    ck_assert_msg(nnk_model_build(m, 1, &err) == 0, "%s", err.msg);
    char path[512];
    snprintf(path, sizeof path, "%s/cat.nnk", test_tmpdir());
    ck_assert_msg(nnk_model_save(m, path, &err) == 0, "%s", err.msg);
    nnk_model *l = nnk_model_load(reg, path, &err);
    ck_assert_msg(l != NULL, "%s", err.msg);
    ck_assert_int_eq(nnk_model_encoded_feature_count(l), 4);
    ck_assert_str_eq(nnk_model_encoded_feature_name(l, 2), "color=green");
    /* new data: numbers in the text column, and the saved vocabulary's order */
    nnk_dataset *n = csv_text("new.csv", "x,color,y\n7,green,0\n8,blue,1\n");
    ck_assert_msg(nnk_model_encode_categories(l, n, &err) == 0, "%s", err.msg);
    ck_assert(n->x_f32[0] == 7 && n->x_f32[1] == 0 && n->x_f32[2] == 1 && n->x_f32[3] == 0 && n->x_f32[5] == 1);
    int64_t c1, c2;
    float *p1 = nnk_model_predict(m, n, 2, &c1, &err), *p2 = nnk_model_predict(l, n, 2, &c2, &err);
    ck_assert(p1 && p2 && p1[0] == p2[0] && p1[1] == p2[1]);
    free(p1);
    free(p2);
    nnk_dataset_free(n);
    n = csv_text("new.csv", "x,color,y\n7,green,0\n8,mauve,1\n");
    ck_assert_int_eq(nnk_model_encode_categories(l, n, &err), NNK_EDATA);
    ck_assert_ptr_nonnull(strstr(err.msg, "line 3, column 'color': unknown category 'mauve' (the training split had 3)"));
    nnk_dataset_free(n);
    /* numbers only, where the model has a text column: read as their texts */
    n = csv_text("new.csv", "x,color,y\n7,2,0\n");
    ck_assert_int_eq(nnk_model_encode_categories(l, n, &err), NNK_EDATA);
    ck_assert_ptr_nonnull(strstr(err.msg, "unknown category '2'"));
    nnk_dataset_free(n);
    /* ignore: an unknown text is all zeros */
    nnk_dataset_free(d);
    d = csv_text("cat.csv", "x,color,y\n1,red,0\n2,blue,1\n");
    nnk_model *ig = nnk_model_new(reg);
    ck_assert_int_eq(nnk_model_fit_categories(ig, d, "ignore", &err), 0);
    n = csv_text("new.csv", "x,color,y\n7,mauve,0\n8,red,1\n");
    ck_assert_msg(nnk_model_encode_categories(ig, n, &err) == 0, "%s", err.msg);
    const float zeros[6] = {7, 0, 0, 8, 0, 1};
    ck_assert(n->x_cols == 3 && !memcmp(n->x_f32, zeros, sizeof zeros));
    nnk_dataset_free(n);
    nnk_model_free(ig);
    nnk_dataset_free(d);
    nnk_model_free(l);
    nnk_model_free(m);
}
END_TEST

START_TEST(save_load_predict_identical)
{
    nnk_model *m = iris_mlp(9);
    nnk_dataset *d = iris();
    nnk_err err = {0, ""};
    ck_assert_int_eq(nnk_model_set_scale(m, 0.5, &err), 0);
    ck_assert_int_eq(nnk_model_fit_standardizer(m, d, &err), 0);
    nnk_fit_options o;
    nnk_fit_options_init(&o);
    o.epochs = 3;
    ck_assert_int_eq(nnk_model_fit(m, d, &o, NULL, &err), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/iris.nnk", test_tmpdir());
    ck_assert_msg(nnk_model_save(m, path, &err) == 0, "%s", err.msg);
    nnk_model *l = nnk_model_load(reg, path, &err);
    ck_assert_msg(l != NULL, "%s", err.msg);
    int64_t c1, c2;
    float *p1 = nnk_model_predict(m, d, 32, &c1, &err), *p2 = nnk_model_predict(l, d, 7, &c2, &err);
    ck_assert_int_eq(c1, c2);
    ck_assert(memcmp(p1, p2, sizeof(float) * (size_t)(c1 * d->rows)) == 0);
    ck_assert_int_eq(l->iteration, m->iteration);
    /* optimizer state survives too: one more epoch from both is identical */
    ck_assert_int_eq(nnk_model_fit(m, d, &o, NULL, &err), 0);
    ck_assert_int_eq(nnk_model_fit(l, d, &o, NULL, &err), 0);
    int64_t n1, n2;
    float *w1 = nnk_model_weights_copy(m, &n1), *w2 = nnk_model_weights_copy(l, &n2);
    ck_assert(memcmp(w1, w2, sizeof(float) * (size_t)n1) == 0);
    free(w1);
    free(w2);
    free(p1);
    free(p2);
    nnk_dataset_free(d);
    nnk_model_free(m);
    nnk_model_free(l);
}
END_TEST

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

START_TEST(bad_model_files)
{
    nnk_model *m = iris_mlp(9);
    nnk_err err = {0, ""};
    char path[512], bad[512], msg[1024];
    snprintf(path, sizeof path, "%s/good.nnk", test_tmpdir());
    snprintf(bad, sizeof bad, "%s/bad.nnk", test_tmpdir());
    ck_assert_int_eq(nnk_model_save(m, path, &err), 0);
    FILE *f = fopen(path, "rb");
    unsigned char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ck_assert(n > 100 && n < sizeof buf);

    write_bytes(bad, buf, n / 2);
    ck_assert_ptr_null(nnk_model_load(reg, bad, &err));
    ck_assert_int_eq(err.status, NNK_EMODEL);
    snprintf(msg, sizeof msg, "model '%s': truncated or padded: %zu payload bytes declared, %zu present",
             bad, n - 20, n / 2 - 20);
    ck_assert_str_eq(err.msg, msg);

    buf[n - 10] ^= 0x40;
    write_bytes(bad, buf, n);
    ck_assert_ptr_null(nnk_model_load(reg, bad, &err));
    snprintf(msg, sizeof msg, "model '%s': corrupt (checksum mismatch)", bad);
    ck_assert_str_eq(err.msg, msg);
    buf[n - 10] ^= 0x40;

    buf[4] = 7;
    write_bytes(bad, buf, n);
    ck_assert_ptr_null(nnk_model_load(reg, bad, &err));
    snprintf(msg, sizeof msg, "model '%s': format version 7 is newer than this nnkit reads (1); upgrade nnkit", bad);
    ck_assert_str_eq(err.msg, msg);

    write_bytes(bad, "hello, world, not a model", 25);
    ck_assert_ptr_null(nnk_model_load(reg, bad, &err));
    snprintf(msg, sizeof msg, "model '%s': not an nnkit model file", bad);
    ck_assert_str_eq(err.msg, msg);

    /* a registry without the layers plugin cannot rebuild it */
    nnk_registry *partial = nnk_registry_new();
    nnk_registry_load_file(partial, TEST_PLUGIN_DIR "/nnkit-losses.so", &err);
    ck_assert_ptr_null(nnk_model_load(partial, path, &err));
    snprintf(msg, sizeof msg, "model '%s' needs layer 'dense' from plugin 'nnkit-layers' >= 0.1.0; searched: ", path);
    ck_assert_str_eq(err.msg, msg);
    nnk_registry_free(partial);
    nnk_model_free(m);
}
END_TEST

START_TEST(shape_errors_name_both_layers)
{
    nnk_model *m = nnk_model_new(reg);
    nnk_err err = {0, ""};
    nnk_shape s = {2, {28, 28}};
    nnk_model_add_input(m, "input", &s, &err);
    const char *k[] = {"units"}, *v[] = {"10"};
    nnk_model_add_layer(m, "flat", "flatten", NULL, 0, NULL, NULL, NULL, 0, &err);
    nnk_model_add_layer(m, "hidden", "dense", (const char *[]){"input"}, 1, k, v, NULL, 1, &err);
    nnk_model_add_layer(m, "sum", "add", (const char *[]){"flat", "hidden"}, 2, NULL, NULL, NULL, 0, &err);
    nnk_model_compile(m, "mse", NULL, "sgd", 0.1, NULL, NULL, NULL, 0, &err);
    ck_assert_int_eq(nnk_model_build(m, 1, &err), NNK_ESHAPE);
    ck_assert_str_eq(err.msg, "layer 'sum': inputs 'flat' (None, 784) and 'hidden' (None, 28, 10) do not fit: add needs equal shapes");
    nnk_model_free(m);

    /* dense on several dimensions works along the last axis, as in Keras */
    m = nnk_model_new(reg);
    nnk_model_add_input(m, "input", &s, &err);
    nnk_model_add_layer(m, "hidden", "dense", NULL, 0, k, v, NULL, 1, &err);
    nnk_model_compile(m, "mse", NULL, "sgd", 0.1, NULL, NULL, NULL, 0, &err);
    ck_assert_msg(nnk_model_build(m, 1, &err) == 0, "%s", err.msg);
    ck_assert(m->nodes[0].out_shape.ndim == 2 && m->nodes[0].out_shape.dim[0] == 28 && m->nodes[0].out_shape.dim[1] == 10);
    ck_assert_int_eq(nnk_model_param_count(m), 28 * 10 + 10);
    nnk_model_free(m);

    m = nnk_model_new(reg);
    nnk_model_add_input(m, "input", &s, &err);
    ck_assert_int_eq(nnk_model_add_layer(m, "h", "dnse", NULL, 0, NULL, NULL, NULL, 0, &err), NNK_ECONFIG);
    ck_assert_str_eq(err.msg, "layer 'h': unknown layer 'dnse' (did you mean 'dense'?); available: dense, flatten, reshape, concat, add, dropout, batch_normalization, normalization, conv2d, max_pooling2d, average_pooling2d, global_average_pooling2d, global_max_pooling2d");
    ck_assert_int_eq(nnk_model_add_layer(m, "h", "dense", NULL, 0, NULL, NULL, NULL, 0, &err), NNK_ECONFIG);
    ck_assert_str_eq(err.msg, "layer 'h': missing required parameter 'units'");
    ck_assert_int_eq(nnk_model_add_layer(m, "h", "dense", NULL, 0, k, (const char *[]){"abc"},
                                         (const char *[]){"exp.ini:12"}, 1, &err), NNK_ECONFIG);
    ck_assert_str_eq(err.msg, "exp.ini:12: layer 'h': parameter 'units' must be an integer in [1, 1048576], got 'abc'");
    nnk_model_free(m);
}
END_TEST

static nnk_dataset *fashion_subset(const char *part, int64_t rows)
{
    nnk_err err = {0, ""};
    nnk_dataset *d = nnk_dataset_load(part, NULL, NULL, &err);
    ck_assert_msg(d != NULL, "%s", err.msg);
    if (rows < d->rows)
        d->rows = rows;
    return d;
}

/* Backward runs only where a gradient is used: not into a flatten that
 * the data feeds, nor through a frozen first layer; the trainable
 * layers' gradients are the same either way. */
START_TEST(backward_skips_unneeded_gradients)
{
    nnk_err err = {0, ""};
    nnk_model *m = nnk_model_new(reg);
    nnk_shape s = {2, {2, 3}};
    const char *k2[] = {"units", "activation"}, *v1[] = {"5", "tanh"}, *v2[] = {"2", "softmax"};
    ck_assert_int_eq(nnk_model_add_input(m, "input", &s, &err), 0);
    ck_assert_int_eq(nnk_model_add_layer(m, "flat", "flatten", NULL, 0, NULL, NULL, NULL, 0, &err), 0);
    ck_assert_int_eq(nnk_model_add_layer(m, "h", "dense", NULL, 0, k2, v1, NULL, 2, &err), 0);
    ck_assert_int_eq(nnk_model_add_layer(m, "out", "dense", NULL, 0, k2, v2, NULL, 2, &err), 0);
    ck_assert_int_eq(nnk_model_compile(m, "sparse_categorical_crossentropy", NULL, "sgd", 0.1, NULL, NULL, NULL, 0, &err), 0);
    ck_assert_msg(nnk_model_build(m, 3, &err) == 0, "%s", err.msg);
    const float x[12] = {0.5f, -1, 2, 0.1f, 0.3f, -0.7f, -1.2f, 0.8f, 0, 1.5f, -0.4f, 0.9f}, y[2] = {1, 0};
    model_loss(m, x, y, 2, 1);
    ck_assert_int_eq(nnk__model_backward(m, 2, 0, &err), 0);
    ck_assert(!m->nodes[0].grad_needed && m->nodes[1].grad_needed && m->nodes[2].grad_needed);
    for (int i = 1; i < 3; i++) { /* weights and batch buffers start on a cache line */
        const nnk_node *n = &m->nodes[i];
        ck_assert(((uintptr_t)n->layer.weights[0].value.data | (uintptr_t)n->layer.weights[0].grad.data |
                   (uintptr_t)n->z.data | (uintptr_t)n->a.data | (uintptr_t)n->dz.data) % 64 == 0);
    }
    float dout[10];
    memcpy(dout, m->nodes[2].layer.weights[0].grad.data, sizeof dout);
    ck_assert_int_eq(nnk_model_set_trainable(m, "h", 0, &err), 0);
    model_loss(m, x, y, 2, 1);
    ck_assert_int_eq(nnk__model_backward(m, 2, 0, &err), 0);
    ck_assert(!m->nodes[0].grad_needed && !m->nodes[1].grad_needed && m->nodes[2].grad_needed);
    ck_assert(!memcmp(dout, m->nodes[2].layer.weights[0].grad.data, sizeof dout));
    nnk_model_free(m);
}
END_TEST

/* nnkit's split gemm on 3 threads against a plain triple loop in double:
 * every transposition, sides that are not multiples of the 16-wide blocks
 * (split by rows, and by columns when there are few rows), alpha and beta,
 * and leading dimensions larger than the matrices (sub-matrices of wider
 * buffers, whose extra columns must stay untouched). */
START_TEST(split_gemm_matches_plain_loops)
{
    ck_assert_int_eq(nnk_set_threads(3), 3);
    ck_assert_int_eq(nnk_thread_count(), 3); /* what is in effect, as set */
    /* each above the size worth splitting (m n k >= 32768) */
    const int shapes[][3] = {{70, 33, 20}, {20, 90, 40}, {64, 64, 16}, {129, 7, 40}, {40, 200, 30}};
    for (int s = 0; s < 5; s++)
        for (int pad = 0; pad < 2; pad++)
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++) {
                    int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
                    int lda = (ta ? m : k) + 5 * pad, ldb = (tb ? k : n) + 3 * pad, ldc = n + 7 * pad;
                    int arows = ta ? k : m, brows = tb ? n : k;
                    float *a = malloc(sizeof(float) * (size_t)(arows * lda)), *b = malloc(sizeof(float) * (size_t)(brows * ldb)),
                          *c = malloc(sizeof(float) * (size_t)(m * ldc));
                    for (int i = 0; i < arows * lda; i++)
                        a[i] = (float)((i * 7 % 13) - 6) / 5.0f;
                    for (int i = 0; i < brows * ldb; i++)
                        b[i] = (float)((i * 5 % 11) - 5) / 4.0f;
                    for (int i = 0; i < m * ldc; i++)
                        c[i] = (float)(i % 3);
                    nnk_sgemm(ta, tb, m, n, k, -0.5f, a, lda, b, ldb, 1.0f, c, ldc);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < ldc; j++) {
                            double want = (double)((i * ldc + j) % 3);
                            for (int t = 0; j < n && t < k; t++)
                                want += -0.5 * (double)(ta ? a[t * lda + i] : a[i * lda + t]) *
                                        (tb ? b[j * ldb + t] : b[t * ldb + j]);
                            ck_assert_msg(fabs(c[i * ldc + j] - want) <= 1e-4 * (1 + fabs(want)),
                                          "%dx%dx%d ta %d tb %d lda %d ldb %d ldc %d: c[%d][%d] = %g, want %g", m, n, k, ta,
                                          tb, lda, ldb, ldc, i, j, (double)c[i * ldc + j], want);
                        }
                    free(a), free(b), free(c);
                }
}
END_TEST

/* Activations and the batch gather in row blocks on 3 threads give what
 * one thread gives: every row done, each once, in its place (to float
 * rounding: the gemm blocks may sum in another order). */
START_TEST(row_blocks_match_one_thread)
{
    layer_def layers[] = {
        {"h", "dense", {"units", "activation"}, {"64", "elu"}, 2},
        {"out", "dense", {"units", "activation"}, {"40", "softmax"}, 2},
    };
    float *x = malloc(sizeof(float) * 500 * 30), *y = calloc(500, sizeof(float));
    for (int i = 0; i < 500 * 30; i++)
        x[i] = (float)((i * 37 % 101) - 50) / 25.0f;
    nnk_dataset *d = test_dataset(x, 500, 30, y, 1);
    float *p[2];
    int64_t cols;
    nnk_err err = {0, ""};
    for (int t = 0; t < 2; t++) {
        nnk_set_threads(t ? 3 : 1);
        nnk_model *m = make_model(30, layers, 2, "sparse_categorical_crossentropy", NULL, "sgd", 0.1, 4);
        ck_assert_int_eq(nnk_model_set_scale(m, 0.5, &err), 0);
        p[t] = nnk_model_predict(m, d, 500, &cols, &err);
        ck_assert_msg(p[t] != NULL, "%s", err.msg);
        nnk_model_free(m);
    }
    for (int64_t i = 0; i < 500 * cols; i++)
        ck_assert_msg(fabsf(p[0][i] - p[1][i]) <= 1e-6f, "output %lld: %g on 1 thread, %g on 3", (long long)i, (double)p[0][i],
                      (double)p[1][i]);
    free(p[0]), free(p[1]), free(x), free(y);
    nnk_dataset_free(d);
}
END_TEST

START_TEST(fashion_subset_reaches_080)
{
    nnk_model *m = nnk_model_new(reg);
    nnk_err err = {0, ""};
    nnk_shape s = {2, {28, 28}};
    nnk_model_add_input(m, "input", &s, &err);
    nnk_model_add_layer(m, "flatten", "flatten", NULL, 0, NULL, NULL, NULL, 0, &err);
    const char *k[] = {"units", "activation"};
    nnk_model_add_layer(m, "h1", "dense", NULL, 0, k, (const char *[]){"300", "relu"}, NULL, 2, &err);
    nnk_model_add_layer(m, "h2", "dense", NULL, 0, k, (const char *[]){"100", "relu"}, NULL, 2, &err);
    nnk_model_add_layer(m, "out", "dense", NULL, 0, k, (const char *[]){"10", "softmax"}, NULL, 2, &err);
    nnk_model_compile(m, "sparse_categorical_crossentropy", "accuracy", "sgd", 0.01, NULL, NULL, NULL, 0, &err);
    nnk_model_set_scale(m, 1.0 / 255, &err);
    ck_assert_int_eq(nnk_model_build(m, 42, &err), 0);
    nnk_dataset *train = fashion_subset("fashion-mnist:train", 30000), *val = NULL;
    ck_assert_int_eq(nnk_dataset_split(train, 1.0 / 6, &val, &err), 0);
    ck_assert_int_eq(val->rows, 5000);
    nnk_fit_options o;
    nnk_fit_options_init(&o);
    ck_assert_int_eq(o.shuffle, 1); /* Keras's default: shuffled every epoch */
    ck_assert_int_eq(o.initial_epoch, 0);
    o.epochs = 5; /* plain SGD at 0.01 on half the data: noisy in its first epochs */
    o.validation = val;
    nnk_history h = {0};
    ck_assert_int_eq(nnk_model_fit(m, train, &o, &h, &err), 0);
    ck_assert_int_eq(h.n_epochs, 5);
    ck_assert_str_eq(h.keys[3], "val_accuracy");
    double best = 0;
    for (int e = 0; e < 5; e++)
        best = fmax(best, h.values[e * h.n_keys + 3]);
    ck_assert_msg(best >= 0.80, "best validation accuracy in 5 epochs: %g", best);
    nnk_history_clear(&h);
    nnk_dataset_free(train);
    nnk_dataset_free(val);
    nnk_model_free(m);
}
END_TEST

Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, dense_gradients);
    tcase_add_test(tc, perceptron_rule_by_hand);
    tcase_add_test(tc, perceptron_needs_a_step_activation);
    tcase_add_test(tc, iris_perceptron_separates);
    tcase_add_test(tc, xor_converges);
    tcase_add_test(tc, same_seed_same_weights);
    tcase_add_test(tc, callbacks_see_events_and_steer);
    tcase_add_test(tc, callback_errors_stop_training);
    tcase_add_test(tc, dropout_behaviour);
    tcase_add_test(tc, batch_normalization_behaviour);
    tcase_add_test(tc, batch_normalization_far_from_its_moving_mean);
    tcase_add_test(tc, normalization_adapts);
    tcase_add_test(tc, regularization_and_clipping);
    tcase_add_test(tc, save_load_predict_identical);
    tcase_add_test(tc, bad_model_files);
    tcase_add_test(tc, categories_one_hot);
    tcase_add_test(tc, shape_errors_name_both_layers);
    tcase_add_test(tc, fashion_subset_reaches_080);
    tcase_add_test(tc, backward_skips_unneeded_gradients);
    tcase_add_test(tc, split_gemm_matches_plain_loops);
    tcase_add_test(tc, row_blocks_match_one_thread);
    tcase_add_test(tc, preprocessing_setters_refuse_bad_values);
    tcase_add_test(tc, logs_of_several_values_and_their_directions);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    reg = test_registry();
    int rc = test_run_suite(model_suite());
    nnk_registry_free(reg);
    return rc;
}
