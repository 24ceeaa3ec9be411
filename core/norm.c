/* nnkit.compute.batchnorm/1: the passes of batch normalization (contract
 * in nnkit/plugin.h) in blocks of rows on the pool's threads. Each pass
 * reads rows whole, so the channels of a row are adjacent and the inner
 * loops vectorize; per-channel sums are taken per block and added in block
 * order. */
#include "compute.h"
#include <string.h>

typedef struct norm_job {
    int64_t c, step;
    const float *x, *dy, *xhat, *inv, *gamma, *beta;
    const double *center, *mean, *p, *q, *r;
    double *parts; /* sums: 2 x c per block */
    float *y, *out;
} norm_job;

/* Blocks of rows: one per thread when the work is worth sharing. */
static int64_t block_count(int64_t n, int64_t c, int64_t *step)
{
    int threads = nnk__parallel_threads();
    int64_t blocks = threads > 1 && n * c >= 16384 ? (n < threads ? n : threads) : 1;
    *step = blocks > 0 ? (n + blocks - 1) / blocks : n;
    return *step > 0 ? (n + *step - 1) / *step : 0;
}

static void block_range(const norm_job *j, int task, int64_t n, int64_t *r0, int64_t *r1)
{
    *r0 = task * j->step;
    *r1 = *r0 + j->step < n ? *r0 + j->step : n;
}

typedef struct sums_ctx {
    norm_job *j;
    int64_t n;
    int gradient;
} sums_ctx;

static void sums_task(void *ctx, int task)
{
    const sums_ctx *s = ctx;
    const norm_job *j = s->j;
    int64_t r0, r1, c = j->c;
    block_range(j, task, s->n, &r0, &r1);
    double *a = j->parts + (int64_t)task * 2 * c, *b = a + c;
    memset(a, 0, sizeof(double) * (size_t)(2 * c));
    for (int64_t i = r0; i < r1; i++) {
        if (s->gradient) {
            const float *dy = j->dy + i * c, *h = j->xhat + i * c;
            for (int64_t k = 0; k < c; k++) {
                a[k] += dy[k];
                b[k] += (double)dy[k] * h[k];
            }
        } else if (j->center) {
            const float *x = j->x + i * c;
            for (int64_t k = 0; k < c; k++) {
                double d = x[k] - j->center[k];
                a[k] += d * d;
            }
        } else {
            const float *x = j->x + i * c;
            for (int64_t k = 0; k < c; k++)
                a[k] += x[k];
        }
    }
}

/* The per-block sums of a job, added in block order into first (and
 * second). */
static int reduce(norm_job *j, int64_t n, int gradient, double *first, double *second, nnk_err *err)
{
    int64_t c = j->c, blocks = block_count(n, c, &j->step);
    memset(first, 0, sizeof(double) * (size_t)c);
    if (second)
        memset(second, 0, sizeof(double) * (size_t)c);
    if (blocks == 0 || c == 0)
        return NNK_OK;
    j->parts = (double *)nnk__thread_workspace(0, 4 * c * blocks); /* 2 x c doubles per block */
    if (!j->parts)
        return nnk_err_set(err, NNK_ENOMEM, "batch normalization: out of memory");
    sums_ctx s = {j, n, gradient};
    nnk__parallel_run((int)blocks, sums_task, &s);
    for (int64_t t = 0; t < blocks; t++)
        for (int64_t k = 0; k < c; k++) {
            first[k] += j->parts[t * 2 * c + k];
            if (second)
                second[k] += j->parts[t * 2 * c + c + k];
        }
    return NNK_OK;
}

static int channel_sums(int64_t n, int64_t c, const float *x, const double *center, double *sum, nnk_err *err)
{
    norm_job j = {.c = c, .x = x, .center = center};
    return reduce(&j, n, 0, sum, NULL, err);
}

static int gradient_sums(int64_t n, int64_t c, const float *dy, const float *xhat, double *sum_dy,
                         double *sum_dy_xhat, nnk_err *err)
{
    norm_job j = {.c = c, .dy = dy, .xhat = xhat};
    return reduce(&j, n, 1, sum_dy, sum_dy_xhat, err);
}

static void normalize_rows(void *ctx, int64_t r0, int64_t r1)
{
    const norm_job *j = ctx;
    for (int64_t i = r0; i < r1; i++) {
        const float *x = j->x + i * j->c;
        float *h = j->out + i * j->c, *y = j->y + i * j->c;
        for (int64_t k = 0; k < j->c; k++) {
            h[k] = (float)(x[k] - j->mean[k]) * j->inv[k];
            y[k] = j->gamma[k] * h[k] + j->beta[k];
        }
    }
}

static void normalize(int64_t n, int64_t c, const float *x, const double *mean, const float *inv, const float *gamma,
                      const float *beta, float *xhat, float *y)
{
    norm_job j = {.c = c, .x = x, .mean = mean, .inv = inv, .gamma = gamma, .beta = beta, .out = xhat, .y = y};
    nnk__parallel_rows(n, c, normalize_rows, &j);
}

static void input_gradient_rows(void *ctx, int64_t r0, int64_t r1)
{
    const norm_job *j = ctx;
    for (int64_t i = r0; i < r1; i++) {
        const float *dy = j->dy + i * j->c, *h = j->xhat + i * j->c;
        float *dx = j->out + i * j->c;
        for (int64_t k = 0; k < j->c; k++)
            dx[k] = (float)(j->p[k] * dy[k] + j->q[k] + j->r[k] * h[k]);
    }
}

static void input_gradient(int64_t n, int64_t c, const float *dy, const float *xhat, const double *p, const double *q,
                           const double *r, float *dx)
{
    norm_job j = {.c = c, .dy = dy, .xhat = xhat, .p = p, .q = q, .r = r, .out = dx};
    nnk__parallel_rows(n, c, input_gradient_rows, &j);
}

const nnk_host_batchnorm nnk__host_batchnorm = {sizeof(nnk_host_batchnorm), channel_sums, gradient_sums, normalize,
                                               input_gradient};
