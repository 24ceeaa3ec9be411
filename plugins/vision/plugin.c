/* Descriptor of the nnkit-vision plugin. */
#include "vision.h"

const nnk_host *vision_host;

static const nnk_layer_vtable *const layers[] = {&conv2d_layer,
                                                 &max_pooling2d_layer,
                                                 &average_pooling2d_layer,
                                                 &global_average_pooling2d_layer,
                                                 &global_max_pooling2d_layer,
                                                 NULL};

static const nnk_plugin vision_plugin = {
    .struct_size = sizeof(nnk_plugin),
    .abi_major = NNK_ABI_MAJOR,
    .abi_minor = NNK_ABI_MINOR,
    .name = "nnkit-vision",
    .version = "0.1.0",
    .doc = "Convolutional layers, channels last: conv2d, max_pooling2d, average_pooling2d, "
           "global_average_pooling2d, global_max_pooling2d.",
    .layers = layers,
};

static const nnk_plugin *plugin_init(const nnk_host *host, nnk_err *err)
{
    (void)err;
    vision_host = host;
    return &vision_plugin;
}

NNK_PLUGIN(plugin_init);
