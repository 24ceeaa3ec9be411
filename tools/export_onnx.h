/* The ONNX message builder nnkit export uses (export_onnx_builder.c):
 * protobuf-c messages whose memory is freed together, with unique value
 * names per layer. */
#ifndef NNKIT_EXPORT_ONNX_H
#define NNKIT_EXPORT_ONNX_H
#include "runner.h"
#include "onnx_subset.pb-c.h"

/* Everything the message holds, freed together. */
typedef struct builder {
    void **blocks;
    int n_blocks, cap_blocks;
    int failed;
    NnkitOnnx__GraphProto *g;
    int n_node_cap, n_init_cap;
    int serial; /* for unique tensor names */
    const nnk_model *m;
    nnk_err *err;
    const char *of; /* the layer being exported: its values' names start with it */
} builder;

/* p kept until builder_free (NULL, or no room to keep it: b->failed). */
void *builder_keep(builder *b, void *p);
/* n zeroed bytes, kept. */
void *builder_alloc(builder *b, size_t n);
/* fmt with up to two strings, kept. */
char *builder_text(builder *b, const char *fmt, const char *a, const char *c);
/* A fresh name for an intermediate value of layer (or stage) `of`. */
char *builder_fresh(builder *b, const char *of, const char *what);
/* A float constant of the given dims (n values) as an initializer, named
 * like builder_fresh; a scalar (no dims). */
const char *builder_typed_constant(builder *b, const char *of, const char *what, int type, const void *v, size_t bytes,
                                   const int64_t *dims, int ndim);
const char *builder_constant(builder *b, const char *of, const char *what, const float *v, int64_t n,
                             const int64_t *dims, int ndim);
const char *builder_scalar(builder *b, const char *of, const char *what, float v);
NnkitOnnx__AttributeProto *builder_attr_int(builder *b, const char *name, int64_t v);
NnkitOnnx__AttributeProto *builder_attr_float(builder *b, const char *name, float v);
NnkitOnnx__AttributeProto *builder_attr_ints(builder *b, const char *name, const int64_t *v, int n);
/* A node of op_type over inputs (NULL-terminated) into a fresh output (or
 * `out` when given), with n_attrs attributes (up to two for node()).
 * Returns its output. */
const char *builder_node_n(builder *b, const char *of, const char *op, const char *const *inputs, const char *out,
                           NnkitOnnx__AttributeProto *const *attrs, int n_attrs);
const char *builder_node(builder *b, const char *of, const char *op, const char *const *inputs, const char *out,
                         NnkitOnnx__AttributeProto *a1, NnkitOnnx__AttributeProto *a2);
/* A graph input's or output's type: float, a batch of any rows, then the
 * per-sample dims. */
NnkitOnnx__ValueInfoProto *builder_value_info(builder *b, const char *name, const nnk_shape *per_sample);
void builder_free(builder *b);

#define IN(...) ((const char *const[]){__VA_ARGS__, NULL})
#endif
