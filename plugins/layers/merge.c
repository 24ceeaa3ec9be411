/* Merge layers for functional models: concat (along the last axis) and
 * add (element-wise). Their shape errors name the input layers. */
#include "layers.h"
#include <stdio.h>
#include <string.h>

static const nnk_param_spec no_params[] = {{NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

static void shape_text(const nnk_shape *s, char *buf, size_t n)
{
    int o = snprintf(buf, n, "(None");
    for (int d = 0; d < s->ndim && o < (int)n; d++)
        o += snprintf(buf + o, n - (size_t)o, ", %lld", (long long)s->dim[d]);
    if (o < (int)n)
        snprintf(buf + o, n - (size_t)o, ")");
}

static int mismatch(nnk_layer *layer, const nnk_shape *in, int a, int b, const char *rule, nnk_err *err)
{
    char sa[96], sb[96];
    shape_text(&in[a], sa, sizeof sa);
    shape_text(&in[b], sb, sizeof sb);
    return layers_host->err_set(err, NNK_ESHAPE, "layer '%s': inputs '%s' %s and '%s' %s do not fit: %s",
                                layer->name, layer->input_names[a], sa, layer->input_names[b], sb, rule);
}

#define MAX_MERGED 16 /* inputs of concat and add at most */

static int64_t rows_of(const nnk_tensor *t) { return t->shape[0]; }

static int64_t cols_of(const nnk_tensor *t)
{
    return t->shape[0] > 0 ? nnk_tensor_elements(t) / t->shape[0] : 0; /* sizes the core checked */
}

/* ---- concat -------------------------------------------------------------- */

static int concat_build(nnk_layer *layer, int n_in, const nnk_shape *in, nnk_shape *out, nnk_err *err)
{
    *out = in[0];
    for (int k = 1; k < n_in; k++) {
        if (in[k].ndim != in[0].ndim)
            return mismatch(layer, in, 0, k, "concat needs the same number of dimensions", err);
        for (int d = 0; d + 1 < in[0].ndim; d++)
            if (in[k].dim[d] != in[0].dim[d])
                return mismatch(layer, in, 0, k, "concat needs equal sizes but for the last dimension", err);
        out->dim[out->ndim - 1] += in[k].dim[in[k].ndim - 1];
    }
    return NNK_OK;
}

/* With equal leading dimensions, concatenating along the last axis is
 * concatenating blocks of last-axis length; treated as rows of blocks. */
static int concat_forward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, nnk_tensor *out,
                          int training, nnk_err *err)
{
    (void)layer, (void)training, (void)err;
    int last = out->ndim - 1;
    int64_t blocks = rows_of(out) * cols_of(out) / out->shape[last], ow = out->shape[last];
    for (int64_t b = 0; b < blocks; b++) {
        float *dst = out->data + b * ow;
        for (int k = 0; k < n_in; k++) {
            int64_t w = in[k]->shape[last];
            memcpy(dst, in[k]->data + b * w, (size_t)w * sizeof(float));
            dst += w;
        }
    }
    return NNK_OK;
}

static int concat_backward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                           const nnk_tensor *dout, nnk_tensor *const *din, nnk_err *err)
{
    (void)layer, (void)err;
    int last = out->ndim - 1;
    int64_t blocks = rows_of(out) * cols_of(out) / out->shape[last], ow = out->shape[last];
    for (int64_t b = 0; b < blocks; b++) {
        const float *src = dout->data + b * ow;
        for (int k = 0; k < n_in; k++) {
            int64_t w = in[k]->shape[last];
            if (din[k])
                memcpy(din[k]->data + b * w, src, (size_t)w * sizeof(float));
            src += w;
        }
    }
    return NNK_OK;
}

/* ONNX: one node of op over every input (Concat takes an axis). */
static int merge_onnx(const char *op, int axis_attr, const nnk_export_host *h, nnk_exporter *x, int n_in,
                      const char *const *inputs, const char **output)
{
    const char *all[MAX_MERGED + 1] = {0};
    for (int k = 0; k < n_in && k < MAX_MERGED; k++)
        all[k] = inputs[k];
    const char *names[] = {"axis"};
    const double last[] = {-1};
    const int is_int[] = {1};
    *output = h->onnx_node(x, op, all, NULL, axis_attr, names, last, is_int);
    return *output ? NNK_OK : NNK_ENOMEM;
}

static int concat_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                       const char *const *inputs, const nnk_shape *in_shapes, const nnk_shape *out_shape,
                       const char **output, nnk_err *err)
{
    (void)layer, (void)in_shapes, (void)out_shape, (void)err;
    return merge_onnx("Concat", 1, h, x, n_in, inputs, output);
}

/* C: each input's rows side by side, along the last axis. */
static int concat_c(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                    const char *const *inputs, const nnk_shape *in_shapes, const char *output,
                    const nnk_shape *out_shape, nnk_err *err)
{
    (void)layer, (void)err;
    int64_t last = out_shape->dim[out_shape->ndim - 1], rows = nnk_shape_elements(out_shape) / last, at = 0;
    for (int k = 0; k < n_in; k++) {
        int64_t w = nnk_shape_elements(&in_shapes[k]) / rows;
        h->c_code(x, "    for (int r = 0; r < %lld; r++)\n        for (int j = 0; j < %lld; j++)\n", (long long)rows,
                  (long long)w);
        h->c_code(x, "            %s[r * %lld + %lld + j] = %s[r * %lld + j];\n", output, (long long)last, (long long)at,
                  inputs[k], (long long)w);
        at += w;
    }
    return NNK_OK;
}

LAYER_EXTENSION(concat, NULL)

const nnk_layer_vtable concat_layer = {
    .struct_size = sizeof(nnk_layer_vtable),
    .name = "concat",
    .doc = "Concatenates its inputs along the last axis, like Keras's Concatenate.",
    .params = no_params,
    .min_inputs = 2,
    .max_inputs = MAX_MERGED,
    .build = concat_build,
    .forward = concat_forward,
    .backward = concat_backward,
    .extension = concat_extension,
};

/* ---- add ---------------------------------------------------------------- */

static int add_build(nnk_layer *layer, int n_in, const nnk_shape *in, nnk_shape *out, nnk_err *err)
{
    for (int k = 1; k < n_in; k++) {
        int same = in[k].ndim == in[0].ndim;
        for (int d = 0; same && d < in[0].ndim; d++)
            same = in[k].dim[d] == in[0].dim[d];
        if (!same)
            return mismatch(layer, in, 0, k, "add needs equal shapes", err);
    }
    *out = in[0];
    return NNK_OK;
}

static int add_forward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, nnk_tensor *out,
                       int training, nnk_err *err)
{
    (void)layer, (void)training, (void)err;
    int64_t n = rows_of(out) * cols_of(out);
    memcpy(out->data, in[0]->data, (size_t)n * sizeof(float));
    for (int k = 1; k < n_in; k++)
        for (int64_t i = 0; i < n; i++)
            out->data[i] += in[k]->data[i];
    return NNK_OK;
}

static int add_backward(nnk_layer *layer, int n_in, const nnk_tensor *const *in, const nnk_tensor *out,
                        const nnk_tensor *dout, nnk_tensor *const *din, nnk_err *err)
{
    (void)layer, (void)in, (void)err;
    int64_t n = rows_of(out) * cols_of(out);
    for (int k = 0; k < n_in; k++)
        if (din[k])
            memcpy(din[k]->data, dout->data, (size_t)n * sizeof(float));
    return NNK_OK;
}

static int add_onnx(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                    const char *const *inputs, const nnk_shape *in_shapes, const nnk_shape *out_shape,
                    const char **output, nnk_err *err)
{
    (void)layer, (void)in_shapes, (void)out_shape, (void)err;
    return merge_onnx("Sum", 0, h, x, n_in, inputs, output);
}

static int add_c(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in,
                 const char *const *inputs, const nnk_shape *in_shapes, const char *output,
                 const nnk_shape *out_shape, nnk_err *err)
{
    (void)layer, (void)in_shapes, (void)err;
    h->c_code(x, "    for (int j = 0; j < %lld; j++)\n        %s[j] = %s[j]", (long long)nnk_shape_elements(out_shape),
              output, inputs[0]);
    for (int k = 1; k < n_in; k++)
        h->c_code(x, " + %s[j]", inputs[k]);
    h->c_code(x, ";\n");
    return NNK_OK;
}

LAYER_EXTENSION(add, NULL)

const nnk_layer_vtable add_layer = {
    .struct_size = sizeof(nnk_layer_vtable),
    .name = "add",
    .doc = "Adds its inputs element-wise, like Keras's Add.",
    .params = no_params,
    .min_inputs = 2,
    .max_inputs = MAX_MERGED,
    .build = add_build,
    .forward = add_forward,
    .backward = add_backward,
    .extension = add_extension,
};
