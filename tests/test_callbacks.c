/* Keras's training callbacks driven by scripted metric sequences:
 * early_stopping, reduce_lr_on_plateau, model_checkpoint,
 * terminate_on_nan, and the learning-rate schedules. */
#include "helpers.h"
#include "../core/internal.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static nnk_registry *reg;

typedef struct script {
    nnk_train_info info;
    const char *names[4];
    double values[4];
    double lr;
    int stop;
    nnk_model *model;
} script;

static nnk_model *tiny_model(void)
{
    nnk_model *m = nnk_model_new(reg);
    nnk_err err = {0, ""};
    nnk_shape s = {1, {2}};
    nnk_model_add_input(m, "input", &s, &err);
    nnk_model_add_layer(m, "out", "dense", NULL, 0, (const char *[]){"units"}, (const char *[]){"1"}, NULL, 1, &err);
    nnk_model_compile(m, "mse", NULL, "sgd", 0.1, NULL, NULL, NULL, 0, &err);
    nnk_model_build(m, 1, &err);
    return m;
}

static void script_init(script *s)
{
    memset(s, 0, sizeof *s);
    s->names[0] = "loss";
    s->names[1] = "val_loss";
    s->names[2] = "accuracy";
    s->names[3] = "val_accuracy";
    s->lr = 0.1;
    s->model = tiny_model();
    s->info.struct_size = sizeof s->info;
    s->info.epochs = 100;
    s->info.steps = 10;
    s->info.log_names = s->names;
    s->info.log_values = s->values;
    s->info.n_log_names = 4;
    s->info.learning_rate = &s->lr;
    s->info.stop = &s->stop;
    s->info.model = (nnk_model_view *)s->model;
    s->info.run_dir = test_tmpdir();
}

static nnk_callback *make(const char *type, const char *const *k, const char *const *v, int n)
{
    nnk_err err = {0, ""};
    nnk_callback *cb = nnk_callback_new(reg, type, type, k, v, NULL, n, &err);
    ck_assert_msg(cb != NULL, "%s", err.msg);
    return cb;
}

static int fire(nnk_callback *cb, nnk_event ev, script *s, nnk_err *err)
{
    return cb->vt->on_event(cb->state, ev, &s->info, err);
}

/* Runs epochs with val_loss taken from seq until the callback stops it;
 * returns the epoch it stopped at (or n). */
static int run_val_losses(nnk_callback *cb, script *s, const double *seq, int n)
{
    nnk_err err = {0, ""};
    ck_assert_int_eq(fire(cb, NNK_TRAIN_BEGIN, s, &err), 0);
    int e;
    for (e = 0; e < n && !s->stop; e++) {
        s->info.epoch = e;
        s->info.n_logs = 4;
        s->values[0] = s->values[1] = seq[e];
        ck_assert_int_eq(fire(cb, NNK_EPOCH_END, s, &err), 0);
    }
    return e - 1;
}

START_TEST(early_stopping_patience)
{
    script s;
    script_init(&s);
    nnk_callback *cb = make("early_stopping", (const char *[]){"patience"}, (const char *[]){"2"}, 1);
    const double seq[] = {1.0, 0.8, 0.9, 0.85, 0.95, 0.7};
    /* best 0.8 at epoch 1; epochs 2 and 3 do not improve: stop at 3 */
    ck_assert_int_eq(run_val_losses(cb, &s, seq, 6), 3);
    nnk_callback_free(cb);
    nnk_model_free(s.model);
}
END_TEST

START_TEST(early_stopping_min_delta_and_baseline)
{
    script s;
    script_init(&s);
    nnk_callback *cb = make("early_stopping", (const char *[]){"patience", "min_delta"}, (const char *[]){"1", "0.05"}, 2);
    const double seq[] = {1.0, 0.97, 0.96, 0.5};
    /* 0.97 is not 0.05 better than 1.0: stop at epoch 1 */
    ck_assert_int_eq(run_val_losses(cb, &s, seq, 4), 1);
    nnk_callback_free(cb);
    nnk_model_free(s.model);
    script_init(&s);
    cb = make("early_stopping", (const char *[]){"patience", "baseline"}, (const char *[]){"2", "0.5"}, 2);
    const double seq2[] = {1.0, 0.9, 0.95, 0.97, 0.99};
    /* Keras's rule: improvements above the baseline do not reset the wait,
     * so it stops at epoch 2 (without the baseline: at epoch 3) */
    ck_assert_int_eq(run_val_losses(cb, &s, seq2, 5), 2);
    nnk_callback_free(cb);
    nnk_model_free(s.model);
}
END_TEST

/* The best epoch's weights come back at train end, whether or not early
 * stopping ended the run. */
START_TEST(early_stopping_restores_best_weights)
{
    script s;
    script_init(&s);
    nnk_callback *cb = make("early_stopping", (const char *[]){"patience", "restore_best_weights"},
                            (const char *[]){"100", "true"}, 2);
    nnk_err err = {0, ""};
    ck_assert_int_eq(fire(cb, NNK_TRAIN_BEGIN, &s, &err), 0);
    const double seq[] = {1.0, 0.5, 0.7, 0.9};
    nnk_weight *w = nnk__model_weight_at(s.model, 0, NULL);
    for (int e = 0; e < 4; e++) {
        w->value.data[0] = (float)(10 + e); /* "training" */
        s.info.epoch = e;
        s.info.n_logs = 4;
        s.values[1] = seq[e];
        fire(cb, NNK_EPOCH_END, &s, &err);
    }
    ck_assert_int_eq(s.stop, 0);
    fire(cb, NNK_TRAIN_END, &s, &err);
    ck_assert(w->value.data[0] == 11.0f); /* epoch 1's */
    nnk_callback_free(cb);
    nnk_model_free(s.model);
}
END_TEST

START_TEST(monitor_must_exist)
{
    script s;
    script_init(&s);
    nnk_callback *cb = make("early_stopping", (const char *[]){"monitor"}, (const char *[]){"val_acc"}, 1);
    nnk_err err = {0, ""};
    ck_assert_int_eq(fire(cb, NNK_TRAIN_BEGIN, &s, &err), NNK_ECONFIG);
    ck_assert_str_eq(err.msg, "callback 'early_stopping': monitor 'val_acc' is not logged in this run; logs: loss, val_loss, accuracy, val_accuracy");
    nnk_callback_free(cb);
    nnk_model_free(s.model);
}
END_TEST

START_TEST(reduce_lr_on_plateau_steps)
{
    script s;
    script_init(&s);
    nnk_callback *cb = make("reduce_lr_on_plateau", (const char *[]){"patience", "factor", "cooldown", "min_lr"},
                            (const char *[]){"1", "0.5", "2", "0.02"}, 4);
    nnk_err err = {0, ""};
    fire(cb, NNK_TRAIN_BEGIN, &s, &err);
    const double seq[] = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5};
    /* patience 1, cooldown 2 (Keras counts the cooldown down first): epoch 1
     * cuts to 0.05; epoch 2 cools down; epoch 3 cuts to 0.025; epoch 4 cools
     * down; epoch 5 would cut to 0.0125, held at min_lr 0.02 */
    const double want[] = {0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02};
    for (int e = 0; e < 7; e++) {
        s.info.epoch = e;
        s.info.n_logs = 4;
        s.values[1] = seq[e];
        fire(cb, NNK_EPOCH_END, &s, &err);
        ck_assert_msg(fabs(s.lr - want[e]) < 1e-12, "epoch %d: lr %g, want %g", e, s.lr, want[e]);
    }
    nnk_callback_free(cb);
    nnk_model_free(s.model);
}
END_TEST

START_TEST(checkpoint_best_only_with_pattern)
{
    script s;
    script_init(&s);
    char dir[300];
    snprintf(dir, sizeof dir, "%s/ckpt", test_tmpdir());
    nnk_callback *cb = make("model_checkpoint", (const char *[]){"filepath", "save_best_only"},
                            (const char *[]){"ckpt/m-{epoch:02d}-{val_loss:.2f}.nnk", "true"}, 2);
    const double seq[] = {0.9, 0.7, 0.8, 0.6};
    run_val_losses(cb, &s, seq, 4);
    const char *want[] = {"m-01-0.90.nnk", "m-02-0.70.nnk", "m-04-0.60.nnk"};
    for (int i = 0; i < 3; i++) {
        char p[400];
        snprintf(p, sizeof p, "%s/%s", dir, want[i]);
        ck_assert_msg(access(p, F_OK) == 0, "%s missing", p);
    }
    char p[400];
    snprintf(p, sizeof p, "%s/m-03-0.80.nnk", dir);
    ck_assert(access(p, F_OK) != 0);
    nnk_err err = {0, ""};
    snprintf(p, sizeof p, "%s/m-04-0.60.nnk", dir);
    nnk_model *l = nnk_model_load(reg, p, &err);
    ck_assert_msg(l != NULL, "%s", err.msg);
    nnk_model_free(l);
    nnk_callback_free(cb);
    /* an unknown field and an unwritable place fail before training */
    cb = make("model_checkpoint", (const char *[]){"filepath"}, (const char *[]){"m-{val_los}.nnk"}, 1);
    ck_assert_int_eq(fire(cb, NNK_TRAIN_BEGIN, &s, &err), NNK_ECONFIG);
    ck_assert_str_eq(err.msg, "callback 'model_checkpoint': filepath field '{val_los}' is not logged in this run; fields: epoch, loss, val_loss, accuracy, val_accuracy");
    nnk_callback_free(cb);
    cb = make("model_checkpoint", (const char *[]){"filepath"}, (const char *[]){"/proc/nnkit/m.nnk"}, 1);
    ck_assert_int_eq(fire(cb, NNK_TRAIN_BEGIN, &s, &err), NNK_EIO);
    ck_assert_msg(strstr(err.msg, "callback 'model_checkpoint': cannot create '/proc/nnkit'") == err.msg, "%s", err.msg);
    nnk_callback_free(cb);
    nnk_model_free(s.model);
}
END_TEST

START_TEST(terminate_on_nan_stops)
{
    script s;
    script_init(&s);
    nnk_callback *cb = make("terminate_on_nan", NULL, NULL, 0);
    nnk_err err = {0, ""};
    s.info.n_logs = 1;
    s.values[0] = 0.5;
    fire(cb, NNK_BATCH_END, &s, &err);
    ck_assert_int_eq(s.stop, 0);
    s.values[0] = NAN;
    fire(cb, NNK_BATCH_END, &s, &err);
    ck_assert_int_eq(s.stop, 1);
    nnk_callback_free(cb);
    nnk_model_free(s.model);
}
END_TEST

static double rate(nnk_callback *cb, script *s, int64_t step)
{
    nnk_err err = {0, ""};
    s->info.global_batch = step; /* steps done: the rate set is the next step's */
    fire(cb, NNK_BATCH_END, s, &err);
    return s->lr;
}

START_TEST(schedules)
{
    script s;
    script_init(&s);
    nnk_err err = {0, ""};
    nnk_callback *cb = make("learning_rate_scheduler", (const char *[]){"schedule", "decay_rate", "decay_steps"},
                            (const char *[]){"exponential_decay", "0.5", "10"}, 3);
    fire(cb, NNK_TRAIN_BEGIN, &s, &err); /* lr0 = 0.1 */
    ck_assert(fabs(rate(cb, &s, 0) - 0.1) < 1e-12 && fabs(rate(cb, &s, 10) - 0.05) < 1e-12 &&
              fabs(rate(cb, &s, 5) - 0.1 * pow(0.5, 0.5)) < 1e-12);
    nnk_callback_free(cb);
    s.lr = 0.1;
    cb = make("learning_rate_scheduler", (const char *[]){"schedule", "boundaries", "values"},
              (const char *[]){"piecewise_constant", "10, 20", "0.1, 0.01, 0.001"}, 3);
    fire(cb, NNK_TRAIN_BEGIN, &s, &err);
    ck_assert(rate(cb, &s, 9) == 0.1 && rate(cb, &s, 10) == 0.01 && rate(cb, &s, 25) == 0.001);
    nnk_callback_free(cb);
    s.lr = 0.1;
    cb = make("learning_rate_scheduler", (const char *[]){"schedule", "warmup_steps"}, (const char *[]){"warmup", "4"}, 2);
    fire(cb, NNK_TRAIN_BEGIN, &s, &err);
    ck_assert(fabs(rate(cb, &s, 0) - 0.025) < 1e-12 && fabs(rate(cb, &s, 3) - 0.1) < 1e-12 && rate(cb, &s, 50) == 0.1);
    nnk_callback_free(cb);
    /* 1cycle over 100 epochs x 10 steps: 0.01 -> 0.1 at step 450 -> 0.01 at 900 -> 0.0001 at 1000 */
    s.lr = 0.01;
    cb = make("learning_rate_scheduler", (const char *[]){"schedule", "max_lr"}, (const char *[]){"one_cycle", "0.1"}, 2);
    fire(cb, NNK_TRAIN_BEGIN, &s, &err);
    ck_assert(fabs(rate(cb, &s, 0) - 0.01) < 1e-12 && fabs(rate(cb, &s, 450) - 0.1) < 1e-12 &&
              fabs(rate(cb, &s, 900) - 0.01) < 1e-12 && fabs(rate(cb, &s, 1000) - 0.0001) < 1e-12);
    nnk_callback_free(cb);
    ck_assert_ptr_null(nnk_callback_new(reg, "learning_rate_scheduler", NULL,
                                        (const char *[]){"schedule", "boundaries", "values"},
                                        (const char *[]){"piecewise_constant", "10", "0.1"}, NULL, 3, &err));
    ck_assert_str_eq(err.msg, "callback 'learning_rate_scheduler': piecewise_constant needs increasing 'boundaries' and one more 'values' entry, got boundaries '10' and values '0.1'");
    nnk_model_free(s.model);
}
END_TEST

int main(void)
{
    reg = test_registry();
    Suite *s = suite_create("callbacks");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, early_stopping_patience);
    tcase_add_test(tc, early_stopping_min_delta_and_baseline);
    tcase_add_test(tc, early_stopping_restores_best_weights);
    tcase_add_test(tc, monitor_must_exist);
    tcase_add_test(tc, reduce_lr_on_plateau_steps);
    tcase_add_test(tc, checkpoint_best_only_with_pattern);
    tcase_add_test(tc, terminate_on_nan_stops);
    tcase_add_test(tc, schedules);
    suite_add_tcase(s, tc);
    int rc = test_run_suite(s);
    nnk_registry_free(reg);
    return rc;
}
