/* The book's Wide & Deep model built in C through nnkit's API (the same
 * model as examples/wide_and_deep.ini): two inputs, a concat, a main and
 * an auxiliary output with loss weights, a callback written as a C
 * function, then evaluate, save, load and predict.
 *
 *   functional [DIABETES.csv] [MODEL.nnk]
 */
#include <nnkit/data.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int die(const nnk_err *err)
{
    fprintf(stderr, "functional: %s\n", err->msg);
    return 1;
}

/* A callback: print the validation loss of every 20th epoch. */
static int every_20_epochs(void *user, nnk_event ev, const nnk_train_info *info, nnk_err *err)
{
    (void)user, (void)err;
    if (ev != NNK_EPOCH_END || (info->epoch + 1) % 20)
        return 0;
    for (int i = 0; i < info->n_logs; i++)
        if (!strcmp(info->log_names[i], "val_main_output_mae"))
            printf("epoch %lld: val_main_output_mae %.2f\n", (long long)info->epoch + 1, info->log_values[i]);
    return 0;
}

int main(int argc, char **argv)
{
    const char *csv = argc > 1 ? argv[1] : "examples/data/diabetes.csv";
    const char *path = argc > 2 ? argv[2] : "wide_and_deep.nnk";
    nnk_err err = {NNK_OK, ""};
    nnk_registry *reg = nnk_registry_new();
    if (nnk_registry_load_default(reg, NULL, &err))
        return die(&err);

    /* data: the wide input's 5 columns, then the deep input's 8 */
    nnk_dataset *train = nnk_dataset_load_csv(csv, "progression",
                                              "age, sex, bmi, bp, s1, bmi, bp, s1, s2, s3, s4, s5, s6", &err);
    nnk_dataset *test = NULL, *valid = NULL;
    if (!train || nnk_dataset_split(train, 0.2, &test, &err) || nnk_dataset_split(train, 0.125, &valid, &err))
        return die(&err);

    nnk_model *m = nnk_model_new(reg);
    nnk_shape wide = {1, {5}}, deep = {1, {8}};
    const char *units[] = {"units", "activation"};
    int rc = nnk_model_add_input(m, "wide", &wide, &err) || nnk_model_add_input(m, "deep", &deep, &err) ||
             nnk_model_add_layer(m, "hidden1", "dense", (const char *[]){"deep"}, 1, units,
                                 (const char *[]){"30", "relu"}, NULL, 2, &err) ||
             nnk_model_add_layer(m, "hidden2", "dense", (const char *[]){"hidden1"}, 1, units,
                                 (const char *[]){"30", "relu"}, NULL, 2, &err) ||
             nnk_model_add_layer(m, "concat", "concat", (const char *[]){"wide", "hidden2"}, 2, NULL, NULL, NULL, 0, &err) ||
             nnk_model_add_layer(m, "main_output", "dense", (const char *[]){"concat"}, 1, units,
                                 (const char *[]){"1", "linear"}, NULL, 2, &err) ||
             nnk_model_add_layer(m, "aux_output", "dense", (const char *[]){"hidden2"}, 1, units,
                                 (const char *[]){"1", "linear"}, NULL, 2, &err);
    if (rc)
        return die(&err);
    nnk_compile_options co;
    nnk_compile_options_init(&co);
    co.optimizer = "sgd";
    co.learning_rate = 0.001;
    co.outputs = (const char *[]){"main_output", "aux_output"};
    co.n_outputs = 2;
    co.losses = (const char *[]){"huber"};
    co.n_losses = 1;
    co.loss_weights = (const double[]){0.9, 0.1};
    co.metrics = "mae";
    co.keys = (const char *[]){"momentum"};
    co.values = (const char *[]){"0.9"};
    co.n_params = 1;
    if (nnk_model_compile_with(m, &co, &err) || nnk_model_fit_standardizer(m, train, &err) ||
        nnk_model_build(m, 42, &err))
        return die(&err);
    nnk_model_summary(m, stdout);

    nnk_callback *cb = nnk_callback_from_fn(every_20_epochs, NULL);
    nnk_fit_options fo;
    nnk_fit_options_init(&fo);
    fo.epochs = 100;
    fo.batch_size = 16;
    fo.validation = valid;
    fo.callbacks = &cb;
    fo.n_callbacks = 1;
    if (nnk_model_fit(m, train, &fo, NULL, &err))
        return die(&err);

    char names[16][64];
    double values[16];
    int n;
    if (nnk_model_evaluate(m, test, 32, names, values, 16, &n, &err))
        return die(&err);
    printf("test:");
    for (int i = 0; i < n; i++)
        printf(" %s %.4f", names[i], values[i]);
    printf("\n");

    /* save, load into a new model, and predict the same numbers */
    if (nnk_model_save(m, path, &err))
        return die(&err);
    nnk_model *loaded = nnk_model_load(reg, path, &err);
    if (!loaded)
        return die(&err);
    int64_t c1, c2;
    float *p1 = nnk_model_predict(m, test, 32, &c1, &err);
    float *p2 = p1 ? nnk_model_predict(loaded, test, 32, &c2, &err) : NULL;
    if (!p2)
        return die(&err);
    int same = c1 == c2 && !memcmp(p1, p2, sizeof(float) * (size_t)(c1 * test->rows));
    printf("reloaded from %s: predictions %s (%lld rows x %lld outputs)\n", path,
           same ? "identical" : "DIFFERENT", (long long)test->rows, (long long)c1);
    free(p1), free(p2);
    nnk_callback_free(cb);
    nnk_model_free(loaded);
    nnk_model_free(m);
    nnk_dataset_free(train), nnk_dataset_free(valid), nnk_dataset_free(test);
    nnk_registry_free(reg);
    return same ? 0 : 1;
}
