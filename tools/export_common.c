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

int export_normalizer(const nnk_model *m, int i, const nnk_layer_info *li, int64_t c, export_norm *n, float *scale,
                      float *shift, nnk_err *err)
{
    int64_t n1 = 0, n2 = 0, ng = 0, nb = 0;
    n->batch = li->type[0] == 'b';
    n->mean = export_weight(li, n->batch ? "moving_mean" : "mean", &n1);
    n->var = export_weight(li, n->batch ? "moving_variance" : "variance", &n2);
    n->gamma = n->batch ? export_weight(li, "gamma", &ng) : NULL;
    n->beta = n->batch ? export_weight(li, "beta", &nb) : NULL;
    n->epsilon = export_param(nnk_model_layer_params(m, i), "epsilon", 1e-3);
    if (!n->mean || !n->var || n1 != c || n2 != c)
        return nnk_err_set(err, NNK_EMODEL, "export: layer '%s' lacks its statistics", li->name);
    for (int64_t j = 0; scale && shift && j < c; j++) { /* as the layers compute them */
        double sd = n->batch ? sqrt((double)n->var[j] + n->epsilon) : sqrt(n->var[j]);
        float inv = n->batch ? (float)(1.0 / sd) : (float)(1.0 / (sd > 1e-7 ? sd : 1e-7));
        scale[j] = n->gamma ? n->gamma[j] * inv : inv;
        shift[j] = n->beta ? n->beta[j] : 0.0f;
    }
    return NNK_OK;
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
