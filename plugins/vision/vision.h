/* nnkit-vision: convolutional layers (conv2d, max_pooling2d,
 * average_pooling2d, global_average_pooling2d, global_max_pooling2d),
 * written as any third-party plugin is, against nnkit/plugin.h alone: the
 * arithmetic runs on the host's compute capabilities (nnkit.compute.conv2d/1,
 * nnkit.compute.pool2d/1). Samples are images, channels last (rows,
 * columns, channels), as Keras's default data_format. Shared between the
 * plugin's source files only. */
#ifndef NNKIT_PLUGIN_VISION_H
#define NNKIT_PLUGIN_VISION_H
#include <nnkit/plugin.h>
#include <string.h>

extern const nnk_host *vision_host;

/* A window's geometry along one axis. */
typedef struct window_axis {
    int64_t in, size, stride, dilation; /* size: the kernel's or the pool's */
    int64_t out, pad_before;
} window_axis;

/* Keras's padding: `valid` (windows inside the input only) or `same`
 * (out = ceil(in / stride), padded evenly with the odd row or column
 * after, as TensorFlow). Sets out and pad_before; 0, or -1 when no
 * window fits (valid with a window larger than the input). */
int window_fit(window_axis *a, int same);

/* The value of a 1-or-2-integer parameter along axis k (0: rows, 1:
 * columns): one value serves both. */
int64_t pair_at(const nnk_ints *v, int k);

/* Checks that a layer's input is an image (3 axes) and that each pair
 * parameter has 1 or 2 values; 0, or an error naming the layer. */
int image_input(const nnk_layer *layer, const nnk_shape *in, nnk_err *err);
int pair_param(const nnk_layer *layer, const char *what, const nnk_ints *v, nnk_err *err);

/* A layer's windows over one sample, for the exports: input and output
 * sizes, window, strides, dilations and padding (top, left, bottom,
 * right; after = what the last window reaches past the input). */
typedef struct window2d {
    int64_t in_h, in_w, channels, out_h, out_w, out_c;
    int64_t k[2], stride[2], dilation[2], pad[4];
} window2d;
void conv_window(const nnk_layer *layer, const nnk_shape *in, window2d *w);
void pool_window(const nnk_layer *layer, const nnk_shape *in, window2d *w);
/* The padding after an axis, from its fitted geometry. */
int64_t pad_after(const window_axis *a);

/* The exports (vision_onnx.c, vision_c.c): nnkit.export.onnx/1 and
 * nnkit.export.c/1 of each layer. */
int conv_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in, const char *const *inputs,
              const nnk_shape *in_shapes, const nnk_shape *out_shape, const char **output, nnk_err *err);
int pool_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, const char *op, const char *input,
              const nnk_shape *in_shape, const char **output, nnk_err *err);
int global_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, const char *op, const char *input,
                const char **output, nnk_err *err);
int conv_c(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in, const char *const *inputs,
           const nnk_shape *in_shapes, const char *output, const nnk_shape *out_shape, nnk_err *err);
void pool_c(const nnk_export_host *h, nnk_exporter *x, const window2d *w, int max, const char *input, const char *output);
void global_c(const nnk_export_host *h, nnk_exporter *x, const nnk_shape *in, int max, const char *input,
              const char *output);

/* A layer's extension(): its ONNX and C exports (the functions NAME_onnx
 * and NAME_c) as nnkit.export.onnx/1 and nnkit.export.c/1. */
#define EXPORT_EXTENSION(NAME)                                                                                        \
    static const nnk_layer_export_onnx NAME##_onnx_cap = {sizeof(nnk_layer_export_onnx), NAME##_onnx};               \
    static const nnk_layer_export_c NAME##_c_cap = {sizeof(nnk_layer_export_c), NAME##_c};                           \
    static const void *NAME##_extension(const char *name)                                                             \
    {                                                                                                                 \
        return !strcmp(name, NNK_CAP_EXPORT_ONNX) ? (const void *)&NAME##_onnx_cap                                    \
               : !strcmp(name, NNK_CAP_EXPORT_C)  ? (const void *)&NAME##_c_cap                                       \
                                                  : NULL;                                                             \
    }

/* The host's capability by name, or an error naming the layer. */
const void *host_capability(const nnk_layer *layer, const char *name, nnk_err *err);

extern const nnk_layer_vtable conv2d_layer;
extern const nnk_layer_vtable max_pooling2d_layer;
extern const nnk_layer_vtable average_pooling2d_layer;
extern const nnk_layer_vtable global_average_pooling2d_layer;
extern const nnk_layer_vtable global_max_pooling2d_layer;
#endif
