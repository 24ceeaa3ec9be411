/* nnkit plugins: every component the loaded plugins provide. */
#include "cli.h"
#include <stdio.h>
#include <string.h>

static const char *type_name(nnk_param_type t)
{
    static const char *const names[] = {"int", "float", "bool", "string", "choice", "activation"};
    return (unsigned)t < 6 ? names[t] : "?";
}

int cmd_plugins(const options *o)
{
    nnk_err err = {NNK_OK, ""};
    nnk_registry *reg = load_registry(o, &err);
    if (!reg)
        return fail(&err);
    printf("searched: %s\n", nnk_registry_searched(reg));
    for (int k = 0; k < NNK_KIND_COUNT; k++) {
        printf("\n%s%s:\n", nnk_kind_name((nnk_kind)k), k == NNK_KIND_LOSS ? "es" : "s");
        for (int i = 0; i < nnk_registry_count(reg); i++) {
            const nnk_component_info *c = nnk_registry_at(reg, i);
            if (c->kind != (nnk_kind)k)
                continue;
            printf("  %-34s %s (%s %s)\n", c->name, c->doc, c->plugin_name, c->plugin_version);
            if (c->kind == NNK_KIND_OPTIMIZER) /* [compile] learning_rate, per optimizer */
                printf("      %-20s float > 0, default %.15g: the step size ([compile] learning_rate)\n",
                       "learning_rate", nnk_optimizer_default_learning_rate(c->vtable));
            for (const nnk_param_spec *p = c->params; p && p->name; p++) {
                char range[128] = "";
                if (p->min != 0 || p->max != 0)
                    snprintf(range, sizeof range, " in [%.15g, %.15g]", p->min, p->max);
                if (p->choices) {
                    strcpy(range, " one of");
                    for (int j = 0; p->choices[j]; j++)
                        snprintf(range + strlen(range), sizeof range - strlen(range), "%s %s",
                                 j ? "," : "", p->choices[j]);
                }
                printf("      %-20s %s%s, default %s: %s\n", p->name, type_name(p->type), range,
                       p->default_value ? p->default_value : "(required)", p->doc ? p->doc : "");
            }
        }
    }
    nnk_registry_free(reg);
    return 0;
}

