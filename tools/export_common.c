/* What nnkit export's two formats read of a model. */
#include "runner.h"
#include <stdlib.h>
#include <string.h>

const void *export_component(const nnk_model *m, nnk_kind kind, const char *name)
{
    const nnk_component_info *c = nnk_registry_find(nnk_model_registry(m), kind, name);
    return c ? c->vtable : NULL;
}

double export_param(const nnk_params *p, const char *name, double fallback)
{
    for (int i = 0; p && i < nnk_params_count(p); i++)
        if (!strcmp(nnk_params_spec(p, i)->name, name)) {
            char buf[64];
            nnk_params_format(p, i, buf, sizeof buf);
            return strtod(buf, NULL);
        }
    return fallback;
}

const float *export_weight(const nnk_layer_info *li, const char *name, int64_t *n)
{
    for (int k = 0; k < li->n_weights; k++)
        if (!strcmp(li->weights[k].name, name)) {
            *n = nnk_tensor_elements(&li->weights[k].value);
            return li->weights[k].value.data;
        }
    return NULL;
}
