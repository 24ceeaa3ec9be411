/* Benchmark: the CPU's float FMA peak, the yardstick for nnkit's GFLOP/s.
 * Each thread runs independent fused multiply-adds at the widest vector
 * width the CPU has (AVX-512 where present, else AVX2), enough of them in
 * flight to hide the FMA latency; every thread at once, best of 5. Used by
 * tools/bench.sh.   bench_peak THREADS */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ITERS 20000000L
#define CHAINS 12 /* independent accumulators per thread */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile float sink;

__attribute__((target("avx512f"))) static void *fma512(void *arg)
{
    (void)arg;
    __m512 acc[CHAINS], x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    for (int c = 0; c < CHAINS; c++)
        acc[c] = _mm512_set1_ps((float)c);
    for (long i = 0; i < ITERS; i++)
        for (int c = 0; c < CHAINS; c++)
            acc[c] = _mm512_fmadd_ps(acc[c], x, y);
    float s = 0;
    for (int c = 0; c < CHAINS; c++)
        s += _mm512_reduce_add_ps(acc[c]);
    sink = s;
    return NULL;
}

__attribute__((target("avx2,fma"))) static void *fma256(void *arg)
{
    (void)arg;
    __m256 acc[CHAINS], x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    for (int c = 0; c < CHAINS; c++)
        acc[c] = _mm256_set1_ps((float)c);
    for (long i = 0; i < ITERS; i++)
        for (int c = 0; c < CHAINS; c++)
            acc[c] = _mm256_fmadd_ps(acc[c], x, y);
    float s = 0, v[8];
    for (int c = 0; c < CHAINS; c++) {
        _mm256_storeu_ps(v, acc[c]);
        for (int k = 0; k < 8; k++)
            s += v[k];
    }
    sink = s;
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (threads < 1 || threads > 256) {
        fprintf(stderr, "usage: bench_peak THREADS\n");
        return 2;
    }
    int wide = __builtin_cpu_supports("avx512f");
    if (!wide && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
        printf("peak threads=%d isa=none gflops=0\n", threads);
        return 0;
    }
    void *(*kernel)(void *) = wide ? fma512 : fma256;
    double lanes = wide ? 16 : 8, best = 0;
    pthread_t t[256];
    for (int rep = 0; rep < 5; rep++) {
        double start = now();
        for (int i = 0; i < threads; i++)
            pthread_create(&t[i], NULL, kernel, NULL);
        for (int i = 0; i < threads; i++)
            pthread_join(t[i], NULL);
        double gflops = 2.0 * lanes * CHAINS * (double)ITERS * threads / (now() - start) / 1e9;
        best = gflops > best ? gflops : best;
    }
    printf("peak threads=%d isa=%s gflops=%.1f\n", threads, wide ? "avx512" : "avx2", best);
    return 0;
}
