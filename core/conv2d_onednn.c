/* A slice of a convolution on oneDNN's convolution primitives, on the
 * calling thread (whose OpenMP team nnkit holds at one thread). The
 * primitives read and write x and y in nnkit's NHWC; the kernel goes in
 * the layout oneDNN's JIT convolution asks for (blocked by 16 or 32
 * channels), reordered from and to Keras's HWIO around each call (a
 * kernel is small beside the activations): with HWIO as given, oneDNN
 * falls back to its own im2col and gemm, measured 1.3-2.6x slower
 * (build/tools/bench_conv). A primitive is made once per shape and slice
 * of the batch and kept: two threads running one primitive at once ran
 * 2.4x slower than each running its own (cnn_conv1's forward pass). The
 * cache keeps the first CACHE_SIZE; a call of any other shape makes its
 * primitive and drops it after, which oneDNN's own primitive cache makes
 * cheap. A primitive's scratchpad is the calling thread's workspace. */
#include "compute.h"
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <pthread.h>
#include <string.h>

#define CACHE_SIZE 256

enum { FORWARD, BACKWARD_DATA, BACKWARD_WEIGHTS };

typedef struct conv_key {
    nnk_conv2d_shape shape;
    int64_t pad_bottom, pad_right;
    int kind, bias;
    int64_t first; /* the slice's first sample: each slice its own primitive */
    int64_t threads; /* the OpenMP team a primitive is made for (oneDNN fixes it then) */
} conv_key;

typedef struct conv_entry {
    conv_key key;
    dnnl_primitive_t primitive; /* NULL: oneDNN declined the shape */
    int64_t scratch_floats;
    dnnl_memory_desc_t scratch_md; /* as the primitive asked for it */
    /* the kernel (or its gradient) in the primitive's layout, and the
     * reorder to it from HWIO (from it, for the gradient); NULL: HWIO */
    dnnl_primitive_t reorder;
    dnnl_memory_desc_t kernel_md;
    int64_t kernel_floats;
} conv_entry;

static struct {
    pthread_mutex_t lock;
    dnnl_engine_t engine;
    int engine_failed;
    conv_entry entries[CACHE_SIZE];
    int used; /* entries filled; never emptied, so an entry's primitive lives as long as the process */
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

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
 * when they differ; -1 when oneDNN cannot make it. */
static int make_reorder(conv_entry *e, const dnnl_primitive_desc_t pd)
{
    conv_mds d;
    const dnnl_memory_desc_t *chosen =
        dnnl_primitive_desc_query_md(pd, e->key.kind == BACKWARD_WEIGHTS ? dnnl_query_diff_weights_md
                                                                        : dnnl_query_weights_md, 0);
    if (!chosen || describe(&e->key, &d))
        return -1;
    if (dnnl_memory_desc_equal(chosen, &d.kernel))
        return 0;
    e->kernel_md = *chosen;
    e->kernel_floats = (int64_t)((dnnl_memory_desc_get_size(chosen) + 3) / 4);
    dnnl_primitive_desc_t rpd = NULL;
    int rc = e->key.kind == BACKWARD_WEIGHTS
                 ? dnnl_reorder_primitive_desc_create(&rpd, chosen, cache.engine, &d.kernel, cache.engine, NULL)
                 : dnnl_reorder_primitive_desc_create(&rpd, &d.kernel, cache.engine, chosen, cache.engine, NULL);
    if (rc || dnnl_primitive_create(&e->reorder, rpd))
        e->reorder = NULL;
    if (rpd)
        dnnl_primitive_desc_destroy(rpd);
    return e->reorder ? 0 : -1;
}

static void fill_entry(conv_entry *e, const conv_key *k)
{
    memset(e, 0, sizeof *e);
    e->key = *k;
    dnnl_primitive_desc_t pd = make_pd(k, cache.engine);
    if (!pd)
        return;
    if (make_reorder(e, pd)) {
        dnnl_primitive_desc_destroy(pd);
        return;
    }
    const dnnl_memory_desc_t *scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    e->scratch_floats = scratch ? (int64_t)((dnnl_memory_desc_get_size(scratch) + 3) / 4) : 0;
    if (scratch)
        e->scratch_md = *scratch;
    if (dnnl_primitive_create(&e->primitive, pd))
        e->primitive = NULL;
    dnnl_primitive_desc_destroy(pd);
}

/* The entry for a key: the cached one, made when missing; when the cache
 * is full, *own, made for this call (*temporary set: the caller destroys
 * its primitive). NULL when there is no engine. */
static const conv_entry *entry_for(const conv_key *k, conv_entry *own, int *temporary)
{
    *temporary = 0;
    pthread_mutex_lock(&cache.lock);
    const conv_entry *found = NULL;
    for (int i = 0; i < cache.used && !found; i++)
        if (!memcmp(&cache.entries[i].key, k, sizeof *k))
            found = &cache.entries[i];
    if (!found && !cache.engine && !cache.engine_failed)
        cache.engine_failed = dnnl_engine_create(&cache.engine, dnnl_cpu, 0) != dnnl_success;
    if (!found && !cache.engine_failed) {
        conv_entry *e = cache.used < CACHE_SIZE ? &cache.entries[cache.used++] : own;
        fill_entry(e, k);
        *temporary = e == own;
        found = e;
    }
    pthread_mutex_unlock(&cache.lock);
    return found;
}

/* The calling thread's stream on the engine, made on its first call. */
static pthread_key_t stream_key;
static pthread_once_t stream_once = PTHREAD_ONCE_INIT;
static void stream_free(void *s) { dnnl_stream_destroy(s); }
static void make_stream_key(void) { (void)pthread_key_create(&stream_key, stream_free); }

static dnnl_stream_t thread_stream(void)
{
    pthread_once(&stream_once, make_stream_key);
    dnnl_stream_t s = pthread_getspecific(stream_key);
    if (!s && (dnnl_stream_create(&s, cache.engine, dnnl_stream_default_flags) ||
               pthread_setspecific(stream_key, s))) {
        if (s)
            dnnl_stream_destroy(s);
        return NULL;
    }
    return s;
}

/* Runs a primitive to completion on the calling thread's stream. */
static int run(dnnl_primitive_t p, dnnl_stream_t stream, int n, const dnnl_exec_arg_t *args)
{
    return dnnl_primitive_execute(p, stream, n, args) || dnnl_stream_wait(stream) ? -1 : 0;
}

/* The tensors of one call as oneDNN memory objects: args[0..n) for the
 * primitive (the kernel's in the primitive's layout when it reorders),
 * then the scratchpad; *user, the caller's HWIO kernel, when a reorder
 * needs it. 0, or -1 when one cannot be made (those made are in mem). */
static int wrap(const conv_entry *e, int n, const int *ids, void *const *data, dnnl_memory_t *mem,
                dnnl_exec_arg_t *args, dnnl_memory_t *user)
{
    conv_mds d;
    float *scratch = e->scratch_floats ? nnk__thread_workspace(2, e->scratch_floats) : NULL;
    float *blocked = e->reorder ? nnk__thread_workspace(3, e->kernel_floats) : NULL;
    if (describe(&e->key, &d) || (e->scratch_floats && !scratch) || (e->reorder && !blocked))
        return -1;
    for (int i = 0; i < n; i++) {
        int kernel = ids[i] == DNNL_ARG_WEIGHTS || ids[i] == DNNL_ARG_DIFF_WEIGHTS;
        const dnnl_memory_desc_t *md = ids[i] == DNNL_ARG_SRC || ids[i] == DNNL_ARG_DIFF_SRC ? &d.x
                                       : ids[i] == DNNL_ARG_DST || ids[i] == DNNL_ARG_DIFF_DST ? &d.y
                                       : !kernel ? &d.bias
                                       : e->reorder ? &e->kernel_md : &d.kernel;
        if (dnnl_memory_create(&mem[i], md, cache.engine, kernel && e->reorder ? blocked : data[i]))
            return -1;
        args[i] = (dnnl_exec_arg_t){ids[i], mem[i]};
        if (kernel && e->reorder && dnnl_memory_create(user, &d.kernel, cache.engine, data[i]))
            return -1;
    }
    if (e->scratch_floats) {
        if (dnnl_memory_create(&mem[n], &e->scratch_md, cache.engine, scratch))
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
    conv_entry own;
    int temporary, rc = -1;
    const conv_entry *e = entry_for(k, &own, &temporary);
    if (!e || !e->primitive)
        return -1;
    dnnl_stream_t stream = thread_stream();
    dnnl_memory_t mem[6] = {NULL}, user = NULL;
    dnnl_exec_arg_t args[6];
    if (stream && !wrap(e, n, ids, data, mem, args, &user)) {
        int kernel = 0;
        while (ids[kernel] != DNNL_ARG_WEIGHTS && ids[kernel] != DNNL_ARG_DIFF_WEIGHTS)
            kernel++;
        dnnl_exec_arg_t into[2] = {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, mem[kernel]}};
        dnnl_exec_arg_t out_of[2] = {{DNNL_ARG_FROM, mem[kernel]}, {DNNL_ARG_TO, user}};
        int gradient = k->kind == BACKWARD_WEIGHTS;
        rc = e->reorder && !gradient ? run(e->reorder, stream, 2, into) : 0;
        rc = rc ? rc : run(e->primitive, stream, n + (e->scratch_floats > 0), args);
        rc = rc ? rc : e->reorder && gradient ? run(e->reorder, stream, 2, out_of) : 0;
    }
    for (int i = 0; i < 6; i++)
        if (mem[i])
            dnnl_memory_destroy(mem[i]);
    if (user)
        dnnl_memory_destroy(user);
    if (temporary) {
        dnnl_primitive_destroy(own.primitive);
        if (own.reorder)
            dnnl_primitive_destroy(own.reorder);
    }
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
