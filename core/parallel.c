/* nnkit's own threads: a small pool that runs the tasks of one parallel
 * job at a time, the calling thread included. The BLAS runs on one thread
 * inside each task; nnk_sgemm splits a product into blocks of C, one task
 * each, which scales the mid-sized products of a training step far better
 * than OpenBLAS's own threading does (measured in tools/bench.sh).
 *
 * Workers spin briefly between jobs (a training step's jobs come tens of
 * microseconds apart), then sleep on a condition variable. */
#include "internal.h"
#include <cblas.h>
#ifdef NNK_BACKEND_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

#define MAX_THREADS 256
#define SPIN_NS 200000 /* how long an idle worker spins before it sleeps */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int threads;                  /* the pool's size, callers included */
    int set;                      /* nnk_set_threads was called */
    int started;                  /* workers running */
    atomic_uint generation;       /* bumped for every job */
    atomic_int sleeping;
    /* the job in progress */
    void (*fn)(void *ctx, int task);
    void *ctx;
    int n_tasks;
    atomic_int next_task, done_tasks;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 1, 0, 0, 0, 0, NULL, NULL, 0, 0, 0};

static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */
static _Thread_local int in_task; /* a job started from a task runs serially */

static void run_tasks(void)
{
    int t;
    in_task = 1;
    while ((t = atomic_fetch_add(&pool.next_task, 1)) < pool.n_tasks) {
        pool.fn(pool.ctx, t);
        atomic_fetch_add_explicit(&pool.done_tasks, 1, memory_order_release);
    }
    in_task = 0;
}

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void *worker(void *arg)
{
    (void)arg;
#ifdef NNK_BACKEND_ONEDNN
    omp_set_num_threads(1); /* this thread's gemm blocks run on it alone */
#endif
    unsigned seen = atomic_load(&pool.generation);
    for (;;) {
        int64_t until = now_ns() + SPIN_NS;
        for (int spins = 0; atomic_load_explicit(&pool.generation, memory_order_acquire) == seen; spins++) {
            if ((spins & 255) == 255 && now_ns() > until)
                break;
            cpu_relax();
        }
        if (atomic_load_explicit(&pool.generation, memory_order_acquire) == seen) {
            pthread_mutex_lock(&pool.lock);
            atomic_fetch_add(&pool.sleeping, 1);
            while (atomic_load(&pool.generation) == seen)
                pthread_cond_wait(&pool.wake, &pool.lock);
            atomic_fetch_sub(&pool.sleeping, 1);
            pthread_mutex_unlock(&pool.lock);
        }
        seen = atomic_load_explicit(&pool.generation, memory_order_acquire);
        run_tasks();
    }
    return NULL;
}

/* Starts workers up to threads - 1 (they are never stopped: a smaller
 * pool just hands out fewer tasks). */
static void start_workers(int threads)
{
    pthread_mutex_lock(&pool.lock);
    while (pool.started < threads - 1) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&t, &a, worker, NULL);
        pthread_attr_destroy(&a);
        if (rc)
            break;
        pool.started++;
    }
    pthread_mutex_unlock(&pool.lock);
}

int nnk_set_threads(int n)
{
    if (n <= 0) {
        const char *env = getenv("OPENBLAS_NUM_THREADS");
        n = env ? atoi(env) : 0;
    }
    if (n <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? (int)cores : 1;
    }
    n = n > MAX_THREADS ? MAX_THREADS : n;
    openblas_set_num_threads(1); /* each task's gemm runs on its own thread */
#ifdef NNK_BACKEND_ONEDNN
    omp_set_num_threads(1);
#endif
    pool.threads = n;
    pool.set = 1;
    return n;
}

int nnk_thread_count(void) { return pool.set ? pool.threads : openblas_get_num_threads(); }

void nnk__parallel_run(int n_tasks, void (*fn)(void *ctx, int task), void *ctx)
{
    if (n_tasks <= 1 || pool.threads <= 1 || in_task) {
        for (int t = 0; t < n_tasks; t++)
            fn(ctx, t);
        return;
    }
    if (pool.started < pool.threads - 1)
        start_workers(pool.threads);
    pthread_mutex_lock(&job_lock);
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n_tasks = n_tasks;
    atomic_store(&pool.done_tasks, 0);
    atomic_store(&pool.next_task, 0);
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
    if (atomic_load(&pool.sleeping)) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    run_tasks();
    while (atomic_load_explicit(&pool.done_tasks, memory_order_acquire) < n_tasks)
        cpu_relax();
    pthread_mutex_unlock(&job_lock);
}

int nnk__parallel_threads(void) { return pool.threads; }

typedef struct rows_job {
    void (*fn)(void *ctx, int64_t r0, int64_t r1);
    void *ctx;
    int64_t rows, step;
} rows_job;

static void rows_task(void *ctx, int task)
{
    const rows_job *j = ctx;
    int64_t r0 = task * j->step, r1 = r0 + j->step < j->rows ? r0 + j->step : j->rows;
    if (r0 < r1)
        j->fn(j->ctx, r0, r1);
}

void nnk__parallel_rows(int64_t rows, int64_t work_per_row, void (*fn)(void *ctx, int64_t r0, int64_t r1), void *ctx)
{
    int threads = pool.threads;
    if (threads <= 1 || rows < 2 || rows * work_per_row < 16384) {
        fn(ctx, 0, rows);
        return;
    }
    int64_t parts = rows < threads ? rows : threads;
    rows_job j = {fn, ctx, rows, (rows + parts - 1) / parts};
    nnk__parallel_run((int)parts, rows_task, &j);
}

float *nnk__floats_aligned(int64_t n, int zeroed)
{
    size_t bytes = ((size_t)(n > 0 ? n : 1) * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    if (p && zeroed)
        memset(p, 0, bytes);
    return p;
}

/* ---- the split gemm ----------------------------------------------------- */

/* The compute backend: oneDNN's JIT sgemm (the CPU's widest vectors) when
 * nnkit is built with it (meson -Dcompute=auto finds it, or =onednn), else
 * OpenBLAS (and for the smallest products either way, see ONEDNN_MIN_MNK). Either way each block below is a one-thread call: oneDNN's
 * OpenMP team is one thread in every thread that calls it (its own threading
 * of the same products measured 1.7x slower than these blocks). */
const char *nnk_compute_backend(void)
{
    static char text[160];
    if (text[0])
        return text;
#ifdef NNK_BACKEND_ONEDNN
    static const struct {
        dnnl_cpu_isa_t isa;
        const char *name;
    } isas[] = {{dnnl_cpu_isa_sse41, "sse41"},          {dnnl_cpu_isa_avx, "avx"},
                {dnnl_cpu_isa_avx2, "avx2"},            {dnnl_cpu_isa_avx2_vnni, "avx2_vnni"},
                {dnnl_cpu_isa_avx512_core, "avx512_core"}, {dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"},
                {dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"}, {dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"}};
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    const char *name = "?";
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++)
        if (isas[i].isa == isa)
            name = isas[i].name;
    const dnnl_version_t *v = dnnl_version();
    snprintf(text, sizeof text, "oneDNN %d.%d.%d, %s", v->major, v->minor, v->patch, name);
#else
    snprintf(text, sizeof text, "OpenBLAS, %s kernels", openblas_get_corename());
#endif
    return text;
}

/* Products below this many multiply-adds stay on OpenBLAS: the regression
 * example's 10-30-30-1 network at batch 16 ran 3x slower on oneDNN's sgemm
 * (72k against 215k steps/s, tools/bench_train), the book's MLP's
 * smallest product, 32 x 10 x 100, already runs faster on oneDNN. */
#define ONEDNN_MIN_MNK 16384.0

/* One gemm call: C = alpha op(A) op(B) + beta C, row-major. */
typedef struct gemm_job {
    int ta, tb;
    int64_t m, n, k, lda, ldb, ldc;
    float alpha, beta;
    const float *a, *b;
    float *c;
    int split_rows;  /* the tasks take blocks of C's rows, or else of its columns */
    int64_t step;    /* rows or columns per task */
} gemm_job;

static void gemm_block(const gemm_job *g, int64_t m, int64_t n, const float *a, const float *b, float *c)
{
#ifdef NNK_BACKEND_ONEDNN /* valid shapes cannot fail */
    if ((double)m * (double)n * (double)g->k >= ONEDNN_MIN_MNK) {
        (void)dnnl_sgemm(g->ta ? 'T' : 'N', g->tb ? 'T' : 'N', m, n, g->k, g->alpha, a, g->lda, b, g->ldb, g->beta, c,
                         g->ldc);
        return;
    }
#endif
    cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans, (blasint)m,
                (blasint)n, (blasint)g->k, g->alpha, a, (blasint)g->lda, b, (blasint)g->ldb, g->beta, c,
                (blasint)g->ldc);
}

static void gemm_task(void *ctx, int task)
{
    const gemm_job *g = ctx;
    int64_t lo = task * g->step, total = g->split_rows ? g->m : g->n;
    int64_t len = total - lo < g->step ? total - lo : g->step;
    if (len <= 0)
        return;
    if (g->split_rows) /* rows lo.. of C: rows of op(A) (columns of A when transposed) */
        gemm_block(g, len, g->n, g->ta ? g->a + lo : g->a + lo * g->lda, g->b, g->c + lo * g->ldc);
    else /* columns lo.. of C: columns of op(B) (rows of B when transposed) */
        gemm_block(g, g->m, len, g->a, g->tb ? g->b + lo * g->ldb : g->b + lo, g->c + lo);
}

/* Products big enough to share split C into one block per thread (multiples
 * of 16 rows or columns, the kernels' width), each block a one-thread gemm:
 * by rows when it has 64 or more (measured faster for every shape of the
 * book's model at batch 256), else along its longer side. The blocks depend
 * only on the thread count, so results are the same at the same count. */
void nnk_sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t lda, const float *b, int64_t ldb,
               float beta, float *c, int64_t ldc)
{
    gemm_job g = {ta, tb, m, n, k, lda, ldb, ldc, alpha, beta, a, b, c, m >= 64 || m >= n, 0};
    int threads = nnk__parallel_threads();
    int64_t side = g.split_rows ? m : n;
    if (threads <= 1 || (double)m * (double)n * (double)k < 32768.0 || side < 32) {
        gemm_block(&g, m, n, a, b, c);
        return;
    }
    int64_t parts = side / 16 < threads ? side / 16 : threads;
    g.step = ((side + parts - 1) / parts + 15) / 16 * 16;
    nnk__parallel_run((int)((side + g.step - 1) / g.step), gemm_task, &g);
}
