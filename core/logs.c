/* The logs a model gives, in order: their names (a metric with several
 * values, nnkit.metric.values/1, one log each), checked to fit, and which
 * way each is better (nnkit.metric.direction/1), as mode = auto takes it. */
#include "internal.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when a metric says higher is better, 0 lower, -1 when it does not say. */
static int metric_higher_is_better(const nnk_metric_inst *mi)
{
    const nnk_metric_direction *d = NNK_CAPABILITY(mi->vt, NNK_CAP_METRIC_DIRECTION);
    return d && NNK_HAS(d, higher_is_better) ? d->higher_is_better != 0 : -1;
}

/* The names of the logs in order: loss, then per output its loss (when
 * there are several) and metrics, a metric with several values
 * (nnkit.metric.values/1) as one log per value. Returns how many, or -1
 * with err set when there are more than cap or one is too long to take
 * "val_" before it. names may be NULL: the count and the checks alone. */
int nnk__log_names(const nnk_model *m, char names[][NNK_LOG_NAME_MAX], signed char *higher, int cap, nnk_err *err)
{
    enum { LONGEST = NNK_LOG_NAME_MAX - 1 - 4 }; /* room for "val_" */
    int n = 0;
    char name[2 * NNK_LOG_NAME_MAX + 64];
    if (higher)
        higher[n] = 0;
    if (names)
        snprintf(names[n], NNK_LOG_NAME_MAX, "loss");
    n++;
    int multi = m->n_outputs > 1;
    for (int k = 0; k < m->n_outputs; k++) {
        const nnk_output *o = &m->outs[k];
        for (int i = multi ? -1 : 0; i < o->n_metrics; i++) {
            const nnk_metric_inst *mi = i >= 0 ? &o->metrics[i] : NULL;
            int values = mi ? mi->n_values : 1;
            for (int v = 0; v < values; v++) {
                char suffix[40] = "";
                if (mi && mi->values) {
                    suffix[0] = '_';
                    mi->values->suffix(nnk_params_config(mi->params), v, suffix + 1, sizeof suffix - 1);
                }
                snprintf(name, sizeof name, "%s%s%s%s", multi ? o->name : "", multi ? "_" : "", mi ? mi->name : "loss",
                         suffix);
                if (strlen(name) > LONGEST)
                    return nnk_err_set(err, NNK_ECONFIG, "compile: the log '%.80s' is named in more than %d bytes",
                                       name, (int)LONGEST),
                           -1;
                if (n >= cap)
                    return nnk_err_set(err, NNK_ECONFIG, "compile: the outputs and metrics give more than %d logs",
                                       cap),
                           -1;
                if (higher)
                    higher[n] = mi ? (signed char)metric_higher_is_better(mi) : 0;
                if (names)
                    memcpy(names[n], name, strlen(name) + 1);
                n++;
            }
        }
    }
    return n;
}

int nnk_model_log_higher_is_better(const nnk_model *m, const char *name)
{
    const char *train_name = strncmp(name, "val_", 4) ? name : name + 4;
    int said = -1;
    char(*names)[NNK_LOG_NAME_MAX] = m && m->built ? malloc(sizeof *names * (MAX_LOGS / 2)) : NULL;
    signed char higher[MAX_LOGS / 2];
    int n = names ? nnk__log_names(m, names, higher, MAX_LOGS / 2, NULL) : 0;
    for (int i = 0; i < n && said < 0; i++)
        if (!strcmp(names[i], train_name))
            said = higher[i];
    free(names);
    if (said >= 0)
        return said;
    return strstr(name, "acc") != NULL || strstr(name, "auc") != NULL; /* Keras's name rule */
}

int nnk__metric_suffix_fault(const nnk_metric_values *v, const void *config, int count, char (*names)[32], int *bad,
                             int *twin)
{
    for (int i = 0; i < count; i++) {
        v->suffix(config, i, names[i], sizeof names[i]);
        names[i][sizeof names[i] - 1] = 0;
        size_t len = strlen(names[i]), legal = 0;
        while (legal < len && (isalnum((unsigned char)names[i][legal]) || strchr(".-", names[i][legal])))
            legal++;
        *bad = i;
        if (len < 1 || len > 24 || legal != len)
            return 1;
        for (*twin = 0; *twin < i; ++*twin)
            if (!strcmp(names[i], names[*twin]))
                return 2;
    }
    return 0;
}
