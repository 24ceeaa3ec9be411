/* Summaries in the forms TensorBoard's own helpers write (scalar_pb,
 * histogram_pb, text_pb, the images plugin): byte for byte the same. */
#include "internal.h"
#include "tensor.pb-c.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void plugin_metadata(Tensorboard__SummaryMetadata *md,
                            Tensorboard__SummaryMetadata__PluginData *pd, const char *plugin)
{
    tensorboard__summary_metadata__init(md);
    tensorboard__summary_metadata__plugin_data__init(pd);
    pd->plugin_name = (char *)plugin;
    md->plugin_data = pd;
}

int nnk_tb_scalar(nnk_tb_writer *w, const char *tag, double value, int64_t step,
                  double wall_time, nnk_err *err)
{
    Tensorboard__TensorShapeProto shape = TENSORBOARD__TENSOR_SHAPE_PROTO__INIT;
    Tensorboard__TensorProto t = TENSORBOARD__TENSOR_PROTO__INIT;
    float f = (float)value;
    t.dtype = DT_FLOAT;
    t.tensor_shape = &shape; /* rank 0, written even though empty */
    t.n_float_val = 1;
    t.float_val = &f;
    Tensorboard__SummaryMetadata md;
    Tensorboard__SummaryMetadata__PluginData pd;
    plugin_metadata(&md, &pd, "scalars");
    return tb_write_tensor(w, tag, &t, &md, step, wall_time, err);
}

int nnk_tb_scalar_legacy(nnk_tb_writer *w, const char *tag, double value, int64_t step,
                         double wall_time, nnk_err *err)
{
    Tensorboard__Summary__Value v = TENSORBOARD__SUMMARY__VALUE__INIT;
    v.tag = (char *)tag;
    v.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_SIMPLE_VALUE;
    v.simple_value = (float)value;
    return tb_write_value(w, &v, step, wall_time, err);
}

void tb_matrix_init(tb_matrix *m, int64_t rows, int64_t cols, int dtype, const void *data, size_t bytes)
{
    tensorboard__tensor_shape_proto__dim__init(&m->d0);
    tensorboard__tensor_shape_proto__dim__init(&m->d1);
    m->d0.size = rows;
    m->d1.size = cols;
    m->dims[0] = &m->d0, m->dims[1] = &m->d1;
    tensorboard__tensor_shape_proto__init(&m->shape);
    m->shape.n_dim = 2;
    m->shape.dim = m->dims;
    tensorboard__tensor_proto__init(&m->t);
    m->t.dtype = dtype;
    m->t.tensor_shape = &m->shape;
    m->t.tensor_content.data = (uint8_t *)data; /* little-endian hosts only */
    m->t.tensor_content.len = bytes;
}

int nnk_tb_histogram_buckets(nnk_tb_writer *w, const char *tag, const double *left,
                             const double *right, const double *count, int k, int64_t step,
                             double wall_time, nnk_err *err)
{
    if (k < 0)
        return tb_err(err, NNK_EUSAGE, "histogram '%s': negative bucket count", tag);
    double *rows = malloc(sizeof(double) * 3 * (size_t)(k ? k : 1));
    if (!rows)
        return tb_err(err, NNK_ENOMEM, "out of memory");
    for (int i = 0; i < k; i++) {
        rows[3 * i] = left[i];
        rows[3 * i + 1] = right[i];
        rows[3 * i + 2] = count[i];
    }
    tb_matrix m;
    tb_matrix_init(&m, k, 3, DT_DOUBLE, rows, sizeof(double) * 3 * (size_t)k);
    Tensorboard__SummaryMetadata md;
    Tensorboard__SummaryMetadata__PluginData pd;
    plugin_metadata(&md, &pd, "histograms");
    int rc = tb_write_tensor(w, tag, &m.t, &md, step, wall_time, err);
    free(rows);
    return rc;
}

/* TensorBoard's histogram_pb: `buckets` equal-width buckets from min to
 * max (edges as numpy's linspace computes them, the last edge exactly
 * max), the maximum counted in the last bucket; all-equal data gives
 * zero-width buckets with every count in the last; no data gives zeros. */
int nnk_tb_histogram(nnk_tb_writer *w, const char *tag, const float *values, int64_t n,
                     int buckets, int64_t step, double wall_time, nnk_err *err)
{
    if (buckets < 1)
        return tb_err(err, NNK_EUSAGE, "histogram '%s': buckets must be >= 1, got %d", tag, buckets);
    double *left = calloc((size_t)buckets, sizeof(double)), *right = calloc((size_t)buckets, sizeof(double)),
           *count = calloc((size_t)buckets, sizeof(double));
    if (!left || !right || !count) {
        free(left), free(right), free(count);
        return tb_err(err, NNK_ENOMEM, "out of memory");
    }
    double mn = INFINITY, mx = -INFINITY;
    int64_t finite = 0;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(values[i])) {
            mn = values[i] < mn ? values[i] : mn;
            mx = values[i] > mx ? values[i] : mx;
            finite++;
        }
    if (finite > 0 && mx == mn) {
        for (int b = 0; b < buckets; b++)
            left[b] = right[b] = mn;
        count[buckets - 1] = (double)finite;
    } else if (finite > 0) {
        double range = mx - mn, width = range / buckets;
        for (int b = 0; b < buckets; b++) {
            left[b] = b * (range / buckets) + mn;
            right[b] = b + 1 < buckets ? (b + 1) * (range / buckets) + mn : mx;
        }
        for (int64_t i = 0; i < n; i++) {
            if (!isfinite(values[i]))
                continue;
            int64_t b = (int64_t)floor(((double)values[i] - mn) / width);
            count[b < buckets - 1 ? (b < 0 ? 0 : b) : buckets - 1] += 1;
        }
    }
    int rc = nnk_tb_histogram_buckets(w, tag, left, right, count, buckets, step, wall_time, err);
    free(left), free(right), free(count);
    return rc;
}

int nnk_tb_histogram_legacy(nnk_tb_writer *w, const char *tag, const nnk_tb_histo_stats *s,
                            const double *bucket_limit, const double *bucket, int k, int64_t step,
                            double wall_time, nnk_err *err)
{
    Tensorboard__HistogramProto h = TENSORBOARD__HISTOGRAM_PROTO__INIT;
    h.min = s->min;
    h.max = s->max;
    h.num = s->num;
    h.sum = s->sum;
    h.sum_squares = s->sum_squares;
    h.n_bucket_limit = h.n_bucket = (size_t)k;
    h.bucket_limit = (double *)bucket_limit;
    h.bucket = (double *)bucket;
    Tensorboard__Summary__Value v = TENSORBOARD__SUMMARY__VALUE__INIT;
    v.tag = (char *)tag;
    v.value_case = TENSORBOARD__SUMMARY__VALUE__VALUE_HISTO;
    v.histo = &h;
    return tb_write_value(w, &v, step, wall_time, err);
}

int nnk_tb_text(nnk_tb_writer *w, const char *tag, const char *markdown, int64_t step,
                double wall_time, nnk_err *err)
{
    Tensorboard__TensorShapeProto shape = TENSORBOARD__TENSOR_SHAPE_PROTO__INIT;
    Tensorboard__TensorProto t = TENSORBOARD__TENSOR_PROTO__INIT;
    ProtobufCBinaryData s = {strlen(markdown), (uint8_t *)markdown};
    t.dtype = DT_STRING;
    t.tensor_shape = &shape;
    t.n_string_val = 1;
    t.string_val = &s;
    Tensorboard__SummaryMetadata md;
    Tensorboard__SummaryMetadata__PluginData pd;
    plugin_metadata(&md, &pd, "text");
    return tb_write_tensor(w, tag, &t, &md, step, wall_time, err);
}

/* The images plugin's tensor: DT_STRING [2 + n] = width, height (ASCII,
 * width first), then each encoded image. */
int nnk_tb_image_encoded(nnk_tb_writer *w, const char *tag, const char *display_name,
                         const char *description, int width, int height,
                         const uint8_t *const *images, const size_t *sizes, int n, int64_t step,
                         double wall_time, nnk_err *err)
{
    if (n < 1 || width < 1 || height < 1)
        return tb_err(err, NNK_EUSAGE, "image '%s': needs at least one image of positive size", tag);
    ProtobufCBinaryData *vals = calloc((size_t)n + 2, sizeof *vals);
    if (!vals)
        return tb_err(err, NNK_ENOMEM, "out of memory");
    char ws[24], hs[24];
    snprintf(ws, sizeof ws, "%d", width);
    snprintf(hs, sizeof hs, "%d", height);
    vals[0] = (ProtobufCBinaryData){strlen(ws), (uint8_t *)ws};
    vals[1] = (ProtobufCBinaryData){strlen(hs), (uint8_t *)hs};
    for (int i = 0; i < n; i++)
        vals[2 + i] = (ProtobufCBinaryData){sizes[i], (uint8_t *)images[i]};
    Tensorboard__TensorShapeProto__Dim d0 = TENSORBOARD__TENSOR_SHAPE_PROTO__DIM__INIT;
    Tensorboard__TensorShapeProto__Dim *dims[1] = {&d0};
    d0.size = n + 2;
    Tensorboard__TensorShapeProto shape = TENSORBOARD__TENSOR_SHAPE_PROTO__INIT;
    shape.n_dim = 1;
    shape.dim = dims;
    Tensorboard__TensorProto t = TENSORBOARD__TENSOR_PROTO__INIT;
    t.dtype = DT_STRING;
    t.tensor_shape = &shape;
    t.n_string_val = (size_t)n + 2;
    t.string_val = vals;
    Tensorboard__SummaryMetadata md;
    Tensorboard__SummaryMetadata__PluginData pd;
    plugin_metadata(&md, &pd, "images");
    md.display_name = (char *)(display_name ? display_name : "");
    md.summary_description = (char *)(description ? description : "");
    int rc = tb_write_tensor(w, tag, &t, &md, step, wall_time, err);
    free(vals);
    return rc;
}

int nnk_tb_image(nnk_tb_writer *w, const char *tag, const uint8_t *pixels, int width, int height,
                 int channels, const char *description, int64_t step, double wall_time,
                 nnk_err *err)
{
    uint8_t *png;
    size_t size;
    int rc = nnk_png_encode(pixels, width, height, channels, &png, &size, err);
    if (rc)
        return rc;
    const uint8_t *imgs[1] = {png};
    rc = nnk_tb_image_encoded(w, tag, tag, description, width, height, imgs, &size, 1, step,
                              wall_time, err);
    free(png);
    return rc;
}
