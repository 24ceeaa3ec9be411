/* Benchmark: trains an experiment's model for one epoch and reports
 * samples per second, achieved GFLOP/s, the machine's sgemm rate measured
 * in the same process, and peak RSS. Used by tools/bench.sh.
 *   bench_train EXPERIMENT.ini BATCH_SIZE [--tensorboard]
 * With --tensorboard the epoch also logs every batch's scalars and a
 * histogram of every weight and bias (the callback's cost). */
#include <nnkit/experiment.h>
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

/* GFLOP/s of a square sgemm, best of a few runs. */
static double sgemm_rate(int n)
{
    float *a = malloc(sizeof(float) * (size_t)n * n), *b = malloc(sizeof(float) * (size_t)n * n),
          *c = malloc(sizeof(float) * (size_t)n * n);
    for (long i = 0; i < (long)n * n; i++)
        a[i] = b[i] = (float)(i % 7) * 0.1f;
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double t = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        double g = 2.0 * n * n * n / (now() - t) / 1e9;
        best = g > best ? g : best;
    }
    free(a), free(b), free(c);
    return best;
}

int main(int argc, char **argv)
{
    int with_tb = argc == 4 && !strcmp(argv[3], "--tensorboard");
    if (argc != 3 && !with_tb) {
        fprintf(stderr, "usage: bench_train EXPERIMENT.ini BATCH_SIZE [--tensorboard]\n");
        return 2;
    }
    nnk_err err = {0, ""};
    nnk_registry *reg = nnk_registry_new();
    nnk_experiment *e = NULL;
    nnk_experiment_parts parts;
    nnk_model *m = NULL;
    nnk_dataset *train = NULL, *val = NULL;
    char set[64];
    snprintf(set, sizeof set, "fit.batch_size=%s", argv[2]);
    if (nnk_registry_load_default(reg, NULL, &err) || !(e = nnk_experiment_load(argv[1], &err)) ||
        nnk_experiment_override(e, set, &err) || nnk_experiment_settings(e, &parts, &err) ||
        !(m = nnk_experiment_model(e, reg, &err)) ||
        nnk_model_set_scale(m, parts.cfg.scale, &err) || nnk_model_build(m, 42, &err) ||
        !(train = nnk_dataset_load(parts.cfg.train, NULL, NULL, &err)) ||
        nnk_dataset_split(train, parts.cfg.validation_split, &val, &err)) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    /* flops per trained sample: forward 2*MACs; backward 2*MACs for the
     * weight gradients and 2*MACs for the input gradients of every dense
     * layer but the first */
    const double macs = 784.0 * 300 + 300.0 * 100 + 100.0 * 10;
    const double flops = 2 * macs * 3 - 2 * 784.0 * 300;
    nnk_fit_options o;
    nnk_fit_options_init(&o);
    o.epochs = 1;
    o.batch_size = parts.cfg.batch_size;
    nnk_callback *tb = NULL;
    char logdir[] = "/tmp/nnkit-bench-XXXXXX";
    if (with_tb) {
        const char *k[] = {"log_dir", "update_freq", "histogram_freq"};
        const char *v[] = {mkdtemp(logdir), "batch", "1"};
        if (!v[0] || !(tb = nnk_callback_new(reg, "tensorboard", "tensorboard", k, v, NULL, 3, &err))) {
            fprintf(stderr, "bench_train: %s\n", v[0] ? err.msg : "cannot make a temporary directory");
            return 1;
        }
        o.callbacks = &tb;
        o.n_callbacks = 1;
        o.run_dir = "bench";
    }
    double t = now();
    if (nnk_model_fit(m, train, &o, NULL, &err)) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    double sec = now() - t;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double sps = (double)train->rows / sec;
    nnk_callback_free(tb);
    if (with_tb) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", logdir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_train: could not remove %s\n", logdir);
    }
    printf("%s batch=%s samples=%lld seconds=%.3f samples_per_s=%.0f gflops=%.2f sgemm_gflops=%.2f peak_rss_mb=%.1f\n",
           with_tb ? "nnkit+tb" : "nnkit", argv[2], (long long)train->rows, sec, sps, sps * flops / 1e9, sgemm_rate(1024),
           ru.ru_maxrss / 1024.0);
    nnk_dataset_free(train);
    nnk_dataset_free(val);
    nnk_model_free(m);
    nnk_experiment_parts_clear(&parts);
    nnk_experiment_free(e);
    nnk_registry_free(reg);
    return 0;
}
