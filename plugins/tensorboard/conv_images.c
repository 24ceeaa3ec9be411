/* Images of the first convolution (the first layer whose weight "kernel"
 * has 4 axes, rows x columns x in-channels x filters, and whose output is
 * an image): its filters as a grid of tiles, and one validation sample's
 * feature maps (that layer's output, its activation applied). Tiles are
 * scaled up by a whole factor to be seen, each to its own range (dark:
 * lowest, light: highest). */
#include "tensorboard.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GAP 2
#define FILTER_PX 12 /* a filter tile is scaled up to at least this many pixels */
#define MAP_PX 28    /* a feature map likewise */

/* n values at v, stride apart, into a tile of tw x th values scaled by
 * `scale` at (ox, oy) of a W-wide grey image, to the tile's own range. */
static void draw_tile(uint8_t *px, int W, int ox, int oy, const float *v, int64_t stride, int tw, int th, int scale)
{
    float lo = v[0], hi = v[0];
    for (int64_t i = 0; i < (int64_t)tw * th; i++) {
        lo = v[i * stride] < lo ? v[i * stride] : lo;
        hi = v[i * stride] > hi ? v[i * stride] : hi;
    }
    for (int y = 0; y < th * scale; y++)
        for (int x = 0; x < tw * scale; x++) {
            float t = hi > lo ? (v[((int64_t)(y / scale) * tw + x / scale) * stride] - lo) / (hi - lo) : 0.5f;
            px[(size_t)(oy + y) * W + ox + x] = (uint8_t)(t < 0 ? 0 : t > 1 ? 255 : t * 255 + 0.5f);
        }
}

/* A grid of n tiles (cols across), each tile_w x tile_h pixels; a
 * calloc'd W x H image, or NULL. */
static uint8_t *grid(int64_t n, int cols, int tile_w, int tile_h, int *W, int *H)
{
    int rows = (int)((n + cols - 1) / cols);
    *W = cols * (tile_w + GAP) - GAP, *H = rows * (tile_h + GAP) - GAP;
    return calloc((size_t)*W * (size_t)*H, 1);
}

static int first_convolution(const nnk_model_view *m, int *index, nnk_layer_info *li)
{
    int n = tb_host->model_layer_count(m);
    for (int i = 0; i < n; i++) {
        tb_host->model_layer(m, i, li);
        if (li->n_weights > 0 && li->weights[0].value.ndim == 4 && !strcmp(li->weights[0].name, "kernel") &&
            li->output.ndim == 3) {
            *index = i;
            return 1;
        }
    }
    return 0;
}

/* Filters: one row of tiles per filter, one tile per input channel (a
 * square grid when there is one channel). */
static int filter_grid(tb_state *s, const nnk_train_info *info, const nnk_layer_info *li, nnk_err *err)
{
    const nnk_tensor *k = &li->weights[0].value;
    int kh = (int)k->shape[0], kw = (int)k->shape[1], cin = (int)k->shape[2], f = (int)k->shape[3];
    int scale = kh >= FILTER_PX || kw >= FILTER_PX ? 1 : FILTER_PX / (kh > kw ? kh : kw);
    int cols = cin == 1 ? (int)ceil(sqrt((double)f)) : cin, W, H;
    uint8_t *px = grid((int64_t)f * cin, cols, kw * scale, kh * scale, &W, &H);
    if (!px)
        return tb_host->err_set(err, NNK_ENOMEM, "out of memory");
    for (int o = 0; o < f; o++)
        for (int c = 0; c < cin; c++) {
            int64_t t = (int64_t)o * cin + c;
            draw_tile(px, W, (int)(t % cols) * (kw * scale + GAP), (int)(t / cols) * (kh * scale + GAP),
                      k->data + (int64_t)c * f + o, (int64_t)cin * f, kw, kh, scale);
        }
    char tag[300];
    snprintf(tag, sizeof tag, "%s/filters", li->name);
    int rc = nnk_tb_image(s->train, tag, px, W, H, 1,
                          cin == 1 ? "Each tile is one filter, scaled to its own range (dark: most negative, light: most positive)."
                                   : "One row per filter, one tile per input channel, each scaled to its own range.",
                          info->epoch, -1, err);
    free(px);
    return rc;
}

/* The layer's output for the first validation (else training) sample,
 * one tile per channel. */
static int feature_maps(tb_state *s, const nnk_train_info *info, int layer, const nnk_layer_info *li, nnk_err *err)
{
    nnk_split split = tb_host->model_rows(info->model, NNK_SPLIT_VALIDATION) > 0 ? NNK_SPLIT_VALIDATION : NNK_SPLIT_TRAIN;
    if (tb_host->model_rows(info->model, split) < 1)
        return NNK_OK;
    nnk_shape in;
    tb_host->model_input(info->model, 0, NULL, &in);
    int oh = (int)li->output.dim[0], ow = (int)li->output.dim[1], ch = (int)li->output.dim[2], W, H;
    int scale = oh >= MAP_PX || ow >= MAP_PX ? 1 : MAP_PX / (oh > ow ? oh : ow);
    int64_t y_cols = tb_host->model_label_cols(info->model);
    float *x = malloc(sizeof(float) * (size_t)nnk_shape_elements(&in)), *y = malloc(sizeof(float) * (size_t)(y_cols + 1));
    float *maps = malloc(sizeof(float) * (size_t)((int64_t)oh * ow * ch));
    uint8_t *px = grid(ch, (int)ceil(sqrt((double)ch)), ow * scale, oh * scale, &W, &H);
    int rc = !x || !y || !maps || !px ? tb_host->err_set(err, NNK_ENOMEM, "out of memory") : NNK_OK;
    if (!rc)
        rc = tb_host->model_sample(info->model, split, 0, 1, x, y, err);
    if (!rc)
        rc = tb_host->model_layer_output(info->model, x, 1, layer, maps, err);
    int cols = (int)ceil(sqrt((double)ch));
    for (int c = 0; !rc && c < ch; c++)
        draw_tile(px, W, (c % cols) * (ow * scale + GAP), (c / cols) * (oh * scale + GAP), maps + c, ch, ow, oh, scale);
    char tag[300];
    snprintf(tag, sizeof tag, "%s/feature_maps", li->name);
    if (!rc)
        rc = nnk_tb_image(s->train, tag, px, W, H, 1,
                          "The layer's output for the first validation sample: one tile per channel, each scaled to its own range.",
                          info->epoch, -1, err);
    free(x), free(y), free(maps), free(px);
    return rc;
}

int tb_write_conv_images(tb_state *s, const nnk_train_info *info, nnk_err *err)
{
    nnk_layer_info li;
    int layer;
    if (!first_convolution(info->model, &layer, &li))
        return NNK_OK;
    int rc = filter_grid(s, info, &li, err);
    return rc ? rc : feature_maps(s, info, layer, &li, err);
}
