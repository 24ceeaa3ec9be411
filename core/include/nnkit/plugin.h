/* nnkit plugin ABI: the only header a plugin author includes.
 *
 * A plugin is a shared object exporting exactly one symbol, the record
 * `nnkit_plugin` that NNK_PLUGIN(init) defines: the ABI version the plugin
 * was built for, the sizeof of every ABI struct as its compiler saw them,
 * and its init function. The loader reads and checks the record before any
 * plugin code runs (init included), then calls init once, under the
 * registry lock, with a table of host services, and gets back an immutable
 * descriptor listing the plugin's components (layers, activations, losses,
 * metrics, optimizers, callbacks). Each component is validated before it is
 * registered: its struct_size, its required functions, and every
 * parameter's offset inside its config struct.
 *
 * Versioning (GStreamer's rule): the core loads a plugin only when its
 * abi_major equals NNK_ABI_MAJOR and its abi_minor is <= the core's (it
 * also loads plugins built for ABI 2.0 and 2.1, see below). Every struct
 * here carries struct_size and only ever grows at the end; the test suite
 * pins sizeof/offsetof so a change forces a deliberate bump.
 *
 * Optional capabilities (ABI 3): the base vtables hold only what every
 * component of a kind must have. Anything more (exporting itself, a fused
 * training step, taking part in data-parallel sums) is a capability: a
 * small versioned struct that the component's extension(name) returns for
 * the capability's name, NULL for names it does not know (in the spirit
 * of LV2's extension_data). The core and the tools ask by name and use a
 * capability when it is there. The names nnkit knows are the NNK_CAP_*
 * below; a name ends in /VERSION, and a new version is a new name.
 *
 * ABI 2.x plugins still load: the core reads their vtables by ABI 2.0's
 * layout (the prefix every ABI 3 vtable shares) and gives them ABI 2.1's
 * host table. Of what 2.1 appended it keeps NNK_METRIC_SUMS (as the
 * nnkit.dp.sums/1 capability) and layer_allreduce; their fused SGD and
 * export hooks are not used (rebuild against this header to export).
 *
 * Errors cross the boundary in a caller-owned nnk_err filled through
 * host->err_set(). Plugins never exit, abort on user input, or print.
 */
#ifndef NNKIT_PLUGIN_H
#define NNKIT_PLUGIN_H

#include "status.h"
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNK_ABI_MAJOR 3
#define NNK_ABI_MINOR 1
#define NNK_MAX_DIMS 4
#define NNK_MAX_WEIGHTS 8

#define NNK_PLUGIN_SYMBOL nnkit_plugin
#define NNK_PLUGIN_SYMBOL_NAME "nnkit_plugin"
#define NNK_PLUGIN_MAGIC 0x504b4e4eu /* "NNKP" */
/* Per-sample shape (the batch dimension is not included). */
typedef struct nnk_shape {
    int ndim;
    int64_t dim[NNK_MAX_DIMS];
} nnk_shape;

/* A float32 tensor; shape[0] is the number of rows (samples). The data is
 * contiguous, row-major. Who owns data is stated wherever a tensor is
 * handed over; tensors given to plugin callbacks are always borrowed. */
typedef struct nnk_tensor {
    int ndim;
    int64_t shape[NNK_MAX_DIMS];
    float *data;
} nnk_tensor;

/* Whether the ABI struct *p (any struct that starts with struct_size) is
 * large enough to hold `field`: the one check before reading a field that
 * a later minor appended, wherever the struct came from (a plugin's
 * vtable built for an older minor, an older host table). p must not be
 * NULL. */
#define NNK_HAS(p, field) \
    ((p)->struct_size >= (size_t)((const char *)&(p)->field - (const char *)(p)) + sizeof((p)->field))

/* A component's (or the host's) capability `name`, or NULL when it has
 * none (or no extension function at all). vt is any vtable or the host
 * table. */
#define NNK_CAPABILITY(vt, name) ((vt)->extension ? (vt)->extension(name) : NULL)

/* The capabilities nnkit asks for. Each names one struct per kind of
 * component that offers it (defined further down). */
#define NNK_CAP_EXPORT_ONNX "nnkit.export.onnx/1"   /* layers, activations: nnk_*_export_onnx */
#define NNK_CAP_EXPORT_C "nnkit.export.c/1"         /* layers, activations: nnk_*_export_c */
#define NNK_CAP_FUSED_SGD "nnkit.train.fused_sgd/1" /* layers, optimizers: nnk_*_fused_sgd */
#define NNK_CAP_DP_ALLREDUCE "nnkit.dp.allreduce/1" /* the host: nnk_host_allreduce */
#define NNK_CAP_DP_SUMS "nnkit.dp.sums/1"           /* metrics: nnk_metric_sums */
#define NNK_CAP_METRIC_BIND "nnkit.metric.bind/1"   /* metrics: nnk_metric_bind */
#define NNK_CAP_METRIC_VALUES "nnkit.metric.values/1" /* metrics: nnk_metric_values */
#define NNK_CAP_METRIC_DIRECTION "nnkit.metric.direction/1" /* metrics: nnk_metric_direction */
#define NNK_CAP_LOG_DIRECTION "nnkit.model.log_direction/1" /* the host: nnk_host_log_direction */
#define NNK_CAP_CLASS_THRESHOLD "nnkit.metric.class_threshold/1" /* activations: nnk_activation_threshold */
#define NNK_CAP_CONV2D "nnkit.compute.conv2d/1"   /* the host: nnk_host_conv2d */
#define NNK_CAP_POOL2D "nnkit.compute.pool2d/1"   /* the host: nnk_host_pool2d */
#define NNK_CAP_BATCHNORM "nnkit.compute.batchnorm/1" /* the host: nnk_host_batchnorm */

/* ---- checked sizes of shapes and tensors (through nnk_size_mul, status.h) */

/* The number of values of a shape (the product of its dimensions; 1 for
 * no dimension), or -1 when ndim is out of range, a dimension is negative
 * or the product passes NNK_MAX_ELEMENTS. nnk_check_sample_shape says whether a shape
 * is a valid sample's. */
static inline int64_t nnk_shape_elements(const nnk_shape *s)
{
    int64_t n = 1;
    if (s->ndim < 0 || s->ndim > NNK_MAX_DIMS)
        return -1;
    for (int d = 0; d < s->ndim; d++)
        if (nnk_size_mul(n, s->dim[d], &n))
            return -1;
    return n;
}

/* A per-sample shape is 1 to NNK_MAX_DIMS - 1 dimensions (a batch adds
 * one), each at least 1, with at most NNK_MAX_ELEMENTS values: 0 when it
 * is, -1 when not. */
static inline int nnk_check_sample_shape(const nnk_shape *s)
{
    if (s->ndim < 1 || s->ndim > NNK_MAX_DIMS - 1)
        return -1;
    for (int d = 0; d < s->ndim; d++)
        if (s->dim[d] < 1)
            return -1;
    return nnk_shape_elements(s) < 0 ? -1 : 0;
}

/* The same for a tensor. */
static inline int64_t nnk_tensor_elements(const nnk_tensor *t)
{
    int64_t n = 1;
    if (t->ndim < 0 || t->ndim > NNK_MAX_DIMS)
        return -1;
    for (int d = 0; d < t->ndim; d++)
        if (nnk_size_mul(n, t->shape[d], &n))
            return -1;
    return n;
}

/* ---- hyper-parameters: data, not parsing code ------------------------- */

typedef enum nnk_param_type {
    NNK_PARAM_INT,        /* stored as int64_t */
    NNK_PARAM_FLOAT,      /* stored as double */
    NNK_PARAM_BOOL,       /* stored as int (0 or 1); accepts true/false/1/0 */
    NNK_PARAM_STRING,     /* stored as const char *, owned by the core */
    NNK_PARAM_CHOICE,     /* stored as const char *, one of choices[] */
    NNK_PARAM_ACTIVATION, /* stored as const char *, an activation name; the
                             core applies that activation after the layer's
                             forward and before its backward */
    NNK_PARAM_INTS,       /* (ABI 3.1) stored as nnk_ints: 1 to NNK_MAX_DIMS
                             integers, written "3", "3,3" or "(3, 3)"; min
                             and max bound each value, and the component
                             checks how many it takes (Keras's kernel_size,
                             strides, target_shape) */
} nnk_param_type;

/* The value of an NNK_PARAM_INTS parameter: n values in v[0..n). */
typedef struct nnk_ints {
    int64_t n;
    int64_t v[NNK_MAX_DIMS];
} nnk_ints;

/* One parameter of a component. The core parses the user's text, checks
 * min/max (inclusive, for INT, INTS and FLOAT) and choices, and stores the typed
 * value at `offset` inside the component's config struct (config_size
 * bytes, zeroed first). default_value is text parsed by the same rules.
 * Arrays of specs end with an entry whose name is NULL. */
typedef struct nnk_param_spec {
    const char *name;
    nnk_param_type type;
    const char *default_value;
    double min, max;
    const char *const *choices; /* NULL-terminated, for CHOICE */
    const char *doc;
    size_t offset;
} nnk_param_spec;

/* ---- host services ------------------------------------------------------ */

typedef struct nnk_rng nnk_rng; /* a reproducible random stream */
typedef struct nnk_layer nnk_layer;
/* The model being trained, as callbacks see it (read through the host's
 * model_* services). Valid for the duration of the callback event. */
typedef struct nnk_model_view nnk_model_view;

/* Which data a callback asks for. */
typedef enum nnk_split {
    NNK_SPLIT_TRAIN, NNK_SPLIT_VALIDATION, NNK_SPLIT_TEST
} nnk_split;

/* One layer of the model, for callbacks (all pointers borrowed from the
 * model; valid during the event). */
typedef struct nnk_layer_info {
    size_t struct_size;
    const char *name;
    const char *type;           /* the layer component's name */
    const char *activation;     /* NULL when the layer has none */
    int n_inputs;
    const char *const *inputs;  /* names of layers or model inputs */
    nnk_shape output;           /* per sample */
    int n_weights;
    const struct nnk_weight *weights;
} nnk_layer_info;

typedef struct nnk_host {
    size_t struct_size;
    int abi_major, abi_minor;
    void *(*alloc)(size_t size);              /* NULL on failure */
    void *(*alloc_zeroed)(size_t n, size_t size);
    void (*free)(void *p);                    /* free(NULL) is a no-op */
    /* Fills err (printf-style); returns status so callers can
     * `return host->err_set(err, NNK_ECONFIG, ...)`. err may be NULL. */
    int (*err_set)(nnk_err *err, nnk_status status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    /* C = alpha * op(A) * op(B) + beta * C, row-major, op = transpose when
     * trans_* is non-zero. Runs on the host's BLAS. */
    void (*sgemm)(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                  float alpha, const float *a, int64_t lda, const float *b,
                  int64_t ldb, float beta, float *c, int64_t ldc);
    uint64_t (*rng_next)(nnk_rng *rng);   /* 64 uniform random bits */
    double (*rng_uniform)(nnk_rng *rng);  /* in [0, 1) */
    double (*rng_normal)(nnk_rng *rng);   /* standard normal */
    /* Declares a trainable tensor of `layer` during build(). initializer is
     * one of glorot_uniform, glorot_normal, he_normal, he_uniform,
     * lecun_normal, lecun_uniform, zeros, ones; fan_in/fan_out feed it.
     * Returns the weight's index, or -1 with err set. */
    int (*layer_add_weight)(nnk_layer *layer, const char *name,
                            const nnk_shape *shape, const char *initializer,
                            int64_t fan_in, int64_t fan_out, nnk_err *err);
    /* Scratch memory that lives until the layer is destroyed, grown as
     * needed; slot in [0, 8). Returns NULL when out of memory. */
    float *(*layer_scratch)(nnk_layer *layer, int slot, int64_t n_floats);
    /* Like layer_add_weight, for non-trainable state (see nnk_weight). */
    int (*layer_add_state)(nnk_layer *layer, const char *name,
                           const nnk_shape *shape, const char *initializer,
                           nnk_err *err);

    /* ---- model introspection for callbacks (model from nnk_train_info) */
    int (*model_layer_count)(const nnk_model_view *m);
    /* Fills *out for layer i (in model order); -1 when i is out of range. */
    int (*model_layer)(const nnk_model_view *m, int i, nnk_layer_info *out);
    /* The name and per-sample shape of model input i (Sequential models
     * have one, index 0); -1 when i is out of range. */
    int (*model_input)(const nnk_model_view *m, int i, const char **name,
                       nnk_shape *shape);
    /* Rows of a split (0 when it was not given). */
    int64_t (*model_rows)(const nnk_model_view *m, nnk_split split);
    /* Copies rows [first, first+n) of a split, preprocessed as the model
     * sees them, into x (n x input features) and, when y is not NULL, their
     * labels (n x label columns). */
    int (*model_sample)(const nnk_model_view *m, nnk_split split, int64_t first,
                        int64_t n, float *x, float *y, nnk_err *err);
    int64_t (*model_label_cols)(const nnk_model_view *m);
    /* A class name for class k, or NULL when the data has none. */
    const char *(*model_class_name)(const nnk_model_view *m, int64_t k);
    /* Inference on x (rows samples): copies the output of layer `layer`
     * (its activation applied) into out (rows x that layer's size). */
    int (*model_layer_output)(nnk_model_view *m, const float *x, int64_t rows,
                              int layer, float *out, nnk_err *err);
    /* Gradients of the loss on (x, y) into every weight's grad, without
     * changing any weight. */
    int (*model_gradients)(nnk_model_view *m, const float *x, const float *y,
                           int64_t rows, nnk_err *err);
    /* The Keras-style summary table as text (caller frees with free()). */
    char *(*model_summary)(const nnk_model_view *m);
    /* Saves the model atomically to path (weights_only: without the
     * optimizer's state). */
    int (*model_save)(const nnk_model_view *m, const char *path, int weights_only,
                      nnk_err *err);
    /* A one-line note for the user (the host decides where it goes; the
     * runner writes "nnkit: note: ..." to stderr). Plugins never print. */
    void (*note)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
    /* Asks for the whole state of the fit in progress (model, optimizer,
     * random streams, data order, position, callbacks' states) to be
     * written atomically to path once every callback has handled the
     * current EPOCH_END or BATCH_END. */
    int (*fit_backup)(nnk_model_view *m, const char *path, nnk_err *err);
    /* The host's optional services by capability name (NNK_CAP_DP_ALLREDUCE,
     * NNK_CAP_CONV2D, NNK_CAP_POOL2D, NNK_CAP_BATCHNORM). */
    const void *(*extension)(const char *name);
} nnk_host;

/* nnkit.dp.allreduce/1, the host's: in a data-parallel training step,
 * layer_allreduce sums n values over the processes in place and returns
 * how many took part; anywhere else (one process, inference, outside fit)
 * leaves them and returns 1; negative with err set when the sum fails.
 * Every process calls it at the same point of the same step (a layer whose
 * statistics span the global batch, as synchronized batch normalization).
 * There, each process's dout is the gradient of its own rows' mean loss;
 * the core weights the processes' gradients by rows / global rows. */
typedef struct nnk_host_allreduce {
    size_t struct_size;
    int (*layer_allreduce)(nnk_layer *layer, double *values, int64_t n, nnk_err *err);
} nnk_host_allreduce;

/* nnkit.model.log_direction/1, the host's: whether log `name` (as
 * nnk_train_info names it, val_ or not) is better higher on model m (1) or
 * lower (0): every loss lower, a metric by its nnkit.metric.direction/1,
 * anything else by Keras's name rule (higher for names with "acc" or
 * "auc"). What mode = auto asks. */
typedef struct nnk_host_log_direction {
    size_t struct_size;
    int (*higher_is_better)(const nnk_model_view *m, const char *name);
} nnk_host_log_direction;

/* nnkit.compute.conv2d/1, the host's: 2-D convolution on the compute
 * backend (oneDNN's convolution primitives, or im2col and the backend's
 * gemm), on the host's threads, for layers that convolve (a plugin never
 * links either library). Channels last, as Keras:
 *   x      batch x in_h x in_w x in_c
 *   kernel kernel_h x kernel_w x in_c x out_c (Keras's kernel layout)
 *   y      batch x out_h x out_w x out_c
 * Output row i reads input rows i*stride_h - pad_top + j*dilation_h for
 * j < kernel_h (columns likewise); positions outside the input read zero.
 * The padding after the input is implied: out_h must equal (in_h + pad_top
 * + pad_bottom - (kernel_h-1)*dilation_h - 1) / stride_h + 1 for some
 * pad_bottom in [0, (kernel_h-1)*dilation_h] (columns likewise). Keras's
 * valid: pads 0, out = (in - (k-1)*d - 1) / stride + 1; same: out =
 * ceil(in / stride), pad_top = max((out-1)*stride + (k-1)*d + 1 - in, 0)
 * / 2, the odd row at the bottom, as TensorFlow pads.
 * Every size and padding is below 2^30 and each tensor's element count
 * fits in int64. Each call returns NNK_OK; NNK_ESHAPE with err set for a
 * shape that is not a convolution or breaks these bounds (nothing
 * written); NNK_ENOMEM. Results are the same at the same thread count and
 * backend. */
typedef struct nnk_conv2d_shape {
    int64_t batch, in_h, in_w, in_c;
    int64_t out_h, out_w, out_c;
    int64_t kernel_h, kernel_w;
    int64_t stride_h, stride_w;     /* >= 1 */
    int64_t dilation_h, dilation_w; /* >= 1 */
    int64_t pad_top, pad_left;      /* >= 0, at most (kernel - 1) * dilation */
} nnk_conv2d_shape;

typedef struct nnk_host_conv2d {
    size_t struct_size;
    /* y = conv(x, kernel) + bias (bias NULL: none). */
    int (*forward)(const nnk_conv2d_shape *s, const float *x, const float *kernel, const float *bias, float *y,
                   nnk_err *err);
    /* dx = the gradient of sum(dy * y) with respect to x (overwritten). */
    int (*backward_data)(const nnk_conv2d_shape *s, const float *dy, const float *kernel, float *dx, nnk_err *err);
    /* dkernel = alpha * g + beta * dkernel, g the gradient of sum(dy * y)
     * with respect to the kernel (alpha = -lr, beta = 1, dkernel = kernel
     * is a plain SGD step); dbias, when not NULL, likewise with dy summed
     * over batch, rows and columns. */
    int (*backward_weights)(const nnk_conv2d_shape *s, const float *x, const float *dy, float alpha, float beta,
                            float *dkernel, float *dbias, nnk_err *err);
} nnk_host_conv2d;

/* nnkit.compute.pool2d/1, the host's: 2-D max and average pooling,
 * channels last (x: batch x in_h x in_w x channels, y: batch x out_h x
 * out_w x channels), on the host's threads. Windows, strides, the output
 * size and the padding before the input follow nnk_conv2d_shape's rules
 * (pool as the kernel, no dilation), so Keras's valid and same both fit.
 * A window reads only real cells, never padding: max takes the largest of
 * them, average divides by how many there are (TensorFlow's SAME). Max
 * pooling's gradient goes to the first cell holding the window's maximum,
 * scanning top row first, left to right, which is where TensorFlow's CPU
 * kernel sends it when values tie. Returns NNK_OK; NNK_ESHAPE with err
 * set (nothing written); NNK_ENOMEM. */
typedef struct nnk_pool2d_shape {
    int64_t batch, in_h, in_w, channels;
    int64_t out_h, out_w;
    int64_t pool_h, pool_w;
    int64_t stride_h, stride_w;
    int64_t pad_top, pad_left;
} nnk_pool2d_shape;

typedef struct nnk_host_pool2d {
    size_t struct_size;
    int (*max_forward)(const nnk_pool2d_shape *s, const float *x, float *y, nnk_err *err);
    /* dx (overwritten) from x and dy */
    int (*max_backward)(const nnk_pool2d_shape *s, const float *x, const float *dy, float *dx, nnk_err *err);
    int (*average_forward)(const nnk_pool2d_shape *s, const float *x, float *y, nnk_err *err);
    int (*average_backward)(const nnk_pool2d_shape *s, const float *dy, float *dx, nnk_err *err);
} nnk_host_pool2d;

/* nnkit.compute.batchnorm/1, the host's: the passes of batch
 * normalization over x, n rows of c channels (any layout whose last axis
 * is the channel: a dense layer's rows, or every pixel of NHWC images), in
 * blocks of rows on the host's threads. Sums are in double, added block by
 * block in order, so a thread count gives one result. A layer keeps its
 * own moving statistics and takes part in data-parallel sums between
 * these passes (nnkit.dp.allreduce/1). */
typedef struct nnk_host_batchnorm {
    size_t struct_size;
    /* sum[j] = the sum over rows of x[i][j], or with center not NULL of
     * (x[i][j] - center[j])^2. NNK_OK, or NNK_ENOMEM with err set. */
    int (*channel_sums)(int64_t n, int64_t c, const float *x, const double *center, double *sum, nnk_err *err);
    /* sum_dy[j] = the sum of dy[i][j]; sum_dy_xhat[j] = of dy[i][j]
     * xhat[i][j]. NNK_OK, or NNK_ENOMEM with err set. */
    int (*gradient_sums)(int64_t n, int64_t c, const float *dy, const float *xhat, double *sum_dy,
                         double *sum_dy_xhat, nnk_err *err);
    /* xhat = (x - mean) inv, y = gamma xhat + beta (per channel); the
     * difference is taken in float against mean as two floats, within an
     * ulp of (float)(x - mean). From ABI 3.1 xhat may be NULL: only y is
     * written. */
    void (*normalize)(int64_t n, int64_t c, const float *x, const double *mean, const float *inv,
                      const float *gamma, const float *beta, float *xhat, float *y);
    /* dx = (float)(p dy + q + r xhat), in double (per channel). */
    void (*input_gradient)(int64_t n, int64_t c, const float *dy, const float *xhat, const double *p,
                           const double *q, const double *r, float *dx);
    /* ABI 3.1: both moments in one pass over x: sum[j] = the sum over rows
     * of d = x[i][j] - shift[j] and sum_sq[j] = of d^2. A shift near the
     * mean (any row of x) keeps sum_sq / n - (sum / n)^2 exact to double
     * rounding. NNK_OK, or NNK_ENOMEM with err set. */
    int (*moment_sums)(int64_t n, int64_t c, const float *x, const double *shift, double *sum, double *sum_sq,
                       nnk_err *err);
} nnk_host_batchnorm;

/* ---- layers ---------------------------------------------------------- */

/* A tensor declared by a layer. value and grad share a shape. Trainable
 * weights are updated by the optimizer from grad; state (trainable 0, such
 * as moving averages) is only changed by the layer itself. Both are saved
 * with the model. */
typedef struct nnk_weight {
    const char *name;
    nnk_tensor value;
    nnk_tensor grad;
    int trainable;
    /* Regularization the layer asks for (set after layer_add_weight): the
     * core adds l1 * sum|w| + l2 * sum w^2 to the loss and its gradient. */
    float l1, l2;
} nnk_weight;

/* A layer instance, owned by the core. Plugins read config and weights and
 * may keep private data in `state` (they own it, and free it in destroy). */
struct nnk_layer {
    size_t struct_size;
    const char *name;   /* the node's name in the model */
    const void *config; /* the filled config struct, read-only */
    void *state;
    nnk_rng *rng;       /* this layer's own random stream */
    int n_weights;
    nnk_weight weights[NNK_MAX_WEIGHTS];
    const char *const *input_names; /* n_in names of layers or model inputs,
                                       for error messages */
};

/* ---- the exporter's services ----------------------------------------------
 * nnkit export asks each layer and activation of a model for its export
 * capability (NNK_CAP_EXPORT_ONNX, NNK_CAP_EXPORT_C) and hands it these
 * services; built-in and third-party components go through the same door.
 * A component without the capability a format needs makes the export fail
 * with a line naming it. Each exporter fills its own format's services;
 * the others are NULL. Names a component passes (stems) are 1 to 16
 * letters, digits or '_'. */
typedef struct nnk_exporter nnk_exporter; /* the export in progress */
typedef struct nnk_export_host {
    size_t struct_size;
    /* ONNX (opset 17): a fresh value name, "<node>/<stem>_<serial>". */
    const char *(*onnx_value)(nnk_exporter *x, const char *stem);
    /* ONNX: a float constant of shape dims (ndim 0: a scalar) named like
     * onnx_value(stem); returns its name, NULL when out of memory. */
    const char *(*onnx_constant)(nnk_exporter *x, const char *stem, const float *values, const int64_t *dims,
                                 int ndim);
    /* ONNX: a node op_type of the default domain over the named inputs
     * (NULL-terminated), into output when it is not NULL (else a fresh
     * value), with n_attrs attributes, each a float or (is_int) an integer;
     * returns the output's name, NULL when out of memory. */
    const char *(*onnx_node)(nnk_exporter *x, const char *op_type, const char *const *inputs, const char *output,
                             int n_attrs, const char *const *attr_names, const double *attr_values,
                             const int *attr_is_int);
    /* C: a static const float array of n values; returns its identifier:
     * the export's prefix, stem and the node's index ("model_w3"), or with
     * stem NULL the next of p0, p1, ...; NULL when out of memory. */
    const char *(*c_array)(nnk_exporter *x, const char *stem, const float *values, int64_t n);
    /* C: text for the body of the predict function (printf-style, whole
     * statements; float, double and libm are there). */
    void (*c_code)(nnk_exporter *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
    /* C: the loop that replaces each of the n floats of array, v, by the
     * float expression expr of v. */
    void (*c_elementwise)(nnk_exporter *x, const char *array, int64_t n, const char *expr);
    /* C: v as a float literal that reads back to v exactly ("0.2f",
     * "1.0f") into buf. */
    void (*c_float)(float v, char *buf, size_t n);
    /* (ABI 3.1) ONNX: an int64 constant, as onnx_constant (a shape for
     * Reshape, axes); check NNK_HAS(h, onnx_int64_constant). */
    const char *(*onnx_int64_constant)(nnk_exporter *x, const char *stem, const int64_t *values,
                                       const int64_t *dims, int ndim);
    /* (ABI 3.1) ONNX: as onnx_node, with n_attrs integer-list attributes
     * (attribute k: counts[k] values, at most 64, at values[k]), as
     * Conv's kernel_shape, strides, pads and dilations or Transpose's
     * perm; check NNK_HAS(h, onnx_node_ints). */
    const char *(*onnx_node_ints)(nnk_exporter *x, const char *op_type, const char *const *inputs, const char *output,
                                  int n_attrs, const char *const *attr_names, const int64_t *const *values,
                                  const int *counts);
} nnk_export_host;

typedef struct nnk_layer_vtable {
    size_t struct_size;
    const char *name;
    const char *doc;
    const nnk_param_spec *params;
    size_t config_size;
    int min_inputs, max_inputs;
    /* Shape inference: in[0..n_in) are per-sample input shapes. Sets *out
     * and declares weights via host->layer_add_weight. Errors name the
     * layer (the core adds the neighbours' names for mismatches). */
    int (*build)(nnk_layer *layer, int n_in, const nnk_shape *in,
                 nnk_shape *out, nnk_err *err);
    /* out has the batch rows and the built output shape, allocated by the
     * core. `training` is non-zero during fit. */
    int (*forward)(nnk_layer *layer, int n_in, const nnk_tensor *const *in,
                   nnk_tensor *out, int training, nnk_err *err);
    /* Given dout = dL/dout, writes dL/d(weight) into weights[i].grad
     * (overwriting) and dL/din[i] into din[i] when din[i] is not NULL. */
    int (*backward)(nnk_layer *layer, int n_in, const nnk_tensor *const *in,
                    const nnk_tensor *out, const nnk_tensor *dout,
                    nnk_tensor *const *din, nnk_err *err);
    void (*destroy)(nnk_layer *layer); /* may be NULL */
    /* Optional (Keras's adapt): before the first fit, the core passes the
     * layer's input over the whole training split in batches, then once
     * more with batch NULL and final 1. Used to fit statistics into state
     * weights; a model loaded from a file is not adapted again. */
    int (*adapt)(nnk_layer *layer, const nnk_tensor *batch, int final,
                 nnk_err *err);
    /* Optional capabilities by name (NNK_CAP_*), or NULL: none. */
    const void *(*extension)(const char *name);
} nnk_layer_vtable;

/* nnkit.export.onnx/1, a layer's: adds ONNX nodes, in inference mode,
 * from its inputs' values (named in inputs, per-sample shapes in
 * in_shapes; the batch comes first) and sets *output to the value that
 * holds the layer's output (before its activation), of per-sample shape
 * out_shape. */
typedef struct nnk_layer_export_onnx {
    size_t struct_size;
    int (*export_onnx)(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                       const char *const *inputs, const nnk_shape *in_shapes, const nnk_shape *out_shape,
                       const char **output, nnk_err *err);
} nnk_layer_export_onnx;

/* nnkit.export.c/1, a layer's: writes C that fills the float array named
 * output (one sample, out_shape) from the arrays named in inputs (one
 * sample each, in_shapes), in inference mode. */
typedef struct nnk_layer_export_c {
    size_t struct_size;
    int (*export_c)(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                    const char *const *inputs, const nnk_shape *in_shapes, const char *output,
                    const nnk_shape *out_shape, nnk_err *err);
} nnk_layer_export_c;

/* nnkit.train.fused_sgd/1, a layer's: backward_sgd is backward that, for
 * each trainable weight, applies plain SGD itself, value -= learning_rate
 * * dL/dvalue, instead of writing its grad (a gemm-based layer folds the
 * update into its weight-gradient product: alpha = -rate, beta = 1).
 * Input gradients use the weights from before the update. The core calls
 * it for a step whose optimizer update is exactly that (the optimizer's
 * own fused_sgd says so) with no clipping or regularization in between. */
typedef struct nnk_layer_fused_sgd {
    size_t struct_size;
    int (*backward_sgd)(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                        const nnk_tensor *dout, nnk_tensor *const *din, float learning_rate, nnk_err *err);
} nnk_layer_fused_sgd;

/* ---- activations (element-wise; softmax row-wise) ----------------------- */

typedef struct nnk_activation_vtable {
    size_t struct_size;
    const char *name;
    const char *doc;
    const nnk_param_spec *params;
    size_t config_size;
    int differentiable; /* 0 for step functions: backward gives zeros */
    void (*forward)(const void *config, const float *z, float *a,
                    int64_t rows, int64_t cols);
    /* dz = da * phi'(z), given z and a = phi(z). dz may alias da. */
    void (*backward)(const void *config, const float *z, const float *a,
                     const float *da, float *dz, int64_t rows, int64_t cols);
    /* Optional capabilities by name (NNK_CAP_*), or NULL: none. */
    const void *(*extension)(const char *name);
} nnk_activation_vtable;

/* nnkit.export.onnx/1, an activation's: adds ONNX nodes from the value
 * input into the value output (per-sample shape `shape`). Its errors say
 * what cannot be mapped; the exporter adds the layer's name. */
typedef struct nnk_activation_export_onnx {
    size_t struct_size;
    int (*export_onnx)(const void *config, const nnk_export_host *h, nnk_exporter *x, const char *input,
                       const char *output, const nnk_shape *shape, nnk_err *err);
} nnk_activation_export_onnx;

/* nnkit.export.c/1, an activation's: writes C that applies it in place to
 * the n floats (one sample's outputs) of the array named array (for an
 * element-wise one, h->c_elementwise does it). */
typedef struct nnk_activation_export_c {
    size_t struct_size;
    int (*export_c)(const void *config, const nnk_export_host *h, nnk_exporter *x, const char *array, int64_t n,
                    nnk_err *err);
} nnk_activation_export_c;

/* nnkit.metric.class_threshold/1, an activation's: a one-unit output with
 * this activation and two classes separates them at `threshold` (0 for
 * sign and tanh with -1/+1 labels), so "accuracy" compares there instead
 * of at 0.5. */
typedef struct nnk_activation_threshold {
    size_t struct_size;
    double threshold;
} nnk_activation_threshold;

/* ---- losses ------------------------------------------------------------ */

typedef enum nnk_label_kind {
    NNK_LABELS_DENSE,  /* y has the same columns as the prediction */
    NNK_LABELS_SPARSE, /* y has one column: a class index */
} nnk_label_kind;

typedef struct nnk_loss_vtable {
    size_t struct_size;
    const char *name;
    const char *doc;
    const nnk_param_spec *params;
    size_t config_size;
    nnk_label_kind labels;
    /* Mean loss over the rows into *loss; when grad is not NULL also
     * dL/dpred of that mean. Fails (EDATA) on labels out of range. */
    int (*compute)(const void *config, const float *pred, const float *y,
                   int64_t rows, int64_t cols, double *loss, float *grad,
                   nnk_err *err);
    /* Optional fused form: when the output layer's activation is
     * `fused_activation`, the core passes the logits instead, for a
     * numerically stable loss and dL/dlogits. */
    const char *fused_activation;
    int (*compute_from_logits)(const void *config, const float *logits,
                               const float *y, int64_t rows, int64_t cols,
                               double *loss, float *grad, nnk_err *err);
    /* The metric that "accuracy" means with this loss (Keras's rule), or
     * NULL when accuracy makes no sense. */
    const char *accuracy_metric;
    /* Optional capabilities by name, or NULL: none. */
    const void *(*extension)(const char *name);
} nnk_loss_vtable;

/* ---- metrics (streaming over batches) ----------------------------------- */

typedef struct nnk_metric_vtable {
    size_t struct_size;
    const char *name;
    const char *doc;
    const nnk_param_spec *params;
    size_t config_size;
    size_t state_size; /* zeroed by the core at every reset */
    void (*update)(const void *config, void *state, const float *pred,
                   const float *y, int64_t rows, int64_t cols);
    double (*result)(const void *config, const void *state);
    /* Optional capabilities by name (NNK_CAP_DP_SUMS), or NULL: none. */
    const void *(*extension)(const char *name);
} nnk_metric_vtable;

/* nnkit.dp.sums/1, a metric's: its state is state_size / sizeof(double)
 * doubles, each a sum over the rows seen, so the states of several shards
 * of the data combine by adding them and the metric works in data-parallel
 * training. Nothing to call: having it says so. */
typedef struct nnk_metric_sums {
    size_t struct_size;
} nnk_metric_sums;

/* nnkit.metric.bind/1, a metric's: bind runs once the output's shape is
 * known (when the model is built or loaded), before any update. It checks
 * the config against cols output columns whose labels have label_cols
 * columns (cols, or 1 for class indices under a sparse loss), may note
 * both in its config (fields no parameter names), and sets *state_size,
 * which then replaces the vtable's state_size. NNK_OK, or NNK_ECONFIG
 * with err set to a message naming the parameter. */
typedef struct nnk_metric_bind {
    size_t struct_size;
    int (*bind)(void *config, int64_t cols, int64_t label_cols, size_t *state_size, nnk_err *err);
} nnk_metric_bind;

/* nnkit.metric.values/1, a metric's: with some configs it gives several
 * numbers in place of result's one (Keras's vector results: one per class,
 * one per threshold). Each becomes a log of its own, named
 * "<metric>_<suffix>", in the history, the CSV, TensorBoard and wherever
 * a log can be monitored.
 *   count: how many values this config gives, asked after bind; 1 means
 *     result alone is used, as for a metric without the capability; at
 *     most NNK_MAX_METRIC_VALUES.
 *   suffix: writes value i's suffix into buf (n bytes): 1 to 24 of
 *     A-Z a-z 0-9 . -, different for each i (the core refuses others).
 *   results: writes the count values of state into values. */
#define NNK_MAX_METRIC_VALUES 128
typedef struct nnk_metric_values {
    size_t struct_size;
    int (*count)(const void *config);
    void (*suffix)(const void *config, int i, char *buf, size_t n);
    void (*results)(const void *config, const void *state, double *values);
} nnk_metric_values;

/* nnkit.metric.direction/1, a metric's: which way is better, for mode =
 * auto wherever a log is monitored (callbacks, sweeps): higher_is_better
 * is 1 (accuracy, precision) or 0 (an error, false positives), for every
 * value the metric logs. Nothing to call: its value says. Without it, auto
 * falls back to Keras's name rule (maximise names with "acc" or "auc"). */
typedef struct nnk_metric_direction {
    size_t struct_size;
    int higher_is_better;
} nnk_metric_direction;

/* ---- optimizers ---------------------------------------------------------- */

/* The perceptron rule: training goes sample by sample, and the error
 * signal yhat - y is fed straight into the output layer's pre-activation
 * (step functions have no gradient), so a plain step w -= lr * g gives
 * w <- w + lr (y - yhat) x. */
#define NNK_OPT_PERCEPTRON 1u

typedef struct nnk_optimizer_vtable {
    size_t struct_size;
    const char *name;
    const char *doc;
    const nnk_param_spec *params;
    size_t config_size;
    int n_slots;    /* state tensors per weight, same size, zero-started */
    unsigned flags; /* NNK_OPT_* */
    /* One update of n floats. iteration counts from 1. */
    void (*step)(const void *config, double learning_rate, int64_t iteration,
                 float *w, const float *g, float *const *slots, int64_t n);
    /* The learning rate when the user gives none (0: 0.01). */
    double default_learning_rate;
    /* Optional capabilities by name (NNK_CAP_FUSED_SGD), or NULL: none. */
    const void *(*extension)(const char *name);
} nnk_optimizer_vtable;

/* nnkit.train.fused_sgd/1, an optimizer's: plain(config) is non-zero when,
 * with this config, step is exactly w <- w - learning_rate * g and keeps
 * no state, so that layers with their own fused_sgd may apply it during
 * backward. */
typedef struct nnk_optimizer_fused_sgd {
    size_t struct_size;
    int (*plain)(const void *config);
} nnk_optimizer_fused_sgd;

/* ---- callbacks ------------------------------------------------------ */

typedef enum nnk_event {
    NNK_TRAIN_BEGIN, NNK_TRAIN_END,
    NNK_EPOCH_BEGIN, NNK_EPOCH_END,
    NNK_BATCH_BEGIN, NNK_BATCH_END,
    /* After TRAIN_END, when the application has saved the run's results
     * (nnk_callbacks_run_saved; only when fit ran with keep_backups): a
     * backup kept past TRAIN_END may go now. Only run_dir is set. Callbacks
     * ignore events they do not know. */
    NNK_RUN_SAVED,
} nnk_event;

/* A fit logs at most NNK_MAX_LOGS values (its logs and their val_ twins),
 * each named in at most NNK_LOG_NAME_MAX - 1 bytes; a model whose logs
 * would not fit is refused when it is built. */
#define NNK_MAX_LOGS 512
#define NNK_LOG_NAME_MAX 64

/* What the training loop tells callbacks. logs holds loss, metrics and, at
 * epoch end with validation data, val_loss and val_<metric>; during an
 * epoch the running means so far. Setting *stop ends training after the
 * current batch; *learning_rate may be read and set. */
typedef struct nnk_train_info {
    size_t struct_size;
    int64_t epoch, epochs;      /* epoch counts from 0 */
    int64_t batch, steps;       /* batch within the epoch, batches per epoch */
    int64_t samples;            /* training samples per epoch */
    int n_logs;
    const char *const *log_names;
    const double *log_values;
    double *learning_rate;
    int *stop;
    const char *run_dir;        /* where the run writes its files, or NULL */
    double epoch_seconds;       /* at EPOCH_END: the epoch's wall time */
    nnk_model_view *model;      /* see host->model_* */
    const char *experiment;     /* the resolved experiment file, or NULL */
    int n_hparams;              /* the hyper-parameters the run was given, */
    const char *const *hparam_names;  /* as "section.key" = text */
    const char *const *hparam_values;
    int64_t global_batch;       /* batches trained so far in this fit */
    int n_log_names;            /* every name log_names will hold in this fit
                                   (train and val_), valid from TRAIN_BEGIN, so
                                   callbacks can check what they monitor */
    int resumed;                /* this fit continues from a backup: at
                                   TRAIN_BEGIN, files a callback wrote before
                                   are continued, not started again (its
                                   load_state follows TRAIN_BEGIN) */
    int keep_backup;            /* the application saves results after fit
                                   and then fires NNK_RUN_SAVED: backups stay
                                   at TRAIN_END and go at RUN_SAVED */
    /* Data-parallel training on `size` processes, this one `rank`
     * (0..size-1). Every process sees the same logs and makes the same
     * decisions; only rank 0 writes files. */
    int rank, size;
} nnk_train_info;

typedef struct nnk_callback_vtable {
    size_t struct_size;
    const char *name;
    const char *doc;
    const nnk_param_spec *params;
    size_t config_size;
    int (*create)(const void *config, void **state, nnk_err *err);
    int (*on_event)(void *state, nnk_event event, const nnk_train_info *info,
                    nnk_err *err);
    void (*destroy)(void *state); /* may be NULL */
    /* Optional, for backup_and_restore: the callback's state as bytes
     * (allocated with host->alloc; the core frees them) and back. */
    int (*save_state)(void *state, uint8_t **bytes, size_t *n, nnk_err *err);
    int (*load_state)(void *state, const uint8_t *bytes, size_t n, nnk_err *err);
    /* Optional: a callback that keeps backups names the file it keeps for
     * a run directory; when that file exists, fit resumes from it. */
    int (*backup_path)(void *state, const char *run_dir, char *path, size_t n);
    /* Optional capabilities by name, or NULL: none. */
    const void *(*extension)(const char *name);
} nnk_callback_vtable;

/* ---- the descriptor ------------------------------------------------------- */

typedef struct nnk_plugin {
    size_t struct_size;
    int abi_major, abi_minor;
    const char *name;
    const char *version; /* "MAJOR.MINOR.PATCH" */
    const char *doc;
    /* NULL-terminated arrays; any may be NULL */
    const nnk_layer_vtable *const *layers;
    const nnk_activation_vtable *const *activations;
    const nnk_loss_vtable *const *losses;
    const nnk_metric_vtable *const *metrics;
    const nnk_optimizer_vtable *const *optimizers;
    const nnk_callback_vtable *const *callbacks;
} nnk_plugin;

/* A plugin's init: returns the descriptor, or NULL with err set when the
 * plugin cannot initialise. host stays valid while it is loaded. */
typedef const nnk_plugin *(*nnk_plugin_init_fn)(const nnk_host *host,
                                                nnk_err *err);

/* The sizeof of every struct that crosses the boundary, as one compiler saw
 * them: the loader compares the plugin's with its own, so headers from
 * another nnkit, or other packing settings, are caught before init. */
typedef struct nnk_abi_sizes {
    uint32_t err, shape, tensor, param_spec, host, layer_info, weight, layer, train_info, plugin;
    uint32_t layer_vtable, activation_vtable, loss_vtable, metric_vtable, optimizer_vtable, callback_vtable;
} nnk_abi_sizes;

#define NNK_ABI_SIZES                                                                                         \
    {                                                                                                         \
        sizeof(nnk_err), sizeof(nnk_shape), sizeof(nnk_tensor), sizeof(nnk_param_spec), sizeof(nnk_host),     \
            sizeof(nnk_layer_info), sizeof(nnk_weight), sizeof(nnk_layer), sizeof(nnk_train_info),            \
            sizeof(nnk_plugin), sizeof(nnk_layer_vtable), sizeof(nnk_activation_vtable),                      \
            sizeof(nnk_loss_vtable), sizeof(nnk_metric_vtable), sizeof(nnk_optimizer_vtable),                 \
            sizeof(nnk_callback_vtable)                                                                       \
    }

/* The one exported symbol, read before any plugin code runs. */
typedef struct nnk_plugin_record {
    uint32_t magic; /* NNK_PLUGIN_MAGIC */
    uint32_t abi_major, abi_minor;
    nnk_abi_sizes sizes;
    nnk_plugin_init_fn init;
} nnk_plugin_record;

/* Defines the record; write it once per plugin, at file scope:
 *     static const nnk_plugin *my_init(const nnk_host *host, nnk_err *err) { ... }
 *     NNK_PLUGIN(my_init); */
#define NNK_PLUGIN(init_fn)                                                                                   \
    NNK_EXPORT extern const nnk_plugin_record NNK_PLUGIN_SYMBOL;                                              \
    const nnk_plugin_record NNK_PLUGIN_SYMBOL = {NNK_PLUGIN_MAGIC, NNK_ABI_MAJOR, NNK_ABI_MINOR, NNK_ABI_SIZES, \
                                                 init_fn}

#ifdef __cplusplus
}
#endif
#endif
