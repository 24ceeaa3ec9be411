/* The built-in layers plugin: shared between its source files only. */
#ifndef NNKIT_PLUGIN_LAYERS_H
#define NNKIT_PLUGIN_LAYERS_H
#include <nnkit/plugin.h>
#include <string.h>

extern const nnk_host *layers_host;

/* A layer's extension(): its ONNX and C export capabilities (the functions
 * NAME_onnx and NAME_c) and, when fused is not NULL, its fused SGD step. */
#define LAYER_EXTENSION(NAME, fused)                                                                          \
    static const nnk_layer_export_onnx NAME##_onnx_cap = {sizeof(nnk_layer_export_onnx), NAME##_onnx};       \
    static const nnk_layer_export_c NAME##_c_cap = {sizeof(nnk_layer_export_c), NAME##_c};                   \
    static const void *NAME##_extension(const char *name)                                                     \
    {                                                                                                         \
        if (!strcmp(name, NNK_CAP_EXPORT_ONNX))                                                               \
            return &NAME##_onnx_cap;                                                                          \
        if (!strcmp(name, NNK_CAP_EXPORT_C))                                                                  \
            return &NAME##_c_cap;                                                                             \
        return !strcmp(name, NNK_CAP_FUSED_SGD) ? (const void *)(fused) : NULL;                              \
    }

/* The loop that copies a sample's n values of array `from` into `to`
 * (layers that are the identity in inference: flatten, dropout). */
/* y = (x - mean[j]) * scale[j] + shift[j] per feature j of the last axis
 * of a sample of shape `shape`, as the exports of the normalizing layers
 * (affine_export.c). affine holds scale then shift (2 values per feature,
 * from layers_host->alloc) and is freed here; NULL (out of memory) fails.
 * In ONNX the shift is added only when with_shift. */
int layers_affine_onnx(const nnk_export_host *h, nnk_exporter *x, const char *input, const nnk_shape *shape,
                       const float *mean, float *affine, int with_shift, const char **output);
int layers_affine_c(const nnk_export_host *h, nnk_exporter *x, const char *input, const char *output,
                    const nnk_shape *shape, const float *mean, float *affine);
void layers_c_copy(const nnk_export_host *h, nnk_exporter *x, const char *to, const char *from, int64_t n);
extern const nnk_layer_vtable dense_layer;
extern const nnk_layer_vtable flatten_layer;
extern const nnk_layer_vtable reshape_layer;
extern const nnk_layer_vtable concat_layer;
extern const nnk_layer_vtable add_layer;
extern const nnk_layer_vtable dropout_layer;
extern const nnk_layer_vtable batch_normalization_layer;
extern const nnk_layer_vtable normalization_layer;
#endif
