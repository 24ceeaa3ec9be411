/* nnkit weights: a saved model's weights, as the book's get_weights() shows
 * them: every layer's, one layer's, or one weight, as text, CSV or NumPy's
 * .npy format (so the arrays load in Python with numpy.load). */
#include "cli.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct selected {
    const char *layer;
    const nnk_weight *w;
} selected;

/* The weights that `which` (LAYER or LAYER/WEIGHT, NULL for all) names. */
static int select_weights(const nnk_model *m, const char *which, selected *out, int cap, nnk_err *err)
{
    char layer[256] = "", weight[256] = "";
    if (which) {
        const char *slash = strchr(which, '/');
        if (!*which || which[0] == '/' || (slash && (!slash[1] || strchr(slash + 1, '/'))))
            return nnk_err_set(err, NNK_EUSAGE, "weights: '%s' names no weight (give LAYER or LAYER/WEIGHT)", which), -1;
        snprintf(layer, sizeof layer, "%.*s", slash ? (int)(slash - which) : (int)strlen(which), which);
        if (slash)
            snprintf(weight, sizeof weight, "%s", slash + 1);
    }
    int n = 0, layer_found = 0;
    for (int i = 0; i < nnk_model_layer_count(m); i++) {
        nnk_layer_info li;
        nnk_model_layer(m, i, &li);
        if (*layer && strcmp(layer, li.name))
            continue;
        layer_found = 1;
        for (int k = 0; k < li.n_weights; k++)
            if ((!*weight || !strcmp(weight, li.weights[k].name)) && n < cap)
                out[n++] = (selected){li.name, &li.weights[k]};
        if (*weight && !n)
            return nnk_err_set(err, NNK_EUSAGE, "weights: layer '%s' has no weight '%s'", layer, weight), -1;
    }
    if (*layer && !layer_found)
        return nnk_err_set(err, NNK_EUSAGE, "weights: the model has no layer '%s'", layer), -1;
    return n;
}

static void shape_text(const nnk_tensor *t, char *buf, size_t n)
{
    int o = snprintf(buf, n, "(");
    for (int d = 0; d < t->ndim && o < (int)n; d++)
        o += snprintf(buf + o, n - (size_t)o, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    if (o < (int)n)
        snprintf(buf + o, n - (size_t)o, "%s)", t->ndim == 1 ? "," : "");
}

/* Rows of the last axis, one line each. */
static void write_values(FILE *f, const nnk_tensor *t, const char *sep)
{
    int64_t n = nnk_tensor_elements(t), cols = t->ndim ? t->shape[t->ndim - 1] : 1;
    char num[64];
    for (int64_t i = 0; i < n; i++) {
        nnk_format_float(t->data[i], num, sizeof num);
        fprintf(f, "%s%s", i % cols ? sep : "", num);
        if ((i + 1) % cols == 0)
            fputc('\n', f);
    }
}

/* NumPy's .npy, version 1.0: magic, header length, a Python dict literal
 * padded to a multiple of 64 bytes, then little-endian float32 data. */
static void write_npy(FILE *f, const nnk_tensor *t)
{
    char dict[256], shape[128];
    shape_text(t, shape, sizeof shape);
    int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", shape);
    int total = 10 + len + 1, pad = (64 - total % 64) % 64;
    unsigned short hlen = (unsigned short)(len + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hlen & 0xff, f);
    fputc(hlen >> 8, f);
    fwrite(dict, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    fwrite(t->data, sizeof(float), (size_t)nnk_tensor_elements(t), f);
}

int cmd_weights_run(const char *model, const char *which, const char *format, const char *output,
                    const char *plugin_dir, nnk_err *err)
{
    nnk_registry *reg = nnk_registry_new();
    nnk_model *m = NULL;
    int rc = reg ? nnk_registry_load_default(reg, plugin_dir, err) : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (!rc && !(m = nnk_model_load(reg, model, err)))
        rc = err->status;
    selected sel[1024];
    int n = rc ? 0 : select_weights(m, which, sel, 1024, err);
    if (!rc && n < 0)
        rc = err->status;
    int npy = !strcmp(format, "npy"), csv = !strcmp(format, "csv");
    if (!rc && csv && n != 1)
        rc = nnk_err_set(err, NNK_EUSAGE, "weights: --format csv shows one weight; name it as LAYER/WEIGHT (%d selected)", n);
    if (!rc && npy && n > 1 && !output)
        rc = nnk_err_set(err, NNK_EUSAGE, "weights: --format npy with several weights needs -o DIR (one LAYER.WEIGHT.npy each)");
    if (!rc && npy && n > 1 && nnk_mkdir_p(output, "output directory", err))
        rc = err->status;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = NULL;
    for (int i = 0; !rc && i < n; i++) {
        const nnk_tensor *t = &sel[i].w->value;
        if (!f && !(f = open_memstream(&buf, &len))) {
            rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
            break;
        }
        if (npy) {
            write_npy(f, t);
        } else if (csv) {
            write_values(f, t, ",");
        } else {
            char shape[128];
            shape_text(t, shape, sizeof shape);
            fprintf(f, "%s%s/%s %s%s\n", i ? "\n" : "", sel[i].layer, sel[i].w->name, shape,
                    sel[i].w->trainable ? "" : " (not trainable)");
            write_values(f, t, " ");
        }
        if (npy && n > 1) { /* one file per weight */
            fclose(f);
            f = NULL;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.%s.npy", output, sel[i].layer, sel[i].w->name);
            rc = buf ? write_output(buf, len, path, err) : nnk_err_set(err, NNK_ENOMEM, "out of memory");
            free(buf);
            buf = NULL;
        }
    }
    if (f) {
        fclose(f);
        if (!rc)
            rc = buf ? write_output(buf, len, output, err) : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    }
    free(buf);
    nnk_model_free(m);
    nnk_registry_free(reg);
    return rc;
}

int cmd_weights(const options *o)
{
    if (!o->positional)
        return usage_error("weights", "%s", "missing MODEL.nnk");
    const char *format = o->format ? o->format : "text";
    if (strcmp(format, "text") && strcmp(format, "csv") && strcmp(format, "npy"))
        return usage_error("weights", "--format must be text, csv or npy, got '%s'", format);
    nnk_err err = {NNK_OK, ""};
    if (cmd_weights_run(o->positional, o->extra, format, o->output, o->plugin_dir, &err))
        return fail(&err);
    return 0;
}

