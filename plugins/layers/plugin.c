/* Descriptor of the built-in layers plugin. */
#include "layers.h"

const nnk_host *layers_host;

static const nnk_layer_vtable *const layers[] = {
    &dense_layer, &flatten_layer, &reshape_layer, &concat_layer, &add_layer,
    &dropout_layer, &batch_normalization_layer, &normalization_layer, NULL};

static const nnk_plugin layers_plugin = {
    .struct_size = sizeof(nnk_plugin),
    .abi_major = NNK_ABI_MAJOR,
    .abi_minor = NNK_ABI_MINOR,
    .name = "nnkit-layers",
    .version = "0.1.0",
    .doc = "Core layers: dense, flatten, reshape, concat, add, dropout, batch_normalization, normalization.",
    .layers = layers,
};

static const nnk_plugin *plugin_init(const nnk_host *host, nnk_err *err)
{
    (void)err;
    layers_host = host;
    return &layers_plugin;
}

NNK_PLUGIN(plugin_init);
