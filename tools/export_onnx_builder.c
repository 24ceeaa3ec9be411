/* The ONNX message builder: every allocation kept for one free, value
 * names unique within the export. */
#include "export_onnx.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *builder_keep(builder *b, void *p)
{
    if (!p) {
        b->failed = 1;
        return NULL;
    }
    if (b->n_blocks == b->cap_blocks) {
        int cap = b->cap_blocks ? b->cap_blocks * 2 : 256;
        void **v = realloc(b->blocks, sizeof(void *) * (size_t)cap);
        if (!v) {
            free(p);
            b->failed = 1;
            return NULL;
        }
        b->blocks = v;
        b->cap_blocks = cap;
    }
    b->blocks[b->n_blocks++] = p;
    return p;
}

void *builder_alloc(builder *b, size_t n) { return builder_keep(b, calloc(1, n ? n : 1)); }

char *builder_text(builder *b, const char *fmt, const char *a, const char *c)
{
    char buf[512];
    snprintf(buf, sizeof buf, fmt, a ? a : "", c ? c : "");
    return builder_keep(b, strdup(buf));
}

/* A fresh name for an intermediate value of layer (or stage) `of`. */
char *builder_fresh(builder *b, const char *of, const char *what)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s/%s_%d", of, what, b->serial++);
    return builder_keep(b, strdup(buf));
}

/* Grows a repeated field of pointers by one. */
static int push(builder *b, void ***arr, size_t *n, int *cap, void *item)
{
    if (!item)
        return -1;
    if ((int)*n == *cap) {
        int nc = *cap ? *cap * 2 : 32;
        void **v = builder_alloc(b, sizeof(void *) * (size_t)nc);
        if (!v)
            return -1;
        if (*n)
            memcpy(v, *arr, sizeof(void *) * *n);
        *arr = v;
        *cap = nc;
    }
    (*arr)[(*n)++] = item;
    return 0;
}

/* A float constant of the given dims (n values), as an initializer. */
const char *builder_constant(builder *b, const char *of, const char *what, const float *v, int64_t n, const int64_t *dims,
                            int ndim)
{
    return builder_typed_constant(b, of, what, NNKIT_ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, v, sizeof(float) * (size_t)n,
                                  dims, ndim);
}

/* A constant of data type `type` whose raw little-endian values are the
 * `bytes` bytes at v (x86 and ARM keep floats and int64s so). */
const char *builder_typed_constant(builder *b, const char *of, const char *what, int type, const void *v, size_t bytes,
                                   const int64_t *dims, int ndim)
{
    NnkitOnnx__TensorProto *t = builder_alloc(b, sizeof *t);
    if (!t)
        return NULL;
    nnkit_onnx__tensor_proto__init(t);
    t->name = builder_fresh(b, of, what);
    t->has_data_type = 1;
    t->data_type = type;
    t->n_dims = (size_t)ndim;
    t->dims = builder_alloc(b, sizeof(int64_t) * (size_t)(ndim ? ndim : 1));
    if (t->dims && ndim)
        memcpy(t->dims, dims, sizeof(int64_t) * (size_t)ndim);
    t->has_raw_data = 1;
    t->raw_data.len = bytes;
    t->raw_data.data = builder_alloc(b, t->raw_data.len);
    if (t->raw_data.data)
        memcpy(t->raw_data.data, v, t->raw_data.len);
    push(b, (void ***)&b->g->initializer, &b->g->n_initializer, &b->n_init_cap, t);
    return t->name;
}

const char *builder_scalar(builder *b, const char *of, const char *what, float v)
{
    return builder_constant(b, of, what, &v, 1, NULL, 0);
}

NnkitOnnx__AttributeProto *builder_attr_int(builder *b, const char *name, int64_t v)
{
    NnkitOnnx__AttributeProto *a = builder_alloc(b, sizeof *a);
    if (a) {
        nnkit_onnx__attribute_proto__init(a);
        a->name = builder_text(b, "%s", name, NULL);
        a->has_type = a->has_i = 1;
        a->type = NNKIT_ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        a->i = v;
    }
    return a;
}

NnkitOnnx__AttributeProto *builder_attr_ints(builder *b, const char *name, const int64_t *v, int n)
{
    NnkitOnnx__AttributeProto *a = builder_alloc(b, sizeof *a);
    int64_t *copy = builder_alloc(b, sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    if (a && copy) {
        nnkit_onnx__attribute_proto__init(a);
        a->name = builder_text(b, "%s", name, NULL);
        a->has_type = 1;
        a->type = NNKIT_ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
        memcpy(copy, v, sizeof(int64_t) * (size_t)n);
        a->ints = copy;
        a->n_ints = (size_t)n;
    }
    return a && copy ? a : NULL;
}

NnkitOnnx__AttributeProto *builder_attr_float(builder *b, const char *name, float v)
{
    NnkitOnnx__AttributeProto *a = builder_alloc(b, sizeof *a);
    if (a) {
        nnkit_onnx__attribute_proto__init(a);
        a->name = builder_text(b, "%s", name, NULL);
        a->has_type = a->has_f = 1;
        a->type = NNKIT_ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        a->f = v;
    }
    return a;
}

/* A node of op_type over inputs (NULL-terminated) into a fresh output
 * (or `out` when given), with up to two attributes. Returns its output. */
const char *builder_node(builder *b, const char *of, const char *op, const char *const *inputs, const char *out,
                        NnkitOnnx__AttributeProto *a1, NnkitOnnx__AttributeProto *a2)
{
    NnkitOnnx__AttributeProto *as[2];
    int n = 0;
    if (a1)
        as[n++] = a1;
    if (a2)
        as[n++] = a2;
    return builder_node_n(b, of, op, inputs, out, as, n);
}

const char *builder_node_n(builder *b, const char *of, const char *op, const char *const *inputs, const char *out,
                          NnkitOnnx__AttributeProto *const *attrs, int n_attrs)
{
    NnkitOnnx__NodeProto *n = builder_alloc(b, sizeof *n);
    if (!n)
        return NULL;
    nnkit_onnx__node_proto__init(n);
    n->op_type = builder_text(b, "%s", op, NULL);
    n->name = builder_fresh(b, of, op);
    int k = 0;
    while (inputs[k])
        k++;
    n->n_input = (size_t)k;
    n->input = builder_alloc(b, sizeof(char *) * (size_t)(k ? k : 1));
    for (int i = 0; n->input && i < k; i++)
        n->input[i] = (char *)inputs[i];
    n->n_output = 1;
    n->output = builder_alloc(b, sizeof(char *));
    if (n->output)
        n->output[0] = out ? builder_text(b, "%s", out, NULL) : builder_fresh(b, of, "out");
    n->attribute = builder_alloc(b, sizeof(void *) * (size_t)(n_attrs ? n_attrs : 1));
    for (int i = 0; n->attribute && i < n_attrs; i++)
        if (attrs[i])
            n->attribute[n->n_attribute++] = attrs[i];
    push(b, (void ***)&b->g->node, &b->g->n_node, &b->n_node_cap, n);
    return n->output ? n->output[0] : NULL;
}


NnkitOnnx__ValueInfoProto *builder_value_info(builder *b, const char *name, const nnk_shape *per_sample)
{
    NnkitOnnx__ValueInfoProto *v = builder_alloc(b, sizeof *v);
    NnkitOnnx__TypeProto *t = builder_alloc(b, sizeof *t);
    NnkitOnnx__TypeProto__Tensor *tt = builder_alloc(b, sizeof *tt);
    NnkitOnnx__TensorShapeProto *s = builder_alloc(b, sizeof *s);
    if (!v || !t || !tt || !s)
        return NULL;
    nnkit_onnx__value_info_proto__init(v);
    nnkit_onnx__type_proto__init(t);
    nnkit_onnx__type_proto__tensor__init(tt);
    nnkit_onnx__tensor_shape_proto__init(s);
    v->name = builder_text(b, "%s", name, NULL);
    v->type = t;
    t->value_case = NNKIT_ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = NNKIT_ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = s;
    s->n_dim = (size_t)per_sample->ndim + 1;
    s->dim = builder_alloc(b, sizeof(void *) * s->n_dim);
    for (size_t d = 0; s->dim && d < s->n_dim; d++) {
        NnkitOnnx__TensorShapeProto__Dimension *dim = builder_alloc(b, sizeof *dim);
        if (!dim)
            return NULL;
        nnkit_onnx__tensor_shape_proto__dimension__init(dim);
        if (d == 0) { /* the batch: any number of rows */
            dim->value_case = NNKIT_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dim->dim_param = builder_text(b, "%s", "batch", NULL);
        } else {
            dim->value_case = NNKIT_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dim->dim_value = per_sample->dim[d - 1];
        }
        s->dim[d] = dim;
    }
    return v;
}


void builder_free(builder *b)
{
    for (int i = 0; i < b->n_blocks; i++)
        free(b->blocks[i]);
    free(b->blocks);
}
