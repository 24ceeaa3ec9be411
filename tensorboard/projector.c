/* The embedding projector's files: tensors.tsv, metadata.tsv, sprite.png
 * and projector_config.pbtxt (protobuf text format, fields in number
 * order, as protobuf's text printer writes them). */
#include "internal.h"
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shortest text that reads back as the same float32, with ".0" added
 * to whole numbers (Python's repr style). */
static void format_float(float v, char *buf, size_t n)
{
    if (!isfinite(v)) {
        snprintf(buf, n, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
        return;
    }
    nnk_format_float(v, buf, n);
    if (!strpbrk(buf, ".en"))
        strncat(buf, ".0", n - strlen(buf) - 1);
}

static void put_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if ((unsigned char)*s < 0x20)
            fprintf(f, "\\%03o", (unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static int write_memfile(const char *dir, const char *name, char *buf, size_t len, nnk_err *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = tb_write_file_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

static int write_tensors(const char *dir, const nnk_tb_embedding *e, nnk_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return tb_err(err, NNK_ENOMEM, "out of memory");
    char num[48];
    for (int64_t r = 0; r < e->rows; r++)
        for (int64_t c = 0; c < e->dims; c++) {
            format_float(e->values[r * e->dims + c], num, sizeof num);
            fprintf(f, "%s%c", num, c + 1 < e->dims ? '\t' : '\n');
        }
    fclose(f);
    return write_memfile(dir, "tensors.tsv", buf, len, err);
}

static int write_metadata(const char *dir, const nnk_tb_embedding *e, nnk_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return tb_err(err, NNK_ENOMEM, "out of memory");
    int nc = e->n_columns;
    if (nc > 1)
        for (int c = 0; c < nc; c++)
            fprintf(f, "%s%c", e->metadata_columns[c], c + 1 < nc ? '\t' : '\n');
    for (int64_t r = 0; r < e->rows; r++)
        for (int c = 0; c < nc; c++) {
            /* a tab or newline inside a cell would shift the columns */
            for (const char *p = e->metadata[r * nc + c]; *p; p++)
                fputc(*p == '\t' || *p == '\n' || *p == '\r' ? ' ' : *p, f);
            fputc(c + 1 < nc ? '\t' : '\n', f);
        }
    fclose(f);
    return write_memfile(dir, "metadata.tsv", buf, len, err);
}

static int write_sprite(const char *dir, const nnk_tb_embedding *e, nnk_err *err)
{
    int per_row = (int)ceil(sqrt((double)e->rows));
    int64_t w = (int64_t)per_row * e->image_w, h = (int64_t)per_row * e->image_h;
    if (w > 8192 || h > 8192)
        return tb_err(err, NNK_EUSAGE,
                      "projector: a sprite of %lld images of %dx%d would be %lldx%lld pixels, more than the projector's 8192x8192",
                      (long long)e->rows, e->image_w, e->image_h, (long long)w, (long long)h);
    uint8_t *px = calloc((size_t)(w * h), 1);
    if (!px)
        return tb_err(err, NNK_ENOMEM, "out of memory");
    size_t img = (size_t)e->image_w * (size_t)e->image_h;
    for (int64_t i = 0; i < e->rows; i++) {
        int64_t ox = (i % per_row) * e->image_w, oy = (i / per_row) * e->image_h;
        for (int y = 0; y < e->image_h; y++)
            memcpy(px + (oy + y) * w + ox, e->images + i * img + (size_t)y * e->image_w,
                   (size_t)e->image_w);
    }
    uint8_t *png;
    size_t size;
    int rc = nnk_png_encode(px, (int)w, (int)h, 1, &png, &size, err);
    free(px);
    if (!rc) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/sprite.png", dir);
        rc = tb_write_file_atomic(path, png, size, err);
        free(png);
    }
    return rc;
}

static int write_config(const char *dir, const nnk_tb_embedding *e, nnk_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return tb_err(err, NNK_ENOMEM, "out of memory");
    fprintf(f, "embeddings {\n  tensor_name: ");
    put_quoted(f, e->tensor_name);
    fprintf(f, "\n");
    if (e->metadata)
        fprintf(f, "  metadata_path: \"metadata.tsv\"\n");
    fprintf(f, "  tensor_shape: %lld\n  tensor_shape: %lld\n", (long long)e->rows,
            (long long)e->dims);
    if (e->images)
        fprintf(f, "  sprite {\n    image_path: \"sprite.png\"\n    single_image_dim: %d\n"
                   "    single_image_dim: %d\n  }\n",
                e->image_w, e->image_h);
    fprintf(f, "  tensor_path: \"tensors.tsv\"\n}\n");
    fclose(f);
    return write_memfile(dir, "projector_config.pbtxt", buf, len, err);
}

int nnk_tb_projector(const char *dir, const nnk_tb_embedding *e, nnk_err *err)
{
    if (e->rows < 1 || e->dims < 2)
        return tb_err(err, NNK_EUSAGE,
                      "projector: embedding '%s' needs at least 1 point of 2 or more dimensions, got %lldx%lld",
                      e->tensor_name, (long long)e->rows, (long long)e->dims);
    if (e->metadata && e->n_columns < 1)
        return tb_err(err, NNK_EUSAGE, "projector: metadata without columns");
    int rc = write_tensors(dir, e, err);
    if (!rc && e->metadata)
        rc = write_metadata(dir, e, err);
    if (!rc && e->images)
        rc = write_sprite(dir, e, err);
    /* the config last: it only ever names files that are complete */
    if (!rc)
        rc = write_config(dir, e, err);
    return rc;
}
