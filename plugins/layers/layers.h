/* The built-in layers plugin: shared between its source files only. */
#ifndef NNKIT_PLUGIN_LAYERS_H
#define NNKIT_PLUGIN_LAYERS_H
#include <nnkit/plugin.h>

extern const nnk_host *layers_host;
extern const nnk_layer_vtable dense_layer;
extern const nnk_layer_vtable flatten_layer;
extern const nnk_layer_vtable concat_layer;
extern const nnk_layer_vtable add_layer;
extern const nnk_layer_vtable dropout_layer;
extern const nnk_layer_vtable batch_normalization_layer;
extern const nnk_layer_vtable normalization_layer;
#endif
