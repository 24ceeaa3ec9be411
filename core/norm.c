/* nnkit.compute.batchnorm/1: the passes of batch normalization (contract
 * in nnkit/plugin.h) in blocks of rows on the pool's threads. Each pass
 * takes a tile of channels at a time over a chunk of rows, the tile's
 * sums and constants in vector registers, built for the widest vectors the
 * CPU has (NNK_VECTOR_CLONES); per-channel sums are taken per block and
 * added in block order. With both moments in one pass and no xhat
 * written, the training forward pass reads the maps twice and writes them
 * once; it and the backward pass run faster than oneDNN's
 * batch-normalization primitive (tools/bench_conv; docs/performance.md),
 * and keep what the primitive cannot: double sums in a fixed order and
 * the data-parallel sums between passes. */
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

enum { SUM_PLAIN, SUM_SQUARES, SUM_MOMENTS, SUM_GRADIENT };
#define TILE 32 /* channels a loop takes at once */

/* Channels are taken TILE, then TILE / 2 at a time (widths the loops are
 * built for), the last few as they come. */
static int64_t tile_width(int64_t left) { return left >= TILE ? TILE : left >= TILE / 2 ? TILE / 2 : left; }

/* Rows per chunk: few enough that a chunk stays in cache while each tile
 * of channels passes over it. */
static int64_t chunk_rows(int64_t c, int64_t rows) { return c > TILE ? (16384 / c > 1 ? 16384 / c : 1) : rows; }

typedef struct sums_ctx {
    norm_job *j;
    int64_t n;
    int kind;
} sums_ctx;

/* One row's terms of a tile's sums, added into sa and sb. */
static inline __attribute__((always_inline)) void row_terms(const norm_job *j, int kind, int64_t i, int64_t k0, int w,
                                                            const double *m, double *sa, double *sb)
{
    int64_t c = j->c;
    const float *x = j->x + i * c + k0, *dy = j->dy + i * c + k0, *h = j->xhat + i * c + k0;
    for (int t = 0; t < w; t++) {
        if (kind == SUM_GRADIENT) {
            sa[t] += dy[t];
            sb[t] += (double)dy[t] * h[t];
        } else if (kind == SUM_SQUARES) {
            double d = x[t] - m[t];
            sa[t] += d * d;
        } else if (kind == SUM_MOMENTS) {
            double d = x[t] - m[t];
            sa[t] += d;
            sb[t] += d * d;
        } else {
            sa[t] += x[t];
        }
    }
}

/* Per-channel sums over rows [r0, r1) of channels [k0, k0 + w), added
 * into a and b: x, or (x - center)^2, or d = x - center and d^2, or dy
 * and dy xhat. Inlined with w a constant, the accumulators live in vector
 * registers; even and odd rows go to two sets, so twice as many additions
 * are in flight as one set's latency allows. */
static inline __attribute__((always_inline)) void tile_sums(const norm_job *j, int kind, int64_t r0, int64_t r1,
                                                            int64_t k0, int w, double *a, double *b)
{
    double sa[TILE] = {0}, sb[TILE] = {0}, sa2[TILE] = {0}, sb2[TILE] = {0}, m[TILE] = {0};
    for (int t = 0; t < w && j->center; t++)
        m[t] = j->center[k0 + t];
    int64_t i = r0;
    for (; i + 1 < r1; i += 2) {
        row_terms(j, kind, i, k0, w, m, sa, sb);
        row_terms(j, kind, i + 1, k0, w, m, sa2, sb2);
    }
    if (i < r1)
        row_terms(j, kind, i, k0, w, m, sa, sb);
    for (int t = 0; t < w; t++) {
        a[k0 + t] += sa[t] + sa2[t];
        b[k0 + t] += sb[t] + sb2[t];
    }
}

static inline __attribute__((always_inline)) void kind_sums(const norm_job *j, int kind, int64_t r0, int64_t r1,
                                                            double *a, double *b)
{
    for (int64_t k0 = 0, w; k0 < j->c; k0 += w) {
        w = tile_width(j->c - k0);
        w == TILE       ? tile_sums(j, kind, r0, r1, k0, TILE, a, b)
        : w == TILE / 2 ? tile_sums(j, kind, r0, r1, k0, TILE / 2, a, b)
                        : tile_sums(j, kind, r0, r1, k0, (int)w, a, b);
    }
}

NNK_VECTOR_CLONES static void sums_task(void *ctx, int task)
{
    const sums_ctx *s = ctx;
    const norm_job *j = s->j;
    int64_t r0, r1, c = j->c;
    block_range(j, task, s->n, &r0, &r1);
    double *a = j->parts + (int64_t)task * 2 * c, *b = a + c;
    memset(a, 0, sizeof(double) * (size_t)(2 * c));
    int64_t chunk = chunk_rows(c, r1 - r0);
    for (int64_t i = r0; i < r1; i += chunk) {
        int64_t end = i + chunk < r1 ? i + chunk : r1;
        if (s->kind == SUM_GRADIENT)
            kind_sums(j, SUM_GRADIENT, i, end, a, b);
        else if (s->kind == SUM_MOMENTS)
            kind_sums(j, SUM_MOMENTS, i, end, a, b);
        else if (s->kind == SUM_SQUARES)
            kind_sums(j, SUM_SQUARES, i, end, a, b);
        else
            kind_sums(j, SUM_PLAIN, i, end, a, b);
    }
}

/* The per-block sums of a job, added in block order into first (and
 * second). */
static int reduce(norm_job *j, int64_t n, int kind, double *first, double *second, nnk_err *err)
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
    sums_ctx s = {j, n, kind};
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
    return reduce(&j, n, center ? SUM_SQUARES : SUM_PLAIN, sum, NULL, err);
}

static int moment_sums(int64_t n, int64_t c, const float *x, const double *shift, double *sum, double *sum_sq,
                       nnk_err *err)
{
    norm_job j = {.c = c, .x = x, .center = shift};
    return reduce(&j, n, SUM_MOMENTS, sum, sum_sq, err);
}

static int gradient_sums(int64_t n, int64_t c, const float *dy, const float *xhat, double *sum_dy, double *sum_dy_xhat,
                         nnk_err *err)
{
    norm_job j = {.c = c, .dy = dy, .xhat = xhat};
    return reduce(&j, n, SUM_GRADIENT, sum_dy, sum_dy_xhat, err);
}

/* The elementwise passes over rows [r0, r1) and channels [k0, k0 + w),
 * the channels' constants copied into locals first: inlined with w a
 * constant, they stay in registers and nothing aliases the output.
 * Normalization writes xhat only when keep (a constant) is set. */
/* x - mean in float against mean split into two floats (hi + lo): half
 * the vector work of converting to double, within an ulp of it. */
static inline __attribute__((always_inline)) void tile_normalize(const norm_job *j, int keep, int64_t r0, int64_t r1,
                                                                 int64_t k0, int w)
{
    float hi[TILE], lo[TILE], iv[TILE], g[TILE], be[TILE];
    for (int t = 0; t < w; t++) {
        hi[t] = (float)j->mean[k0 + t], lo[t] = (float)(j->mean[k0 + t] - hi[t]);
        iv[t] = j->inv[k0 + t], g[t] = j->gamma[k0 + t], be[t] = j->beta[k0 + t];
    }
    for (int64_t i = r0; i < r1; i++) {
        const float *x = j->x + i * j->c + k0;
        float *h = keep ? j->out + i * j->c + k0 : NULL, *y = j->y + i * j->c + k0;
        for (int t = 0; t < w; t++) {
            float v = (x[t] - hi[t] - lo[t]) * iv[t];
            if (keep)
                h[t] = v;
            y[t] = g[t] * v + be[t];
        }
    }
}

static inline __attribute__((always_inline)) void tile_input_gradient(const norm_job *j, int64_t r0, int64_t r1,
                                                                      int64_t k0, int w)
{
    double p[TILE], q[TILE], r[TILE];
    for (int t = 0; t < w; t++)
        p[t] = j->p[k0 + t], q[t] = j->q[k0 + t], r[t] = j->r[k0 + t];
    for (int64_t i = r0; i < r1; i++) {
        const float *dy = j->dy + i * j->c + k0, *h = j->xhat + i * j->c + k0;
        float *dx = j->out + i * j->c + k0;
        for (int t = 0; t < w; t++)
            dx[t] = (float)(p[t] * dy[t] + q[t] + r[t] * h[t]);
    }
}

enum { NORMALIZE, NORMALIZE_KEEP, INPUT_GRADIENT };

/* One pass over rows [r0, r1), tile by tile as kind_sums. */
static inline __attribute__((always_inline)) void elementwise(const norm_job *j, int pass, int64_t r0, int64_t r1)
{
    int64_t c = j->c, chunk = chunk_rows(c, r1 - r0);
    for (int64_t i = r0; i < r1; i += chunk) {
        int64_t end = i + chunk < r1 ? i + chunk : r1;
        for (int64_t k0 = 0, w; k0 < c; k0 += w) {
            w = tile_width(c - k0);
            int keep = pass == NORMALIZE_KEEP;
            if (pass == INPUT_GRADIENT)
                w == TILE       ? tile_input_gradient(j, i, end, k0, TILE)
                : w == TILE / 2 ? tile_input_gradient(j, i, end, k0, TILE / 2)
                                : tile_input_gradient(j, i, end, k0, (int)w);
            else
                w == TILE       ? tile_normalize(j, keep, i, end, k0, TILE)
                : w == TILE / 2 ? tile_normalize(j, keep, i, end, k0, TILE / 2)
                                : tile_normalize(j, keep, i, end, k0, (int)w);
        }
    }
}

NNK_VECTOR_CLONES static void normalize_rows(void *ctx, int64_t r0, int64_t r1)
{
    const norm_job *j = ctx;
    j->out ? elementwise(j, NORMALIZE_KEEP, r0, r1) : elementwise(j, NORMALIZE, r0, r1);
}

static void normalize(int64_t n, int64_t c, const float *x, const double *mean, const float *inv, const float *gamma,
                      const float *beta, float *xhat, float *y)
{
    norm_job j = {.c = c, .x = x, .mean = mean, .inv = inv, .gamma = gamma, .beta = beta, .out = xhat, .y = y};
    nnk__parallel_rows(n, c, normalize_rows, &j);
}

NNK_VECTOR_CLONES static void input_gradient_rows(void *ctx, int64_t r0, int64_t r1)
{
    elementwise(ctx, INPUT_GRADIENT, r0, r1);
}

static void input_gradient(int64_t n, int64_t c, const float *dy, const float *xhat, const double *p, const double *q,
                           const double *r, float *dx)
{
    norm_job j = {.c = c, .dy = dy, .xhat = xhat, .p = p, .q = q, .r = r, .out = dx};
    nnk__parallel_rows(n, c, input_gradient_rows, &j);
}

const nnk_host_batchnorm nnk__host_batchnorm = {
    sizeof(nnk_host_batchnorm), channel_sums, gradient_sums, normalize, input_gradient, moment_sums};
