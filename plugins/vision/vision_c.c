/* The vision layers in standalone C: loops over one sample with every
 * size a constant, sums in double as the exported dense layers do;
 * windows read real cells only (the padding is skipped). */
#include "vision.h"

int conv_c(const nnk_layer *layer, const nnk_export_host *h, nnk_exporter *x, int n_in, const char *const *inputs,
           const nnk_shape *in_shapes, const char *output, const nnk_shape *out_shape, nnk_err *err)
{
    (void)n_in, (void)out_shape, (void)err;
    window2d w;
    conv_window(layer, &in_shapes[0], &w);
    long long c = w.channels, f = w.out_c;
    const char *k = h->c_array(x, "k", layer->weights[0].value.data, w.k[0] * w.k[1] * c * f);
    const char *b = layer->n_weights > 1 ? h->c_array(x, "b", layer->weights[1].value.data, f) : NULL;
    if (!k || (layer->n_weights > 1 && !b))
        return NNK_ENOMEM;
    h->c_code(x, "    for (int i = 0; i < %lld; i++)\n        for (int j = 0; j < %lld; j++)\n"
                 "            for (int o = 0; o < %lld; o++) {\n",
              (long long)w.out_h, (long long)w.out_w, f);
    if (b)
        h->c_code(x, "                double acc = %s[o];\n", b);
    else
        h->c_code(x, "                double acc = 0;\n");
    h->c_code(x, "                for (int u = 0; u < %lld; u++) {\n                    int r = i * %lld - %lld + u * %lld;\n"
                 "                    if (r < 0 || r >= %lld)\n                        continue;\n",
              (long long)w.k[0], (long long)w.stride[0], (long long)w.pad[0], (long long)w.dilation[0],
              (long long)w.in_h);
    h->c_code(x, "                    for (int v = 0; v < %lld; v++) {\n                        int s = j * %lld - %lld + v * %lld;\n"
                 "                        if (s < 0 || s >= %lld)\n                            continue;\n",
              (long long)w.k[1], (long long)w.stride[1], (long long)w.pad[1], (long long)w.dilation[1],
              (long long)w.in_w);
    h->c_code(x, "                        for (int c = 0; c < %lld; c++)\n"
                 "                            acc += (double)%s[(r * %lld + s) * %lld + c] * %s[((u * %lld + v) * %lld + c) * %lld + o];\n"
                 "                    }\n                }\n",
              c, inputs[0], (long long)w.in_w, c, k, (long long)w.k[1], c, f);
    h->c_code(x, "                %s[(i * %lld + j) * %lld + o] = (float)acc;\n            }\n", output, (long long)w.out_w, f);
    return NNK_OK;
}

void pool_c(const nnk_export_host *h, nnk_exporter *x, const window2d *w, int max, const char *input, const char *output)
{
    long long c = w->channels;
    h->c_code(x, "    for (int i = 0; i < %lld; i++)\n        for (int j = 0; j < %lld; j++)\n"
                 "            for (int c = 0; c < %lld; c++) {\n                double acc = %s;\n%s",
              (long long)w->out_h, (long long)w->out_w, c, max ? "-INFINITY" : "0",
              max ? "" : "                int cells = 0; /* the window's real cells */\n");
    h->c_code(x, "                for (int r = i * %lld - %lld; r < i * %lld - %lld + %lld; r++)\n"
                 "                    for (int s = j * %lld - %lld; s < j * %lld - %lld + %lld; s++) {\n"
                 "                        if (r < 0 || r >= %lld || s < 0 || s >= %lld)\n                            continue;\n",
              (long long)w->stride[0], (long long)w->pad[0], (long long)w->stride[0], (long long)w->pad[0],
              (long long)w->k[0], (long long)w->stride[1], (long long)w->pad[1], (long long)w->stride[1],
              (long long)w->pad[1], (long long)w->k[1], (long long)w->in_h, (long long)w->in_w);
    h->c_code(x, "                        double v = %s[(r * %lld + s) * %lld + c];\n", input, (long long)w->in_w, c);
    if (max)
        h->c_code(x, "                        acc = v > acc ? v : acc;\n                    }\n");
    else
        h->c_code(x, "                        acc += v;\n                        cells++;\n                    }\n");
    h->c_code(x, "                %s[(i * %lld + j) * %lld + c] = (float)%s;\n            }\n", output, (long long)w->out_w,
              c, max ? "acc" : "(acc / cells)");
}

void global_c(const nnk_export_host *h, nnk_exporter *x, const nnk_shape *in, int max, const char *input,
              const char *output)
{
    long long cells = (long long)(in->dim[0] * in->dim[1]), c = (long long)in->dim[2];
    h->c_code(x, "    for (int c = 0; c < %lld; c++) {\n        double acc = %s;\n", c, max ? "-INFINITY" : "0");
    h->c_code(x, "        for (int i = 0; i < %lld; i++) {\n            double v = %s[i * %lld + c];\n", cells, input, c);
    h->c_code(x, max ? "            acc = v > acc ? v : acc;\n        }\n" : "            acc += v;\n        }\n");
    if (max)
        h->c_code(x, "        %s[c] = (float)acc;\n    }\n", output);
    else
        h->c_code(x, "        %s[c] = (float)(acc / %lld);\n    }\n", output, cells);
}
