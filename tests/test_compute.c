/* The host's compute capabilities: 2-D convolution
 * (nnkit.compute.conv2d/1), pooling (nnkit.compute.pool2d/1) and batch
 * normalization's passes (nnkit.compute.batchnorm/1). The convolution, on
 * whichever
 * backend this build has and, on a oneDNN build, on im2col too:
 *  - forward against direct loops in double over kernels, strides,
 *    dilations, Keras's valid and same paddings, odd sizes, batches and
 *    thread counts;
 *  - backward against the forward through the adjoint identities, which
 *    need no second formula: <backward_data(dy), v> = <dy, conv(v)> and
 *    <backward_weights(x, dy), K> = <dy, conv(x; K)>, plus the bias
 *    gradient and the alpha/beta update against direct sums;
 *  - the same thread count twice gives the same bits; shapes that are
 *    not a convolution are refused with nothing written.
 * Pooling (on oneDNN in a oneDNN build, every shape of the sweep; on the
 * host's loops otherwise): forward against direct loops over real cells; max pooling's
 * gradient against TensorFlow's CPU order written out (input cells in
 * row-major order, a window's maximum replaced only by a larger value), on
 * inputs full of ties; average pooling's gradient through the adjoint.
 * Batch normalization's passes against direct loops in double, on 1 to 3
 * threads and on odd row counts, none included. */
#include "../core/compute.h"
#include "helpers.h"
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The host's capability of that name, at least `size` bytes long. */
static const void *capability(const char *name, size_t size)
{
    const void *c = NNK_CAPABILITY(&nnk__host_table, name);
    ck_assert_msg(c != NULL, "the host lacks %s", name);
    ck_assert_uint_ge(*(const size_t *)c, size); /* struct_size comes first */
    return c;
}

static const nnk_host_conv2d *conv(void) { return capability(NNK_CAP_CONV2D, sizeof(nnk_host_conv2d)); }
static const nnk_host_pool2d *pool(void) { return capability(NNK_CAP_POOL2D, sizeof(nnk_host_pool2d)); }
static const nnk_host_batchnorm *norm(void) { return capability(NNK_CAP_BATCHNORM, sizeof(nnk_host_batchnorm)); }

/* Keras's output size and leading padding for one axis. */
static void keras_axis(int64_t in, int64_t k, int64_t stride, int64_t dilation, int same, int64_t *out, int64_t *pad)
{
    int64_t extent = (k - 1) * dilation + 1;
    if (!same) {
        *out = in >= extent ? (in - extent) / stride + 1 : 0;
        *pad = 0;
        return;
    }
    *out = (in + stride - 1) / stride;
    int64_t total = (*out - 1) * stride + extent - in;
    *pad = total > 0 ? total / 2 : 0;
}

static uint64_t state = 88172645463325252ull;
static float uniform(void) /* in [-1, 1) */
{
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return (float)((double)(state >> 11) / 9007199254740992.0 * 2 - 1);
}
static float *random_floats(int64_t n)
{
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        p[i] = uniform();
    return p;
}

static int64_t x_size(const nnk_conv2d_shape *s) { return s->batch * s->in_h * s->in_w * s->in_c; }
static int64_t y_size(const nnk_conv2d_shape *s) { return s->batch * s->out_h * s->out_w * s->out_c; }
static int64_t k_size(const nnk_conv2d_shape *s) { return s->kernel_h * s->kernel_w * s->in_c * s->out_c; }

/* y by the definition, in double. */
static void direct_forward(const nnk_conv2d_shape *s, const float *x, const float *k, const float *bias, double *y)
{
    for (int64_t b = 0; b < s->batch; b++)
        for (int64_t oy = 0; oy < s->out_h; oy++)
            for (int64_t ox = 0; ox < s->out_w; ox++)
                for (int64_t o = 0; o < s->out_c; o++) {
                    double sum = bias ? bias[o] : 0;
                    for (int64_t ky = 0; ky < s->kernel_h; ky++)
                        for (int64_t kx = 0; kx < s->kernel_w; kx++) {
                            int64_t iy = oy * s->stride_h - s->pad_top + ky * s->dilation_h;
                            int64_t ix = ox * s->stride_w - s->pad_left + kx * s->dilation_w;
                            if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w)
                                continue;
                            for (int64_t c = 0; c < s->in_c; c++)
                                sum += (double)x[((b * s->in_h + iy) * s->in_w + ix) * s->in_c + c] *
                                       k[((ky * s->kernel_w + kx) * s->in_c + c) * s->out_c + o];
                        }
                    y[((b * s->out_h + oy) * s->out_w + ox) * s->out_c + o] = sum;
                }
}

static double dot(const float *a, const double *b, int64_t n)
{
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)a[i] * b[i];
    return sum;
}

static double dotf(const float *a, const float *b, int64_t n)
{
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)a[i] * b[i];
    return sum;
}

/* The i-th shape of the sweep: every kernel size, stride and dilation
 * with both paddings, over odd and even inputs. Returns 0 when the
 * combination has no output (valid padding, a kernel larger than the
 * input). */
static int sweep_shape(int i, nnk_conv2d_shape *s)
{
    static const int kernels[] = {1, 2, 3, 5}, strides[] = {1, 2, 3}, dilations[] = {1, 2};
    int same = i & 1, ki = i / 2 % 4, si = i / 8 % 3, di = i / 24 % 2, variant = i / 48;
    int64_t kh = kernels[ki], kw = kernels[(ki + variant) % 4];
    *s = (nnk_conv2d_shape){.batch = 1 + variant % 3, .in_h = 5 + (i * 7) % 6, .in_w = 4 + (i * 5) % 7,
                            .in_c = 1 + variant % 4, .out_c = 1 + (i * 3) % 5, .kernel_h = kh, .kernel_w = kw,
                            .stride_h = strides[si], .stride_w = strides[(si + variant) % 3],
                            .dilation_h = dilations[di], .dilation_w = dilations[(di + variant) % 2]};
    keras_axis(s->in_h, kh, s->stride_h, s->dilation_h, same, &s->out_h, &s->pad_top);
    keras_axis(s->in_w, kw, s->stride_w, s->dilation_w, same, &s->out_w, &s->pad_left);
    return s->out_h > 0 && s->out_w > 0;
}

#define SWEEP 144

static void check_forward(const nnk_conv2d_shape *s, int use_bias, int threads)
{
    nnk_set_threads(threads);
    float *x = random_floats(x_size(s)), *k = random_floats(k_size(s)), *bias = random_floats(s->out_c);
    float *y = random_floats(y_size(s));
    double *want = malloc(sizeof(double) * (size_t)y_size(s));
    nnk_err err = {0, ""};
    ck_assert_int_eq(conv()->forward(s, x, k, use_bias ? bias : NULL, y, &err), NNK_OK);
    direct_forward(s, x, k, use_bias ? bias : NULL, want);
    for (int64_t i = 0; i < y_size(s); i++)
        ck_assert_msg(fabs(y[i] - want[i]) <= 1e-4 * (1 + fabs(want[i])),
                      "in %lldx%lldx%lld k %lldx%lld s %lldx%lld d %lldx%lld pad %lld,%lld batch %lld threads %d: "
                      "y[%lld] = %g, want %g",
                      (long long)s->in_h, (long long)s->in_w, (long long)s->in_c, (long long)s->kernel_h,
                      (long long)s->kernel_w, (long long)s->stride_h, (long long)s->stride_w,
                      (long long)s->dilation_h, (long long)s->dilation_w, (long long)s->pad_top,
                      (long long)s->pad_left, (long long)s->batch, threads, (long long)i, (double)y[i], want[i]);
    free(x), free(k), free(bias), free(y), free(want);
}

START_TEST(forward_matches_direct_loops)
{
    nnk_conv2d_shape s;
    for (int i = 0; i < SWEEP; i++)
        if (sweep_shape(i, &s))
            check_forward(&s, i % 3 != 0, 1 + i % 3);
}
END_TEST

/* Larger channel counts and batches, where the backend's fast kernels
 * (blocked channels, several slices per thread) take over. */
START_TEST(forward_matches_direct_loops_wide)
{
    nnk_conv2d_shape s = {.batch = 7, .in_h = 12, .in_w = 11, .in_c = 16, .out_c = 32, .kernel_h = 3, .kernel_w = 3,
                          .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1};
    for (int same = 0; same < 2; same++) {
        keras_axis(s.in_h, 3, 1, 1, same, &s.out_h, &s.pad_top);
        keras_axis(s.in_w, 3, 1, 1, same, &s.out_w, &s.pad_left);
        check_forward(&s, 1, 2);
    }
}
END_TEST

/* <backward_data(dy), v> = <dy, conv(v)> for random v and dy, and the
 * same for the kernel; the bias gradient is dy's sum per channel; and
 * alpha/beta combine as the contract says. */
static void check_backward(const nnk_conv2d_shape *s, int threads)
{
    nnk_set_threads(threads);
    int64_t nx = x_size(s), ny = y_size(s), nk = k_size(s);
    float *x = random_floats(nx), *k = random_floats(nk), *dy = random_floats(ny), *v = random_floats(nx);
    float *w = random_floats(nk), *dx = random_floats(nx), *dk = random_floats(nk), *db = random_floats(s->out_c);
    float *dk0 = malloc(sizeof(float) * (size_t)nk), *db0 = malloc(sizeof(float) * (size_t)s->out_c);
    memcpy(dk0, dk, sizeof(float) * (size_t)nk);
    memcpy(db0, db, sizeof(float) * (size_t)s->out_c);
    double *y = malloc(sizeof(double) * (size_t)ny);
    nnk_err err = {0, ""};
    ck_assert_int_eq(conv()->backward_data(s, dy, k, dx, &err), NNK_OK);
    direct_forward(s, v, k, NULL, y);
    double lhs = dotf(dx, v, nx), rhs = dot(dy, y, ny);
    ck_assert_msg(fabs(lhs - rhs) <= 1e-4 * (1 + fabs(rhs)), "backward_data: <dx, v> %g, <dy, conv(v)> %g", lhs, rhs);
    const float alpha = -0.25f, beta = 0.5f;
    ck_assert_int_eq(conv()->backward_weights(s, x, dy, alpha, beta, dk, db, &err), NNK_OK);
    direct_forward(s, x, w, NULL, y);
    /* dk = alpha g + beta dk0, so <g, w> = (<dk, w> - beta <dk0, w>) / alpha */
    lhs = (dotf(dk, w, nk) - beta * dotf(dk0, w, nk)) / alpha;
    rhs = dot(dy, y, ny);
    ck_assert_msg(fabs(lhs - rhs) <= 1e-4 * (1 + fabs(rhs)), "backward_weights: <g, w> %g, <dy, conv(x; w)> %g", lhs,
                  rhs);
    for (int64_t o = 0; o < s->out_c; o++) {
        double sum = 0;
        for (int64_t i = o; i < ny; i += s->out_c)
            sum += dy[i];
        double want = alpha * sum + beta * db0[o];
        ck_assert_msg(fabs(db[o] - want) <= 1e-4 * (1 + fabs(want)), "bias gradient %lld: %g, want %g", (long long)o,
                      (double)db[o], want);
    }
    free(x), free(k), free(dy), free(v), free(w), free(dx), free(dk), free(db), free(dk0), free(db0), free(y);
}

START_TEST(backward_is_the_forward_s_adjoint)
{
    nnk_conv2d_shape s;
    for (int i = 0; i < SWEEP; i++)
        if (sweep_shape(i, &s))
            check_backward(&s, 1 + i % 3);
}
END_TEST

/* A gradient of a kernel element against the forward's change, the
 * check-plugin way (central differences on sum(dy * y)). */
START_TEST(kernel_gradient_matches_finite_differences)
{
    nnk_conv2d_shape s = {.batch = 3, .in_h = 6, .in_w = 7, .in_c = 2, .out_c = 3, .kernel_h = 3, .kernel_w = 2,
                          .stride_h = 2, .stride_w = 1, .dilation_h = 1, .dilation_w = 2};
    keras_axis(s.in_h, 3, 2, 1, 1, &s.out_h, &s.pad_top);
    keras_axis(s.in_w, 2, 1, 2, 1, &s.out_w, &s.pad_left);
    nnk_set_threads(2);
    int64_t nk = k_size(&s), ny = y_size(&s);
    float *x = random_floats(x_size(&s)), *k = random_floats(nk), *dy = random_floats(ny), *g = malloc(sizeof(float) * (size_t)nk);
    float *y = malloc(sizeof(float) * (size_t)ny);
    nnk_err err = {0, ""};
    ck_assert_int_eq(conv()->backward_weights(&s, x, dy, 1.0f, 0.0f, g, NULL, &err), NNK_OK);
    for (int64_t i = 0; i < nk; i++) {
        double f[2];
        float keep = k[i];
        for (int side = 0; side < 2; side++) {
            k[i] = keep + (side ? 1e-2f : -1e-2f);
            ck_assert_int_eq(conv()->forward(&s, x, k, NULL, y, &err), NNK_OK);
            f[side] = dotf(dy, y, ny);
        }
        k[i] = keep;
        double numeric = (f[1] - f[0]) / 2e-2;
        ck_assert_msg(fabs(numeric - g[i]) <= 2e-3 * (1 + fabs(numeric)), "kernel %lld: %g, differences %g",
                      (long long)i, (double)g[i], numeric);
    }
    free(x), free(k), free(dy), free(g), free(y);
}
END_TEST

START_TEST(same_threads_same_bits)
{
    nnk_conv2d_shape s = {.batch = 5, .in_h = 9, .in_w = 9, .in_c = 8, .out_c = 16, .kernel_h = 3, .kernel_w = 3,
                          .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1, .out_h = 9, .out_w = 9,
                          .pad_top = 1, .pad_left = 1};
    nnk_set_threads(3);
    int64_t nk = k_size(&s);
    float *x = random_floats(x_size(&s)), *dy = random_floats(y_size(&s));
    float *a = calloc((size_t)nk, sizeof(float)), *b = calloc((size_t)nk, sizeof(float));
    nnk_err err = {0, ""};
    ck_assert_int_eq(conv()->backward_weights(&s, x, dy, 1.0f, 0.0f, a, NULL, &err), NNK_OK);
    ck_assert_int_eq(conv()->backward_weights(&s, x, dy, 1.0f, 0.0f, b, NULL, &err), NNK_OK);
    ck_assert_int_eq(memcmp(a, b, sizeof(float) * (size_t)nk), 0);
    free(x), free(dy), free(a), free(b);
}
END_TEST

#ifdef NNK_BACKEND_ONEDNN
/* On a oneDNN build the im2col path runs only where oneDNN declines a
 * shape; it is checked here directly, slice by slice, against the same
 * loops. */
START_TEST(im2col_matches_direct_loops)
{
    nnk_conv2d_shape s;
    nnk_err err = {0, ""};
    nnk_set_threads(1);
    for (int i = 0; i < SWEEP; i++) {
        if (!sweep_shape(i, &s))
            continue;
        nnk_conv2d_slice c = {s, 0, 0, 0};
        ck_assert_int_eq(nnk__conv2d_check(&s, &c.pad_bottom, &c.pad_right, &err), NNK_OK);
        float *x = random_floats(x_size(&s)), *k = random_floats(k_size(&s)), *y = random_floats(y_size(&s));
        double *want = malloc(sizeof(double) * (size_t)y_size(&s));
        ck_assert_int_eq(nnk__im2col_conv_forward(&c, x, k, NULL, y), 0);
        direct_forward(&s, x, k, NULL, want);
        for (int64_t j = 0; j < y_size(&s); j++)
            ck_assert_msg(fabs(y[j] - want[j]) <= 1e-4 * (1 + fabs(want[j])), "shape %d: y[%lld] %g, want %g", i,
                          (long long)j, (double)y[j], want[j]);
        float *dx = random_floats(x_size(&s)), *v = random_floats(x_size(&s));
        ck_assert_int_eq(nnk__im2col_conv_backward_data(&c, y, k, dx), 0);
        direct_forward(&s, v, k, NULL, want);
        double lhs = dotf(dx, v, x_size(&s)), rhs = dot(y, want, y_size(&s));
        ck_assert_msg(fabs(lhs - rhs) <= 1e-4 * (1 + fabs(rhs)), "shape %d: adjoint %g against %g", i, lhs, rhs);
        free(x), free(k), free(y), free(want), free(dx), free(v);
    }
}
END_TEST

/* oneDNN takes the shapes a CNN has (the sweep above would pass on the
 * im2col fallback alone). */
START_TEST(onednn_runs_common_shapes)
{
    const int64_t shapes[][6] = {/* in_h, in_c, out_c, kernel, stride, dilation */
                                 {28, 1, 32, 3, 1, 1}, {13, 32, 64, 3, 1, 1}, {28, 1, 64, 7, 1, 1},
                                 {14, 64, 128, 3, 2, 1}, {9, 8, 8, 3, 1, 2}};
    for (int i = 0; i < 5; i++) {
        nnk_conv2d_shape s = {.batch = 2, .in_h = shapes[i][0], .in_w = shapes[i][0], .in_c = shapes[i][1],
                              .out_c = shapes[i][2], .kernel_h = shapes[i][3], .kernel_w = shapes[i][3],
                              .stride_h = shapes[i][4], .stride_w = shapes[i][4], .dilation_h = shapes[i][5],
                              .dilation_w = shapes[i][5]};
        keras_axis(s.in_h, s.kernel_h, s.stride_h, s.dilation_h, 1, &s.out_h, &s.pad_top);
        keras_axis(s.in_w, s.kernel_w, s.stride_w, s.dilation_w, 1, &s.out_w, &s.pad_left);
        nnk_conv2d_slice c = {s, 0, 0, 0};
        nnk_err err = {0, ""};
        ck_assert_int_eq(nnk__conv2d_check(&s, &c.pad_bottom, &c.pad_right, &err), NNK_OK);
        float *x = random_floats(x_size(&s)), *k = random_floats(k_size(&s)), *y = random_floats(y_size(&s));
        float *b = random_floats(s.out_c);
        ck_assert_msg(nnk__onednn_conv_forward(&c, x, k, b, y) == 0, "shape %d: forward", i);
        ck_assert_msg(nnk__onednn_conv_backward_data(&c, y, k, x) == 0, "shape %d: backward data", i);
        ck_assert_msg(nnk__onednn_conv_backward_weights(&c, x, y, k, b) == 0, "shape %d: backward weights", i);
        free(x), free(k), free(y), free(b);
    }
}
END_TEST
#endif

/* Shapes that are not convolutions: refused with ESHAPE, y untouched. */
START_TEST(bad_shapes_are_refused)
{
    const nnk_conv2d_shape good = {.batch = 2, .in_h = 6, .in_w = 6, .in_c = 1, .out_c = 1, .kernel_h = 3,
                                   .kernel_w = 3, .stride_h = 1, .stride_w = 1, .dilation_h = 1, .dilation_w = 1,
                                   .out_h = 4, .out_w = 4};
    nnk_conv2d_shape bad[8];
    for (int i = 0; i < 8; i++)
        bad[i] = good;
    bad[6].batch = bad[6].in_c = bad[6].out_c = (int64_t)1 << 29; /* elements beyond int64 */
    bad[7].kernel_w = (int64_t)1 << 40;                           /* a size beyond the limit */
    bad[0].out_h = 7;     /* more than padding within the kernel allows */
    bad[1].out_w = 3;     /* smaller than valid gives */
    bad[2].stride_h = 0;  /* no stride */
    bad[3].pad_top = 3;   /* padding as wide as the kernel */
    bad[4].in_c = -1;     /* a negative size */
    bad[5].kernel_w = 0;  /* no kernel */
    float x[72] = {0}, k[9] = {0}, y[64];
    for (int i = 0; i < 8; i++) {
        for (int j = 0; j < 64; j++)
            y[j] = 7.0f;
        nnk_err err = {0, ""};
        ck_assert_msg(conv()->forward(&bad[i], x, k, NULL, y, &err) == NNK_ESHAPE, "bad shape %d accepted", i);
        ck_assert_msg(strstr(err.msg, "conv2d: ") == err.msg && !strchr(err.msg, '\n'), "message: %s", err.msg);
        for (int j = 0; j < 64; j++)
            ck_assert(y[j] == 7.0f);
    }
    nnk_err err = {0, ""};
    ck_assert_int_eq(conv()->forward(&good, x, k, NULL, y, &err), NNK_OK);
}
END_TEST

/* ---- pooling ----------------------------------------------------------- */

static int pool_shape(int i, nnk_pool2d_shape *s)
{
    int same = i & 1, size = 1 + i / 2 % 3, stride = 1 + i / 6 % 3, variant = i / 18;
    *s = (nnk_pool2d_shape){.batch = 1 + variant % 3, .in_h = 4 + (i * 5) % 5, .in_w = 3 + (i * 3) % 6,
                            .channels = 1 + (i * 7) % 5, .pool_h = size, .pool_w = 1 + (size + variant) % 3,
                            .stride_h = stride, .stride_w = 1 + (stride + variant) % 3};
    keras_axis(s->in_h, s->pool_h, s->stride_h, 1, same, &s->out_h, &s->pad_top);
    keras_axis(s->in_w, s->pool_w, s->stride_w, 1, same, &s->out_w, &s->pad_left);
    return s->out_h > 0 && s->out_w > 0;
}

#define POOL_SWEEP 72

static int64_t px(const nnk_pool2d_shape *s) { return s->batch * s->in_h * s->in_w * s->channels; }
static int64_t py(const nnk_pool2d_shape *s) { return s->batch * s->out_h * s->out_w * s->channels; }

/* Values in {-1, 0, 1}: most windows hold ties. */
static float *tied_floats(int64_t n)
{
    float *p = random_floats(n);
    for (int64_t i = 0; i < n; i++)
        p[i] = p[i] < -0.33f ? -1.0f : p[i] < 0.33f ? 0.0f : 1.0f;
    return p;
}

/* max or mean over a window's real cells, by the definition */
static double pooled(const nnk_pool2d_shape *s, const float *x, int max, int64_t b, int64_t oy, int64_t ox, int64_t c)
{
    double acc = max ? -INFINITY : 0;
    int64_t n = 0;
    for (int64_t py_ = 0; py_ < s->pool_h; py_++)
        for (int64_t px_ = 0; px_ < s->pool_w; px_++) {
            int64_t iy = oy * s->stride_h - s->pad_top + py_, ix = ox * s->stride_w - s->pad_left + px_;
            if (iy < 0 || iy >= s->in_h || ix < 0 || ix >= s->in_w)
                continue;
            double v = x[((b * s->in_h + iy) * s->in_w + ix) * s->channels + c];
            acc = max ? (v > acc ? v : acc) : acc + v;
            n++;
        }
    return max ? acc : acc / (double)n;
}

START_TEST(pooling_forward_matches_direct_loops)
{
    nnk_pool2d_shape s;
    nnk_err err = {0, ""};
    for (int i = 0; i < POOL_SWEEP; i++) {
        if (!pool_shape(i, &s))
            continue;
        nnk_set_threads(1 + i % 3);
        float *x = random_floats(px(&s)), *y = random_floats(py(&s));
        for (int max = 0; max < 2; max++) {
            ck_assert_int_eq((max ? pool()->max_forward : pool()->average_forward)(&s, x, y, &err), NNK_OK);
            for (int64_t b = 0, at = 0; b < s.batch; b++)
                for (int64_t oy = 0; oy < s.out_h; oy++)
                    for (int64_t ox = 0; ox < s.out_w; ox++)
                        for (int64_t c = 0; c < s.channels; c++, at++) {
                            double want = pooled(&s, x, max, b, oy, ox, c);
                            ck_assert_msg(fabs(y[at] - want) <= 1e-5 * (1 + fabs(want)),
                                          "shape %d %s: y[%lld] %g, want %g", i, max ? "max" : "average",
                                          (long long)at, (double)y[at], want);
                        }
        }
        free(x), free(y);
    }
}
END_TEST

/* TensorFlow's CPU MaxPoolGrad order: every input cell in row-major
 * order offers itself to each window holding it; a window takes it when
 * it has none yet or when it is larger. */
static void tf_order_max_gradient(const nnk_pool2d_shape *s, const float *x, const float *dy, double *dx)
{
    int64_t n = py(s);
    double *best = malloc(sizeof(double) * (size_t)n);
    int64_t *arg = malloc(sizeof(int64_t) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        arg[i] = -1;
    for (int64_t b = 0; b < s->batch; b++)
        for (int64_t iy = 0; iy < s->in_h; iy++)
            for (int64_t ix = 0; ix < s->in_w; ix++)
                for (int64_t oy = 0; oy < s->out_h; oy++)
                    for (int64_t ox = 0; ox < s->out_w; ox++) {
                        int64_t top = oy * s->stride_h - s->pad_top, left = ox * s->stride_w - s->pad_left;
                        if (iy < top || iy >= top + s->pool_h || ix < left || ix >= left + s->pool_w)
                            continue;
                        for (int64_t c = 0; c < s->channels; c++) {
                            int64_t o = ((b * s->out_h + oy) * s->out_w + ox) * s->channels + c;
                            int64_t in = ((b * s->in_h + iy) * s->in_w + ix) * s->channels + c;
                            if (arg[o] < 0 || best[o] < x[in])
                                best[o] = x[in], arg[o] = in;
                        }
                    }
    for (int64_t i = 0; i < px(s); i++)
        dx[i] = 0;
    for (int64_t o = 0; o < n; o++)
        dx[arg[o]] += dy[o];
    free(best), free(arg);
}

START_TEST(max_pooling_gradient_follows_tensorflow_on_ties)
{
    nnk_pool2d_shape s;
    nnk_err err = {0, ""};
    for (int i = 0; i < POOL_SWEEP; i++) {
        if (!pool_shape(i, &s))
            continue;
        nnk_set_threads(1 + i % 3);
        float *x = tied_floats(px(&s)), *dy = random_floats(py(&s)), *dx = random_floats(px(&s));
        double *want = malloc(sizeof(double) * (size_t)px(&s));
        ck_assert_int_eq(pool()->max_backward(&s, x, dy, dx, &err), NNK_OK);
        tf_order_max_gradient(&s, x, dy, want);
        for (int64_t j = 0; j < px(&s); j++)
            ck_assert_msg(fabs(dx[j] - want[j]) <= 1e-5 * (1 + fabs(want[j])), "shape %d: dx[%lld] %g, want %g", i,
                          (long long)j, (double)dx[j], want[j]);
        free(x), free(dy), free(dx), free(want);
    }
}
END_TEST

START_TEST(average_pooling_gradient_is_the_adjoint)
{
    nnk_pool2d_shape s;
    nnk_err err = {0, ""};
    for (int i = 0; i < POOL_SWEEP; i++) {
        if (!pool_shape(i, &s))
            continue;
        nnk_set_threads(1 + i % 3);
        float *v = random_floats(px(&s)), *dy = random_floats(py(&s)), *dx = random_floats(px(&s));
        float *y = random_floats(py(&s));
        ck_assert_int_eq(pool()->average_backward(&s, dy, dx, &err), NNK_OK);
        ck_assert_int_eq(pool()->average_forward(&s, v, y, &err), NNK_OK);
        double lhs = dotf(dx, v, px(&s)), rhs = dotf(dy, y, py(&s));
        ck_assert_msg(fabs(lhs - rhs) <= 1e-4 * (1 + fabs(rhs)), "shape %d: <dx, v> %g, <dy, pool(v)> %g", i, lhs, rhs);
        free(v), free(dy), free(dx), free(y);
    }
}
END_TEST

#ifdef NNK_BACKEND_ONEDNN
/* oneDNN takes every pooling shape of the sweep, each pass (the sweeps
 * above would pass on the loops alone). */
START_TEST(onednn_runs_every_pooling_shape)
{
    nnk_pool2d_shape s;
    nnk_set_threads(1);
    for (int i = 0; i < POOL_SWEEP; i++) {
        if (!pool_shape(i, &s))
            continue;
        nnk_conv2d_shape c = {s.batch, s.in_h, s.in_w, s.channels, s.out_h, s.out_w, s.channels, s.pool_h,
                              s.pool_w, s.stride_h, s.stride_w, 1, 1, s.pad_top, s.pad_left};
        int64_t pb, pr;
        nnk_err err = {0, ""};
        ck_assert_int_eq(nnk__conv2d_check(&c, &pb, &pr, &err), NNK_OK);
        float *x = random_floats(px(&s)), *dx = random_floats(px(&s)), *y = random_floats(py(&s));
        float *dy = random_floats(py(&s));
        for (int kind = 0; kind < 4; kind++)
            ck_assert_msg(nnk__onednn_pool(&s, pb, pr, kind, 0, x, dy, y, dx) == 0, "shape %d, pass %d", i, kind);
        free(x), free(dx), free(y), free(dy);
    }
}
END_TEST
#endif

/* A constant input ties every window: each window's gradient lands on
 * its top-left real cell. 5x5, pool 2, stride 2, same: windows start at
 * rows and columns 0, 2, 4 (the last one row and column wide). */
START_TEST(max_pooling_ties_go_to_the_top_left)
{
    nnk_pool2d_shape s = {.batch = 1, .in_h = 5, .in_w = 5, .channels = 1, .out_h = 3, .out_w = 3, .pool_h = 2,
                          .pool_w = 2, .stride_h = 2, .stride_w = 2};
    float x[25], dy[9], dx[25];
    for (int i = 0; i < 25; i++)
        x[i] = 3.0f;
    for (int i = 0; i < 9; i++)
        dy[i] = (float)(i + 1);
    nnk_err err = {0, ""};
    ck_assert_int_eq(pool()->max_backward(&s, x, dy, dx, &err), NNK_OK);
    for (int iy = 0; iy < 5; iy++)
        for (int ix = 0; ix < 5; ix++) {
            float want = iy % 2 == 0 && ix % 2 == 0 ? (float)(iy / 2 * 3 + ix / 2 + 1) : 0.0f;
            ck_assert_msg(dx[iy * 5 + ix] == want, "dx[%d][%d] = %g, want %g", iy, ix, (double)dx[iy * 5 + ix],
                          (double)want);
        }
    s.out_h = 4; /* not what 5 rows give */
    ck_assert_int_eq(pool()->max_forward(&s, x, dy, &err), NNK_ESHAPE);
    ck_assert_msg(strstr(err.msg, "pool2d: ") == err.msg, "message: %s", err.msg);
}
END_TEST

/* ---- batch normalization's passes --------------------------------------- */

START_TEST(batchnorm_passes_match_direct_loops)
{
    const int64_t sizes[][2] = {{0, 3}, {1, 1}, {7, 5}, {333, 17}, {2049, 24}, {100, 300}};
    nnk_err err = {0, ""};
    for (int t = 1; t <= 3; t++)
        for (int i = 0; i < 6; i++) {
            nnk_set_threads(t);
            int64_t n = sizes[i][0], c = sizes[i][1];
            float *x = random_floats(n * c), *dy = random_floats(n * c), *h = malloc(sizeof(float) * (size_t)(n * c + 1));
            float *y = malloc(sizeof(float) * (size_t)(n * c + 1)), *inv = random_floats(c), *gamma = random_floats(c);
            float *beta = random_floats(c);
            double *sum = malloc(sizeof(double) * (size_t)c), *sq = malloc(sizeof(double) * (size_t)c);
            double *center = malloc(sizeof(double) * (size_t)c), *p = malloc(sizeof(double) * (size_t)c);
            double *q = malloc(sizeof(double) * (size_t)c), *r = malloc(sizeof(double) * (size_t)c);
            double *m1 = malloc(sizeof(double) * (size_t)c), *m2 = malloc(sizeof(double) * (size_t)c);
            float *y2 = malloc(sizeof(float) * (size_t)(n * c + 1));
            for (int64_t k = 0; k < c; k++)
                center[k] = 0.1 * (double)k, p[k] = 1.5 + k, q[k] = -0.25 * (double)k, r[k] = 0.5 - 0.1 * (double)k;
            ck_assert_int_eq(norm()->channel_sums(n, c, x, NULL, sum, &err), NNK_OK);
            ck_assert_int_eq(norm()->channel_sums(n, c, x, center, sq, &err), NNK_OK);
            ck_assert_int_eq(norm()->moment_sums(n, c, x, center, m1, m2, &err), NNK_OK);
            norm()->normalize(n, c, x, center, inv, gamma, beta, h, y);
            norm()->normalize(n, c, x, center, inv, gamma, beta, NULL, y2);
            for (int64_t k = 0; k < c; k++) {
                double s = 0, d1 = 0, d2 = 0;
                for (int64_t row = 0; row < n; row++) {
                    double v = x[row * c + k];
                    s += v;
                    d1 += v - center[k];
                    d2 += (v - center[k]) * (v - center[k]);
                    double want = (v - center[k]) * inv[k]; /* the difference in float, against two floats */
                    ck_assert_msg(fabs(h[row * c + k] - want) <= 4e-7 * fabs(want) + 1e-12, "xhat %.9g, want %.9g",
                                  (double)h[row * c + k], want);
                    float affine = gamma[k] * h[row * c + k] + beta[k]; /* to rounding: a compiler may fuse it */
                    ck_assert(fabsf(y[row * c + k] - affine) <= 1e-6f * (1 + fabsf(affine)));
                    ck_assert(y2[row * c + k] == y[row * c + k]);
                }
                ck_assert_msg(fabs(sum[k] - s) <= 1e-9 * (1 + fabs(s)), "n %lld: sum %g, want %g", (long long)n, sum[k], s);
                ck_assert_msg(fabs(sq[k] - d2) <= 1e-9 * (1 + d2), "n %lld: squares %g, want %g", (long long)n, sq[k], d2);
                ck_assert_msg(fabs(m1[k] - d1) <= 1e-9 * (1 + fabs(d1)), "moment 1 %g, want %g", m1[k], d1);
                ck_assert_msg(fabs(m2[k] - d2) <= 1e-9 * (1 + d2), "moment 2 %g, want %g", m2[k], d2);
            }
            ck_assert_int_eq(norm()->gradient_sums(n, c, dy, h, sum, sq, &err), NNK_OK);
            norm()->input_gradient(n, c, dy, h, p, q, r, y);
            for (int64_t k = 0; k < c; k++) {
                double s = 0, sh = 0;
                for (int64_t row = 0; row < n; row++) {
                    s += dy[row * c + k];
                    sh += (double)dy[row * c + k] * h[row * c + k];
                    float want = (float)(p[k] * dy[row * c + k] + q[k] + r[k] * h[row * c + k]);
                    ck_assert(fabsf(y[row * c + k] - want) <= 1e-6f * (1 + fabsf(want)));
                }
                ck_assert(fabs(sum[k] - s) <= 1e-9 * (1 + fabs(s)));
                ck_assert(fabs(sq[k] - sh) <= 1e-9 * (1 + fabs(sh)));
            }
            free(x), free(dy), free(h), free(y), free(inv), free(gamma), free(beta), free(sum), free(sq), free(center);
            free(p), free(q), free(r), free(m1), free(m2), free(y2);
        }
}
END_TEST

static Suite *compute_suite(void)
{
    Suite *s = suite_create("compute");
    TCase *tc = tcase_create("compute");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, forward_matches_direct_loops);
    tcase_add_test(tc, forward_matches_direct_loops_wide);
    tcase_add_test(tc, backward_is_the_forward_s_adjoint);
    tcase_add_test(tc, kernel_gradient_matches_finite_differences);
    tcase_add_test(tc, same_threads_same_bits);
#ifdef NNK_BACKEND_ONEDNN
    tcase_add_test(tc, im2col_matches_direct_loops);
    tcase_add_test(tc, onednn_runs_common_shapes);
#endif
    tcase_add_test(tc, bad_shapes_are_refused);
    tcase_add_test(tc, pooling_forward_matches_direct_loops);
    tcase_add_test(tc, max_pooling_gradient_follows_tensorflow_on_ties);
    tcase_add_test(tc, average_pooling_gradient_is_the_adjoint);
    tcase_add_test(tc, max_pooling_ties_go_to_the_top_left);
#ifdef NNK_BACKEND_ONEDNN
    tcase_add_test(tc, onednn_runs_every_pooling_shape);
#endif
    tcase_add_test(tc, batchnorm_passes_match_direct_loops);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(compute_suite()); }
