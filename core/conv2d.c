/* nnkit.compute.conv2d/1: the host's 2-D convolution (contract in
 * nnkit/plugin.h). The batch is cut into one slice per thread; each slice
 * runs on one thread, on oneDNN's convolution primitives where nnkit is
 * built with oneDNN (conv2d_onednn.c), else (or when oneDNN declines a
 * shape, or measured slower, see run_slice) on im2col and the backend's
 * gemm (conv2d_im2col.c). Kernel
 * gradients are summed over the slices in slice order, so a thread count
 * gives one result. */
#include "compute.h"
#include <stdlib.h>
#include <string.h>

/* The padding after the input that the output size implies (>= 0), or -1
 * when no padding in [0, extent - 1] gives that output size. */
static int64_t pad_after(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t dilation, int64_t before)
{
    int64_t extent = (kernel - 1) * dilation + 1;
    int64_t after = (out - 1) * stride + extent - in - before;
    after = after > 0 ? after : 0;
    if (after > extent - 1 || (in + before + after - extent) / stride + 1 != out)
        return -1;
    return after;
}

/* a * b * c * d, or -1 when that overflows */
static int64_t elements(int64_t a, int64_t b, int64_t c, int64_t d)
{
    int64_t n;
    return nnk_size_mul(a, b, &n) || nnk_size_mul(n, c, &n) || nnk_size_mul(n, d, &n) ? -1 : n;
}

int nnk__conv2d_check(const nnk_conv2d_shape *s, int64_t *pad_bottom, int64_t *pad_right, nnk_err *err)
{
    return nnk__window_check(s, "conv2d", "kernel", pad_bottom, pad_right, err);
}

int nnk__window_check(const nnk_conv2d_shape *s, const char *op, const char *window, int64_t *pad_bottom,
                      int64_t *pad_right, nnk_err *err)
{
    const int64_t limit = (int64_t)1 << 30; /* the padding arithmetic below stays within int64 */
    const int64_t *all = &s->batch;
    for (size_t i = 0; i < sizeof *s / sizeof(int64_t); i++)
        if (all[i] < 0 || all[i] >= limit)
            return nnk_err_set(err, NNK_ESHAPE, "%s: a size or padding of %lld", op, (long long)all[i]);
    if (s->in_h < 1 || s->in_w < 1 || s->in_c < 1 || s->out_c < 1 || s->kernel_h < 1 || s->kernel_w < 1 ||
        s->stride_h < 1 || s->stride_w < 1 || s->dilation_h < 1 || s->dilation_w < 1 || s->out_h < 1 || s->out_w < 1)
        return nnk_err_set(err, NNK_ESHAPE, "%s: input %lldx%lldx%lld, %s %lldx%lld, stride %lldx%lld, "
                           "dilation %lldx%lld, output channels %lld: each must be at least 1",
                           op, (long long)s->in_h, (long long)s->in_w, (long long)s->in_c, window, (long long)s->kernel_h,
                           (long long)s->kernel_w, (long long)s->stride_h, (long long)s->stride_w,
                           (long long)s->dilation_h, (long long)s->dilation_w, (long long)s->out_c);
    int64_t extent_h = (s->kernel_h - 1) * s->dilation_h + 1, extent_w = (s->kernel_w - 1) * s->dilation_w + 1;
    int64_t pb = s->pad_top < extent_h ? pad_after(s->in_h, s->out_h, s->kernel_h, s->stride_h, s->dilation_h, s->pad_top) : -1;
    int64_t pr = s->pad_left < extent_w ? pad_after(s->in_w, s->out_w, s->kernel_w, s->stride_w, s->dilation_w, s->pad_left) : -1;
    if (pb < 0 || pr < 0)
        return nnk_err_set(err, NNK_ESHAPE, "%s: an output of %lldx%lld does not follow from input %lldx%lld, "
                           "%s %lldx%lld, stride %lldx%lld, dilation %lldx%lld and padding %lld,%lld",
                           op, (long long)s->out_h, (long long)s->out_w, (long long)s->in_h, (long long)s->in_w, window,
                           (long long)s->kernel_h, (long long)s->kernel_w, (long long)s->stride_h,
                           (long long)s->stride_w, (long long)s->dilation_h, (long long)s->dilation_w,
                           (long long)s->pad_top, (long long)s->pad_left);
    if (elements(s->batch, s->in_h, s->in_w, s->in_c) < 0 || elements(s->batch, s->out_h, s->out_w, s->out_c) < 0 ||
        elements(s->kernel_h, s->kernel_w, s->in_c, s->out_c) < 0)
        return nnk_err_set(err, NNK_ESHAPE, "%s: a batch of %lld is too large for these sizes", op, (long long)s->batch);
    *pad_bottom = pb;
    *pad_right = pr;
    return NNK_OK;
}

/* ---- one slice of the batch per task ---------------------------------- */

typedef struct conv_job {
    nnk_conv2d_shape s;
    int64_t pad_bottom, pad_right;
    int64_t per_task; /* samples per slice */
    int kind;         /* 0 forward, 1 backward data, 2 backward weights */
    const float *x, *kernel, *bias, *dy;
    float *y, *dx;
    float *parts;     /* backward weights: one kernel (and bias) gradient per slice */
    int64_t part_size;
    int failed;       /* a slice ran out of memory */
} conv_job;

/* oneDNN first, except for the input gradient of a one-channel input,
 * where im2col measured 1.7-3.6x faster (from 2 channels on, oneDNN is
 * faster: build/tools/bench_conv 64 1). */
static int run_slice(const conv_job *j, const nnk_conv2d_slice *c, float *part)
{
    float *part_bias = part && j->bias ? part + j->part_size - c->shape.out_c : NULL;
#ifdef NNK_BACKEND_ONEDNN
    int rc = -1;
    if (j->kind == 0)
        rc = nnk__onednn_conv_forward(c, j->x, j->kernel, j->bias, j->y);
    else if (j->kind == 1 && c->shape.in_c > 1)
        rc = nnk__onednn_conv_backward_data(c, j->dy, j->kernel, j->dx);
    else if (j->kind == 2)
        rc = nnk__onednn_conv_backward_weights(c, j->x, j->dy, part, part_bias);
    if (rc == 0)
        return 0;
#endif
    if (j->kind == 0)
        return nnk__im2col_conv_forward(c, j->x, j->kernel, j->bias, j->y);
    if (j->kind == 1)
        return nnk__im2col_conv_backward_data(c, j->dy, j->kernel, j->dx);
    return nnk__im2col_conv_backward_weights(c, j->x, j->dy, part, part_bias);
}

static void conv_task(void *ctx, int task)
{
    conv_job *j = ctx;
    int64_t first = task * j->per_task, n = j->s.batch - first < j->per_task ? j->s.batch - first : j->per_task;
    if (n <= 0)
        return;
    nnk_conv2d_slice c = {j->s, j->pad_bottom, j->pad_right, first};
    c.shape.batch = n;
    if (run_slice(j, &c, j->parts ? j->parts + task * j->part_size : NULL))
        j->failed = 1;
}

/* The slices: one per thread, of whole samples. */
static int slice_count(conv_job *j)
{
    int threads = nnk__parallel_threads();
    int64_t parts = j->s.batch < threads ? j->s.batch : threads;
    parts = parts > 0 ? parts : 1;
    j->per_task = (j->s.batch + parts - 1) / parts;
    return (int)((j->s.batch + j->per_task - 1) / j->per_task);
}

/* Runs a checked job's slices. */
static int run_slices(conv_job *j, nnk_err *err)
{
    if (j->s.batch == 0)
        return NNK_OK;
    nnk__parallel_run(slice_count(j), conv_task, j);
    return j->failed ? nnk_err_set(err, NNK_ENOMEM, "conv2d: out of memory") : NNK_OK;
}

static int run_job(conv_job *j, nnk_err *err)
{
    int rc = nnk__conv2d_check(&j->s, &j->pad_bottom, &j->pad_right, err);
    return rc ? rc : run_slices(j, err);
}

static int conv_forward(const nnk_conv2d_shape *s, const float *x, const float *kernel, const float *bias, float *y,
                        nnk_err *err)
{
    conv_job j = {.s = *s, .kind = 0, .x = x, .kernel = kernel, .bias = bias, .y = y};
    return run_job(&j, err);
}

static int conv_backward_data(const nnk_conv2d_shape *s, const float *dy, const float *kernel, float *dx,
                              nnk_err *err)
{
    conv_job j = {.s = *s, .kind = 1, .dy = dy, .kernel = kernel, .dx = dx};
    return run_job(&j, err);
}

/* dst = alpha * (sum of the slices' parts) + beta * dst, the slices added in
 * order (beta 0 never reads dst, which may hold anything). */
static void reduce_parts(const float *parts, int n_parts, int64_t part_size, int64_t offset, int64_t n, float alpha,
                         float beta, float *dst)
{
    for (int64_t i = 0; i < n; i++) {
        float sum = parts[offset + i];
        for (int p = 1; p < n_parts; p++)
            sum += parts[p * part_size + offset + i];
        dst[i] = beta == 0 ? alpha * sum : alpha * sum + beta * dst[i];
    }
}

static int conv_backward_weights(const nnk_conv2d_shape *s, const float *x, const float *dy, float alpha, float beta,
                                 float *dkernel, float *dbias, nnk_err *err)
{
    conv_job j = {.s = *s, .kind = 2, .x = x, .dy = dy, .bias = dbias};
    int rc = nnk__conv2d_check(s, &j.pad_bottom, &j.pad_right, err);
    if (rc)
        return rc;
    int64_t ksize = s->kernel_h * s->kernel_w * s->in_c * s->out_c;
    j.part_size = ksize + (dbias ? s->out_c : 0);
    int n_parts = s->batch ? slice_count(&j) : 0;
    float *parts = nnk__thread_workspace(0, (int64_t)(n_parts ? n_parts : 1) * j.part_size);
    if (!parts)
        return nnk_err_set(err, NNK_ENOMEM, "conv2d: out of memory");
    if (!n_parts) /* no sample: the gradient is zero */
        memset(parts, 0, sizeof(float) * (size_t)j.part_size);
    j.parts = parts;
    if ((rc = run_slices(&j, err)))
        return rc;
    n_parts = n_parts ? n_parts : 1;
    reduce_parts(parts, n_parts, j.part_size, 0, ksize, alpha, beta, dkernel);
    if (dbias)
        reduce_parts(parts, n_parts, j.part_size, ksize, s->out_c, alpha, beta, dbias);
    return NNK_OK;
}

const nnk_host_conv2d nnk__host_conv2d = {sizeof(nnk_host_conv2d), conv_forward, conv_backward_data,
                                         conv_backward_weights};
