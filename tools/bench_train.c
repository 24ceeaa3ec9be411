/* Benchmark: trains an experiment's model and reports samples per second,
 * achieved GFLOP/s, the sgemm-only bound measured in the same process, and
 * peak RSS. Used by tools/bench.sh.
 *   bench_train EXPERIMENT.ini BATCH_SIZE [--threads N] [--tensorboard] [--predict|--evaluate] [--epochs N]
 *               [--repeats N] [--mpi [--allreduce | --buckets]]
 * Times the steady state, as the bound is timed: one untimed pass first
 * (one epoch when training: oneDNN generates its kernels and the buffers
 * get their pages), then the fastest of --repeats passes (default 3).
 * The bound is the time of the sgemm calls alone of one training step at
 * the model's real shapes (per dense layer: the forward product, the
 * weight gradient and, except for a layer fed by the data, the input
 * gradient), looped over an epoch's steps, on the same BLAS and threads.
 * --predict times nnk_model_predict over the training rows instead, and
 * --evaluate nnk_model_evaluate (their bound: the forward products alone).
 * --threads N sets the BLAS threads (default: OPENBLAS_NUM_THREADS or every
 * core). --mpi (under mpirun) trains data-parallel over the job's
 * processes, the batch being the global one, and only rank 0 prints;
 * with --allreduce it times instead the sum of one gradient buffer of the
 * model's trainable size over the processes (median of 50), and with
 * --buckets it sums the gradients in buckets during backward instead of
 * in one call after it (to measure the overlap). The bound
 * stays one process's. --epochs N trains N epochs (small
 * models, whose epoch is too short to time). With --tensorboard the run
 * also logs every batch's scalars and a histogram of every weight and bias
 * (the callback's cost). */
#include "runner.h"
#ifdef NNK_HAVE_MPI
#include <nnkit/mpi.h>
#endif
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A dense layer's gemm shapes: fan in k, units n, and whether its input
 * gradient is computed: only when a layer with weights lies upstream
 * (none does for the first dense layer, even after a flatten). */
typedef struct gemm_layer {
    int k, n, needs_dx;
} gemm_layer;

static int dense_layers(const nnk_model *m, gemm_layer *out, int cap)
{
    int n = 0, count = nnk_model_layer_count(m);
    char *weighted_upstream = calloc((size_t)count + 1, 1); /* by layer: it or a layer before it has weights */
    for (int i = 0; i < count && n < cap; i++) {
        nnk_layer_info li;
        nnk_model_layer(m, i, &li);
        int upstream = 0;
        for (int j = 0; j < i; j++) {
            nnk_layer_info lj;
            nnk_model_layer(m, j, &lj);
            for (int k = 0; k < li.n_inputs; k++)
                upstream |= !strcmp(li.inputs[k], lj.name) && weighted_upstream[j];
        }
        weighted_upstream[i] = upstream || li.n_weights > 0;
        if (!strcmp(li.type, "dense") && li.n_weights > 0)
            out[n++] = (gemm_layer){(int)li.weights[0].value.shape[0], (int)li.weights[0].value.shape[1], upstream};
    }
    free(weighted_upstream);
    return n;
}

/* FLOPs per sample of the gemms (2 per multiply-add). */
static double gemm_flops(const gemm_layer *l, int n, int training)
{
    double f = 0;
    for (int i = 0; i < n; i++)
        f += 2.0 * l[i].k * l[i].n * (training ? 2 + l[i].needs_dx : 1);
    return f;
}

/* Samples per second if an epoch of `rows` samples in batches of `batch`
 * did nothing but its sgemm calls: the best of three timed epochs. */
/* One gemm, row-major: OpenBLAS threading itself (a plain caller's), or
 * nnk_sgemm (the compute backend as nnkit drives it). */
typedef void (*gemm_fn)(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                        int64_t ldb, float *c, int64_t ldc);

static void openblas_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                          int64_t ldb, float *c, int64_t ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n,
                (blasint)k, 1, a, (blasint)lda, b, (blasint)ldb, 0, c, (blasint)ldc);
}

static void backend_gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                         int64_t ldb, float *c, int64_t ldc)
{
    nnk_sgemm(ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
}

/* Samples per second of the model's gemms alone over an epoch (best of 3):
 * 3 forward products, the weight gradients and the input gradients. */
static double gemm_bound(gemm_fn gemm, const gemm_layer *l, int n, int64_t rows, int batch, int training)
{
    int widest = 1;
    for (int i = 0; i < n; i++)
        widest = l[i].k > widest ? l[i].k : l[i].n > widest ? l[i].n : widest;
    size_t act = (size_t)batch * (size_t)widest;
    float *x = calloc(act, sizeof(float)), *y = calloc(act, sizeof(float)), *dy = calloc(act, sizeof(float)),
          *dx = calloc(act, sizeof(float));
    float **w = calloc((size_t)n, sizeof(float *)), **dw = calloc((size_t)n, sizeof(float *));
    for (int i = 0; i < n; i++) {
        w[i] = calloc((size_t)l[i].k * l[i].n, sizeof(float));
        dw[i] = calloc((size_t)l[i].k * l[i].n, sizeof(float));
    }
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t = now();
        for (int64_t start = 0; start < rows; start += batch) {
            int b = (int)(rows - start < batch ? rows - start : batch);
            for (int i = 0; i < n; i++)
                gemm(0, 0, b, l[i].n, l[i].k, x, l[i].k, w[i], l[i].n, y, l[i].n);
            for (int i = n - 1; training && i >= 0; i--) {
                gemm(1, 0, l[i].k, l[i].n, b, x, l[i].k, dy, l[i].n, dw[i], l[i].n);
                if (l[i].needs_dx)
                    gemm(0, 1, b, l[i].k, l[i].n, dy, l[i].n, w[i], l[i].n, dx, l[i].k);
            }
        }
        double sps = (double)rows / (now() - t);
        best = sps > best ? sps : best;
    }
    for (int i = 0; i < n; i++)
        free(w[i]), free(dw[i]);
    free(w), free(dw), free(x), free(y), free(dy), free(dx);
    return best;
}

/* OpenBLAS's own threading, as a plain caller gets it (nnkit's setting back
 * after). */
static double sgemm_bound(const gemm_layer *l, int n, int64_t rows, int batch, int training, int threads)
{
    openblas_set_num_threads(threads);
    double sps = gemm_bound(openblas_gemm, l, n, rows, batch, training);
    nnk_set_threads(threads);
    return sps;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The sum over the processes of one buffer of the model's trainable size,
 * the median of 50 after 5 to warm up. */
static int time_allreduce(const nnk_model *m, nnk_reducer *red, const char *batch)
{
    int64_t n = nnk_model_param_count(m);
    float *buf = calloc((size_t)n, sizeof(float));
    double us[50];
    nnk_err err = {0, ""};
    for (int i = -5; buf && i < 50; i++) {
        double t = now();
        if (red->sum_floats(red->ctx, buf, n, &err)) {
            fprintf(stderr, "bench_train: %s\n", err.msg);
            return 1;
        }
        if (i >= 0)
            us[i] = (now() - t) * 1e6;
    }
    qsort(us, 50, sizeof(double), cmp_double);
    if (red->rank == 0)
        printf("allreduce mode=allreduce batch=%s ranks=%d floats=%lld bytes=%lld us=%.1f\n", batch, red->size,
               (long long)n, (long long)n * 4, us[25]);
    free(buf);
#ifdef NNK_HAVE_MPI
    nnk_mpi_leave(red);
#endif
    return 0;
}

/* The benchmark's command line. */
typedef struct bench_args {
    const char *experiment, *batch;
    int with_tb, predict, evaluate, epochs, threads, mpi, allreduce, buckets, repeats;
} bench_args;

static int parse_args(int argc, char **argv, bench_args *a)
{
    *a = (bench_args){.epochs = 1, .repeats = 3};
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--tensorboard"))
            a->with_tb = 1;
        else if (!strcmp(argv[i], "--predict"))
            a->predict = 1;
        else if (!strcmp(argv[i], "--evaluate"))
            a->evaluate = 1;
        else if (!strcmp(argv[i], "--mpi"))
            a->mpi = 1;
        else if (!strcmp(argv[i], "--allreduce"))
            a->allreduce = 1;
        else if (!strcmp(argv[i], "--buckets"))
            a->buckets = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc && atoi(argv[i + 1]) > 0)
            a->threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc && atoi(argv[i + 1]) > 0)
            a->epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc && atoi(argv[i + 1]) > 0)
            a->repeats = atoi(argv[++i]);
        else
            argc = 0;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: bench_train EXPERIMENT.ini BATCH_SIZE [--threads N] [--tensorboard] [--predict|--evaluate] "
                        "[--epochs N] [--repeats N]\n");
        return 2;
    }
    a->experiment = argv[1];
    a->batch = argv[2];
    return 0;
}

/* Under --mpi, the job's reducer (NULL with a message when it cannot be). */
static nnk_reducer *join(void)
{
#ifdef NNK_HAVE_MPI
    nnk_err merr = {0, ""};
    nnk_reducer *red = nnk_mpi_join(&merr);
    if (!red)
        fprintf(stderr, "bench_train: %s\n", merr.msg);
    return red;
#else
    fprintf(stderr, "bench_train: built without MPI\n");
    return NULL;
#endif
}

/* The experiment at the benchmark's batch size, built, and its training
 * data (and validation split). */
static int open_bench(const bench_args *a, loaded_experiment *x, nnk_dataset **train, nnk_dataset **val, nnk_err *err)
{
    char set[64];
    snprintf(set, sizeof set, "fit.batch_size=%s", a->batch);
    const char *sets[] = {set};
    if (experiment_open(x, a->experiment, sets, 1, 0, NULL, err))
        return err->status;
    const nnk_run_config *c = &x->parts.cfg;
    if (nnk_model_set_scale(x->m, c->scale, err) || nnk_model_build(x->m, 42, err) ||
        !(*train = nnk_dataset_load(c->train, c->label, c->features, err)) ||
        (c->validation_split > 0 && nnk_dataset_split(*train, c->validation_split, val, err)))
        return err->status;
    return NNK_OK;
}

/* --tensorboard: the callback logging every batch and histograms into a
 * fresh temporary directory (logdir, a mkdtemp template). */
static nnk_callback *tensorboard(nnk_registry *reg, char *logdir)
{
    nnk_err err = {0, ""};
    const char *k[] = {"log_dir", "update_freq", "histogram_freq"};
    const char *v[] = {mkdtemp(logdir), "batch", "1"};
    nnk_callback *tb = v[0] ? nnk_callback_new(reg, "tensorboard", "tensorboard", k, v, NULL, 3, &err) : NULL;
    if (!tb)
        fprintf(stderr, "bench_train: %s\n", v[0] ? err.msg : "cannot make a temporary directory");
    return tb;
}

/* The seconds of one fit, predict or evaluate pass; -1 with a message. */
static double timed_run(const bench_args *a, nnk_model *m, const nnk_dataset *train, const nnk_fit_options *o)
{
    nnk_err err = {0, ""};
    double t = now();
    int64_t cols = 0;
    float *out = NULL;
    char names[NNK_MAX_LOGS / 2][NNK_LOG_NAME_MAX];
    double values[NNK_MAX_LOGS / 2];
    int n_logs;
    if (a->predict ? !(out = nnk_model_predict(m, train, o->batch_size, &cols, &err))
        : a->evaluate ? nnk_model_evaluate(m, train, o->batch_size, names, values, NNK_MAX_LOGS / 2, &n_logs, &err) != 0
                      : nnk_model_fit(m, train, o, NULL, &err) != 0) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return -1;
    }
    double sec = now() - t;
    free(out);
    return sec;
}

int main(int argc, char **argv)
{
    bench_args a;
    if (parse_args(argc, argv, &a))
        return 2;
    int with_tb = a.with_tb, predict = a.predict, evaluate = a.evaluate, epochs = a.epochs;
    int threads = nnk_set_threads(a.threads);
    int inference = predict || evaluate;
    nnk_reducer *red = a.mpi ? join() : NULL;
    if (a.mpi && !red)
        return 1;
    nnk_err err = {0, ""};
    loaded_experiment x;
    nnk_dataset *train = NULL, *val = NULL;
    if (open_bench(&a, &x, &train, &val, &err)) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    nnk_model *m = x.m;
    gemm_layer layers[64];
    int n_layers = dense_layers(m, layers, 64);
    if (red && a.allreduce)
        return time_allreduce(m, red, argv[2]);
    nnk_fit_options o;
    nnk_fit_options_init(&o);
    o.epochs = epochs;
    o.batch_size = x.parts.cfg.batch_size;
    o.reducer = red;
    o.gradient_buckets = a.buckets;
    nnk_callback *tb = NULL;
    char logdir[] = "/tmp/nnkit-bench-XXXXXX";
    if (with_tb && !(tb = tensorboard(x.reg, logdir)))
        return 1;
    if (tb) {
        o.callbacks = &tb;
        o.n_callbacks = 1;
        o.run_dir = "bench";
    }
    o.epochs = 1; /* the warm-up pass */
    double sec = timed_run(&a, m, train, &o);
    o.epochs = epochs;
    for (int r = 0; sec >= 0 && r < a.repeats; r++) {
        double t = timed_run(&a, m, train, &o);
        sec = r == 0 || t < 0 || t < sec ? t : sec;
    }
    if (sec < 0)
        return 1;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double samples = (double)train->rows * (inference ? 1 : epochs), sps = samples / sec;
    double steps = (double)((train->rows + o.batch_size - 1) / o.batch_size) * (inference ? 1 : epochs);
    double bound = sgemm_bound(layers, n_layers, train->rows, (int)o.batch_size, !inference, threads);
    double backend = gemm_bound(backend_gemm, layers, n_layers, train->rows, (int)o.batch_size, !inference);
    nnk_callback_free(tb);
    if (with_tb) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", logdir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_train: could not remove %s\n", logdir);
    }
    if (red && red->rank != 0)
        bound = backend = 0, sps = 0; /* rank 0 reports */
    else
        printf("%s%s mode=%s batch=%s threads=%d samples=%.0f seconds=%.3f samples_per_s=%.0f steps_per_s=%.0f gflops=%.2f "
           "bound_samples_per_s=%.0f of_bound=%.3f backend_bound_samples_per_s=%.0f peak_rss_mb=%.1f\n",
           with_tb ? "nnkit+tb" : "nnkit", red ? "-mpi" : "", predict ? "predict" : evaluate ? "evaluate" : "train", argv[2],
           threads, samples,
           sec, sps, steps / sec, sps * gemm_flops(layers, n_layers, !inference) / 1e9, bound, sps / bound, backend,
           ru.ru_maxrss / 1024.0);
    nnk_dataset_free(train);
    nnk_dataset_free(val);
    experiment_close(&x);
#ifdef NNK_HAVE_MPI
    nnk_mpi_leave(red);
#endif
    return 0;
}
