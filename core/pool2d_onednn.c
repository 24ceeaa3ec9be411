/* A block of samples of a pooling on oneDNN's JIT pooling primitives, on
 * the calling thread (its OpenMP team held at one thread): 3.5x the
 * host's loops on one thread (build/tools/bench_conv). x and y stay NHWC.
 * Average pooling excludes padding, as the contract says. Max pooling's
 * gradient runs the forward pass again to record where each maximum was
 * (oneDNN's workspace), then sends dy there; tests/test_compute.c checks
 * that this is the cell TensorFlow picks when values tie. Primitives are
 * kept by onednn.c, one per shape and block; oneDNN's own scratchpad mode
 * (pooling needs next to none). */
#include "compute.h"
#include <omp.h>
#include <string.h>

enum {
    MAX_FORWARD = NNK_POOL_MAX_FORWARD,
    AVERAGE_FORWARD = NNK_POOL_AVERAGE_FORWARD,
    MAX_BACKWARD = NNK_POOL_MAX_BACKWARD,
    AVERAGE_BACKWARD = NNK_POOL_AVERAGE_BACKWARD
};

typedef struct pool_key {
    nnk_pool2d_shape shape; /* batch: the block's samples */
    int64_t pad_bottom, pad_right;
    int64_t kind, first, threads;
} pool_key;

typedef struct pool_mds {
    dnnl_memory_desc_t x, y;
    dnnl_dims_t strides, window, dilation, pad_l, pad_r;
} pool_mds;

static int describe(const pool_key *k, pool_mds *d)
{
    const nnk_pool2d_shape *s = &k->shape;
    dnnl_dims_t x = {s->batch, s->channels, s->in_h, s->in_w}, y = {s->batch, s->channels, s->out_h, s->out_w};
    int64_t st[2] = {s->stride_h, s->stride_w}, w[2] = {s->pool_h, s->pool_w}, none[2] = {0, 0},
            l[2] = {s->pad_top, s->pad_left}, r[2] = {k->pad_bottom, k->pad_right};
    memcpy(d->strides, st, sizeof st);
    memcpy(d->window, w, sizeof w);
    memcpy(d->dilation, none, sizeof none);
    memcpy(d->pad_l, l, sizeof l);
    memcpy(d->pad_r, r, sizeof r);
    return dnnl_memory_desc_init_by_tag(&d->x, 4, x, dnnl_f32, dnnl_nhwc) ||
           dnnl_memory_desc_init_by_tag(&d->y, 4, y, dnnl_f32, dnnl_nhwc);
}

/* A forward pooling primitive descriptor (NULL when declined). */
static dnnl_primitive_desc_t forward_pd(const pool_key *k, const pool_mds *d, dnnl_prop_kind_t prop,
                                        dnnl_engine_t engine)
{
    dnnl_pooling_v2_desc_t op;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_alg_kind_t alg = k->kind == MAX_FORWARD || k->kind == MAX_BACKWARD ? dnnl_pooling_max
                                                                             : dnnl_pooling_avg_exclude_padding;
    if (dnnl_pooling_v2_forward_desc_init(&op, prop, alg, &d->x, &d->y, d->strides, d->window, d->dilation, d->pad_l,
                                          d->pad_r) ||
        dnnl_primitive_desc_create(&pd, &op, NULL, engine, NULL))
        return NULL;
    return pd;
}

/* A key's entry: the pass; for max pooling's gradient also the forward
 * pass that fills the workspace (aux, its workspace described by aux_md). */
static void fill_entry(nnk_onednn_entry *e, const void *key, dnnl_engine_t engine)
{
    const pool_key *k = key;
    pool_mds d;
    if (describe(k, &d))
        return;
    int backward = k->kind == MAX_BACKWARD || k->kind == AVERAGE_BACKWARD;
    dnnl_primitive_desc_t fwd = forward_pd(k, &d, backward ? dnnl_forward_training : dnnl_forward_inference, engine);
    dnnl_primitive_desc_t pd = NULL;
    dnnl_pooling_v2_desc_t op;
    if (fwd && backward &&
        !dnnl_pooling_v2_backward_desc_init(&op, k->kind == MAX_BACKWARD ? dnnl_pooling_max
                                                                         : dnnl_pooling_avg_exclude_padding,
                                            &d.x, &d.y, d.strides, d.window, d.dilation, d.pad_l, d.pad_r))
        (void)dnnl_primitive_desc_create(&pd, &op, NULL, engine, fwd);
    const dnnl_memory_desc_t *ws = fwd ? dnnl_primitive_desc_query_md(fwd, dnnl_query_workspace_md, 0) : NULL;
    if (k->kind == MAX_BACKWARD && ws && dnnl_memory_desc_get_size(ws) > 0 && pd &&
        !dnnl_primitive_create(&e->aux, fwd)) {
        e->aux_md = *ws;
        e->aux_floats = (int64_t)((dnnl_memory_desc_get_size(ws) + 3) / 4);
    }
    int ready = !backward ? fwd != NULL : k->kind == AVERAGE_BACKWARD ? pd != NULL : e->aux != NULL;
    if (ready && dnnl_primitive_create(&e->primitive, backward ? pd : fwd))
        e->primitive = NULL;
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (fwd)
        dnnl_primitive_desc_destroy(fwd);
}

/* Runs the key's pass: x and y (or dy and dx) at the block's first
 * sample; max pooling's gradient also reads x. 0, or -1 when oneDNN
 * declines or fails. */
int nnk__onednn_pool(const nnk_pool2d_shape *s, int64_t pad_bottom, int64_t pad_right, int kind, int64_t first,
                     const float *x, const float *dy, float *y, float *dx)
{
    pool_key k;
    memset(&k, 0, sizeof k); /* keys are compared byte for byte */
    k.shape = *s;
    k.pad_bottom = pad_bottom;
    k.pad_right = pad_right;
    k.kind = kind;
    k.first = first;
    k.threads = omp_get_max_threads();
    nnk_onednn_entry own;
    int temporary, rc = -1;
    const nnk_onednn_entry *e = nnk__onednn_entry(&k, sizeof k, fill_entry, &own, &temporary);
    pool_mds d;
    dnnl_stream_t stream = e && e->primitive ? nnk__onednn_stream() : NULL;
    dnnl_engine_t engine = nnk__onednn_engine();
    dnnl_memory_t mx = NULL, my = NULL, mws = NULL;
    int64_t xo = first * s->in_h * s->in_w * s->channels, yo = first * s->out_h * s->out_w * s->channels;
    float *ws = kind == MAX_BACKWARD ? nnk__thread_workspace(3, e ? e->aux_floats : 0) : NULL;
    float *ytmp = kind == MAX_BACKWARD ? nnk__thread_workspace(2, s->batch * s->out_h * s->out_w * s->channels) : NULL;
    if (stream && !describe(&k, &d) && (kind != MAX_BACKWARD || (ws && ytmp))) {
        int back = kind == MAX_BACKWARD || kind == AVERAGE_BACKWARD;
        if (!dnnl_memory_create(&mx, &d.x, engine, back ? (void *)(dx + xo) : (void *)(x + xo)) &&
            !dnnl_memory_create(&my, &d.y, engine, back ? (void *)(dy + yo) : (void *)(y + yo)) &&
            (kind != MAX_BACKWARD || !dnnl_memory_create(&mws, &e->aux_md, engine, ws))) {
            dnnl_exec_arg_t fwd[2] = {{DNNL_ARG_SRC, mx}, {DNNL_ARG_DST, my}};
            dnnl_exec_arg_t bwd[3] = {{DNNL_ARG_DIFF_DST, my}, {DNNL_ARG_DIFF_SRC, mx}, {DNNL_ARG_WORKSPACE, mws}};
            rc = back ? 0 : nnk__onednn_run(e->primitive, stream, 2, fwd);
            if (kind == MAX_BACKWARD) { /* the forward pass, into ytmp, records where the maxima are */
                dnnl_memory_t in = NULL, out = NULL;
                rc = dnnl_memory_create(&in, &d.x, engine, (void *)(x + xo)) ||
                     dnnl_memory_create(&out, &d.y, engine, ytmp);
                dnnl_exec_arg_t rec[3] = {{DNNL_ARG_SRC, in}, {DNNL_ARG_DST, out}, {DNNL_ARG_WORKSPACE, mws}};
                rc = rc ? -1 : nnk__onednn_run(e->aux, stream, 3, rec);
                if (in)
                    dnnl_memory_destroy(in);
                if (out)
                    dnnl_memory_destroy(out);
            }
            if (back && !rc)
                rc = nnk__onednn_run(e->primitive, stream, kind == MAX_BACKWARD ? 3 : 2, bwd);
        }
    }
    if (mx)
        dnnl_memory_destroy(mx);
    if (my)
        dnnl_memory_destroy(my);
    if (mws)
        dnnl_memory_destroy(mws);
    if (e)
        nnk__onednn_drop(&own, temporary);
    return rc ? -1 : 0;
}
