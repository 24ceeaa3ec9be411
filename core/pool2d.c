/* nnkit.compute.pool2d/1: the host's 2-D max and average pooling
 * (contract in nnkit/plugin.h), in blocks of whole samples on the pool's
 * threads. Each block runs on oneDNN's JIT pooling where nnkit is built
 * with it (pool2d_onednn.c, 3.5x these loops on one thread), else on the
 * loops below, which run over a cell's channels (adjacent: channels
 * last). */
#include "compute.h"
#include <string.h>

typedef struct pool_job {
    nnk_pool2d_shape s;
    const float *x, *dy;
    float *y, *dx;
    int64_t pad_bottom, pad_right; /* the padding after the input, as the check worked it out */
    float *best;  /* max pooling's gradient: a window's maximum per channel */
    int64_t *at;  /* and where it was first seen */
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

/* One window of one sample: where its output (and output gradient)
 * starts, in floats, and its real rows [y0, y1) and columns [x0, x1). */
typedef struct pool_window {
    int64_t b, out, y0, y1, x0, x1;
} pool_window;

/* Calls visit for every window of samples [b0, b1), in order, after
 * zeroing those samples' dx when the job has one (the gradients add). */
static void each_window(pool_job *j, int64_t b0, int64_t b1, void (*visit)(pool_job *j, const pool_window *w))
{
    const nnk_pool2d_shape *s = &j->s;
    int64_t per_sample = s->in_h * s->in_w * s->channels;
    if (j->dx)
        memset(j->dx + b0 * per_sample, 0, sizeof(float) * (size_t)((b1 - b0) * per_sample));
    for (int64_t b = b0; b < b1; b++)
        for (int64_t oy = 0; oy < s->out_h; oy++)
            for (int64_t ox = 0; ox < s->out_w; ox++) {
                pool_window w = {b, ((b * s->out_h + oy) * s->out_w + ox) * s->channels, 0, 0, 0, 0};
                window(s, oy, ox, &w.y0, &w.y1, &w.x0, &w.x1);
                visit(j, &w);
            }
}

static void max_window(pool_job *j, const pool_window *w)
{
    const nnk_pool2d_shape *s = &j->s;
    int64_t c = s->channels;
    float *out = j->y + w->out;
    memcpy(out, j->x + cell(s, w->b, w->y0, w->x0), sizeof(float) * (size_t)c);
    for (int64_t iy = w->y0; iy < w->y1; iy++)
        for (int64_t ix = iy == w->y0 ? w->x0 + 1 : w->x0; ix < w->x1; ix++) {
            const float *in = j->x + cell(s, w->b, iy, ix);
            for (int64_t k = 0; k < c; k++)
                out[k] = in[k] > out[k] ? in[k] : out[k];
        }
}

/* The window's gradient to its first maximal cell: the maximum per
 * channel and where it was first seen, in j->best and j->at. */
static void max_backward_window(pool_job *j, const pool_window *w)
{
    const nnk_pool2d_shape *s = &j->s;
    int64_t c = s->channels, first = cell(s, w->b, w->y0, w->x0);
    for (int64_t k = 0; k < c; k++)
        j->best[k] = j->x[first + k], j->at[k] = first + k;
    for (int64_t iy = w->y0; iy < w->y1; iy++)
        for (int64_t ix = iy == w->y0 ? w->x0 + 1 : w->x0; ix < w->x1; ix++) {
            int64_t base = cell(s, w->b, iy, ix);
            for (int64_t k = 0; k < c; k++)
                if (j->x[base + k] > j->best[k])
                    j->best[k] = j->x[base + k], j->at[k] = base + k;
        }
    for (int64_t k = 0; k < c; k++)
        j->dx[j->at[k]] += j->dy[w->out + k];
}

static void average_window(pool_job *j, const pool_window *w)
{
    const nnk_pool2d_shape *s = &j->s;
    int64_t c = s->channels;
    float *out = j->y + w->out, scale = 1.0f / (float)((w->y1 - w->y0) * (w->x1 - w->x0));
    memset(out, 0, sizeof(float) * (size_t)c);
    for (int64_t iy = w->y0; iy < w->y1; iy++)
        for (int64_t ix = w->x0; ix < w->x1; ix++) {
            const float *in = j->x + cell(s, w->b, iy, ix);
            for (int64_t k = 0; k < c; k++)
                out[k] += in[k];
        }
    for (int64_t k = 0; k < c; k++)
        out[k] *= scale;
}

static void average_backward_window(pool_job *j, const pool_window *w)
{
    const nnk_pool2d_shape *s = &j->s;
    const float *g = j->dy + w->out;
    float scale = 1.0f / (float)((w->y1 - w->y0) * (w->x1 - w->x0));
    for (int64_t iy = w->y0; iy < w->y1; iy++)
        for (int64_t ix = w->x0; ix < w->x1; ix++) {
            float *d = j->dx + cell(s, w->b, iy, ix);
            for (int64_t k = 0; k < s->channels; k++)
                d[k] += g[k] * scale;
        }
}

/* Samples [b0, b1) on oneDNN's pooling where nnkit is built with it: 0,
 * or -1 (the loops below then run). */
static int onednn_block(const pool_job *j, int kind, int64_t b0, int64_t b1)
{
#ifdef NNK_BACKEND_ONEDNN
    nnk_pool2d_shape block = j->s;
    block.batch = b1 - b0;
    return nnk__onednn_pool(&block, j->pad_bottom, j->pad_right, kind, b0, j->x, j->dy, j->y, j->dx);
#else
    (void)j, (void)kind, (void)b0, (void)b1;
    return -1;
#endif
}

static void max_rows(void *ctx, int64_t b0, int64_t b1)
{
    if (onednn_block(ctx, NNK_POOL_MAX_FORWARD, b0, b1))
        each_window(ctx, b0, b1, max_window);
}

static void average_rows(void *ctx, int64_t b0, int64_t b1)
{
    if (onednn_block(ctx, NNK_POOL_AVERAGE_FORWARD, b0, b1))
        each_window(ctx, b0, b1, average_window);
}

static void average_backward_rows(void *ctx, int64_t b0, int64_t b1)
{
    if (onednn_block(ctx, NNK_POOL_AVERAGE_BACKWARD, b0, b1))
        each_window(ctx, b0, b1, average_backward_window);
}

/* Max pooling's gradient needs a maximum and its place per channel: this
 * thread's workspace holds them, c floats and then (8-byte aligned) c
 * int64. */
static void max_backward_rows(void *ctx, int64_t b0, int64_t b1)
{
    if (!onednn_block(ctx, NNK_POOL_MAX_BACKWARD, b0, b1))
        return;
    pool_job task = *(pool_job *)ctx; /* this block's own best and at */
    int64_t c = task.s.channels;
    task.best = nnk__thread_workspace(1, 3 * c + 2);
    if (!task.best) {
        ((pool_job *)ctx)->failed = 1;
        return;
    }
    task.at = (int64_t *)((char *)task.best + ((size_t)c * sizeof(float) + 7) / 8 * 8);
    each_window(&task, b0, b1, max_backward_window);
}

/* The contract's shape rules are the convolution's, pool as kernel; sets
 * the job's padding after the input. */
static int check(pool_job *j, nnk_err *err)
{
    const nnk_pool2d_shape *s = &j->s;
    nnk_conv2d_shape c = {s->batch,   s->in_h,     s->in_w,     s->channels, s->out_h,   s->out_w,
                          s->channels, s->pool_h,  s->pool_w,   s->stride_h, s->stride_w, 1,
                          1,           s->pad_top, s->pad_left};
    return nnk__window_check(&c, "pool2d", "pool", &j->pad_bottom, &j->pad_right, err);
}

static int run(pool_job *j, void (*fn)(void *, int64_t, int64_t), nnk_err *err)
{
    int rc = check(j, err);
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
