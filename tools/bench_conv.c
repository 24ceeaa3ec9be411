/* Benchmark: the host's 2-D convolution (nnkit.compute.conv2d/1) at the
 * shapes of the CNN examples, each pass timed alone (best of 5 runs of 20
 * calls, after one to warm up): forward, backward data and backward
 * weights, on one thread by each implementation this build has (oneDNN's
 * primitives; im2col and the backend's gemm, the pool set to one thread);
 * through the host on N threads (what a layer gets: one slice of the
 * batch per thread); and, in a oneDNN build, as one oneDNN call on the
 * whole batch threading itself with an OpenMP team of N (what the host's
 * split is measured against). Prints GFLOP/s per pass. Then the host's
 * max pooling of the small CNN's first feature maps (26x26x32, 2x2
 * windows) against oneDNN's pooling primitive on the same threads, and
 * batch normalization's training forward and backward passes over the
 * same maps (the host's passes against oneDNN's batch-normalization
 * primitive), in microseconds. Used by tools/bench.sh.
 *   bench_conv BATCH THREADS [conv|pool|norm]   (the last: only those) */
#include "../core/compute.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#ifdef NNK_BACKEND_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#endif

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct conv_case {
    const char *what;
    int64_t in, in_c, out_c, kernel, same;
} conv_case;

/* fashion_cnn's two convolutions (valid), then the book's chapter 14
 * model's (same): 64 7x7, two 128 3x3 blocks at 14x14, two 256 at 7x7;
 * then 4, 8 and 16 input channels, where the choice of algorithm turns. */
static const conv_case cases[] = {
    {"cnn_conv1", 28, 1, 32, 3, 0},   {"cnn_conv2", 13, 32, 64, 3, 0},   {"book_conv1", 28, 1, 64, 7, 1},
    {"book_conv2", 14, 64, 128, 3, 1}, {"book_conv3", 14, 128, 128, 3, 1}, {"book_conv4", 7, 128, 256, 3, 1},
    {"book_conv5", 7, 256, 256, 3, 1}, {"narrow_2", 28, 2, 16, 3, 1}, {"narrow_3", 28, 3, 16, 3, 1}, {"narrow_4", 28, 4, 16, 3, 1},   {"narrow_8", 28, 8, 16, 3, 1},
    {"narrow_16", 28, 16, 16, 3, 1},
};

static nnk_conv2d_shape shape_of(const conv_case *c, int64_t batch)
{
    nnk_conv2d_shape s = {.batch = batch, .in_h = c->in, .in_w = c->in, .in_c = c->in_c, .out_c = c->out_c,
                          .kernel_h = c->kernel, .kernel_w = c->kernel, .stride_h = 1, .stride_w = 1,
                          .dilation_h = 1, .dilation_w = 1};
    s.out_h = s.out_w = c->same ? c->in : c->in - c->kernel + 1;
    s.pad_top = s.pad_left = c->same ? (c->kernel - 1) / 2 : 0;
    return s;
}

typedef struct buffers {
    float *x, *k, *b, *y, *dx, *dk, *db;
} buffers;

/* One pass (0 forward, 1 backward data, 2 backward weights) by one way:
 * 0 the host on every thread, 1 im2col on this thread, 2 oneDNN on it
 * (or 3, on its own OpenMP team: the caller sets the team's size). */
static int run(int way, int pass, const nnk_conv2d_shape *s, const nnk_conv2d_slice *c, const buffers *m)
{
    const nnk_host_conv2d *h = &nnk__host_conv2d;
    if (way == 0)
        return pass == 0 ? h->forward(s, m->x, m->k, m->b, m->y, NULL)
               : pass == 1 ? h->backward_data(s, m->y, m->k, m->dx, NULL)
                           : h->backward_weights(s, m->x, m->y, 1.0f, 0.0f, m->dk, m->db, NULL);
    if (way == 1)
        return pass == 0 ? nnk__im2col_conv_forward(c, m->x, m->k, m->b, m->y)
               : pass == 1 ? nnk__im2col_conv_backward_data(c, m->y, m->k, m->dx)
                           : nnk__im2col_conv_backward_weights(c, m->x, m->y, m->dk, m->db);
#ifdef NNK_BACKEND_ONEDNN
    return pass == 0 ? nnk__onednn_conv_forward(c, m->x, m->k, m->b, m->y)
           : pass == 1 ? nnk__onednn_conv_backward_data(c, m->y, m->k, m->dx)
                       : nnk__onednn_conv_backward_weights(c, m->x, m->y, m->dk, m->db);
#else
    return -1;
#endif
}

static double best_seconds(int way, int pass, const nnk_conv2d_shape *s, const nnk_conv2d_slice *c,
                           const buffers *m)
{
    double best = 1e30;
    for (int rep = 0; rep < 6; rep++) {
        double t = now();
        for (int i = 0; i < 20; i++)
            if (run(way, pass, s, c, m))
                return -1;
        if (rep) /* the first warms up */
            best = (now() - t) / 20 < best ? (now() - t) / 20 : best;
    }
    return best;
}

static float *filled(int64_t n)
{
    float *p = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)((i * 7 % 13) - 6) / 13.0f;
    return p;
}

/* Microseconds per call of the host's max pooling forward (way 0), or of
 * oneDNN's pooling primitive on an OpenMP team of the pool's size (way 1):
 * best of 5 runs of 50 calls after one to warm up. */
static double time_pool(int way, const nnk_pool2d_shape *s, const float *x, float *y)
{
#ifdef NNK_BACKEND_ONEDNN
    dnnl_engine_t engine = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_memory_t xm = NULL, ym = NULL;
    if (way == 1) {
        dnnl_memory_desc_t xd, yd;
        dnnl_dims_t xs = {s->batch, s->channels, s->in_h, s->in_w}, ys = {s->batch, s->channels, s->out_h, s->out_w};
        dnnl_dims_t window = {s->pool_h, s->pool_w}, strides = {s->stride_h, s->stride_w}, none = {0, 0};
        dnnl_pooling_v2_desc_t op;
        if (dnnl_engine_create(&engine, dnnl_cpu, 0) || dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) ||
            dnnl_memory_desc_init_by_tag(&xd, 4, xs, dnnl_f32, dnnl_nhwc) ||
            dnnl_memory_desc_init_by_tag(&yd, 4, ys, dnnl_f32, dnnl_nhwc) ||
            dnnl_pooling_v2_forward_desc_init(&op, dnnl_forward_inference, dnnl_pooling_max, &xd, &yd, strides, window,
                                              none, none, none) ||
            dnnl_primitive_desc_create(&pd, &op, NULL, engine, NULL) || dnnl_primitive_create(&prim, pd) ||
            dnnl_memory_create(&xm, &xd, engine, (void *)x) || dnnl_memory_create(&ym, &yd, engine, y))
            return -1;
    }
#endif
    double best = 1e30;
    for (int rep = 0; rep < 6; rep++) {
        double t = now();
        for (int i = 0; i < 50; i++) {
#ifdef NNK_BACKEND_ONEDNN
            dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DST, ym}};
            if (way == 1 && (dnnl_primitive_execute(prim, stream, 2, args) || dnnl_stream_wait(stream)))
                return -1;
#endif
            if (way == 0 && nnk__host_pool2d.max_forward(s, x, y, NULL))
                return -1;
        }
        double us = (now() - t) / 50 * 1e6;
        best = rep && us < best ? us : best;
    }
#ifdef NNK_BACKEND_ONEDNN
    if (way == 1) {
        dnnl_memory_destroy(xm), dnnl_memory_destroy(ym), dnnl_primitive_destroy(prim);
        dnnl_primitive_desc_destroy(pd), dnnl_stream_destroy(stream), dnnl_engine_destroy(engine);
    }
#endif
    return best;
}

static void bench_pool(int64_t batch, int threads)
{
    nnk_pool2d_shape s = {batch, 26, 26, 32, 13, 13, 2, 2, 2, 2, 0, 0};
    float *x = filled(batch * 26 * 26 * 32), *y = filled(batch * 13 * 13 * 32);
    nnk_set_threads(threads);
    double host = time_pool(0, &s, x, y), dnnl = 0;
#ifdef NNK_BACKEND_ONEDNN
    omp_set_num_threads(threads);
    dnnl = time_pool(1, &s, x, y);
    omp_set_num_threads(1);
#endif
    printf("pool batch=%lld threads=%d shape=cnn_pool1 pass=max_forward host_us=%.1f onednn_us=%.1f\n",
           (long long)batch, threads, host, dnnl);
    free(x), free(y);
}

/* The buffers of batch normalization's bench: n rows of c channels. */
typedef struct norm_buffers {
    int64_t n, c;
    float *x, *y, *dy, *dx, *inv, *gb, *dgb, *mean_f, *var_f;
    double *mean, *var, *p, *q, *r;
} norm_buffers;

/* The host's passes as batch_normalization runs them: training forward
 * (both moments in one pass around a shift, normalization without a kept
 * xhat) or backward (gradient sums and input gradient, both reading x). */
static int host_norm(norm_buffers *b, int backward)
{
    int64_t n = b->n, c = b->c;
    if (backward) {
        if (nnk__host_batchnorm.gradient_sums(n, c, b->dy, b->x, b->mean, b->var, NULL))
            return -1;
        nnk__host_batchnorm.input_gradient(n, c, b->dy, b->x, b->p, b->q, b->r, b->dx);
        return 0;
    }
    if (nnk__host_batchnorm.moment_sums(n, c, b->x, b->p, b->mean, b->var, NULL))
        return -1;
    for (int64_t k = 0; k < c; k++) {
        double offset = b->mean[k] / (double)n;
        b->inv[k] = (float)(1.0 / sqrt(b->var[k] / (double)n - offset * offset + 1e-3));
        b->mean[k] = b->p[k] + offset;
    }
    nnk__host_batchnorm.normalize(n, c, b->x, b->mean, b->inv, b->gb, b->gb + c, NULL, b->y);
    return 0;
}

#ifdef NNK_BACKEND_ONEDNN
/* oneDNN's batch-normalization primitive on NHWC maps (its JIT takes
 * them), forward training or backward; args[8] filled for it. Its
 * scratchpad is made once and kept (user mode), as a layer would keep
 * it: oneDNN's own mode allocates one per call, and the fresh pages
 * would be timed with the pass. */
typedef struct onednn_norm {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_primitive_desc_t pd, hint;
    dnnl_primitive_attr_t attr;
    dnnl_primitive_t prim;
    dnnl_memory_t m[8];
    dnnl_exec_arg_t args[8];
    void *scratch;
} onednn_norm;

static int onednn_norm_make(onednn_norm *o, norm_buffers *b, int backward)
{
    dnnl_memory_desc_t xd, sd, md;
    dnnl_dims_t xs = {b->n / (26 * 26), b->c, 26, 26}, ss = {2, b->c}, ms = {b->c};
    dnnl_batch_normalization_desc_t fwd, bwd;
    memset(o, 0, sizeof *o);
    if (dnnl_engine_create(&o->engine, dnnl_cpu, 0) ||
        dnnl_stream_create(&o->stream, o->engine, dnnl_stream_default_flags) ||
        dnnl_memory_desc_init_by_tag(&xd, 4, xs, dnnl_f32, dnnl_nhwc) ||
        dnnl_memory_desc_init_by_tag(&sd, 2, ss, dnnl_f32, dnnl_nc) ||
        dnnl_memory_desc_init_by_tag(&md, 1, ms, dnnl_f32, dnnl_a) ||
        dnnl_primitive_attr_create(&o->attr) || dnnl_primitive_attr_set_scratchpad_mode(o->attr, dnnl_scratchpad_mode_user) ||
        dnnl_batch_normalization_forward_desc_init(&fwd, dnnl_forward_training, &xd, 1e-3f, dnnl_use_scaleshift) ||
        dnnl_primitive_desc_create(&o->hint, &fwd, o->attr, o->engine, NULL))
        return -1;
    if (backward && (dnnl_batch_normalization_backward_desc_init(&bwd, dnnl_backward, &xd, &xd, 1e-3f,
                                                                 dnnl_use_scaleshift) ||
                     dnnl_primitive_desc_create(&o->pd, &bwd, o->attr, o->engine, o->hint)))
        return -1;
    const dnnl_memory_desc_t *scratch = dnnl_primitive_desc_query_md(backward ? o->pd : o->hint,
                                                                      dnnl_query_scratchpad_md, 0);
    size_t bytes = scratch ? dnnl_memory_desc_get_size(scratch) : 0;
    o->scratch = calloc(1, bytes + 64);
    if (!o->scratch || dnnl_memory_create(&o->m[7], scratch, o->engine, o->scratch))
        return -1;
    o->args[7] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, o->m[7]};
    float *data[7] = {b->x, backward ? b->dx : b->y, b->mean_f, b->var_f, b->gb, b->dy, b->dgb};
    const dnnl_memory_desc_t *descs[7] = {&xd, &xd, &md, &md, &sd, &xd, &sd};
    int which[7] = {DNNL_ARG_SRC, backward ? DNNL_ARG_DIFF_SRC : DNNL_ARG_DST, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE,
                    DNNL_ARG_SCALE_SHIFT, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SCALE_SHIFT};
    for (int i = 0; i < 7; i++) {
        if (dnnl_memory_create(&o->m[i], descs[i], o->engine, data[i]))
            return -1;
        o->args[i] = (dnnl_exec_arg_t){which[i], o->m[i]};
    }
    return dnnl_primitive_create(&o->prim, backward ? o->pd : o->hint);
}

static void onednn_norm_free(onednn_norm *o)
{
    for (int i = 0; i < 8; i++)
        dnnl_memory_destroy(o->m[i]);
    dnnl_primitive_destroy(o->prim), dnnl_primitive_desc_destroy(o->pd), dnnl_primitive_desc_destroy(o->hint);
    dnnl_primitive_attr_destroy(o->attr), free(o->scratch);
    dnnl_stream_destroy(o->stream), dnnl_engine_destroy(o->engine);
}
#endif

/* Microseconds of one batch-normalization pass (training forward, or
 * backward) by the host's passes (way 0) or oneDNN's primitive on an
 * OpenMP team of the current size (way 1); best of 5 runs of 20 after one
 * to warm up. */
static double time_norm(int way, norm_buffers *b, int backward)
{
#ifdef NNK_BACKEND_ONEDNN
    onednn_norm o;
    if (way == 1 && onednn_norm_make(&o, b, backward))
        return -1;
#endif
    double best = 1e30;
    for (int rep = 0; rep < 6; rep++) {
        double t = now();
        for (int i = 0; i < 20; i++) {
#ifdef NNK_BACKEND_ONEDNN
            if (way == 1 && (dnnl_primitive_execute(o.prim, o.stream, 8, o.args) || dnnl_stream_wait(o.stream)))
                return -1;
#endif
            if (way == 0 && host_norm(b, backward))
                return -1;
        }
        double us = (now() - t) / 20 * 1e6;
        best = rep && us < best ? us : best;
    }
#ifdef NNK_BACKEND_ONEDNN
    if (way == 1)
        onednn_norm_free(&o);
#endif
    return best;
}

/* Batch normalization over the small CNN's first feature maps (26x26x32
 * per sample), each pass by the host and by oneDNN on one thread and on
 * an OpenMP team of the pool's size. */
static void bench_norm(int64_t batch, int threads)
{
    int64_t n = batch * 26 * 26, c = 32;
    norm_buffers b = {.n = n, .c = c, .x = filled(n * c), .y = filled(n * c),
                      .dy = filled(n * c), .dx = filled(n * c), .inv = filled(c), .gb = filled(2 * c),
                      .dgb = filled(2 * c), .mean_f = filled(c), .var_f = filled(c)};
    b.mean = calloc((size_t)c, sizeof(double)), b.var = calloc((size_t)c, sizeof(double));
    b.p = calloc((size_t)c, sizeof(double)), b.q = calloc((size_t)c, sizeof(double));
    b.r = calloc((size_t)c, sizeof(double));
    for (int64_t k = 0; k < c; k++) /* gamma 1, beta 0, unit variance, a plain input gradient */
        b.gb[k] = 1.0f, b.gb[c + k] = 0.0f, b.var_f[k] = 1.0f, b.p[k] = 1.0, b.q[k] = -0.01, b.r[k] = -0.5;
    static const char *passes[] = {"forward_training", "backward"};
    for (int backward = 0; backward < 2; backward++) {
        nnk_set_threads(threads);
        double host = time_norm(0, &b, backward), dnnl1 = 0, dnnl = 0;
#ifdef NNK_BACKEND_ONEDNN
        dnnl1 = time_norm(1, &b, backward); /* the pool's threads hold OpenMP at one */
        omp_set_num_threads(threads);
        dnnl = time_norm(1, &b, backward);
        omp_set_num_threads(1);
#endif
        printf("norm batch=%lld threads=%d shape=cnn_bn1 pass=%s host_us=%.1f onednn1_us=%.1f onednn_us=%.1f\n",
               (long long)batch, threads, passes[backward], host, dnnl1, dnnl);
    }
    free(b.x), free(b.y), free(b.dy), free(b.dx), free(b.inv), free(b.gb), free(b.dgb);
    free(b.mean_f), free(b.var_f), free(b.mean), free(b.var), free(b.p), free(b.q), free(b.r);
}

int main(int argc, char **argv)
{
    const char *only = argc == 4 ? argv[3] : "";
    if (argc < 3 || argc > 4 || atoi(argv[1]) < 1 || atoi(argv[2]) < 1 ||
        (argc == 4 && strcmp(only, "conv") && strcmp(only, "pool") && strcmp(only, "norm"))) {
        fprintf(stderr, "usage: bench_conv BATCH THREADS [conv|pool|norm]\n");
        return 2;
    }
    int64_t batch = atoi(argv[1]);
    int threads = atoi(argv[2]);
    static const char *passes[] = {"forward", "backward_data", "backward_weights"};
    for (size_t i = 0; (!*only || !strcmp(only, "conv")) && i < sizeof cases / sizeof cases[0]; i++) {
        nnk_conv2d_shape s = shape_of(&cases[i], batch);
        nnk_conv2d_slice c = {s, 0, 0, 0};
        if (nnk__conv2d_check(&s, &c.pad_bottom, &c.pad_right, NULL))
            return 1;
        int64_t nx = s.batch * s.in_h * s.in_w * s.in_c, ny = s.batch * s.out_h * s.out_w * s.out_c,
                nk = s.kernel_h * s.kernel_w * s.in_c * s.out_c;
        buffers m = {filled(nx), filled(nk), filled(s.out_c), filled(ny), filled(nx), filled(nk), filled(s.out_c)};
        double flops = 2.0 * (double)ny * (double)(s.kernel_h * s.kernel_w * s.in_c);
        for (int pass = 0; pass < 3; pass++) {
            double gf[4];
            for (int way = 0; way < 4; way++) {
                nnk_set_threads(way == 0 ? threads : 1);
#ifdef NNK_BACKEND_ONEDNN
                if (way == 3)
                    omp_set_num_threads(threads);
#endif
                double sec = best_seconds(way == 3 ? 2 : way, pass, &s, &c, &m);
#ifdef NNK_BACKEND_ONEDNN
                omp_set_num_threads(1);
#endif
                gf[way] = sec > 0 ? flops / sec / 1e9 : 0;
            }
            printf("conv batch=%lld threads=%d shape=%s pass=%s gflop=%.4f host_gflops=%.1f im2col1_gflops=%.1f "
                   "onednn1_gflops=%.1f onednnN_gflops=%.1f\n",
                   (long long)batch, threads, cases[i].what, passes[pass], flops / 1e9, gf[0], gf[1], gf[2], gf[3]);
        }
        free(m.x), free(m.k), free(m.b), free(m.y), free(m.dx), free(m.dk), free(m.db);
    }
    if (!*only || !strcmp(only, "pool"))
        bench_pool(batch, threads);
    if (!*only || !strcmp(only, "norm"))
        bench_norm(batch, threads);
    return 0;
}
