/* The built-in activations plugin: shared between its source files only. */
#ifndef NNKIT_PLUGIN_ACTIVATIONS_H
#define NNKIT_PLUGIN_ACTIVATIONS_H
#include <nnkit/plugin.h>

/* The config of every built-in activation (only leaky_relu and elu read it). */
typedef struct alpha_config {
    double alpha;
} alpha_config;

extern const nnk_host *activations_host;

/* Each activation's capabilities (export.c). */
const void *linear_extension(const char *name);
const void *heaviside_extension(const char *name);
const void *sign_extension(const char *name);
const void *sigmoid_extension(const char *name);
const void *tanh_extension(const char *name);
const void *relu_extension(const char *name);
const void *leaky_extension(const char *name);
const void *elu_extension(const char *name);
const void *selu_extension(const char *name);
const void *softplus_extension(const char *name);
const void *softmax_extension(const char *name);
#endif
