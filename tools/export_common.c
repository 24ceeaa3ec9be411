/* What nnkit export's two formats read of a model. */
#include "runner.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

const void *export_component(const nnk_model *m, nnk_kind kind, const char *name)
{
    const nnk_component_info *c = nnk_registry_find(nnk_model_registry(m), kind, name);
    return c ? c->vtable : NULL;
}

int export_check_finite(const nnk_model *m, nnk_err *err)
{
    nnk_preprocessing pp;
    nnk_model_preprocessing(m, &pp);
    const float *pre[3] = {pp.fill, pp.mean, pp.inv_std};
    const char *pre_names[3] = {"missing-value fill", "standardization mean", "standardization scale"};
    for (int k = 0; k < 3; k++)
        for (int64_t j = 0; pre[k] && j < pp.n; j++)
            if (!isfinite(pre[k][j]))
                return nnk_err_set(err, NNK_EMODEL, "export: the model's %s holds %s at %lld; a model with NaN or Inf "
                                   "in it cannot be exported", pre_names[k], isnan(pre[k][j]) ? "NaN" : "Inf", (long long)j);
    for (int i = 0; i < nnk_model_layer_count(m); i++) {
        nnk_layer_info li;
        nnk_model_layer(m, i, &li);
        for (int k = 0; k < li.n_weights; k++) {
            const float *v = li.weights[k].value.data;
            for (int64_t j = 0, n = nnk_tensor_elements(&li.weights[k].value); j < n; j++)
                if (!isfinite(v[j]))
                    return nnk_err_set(err, NNK_EMODEL, "export: layer '%s': weight '%s' holds %s at %lld; a model with NaN "
                                       "or Inf in it cannot be exported", li.name, li.weights[k].name,
                                       isnan(v[j]) ? "NaN" : "Inf", (long long)j);
        }
    }
    return NNK_OK;
}
