/* A slice of a convolution on oneDNN's convolution primitives, on the
 * calling thread (whose OpenMP team nnkit holds at one thread). The
 * primitives read and write x and y in nnkit's NHWC; the kernel goes in
 * the layout oneDNN's JIT convolution asks for (blocked by 16 or 32
 * channels), reordered from and to Keras's HWIO around each call (a
 * kernel is small beside the activations): with HWIO as given, oneDNN
 * falls back to its own im2col and gemm, measured 1.3-2.6x slower
 * (build/tools/bench_conv). Primitives are kept by onednn.c, one per
 * shape and slice of the batch: two threads running one primitive at once
 * ran 2.4x slower than each running its own (cnn_conv1's forward pass). A
 * primitive's scratchpad is the calling thread's workspace. */
#include "compute.h"
#include <omp.h>
#include <string.h>

enum { FORWARD, BACKWARD_DATA, BACKWARD_WEIGHTS };

typedef struct conv_key {
    nnk_conv2d_shape shape;
    int64_t pad_bottom, pad_right;
    int kind, bias;
    int64_t first; /* the slice's first sample: each slice its own primitive */
    int64_t threads; /* the OpenMP team a primitive is made for (oneDNN fixes it then) */
} conv_key;

/* The descriptors of a key's tensors: x, kernel, bias, y. */
typedef struct conv_mds {
    dnnl_memory_desc_t x, kernel, bias, y;
    dnnl_dims_t strides, dilates, pad_l, pad_r;
} conv_mds;

static int describe(const conv_key *k, conv_mds *d)
{
    const nnk_conv2d_shape *s = &k->shape;
    dnnl_dims_t x = {s->batch, s->in_c, s->in_h, s->in_w}, y = {s->batch, s->out_c, s->out_h, s->out_w};
    dnnl_dims_t w = {s->out_c, s->in_c, s->kernel_h, s->kernel_w}, b = {s->out_c};
    int64_t sv[2] = {s->stride_h, s->stride_w}, dv[2] = {s->dilation_h - 1, s->dilation_w - 1},
            lv[2] = {s->pad_top, s->pad_left}, rv[2] = {k->pad_bottom, k->pad_right};
    memcpy(d->strides, sv, sizeof sv);
    memcpy(d->dilates, dv, sizeof dv);
    memcpy(d->pad_l, lv, sizeof lv);
    memcpy(d->pad_r, rv, sizeof rv);
    return dnnl_memory_desc_init_by_tag(&d->x, 4, x, dnnl_f32, dnnl_nhwc) ||
           dnnl_memory_desc_init_by_tag(&d->y, 4, y, dnnl_f32, dnnl_nhwc) ||
           dnnl_memory_desc_init_by_tag(&d->kernel, 4, w, dnnl_f32, dnnl_hwio) ||
           dnnl_memory_desc_init_by_tag(&d->bias, 1, b, dnnl_f32, dnnl_a);
}

/* The primitive descriptor of a key (NULL when oneDNN declines it). */
static dnnl_primitive_desc_t make_pd(const conv_key *k, dnnl_engine_t engine)
{
    conv_mds d;
    dnnl_convolution_desc_t fwd, op;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t hint = NULL, pd = NULL;
    if (describe(k, &d))
        return NULL;
    dnnl_dims_t w = {k->shape.out_c, k->shape.in_c, k->shape.kernel_h, k->shape.kernel_w};
    if (dnnl_memory_desc_init_by_tag(&d.kernel, 4, w, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_primitive_attr_create(&attr) ||
        dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) ||
        dnnl_dilated_convolution_forward_desc_init(&fwd, dnnl_forward_training, dnnl_convolution_direct, &d.x,
                                                   &d.kernel, k->bias ? &d.bias : NULL, &d.y, d.strides, d.dilates,
                                                   d.pad_l, d.pad_r)) {
        dnnl_primitive_attr_destroy(attr);
        return NULL;
    }
    if (k->kind == FORWARD) {
        if (dnnl_primitive_desc_create(&pd, &fwd, attr, engine, NULL))
            pd = NULL;
    } else if (!dnnl_primitive_desc_create(&hint, &fwd, NULL, engine, NULL)) {
        int rc = k->kind == BACKWARD_DATA
                     ? dnnl_dilated_convolution_backward_data_desc_init(&op, dnnl_convolution_direct, &d.x, &d.kernel,
                                                                        &d.y, d.strides, d.dilates, d.pad_l, d.pad_r)
                     : dnnl_dilated_convolution_backward_weights_desc_init(
                           &op, dnnl_convolution_direct, &d.x, &d.kernel, k->bias ? &d.bias : NULL, &d.y, d.strides,
                           d.dilates, d.pad_l, d.pad_r);
        if (rc || dnnl_primitive_desc_create(&pd, &op, attr, engine, hint))
            pd = NULL;
        dnnl_primitive_desc_destroy(hint);
    }
    dnnl_primitive_attr_destroy(attr);
    return pd;
}

/* The reorder between HWIO and the kernel layout the primitive chose,
 * when they differ (into the entry's aux and aux_md); -1 when oneDNN
 * cannot make it. */
static int make_reorder(nnk_onednn_entry *e, const conv_key *k, const dnnl_primitive_desc_t pd, dnnl_engine_t engine)
{
    conv_mds d;
    const dnnl_memory_desc_t *chosen = dnnl_primitive_desc_query_md(
        pd, k->kind == BACKWARD_WEIGHTS ? dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
    if (!chosen || describe(k, &d))
        return -1;
    if (dnnl_memory_desc_equal(chosen, &d.kernel))
        return 0;
    e->aux_md = *chosen;
    e->aux_floats = (int64_t)((dnnl_memory_desc_get_size(chosen) + 3) / 4);
    dnnl_primitive_desc_t rpd = NULL;
    int rc = k->kind == BACKWARD_WEIGHTS
                 ? dnnl_reorder_primitive_desc_create(&rpd, chosen, engine, &d.kernel, engine, NULL)
                 : dnnl_reorder_primitive_desc_create(&rpd, &d.kernel, engine, chosen, engine, NULL);
    if (rc || dnnl_primitive_create(&e->aux, rpd))
        e->aux = NULL;
    if (rpd)
        dnnl_primitive_desc_destroy(rpd);
    return e->aux ? 0 : -1;
}

/* A key's entry: the convolution, and the kernel's reorder when the
 * primitive wants another layout. */
static void fill_entry(nnk_onednn_entry *e, const void *key, dnnl_engine_t engine)
{
    const conv_key *k = key;
    dnnl_primitive_desc_t pd = make_pd(k, engine);
    if (!pd)
        return;
    if (make_reorder(e, k, pd, engine)) {
        dnnl_primitive_desc_destroy(pd);
        return;
    }
    nnk__onednn_scratchpad(e, pd);
    if (dnnl_primitive_create(&e->primitive, pd))
        e->primitive = NULL;
    dnnl_primitive_desc_destroy(pd);
}

/* The tensors of one call as oneDNN memory objects: args[0..n) for the
 * primitive (the kernel's in the primitive's layout when it reorders),
 * then the scratchpad; *user, the caller's HWIO kernel, when a reorder
 * needs it. 0, or -1 when one cannot be made (those made are in mem). */
static int wrap(const nnk_onednn_entry *e, const conv_key *k, int n, const int *ids, void *const *data, dnnl_memory_t *mem,
                dnnl_exec_arg_t *args, dnnl_memory_t *user)
{
    conv_mds d;
    float *scratch = e->scratch_floats ? nnk__thread_workspace(2, e->scratch_floats) : NULL;
    float *blocked = e->aux ? nnk__thread_workspace(3, e->aux_floats) : NULL;
    dnnl_engine_t engine = nnk__onednn_engine();
    if (describe(k, &d) || (e->scratch_floats && !scratch) || (e->aux && !blocked))
        return -1;
    for (int i = 0; i < n; i++) {
        int kernel = ids[i] == DNNL_ARG_WEIGHTS || ids[i] == DNNL_ARG_DIFF_WEIGHTS;
        const dnnl_memory_desc_t *md = ids[i] == DNNL_ARG_SRC || ids[i] == DNNL_ARG_DIFF_SRC ? &d.x
                                       : ids[i] == DNNL_ARG_DST || ids[i] == DNNL_ARG_DIFF_DST ? &d.y
                                       : !kernel ? &d.bias
                                       : e->aux ? &e->aux_md : &d.kernel;
        if (dnnl_memory_create(&mem[i], md, engine, kernel && e->aux ? blocked : data[i]))
            return -1;
        args[i] = (dnnl_exec_arg_t){ids[i], mem[i]};
        if (kernel && e->aux && dnnl_memory_create(user, &d.kernel, engine, data[i]))
            return -1;
    }
    if (e->scratch_floats) {
        if (dnnl_memory_create(&mem[n], &e->scratch_md, engine, scratch))
            return -1;
        args[n] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, mem[n]};
    }
    return 0;
}

/* Runs the key's primitive on the given tensors (argument ids and data
 * pointers, n of them), with the kernel reordered in or out around it;
 * 0, or -1 when oneDNN declines or fails. */
static int execute(const conv_key *k, int n, const int *ids, void *const *data)
{
    nnk_onednn_entry own;
    int temporary, rc = -1;
    const nnk_onednn_entry *e = nnk__onednn_entry(k, sizeof *k, fill_entry, &own, &temporary);
    if (!e || !e->primitive) {
        if (e)
            nnk__onednn_drop(&own, temporary);
        return -1;
    }
    dnnl_stream_t stream = nnk__onednn_stream();
    dnnl_memory_t mem[6] = {NULL}, user = NULL;
    dnnl_exec_arg_t args[6];
    if (stream && !wrap(e, k, n, ids, data, mem, args, &user)) {
        int kernel = 0;
        while (ids[kernel] != DNNL_ARG_WEIGHTS && ids[kernel] != DNNL_ARG_DIFF_WEIGHTS)
            kernel++;
        dnnl_exec_arg_t into[2] = {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, mem[kernel]}};
        dnnl_exec_arg_t out_of[2] = {{DNNL_ARG_FROM, mem[kernel]}, {DNNL_ARG_TO, user}};
        int gradient = k->kind == BACKWARD_WEIGHTS;
        rc = e->aux && !gradient ? nnk__onednn_run(e->aux, stream, 2, into) : 0;
        rc = rc ? rc : nnk__onednn_run(e->primitive, stream, n + (e->scratch_floats > 0), args);
        rc = rc ? rc : e->aux && gradient ? nnk__onednn_run(e->aux, stream, 2, out_of) : 0;
    }
    for (int i = 0; i < 6; i++)
        if (mem[i])
            dnnl_memory_destroy(mem[i]);
    if (user)
        dnnl_memory_destroy(user);
    nnk__onednn_drop(&own, temporary);
    return rc;
}

static conv_key key_of(const nnk_conv2d_slice *c, int kind, int bias)
{
    conv_key k;
    memset(&k, 0, sizeof k); /* keys are compared byte for byte */
    k.shape = c->shape;
    k.pad_bottom = c->pad_bottom;
    k.pad_right = c->pad_right;
    k.kind = kind;
    k.bias = bias;
    k.first = c->first;
    k.threads = omp_get_max_threads();
    return k;
}

int nnk__onednn_conv_forward(const nnk_conv2d_slice *c, const float *x, const float *kernel, const float *bias,
                             float *y)
{
    const nnk_conv2d_shape *s = &c->shape;
    conv_key k = key_of(c, FORWARD, bias != NULL);
    int ids[] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS};
    void *data[] = {(void *)(x + c->first * s->in_h * s->in_w * s->in_c), (void *)kernel,
                    y + c->first * s->out_h * s->out_w * s->out_c, (void *)bias};
    return execute(&k, bias ? 4 : 3, ids, data);
}

int nnk__onednn_conv_backward_data(const nnk_conv2d_slice *c, const float *dy, const float *kernel, float *dx)
{
    const nnk_conv2d_shape *s = &c->shape;
    conv_key k = key_of(c, BACKWARD_DATA, 0);
    int ids[] = {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
    void *data[] = {(void *)(dy + c->first * s->out_h * s->out_w * s->out_c), (void *)kernel,
                    dx + c->first * s->in_h * s->in_w * s->in_c};
    return execute(&k, 3, ids, data);
}

int nnk__onednn_conv_backward_weights(const nnk_conv2d_slice *c, const float *x, const float *dy, float *dk,
                                      float *db)
{
    const nnk_conv2d_shape *s = &c->shape;
    conv_key k = key_of(c, BACKWARD_WEIGHTS, db != NULL);
    int ids[] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_BIAS};
    void *data[] = {(void *)(x + c->first * s->in_h * s->in_w * s->in_c),
                    (void *)(dy + c->first * s->out_h * s->out_w * s->out_c), dk, db};
    return execute(&k, db ? 4 : 3, ids, data);
}
