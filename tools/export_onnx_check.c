/* The rules ONNX's checker holds an exported graph to, checked before
 * anything is written. */
#include "runner.h"
#include "onnx_subset.pb-c.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A set of names for check_graph: open addressing over FNV-1a hashes. */
typedef struct name_set {
    const char **slot;
    size_t cap;
} name_set;

/* The slot that holds name, or the empty one where it would go. */
static size_t name_set_find(const name_set *s, const char *name)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    size_t i = h & (s->cap - 1);
    while (s->slot[i] && strcmp(s->slot[i], name))
        i = (i + 1) & (s->cap - 1);
    return i;
}

/* Adds name; 1 when it was there already. */
static int name_set_add(name_set *s, const char *name)
{
    size_t i = name_set_find(s, name);
    if (s->slot[i])
        return 1;
    s->slot[i] = name;
    return 0;
}

static int name_set_has(const name_set *s, const char *name) { return s->slot[name_set_find(s, name)] != NULL; }

/* The rules ONNX's checker holds a graph to that a plugin's hook or a name
 * could break: every value (input, initializer, node output) is defined
 * once and not empty, every node reads only values defined before it, every
 * output is defined. Checked before anything is written. */
int export_onnx_check_graph(const NnkitOnnx__GraphProto *g, nnk_err *err)
{
    size_t n = g->n_input + g->n_initializer;
    for (size_t i = 0; i < g->n_node; i++)
        n += g->node[i]->n_output;
    name_set s = {NULL, 16};
    while (s.cap < 2 * n + 2)
        s.cap *= 2;
    if (!(s.slot = calloc(s.cap, sizeof *s.slot)))
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    int rc = NNK_OK;
    const char *dup = NULL;
    for (size_t i = 0; !dup && i < g->n_input; i++)
        dup = name_set_add(&s, g->input[i]->name) ? g->input[i]->name : NULL;
    for (size_t i = 0; !dup && i < g->n_initializer; i++)
        dup = name_set_add(&s, g->initializer[i]->name) ? g->initializer[i]->name : NULL;
    for (size_t i = 0; !rc && !dup && i < g->n_node; i++) {
        const NnkitOnnx__NodeProto *nd = g->node[i];
        for (size_t k = 0; !rc && k < nd->n_input; k++)
            if (*nd->input[k] && !name_set_has(&s, nd->input[k]))
                rc = nnk_err_set(err, NNK_ECONFIG, "export: ONNX node '%s' (%s) reads '%s', which no earlier node, input or "
                                 "constant defines", nd->name, nd->op_type, nd->input[k]);
        for (size_t k = 0; !rc && !dup && k < nd->n_output; k++)
            if (!*nd->output[k])
                rc = nnk_err_set(err, NNK_ECONFIG, "export: ONNX node '%s' (%s) has an output with no name", nd->name,
                                 nd->op_type);
            else if (name_set_add(&s, nd->output[k]))
                dup = nd->output[k];
    }
    if (!rc && dup)
        rc = nnk_err_set(err, NNK_ECONFIG, "export: the ONNX graph would define '%s' twice", dup);
    for (size_t i = 0; !rc && i < g->n_output; i++)
        if (!name_set_has(&s, g->output[i]->name))
            rc = nnk_err_set(err, NNK_ECONFIG, "export: ONNX output '%s' is defined by no node", g->output[i]->name);
    free(s.slot);
    return rc;
}

