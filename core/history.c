/* nnk_history: the per-epoch record of a fit's logs (Keras's History),
 * kept by fit and restored from backups. */
#include "internal.h"
#include <stdlib.h>
#include <string.h>

void nnk_history_clear(nnk_history *h)
{
    if (!h)
        return;
    for (int i = 0; i < h->n_keys; i++)
        free(h->keys[i]);
    free(h->keys);
    free(h->values);
    memset(h, 0, sizeof *h);
}

int nnk__history_append(nnk_history *h, int n_logs, char names[][64],
                          const double *values)
{
    if (!h)
        return 0;
    if (h->n_keys == 0) {
        h->keys = calloc((size_t)n_logs, sizeof(char *));
        if (!h->keys)
            return -1;
        for (int i = 0; i < n_logs; i++)
            h->keys[i] = strdup(names[i]);
        h->n_keys = n_logs;
    }
    double *v = realloc(h->values, (size_t)((h->n_epochs + 1) * h->n_keys) * sizeof(double));
    if (!v)
        return -1;
    h->values = v;
    memcpy(v + h->n_epochs * h->n_keys, values, (size_t)h->n_keys * sizeof(double));
    h->n_epochs++;
    return 0;
}

