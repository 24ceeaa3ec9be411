/* What the tensorboard callback writes once per run: the model graph, the
 * experiment and summary as text, and the hparams session. */
#include "tensorboard.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int add_shape(nnk_tb_graph *g, int node, const nnk_shape *s, int batch, nnk_err *err)
{
    int64_t dims[NNK_MAX_DIMS + 1];
    int n = 0;
    if (batch)
        dims[n++] = -1; /* the batch: unknown */
    for (int d = 0; d < s->ndim; d++)
        dims[n++] = s->dim[d];
    return nnk_tb_graph_attr_shape(g, node, "_output_shapes", dims, n, err);
}

/* One node per model input and per layer (op = the component's name),
 * edges from the layer's inputs, and the layer's weights as nodes under
 * its name, so the Graphs dashboard groups them. */
int tb_write_graph(tb_state *s, const nnk_train_info *info, nnk_err *err)
{
    nnk_tb_graph *g = nnk_tb_graph_new();
    if (!g)
        return tb_host->err_set(err, NNK_ENOMEM, "out of memory");
    int rc = NNK_OK, n = tb_host->model_layer_count(info->model);
    nnk_shape in_shape;
    const char *in_name;
    for (int i = 0; !rc && tb_host->model_input(info->model, i, &in_name, &in_shape) == 0; i++) {
        int node = nnk_tb_graph_node(g, in_name, "Input", NULL, 0, err);
        rc = node < 0 ? (int)err->status : nnk_tb_graph_attr_type(g, node, "dtype", 1, err);
        if (!rc)
            rc = add_shape(g, node, &in_shape, 1, err);
    }
    for (int i = 0; !rc && i < n; i++) {
        nnk_layer_info li;
        tb_host->model_layer(info->model, i, &li);
        const char *inputs[NNK_MAX_WEIGHTS + 16];
        char names[NNK_MAX_WEIGHTS][300];
        int k = 0;
        for (int j = 0; j < li.n_inputs && k < 16; j++)
            inputs[k++] = li.inputs[j];
        for (int w = 0; !rc && w < li.n_weights; w++) {
            snprintf(names[w], sizeof names[w], "%s/%s", li.name, li.weights[w].name);
            int node = nnk_tb_graph_node(g, names[w], "Variable", NULL, 0, err);
            nnk_shape ws = {li.weights[w].value.ndim, {0}};
            for (int d = 0; d < ws.ndim; d++)
                ws.dim[d] = li.weights[w].value.shape[d];
            rc = node < 0 ? (int)err->status : add_shape(g, node, &ws, 0, err);
            inputs[k++] = names[w];
        }
        int node = rc ? -1 : nnk_tb_graph_node(g, li.name, li.type, inputs, k, err);
        if (node < 0)
            rc = err->status;
        if (!rc)
            rc = add_shape(g, node, &li.output, 1, err);
        if (!rc && li.activation)
            rc = nnk_tb_graph_attr_s(g, node, "activation", li.activation, err);
    }
    if (!rc)
        rc = nnk_tb_write_graph(s->train, g, 0, -1, err);
    nnk_tb_graph_free(g);
    return rc;
}

/* Markdown with the text indented four spaces, so it shows verbatim. */
static char *as_code_block(const char *title, const char *text)
{
    size_t lines = 1;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    char *out = malloc(strlen(title) + strlen(text) + lines * 4 + 16);
    if (!out)
        return NULL;
    char *o = out + sprintf(out, "%s\n\n    ", title);
    for (const char *p = text; *p; p++) {
        *o++ = *p;
        if (*p == '\n' && p[1]) {
            memcpy(o, "    ", 4);
            o += 4;
        }
    }
    *o = 0;
    return out;
}

int tb_write_texts(tb_state *s, const nnk_train_info *info, nnk_err *err)
{
    int rc = NNK_OK;
    if (info->experiment) {
        char *md = as_code_block("The experiment as run (defaults and --set included):", info->experiment);
        rc = md ? nnk_tb_text(s->train, "experiment", md, 0, -1, err)
                : tb_host->err_set(err, NNK_ENOMEM, "out of memory");
        free(md);
    }
    char *summary = rc ? NULL : tb_host->model_summary(info->model);
    if (summary) {
        char *md = as_code_block("The model:", summary);
        rc = md ? nnk_tb_text(s->train, "model_summary", md, 0, -1, err)
                : tb_host->err_set(err, NNK_ENOMEM, "out of memory");
        free(md);
        free(summary);
    }
    return rc;
}

/* Each hyper-parameter as a number, a bool or a string, whichever its
 * text is. */
int tb_write_session_start(tb_state *s, const nnk_train_info *info, nnk_err *err)
{
    int n = info->n_hparams;
    nnk_tb_hparam *hp = tb_host->alloc_zeroed((size_t)(n > 0 ? n : 1), sizeof *hp);
    if (!hp)
        return tb_host->err_set(err, NNK_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const char *v = info->hparam_values[i];
        char *end;
        double num = strtod(v, &end);
        hp[i].name = info->hparam_names[i];
        if (*v && !*end) {
            hp[i].type = NNK_TB_HP_NUMBER;
            hp[i].number = num;
        } else if (!strcmp(v, "true") || !strcmp(v, "false")) {
            hp[i].type = NNK_TB_HP_BOOL;
            hp[i].boolean = !strcmp(v, "true");
        } else {
            hp[i].type = NNK_TB_HP_STRING;
            hp[i].string = v;
        }
    }
    int rc = nnk_tb_hparams_start(s->session, hp, n, "", (double)time(NULL), 0, -1, err);
    tb_host->free(hp);
    return rc;
}
