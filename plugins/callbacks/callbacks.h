/* The built-in callbacks plugin: shared between its source files only. */
#ifndef NNKIT_PLUGIN_CALLBACKS_H
#define NNKIT_PLUGIN_CALLBACKS_H
#include <nnkit/plugin.h>

extern const nnk_host *callbacks_host;
extern const nnk_callback_vtable console_callback;
extern const nnk_callback_vtable csv_logger_callback;
#endif
