/* nnkit.compute.pool2d/1: the host's 2-D max and average pooling
 * (contract in nnkit/plugin.h), in blocks of whole samples on the pool's
 * threads. Pooling reads each input cell a few times and does one compare
 * or add per read, so it is bound by memory, not arithmetic: the loops run
 * over a cell's channels, which lie next to each other (channels last) and
 * vectorize. */
#include "compute.h"
#include <string.h>

typedef struct pool_job {
    nnk_pool2d_shape s;
    const float *x, *dy;
    float *y, *dx;
    int failed;
} pool_job;

/* The window of output (oy, ox): its real rows [*y0, *y1) and columns
 * [*x0, *x1). */
static void window(const nnk_pool2d_shape *s, int64_t oy, int64_t ox, int64_t *y0, int64_t *y1, int64_t *x0,
                   int64_t *x1)
{
    int64_t top = oy * s->stride_h - s->pad_top, left = ox * s->stride_w - s->pad_left;
    *y0 = top > 0 ? top : 0;
    *y1 = top + s->pool_h < s->in_h ? top + s->pool_h : s->in_h;
    *x0 = left > 0 ? left : 0;
    *x1 = left + s->pool_w < s->in_w ? left + s->pool_w : s->in_w;
}

/* Where input cell (iy, ix) of sample b starts, in floats. */
static int64_t cell(const nnk_pool2d_shape *s, int64_t b, int64_t iy, int64_t ix)
{
    return ((b * s->in_h + iy) * s->in_w + ix) * s->channels;
}

static void max_rows(void *ctx, int64_t b0, int64_t b1)
{
    pool_job *j = ctx;
    const nnk_pool2d_shape *s = &j->s;
    int64_t c = s->channels;
    for (int64_t b = b0; b < b1; b++)
        for (int64_t oy = 0; oy < s->out_h; oy++)
            for (int64_t ox = 0; ox < s->out_w; ox++) {
                int64_t y0, y1, x0, x1;
                window(s, oy, ox, &y0, &y1, &x0, &x1);
                float *out = j->y + ((b * s->out_h + oy) * s->out_w + ox) * c;
                memcpy(out, j->x + cell(s, b, y0, x0), sizeof(float) * (size_t)c);
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = iy == y0 ? x0 + 1 : x0; ix < x1; ix++) {
                        const float *in = j->x + cell(s, b, iy, ix);
                        for (int64_t k = 0; k < c; k++)
                            out[k] = in[k] > out[k] ? in[k] : out[k];
                    }
            }
}

/* Each window's gradient to its first maximal cell: the window's maximum
 * per channel and where it was first seen, in the thread's workspace. */
static void max_backward_rows(void *ctx, int64_t b0, int64_t b1)
{
    pool_job *j = ctx;
    const nnk_pool2d_shape *s = &j->s;
    int64_t c = s->channels;
    float *best = nnk__thread_workspace(1, 3 * c + 2); /* c floats, then (8-byte aligned) c int64 */
    if (!best) {
        j->failed = 1;
        return;
    }
    int64_t *at = (int64_t *)((char *)best + ((size_t)c * sizeof(float) + 7) / 8 * 8);
    memset(j->dx + b0 * s->in_h * s->in_w * c, 0, sizeof(float) * (size_t)((b1 - b0) * s->in_h * s->in_w * c));
    for (int64_t b = b0; b < b1; b++)
        for (int64_t oy = 0; oy < s->out_h; oy++)
            for (int64_t ox = 0; ox < s->out_w; ox++) {
                int64_t y0, y1, x0, x1;
                window(s, oy, ox, &y0, &y1, &x0, &x1);
                int64_t first = cell(s, b, y0, x0);
                for (int64_t k = 0; k < c; k++)
                    best[k] = j->x[first + k], at[k] = first + k;
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = iy == y0 ? x0 + 1 : x0; ix < x1; ix++) {
                        int64_t base = cell(s, b, iy, ix);
                        for (int64_t k = 0; k < c; k++)
                            if (j->x[base + k] > best[k])
                                best[k] = j->x[base + k], at[k] = base + k;
                    }
                const float *g = j->dy + ((b * s->out_h + oy) * s->out_w + ox) * c;
                for (int64_t k = 0; k < c; k++)
                    j->dx[at[k]] += g[k];
            }
}

static void average_rows(void *ctx, int64_t b0, int64_t b1)
{
    pool_job *j = ctx;
    const nnk_pool2d_shape *s = &j->s;
    int64_t c = s->channels;
    for (int64_t b = b0; b < b1; b++)
        for (int64_t oy = 0; oy < s->out_h; oy++)
            for (int64_t ox = 0; ox < s->out_w; ox++) {
                int64_t y0, y1, x0, x1;
                window(s, oy, ox, &y0, &y1, &x0, &x1);
                float *out = j->y + ((b * s->out_h + oy) * s->out_w + ox) * c;
                memset(out, 0, sizeof(float) * (size_t)c);
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) {
                        const float *in = j->x + cell(s, b, iy, ix);
                        for (int64_t k = 0; k < c; k++)
                            out[k] += in[k];
                    }
                float scale = 1.0f / (float)((y1 - y0) * (x1 - x0));
                for (int64_t k = 0; k < c; k++)
                    out[k] *= scale;
            }
}

static void average_backward_rows(void *ctx, int64_t b0, int64_t b1)
{
    pool_job *j = ctx;
    const nnk_pool2d_shape *s = &j->s;
    int64_t c = s->channels;
    memset(j->dx + b0 * s->in_h * s->in_w * c, 0, sizeof(float) * (size_t)((b1 - b0) * s->in_h * s->in_w * c));
    for (int64_t b = b0; b < b1; b++)
        for (int64_t oy = 0; oy < s->out_h; oy++)
            for (int64_t ox = 0; ox < s->out_w; ox++) {
                int64_t y0, y1, x0, x1;
                window(s, oy, ox, &y0, &y1, &x0, &x1);
                const float *g = j->dy + ((b * s->out_h + oy) * s->out_w + ox) * c;
                float scale = 1.0f / (float)((y1 - y0) * (x1 - x0));
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) {
                        float *d = j->dx + cell(s, b, iy, ix);
                        for (int64_t k = 0; k < c; k++)
                            d[k] += g[k] * scale;
                    }
            }
}

/* The contract's shape rules are the convolution's, pool as kernel. */
static int check(const nnk_pool2d_shape *s, nnk_err *err)
{
    nnk_conv2d_shape c = {s->batch,   s->in_h,     s->in_w,     s->channels, s->out_h,   s->out_w,
                          s->channels, s->pool_h,  s->pool_w,   s->stride_h, s->stride_w, 1,
                          1,           s->pad_top, s->pad_left};
    int64_t pb, pr;
    return nnk__window_check(&c, "pool2d", "pool", &pb, &pr, err);
}

static int run(pool_job *j, void (*fn)(void *, int64_t, int64_t), nnk_err *err)
{
    int rc = check(&j->s, err);
    if (rc)
        return rc;
    const nnk_pool2d_shape *s = &j->s;
    nnk__parallel_rows(s->batch, s->in_h * s->in_w * s->channels * s->pool_h * s->pool_w, fn, j);
    return j->failed ? nnk_err_set(err, NNK_ENOMEM, "pool2d: out of memory") : NNK_OK;
}

static int max_forward(const nnk_pool2d_shape *s, const float *x, float *y, nnk_err *err)
{
    pool_job j = {.s = *s, .x = x, .y = y};
    return run(&j, max_rows, err);
}

static int max_backward(const nnk_pool2d_shape *s, const float *x, const float *dy, float *dx, nnk_err *err)
{
    pool_job j = {.s = *s, .x = x, .dy = dy, .dx = dx};
    return run(&j, max_backward_rows, err);
}

static int average_forward(const nnk_pool2d_shape *s, const float *x, float *y, nnk_err *err)
{
    pool_job j = {.s = *s, .x = x, .y = y};
    return run(&j, average_rows, err);
}

static int average_backward(const nnk_pool2d_shape *s, const float *dy, float *dx, nnk_err *err)
{
    pool_job j = {.s = *s, .dy = dy, .dx = dx};
    return run(&j, average_backward_rows, err);
}

const nnk_host_pool2d nnk__host_pool2d = {sizeof(nnk_host_pool2d), max_forward, max_backward, average_forward,
                                         average_backward};
