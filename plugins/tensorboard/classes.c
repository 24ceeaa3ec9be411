/* How the classifier does on the validation data, every few epochs: a PR
 * curve per class for the PR Curves dashboard (pr_curve_freq; class k's
 * outputs against "the label is k", tag pr_curves/<class>/pr_curves), and
 * the confusion matrix as an image (confusion_freq; rows the true class,
 * columns the predicted one, each cell's count written in it and shaded
 * by its share of the row, class names on both axes). A one-unit output
 * has one curve, for class 1, and two classes: above 0.5 is 1. */
#include "tensorboard.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The validation rows' outputs (rows x cols) and labels, predicted in
 * blocks; *rows 0 when there is no validation data. */
typedef struct predictions {
    int64_t rows, cols, label_cols;
    float *p, *y;
} predictions;

static int predict_validation(const nnk_train_info *info, predictions *out, nnk_err *err)
{
    memset(out, 0, sizeof *out);
    const nnk_model_view *m = info->model;
    int64_t rows = tb_host->model_rows(m, NNK_SPLIT_VALIDATION);
    int last = tb_host->model_layer_count(m) - 1;
    nnk_layer_info li;
    nnk_shape in;
    if (rows < 1 || last < 0 || tb_host->model_layer(m, last, &li) || tb_host->model_input(m, 0, NULL, &in))
        return NNK_OK;
    int64_t cols = nnk_shape_elements(&li.output), in_cols = nnk_shape_elements(&in),
            label_cols = tb_host->model_label_cols(m), block = 256;
    out->p = malloc(sizeof(float) * (size_t)(rows * cols));
    out->y = malloc(sizeof(float) * (size_t)(rows * (label_cols ? label_cols : 1)));
    float *x = malloc(sizeof(float) * (size_t)(block * in_cols));
    int rc = !out->p || !out->y || !x ? tb_host->err_set(err, NNK_ENOMEM, "out of memory") : NNK_OK;
    for (int64_t r = 0; !rc && r < rows; r += block) {
        int64_t n = rows - r < block ? rows - r : block;
        rc = tb_host->model_sample((nnk_model_view *)m, NNK_SPLIT_VALIDATION, r, n, x, out->y + r * label_cols, err);
        if (!rc)
            rc = tb_host->model_layer_output((nnk_model_view *)m, x, n, last, out->p + r * cols, err);
    }
    free(x);
    out->rows = rows, out->cols = cols, out->label_cols = label_cols;
    return rc;
}

static int64_t first_largest(const float *v, int64_t n)
{
    int64_t k = 0;
    for (int64_t j = 1; j < n; j++)
        k = v[j] > v[k] ? j : k;
    return k;
}

/* Row i's true class (an index, a one-hot row's first largest, or a
 * one-unit label above 0.5), -1 when it names none of n classes. */
static int64_t true_class(const predictions *p, int64_t i, int64_t n)
{
    if (p->label_cols > 1)
        return first_largest(p->y + i * p->label_cols, p->label_cols);
    float v = p->y[i];
    int64_t k = p->cols == 1 ? v > 0.5f : (int64_t)v;
    return k >= 0 && k < n && (p->cols == 1 || v == (float)k) ? k : -1;
}

static int64_t predicted_class(const predictions *p, int64_t i)
{
    return p->cols == 1 ? p->p[i] > 0.5f : first_largest(p->p + i * p->cols, p->cols);
}

/* Class k's name, for tags and captions: the data's, else its index;
 * control characters as '?'. */
const char *tb_class_name(const nnk_train_info *info, int64_t k, char *buf, size_t n)
{
    const char *name = tb_host->model_class_name(info->model, k);
    if (name)
        snprintf(buf, n, "%.60s", name);
    else
        snprintf(buf, n, "%lld", (long long)k);
    for (char *c = buf; *c; c++)
        *c = (unsigned char)*c < 32 || *c == 127 ? '?' : *c;
    return buf;
}

const char *tb_class_name_markdown(const nnk_train_info *info, int64_t k, char *buf, size_t n)
{
    char name[64];
    tb_class_name(info, k, name, sizeof name);
    size_t o = 0;
    for (const char *c = name; *c && o + 3 <= n; c++) {
        if (strchr("\\`*_{}[]()#+-.!|<>~&", *c))
            buf[o++] = '\\';
        buf[o++] = *c;
    }
    if (n)
        buf[o < n ? o : n - 1] = 0;
    return buf;
}

static int write_pr_curves(tb_state *s, const nnk_train_info *info, const predictions *p, nnk_err *err)
{
    int64_t classes = p->cols > 1 ? p->cols : 2;
    uint8_t *labels = malloc((size_t)p->rows);
    float *scores = malloc(sizeof(float) * (size_t)p->rows);
    int rc = !labels || !scores ? tb_host->err_set(err, NNK_ENOMEM, "out of memory") : NNK_OK;
    for (int64_t k = p->cols > 1 ? 0 : 1; !rc && k < classes; k++) {
        for (int64_t i = 0; i < p->rows; i++) {
            labels[i] = true_class(p, i, classes) == k;
            scores[i] = p->p[i * p->cols + (p->cols > 1 ? k : 0)];
        }
        char name[80], tag[96];
        snprintf(tag, sizeof tag, "pr_curves/%s", tb_class_name(info, k, name, sizeof name));
        rc = nnk_tb_pr_curve(s->validation, tag, labels, scores, p->rows, (int)s->c->pr_curve_thresholds,
                             "Precision against recall on the validation data, the class against the rest.",
                             info->epoch, -1, err);
    }
    free(labels), free(scores);
    return rc;
}

#define PAD 4
#define LINE (5 * TB_CAPTION_SCALE)

/* The confusion matrix as an RGB image into *rgb (caller frees). */
static int draw_confusion(const nnk_train_info *info, const int64_t *counts, int64_t n, uint8_t **rgb, int *w, int *h)
{
    char text[80];
    int label_w = tb_caption_width("TRUE"), cell = tb_caption_width("0");
    for (int64_t k = 0; k < n; k++) {
        int nw = tb_caption_width(tb_class_name(info, k, text, sizeof text));
        label_w = nw > label_w ? nw : label_w;
        cell = nw > cell ? nw : cell;
    }
    for (int64_t k = 0; k < n * n; k++) {
        snprintf(text, sizeof text, "%lld", (long long)counts[k]);
        cell = tb_caption_width(text) > cell ? tb_caption_width(text) : cell;
    }
    cell += 2 * PAD;
    int left = label_w + 2 * PAD, top = 2 * (LINE + PAD) + PAD, cell_h = LINE + 2 * PAD;
    *w = left + (int)n * cell, *h = top + (int)n * cell_h;
    *rgb = malloc((size_t)*w * (size_t)*h * 3);
    if (!*rgb)
        return -1;
    memset(*rgb, 255, (size_t)*w * (size_t)*h * 3);
    static const uint8_t black[3] = {0, 0, 0}, white[3] = {255, 255, 255}, grey[3] = {110, 110, 110};
    tb_draw_caption(*rgb, *w, *h, left, PAD, "PREDICTED", grey);
    tb_draw_caption(*rgb, *w, *h, PAD, PAD, "TRUE", grey);
    for (int64_t k = 0; k < n; k++) {
        tb_class_name(info, k, text, sizeof text);
        tb_draw_caption(*rgb, *w, *h, left + (int)k * cell + PAD, LINE + 2 * PAD, text, black);
        tb_draw_caption(*rgb, *w, *h, PAD, top + (int)k * cell_h + PAD, text, black);
        int64_t row = 0;
        for (int64_t j = 0; j < n; j++)
            row += counts[k * n + j];
        for (int64_t j = 0; j < n; j++) { /* white to dark blue by the row's share */
            double share = row ? (double)counts[k * n + j] / (double)row : 0;
            uint8_t shade[3] = {(uint8_t)(255 - 225 * share), (uint8_t)(255 - 175 * share),
                                (uint8_t)(255 - 75 * share)};
            for (int yy = 1; yy < cell_h; yy++)
                for (int xx = 1; xx < cell; xx++)
                    memcpy(*rgb + 3 * ((size_t)(top + k * cell_h + yy) * (size_t)*w + (size_t)(left + j * cell + xx)),
                           shade, 3);
            snprintf(text, sizeof text, "%lld", (long long)counts[k * n + j]);
            tb_draw_caption(*rgb, *w, *h, left + (int)j * cell + cell - PAD - tb_caption_width(text),
                            top + (int)k * cell_h + PAD, text, share > 0.5 ? white : black);
        }
    }
    return 0;
}

static int write_confusion(tb_state *s, const nnk_train_info *info, const predictions *p, nnk_err *err)
{
    int64_t n = p->cols > 1 ? p->cols : 2;
    if (n > 100)
        return NNK_OK; /* past reading as one picture */
    int64_t *counts = calloc((size_t)(n * n), sizeof(int64_t));
    if (!counts)
        return tb_host->err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t i = 0; i < p->rows; i++) {
        int64_t t = true_class(p, i, n);
        if (t >= 0)
            counts[t * n + predicted_class(p, i)]++;
    }
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    int rc = draw_confusion(info, counts, n, &rgb, &w, &h)
                 ? tb_host->err_set(err, NNK_ENOMEM, "out of memory")
                 : nnk_tb_image(s->validation, "confusion_matrix", rgb, w, h, 3,
                                "Validation rows by true class (rows) and predicted class (columns); each cell is "
                                "shaded by its share of the row.",
                                info->epoch, -1, err);
    free(rgb), free(counts);
    return rc;
}

int tb_write_class_views(tb_state *s, const nnk_train_info *info, nnk_err *err)
{
    int64_t pf = s->c->pr_curve_freq, cf = s->c->confusion_freq;
    int pr = pf > 0 && info->epoch % pf == 0, confusion = cf > 0 && info->epoch % cf == 0;
    if (!s->validation || !(pr || confusion))
        return NNK_OK;
    predictions p;
    int rc = predict_validation(info, &p, err);
    if (!rc && p.rows > 0 && pr)
        rc = write_pr_curves(s, info, &p, err);
    if (!rc && p.rows > 0 && confusion)
        rc = write_confusion(s, info, &p, err);
    free(p.p), free(p.y);
    return rc;
}
