/* The host's compute capabilities, inside the core: the 2-D convolution
 * (conv2d.c cuts the batch into slices and hands each to one of the two
 * implementations below, which run a slice on the calling thread alone),
 * pooling (pool2d.c) and batch normalization's passes (norm.c). */
#ifndef NNK_COMPUTE_H
#define NNK_COMPUTE_H
#include "internal.h"

/* A slice of a convolution: the whole call's shape with batch set to the
 * slice's samples, the padding after the input (conv2d.c worked it out),
 * and the slice's first sample in the call's tensors. */
typedef struct nnk_conv2d_slice {
    nnk_conv2d_shape shape;
    int64_t pad_bottom, pad_right;
    int64_t first;
} nnk_conv2d_slice;

/* Checks a shape against the contract; sets the implied padding after.
 * nnk__window_check is the same for any sliding window (pooling too):
 * messages begin with op and call the window `window`. */
int nnk__conv2d_check(const nnk_conv2d_shape *s, int64_t *pad_bottom, int64_t *pad_right, nnk_err *err);
int nnk__window_check(const nnk_conv2d_shape *s, const char *op, const char *window, int64_t *pad_bottom,
                      int64_t *pad_right, nnk_err *err);

/* A buffer of at least n floats that belongs to the calling thread, one
 * per slot, grown as needed and kept for the thread's next call (NULL when
 * memory runs out). */
float *nnk__thread_workspace(int slot, int64_t n);

/* The slice's part of the call, at the call's tensors' base addresses (the
 * slice offsets them); 0, or -1 when out of memory. backward_weights
 * writes the slice's own gradient (not accumulated): kernel into dk,
 * bias into db when not NULL. */
int nnk__im2col_conv_forward(const nnk_conv2d_slice *c, const float *x, const float *kernel, const float *bias,
                             float *y);
int nnk__im2col_conv_backward_data(const nnk_conv2d_slice *c, const float *dy, const float *kernel, float *dx);
int nnk__im2col_conv_backward_weights(const nnk_conv2d_slice *c, const float *x, const float *dy, float *dk,
                                      float *db);

#ifdef NNK_BACKEND_ONEDNN
#include <oneapi/dnnl/dnnl.h>

/* onednn.c: primitives made once per key and kept. An entry holds a
 * primitive (NULL: oneDNN declined the key), an auxiliary one run with it
 * (the convolution's kernel reorder, max pooling's forward pass that
 * records where each maximum was) and the sizes of what they need. */
#define NNK_ONEDNN_KEY_BYTES 192
typedef struct nnk_onednn_entry {
    unsigned char key[NNK_ONEDNN_KEY_BYTES];
    dnnl_primitive_t primitive, aux;
    dnnl_memory_desc_t scratch_md, aux_md; /* the scratchpad; the auxiliary's tensor */
    int64_t scratch_floats, aux_floats;
} nnk_onednn_entry;
typedef void (*nnk_onednn_fill)(nnk_onednn_entry *e, const void *key, dnnl_engine_t engine);
/* The entry for a key (size bytes, compared byte for byte: zero a key's
 * padding), filled by fill when new; when the cache is full, *own, made
 * for this call (*temporary set: hand it to nnk__onednn_drop after). NULL
 * when there is no engine. */
const nnk_onednn_entry *nnk__onednn_entry(const void *key, size_t size, nnk_onednn_fill fill, nnk_onednn_entry *own,
                                          int *temporary);
void nnk__onednn_drop(nnk_onednn_entry *own, int temporary);
/* Records a primitive descriptor's scratchpad in an entry. */
void nnk__onednn_scratchpad(nnk_onednn_entry *e, const_dnnl_primitive_desc_t pd);
dnnl_engine_t nnk__onednn_engine(void);
dnnl_stream_t nnk__onednn_stream(void); /* the calling thread's; NULL on failure */
/* Runs a primitive to completion; 0, or -1. */
int nnk__onednn_run(dnnl_primitive_t p, dnnl_stream_t stream, int n, const dnnl_exec_arg_t *args);

/* The same on oneDNN's primitives; -1 when oneDNN declines or fails (the
 * caller then runs im2col). */
int nnk__onednn_conv_forward(const nnk_conv2d_slice *c, const float *x, const float *kernel, const float *bias,
                             float *y);
int nnk__onednn_conv_backward_data(const nnk_conv2d_slice *c, const float *dy, const float *kernel, float *dx);
int nnk__onednn_conv_backward_weights(const nnk_conv2d_slice *c, const float *x, const float *dy, float *dk,
                                      float *db);
#endif

#ifdef NNK_BACKEND_ONEDNN
/* pool2d_onednn.c: one pass of pooling (NNK_POOL_*) over the samples
 * [first, first + s->batch) of the call's tensors, on oneDNN's pooling
 * primitives; 0, or -1 when oneDNN declines or fails (the caller then
 * runs its loops). */
int nnk__onednn_pool(const nnk_pool2d_shape *s, int64_t pad_bottom, int64_t pad_right, int kind, int64_t first,
                     const float *x, const float *dy, float *y, float *dx);
#endif
enum { NNK_POOL_MAX_FORWARD, NNK_POOL_AVERAGE_FORWARD, NNK_POOL_MAX_BACKWARD, NNK_POOL_AVERAGE_BACKWARD };

extern const nnk_host_conv2d nnk__host_conv2d;
extern const nnk_host_pool2d nnk__host_pool2d;         /* pool2d.c */
extern const nnk_host_batchnorm nnk__host_batchnorm;   /* norm.c */
#endif
