/* nnkit export --format c: a model as one C99 file and its header. The
 * file holds the weights as static const arrays and one function,
 * PREFIX_predict(in, out), that runs the model in inference mode on one
 * sample with nothing but libm: no BLAS, no allocation, no nnkit. Its
 * buffers live on the stack (PREFIX_STACK_BYTES in the header). */
#include "runner.h"
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct emitter {
    FILE *f;
    const nnk_model *m;
    const char *prefix;
    int64_t stack;          /* bytes of the buffers */
    int workspace;          /* buffers in the caller's workspace `ws` */
    nnk_err *err;
    FILE *pre;              /* the arrays before the function (plugins' hooks add theirs) */
    char **names;           /* the arrays' identifiers, each once */
    int n_names;
    int n_unnamed;          /* arrays named p0, p1, ... */
    int node;               /* the layer being exported: its index, */
    const char *of;         /* and its name */
    int failed;
} emitter;

static int write_array(emitter *e, const char *name, const float *v, int64_t n);

/* ---- the export host's C services, for every layer's and activation's
 * nnkit.export.c/1 */

static const char *host_array(nnk_exporter *x, const char *stem, const float *values, int64_t n)
{
    emitter *e = (emitter *)x;
    char name[64], full[200];
    size_t len = stem ? strspn(stem, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") : 0;
    if (stem && (!len || len > 16 || stem[len])) {
        nnk_err_set(e->err, NNK_ECONFIG, "export: layer '%s': an array name stem must be 1 to 16 letters, digits or '_'",
                    e->of);
        e->failed = 1;
        return NULL;
    }
    if (stem)
        snprintf(name, sizeof name, "%s%d", stem, e->node);
    else
        snprintf(name, sizeof name, "p%d", e->n_unnamed++);
    snprintf(full, sizeof full, "%s_%s", e->prefix, name);
    for (int k = 0; k < e->n_names; k++)
        if (!strcmp(e->names[k], full)) {
            nnk_err_set(e->err, NNK_ECONFIG, "export: layer '%s': the array %s is written twice", e->of, full);
            e->failed = 1;
            return NULL;
        }
    char **grown = realloc(e->names, sizeof(char *) * (size_t)(e->n_names + 1));
    if (grown)
        e->names = grown;
    if (!grown || !(grown[e->n_names] = strdup(full))) {
        e->failed = 1;
        return NULL;
    }
    FILE *body = e->f;
    e->f = e->pre;
    if (write_array(e, name, values, n))
        e->failed = 1;
    e->f = body;
    return e->names[e->n_names++];
}

static void host_code(nnk_exporter *x, const char *fmt, ...)
{
    emitter *e = (emitter *)x;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(e->f, fmt, ap);
    va_end(ap);
}

static void host_elementwise(nnk_exporter *x, const char *array, int64_t n, const char *expr)
{
    emitter *e = (emitter *)x;
    fprintf(e->f, "    for (int j = 0; j < %lld; j++) {\n        float v = %s[j];\n        %s[j] = %s;\n    }\n",
            (long long)n, array, array, expr);
}

static void host_float(float v, char *buf, size_t n)
{
    char text[32];
    nnk_format_float(v, text, sizeof text);
    snprintf(buf, n, "%s%s", text, strpbrk(text, ".e") ? "f" : ".0f");
}

static const nnk_export_host c_host = {
    .struct_size = sizeof(nnk_export_host),
    .c_array = host_array,
    .c_code = host_code,
    .c_elementwise = host_elementwise,
    .c_float = host_float,
};

/* Outside text (a path, column names) as the inside of a C comment: ASCII
 * letters, digits, blanks, '/' and harmless punctuation stay; every other
 * byte, '*', a backslash, '?' (trigraphs) and line ends included, becomes
 * the text \xNN, so nothing it holds can end or open a comment or splice a
 * line. Returns buf. */
static const char *comment_text(const char *s, char *buf, size_t n)
{
    size_t k = 0;
    for (; s && *s && k + 5 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || (c && strchr(" _.,:;=+-()[]<>#@%&!~'\"/", c)))
            buf[k++] = (char)c;
        else
            k += (size_t)snprintf(buf + k, n - k, "\\x%02x", c);
    }
    if (s && *s && k + 4 < n)
        k += (size_t)snprintf(buf + k, n - k, "...");
    buf[k] = 0;
    return buf;
}




static int64_t shape_elements(const nnk_shape *s)
{
    int64_t n = 1;
    for (int d = 0; d < s->ndim; d++)
        n *= s->dim[d];
    return n;
}

/* A static const array of n floats, each the shortest text that reads back. */
static int write_array(emitter *e, const char *name, const float *v, int64_t n)
{
    fprintf(e->f, "static const float %s_%s[%lld] = {", e->prefix, name, (long long)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            return nnk_err_set(e->err, NNK_EMODEL, "export: %s holds NaN or Inf at %lld", name, (long long)i);
        char buf[32];
        nnk_format_float(v[i], buf, sizeof buf);
        fprintf(e->f, "%s%s%s%s", i % 8 ? " " : "\n    ", buf, strpbrk(buf, ".e") ? "f" : ".0f", i + 1 < n ? "," : "");
    }
    fprintf(e->f, "%s\n};\n", n ? "" : "0");
    return NNK_OK;
}

/* Where a node's input comes from: a model input (x at its offset) or an
 * earlier layer's buffer; its per-sample shape in *shape. */
static int source_of(emitter *e, const char *name, char *expr, size_t size, nnk_shape *shape)
{
    const char *names[16];
    nnk_shape shapes[16];
    int n_in = nnk_model_inputs(e->m, names, shapes, 16);
    int64_t off = 0;
    for (int j = 0; j < n_in; j++) {
        if (!strcmp(names[j], name)) {
            snprintf(expr, size, "(x + %lld)", (long long)off);
            *shape = shapes[j];
            return NNK_OK;
        }
        off += shape_elements(&shapes[j]);
    }
    for (int i = 0; i < nnk_model_layer_count(e->m); i++) {
        nnk_layer_info li;
        nnk_model_layer(e->m, i, &li);
        if (!strcmp(li.name, name)) {
            snprintf(expr, size, "a%d", i);
            *shape = li.output;
            return NNK_OK;
        }
    }
    return nnk_err_set(e->err, NNK_EMODEL, "export: no input or layer '%s'", name);
}

/* After a component's export: its own error, with the layer named, or out
 * of memory when it failed without saying why. */
static int component_failed(emitter *e, int rc, const nnk_err *sub)
{
    if (e->err->status) /* the host's own (a bad stem, an array twice) */
        return e->err->status;
    if (rc && sub->msg[0])
        return nnk_err_set(e->err, rc, "export: layer '%s': %s", e->of, sub->msg);
    return nnk_err_set(e->err, NNK_ENOMEM, "out of memory");
}

/* The activation of node i over its n outputs, in place. */
static int emit_activation(emitter *e, int i, const char *act, int64_t n)
{
    if (!act)
        return NNK_OK;
    const nnk_activation_vtable *vt = export_component(e->m, NNK_KIND_ACTIVATION, act);
    const nnk_activation_export_c *cap = vt ? NNK_CAPABILITY(vt, NNK_CAP_EXPORT_C) : NULL;
    if (!cap || !NNK_HAS(cap, export_c) || !cap->export_c)
        return nnk_err_set(e->err, NNK_ECONFIG, "export: layer '%s': activation '%s' has no C export", e->of, act);
    char array[32];
    snprintf(array, sizeof array, "a%d", i);
    nnk_err sub = {NNK_OK, ""};
    int rc = cap->export_c(nnk_params_config(nnk_model_layer_activation_params(e->m, i)), &c_host, (nnk_exporter *)e,
                           array, n, &sub);
    return rc || e->failed ? component_failed(e, rc, &sub) : NNK_OK;
}

/* Layer i: its buffer, then its component's own C (weights' arrays go
 * before the function), then its activation's. */
static int emit_layer(emitter *e, int i)
{
    nnk_layer_info li;
    nnk_model_layer(e->m, i, &li);
    e->node = i;
    e->of = li.name;
    int64_t n_out = shape_elements(&li.output);
    char names[NNK_MAX_INPUTS][64], out[32], shown_name[300], shown_type[300];
    const char *ins[NNK_MAX_INPUTS];
    nnk_shape shapes[NNK_MAX_INPUTS];
    for (int k = 0; k < li.n_inputs; k++) {
        int rc = source_of(e, li.inputs[k], names[k], sizeof names[k], &shapes[k]);
        if (rc)
            return rc;
        ins[k] = names[k];
    }
    const nnk_layer_vtable *vt = export_component(e->m, NNK_KIND_LAYER, li.type);
    const nnk_layer_export_c *cap = vt ? NNK_CAPABILITY(vt, NNK_CAP_EXPORT_C) : NULL;
    if (!cap || !NNK_HAS(cap, export_c) || !cap->export_c)
        return nnk_err_set(e->err, NNK_ECONFIG, "export: layer '%s' of type '%s' has no C export", li.name, li.type);
    fprintf(e->f, "    /* %s (%s) */\n", comment_text(li.name, shown_name, sizeof shown_name),
            comment_text(li.type, shown_type, sizeof shown_type));
    if (e->workspace)
        fprintf(e->f, "    float *a%d = ws + %lld;\n", i, (long long)(e->stack / (int64_t)sizeof(float)));
    else
        fprintf(e->f, "    float a%d[%lld];\n", i, (long long)n_out);
    e->stack += (int64_t)sizeof(float) * n_out;
    snprintf(out, sizeof out, "a%d", i);
    nnk_err sub = {NNK_OK, ""};
    int rc = cap->export_c(nnk_model_layer_instance(e->m, i), &c_host, (nnk_exporter *)e, li.n_inputs, ins, shapes, out,
                           &li.output, &sub);
    if (rc || e->failed)
        return component_failed(e, rc, &sub);
    return emit_activation(e, i, li.activation, n_out);
}

/* The function's name: the output file's stem, made an identifier. */
static void prefix_of(const char *path, char *out, size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t k = 0;
    if (isdigit((unsigned char)*base) && k + 1 < n)
        out[k++] = 'm';
    for (const char *p = base; *p && *p != '.' && k + 1 < n; p++)
        out[k++] = isalnum((unsigned char)*p) ? *p : '_';
    out[k] = 0;
    if (!k)
        snprintf(out, n, "model");
}

/* The function's body: the input row prepared as predict prepares it
 * (fills, scale, standardization), every layer, the outputs one after
 * another; *total gets their floats. */
static int write_body(emitter *e, int64_t *total)
{
    const nnk_model *m = e->m;
    FILE *body = e->f, *pre = e->pre;
    nnk_preprocessing pp;
    nnk_model_preprocessing(m, &pp);
    int rc = NNK_OK;
    if (e->workspace)
        fprintf(body, "    float *x = ws;\n");
    else
        fprintf(body, "    float x[%lld];\n", (long long)pp.n);
    fprintf(body, "    for (int j = 0; j < %lld; j++) {\n        float v = in[j];\n", (long long)pp.n);
    e->stack += (int64_t)sizeof(float) * pp.n;
    if (pp.fill) {
        e->f = pre;
        rc = write_array(e, "fill", pp.fill, pp.n);
        e->f = body;
        fprintf(body, "        if (v != v)\n            v = %s_fill[j];\n", e->prefix);
    }
    char scale[32];
    nnk_format_float((float)pp.scale, scale, sizeof scale);
    fprintf(body, "        v *= %s%s;\n", scale, strpbrk(scale, ".e") ? "f" : ".0f");
    if (!rc && pp.mean) {
        e->f = pre;
        rc = write_array(e, "mean", pp.mean, pp.n);
        if (!rc)
            rc = write_array(e, "inv_std", pp.inv_std, pp.n);
        e->f = body;
        fprintf(body, "        v = (v - %s_mean[j]) * %s_inv_std[j];\n", e->prefix, e->prefix);
    }
    fprintf(body, "        x[j] = v;\n    }\n");
    for (int i = 0; !rc && i < nnk_model_layer_count(m); i++)
        rc = emit_layer(e, i);
    const char *outs[16];
    int n_out = nnk_model_outputs(m, outs, NULL, 16);
    *total = 0;
    for (int k = 0; !rc && k < n_out && k < 16; k++) {
        char src[64];
        nnk_shape shape;
        rc = source_of(e, outs[k], src, sizeof src, &shape);
        int64_t n = shape_elements(&shape);
        fprintf(body, "    for (int j = 0; j < %lld; j++)\n        out[%lld + j] = %s[j];\n", (long long)n, (long long)*total,
                src);
        *total += n;
    }
    return rc;
}

static void upper_of(const char *prefix, char *upper, size_t n)
{
    snprintf(upper, n, "%s", prefix);
    for (char *p = upper; *p; p++)
        *p = (char)toupper((unsigned char)*p);
}

/* The .c file: its header's include, the arrays, the function. */
static int write_source(const char *output, const char *header, const char *prefix, const char *shown_path,
                        const char *weights, const char *code, int workspace, nnk_err *err)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    const char *hbase = strrchr(header, '/') ? strrchr(header, '/') + 1 : header;
    fprintf(f, "/* %s_predict: the model '%s' as C99 (generated by nnkit export; needs only libm). */\n", prefix, shown_path);
    fprintf(f, "#include \"%s\"\n#include <math.h>\n\n%s\n", hbase, weights);
    if (workspace) {
        char upper[128];
        upper_of(prefix, upper, sizeof upper);
        fprintf(f, "int %s_predict_ws(const float *in, float *out, float *ws)\n{\n%s    return 0;\n}\n\n", prefix, code);
        fprintf(f, "int %s_predict(const float *in, float *out)\n{\n    float ws[%s_WORKSPACE_FLOATS];\n"
                   "    return %s_predict_ws(in, out, ws);\n}\n",
                prefix, upper, prefix);
    } else {
        fprintf(f, "int %s_predict(const float *in, float *out)\n{\n%s    return 0;\n}\n", prefix, code);
    }
    fclose(f);
    int rc = nnk_write_file_atomic(output, text, len, err);
    free(text);
    return rc;
}

/* The header: the columns the function takes, its sizes, its prototype. */
static int write_header(const nnk_model *m, const char *header, const char *prefix, const char *shown_path,
                        int64_t outputs, int64_t stack, int workspace, nnk_err *err)
{
    char *text = NULL, upper[128];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    upper_of(prefix, upper, sizeof upper);
    fprintf(f, "/* %s_predict: the model '%s' (generated by nnkit export). */\n#ifndef %s_H\n#define %s_H\n\n", prefix,
            shown_path, upper, upper);
    const char *feats = nnk_model_feature_columns(m), *labels = nnk_model_label_columns(m);
    char *shown = malloc(4 * (strlen(feats) + strlen(labels)) + 8);
    if (shown && *feats)
        fprintf(f, "/* in: the CSV columns %s */\n", comment_text(feats, shown, 4 * strlen(feats) + 8));
    else if (shown && *labels)
        fprintf(f, "/* in: every CSV column but %s, in the file's order */\n", comment_text(labels, shown, 4 * strlen(labels) + 8));
    free(shown);
    nnk_preprocessing pp;
    nnk_model_preprocessing(m, &pp);
    fprintf(f, "#define %s_INPUTS %lld   /* floats in: a data row, the inputs one after another */\n", upper, (long long)pp.n);
    fprintf(f, "#define %s_OUTPUTS %lld  /* floats out: the outputs one after another */\n", upper, (long long)outputs);
    fprintf(f, "#define %s_STACK_BYTES %lld /* its buffers on the stack */\n", upper, (long long)stack);
    if (workspace)
        fprintf(f, "#define %s_WORKSPACE_FLOATS %lld /* the same buffers in a caller's workspace */\n", upper,
                (long long)(stack / (int64_t)sizeof(float)));
    fprintf(f, "\n/* One sample in inference mode, as nnkit predict computes it (preprocessing included);\n"
               " * returns 0. Reentrant: no state, no allocation. */\nint %s_predict(const float *in, float *out);\n",
            prefix);
    if (workspace)
        fprintf(f, "/* The same with the buffers in ws, %s_WORKSPACE_FLOATS floats the caller provides (static or\n"
                   " * allocated memory, where a stack that large is not to be had). */\n"
                   "int %s_predict_ws(const float *in, float *out, float *ws);\n",
                upper, prefix);
    fprintf(f, "\n#endif\n");
    fclose(f);
    int rc = nnk_write_file_atomic(header, text, len, err);
    free(text);
    return rc;
}

/* Buffers above this many bytes get the workspace form as well. */
#define WORKSPACE_FROM (64 * 1024)

/* The function's body and the arrays before it, in one form. */
typedef struct generated {
    char *code, *weights;
    int64_t total, stack; /* output floats; buffer bytes */
    int workspace;
} generated;

static int generate(const nnk_model *m, const char *prefix, int workspace, generated *g, nnk_err *err)
{
    size_t code_len = 0, weights_len = 0;
    memset(g, 0, sizeof *g);
    FILE *body = open_memstream(&g->code, &code_len), *pre = open_memstream(&g->weights, &weights_len);
    if (!body || !pre) {
        if (body)
            fclose(body);
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    emitter e = {.f = body, .m = m, .prefix = prefix, .err = err, .pre = pre, .workspace = workspace};
    int rc = write_body(&e, &g->total);
    fclose(body);
    fclose(pre);
    for (int k = 0; k < e.n_names; k++)
        free(e.names[k]);
    free(e.names);
    g->stack = e.stack, g->workspace = workspace;
    if (rc)
        free(g->code), free(g->weights), g->code = g->weights = NULL;
    return rc;
}

int export_c(const nnk_model *m, const char *model_path, const char *output, nnk_err *err)
{
    char prefix[128], header[4200], shown_path[4 * 1024 + 8];
    const char *out_base = strrchr(output, '/') ? strrchr(output, '/') + 1 : output;
    if (!*out_base || strspn(out_base, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+-") != strlen(out_base))
        return nnk_err_set(err, NNK_ECONFIG, "export: the output's file name may hold only letters, digits, '_', '-', '+' "
                           "and '.' (the .c includes its header by that name)");
    comment_text(model_path, shown_path, sizeof shown_path);
    prefix_of(output, prefix, sizeof prefix);
    if (nnk_model_encoded_feature_count(m))
        return nnk_err_set(err, NNK_ECONFIG, "export: the model one-hot encodes text columns; the C function takes numbers "
                           "(export the ONNX model, or train on numbers)");
    snprintf(header, sizeof header, "%.*s.h", (int)(strrchr(output, '.') ? strrchr(output, '.') - output : (long)strlen(output)),
             output);
    generated g;
    int rc = generate(m, prefix, 0, &g, err);
    if (!rc && g.stack > WORKSPACE_FROM) { /* too big for some stacks: a workspace form too */
        free(g.code), free(g.weights);
        rc = generate(m, prefix, 1, &g, err);
    }
    if (!rc)
        rc = write_source(output, header, prefix, shown_path, g.weights, g.code, g.workspace, err);
    if (!rc && (rc = write_header(m, header, prefix, shown_path, g.total, g.stack, g.workspace, err)))
        remove(output); /* no .c without its header */
    free(g.code), free(g.weights);
    return rc;
}
