/* GraphDef building for the Graphs dashboard: nodes with an op, inputs and
 * attributes, serialized into Event.graph_def. */
#include "internal.h"
#include "graph.pb-c.h"
#include <stdlib.h>
#include <string.h>

#define MAX_ATTRS 8
#define MAX_SHAPES 8

typedef struct attr {
    char *key;
    int kind; /* 's', 't' (type), 'l' (list of shapes) */
    char *s;
    int64_t i;
    int n_shapes;
    int ndim[MAX_SHAPES];
    int64_t dims[MAX_SHAPES][8];
} attr;

typedef struct node {
    char *name, *op;
    char **inputs;
    int n_inputs;
    attr attrs[MAX_ATTRS];
    int n_attrs;
} node;

struct nnk_tb_graph {
    node *nodes;
    int n, cap;
};

nnk_tb_graph *nnk_tb_graph_new(void) { return calloc(1, sizeof(nnk_tb_graph)); }

void nnk_tb_graph_free(nnk_tb_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n; i++) {
        node *n = &g->nodes[i];
        free(n->name), free(n->op);
        for (int k = 0; k < n->n_inputs; k++)
            free(n->inputs[k]);
        free(n->inputs);
        for (int k = 0; k < n->n_attrs; k++)
            free(n->attrs[k].key), free(n->attrs[k].s);
    }
    free(g->nodes);
    free(g);
}

int nnk_tb_graph_node(nnk_tb_graph *g, const char *name, const char *op,
                      const char *const *inputs, int n_inputs, nnk_err *err)
{
    if (g->n == g->cap) {
        int cap = g->cap ? g->cap * 2 : 16;
        node *nn = realloc(g->nodes, sizeof *nn * (size_t)cap);
        if (!nn)
            return tb_err(err, NNK_ENOMEM, "out of memory"), -1;
        g->nodes = nn;
        g->cap = cap;
    }
    node *n = &g->nodes[g->n];
    memset(n, 0, sizeof *n);
    n->name = strdup(name);
    n->op = strdup(op);
    n->inputs = calloc((size_t)n_inputs + 1, sizeof(char *));
    if (!n->name || !n->op || !n->inputs) {
        free(n->name), free(n->op), free(n->inputs);
        return tb_err(err, NNK_ENOMEM, "out of memory"), -1;
    }
    for (int i = 0; i < n_inputs; i++)
        n->inputs[n->n_inputs++] = strdup(inputs[i]);
    return g->n++;
}

static attr *find_or_add(nnk_tb_graph *g, int i, const char *key, int kind, nnk_err *err)
{
    if (i < 0 || i >= g->n) {
        tb_err(err, NNK_EUSAGE, "graph: no node %d", i);
        return NULL;
    }
    node *n = &g->nodes[i];
    for (int k = 0; k < n->n_attrs; k++)
        if (!strcmp(n->attrs[k].key, key))
            return &n->attrs[k];
    if (n->n_attrs == MAX_ATTRS) {
        tb_err(err, NNK_EUSAGE, "graph: node '%s' has too many attributes", n->name);
        return NULL;
    }
    attr *a = &n->attrs[n->n_attrs++];
    memset(a, 0, sizeof *a);
    a->key = strdup(key);
    a->kind = kind;
    return a;
}

int nnk_tb_graph_attr_s(nnk_tb_graph *g, int i, const char *key, const char *value, nnk_err *err)
{
    attr *a = find_or_add(g, i, key, 's', err);
    if (!a)
        return err ? err->status : NNK_EUSAGE;
    free(a->s);
    a->s = strdup(value);
    return NNK_OK;
}

int nnk_tb_graph_attr_type(nnk_tb_graph *g, int i, const char *key, int dtype, nnk_err *err)
{
    attr *a = find_or_add(g, i, key, 't', err);
    if (!a)
        return err ? err->status : NNK_EUSAGE;
    a->i = dtype;
    return NNK_OK;
}

int nnk_tb_graph_attr_shape(nnk_tb_graph *g, int i, const char *key, const int64_t *dims, int ndim,
                            nnk_err *err)
{
    attr *a = find_or_add(g, i, key, 'l', err);
    if (!a)
        return err ? err->status : NNK_EUSAGE;
    if (a->n_shapes == MAX_SHAPES || ndim > 8 || ndim < 0)
        return tb_err(err, NNK_EUSAGE, "graph: attribute '%s' has too many shapes or dimensions", key);
    a->ndim[a->n_shapes] = ndim;
    memcpy(a->dims[a->n_shapes], dims, sizeof(int64_t) * (size_t)ndim);
    a->n_shapes++;
    return NNK_OK;
}

/* Storage for one node's attribute messages while the GraphDef is packed. */
typedef struct attr_msgs {
    Tensorboard__NodeDef__AttrEntry entry;
    Tensorboard__AttrValue value;
    Tensorboard__AttrValue__ListValue list;
    Tensorboard__TensorShapeProto shapes[MAX_SHAPES];
    Tensorboard__TensorShapeProto *shape_ptrs[MAX_SHAPES];
    Tensorboard__TensorShapeProto__Dim dims[MAX_SHAPES][8];
    Tensorboard__TensorShapeProto__Dim *dim_ptrs[MAX_SHAPES][8];
} attr_msgs;

static void fill_attr(const attr *a, attr_msgs *m)
{
    tensorboard__node_def__attr_entry__init(&m->entry);
    tensorboard__attr_value__init(&m->value);
    m->entry.key = a->key;
    m->entry.value = &m->value;
    switch (a->kind) {
    case 's':
        m->value.value_case = TENSORBOARD__ATTR_VALUE__VALUE_S;
        m->value.s.data = (uint8_t *)a->s;
        m->value.s.len = a->s ? strlen(a->s) : 0;
        break;
    case 't':
        m->value.value_case = TENSORBOARD__ATTR_VALUE__VALUE_TYPE;
        m->value.type = (int32_t)a->i;
        break;
    default:
        tensorboard__attr_value__list_value__init(&m->list);
        for (int s = 0; s < a->n_shapes; s++) {
            tensorboard__tensor_shape_proto__init(&m->shapes[s]);
            for (int d = 0; d < a->ndim[s]; d++) {
                tensorboard__tensor_shape_proto__dim__init(&m->dims[s][d]);
                m->dims[s][d].size = a->dims[s][d] < 0 ? -1 : a->dims[s][d];
                m->dim_ptrs[s][d] = &m->dims[s][d];
            }
            m->shapes[s].n_dim = (size_t)a->ndim[s];
            m->shapes[s].dim = m->dim_ptrs[s];
            m->shape_ptrs[s] = &m->shapes[s];
        }
        m->list.n_shape = (size_t)a->n_shapes;
        m->list.shape = m->shape_ptrs;
        m->value.value_case = TENSORBOARD__ATTR_VALUE__VALUE_LIST;
        m->value.list = &m->list;
    }
}

int nnk_tb_write_graph(nnk_tb_writer *w, const nnk_tb_graph *g, int64_t step, double wall_time,
                       nnk_err *err)
{
    int total_attrs = 0;
    for (int i = 0; i < g->n; i++)
        total_attrs += g->nodes[i].n_attrs;
    Tensorboard__NodeDef *defs = calloc((size_t)g->n + 1, sizeof *defs);
    Tensorboard__NodeDef **def_ptrs = calloc((size_t)g->n + 1, sizeof *def_ptrs);
    attr_msgs *am = calloc((size_t)total_attrs + 1, sizeof *am);
    Tensorboard__NodeDef__AttrEntry **entry_ptrs = calloc((size_t)total_attrs + 1, sizeof *entry_ptrs);
    if (!defs || !def_ptrs || !am || !entry_ptrs) {
        free(defs), free(def_ptrs), free(am), free(entry_ptrs);
        return tb_err(err, NNK_ENOMEM, "out of memory");
    }
    for (int i = 0, k = 0; i < g->n; i++) {
        const node *n = &g->nodes[i];
        tensorboard__node_def__init(&defs[i]);
        defs[i].name = n->name;
        defs[i].op = n->op;
        defs[i].n_input = (size_t)n->n_inputs;
        defs[i].input = n->inputs;
        defs[i].attr = entry_ptrs + k;
        for (int a = 0; a < n->n_attrs; a++, k++) {
            fill_attr(&n->attrs[a], &am[k]);
            entry_ptrs[k] = &am[k].entry;
        }
        defs[i].n_attr = (size_t)n->n_attrs;
        def_ptrs[i] = &defs[i];
    }
    Tensorboard__GraphDef gd = TENSORBOARD__GRAPH_DEF__INIT;
    gd.n_node = (size_t)g->n;
    gd.node = def_ptrs;
    size_t len = tensorboard__graph_def__get_packed_size(&gd);
    uint8_t *bytes = malloc(len ? len : 1);
    int rc = NNK_OK;
    if (!bytes) {
        rc = tb_err(err, NNK_ENOMEM, "out of memory");
    } else {
        tensorboard__graph_def__pack(&gd, bytes);
        Tensorboard__Event ev = TENSORBOARD__EVENT__INIT;
        ev.wall_time = wall_time < 0 ? tb_now() : wall_time;
        ev.step = step;
        ev.what_case = TENSORBOARD__EVENT__WHAT_GRAPH_DEF;
        ev.graph_def.data = bytes;
        ev.graph_def.len = len;
        rc = tb_write_event(w, &ev, err);
    }
    free(bytes), free(defs), free(def_ptrs), free(am), free(entry_ptrs);
    return rc;
}
