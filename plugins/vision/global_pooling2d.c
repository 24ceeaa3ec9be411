/* global_average_pooling2d and global_max_pooling2d: Keras's
 * GlobalAveragePooling2D and GlobalMaxPooling2D, channels last: each
 * channel's mean or maximum over all rows and columns. keepdims keeps the
 * sample (1, 1, channels) instead of (channels). The maximum's gradient is
 * shared equally among the cells that hold it, as TensorFlow's
 * reduce_max and PyTorch's amax do when values tie. */
#include "vision.h"
#include <stddef.h>
#include <string.h>

typedef struct global_config {
    int keepdims;
} global_config;

static const nnk_param_spec global_params[] = {
    {"keepdims", NNK_PARAM_BOOL, "false", 0, 0, NULL, "keep the sample (1, 1, channels) rather than (channels)",
     offsetof(global_config, keepdims)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
};

static int global_build(nnk_layer *layer, int n_in, const nnk_shape *in, nnk_shape *out, nnk_err *err)
{
    (void)n_in;
    const global_config *c = layer->config;
    if (image_input(layer, &in[0], err))
        return err->status;
    *out = c->keepdims ? (nnk_shape){3, {1, 1, in[0].dim[2]}} : (nnk_shape){1, {in[0].dim[2]}};
    return NNK_OK;
}

/* Rows, cells per sample and channels of an image batch. */
static void image_dims(const nnk_tensor *x, int64_t *rows, int64_t *cells, int64_t *ch)
{
    *rows = x->shape[0], *cells = x->shape[1] * x->shape[2], *ch = x->shape[3];
}

static int average_forward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, nnk_tensor *out, int training,
                           nnk_err *err)
{
    (void)layer, (void)n_in, (void)training, (void)err;
    int64_t rows, cells, ch;
    image_dims(in[0], &rows, &cells, &ch);
    for (int64_t r = 0; r < rows; r++) {
        const float *x = in[0]->data + r * cells * ch;
        float *y = out->data + r * ch;
        for (int64_t k = 0; k < ch; k++) {
            double sum = 0; /* summed in double: a 7x7 map or a 224x224 one alike */
            for (int64_t i = 0; i < cells; i++)
                sum += x[i * ch + k];
            y[k] = (float)(sum / (double)cells);
        }
    }
    return NNK_OK;
}

static int average_backward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                            const nnk_tensor *dout, nnk_tensor *const *din, nnk_err *err)
{
    (void)layer, (void)n_in, (void)out, (void)err;
    if (!din[0])
        return NNK_OK;
    int64_t rows, cells, ch;
    image_dims(in[0], &rows, &cells, &ch);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < cells; i++)
            for (int64_t k = 0; k < ch; k++)
                din[0]->data[(r * cells + i) * ch + k] = (float)(dout->data[r * ch + k] / (double)cells);
    return NNK_OK;
}

static int max_forward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, nnk_tensor *out, int training,
                       nnk_err *err)
{
    (void)layer, (void)n_in, (void)training, (void)err;
    int64_t rows, cells, ch;
    image_dims(in[0], &rows, &cells, &ch);
    for (int64_t r = 0; r < rows; r++) {
        const float *x = in[0]->data + r * cells * ch;
        float *y = out->data + r * ch;
        memcpy(y, x, sizeof(float) * (size_t)ch);
        for (int64_t i = 1; i < cells; i++)
            for (int64_t k = 0; k < ch; k++)
                y[k] = x[i * ch + k] > y[k] ? x[i * ch + k] : y[k];
    }
    return NNK_OK;
}

/* dx = dy / (how many cells hold the maximum) at those cells, else 0. */
static int max_backward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                        const nnk_tensor *dout, nnk_tensor *const *din, nnk_err *err)
{
    (void)n_in;
    if (!din[0])
        return NNK_OK;
    int64_t rows, cells, ch;
    image_dims(in[0], &rows, &cells, &ch);
    float *ties = vision_host->layer_scratch(layer, 0, ch);
    if (!ties)
        return vision_host->err_set(err, NNK_ENOMEM, "layer '%s': out of memory", layer->name);
    for (int64_t r = 0; r < rows; r++) {
        const float *x = in[0]->data + r * cells * ch, *y = out->data + r * ch, *dy = dout->data + r * ch;
        float *dx = din[0]->data + r * cells * ch;
        memset(ties, 0, sizeof(float) * (size_t)ch);
        for (int64_t i = 0; i < cells; i++)
            for (int64_t k = 0; k < ch; k++)
                ties[k] += x[i * ch + k] == y[k];
        for (int64_t i = 0; i < cells; i++)
            for (int64_t k = 0; k < ch; k++)
                dx[i * ch + k] = x[i * ch + k] == y[k] ? dy[k] / ties[k] : 0.0f;
    }
    return NNK_OK;
}

/* ONNX: ReduceMean or ReduceMax over rows and columns (kept as 1 x 1),
 * flattened to (channels) unless keepdims; C: loops. */
static int global_export_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, const char *op,
                              const char *input, const char **output, nnk_err *err)
{
    const char *reduced = NULL;
    int rc = global_onnx(layer, h, x, op, input, &reduced, err);
    if (rc || ((const global_config *)layer->config)->keepdims) {
        *output = reduced;
        return rc;
    }
    const char *names[] = {"axis"};
    const double one[] = {1};
    const int is_int[] = {1};
    *output = h->onnx_node(x, "Flatten", (const char *const[]){reduced, NULL}, NULL, 1, names, one, is_int);
    return *output ? NNK_OK : NNK_ENOMEM;
}

static int average_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                        const char *const *inputs, const nnk_shape *in_shapes, const nnk_shape *out_shape,
                        const char **output, nnk_err *err)
{
    (void)n_in, (void)in_shapes, (void)out_shape;
    return global_export_onnx(layer, h, x, "ReduceMean", inputs[0], output, err);
}

static int max_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                    const char *const *inputs, const nnk_shape *in_shapes, const nnk_shape *out_shape,
                    const char **output, nnk_err *err)
{
    (void)n_in, (void)in_shapes, (void)out_shape;
    return global_export_onnx(layer, h, x, "ReduceMax", inputs[0], output, err);
}

static int average_c(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                     const char *const *inputs, const nnk_shape *in_shapes, const char *output,
                     const nnk_shape *out_shape, nnk_err *err)
{
    (void)layer, (void)n_in, (void)out_shape, (void)err;
    global_c(h, x, &in_shapes[0], 0, inputs[0], output);
    return NNK_OK;
}

static int max_c(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                 const char *const *inputs, const nnk_shape *in_shapes, const char *output,
                 const nnk_shape *out_shape, nnk_err *err)
{
    (void)layer, (void)n_in, (void)out_shape, (void)err;
    global_c(h, x, &in_shapes[0], 1, inputs[0], output);
    return NNK_OK;
}

EXPORT_EXTENSION(max)
EXPORT_EXTENSION(average)

const nnk_layer_vtable global_average_pooling2d_layer = {
    .struct_size = sizeof(nnk_layer_vtable),
    .name = "global_average_pooling2d",
    .doc = "Each channel's mean over the image, like Keras's GlobalAveragePooling2D.",
    .params = global_params,
    .config_size = sizeof(global_config),
    .min_inputs = 1,
    .max_inputs = 1,
    .build = global_build,
    .forward = average_forward,
    .backward = average_backward,
    .extension = average_extension,
};

const nnk_layer_vtable global_max_pooling2d_layer = {
    .struct_size = sizeof(nnk_layer_vtable),
    .name = "global_max_pooling2d",
    .doc = "Each channel's maximum over the image, like Keras's GlobalMaxPooling2D.",
    .params = global_params,
    .config_size = sizeof(global_config),
    .min_inputs = 1,
    .max_inputs = 1,
    .build = global_build,
    .forward = max_forward,
    .backward = max_backward,
    .extension = max_extension,
};
