/* The model's weights as one table, in model order (every node's weights
 * in turn): what the optimizer, the data-parallel sums and the model file
 * walk. */
#include "internal.h"

int nnk__model_weight_count(const nnk_model *m)
{
    int n = 0;
    for (int i = 0; i < m->n_nodes; i++)
        n += m->nodes[i].layer.n_weights;
    return n;
}

nnk_weight *nnk__model_weight_at(nnk_model *m, int i, nnk_node **node)
{
    for (int k = 0; k < m->n_nodes; k++) {
        if (i < m->nodes[k].layer.n_weights) {
            if (node)
                *node = &m->nodes[k];
            return &m->nodes[k].layer.weights[i];
        }
        i -= m->nodes[k].layer.n_weights;
    }
    return NULL;
}
