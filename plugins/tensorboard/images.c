/* Images for the Images dashboard: the first dense layer's weights as a
 * grid of tiles, and sample inputs captioned under each tile with the
 * predicted class's name (green when right, red when wrong) and the true
 * one's. */
#include "tensorboard.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GAP 2
#define LINE_H (5 * TB_CAPTION_SCALE + 3)
#define CAPTION_H (2 * LINE_H + 2) /* the predicted class, then the true one */

int tb_image_shape(const nnk_model_view *m, int *w, int *h)
{
    nnk_shape s;
    if (tb_host->model_input(m, 0, NULL, &s) || tb_host->model_input(m, 1, NULL, NULL) == 0)
        return 0; /* no input, or several: not one picture per sample */
    if (s.ndim == 2 || (s.ndim == 3 && s.dim[2] == 1)) {
        *h = (int)s.dim[0];
        *w = (int)s.dim[1];
        return *w > 0 && *h > 0 && *w <= 256 && *h <= 256;
    }
    return 0;
}

static int64_t argmax(const float *v, int64_t n)
{
    int64_t k = 0;
    for (int64_t j = 1; j < n; j++)
        if (v[j] > v[k])
            k = j;
    return k;
}

/* Maps values to 0..255 over [lo, hi]. */
static uint8_t to_byte(float v, float lo, float hi)
{
    float t = hi > lo ? (v - lo) / (hi - lo) : 0.5f;
    return (uint8_t)(t < 0 ? 0 : t > 1 ? 255 : t * 255 + 0.5f);
}

static int weight_grid(tb_state *s, const nnk_train_info *info, nnk_err *err)
{
    int n = tb_host->model_layer_count(info->model), iw, ih;
    nnk_layer_info li;
    int found = 0;
    for (int i = 0; i < n && !found; i++) {
        tb_host->model_layer(info->model, i, &li);
        found = li.n_weights > 0 && li.weights[0].value.ndim == 2 && !strcmp(li.weights[0].name, "kernel");
    }
    if (!found)
        return NNK_OK;
    const nnk_tensor *k = &li.weights[0].value;
    int64_t fan_in = k->shape[0], units = k->shape[1];
    float lo = k->data[0], hi = k->data[0];
    for (int64_t i = 0; i < fan_in * units; i++) {
        lo = k->data[i] < lo ? k->data[i] : lo;
        hi = k->data[i] > hi ? k->data[i] : hi;
    }
    char tag[300];
    snprintf(tag, sizeof tag, "%s/kernel_image", li.name);
    if (!tb_image_shape(info->model, &iw, &ih) || (int64_t)iw * ih != fan_in) {
        /* not an image input: the kernel as one matrix, inputs down, units across */
        int w = (int)(units < 1024 ? units : 1024), h = (int)(fan_in < 1024 ? fan_in : 1024);
        uint8_t *px = malloc((size_t)w * (size_t)h);
        if (!px)
            return tb_host->err_set(err, NNK_ENOMEM, "out of memory");
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                px[(size_t)y * w + x] = to_byte(k->data[y * units + x], lo, hi);
        int rc = nnk_tb_image(s->train, tag, px, w, h, 1, "The kernel: one row per input, one column per unit (dark: negative).", info->epoch, -1, err);
        free(px);
        return rc;
    }
    int cols = (int)ceil(sqrt((double)units)), rows = (int)((units + cols - 1) / cols);
    int W = cols * (iw + GAP) - GAP, H = rows * (ih + GAP) - GAP;
    uint8_t *px = calloc((size_t)W * (size_t)H, 1);
    if (!px)
        return tb_host->err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t u = 0; u < units; u++) {
        int ox = (int)(u % cols) * (iw + GAP), oy = (int)(u / cols) * (ih + GAP);
        lo = hi = k->data[u]; /* each tile gets its own contrast */
        for (int64_t i = 0; i < fan_in; i++) {
            float v = k->data[i * units + u];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        for (int y = 0; y < ih; y++)
            for (int x = 0; x < iw; x++)
                px[(size_t)(oy + y) * W + ox + x] = to_byte(k->data[((int64_t)y * iw + x) * units + u], lo, hi);
    }
    int rc = nnk_tb_image(s->train, tag, px, W, H, 1,
                          "Each tile is one unit's weights over the input image, scaled to its own range (dark: most negative, light: most positive).",
                          info->epoch, -1, err);
    free(px);
    return rc;
}

/* Sample inputs in a grid, each captioned with the predicted class (green
 * when right, red when wrong) and, under it, the true one, by name. */
static int sample_grid(tb_state *s, const nnk_train_info *info, nnk_err *err)
{
    int iw, ih;
    if (!tb_image_shape(info->model, &iw, &ih))
        return NNK_OK; /* no pictures to show for non-image inputs */
    nnk_split split = tb_host->model_rows(info->model, NNK_SPLIT_VALIDATION) > 0 ? NNK_SPLIT_VALIDATION
                                                                                : NNK_SPLIT_TRAIN;
    int64_t n = tb_host->model_rows(info->model, split);
    n = n < s->c->image_samples ? n : s->c->image_samples;
    int nl = tb_host->model_layer_count(info->model);
    nnk_layer_info out;
    tb_host->model_layer(info->model, nl - 1, &out);
    int64_t out_cols = nnk_shape_elements(&out.output), y_cols = tb_host->model_label_cols(info->model),
            in_cols = (int64_t)iw * ih;
    int captions = out_cols > 1 && y_cols >= 1;
    char name[48];
    int cell_w = iw; /* as wide as the longest class name */
    for (int64_t k = 0; captions && k < out_cols; k++) {
        int w = tb_caption_width(tb_class_name(info, k, name, sizeof name));
        cell_w = w > cell_w ? w : cell_w;
    }
    float *x = malloc(sizeof(float) * (size_t)(n * in_cols));
    float *y = malloc(sizeof(float) * (size_t)(n * (y_cols ? y_cols : 1)));
    float *p = malloc(sizeof(float) * (size_t)(n * out_cols));
    int cols = (int)ceil(sqrt((double)n)), rows = (int)((n + cols - 1) / cols);
    int cell_h = ih + (captions ? CAPTION_H : 0), gap = captions ? 3 * GAP : GAP;
    int W = cols * (cell_w + gap) - gap, H = rows * (cell_h + gap) - gap;
    uint8_t *rgb = calloc((size_t)W * (size_t)H * 3, 1);
    int rc = (!x || !y || !p || !rgb) ? tb_host->err_set(err, NNK_ENOMEM, "out of memory") : NNK_OK;
    if (!rc)
        rc = tb_host->model_sample(info->model, split, 0, n, x, y, err);
    if (!rc)
        rc = tb_host->model_layer_output(info->model, x, n, nl - 1, p, err);
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; !rc && i < n * in_cols; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    static const uint8_t green[3] = {40, 210, 40}, red[3] = {235, 30, 30}, grey[3] = {190, 190, 190};
    for (int64_t i = 0; !rc && i < n; i++) {
        int ox = (int)(i % cols) * (cell_w + gap), oy = (int)(i / cols) * (cell_h + gap), ix = ox + (cell_w - iw) / 2;
        for (int yy = 0; yy < ih; yy++)
            for (int xx = 0; xx < iw; xx++)
                memset(rgb + 3 * ((size_t)(oy + yy) * W + ix + xx), to_byte(x[i * in_cols + yy * iw + xx], lo, hi), 3);
        if (!captions)
            continue;
        int64_t pred = argmax(p + i * out_cols, out_cols);
        int64_t truth = y_cols == 1 ? (int64_t)y[i] : argmax(y + i * y_cols, y_cols);
        tb_class_name(info, pred, name, sizeof name);
        tb_draw_caption(rgb, W, H, ox + (cell_w - tb_caption_width(name)) / 2, oy + ih + 2, name, pred == truth ? green : red);
        tb_class_name(info, truth, name, sizeof name);
        tb_draw_caption(rgb, W, H, ox + (cell_w - tb_caption_width(name)) / 2, oy + ih + 2 + LINE_H, name, grey);
    }
    if (!rc) {
        char desc[1024];
        int o = snprintf(desc, sizeof desc, captions ? "Under each input: the predicted class (green: right, red: wrong), then the true one." : "Sample inputs.");
        char shown[128];
        for (int64_t k = 0; captions && k < out_cols && o < (int)sizeof desc - 40; k++)
            if (tb_host->model_class_name(info->model, k)) /* names from the data: escaped for Markdown */
                o += snprintf(desc + o, sizeof desc - (size_t)o, "%s %lld = %s", k ? "," : " Classes:", (long long)k,
                              tb_class_name_markdown(info, k, shown, sizeof shown));
        rc = nnk_tb_image(s->train, "sample_predictions", rgb, W, H, 3, desc, info->epoch, -1, err);
    }
    free(x), free(y), free(p), free(rgb);
    return rc;
}

int tb_write_images(tb_state *s, const nnk_train_info *info, nnk_err *err)
{
    int rc = weight_grid(s, info, err);
    rc = rc ? rc : tb_write_conv_images(s, info, err);
    return rc ? rc : sample_grid(s, info, err);
}
