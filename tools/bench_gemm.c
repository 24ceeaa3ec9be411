/* Benchmark: the gemm calls of one training step of the book's model
 * (784-300-100-10) at its real shapes, each timed alone (best of 5 runs of
 * 200 calls): OpenBLAS on 1 thread, OpenBLAS threading itself on N, and
 * nnkit's own split over N threads (nnk_sgemm) and, in a oneDNN build,
 * oneDNN's sgemm threading itself with an OpenMP team of N (what nnkit's
 * split is measured against, shape by shape). Used by tools/bench.sh.
 *   bench_gemm BATCH THREADS */
#include <nnkit/nnkit.h>
#include <cblas.h>
#ifdef NNK_BACKEND_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct shape {
    const char *what;
    int ta, tb, m, n, k;
    float beta;
} shape;

/* Microseconds per call: way 0 OpenBLAS, 1 nnk_sgemm, 2 oneDNN's own
 * threading. */
static double time_gemm(const shape *s, int way, const float *a, const float *b, float *c)
{
    int lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t = now();
        for (int i = 0; i < 200; i++) {
#ifdef NNK_BACKEND_ONEDNN
            if (way == 2)
                (void)dnnl_sgemm(s->ta ? 'T' : 'N', s->tb ? 'T' : 'N', s->m, s->n, s->k, 1.0f, a, lda, b, ldb, s->beta,
                                 c, s->n);
            else
#endif
            if (way)
                nnk_sgemm(s->ta, s->tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, s->beta, c, s->n);
            else
                cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans, s->m,
                            s->n, s->k, 1.0f, a, lda, b, ldb, s->beta, c, s->n);
        }
        double us = (now() - t) / 200 * 1e6;
        best = us < best ? us : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    int batch = argc == 3 ? atoi(argv[1]) : 0, threads = argc == 3 ? atoi(argv[2]) : 0;
    if (batch < 1 || threads < 1) {
        fprintf(stderr, "usage: bench_gemm BATCH THREADS\n");
        return 2;
    }
    const shape shapes[] = {
        {"forward_1", 0, 0, batch, 300, 784, 1}, {"forward_2", 0, 0, batch, 100, 300, 1},
        {"forward_3", 0, 0, batch, 10, 100, 1},  {"dW_1", 1, 0, 784, 300, batch, 1},
        {"dW_2", 1, 0, 300, 100, batch, 1},      {"dW_3", 1, 0, 100, 10, batch, 1},
        {"dx_2", 0, 1, batch, 300, 100, 0},      {"dx_3", 0, 1, batch, 100, 10, 0},
    };
    size_t big = (size_t)(batch > 784 ? batch : 784) * 784;
    float *a = calloc(big, sizeof(float)), *b = calloc(big, sizeof(float)), *c = calloc(big, sizeof(float));
    double total[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const shape *s = &shapes[i];
        openblas_set_num_threads(1);
        double one = time_gemm(s, 0, a, b, c);
        openblas_set_num_threads(threads);
        double blas = time_gemm(s, 0, a, b, c);
        nnk_set_threads(threads); /* OpenBLAS back to 1 thread inside nnkit's blocks */
        double ours = time_gemm(s, 1, a, b, c), dnnl = 0;
#ifdef NNK_BACKEND_ONEDNN
        omp_set_num_threads(threads);
        dnnl = time_gemm(s, 2, a, b, c);
        omp_set_num_threads(1);
#endif
        total[0] += one, total[1] += blas, total[2] += ours, total[3] += dnnl;
        printf("gemm batch=%d threads=%d shape=%s m=%d n=%d k=%d openblas1_us=%.1f openblasN_us=%.1f nnkitN_us=%.1f "
               "onednnN_us=%.1f\n",
               batch, threads, s->what, s->m, s->n, s->k, one, blas, ours, dnnl);
    }
    printf("gemm batch=%d threads=%d shape=step openblas1_us=%.1f openblasN_us=%.1f nnkitN_us=%.1f onednnN_us=%.1f\n",
           batch, threads, total[0], total[1], total[2], total[3]);
    free(a), free(b), free(c);
    return 0;
}
