/* Descriptor of the built-in callbacks plugin. */
#include "callbacks.h"

const nnk_host *callbacks_host;

static const nnk_callback_vtable *const callbacks[] = {
    &console_callback, &csv_logger_callback, &early_stopping_callback, &model_checkpoint_callback,
    &reduce_lr_on_plateau_callback, &terminate_on_nan_callback, &learning_rate_scheduler_callback,
    &backup_and_restore_callback, NULL};

static const nnk_plugin callbacks_plugin = {
    .struct_size = sizeof(nnk_plugin),
    .abi_major = NNK_ABI_MAJOR,
    .abi_minor = NNK_ABI_MINOR,
    .name = "nnkit-callbacks",
    .version = "0.1.0",
    .doc = "Built-in callbacks: console, csv_logger, early_stopping, model_checkpoint, reduce_lr_on_plateau, terminate_on_nan, learning_rate_scheduler, backup_and_restore.",
    .callbacks = callbacks,
};

static const nnk_plugin *plugin_init(const nnk_host *host, nnk_err *err)
{
    (void)err;
    callbacks_host = host;
    return &callbacks_plugin;
}

NNK_PLUGIN(plugin_init);
