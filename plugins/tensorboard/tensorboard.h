/* The tensorboard callback plugin: shared between its source files only. */
#ifndef NNKIT_PLUGIN_TENSORBOARD_H
#define NNKIT_PLUGIN_TENSORBOARD_H
#include <limits.h>
#include <nnkit/plugin.h>
#include <nnkit/tensorboard.h>

extern const nnk_host *tb_host;

typedef struct tb_config {
    const char *log_dir;
    const char *update_freq;
    int64_t histogram_freq;
    int write_graph;
    int write_images;
    int write_text;
    int write_hparams;
    int write_gradients;
    int write_activations;
    int64_t histogram_samples;
    int64_t image_samples;
    int64_t embeddings_freq;
    const char *embeddings_layer;
    int64_t embeddings_samples;
    const char *embeddings_data;
    int64_t pr_curve_freq, pr_curve_thresholds, confusion_freq;
} tb_config;

typedef struct tb_state {
    const tb_config *c;
    int64_t batch_freq;          /* 0: epoch scalars only */
    char root[PATH_MAX];         /* <log_dir>/<run> */
    nnk_tb_writer *train, *validation, *session;
    int session_open;
    int emb_layer;               /* -1: no embeddings */
    nnk_split emb_split;
    int64_t emb_rows;
    int64_t last_embedding_epoch;
} tb_state;

/* model_info.c */
int tb_write_graph(tb_state *s, const nnk_train_info *info, nnk_err *err);
int tb_write_texts(tb_state *s, const nnk_train_info *info, nnk_err *err);
int tb_write_session_start(tb_state *s, const nnk_train_info *info, nnk_err *err);
/* images.c */
int tb_image_shape(const nnk_model_view *m, int *w, int *h);
/* caption.c: text in a 3x5 pixel font, each glyph scaled; 4 * scale pixels
 * a character, 5 * scale high. Pixels outside the image are skipped. */
#define TB_CAPTION_SCALE 2
int tb_caption_width(const char *text);
void tb_draw_caption(uint8_t *rgb, int stride_px, int height_px, int x0, int y0, const char *text, const uint8_t color[3]);
int tb_write_images(tb_state *s, const nnk_train_info *info, nnk_err *err);
/* conv_images.c: the first convolution's filters and one sample's feature maps */
int tb_write_conv_images(tb_state *s, const nnk_train_info *info, nnk_err *err);
/* classes.c: PR curves and the confusion image on the validation data;
 * class k's name for a tag or caption (the data's, else its index;
 * control characters as '?') into buf */
int tb_write_class_views(tb_state *s, const nnk_train_info *info, nnk_err *err);
const char *tb_class_name(const nnk_train_info *info, int64_t k, char *buf, size_t n);
/* The same with Markdown's punctuation backslash-escaped, for text that
 * TensorBoard renders as Markdown (descriptions); buf holds 2 * 60 + 1. */
const char *tb_class_name_markdown(const nnk_train_info *info, int64_t k, char *buf, size_t n);
/* weights.c */
int tb_write_histograms(tb_state *s, const nnk_train_info *info, nnk_err *err);
int tb_check_embeddings(tb_state *s, const nnk_train_info *info, nnk_err *err);
int tb_write_embeddings(tb_state *s, const nnk_train_info *info, nnk_err *err);
#endif
