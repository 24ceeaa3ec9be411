/* A slice of a convolution on im2col and the backend's gemm, on the
 * calling thread: the slice's output positions are taken in chunks whose
 * columns (a position's receptive field, kernel_h x kernel_w x in_c in
 * the kernel's order) fit a bounded per-thread buffer; then y = columns x
 * kernel, dcolumns = dy x kernel^T (added back into dx), dkernel =
 * columns^T x dy. A 1x1 kernel at stride 1 without padding reads x as its
 * own columns. */
#include "compute.h"
#include <string.h>

#define COLUMN_FLOATS (256 * 1024) /* 1 MiB of columns per chunk */

typedef struct geometry {
    const nnk_conv2d_shape *s;
    int64_t positions;   /* the slice's output positions */
    int64_t width;       /* a column's length: kernel_h * kernel_w * in_c */
    int64_t chunk;       /* positions per chunk */
    int direct;          /* x is its own columns */
    int64_t x_offset, y_offset; /* the slice's first sample, in floats of x and of y */
} geometry;

static geometry geometry_of(const nnk_conv2d_slice *c)
{
    const nnk_conv2d_shape *s = &c->shape;
    geometry g = {s, s->batch * s->out_h * s->out_w, s->kernel_h * s->kernel_w * s->in_c, 0, 0, 0, 0};
    g.direct = s->kernel_h == 1 && s->kernel_w == 1 && s->stride_h == 1 && s->stride_w == 1 && s->pad_top == 0 &&
               s->pad_left == 0 && c->pad_bottom == 0 && c->pad_right == 0;
    g.chunk = g.direct ? g.positions : COLUMN_FLOATS / g.width;
    g.chunk = g.chunk > 0 ? g.chunk : 1;
    g.x_offset = c->first * s->in_h * s->in_w * s->in_c;
    g.y_offset = c->first * s->out_h * s->out_w * s->out_c;
    return g;
}

/* The input row (in floats) that tap (ky, kx) of position p reads, or -1
 * where it reads padding. */
static int64_t tap(const nnk_conv2d_shape *s, int64_t p, int64_t ky, int64_t kx)
{
    int64_t per_sample = s->out_h * s->out_w, b = p / per_sample, oy = p % per_sample / s->out_w,
            ox = p % s->out_w;
    int64_t iy = oy * s->stride_h - s->pad_top + ky * s->dilation_h;
    int64_t ix = ox * s->stride_w - s->pad_left + kx * s->dilation_w;
    if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w)
        return -1;
    return ((b * s->in_h + iy) * s->in_w + ix) * s->in_c;
}

static void gather_columns(const geometry *g, const float *x, int64_t p0, int64_t p1, float *col)
{
    const nnk_conv2d_shape *s = g->s;
    size_t bytes = sizeof(float) * (size_t)s->in_c;
    for (int64_t p = p0; p < p1; p++)
        for (int64_t ky = 0; ky < s->kernel_h; ky++)
            for (int64_t kx = 0; kx < s->kernel_w; kx++) {
                float *dst = col + (p - p0) * g->width + (ky * s->kernel_w + kx) * s->in_c;
                int64_t at = tap(s, p, ky, kx);
                if (at < 0)
                    memset(dst, 0, bytes);
                else
                    memcpy(dst, x + at, bytes);
            }
}

static void scatter_columns(const geometry *g, const float *col, int64_t p0, int64_t p1, float *dx)
{
    const nnk_conv2d_shape *s = g->s;
    for (int64_t p = p0; p < p1; p++)
        for (int64_t ky = 0; ky < s->kernel_h; ky++)
            for (int64_t kx = 0; kx < s->kernel_w; kx++) {
                int64_t at = tap(s, p, ky, kx);
                if (at < 0)
                    continue;
                const float *src = col + (p - p0) * g->width + (ky * s->kernel_w + kx) * s->in_c;
                for (int64_t i = 0; i < s->in_c; i++)
                    dx[at + i] += src[i];
            }
}

/* The columns of positions [p0, p1): x itself when direct, else gathered
 * into the thread's buffer (NULL when out of memory). */
static const float *columns(const geometry *g, const float *x, int64_t p0, int64_t p1)
{
    if (g->direct)
        return x + p0 * g->width;
    float *col = nnk__thread_workspace(1, g->chunk * g->width);
    if (col)
        gather_columns(g, x, p0, p1, col);
    return col;
}

int nnk__im2col_conv_forward(const nnk_conv2d_slice *c, const float *x, const float *kernel, const float *bias,
                             float *y)
{
    geometry g = geometry_of(c);
    int64_t oc = c->shape.out_c;
    x += g.x_offset;
    y += g.y_offset;
    for (int64_t p0 = 0; p0 < g.positions; p0 += g.chunk) {
        int64_t p1 = p0 + g.chunk < g.positions ? p0 + g.chunk : g.positions;
        const float *col = columns(&g, x, p0, p1);
        if (!col)
            return -1;
        for (int64_t p = p0; bias && p < p1; p++)
            memcpy(y + p * oc, bias, sizeof(float) * (size_t)oc);
        nnk_sgemm(0, 0, p1 - p0, oc, g.width, 1.0f, col, g.width, kernel, oc, bias ? 1.0f : 0.0f, y + p0 * oc, oc);
    }
    return 0;
}

int nnk__im2col_conv_backward_data(const nnk_conv2d_slice *c, const float *dy, const float *kernel, float *dx)
{
    geometry g = geometry_of(c);
    int64_t oc = c->shape.out_c;
    dx += g.x_offset;
    dy += g.y_offset;
    if (g.direct) { /* dx = dy kernel^T, row for row */
        nnk_sgemm(0, 1, g.positions, g.width, oc, 1.0f, dy, oc, kernel, oc, 0.0f, dx, g.width);
        return 0;
    }
    float *col = nnk__thread_workspace(1, g.chunk * g.width);
    if (!col)
        return -1;
    memset(dx, 0, sizeof(float) * (size_t)(c->shape.batch * c->shape.in_h * c->shape.in_w * c->shape.in_c));
    for (int64_t p0 = 0; p0 < g.positions; p0 += g.chunk) {
        int64_t p1 = p0 + g.chunk < g.positions ? p0 + g.chunk : g.positions;
        nnk_sgemm(0, 1, p1 - p0, g.width, oc, 1.0f, dy + p0 * oc, oc, kernel, oc, 0.0f, col, g.width);
        scatter_columns(&g, col, p0, p1, dx);
    }
    return 0;
}

int nnk__im2col_conv_backward_weights(const nnk_conv2d_slice *c, const float *x, const float *dy, float *dk,
                                      float *db)
{
    geometry g = geometry_of(c);
    int64_t oc = c->shape.out_c;
    x += g.x_offset;
    dy += g.y_offset;
    for (int64_t p0 = 0; p0 < g.positions; p0 += g.chunk) {
        int64_t p1 = p0 + g.chunk < g.positions ? p0 + g.chunk : g.positions;
        const float *col = columns(&g, x, p0, p1);
        if (!col)
            return -1;
        nnk_sgemm(1, 0, g.width, oc, p1 - p0, 1.0f, col, g.width, dy + p0 * oc, oc, p0 ? 1.0f : 0.0f, dk, oc);
    }
    if (db) {
        memset(db, 0, sizeof(float) * (size_t)oc);
        for (int64_t p = 0; p < g.positions; p++)
            for (int64_t j = 0; j < oc; j++)
                db[j] += dy[p * oc + j];
    }
    return 0;
}
