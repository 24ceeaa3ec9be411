/* nnkit check-plugin: the plugin checker. It drives components through
 * the engine's internals (a layer's forward and backward on chosen
 * tensors), so it is built with the core's objects into its own program,
 * nnkit-check-plugin, which `nnkit check-plugin` runs; libnnkit keeps only
 * its public API. */
#ifndef NNKIT_CHECKPLUGIN_H
#define NNKIT_CHECKPLUGIN_H
#include <nnkit/nnkit.h>
#include <stdio.h>

/* nnkit check-plugin: loads the plugin at path (with the standard plugins
 * for what it uses), validates its descriptor and parameter specs, and
 * runs finite-difference gradient, shape, save/load and determinism
 * checks on each component, printing one row per check to out. Returns
 * the number of failed checks, or -1 (err set) when the plugin does not
 * load. */
int nnk_check_plugin(const char *path, FILE *out, nnk_err *err);
#endif
