/* Data-parallel training through the core's reducer interface, with the
 * processes played by threads and an in-memory reducer (sums in rank
 * order, so every "process" gets the same bits, as MPI's allreduce does):
 * 2 and 3 ranks against one process on the same global batches give the
 * same weights within 1e-5 and the same logs to 4 decimals, including a
 * last batch too small for every rank to get a row. */
#include "helpers.h"
#include <nnkit/data.h>
#include "../core/internal.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static nnk_registry *reg;

typedef struct shared {
    int size;
    pthread_barrier_t barrier;
    void *slot[8];
} shared;

typedef struct rank_ctx {
    shared *sh;
    int rank;
} rank_ctx;

static int sum_generic(void *ctx, void *values, int64_t n, int doubles, nnk_err *err)
{
    rank_ctx *c = ctx;
    shared *sh = c->sh;
    size_t esz = doubles ? sizeof(double) : sizeof(float);
    void *total = malloc(esz * (size_t)(n ? n : 1));
    if (!total)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    sh->slot[c->rank] = values;
    pthread_barrier_wait(&sh->barrier);
    for (int64_t i = 0; i < n; i++) { /* rank order: the same bits everywhere */
        double acc = 0;
        float accf = 0;
        for (int r = 0; r < sh->size; r++) {
            if (doubles)
                acc += ((double *)sh->slot[r])[i];
            else
                accf += ((float *)sh->slot[r])[i];
        }
        if (doubles)
            ((double *)total)[i] = acc;
        else
            ((float *)total)[i] = accf;
    }
    pthread_barrier_wait(&sh->barrier);
    memcpy(values, total, esz * (size_t)n);
    pthread_barrier_wait(&sh->barrier);
    free(total);
    return NNK_OK;
}

static int sum_floats(void *ctx, float *v, int64_t n, nnk_err *err) { return sum_generic(ctx, v, n, 0, err); }
static int sum_doubles(void *ctx, double *v, int64_t n, nnk_err *err) { return sum_generic(ctx, v, n, 1, err); }

/* "Non-blocking" sums for the bucketed path: done at once, in the order
 * started (every rank starts the same buckets in the same order). */
static int start_sum(void *ctx, float *v, int64_t n, void **handle, nnk_err *err)
{
    *handle = NULL;
    return sum_generic(ctx, v, n, 0, err);
}

static int wait_sum(void *ctx, void *handle, nnk_err *err)
{
    (void)ctx, (void)handle, (void)err;
    return NNK_OK;
}

static int broadcast(void *ctx, void *bytes, int64_t n, int root, nnk_err *err)
{
    (void)err;
    rank_ctx *c = ctx;
    if (c->rank == root)
        c->sh->slot[root] = bytes;
    pthread_barrier_wait(&c->sh->barrier);
    if (c->rank != root)
        memcpy(bytes, c->sh->slot[root], (size_t)n);
    pthread_barrier_wait(&c->sh->barrier);
    return NNK_OK;
}

/* 50 rows of 4 features, 3 classes. */
static nnk_dataset *blobs(void)
{
    float x[50 * 4], y[50];
    for (int i = 0; i < 50; i++) {
        y[i] = (float)(i % 3);
        for (int j = 0; j < 4; j++)
            x[4 * i + j] = (float)((i * 7 + j * 13) % 17) / 8.0f - 1.0f + (j == i % 3 ? 1.5f : 0.0f);
    }
    return test_dataset(x, 50, 4, y, 1);
}

static const char *bn_sync = NULL; /* "true"/"false": a batch normalization after the hidden layer */
static int buckets = 0;            /* the reducer sums buckets during backward */

static nnk_model *mlp(const char *optimizer)
{
    nnk_err err = {0, ""};
    nnk_model *m = nnk_model_new(reg);
    nnk_shape s = {1, {4}};
    const char *k[] = {"units", "activation"}, *v1[] = {"8", "tanh"}, *v2[] = {"3", "softmax"};
    ck_assert_int_eq(nnk_model_add_input(m, "input", &s, &err), 0);
    ck_assert_int_eq(nnk_model_add_layer(m, "h", "dense", NULL, 0, k, v1, NULL, 2, &err), 0);
    if (bn_sync) {
        const char *bk[] = {"sync", "momentum"}, *bv[] = {bn_sync, "0.5"};
        ck_assert_int_eq(nnk_model_add_layer(m, "bn", "batch_normalization", NULL, 0, bk, bv, NULL, 2, &err), 0);
    }
    ck_assert_int_eq(nnk_model_add_layer(m, "out", "dense", NULL, 0, k, v2, NULL, 2, &err), 0);
    ck_assert_msg(nnk_model_compile(m, "sparse_categorical_crossentropy", "accuracy", optimizer, 0.1, NULL, NULL, NULL, 0,
                                    &err) == 0,
                  "%s", err.msg);
    ck_assert_msg(nnk_model_build(m, 11, &err) == 0, "%s", err.msg);
    return m;
}

typedef struct job {
    shared *sh;
    int rank;
    const char *optimizer;
    nnk_dataset *train, *val;
    nnk_model *m;
    nnk_history h;
    int rc;
    char msg[NNK_ERR_MAX];
} job;

static void fit_options(nnk_fit_options *o, nnk_dataset *val)
{
    nnk_fit_options_init(o);
    o->epochs = 4;
    o->batch_size = 16; /* 50 rows: the last batch has 2, one rank of 3 gets none */
    o->validation = val;
}

static void *run_rank(void *arg)
{
    job *j = arg;
    rank_ctx c = {j->sh, j->rank};
    nnk_reducer r = {j->rank, j->sh->size, &c, sum_floats, sum_doubles, broadcast, NULL, NULL, NULL};
    if (buckets) {
        r.start_sum_floats = start_sum;
        r.wait_sum = wait_sum;
    }
    nnk_fit_options o;
    fit_options(&o, j->val);
    o.reducer = &r;
    o.check_weights_every_step = 1;
    o.gradient_buckets = buckets;
    nnk_err err = {0, ""};
    j->m = mlp(j->optimizer);
    j->rc = nnk_model_fit(j->m, j->train, &o, &j->h, &err);
    memcpy(j->msg, err.msg, sizeof j->msg);
    return NULL;
}

static void compare_ranks(int size, const char *optimizer)
{
    nnk_dataset *train = blobs(), *val = NULL;
    nnk_err err = {0, ""};
    ck_assert_int_eq(nnk_dataset_split(train, 0.2, &val, &err), 0);
    nnk_model *one = mlp(optimizer);
    nnk_fit_options o;
    fit_options(&o, val);
    nnk_history h1 = {0};
    ck_assert_msg(nnk_model_fit(one, train, &o, &h1, &err) == 0, "%s", err.msg);
    shared sh = {.size = size};
    pthread_barrier_init(&sh.barrier, NULL, (unsigned)size);
    job jobs[3];
    pthread_t t[3];
    for (int r = 0; r < size; r++) {
        jobs[r] = (job){&sh, r, optimizer, train, val, NULL, {0}, 0, ""};
        pthread_create(&t[r], NULL, run_rank, &jobs[r]);
    }
    for (int r = 0; r < size; r++)
        pthread_join(t[r], NULL);
    for (int r = 0; r < size; r++) {
        ck_assert_msg(jobs[r].rc == 0, "rank %d: %s", r, jobs[r].msg);
        for (int i = 0; i < nnk__model_weight_count(one); i++) {
            nnk_weight *a = nnk__model_weight_at(one, i, NULL), *b = nnk__model_weight_at(jobs[r].m, i, NULL);
            for (int64_t e = 0; e < nnk_tensor_elements(&a->value); e++)
                ck_assert_msg(fabsf(a->value.data[e] - b->value.data[e]) <= 1e-5f * fmaxf(1.0f, fabsf(a->value.data[e])),
                              "%s, %d ranks, rank %d: weight %d[%lld] %g vs one process %g", optimizer, size, r, i,
                              (long long)e, (double)b->value.data[e], (double)a->value.data[e]);
        }
        ck_assert_int_eq(jobs[r].h.n_epochs, h1.n_epochs);
        ck_assert_int_eq(jobs[r].h.n_keys, h1.n_keys); /* loss, accuracy, val_loss, val_accuracy */
        for (int i = 0; i < h1.n_epochs * h1.n_keys; i++)
            ck_assert_msg(fabs(jobs[r].h.values[i] - h1.values[i]) < 5e-5, "%s, %d ranks: log %s %g vs one process %g",
                          optimizer, size, h1.keys[i % h1.n_keys], jobs[r].h.values[i], h1.values[i]);
        nnk_history_clear(&jobs[r].h);
        nnk_model_free(jobs[r].m);
    }
    pthread_barrier_destroy(&sh.barrier);
    nnk_history_clear(&h1);
    nnk_model_free(one);
    nnk_dataset_free(train);
    nnk_dataset_free(val);
}

START_TEST(two_and_three_ranks_match_one_process)
{
    compare_ranks(2, "sgd");
    compare_ranks(3, "sgd");
    compare_ranks(3, "adam");
    buckets = 1; /* the same with gradients summed in buckets during backward */
    compare_ranks(3, "sgd");
    bn_sync = "true";
    compare_ranks(2, "adam");
    bn_sync = NULL;
    buckets = 0;
}
END_TEST

/* Synchronized batch normalization: statistics over the global batch, so
 * the processes still train the single-process model (moving statistics
 * included, which the weight comparison covers). */
START_TEST(synchronized_batch_normalization)
{
    bn_sync = "true";
    compare_ranks(2, "sgd");
    compare_ranks(3, "adam");
    bn_sync = NULL;
}
END_TEST

/* With sync = false each process normalizes by its own rows: training
 * runs, the processes keep identical weights (rank 0's moving statistics
 * are broadcast after every step), but the model is not one process's. */
START_TEST(per_process_batch_normalization)
{
    bn_sync = "false";
    nnk_dataset *train = blobs();
    shared sh = {.size = 2};
    pthread_barrier_init(&sh.barrier, NULL, 2);
    job jobs[2];
    pthread_t t[2];
    for (int r = 0; r < 2; r++) {
        jobs[r] = (job){&sh, r, "sgd", train, NULL, NULL, {0}, 0, ""};
        pthread_create(&t[r], NULL, run_rank, &jobs[r]);
    }
    for (int r = 0; r < 2; r++)
        pthread_join(t[r], NULL);
    for (int r = 0; r < 2; r++)
        ck_assert_msg(jobs[r].rc == 0, "rank %d: %s", r, jobs[r].msg);
    nnk_model *one = mlp("sgd");
    nnk_fit_options o;
    fit_options(&o, NULL);
    nnk_err err = {0, ""};
    ck_assert_int_eq(nnk_model_fit(one, train, &o, NULL, &err), 0);
    nnk_weight *a = nnk__model_weight_at(one, 0, NULL), *b = nnk__model_weight_at(jobs[0].m, 0, NULL);
    ck_assert(memcmp(a->value.data, b->value.data, sizeof(float) * (size_t)nnk_tensor_elements(&a->value)) != 0);
    for (int r = 0; r < 2; r++) {
        nnk_history_clear(&jobs[r].h);
        nnk_model_free(jobs[r].m);
    }
    nnk_model_free(one);
    nnk_dataset_free(train);
    pthread_barrier_destroy(&sh.barrier);
    bn_sync = NULL;
}
END_TEST

/* Different weights on two processes are caught on both, naming how many
 * differ. */
static void *check_rank(void *arg)
{
    job *j = arg;
    rank_ctx c = {j->sh, j->rank};
    nnk_reducer r = {j->rank, j->sh->size, &c, sum_floats, sum_doubles, broadcast, NULL, NULL, NULL};
    nnk_err err = {0, ""};
    j->rc = nnk__dp_check_weights(j->m, &r, "after epoch 3", &err);
    memcpy(j->msg, err.msg, sizeof j->msg);
    return NULL;
}

START_TEST(diverged_weights_are_caught)
{
    for (int differ = 0; differ < 2; differ++) {
        shared sh = {.size = 2};
        pthread_barrier_init(&sh.barrier, NULL, 2);
        job jobs[2];
        pthread_t t[2];
        for (int r = 0; r < 2; r++)
            jobs[r] = (job){&sh, r, "sgd", NULL, NULL, mlp("sgd"), {0}, 0, ""};
        if (differ) /* one bit's worth of drift */
            nnk__model_weight_at(jobs[1].m, 0, NULL)->value.data[3] += 1e-6f;
        for (int r = 0; r < 2; r++)
            pthread_create(&t[r], NULL, check_rank, &jobs[r]);
        for (int r = 0; r < 2; r++) {
            pthread_join(t[r], NULL);
            ck_assert_int_eq(jobs[r].rc, differ ? NNK_ECONFIG : NNK_OK);
            if (differ)
                ck_assert_str_eq(jobs[r].msg,
                                 "data-parallel training: the weights of 1 of 2 processes differ from rank 0's after epoch 3");
        }
        for (int r = 0; r < 2; r++)
            nnk_model_free(jobs[r].m);
        pthread_barrier_destroy(&sh.barrier);
    }
}
END_TEST

/* What cannot run on several processes says so before training. */
START_TEST(refusals)
{
    shared sh = {.size = 2};
    rank_ctx c = {&sh, 0};
    nnk_reducer r = {0, 2, &c, sum_floats, sum_doubles, broadcast, NULL, NULL, NULL};
    nnk_err err = {0, ""};
    nnk_model *m = mlp("sgd");
    ck_assert_int_eq(nnk__dp_check(m, &r, &err), NNK_OK);
    r.rank = 2;
    ck_assert_int_eq(nnk__dp_check(m, &r, &err), NNK_EUSAGE);
    ck_assert_str_eq(err.msg, "fit: reducer of rank 2 and size 2 is not usable");
    nnk_model_free(m);
    int64_t lo, n, got[3] = {0};
    nnk_reducer three = {0, 3, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    for (three.rank = 0; three.rank < 3; three.rank++) { /* 10 rows: 4, 3, 3, in order */
        nnk__dp_slice(&three, 10, &lo, &n);
        got[three.rank] = n;
        ck_assert_int_eq(lo, three.rank == 0 ? 0 : three.rank == 1 ? 4 : 7);
    }
    ck_assert(got[0] == 4 && got[1] == 3 && got[2] == 3);
    /* sharded: parts of 17, 17, 16 rows and shares 6, 5, 5 of a batch of 16;
     * 4 steps cover every row once, and each step's global count is the
     * sum of the ranks' rows */
    ck_assert_int_eq(nnk__dp_shard_steps(&three, 50, 16), 4);
    int64_t seen[3] = {0}, all = 0;
    for (int64_t b = 0; b < 4; b++) {
        int64_t sum = 0, global = 0;
        for (three.rank = 0; three.rank < 3; three.rank++) {
            nnk__dp_shard_batch(&three, 50, 16, b, &lo, &n, &global);
            ck_assert(n == 0 || lo == seen[three.rank]);
            seen[three.rank] += n;
            sum += n;
        }
        ck_assert_int_eq(global, sum);
        all += sum;
    }
    ck_assert(seen[0] == 17 && seen[1] == 17 && seen[2] == 16 && all == 50);
}
END_TEST

/* Dropout masks differ between processes, while the common streams they
 * come from stay the same on every process (what a backup saves). */
START_TEST(random_streams_per_rank)
{
    nnk_model *a = mlp("sgd"), *b = mlp("sgd");
    nnk_reducer r0 = {0, 2, NULL, sum_floats, sum_doubles, broadcast, NULL, NULL, NULL},
                r1 = {1, 2, NULL, sum_floats, sum_doubles, broadcast, NULL, NULL, NULL};
    nnk_rng sa[2], sb[2], common = a->nodes[0].rng;
    nnk__dp_rng_swap_in(a, &r0, sa);
    nnk__dp_rng_swap_in(b, &r1, sb);
    ck_assert(nnk__rng_next(&a->nodes[0].rng) != nnk__rng_next(&b->nodes[0].rng));
    nnk__dp_rng_swap_out(a, sa);
    nnk__dp_rng_swap_out(b, sb);
    ck_assert(!memcmp(&a->nodes[0].rng, &b->nodes[0].rng, sizeof(nnk_rng)));
    nnk__rng_next(&common);
    ck_assert(!memcmp(&a->nodes[0].rng, &common, sizeof(nnk_rng)));
    nnk_model_free(a);
    nnk_model_free(b);
}
END_TEST

/* Sharded data: each rank holds only its part of the rows and shuffles
 * them itself. At learning rate 0 an epoch's logged loss is the loss over
 * every row once (what evaluate gives on the whole set); learning, the
 * ranks keep the same weights (checked after every step) and get better. */
typedef struct shard_job {
    shared *sh;
    int rank;
    double lr;
    nnk_dataset *part;
    nnk_model *m;
    nnk_history h;
    int rc;
    char msg[NNK_ERR_MAX];
} shard_job;

static void *run_shard(void *arg)
{
    shard_job *j = arg;
    rank_ctx c = {j->sh, j->rank};
    nnk_reducer r = {j->rank, j->sh->size, &c, sum_floats, sum_doubles, broadcast, NULL, NULL, NULL};
    nnk_fit_options o;
    fit_options(&o, NULL);
    o.reducer = &r;
    o.sharded_rows = 50;
    o.check_weights_every_step = 1;
    nnk_err err = {0, ""};
    j->m = mlp("sgd");
    j->m->learning_rate = j->lr;
    j->rc = nnk_model_fit(j->m, j->part, &o, &j->h, &err);
    memcpy(j->msg, err.msg, sizeof j->msg);
    return NULL;
}

START_TEST(sharded_data)
{
    nnk_dataset *all = blobs();
    for (int learn = 0; learn < 2; learn++) {
        shared sh = {.size = 3};
        pthread_barrier_init(&sh.barrier, NULL, 3);
        shard_job jobs[3];
        pthread_t t[3];
        for (int r = 0, at = 0; r < 3; r++) { /* parts of 17, 17 and 16 rows, as nnk_dataset_load_part cuts them */
            int n = 50 / 3 + (r < 50 % 3);
            jobs[r] = (shard_job){&sh, r, learn ? 0.1 : 0.0, test_dataset(all->x_f32 + at * 4, n, 4, all->y + at, 1), NULL,
                                  {0}, 0, ""};
            at += n;
            pthread_create(&t[r], NULL, run_shard, &jobs[r]);
        }
        for (int r = 0; r < 3; r++)
            pthread_join(t[r], NULL);
        nnk_err err = {0, ""};
        nnk_model *one = mlp("sgd");
        char names[8][64];
        double values[8];
        int n;
        ck_assert_int_eq(nnk_model_evaluate(one, all, 50, names, values, 8, &n, &err), 0);
        for (int r = 0; r < 3; r++) {
            ck_assert_msg(jobs[r].rc == 0, "rank %d: %s", r, jobs[r].msg);
            double first = jobs[r].h.values[0], last = jobs[r].h.values[(jobs[r].h.n_epochs - 1) * jobs[r].h.n_keys];
            if (!learn) /* every row once an epoch, with the initial weights */
                ck_assert_msg(fabs(first - values[0]) < 1e-5 && fabs(last - values[0]) < 1e-5,
                              "rank %d: epoch losses %g, %g; evaluate %g", r, first, last, values[0]);
            else
                ck_assert_msg(last < first - 0.05, "rank %d: loss %g -> %g", r, first, last);
            nnk_history_clear(&jobs[r].h);
            nnk_model_free(jobs[r].m);
            nnk_dataset_free(jobs[r].part);
        }
        nnk_model_free(one);
        pthread_barrier_destroy(&sh.barrier);
    }
    nnk_dataset_free(all);
}
END_TEST

int main(void)
{
    reg = test_registry();
    Suite *s = suite_create("distributed");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, two_and_three_ranks_match_one_process);
    tcase_add_test(tc, diverged_weights_are_caught);
    tcase_add_test(tc, refusals);
    tcase_add_test(tc, synchronized_batch_normalization);
    tcase_add_test(tc, per_process_batch_normalization);
    tcase_add_test(tc, sharded_data);
    tcase_add_test(tc, random_streams_per_rank);
    suite_add_tcase(s, tc);
    int rc = test_run_suite(s);
    nnk_registry_free(reg);
    return rc;
}
