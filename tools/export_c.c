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
    nnk_err *err;
    FILE *pre;              /* the arrays before the function (plugins' hooks add theirs) */
    char **names;           /* the identifiers handed to hooks */
    int n_names;
    int failed;
} emitter;

static int write_array(emitter *e, const char *name, const float *v, int64_t n);

/* The export host's C services for a plugin's hooks. */
static const char *hook_array(nnk_exporter *x, const float *values, int64_t n)
{
    emitter *e = (emitter *)x;
    char name[64], full[200];
    snprintf(name, sizeof name, "p%d", e->n_names);
    char **grown = realloc(e->names, sizeof(char *) * (size_t)(e->n_names + 1));
    if (!grown) {
        e->failed = 1;
        return NULL;
    }
    e->names = grown;
    FILE *body = e->f;
    e->f = e->pre;
    if (write_array(e, name, values, n))
        e->failed = 1;
    e->f = body;
    snprintf(full, sizeof full, "%s_%s", e->prefix, name);
    return e->names[e->n_names++] = strdup(full);
}

static void hook_code(nnk_exporter *x, const char *fmt, ...)
{
    emitter *e = (emitter *)x;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(e->f, fmt, ap);
    va_end(ap);
}

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

static const nnk_export_host c_host = {sizeof(nnk_export_host), NULL, NULL, hook_array, hook_code};



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
 * earlier layer's buffer; its element count in *n. */
static int source_of(emitter *e, const char *name, char *expr, size_t size, int64_t *n)
{
    const char *names[16];
    nnk_shape shapes[16];
    int n_in = nnk_model_inputs(e->m, names, shapes, 16);
    int64_t off = 0;
    for (int j = 0; j < n_in; j++) {
        if (!strcmp(names[j], name)) {
            snprintf(expr, size, "(x + %lld)", (long long)off);
            *n = shape_elements(&shapes[j]);
            return NNK_OK;
        }
        off += shape_elements(&shapes[j]);
    }
    for (int i = 0; i < nnk_model_layer_count(e->m); i++) {
        nnk_layer_info li;
        nnk_model_layer(e->m, i, &li);
        if (!strcmp(li.name, name)) {
            snprintf(expr, size, "a%d", i);
            *n = shape_elements(&li.output);
            return NNK_OK;
        }
    }
    return nnk_err_set(e->err, NNK_EMODEL, "export: no input or layer '%s'", name);
}

/* The activation of a node over its n outputs, in place. */
static int emit_activation(emitter *e, int i, const char *act, int64_t n)
{
    const nnk_params *p = nnk_model_layer_activation_params(e->m, i);
    const char *expr = NULL;
    char buf[160];
    if (!act || !strcmp(act, "linear"))
        return NNK_OK;
    if (!strcmp(act, "softmax")) { /* over the sample's outputs, as nnkit's softmax rows */
        fprintf(e->f, "    {\n        float mx = a%d[0];\n        double sum = 0;\n", i);
        fprintf(e->f, "        for (int j = 1; j < %lld; j++)\n            mx = a%d[j] > mx ? a%d[j] : mx;\n", (long long)n, i, i);
        fprintf(e->f, "        for (int j = 0; j < %lld; j++) {\n            a%d[j] = expf(a%d[j] - mx);\n            sum += a%d[j];\n        }\n",
                (long long)n, i, i, i);
        fprintf(e->f, "        for (int j = 0; j < %lld; j++)\n            a%d[j] *= (float)(1.0 / sum);\n    }\n", (long long)n, i);
        return NNK_OK;
    }
    if (!strcmp(act, "relu"))
        expr = "v > 0 ? v : 0.0f";
    else if (!strcmp(act, "heaviside"))
        expr = "v >= 0 ? 1.0f : 0.0f";
    else if (!strcmp(act, "sign"))
        expr = "v > 0 ? 1.0f : v < 0 ? -1.0f : 0.0f";
    else if (!strcmp(act, "sigmoid"))
        expr = "v >= 0 ? 1.0f / (1.0f + expf(-v)) : expf(v) / (1.0f + expf(v))";
    else if (!strcmp(act, "tanh"))
        expr = "tanhf(v)";
    else if (!strcmp(act, "softplus"))
        expr = "v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v))";
    else if (!strcmp(act, "selu"))
        expr = "v > 0 ? 1.05070098f * v : (float)(1.0507009873554805 * 1.6732632423543772) * expm1f(v)";
    else if (!strcmp(act, "leaky_relu") || !strcmp(act, "elu")) {
        char alpha[32];
        nnk_format_float((float)export_param(p, "alpha", !strcmp(act, "elu") ? 1.0 : 0.2), alpha, sizeof alpha);
        snprintf(buf, sizeof buf, !strcmp(act, "elu") ? "v > 0 ? v : (%s%s) * expm1f(v)" : "v > 0 ? v : (%s%s) * v", alpha,
                 strpbrk(alpha, ".e") ? "f" : ".0f");
        expr = buf;
    }
    const nnk_activation_vtable *vt = expr ? NULL : export_component(e->m, NNK_KIND_ACTIVATION, act);
    if (vt && NNK_HAS(vt, export_c) && vt->export_c) {
        if (vt->export_c(nnk_params_config(p), buf, sizeof buf, e->err)) /* the plugin's own mapping */
            return e->err->status;
        expr = buf;
    }
    if (!expr) {
        nnk_layer_info li;
        nnk_model_layer(e->m, i, &li);
        return nnk_err_set(e->err, NNK_ECONFIG, "export: layer '%s': activation '%s' has no C export", li.name, act);
    }
    fprintf(e->f, "    for (int j = 0; j < %lld; j++) {\n        float v = a%d[j];\n        a%d[j] = %s;\n    }\n", (long long)n,
            i, i, expr);
    return NNK_OK;
}


/* One layer: its weights' arrays go first (into the text before the
 * function, in *pre), its code into the function. */
static int emit_layer(emitter *e, FILE *pre, int i)
{
    nnk_layer_info li;
    nnk_model_layer(e->m, i, &li);
    int64_t n_out = shape_elements(&li.output), n_in = 0, last = li.output.dim[li.output.ndim - 1];
    char src[64], name[300];
    int rc = source_of(e, li.inputs[0], src, sizeof src, &n_in);
    if (rc)
        return rc;
    char shown_name[300], shown_type[300];
    fprintf(e->f, "    /* %s (%s) */\n    float a%d[%lld];\n", comment_text(li.name, shown_name, sizeof shown_name),
            comment_text(li.type, shown_type, sizeof shown_type), i, (long long)n_out);
    e->stack += (int64_t)sizeof(float) * n_out;
    FILE *body = e->f;
    e->f = pre;
    if (!strcmp(li.type, "dense")) {
        int64_t k = li.weights[0].value.shape[0], units = li.weights[0].value.shape[1], nb = 0;
        const float *b = export_weight(&li, "bias", &nb);
        snprintf(name, sizeof name, "w%d", i);
        rc = write_array(e, name, li.weights[0].value.data, k * units);
        if (!rc && b) {
            snprintf(name, sizeof name, "b%d", i);
            rc = write_array(e, name, b, nb);
        }
        e->f = body;
        fprintf(e->f, "    for (int r = 0; r < %lld; r++)\n        for (int j = 0; j < %lld; j++) {\n", (long long)(n_in / k),
                (long long)units);
        if (b)
            fprintf(e->f, "            double acc = %s_b%d[j];\n", e->prefix, i);
        else
            fprintf(e->f, "            double acc = 0;\n");
        fprintf(e->f, "            for (int t = 0; t < %lld; t++)\n                acc += (double)%s[r * %lld + t] * %s_w%d[t * %lld + j];\n",
                (long long)k, src, (long long)k, e->prefix, i, (long long)units);
        fprintf(e->f, "            a%d[r * %lld + j] = (float)acc;\n        }\n", i, (long long)units);
    } else if (!strcmp(li.type, "flatten") || !strcmp(li.type, "dropout")) { /* identity on a sample's values */
        e->f = body;
        fprintf(e->f, "    for (int j = 0; j < %lld; j++)\n        a%d[j] = %s[j];\n", (long long)n_out, i, src);
    } else if (!strcmp(li.type, "add")) {
        e->f = body;
        fprintf(e->f, "    for (int j = 0; j < %lld; j++)\n        a%d[j] = %s[j]", (long long)n_out, i, src);
        for (int k = 1; !rc && k < li.n_inputs; k++) {
            int64_t n;
            if (!(rc = source_of(e, li.inputs[k], src, sizeof src, &n)))
                fprintf(e->f, " + %s[j]", src);
        }
        fprintf(e->f, ";\n");
    } else if (!strcmp(li.type, "concatenate") || !strcmp(li.type, "concat")) { /* along the last axis */
        e->f = body;
        int64_t rows = n_out / last, at = 0;
        for (int k = 0; !rc && k < li.n_inputs; k++) {
            int64_t n;
            if ((rc = source_of(e, li.inputs[k], src, sizeof src, &n)))
                break;
            int64_t w = n / rows;
            fprintf(e->f, "    for (int r = 0; r < %lld; r++)\n        for (int j = 0; j < %lld; j++)\n", (long long)rows,
                    (long long)w);
            fprintf(e->f, "            a%d[r * %lld + %lld + j] = %s[r * %lld + j];\n", i, (long long)last, (long long)at, src,
                    (long long)w);
            at += w;
        }
    } else if (!strcmp(li.type, "batch_normalization") || !strcmp(li.type, "normalization")) {
        int64_t c = last;
        export_norm norm;
        float *scale = malloc(sizeof(float) * (size_t)c), *shift = malloc(sizeof(float) * (size_t)c);
        rc = scale && shift ? export_normalizer(e->m, i, &li, c, &norm, scale, shift, e->err)
                            : nnk_err_set(e->err, NNK_ENOMEM, "out of memory");
        if (!rc) {
            snprintf(name, sizeof name, "mean%d", i);
            rc = write_array(e, name, norm.mean, c);
        }
        if (!rc) {
            snprintf(name, sizeof name, "scale%d", i);
            rc = write_array(e, name, scale, c);
        }
        if (!rc) {
            snprintf(name, sizeof name, "shift%d", i);
            rc = write_array(e, name, shift, c);
        }
        free(scale);
        free(shift);
        e->f = body;
        fprintf(e->f, "    for (int j = 0; j < %lld; j++)\n        a%d[j] = (%s[j] - %s_mean%d[j %% %lld]) * %s_scale%d[j %% %lld] + %s_shift%d[j %% %lld];\n",
                (long long)n_out, i, src, e->prefix, i, (long long)c, e->prefix, i, (long long)c, e->prefix, i, (long long)c);
    } else { /* a plugin's layer: its own export hook, or a refusal naming it */
        e->f = body;
        const nnk_layer_vtable *vt = export_component(e->m, NNK_KIND_LAYER, li.type);
        if (!vt || !NNK_HAS(vt, export_c) || !vt->export_c)
            return nnk_err_set(e->err, NNK_ECONFIG, "export: layer '%s' of type '%s' has no C export", li.name, li.type);
        char names[NNK_MAX_INPUTS][64], out[32];
        const char *ins[NNK_MAX_INPUTS];
        int64_t sizes[NNK_MAX_INPUTS];
        for (int k = 0; !rc && k < li.n_inputs; k++) {
            rc = source_of(e, li.inputs[k], names[k], sizeof names[k], &sizes[k]);
            ins[k] = names[k];
        }
        snprintf(out, sizeof out, "a%d", i);
        e->pre = pre;
        if (!rc)
            rc = vt->export_c(nnk_model_layer_instance(e->m, i), &c_host, (nnk_exporter *)e, ins, sizes, li.n_inputs, out,
                              n_out, e->err);
        if (!rc && e->failed)
            rc = nnk_err_set(e->err, NNK_ENOMEM, "out of memory");
    }
    e->f = body;
    return rc ? rc : emit_activation(e, i, li.activation, n_out);
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

int export_c(const nnk_model *m, const char *model_path, const char *output, nnk_err *err)
{
    char prefix[128], header[4200], guard[160], shown_path[4 * 1024 + 8];
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
    char *code = NULL, *weights = NULL;
    size_t code_len = 0, weights_len = 0;
    FILE *body = open_memstream(&code, &code_len), *pre = open_memstream(&weights, &weights_len);
    if (!body || !pre) {
        if (body)
            fclose(body);
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    emitter e = {body, m, prefix, 0, err, pre, NULL, 0, 0};
    nnk_preprocessing pp;
    nnk_model_preprocessing(m, &pp);
    int rc = NNK_OK;
    /* the input row, prepared as predict prepares it */
    fprintf(body, "    float x[%lld];\n    for (int j = 0; j < %lld; j++) {\n        float v = in[j];\n", (long long)pp.n,
            (long long)pp.n);
    e.stack += (int64_t)sizeof(float) * pp.n;
    if (pp.fill) {
        e.f = pre;
        rc = write_array(&e, "fill", pp.fill, pp.n);
        e.f = body;
        fprintf(body, "        if (v != v)\n            v = %s_fill[j];\n", prefix);
    }
    char scale[32];
    nnk_format_float((float)pp.scale, scale, sizeof scale);
    fprintf(body, "        v *= %s%s;\n", scale, strpbrk(scale, ".e") ? "f" : ".0f");
    if (!rc && pp.mean) {
        e.f = pre;
        rc = write_array(&e, "mean", pp.mean, pp.n);
        if (!rc)
            rc = write_array(&e, "inv_std", pp.inv_std, pp.n);
        e.f = body;
        fprintf(body, "        v = (v - %s_mean[j]) * %s_inv_std[j];\n", prefix, prefix);
    }
    fprintf(body, "        x[j] = v;\n    }\n");
    for (int i = 0; !rc && i < nnk_model_layer_count(m); i++)
        rc = emit_layer(&e, pre, i);
    const char *outs[16];
    int64_t widths[16], total = 0;
    int n_out = nnk_model_outputs(m, outs, widths, 16);
    for (int k = 0; !rc && k < n_out && k < 16; k++) {
        char src[64];
        int64_t n;
        rc = source_of(&e, outs[k], src, sizeof src, &n);
        fprintf(body, "    for (int j = 0; j < %lld; j++)\n        out[%lld + j] = %s[j];\n", (long long)n, (long long)total,
                src);
        total += n;
    }
    fclose(body);
    fclose(pre);
    if (!rc) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        const char *hbase = strrchr(header, '/') ? strrchr(header, '/') + 1 : header;
        fprintf(f, "/* %s_predict: the model '%s' as C99 (generated by nnkit export; needs only libm). */\n", prefix, shown_path);
        fprintf(f, "#include \"%s\"\n#include <math.h>\n\n%s\n", hbase, weights);
        fprintf(f, "int %s_predict(const float *in, float *out)\n{\n%s    return 0;\n}\n", prefix, code);
        fclose(f);
        rc = nnk_write_file_atomic(output, text, len, err);
        free(text);
    }
    if (!rc) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        char upper[128];
        snprintf(upper, sizeof upper, "%s", prefix);
        for (char *p = upper; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        snprintf(guard, sizeof guard, "%s_H", upper);
        fprintf(f, "/* %s_predict: the model '%s' (generated by nnkit export). */\n#ifndef %s\n#define %s\n\n", prefix, shown_path,
                guard, guard);
        const char *feats = nnk_model_feature_columns(m), *labels = nnk_model_label_columns(m);
        char *shown = malloc(4 * (strlen(feats) + strlen(labels)) + 8);
        if (shown && *feats)
            fprintf(f, "/* in: the CSV columns %s */\n", comment_text(feats, shown, 4 * strlen(feats) + 8));
        else if (shown && *labels)
            fprintf(f, "/* in: every CSV column but %s, in the file's order */\n", comment_text(labels, shown, 4 * strlen(labels) + 8));
        free(shown);
        fprintf(f, "#define %s_INPUTS %lld   /* floats in: a data row, the inputs one after another */\n", upper, (long long)pp.n);
        fprintf(f, "#define %s_OUTPUTS %lld  /* floats out: the outputs one after another */\n", upper, (long long)total);
        fprintf(f, "#define %s_STACK_BYTES %lld /* its buffers on the stack */\n\n", upper, (long long)e.stack);
        fprintf(f, "/* One sample in inference mode, as nnkit predict computes it (preprocessing included);\n"
                   " * returns 0. Reentrant: no state, no allocation. */\nint %s_predict(const float *in, float *out);\n\n#endif\n",
                prefix);
        fclose(f);
        rc = nnk_write_file_atomic(header, text, len, err);
        free(text);
        if (rc) /* no .c without its header */
            remove(output);
    }
    for (int k = 0; k < e.n_names; k++)
        free(e.names[k]);
    free(e.names);
    free(code);
    free(weights);
    return rc;
}
