/* The loader's checks of a plugin, in the order they run: the exported
 * record (before any plugin code runs), then the descriptor init returns,
 * then each component's vtable. Each failure is one line naming the file
 * and, past the record, the component. */
#include "internal.h"
#include <string.h>

/* The struct sizes of each ABI this core loads: ABI 3.1 (its own
 * headers) and 3.0 (the same structs, without NNK_PARAM_INTS), and, through core/abi2.c, ABI 2.0 and 2.1 (2.1 appended
 * nnk_layer.sgd_learning_rate, nnk_layer_vtable's flags and export hooks,
 * nnk_optimizer_vtable.plain_step, nnk_metric_vtable.flags, nnk_train_info's
 * rank and size and nnk_host.layer_allreduce). */
static const struct {
    unsigned major, minor;
    nnk_abi_sizes sizes;
} known_abis[] = {
    {2, 0, {516, 40, 48, 64, 208, 104, 120, 1016, 168, 88, 88, 64, 80, 64, 64, 88}},
    {2, 1, {516, 40, 48, 64, 216, 104, 120, 1024, 176, 88, 112, 80, 80, 72, 72, 88}},
    {3, 0, NNK_ABI_SIZES}, /* 3.1 added a parameter type, not a field */
    {NNK_ABI_MAJOR, NNK_ABI_MINOR, NNK_ABI_SIZES},
};

static const char *const size_names[] = {"nnk_err", "nnk_shape", "nnk_tensor", "nnk_param_spec", "nnk_host",
                                         "nnk_layer_info", "nnk_weight", "nnk_layer", "nnk_train_info",
                                         "nnk_plugin", "nnk_layer_vtable", "nnk_activation_vtable",
                                         "nnk_loss_vtable", "nnk_metric_vtable", "nnk_optimizer_vtable",
                                         "nnk_callback_vtable"};

int nnk__check_plugin_record(const nnk_plugin_record *r, const char *path, nnk_err *err)
{
    if (r->magic != NNK_PLUGIN_MAGIC)
        return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': not an nnkit plugin ('%s' is not an nnkit plugin record)",
                           path, NNK_PLUGIN_SYMBOL_NAME);
    size_t abi = 0, n_abis = sizeof known_abis / sizeof known_abis[0];
    while (abi < n_abis && (known_abis[abi].major != r->abi_major || known_abis[abi].minor != r->abi_minor))
        abi++;
    if (abi == n_abis)
        return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': built for ABI %u.%u, this nnkit has ABI %d.%d (and loads 2.0, "
                           "2.1 and 3.0)", path, r->abi_major, r->abi_minor, NNK_ABI_MAJOR, NNK_ABI_MINOR);
    const uint32_t *theirs = (const uint32_t *)&r->sizes, *ours = (const uint32_t *)&known_abis[abi].sizes;
    for (size_t i = 0; i < sizeof(nnk_abi_sizes) / sizeof(uint32_t); i++)
        if (theirs[i] != ours[i])
            return nnk_err_set(err, NNK_EPLUGIN,
                               "plugin '%s': built for ABI %u.%u, but its %s is %u bytes where ABI %u.%u has %u (other "
                               "headers or compiler settings)",
                               path, r->abi_major, r->abi_minor, size_names[i], theirs[i], r->abi_major,
                               r->abi_minor, ours[i]);
    if (!r->init)
        return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': its record has no init function", path);
    return NNK_OK;
}

int nnk__check_plugin_descriptor(const nnk_plugin *d, const nnk_plugin_record *r, const char *path, nnk_err *err)
{
    if (d->struct_size < sizeof(nnk_plugin))
        return nnk_err_set(err, NNK_EPLUGIN,
                           "plugin '%s': descriptor struct_size %zu, expected at least %zu for ABI %d.%d", path,
                           d->struct_size, sizeof(nnk_plugin), NNK_ABI_MAJOR, NNK_ABI_MINOR);
    if (d->abi_major != (int)r->abi_major || d->abi_minor != (int)r->abi_minor)
        return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': descriptor says ABI %d.%d, its record %u.%u", path,
                           d->abi_major, d->abi_minor, r->abi_major, r->abi_minor);
    if (!d->name || !*d->name || !d->version || !*d->version)
        return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': descriptor has no name or version", path);
    return NNK_OK;
}

static size_t type_size(nnk_param_type t)
{
    switch (t) {
    case NNK_PARAM_INT: return sizeof(int64_t);
    case NNK_PARAM_FLOAT: return sizeof(double);
    case NNK_PARAM_BOOL: return sizeof(int);
    case NNK_PARAM_STRING:
    case NNK_PARAM_CHOICE:
    case NNK_PARAM_ACTIVATION: return sizeof(const char *);
    case NNK_PARAM_INTS: return sizeof(nnk_ints);
    }
    return 0;
}

#define MAX_PARAMS 256

/* Every spec names a known type and lies inside config_size. */
static int check_params(const nnk_param_spec *p, size_t config_size, const char *path, const char *what,
                        nnk_err *err)
{
    for (int i = 0; p && p[i].name; i++) {
        if (i == MAX_PARAMS)
            return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': %s: more than %d parameters (is the table's end "
                               "entry missing?)", path, what, MAX_PARAMS);
        if (!nnk_name_valid(p[i].name)) {
            nnk_err sub;
            nnk_name_check("parameter", p[i].name, &sub);
            return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': %s: %s", path, what, sub.msg);
        }
        size_t size = type_size(p[i].type);
        if (!size)
            return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': %s: parameter '%s' has unknown type %d", path, what,
                               p[i].name, (int)p[i].type);
        if (p[i].offset > config_size || size > config_size - p[i].offset)
            return nnk_err_set(err, NNK_EPLUGIN,
                               "plugin '%s': %s: parameter '%s' lies outside the config struct (offset %zu + %zu "
                               "bytes > config_size %zu)",
                               path, what, p[i].name, p[i].offset, size, config_size);
        if (p[i].offset % (size < 8 ? size : 8))
            return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': %s: parameter '%s' is misaligned (offset %zu)", path,
                               what, p[i].name, p[i].offset);
        if (p[i].type == NNK_PARAM_CHOICE && (!p[i].choices || !p[i].choices[0]))
            return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': %s: choice parameter '%s' has no choices", path, what,
                               p[i].name);
    }
    return NNK_OK;
}


/* The functions a component of each kind cannot do without. */
static const char *missing_function(nnk_kind kind, const void *vt)
{
    switch (kind) {
    case NNK_KIND_LAYER: {
        const nnk_layer_vtable *l = vt;
        return !l->build ? "build" : !l->forward ? "forward" : !l->backward ? "backward" : NULL;
    }
    case NNK_KIND_ACTIVATION: {
        const nnk_activation_vtable *a = vt;
        return !a->forward ? "forward" : !a->backward ? "backward" : NULL;
    }
    case NNK_KIND_LOSS: {
        const nnk_loss_vtable *l = vt;
        return !l->compute ? "compute" : l->fused_activation && !l->compute_from_logits ? "compute_from_logits" : NULL;
    }
    case NNK_KIND_METRIC: {
        const nnk_metric_vtable *m = vt;
        return !m->update ? "update" : !m->result ? "result" : NULL;
    }
    case NNK_KIND_OPTIMIZER: return !((const nnk_optimizer_vtable *)vt)->step ? "step" : NULL;
    case NNK_KIND_CALLBACK: {
        const nnk_callback_vtable *c = vt;
        if (!c->on_event)
            return "on_event";
        return !c->save_state != !c->load_state ? (c->save_state ? "load_state" : "save_state") : NULL;
    }
    default: return NULL;
    }
}

int nnk__check_component(nnk_kind kind, const void *vt, int abi_major, const char *path, nnk_err *err)
{
    const struct {
        size_t struct_size;
        const char *name, *doc;
        const nnk_param_spec *params;
        size_t config_size;
    } *h = vt; /* the head every vtable starts with (pinned by test_loader) */
    const char *k = nnk_kind_name(kind);
    size_t least = nnk__vtable_size(kind, abi_major); /* ABI 3.0's whole vtable, or the part abi2.c reads */
    if (h->struct_size < least)
        return nnk_err_set(err, NNK_EPLUGIN,
                           "plugin '%s': a %s has struct_size %zu, expected at least %zu for ABI %d.%d (set it to "
                           "sizeof(nnk_%s_vtable))",
                           path, k, h->struct_size, least, abi_major, abi_major == 2 ? 0 : NNK_ABI_MINOR, k);
    if (!h->name || !*h->name)
        return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': a %s has no name", path, k);
    if (!nnk_name_valid(h->name)) { /* it reaches experiment files, exports and logs */
        nnk_err sub;
        nnk_name_check(k, h->name, &sub);
        return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': %s", path, sub.msg);
    }
    char what[160];
    snprintf(what, sizeof what, "%s '%s'", k, h->name);
    const char *fn = missing_function(kind, vt);
    if (fn)
        return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': %s has no %s function", path, what, fn);
    if (kind == NNK_KIND_LAYER) {
        const nnk_layer_vtable *l = vt;
        if (l->min_inputs < 0 || l->min_inputs > NNK_MAX_INPUTS || (l->max_inputs && l->max_inputs < l->min_inputs))
            return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': %s takes %d to %d inputs", path, what, l->min_inputs,
                               l->max_inputs);
    }
    if (kind == NNK_KIND_OPTIMIZER && (((const nnk_optimizer_vtable *)vt)->n_slots < 0 ||
                                       ((const nnk_optimizer_vtable *)vt)->n_slots > 16))
        return nnk_err_set(err, NNK_EPLUGIN, "plugin '%s': %s asks for %d slots per weight (0 to 16)", path, what,
                           ((const nnk_optimizer_vtable *)vt)->n_slots);
    return check_params(h->params, h->config_size, path, what, err);
}
