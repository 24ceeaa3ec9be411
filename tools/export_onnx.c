/* nnkit export --format onnx: a model as an ONNX model (opset 17, IR
 * version 8), serialised with protobuf-c from proto/onnx_subset.proto. The
 * graph takes the same raw input as nnkit predict: the saved preprocessing
 * (missing-value fills, scale, standardization) comes first, as ONNX ops. */
#include "export_onnx.h"
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPSET 17
#define IR_VERSION 8 /* ONNX 1.12, which opset 17 came with */

/* ---- the export host's ONNX services, for every layer's and activation's
 * nnkit.export.onnx/1: names they make belong to the node being exported */

/* A stem a component gives (1 to 16 letters, digits, '_'); NULL: fallback. */
static const char *stem_of(builder *b, const char *stem, const char *fallback)
{
    if (!stem)
        return fallback;
    size_t n = strspn(stem, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
    if (n && n <= 16 && !stem[n])
        return stem;
    if (!b->failed)
        nnk_err_set(b->err, NNK_ECONFIG, "export: layer '%s': a value name stem must be 1 to 16 letters, digits or '_'",
                    b->of);
    b->failed = 1;
    return NULL;
}

static const char *host_value(nnk_exporter *x, const char *stem)
{
    builder *b = (builder *)x;
    stem = stem_of(b, stem, "value");
    return stem ? builder_fresh(b, b->of, stem) : NULL;
}

static const char *host_constant(nnk_exporter *x, const char *stem, const float *values, const int64_t *dims, int ndim)
{
    builder *b = (builder *)x;
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= dims[d];
    stem = stem_of(b, stem, "const");
    return stem && ndim >= 0 && ndim <= 8 ? builder_constant(b, b->of, stem, values, n, dims, ndim) : NULL;
}

static const char *host_int64_constant(nnk_exporter *x, const char *stem, const int64_t *values, const int64_t *dims,
                                       int ndim)
{
    builder *b = (builder *)x;
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= dims[d];
    stem = stem_of(b, stem, "const");
    return stem && ndim >= 0 && ndim <= 8 ? builder_typed_constant(b, b->of, stem, NNKIT_ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
                                                                   values, sizeof(int64_t) * (size_t)n, dims, ndim)
                                          : NULL;
}

static const char *host_node(nnk_exporter *x, const char *op, const char *const *inputs, const char *output, int n_attrs,
                             const char *const *names, const double *values, const int *is_int)
{
    builder *b = (builder *)x;
    NnkitOnnx__AttributeProto *as[16];
    int n = n_attrs < 16 ? n_attrs : 16;
    for (int k = 0; k < n; k++)
        as[k] = is_int[k] ? builder_attr_int(b, names[k], (int64_t)values[k]) : builder_attr_float(b, names[k], (float)values[k]);
    return builder_node_n(b, b->of, op, inputs, output, as, n);
}

static const char *host_node_ints(nnk_exporter *x, const char *op, const char *const *inputs, const char *output,
                                  int n_attrs, const char *const *names, const int64_t *const *values, const int *counts)
{
    builder *b = (builder *)x;
    NnkitOnnx__AttributeProto *as[16];
    int n = n_attrs < 16 ? n_attrs : 16;
    for (int k = 0; k < n; k++)
        if (counts[k] < 0 || counts[k] > 64 || !(as[k] = builder_attr_ints(b, names[k], values[k], counts[k])))
            return NULL;
    return builder_node_n(b, b->of, op, inputs, output, as, n);
}

static const nnk_export_host onnx_host = {
    .struct_size = sizeof(nnk_export_host),
    .onnx_value = host_value,
    .onnx_constant = host_constant,
    .onnx_node = host_node,
    .onnx_int64_constant = host_int64_constant,
    .onnx_node_ints = host_node_ints,
};

/* After a component's export: its own error, with the layer named, or out
 * of memory when it failed without saying why. */
static int component_failed(builder *b, int rc, const nnk_err *sub)
{
    if (b->err->status) /* the host's own (a bad stem) */
        return b->err->status;
    if (rc && sub->msg[0])
        return nnk_err_set(b->err, rc, "export: layer '%s': %s", b->of, sub->msg);
    return nnk_err_set(b->err, NNK_ENOMEM, "out of memory");
}

/* The activation of layer i after value x, into `out` (the layer's name). */
static int activation(builder *b, int i, const char *act, const char *x, const char *out, const nnk_shape *shape)
{
    if (!act) /* the layer's output under its own name */
        return builder_node(b, b->of, "Identity", IN(x), out, NULL, NULL) ? NNK_OK : component_failed(b, 0, NULL);
    const nnk_activation_vtable *vt = export_component(b->m, NNK_KIND_ACTIVATION, act);
    const nnk_activation_export_onnx *cap = vt ? NNK_CAPABILITY(vt, NNK_CAP_EXPORT_ONNX) : NULL;
    if (!cap || !NNK_HAS(cap, export_onnx) || !cap->export_onnx)
        return nnk_err_set(b->err, NNK_ECONFIG, "export: layer '%s': activation '%s' has no ONNX mapping", b->of, act);
    nnk_err sub = {NNK_OK, ""};
    int rc = cap->export_onnx(nnk_params_config(nnk_model_layer_activation_params(b->m, i)), &onnx_host,
                              (nnk_exporter *)b, x, out, shape, &sub);
    return rc || b->failed ? component_failed(b, rc, &sub) : NNK_OK;
}

/* The per-sample shape of a model input or a layer's output, by name. */
static void input_shape(builder *b, const char *name, nnk_shape *out)
{
    const char *names[16];
    nnk_shape shapes[16];
    int n = nnk_model_inputs(b->m, names, shapes, 16);
    for (int j = 0; j < n; j++)
        if (!strcmp(names[j], name)) {
            *out = shapes[j];
            return;
        }
    for (int i = 0; i < nnk_model_layer_count(b->m); i++) {
        nnk_layer_info li;
        nnk_model_layer(b->m, i, &li);
        if (!strcmp(li.name, name))
            *out = li.output;
    }
}

/* Layer i, whose inputs are the values in[] (its name is its output): its
 * component's own mapping, then its activation's. */
static int layer(builder *b, int i, const char *const *in)
{
    nnk_layer_info li;
    nnk_model_layer(b->m, i, &li);
    b->of = li.name;
    const nnk_layer_vtable *vt = export_component(b->m, NNK_KIND_LAYER, li.type);
    const nnk_layer_export_onnx *cap = vt ? NNK_CAPABILITY(vt, NNK_CAP_EXPORT_ONNX) : NULL;
    if (!cap || !NNK_HAS(cap, export_onnx) || !cap->export_onnx)
        return nnk_err_set(b->err, NNK_ECONFIG, "export: layer '%s' of type '%s' has no ONNX mapping", li.name, li.type);
    nnk_shape shapes[NNK_MAX_INPUTS];
    for (int k = 0; k < li.n_inputs; k++)
        input_shape(b, li.inputs[k], &shapes[k]);
    const char *y = NULL;
    nnk_err sub = {NNK_OK, ""};
    int rc = cap->export_onnx(nnk_model_layer_instance(b->m, i), &onnx_host, (nnk_exporter *)b, li.n_inputs, in, shapes,
                              &li.output, &y, &sub);
    if (rc || b->failed || !y)
        return component_failed(b, rc, &sub);
    return activation(b, i, li.activation, y, li.name, &li.output);
}

/* Model input j's raw values, prepared as predict prepares them: its
 * columns' fills, the scale, the standardization. Returns the value the
 * layers read. */
static const char *prepared_input(builder *b, const char *name, const nnk_shape *shape, int64_t off,
                                  const nnk_preprocessing *pp)
{
    int64_t n = 1, dims[NNK_MAX_DIMS];
    for (int d = 0; d < shape->ndim; d++)
        n *= dims[d] = shape->dim[d];
    const char *x = name;
    if (pp->fill) {
        const char *isnan = builder_node(b, name, "IsNaN", IN(x), NULL, NULL, NULL);
        x = builder_node(b, name, "Where", IN(isnan, builder_constant(b, name, "fill", pp->fill + off, n, dims, shape->ndim), x), NULL, NULL, NULL);
    }
    if (pp->scale != 1.0)
        x = builder_node(b, name, "Mul", IN(x, builder_scalar(b, name, "scale", (float)pp->scale)), NULL, NULL, NULL);
    if (pp->mean) {
        x = builder_node(b, name, "Sub", IN(x, builder_constant(b, name, "mean", pp->mean + off, n, dims, shape->ndim)), NULL, NULL, NULL);
        x = builder_node(b, name, "Mul", IN(x, builder_constant(b, name, "inv_std", pp->inv_std + off, n, dims, shape->ndim)), NULL, NULL, NULL);
    }
    return x;
}

/* The rules ONNX's checker holds a graph to that a component's mapping
 * or a name could break (export_onnx_check.c): every value (input,
 * initializer, node output) is defined once and not empty, every node
 * reads only values defined before it, every output is defined. */
int export_onnx_check_graph(const NnkitOnnx__GraphProto *g, nnk_err *err);

/* The graph's name: the model file's name, letters, digits, '_', '-' and '.'
 * kept and every other byte '_' (a path may be any bytes; a protobuf string
 * must be UTF-8). */
static char *graph_name(builder *b, const char *model_path)
{
    const char *base = strrchr(model_path, '/') ? strrchr(model_path, '/') + 1 : model_path;
    char *name = builder_text(b, "%s", *base ? base : "model", NULL);
    for (char *p = name; p && *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_-.", *p))
            *p = '_';
    return name;
}

/* The graph's inputs, each prepared as predict prepares it, then the
 * layers in order (each reads inputs' prepared values or earlier layers'
 * outputs, their names), then the outputs. */
static int build_graph(builder *b)
{
    NnkitOnnx__GraphProto *graph = b->g;
    const nnk_model *m = b->m;
    const char *in_names[16], *prepared[16];
    nnk_shape in_shapes[16];
    int n_in = nnk_model_inputs(m, in_names, in_shapes, 16);
    nnk_preprocessing pp;
    nnk_model_preprocessing(m, &pp);
    graph->input = builder_alloc(b, sizeof(void *) * (size_t)(n_in ? n_in : 1));
    for (int64_t j = 0, off = 0; graph->input && j < n_in; j++) {
        graph->input[graph->n_input++] = builder_value_info(b, in_names[j], &in_shapes[j]);
        prepared[j] = prepared_input(b, in_names[j], &in_shapes[j], off, &pp);
        int64_t n = 1;
        for (int d = 0; d < in_shapes[j].ndim; d++)
            n *= in_shapes[j].dim[d];
        off += n;
    }
    int rc = b->failed ? nnk_err_set(b->err, NNK_ENOMEM, "out of memory") : NNK_OK;
    for (int i = 0; !rc && i < nnk_model_layer_count(m); i++) {
        nnk_layer_info li;
        nnk_model_layer(m, i, &li);
        const char *ins[NNK_MAX_INPUTS];
        for (int k = 0; k < li.n_inputs; k++) {
            ins[k] = li.inputs[k];
            for (int j = 0; j < n_in; j++)
                if (!strcmp(li.inputs[k], in_names[j]))
                    ins[k] = prepared[j];
        }
        rc = layer(b, i, ins);
    }
    const char *outs[16];
    int n_out = nnk_model_outputs(m, outs, NULL, 16);
    graph->output = builder_alloc(b, sizeof(void *) * (size_t)(n_out ? n_out : 1));
    for (int k = 0; !rc && graph->output && k < n_out; k++)
        for (int i = 0; i < nnk_model_layer_count(m); i++) {
            nnk_layer_info li;
            nnk_model_layer(m, i, &li);
            if (!strcmp(li.name, outs[k]))
                graph->output[graph->n_output++] = builder_value_info(b, li.name, &li.output);
        }
    return !rc && b->failed ? nnk_err_set(b->err, NNK_ENOMEM, "out of memory") : rc;
}

/* The checked model, serialised into output (atomically). */
static int write_model(const NnkitOnnx__ModelProto *model, const char *output, nnk_err *err)
{
    int rc = export_onnx_check_graph(model->graph, err);
    size_t len = rc ? 0 : nnkit_onnx__model_proto__get_packed_size(model);
    uint8_t *buf = rc ? NULL : malloc(len ? len : 1);
    if (!rc && !buf)
        rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (!rc) {
        nnkit_onnx__model_proto__pack(model, buf);
        rc = nnk_write_file_atomic(output, buf, len, err);
    }
    free(buf);
    return rc;
}

int export_onnx(const nnk_model *m, const char *model_path, const char *output, nnk_err *err)
{
    if (nnk_model_encoded_feature_count(m))
        return nnk_err_set(err, NNK_ECONFIG, "export: the model one-hot encodes text columns, which the ONNX export does "
                           "not map yet");
    builder b = {0};
    b.m = m;
    b.err = err;
    NnkitOnnx__ModelProto model;
    NnkitOnnx__GraphProto graph;
    NnkitOnnx__OperatorSetIdProto opset;
    nnkit_onnx__model_proto__init(&model);
    nnkit_onnx__graph_proto__init(&graph);
    nnkit_onnx__operator_set_id_proto__init(&opset);
    b.g = &graph;
    opset.domain = "";
    opset.has_version = 1;
    opset.version = OPSET;
    NnkitOnnx__OperatorSetIdProto *opsets[1] = {&opset};
    model.has_ir_version = 1;
    model.ir_version = IR_VERSION;
    model.producer_name = "nnkit";
    model.producer_version = "0.1.0";
    model.n_opset_import = 1;
    model.opset_import = opsets;
    model.graph = &graph;
    graph.name = graph_name(&b, model_path);
    graph.doc_string = "exported by nnkit export from a saved model; raw inputs as nnkit predict takes them";
    int rc = build_graph(&b);
    if (!rc)
        rc = write_model(&model, output, err);
    builder_free(&b);
    return rc;
}

