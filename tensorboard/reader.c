/* Reading event files back: TFRecord framing with both CRCs checked,
 * Event decoding, a one-line description of each value, and repair of a
 * torn tail. */
#include "internal.h"
#include "graph.pb-c.h"
#include "hparams.pb-c.h"
#include "tensor.pb-c.h"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static unsigned char *slurp(const char *path, size_t *len, nnk_err *err)
{
    return nnk_read_file(path, "event file", len, err);
}

static const char *plugin_of(const Tensorboard__Summary__Value *v)
{
    return v->metadata && v->metadata->plugin_data && v->metadata->plugin_data->plugin_name
               ? v->metadata->plugin_data->plugin_name
               : "";
}

/* The element count a tensor's shape claims, or -1 when it overflows or
 * a dimension is negative (-1 is "unknown" in TensorFlow's shapes). */
static int64_t elements(const Tensorboard__TensorProto *t)
{
    int64_t n = 1;
    for (size_t d = 0; t->tensor_shape && d < t->tensor_shape->n_dim; d++)
        if (nnk_size_mul(n, t->tensor_shape->dim[d]->size, &n))
            return -1;
    return n;
}

static double first_number(const Tensorboard__TensorProto *t)
{
    if (t->n_float_val)
        return t->float_val[0];
    if (t->n_double_val)
        return t->double_val[0];
    if (t->n_int64_val)
        return (double)t->int64_val[0];
    if (t->n_int_val)
        return t->int_val[0];
    if (t->dtype == DT_FLOAT && t->tensor_content.len >= 4) {
        float f;
        memcpy(&f, t->tensor_content.data, 4);
        return f;
    }
    if (t->dtype == DT_DOUBLE && t->tensor_content.len >= 8) {
        double d;
        memcpy(&d, t->tensor_content.data, 8);
        return d;
    }
    return 0;
}

/* "session start, N hparams: name name ..." (names as far as they fit). */
static void session_start_text(const Tensorboard__Hparams__SessionStartInfo *s, char *out, size_t n)
{
    size_t len = (size_t)snprintf(out, n, "session start, %zu hparams", s->n_hparams);
    for (size_t i = 0; i < s->n_hparams && len < n; i++) {
        const char *key = s->hparams[i]->key ? s->hparams[i]->key : "";
        if (len + strlen(key) + 6 >= n) {
            snprintf(out + len, n - len, " ...");
            return;
        }
        len += (size_t)snprintf(out + len, n - len, "%s%s", i ? " " : ": ", key);
    }
}

static void describe_tensor(const Tensorboard__Summary__Value *v, nnk_tb_record_info *r)
{
    const Tensorboard__TensorProto *t = v->tensor;
    const char *plugin = plugin_of(v);
    if (!strcmp(plugin, "scalars")) {
        snprintf(r->kind, sizeof r->kind, "scalar");
        snprintf(r->value, sizeof r->value, "%.9g", first_number(t));
    } else if (!strcmp(plugin, "histograms")) {
        int64_t k = t->tensor_shape && t->tensor_shape->n_dim ? t->tensor_shape->dim[0]->size : 0;
        double total = 0;
        /* buckets are (left, right, count) doubles; a claimed count the
         * content cannot hold is reported, never read */
        if (t->dtype == DT_DOUBLE && k >= 0 && (uint64_t)k <= t->tensor_content.len / 24)
            for (int64_t i = 0; i < k; i++) {
                double c;
                memcpy(&c, t->tensor_content.data + 24 * i + 16, 8);
                total += c;
            }
        snprintf(r->kind, sizeof r->kind, "histogram");
        snprintf(r->value, sizeof r->value, "%lld buckets, %.15g values", (long long)k, total);
    } else if (!strcmp(plugin, "text")) {
        snprintf(r->kind, sizeof r->kind, "text");
        if (t->n_string_val)
            snprintf(r->value, sizeof r->value, "%zu bytes", t->string_val[0].len);
    } else if (!strcmp(plugin, "images")) {
        snprintf(r->kind, sizeof r->kind, "image");
        if (t->n_string_val >= 2)
            snprintf(r->value, sizeof r->value, "%zu image(s) %.*sx%.*s", t->n_string_val - 2,
                     (int)t->string_val[0].len, (const char *)t->string_val[0].data,
                     (int)t->string_val[1].len, (const char *)t->string_val[1].data);
    } else if (!strcmp(plugin, "hparams")) {
        snprintf(r->kind, sizeof r->kind, "hparams");
        const ProtobufCBinaryData *c = &v->metadata->plugin_data->content;
        Tensorboard__Hparams__HParamsPluginData *d =
            tensorboard__hparams__hparams_plugin_data__unpack(NULL, c->len, c->data);
        if (!d) {
            snprintf(r->value, sizeof r->value, "undecodable plugin data");
        } else {
            if (d->data_case == TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__DATA_SESSION_START_INFO)
                session_start_text(d->session_start_info, r->value, sizeof r->value);
            else if (d->data_case == TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__DATA_SESSION_END_INFO)
                snprintf(r->value, sizeof r->value, "session end, status %d",
                         d->session_end_info->status);
            else if (d->data_case == TENSORBOARD__HPARAMS__HPARAMS_PLUGIN_DATA__DATA_EXPERIMENT)
                snprintf(r->value, sizeof r->value, "experiment, %zu hparams, %zu metrics",
                         d->experiment->n_hparam_infos, d->experiment->n_metric_infos);
            tensorboard__hparams__hparams_plugin_data__free_unpacked(d, NULL);
        }
    } else {
        snprintf(r->kind, sizeof r->kind, "tensor");
        snprintf(r->value, sizeof r->value, "dtype %d, %lld elements", t->dtype,
                 (long long)elements(t));
    }
}

static void describe_value(const Tensorboard__Summary__Value *v, nnk_tb_record_info *r)
{
    snprintf(r->tag, sizeof r->tag, "%s", v->tag ? v->tag : "");
    r->value[0] = 0;
    switch (v->value_case) {
    case TENSORBOARD__SUMMARY__VALUE__VALUE_SIMPLE_VALUE:
        snprintf(r->kind, sizeof r->kind, "scalar");
        snprintf(r->value, sizeof r->value, "%.9g", (double)v->simple_value);
        break;
    case TENSORBOARD__SUMMARY__VALUE__VALUE_HISTO:
        snprintf(r->kind, sizeof r->kind, "histogram");
        snprintf(r->value, sizeof r->value, "%zu buckets, %.15g values", v->histo->n_bucket,
                 v->histo->num);
        break;
    case TENSORBOARD__SUMMARY__VALUE__VALUE_IMAGE:
        snprintf(r->kind, sizeof r->kind, "image");
        snprintf(r->value, sizeof r->value, "%dx%d, %zu bytes", v->image->width, v->image->height,
                 v->image->encoded_image_string.len);
        break;
    case TENSORBOARD__SUMMARY__VALUE__VALUE_TENSOR:
        describe_tensor(v, r);
        break;
    default:
        snprintf(r->kind, sizeof r->kind, "unknown");
    }
}

/* Whether a whole record starts at off: its length's CRC and its data's
 * CRC match and it fits in the file. Returns NNK_TB_READ_OK with the
 * payload length in *n, or what is wrong. */
static int record_at(const unsigned char *buf, size_t len, size_t off, uint64_t *n)
{
    if (len - off < 12)
        return NNK_TB_READ_TRUNCATED;
    *n = get_le(buf + off, 8);
    if ((uint32_t)get_le(buf + off + 8, 4) != nnk_crc32c_mask(nnk_crc32c(buf + off, 8)))
        return NNK_TB_READ_BAD_CRC;
    if (*n > len - off - 12 || len - off - 12 - *n < 4)
        return NNK_TB_READ_TRUNCATED;
    if ((uint32_t)get_le(buf + off + 12 + *n, 4) != nnk_crc32c_mask(nnk_crc32c(buf + off + 12, (size_t)*n)))
        return NNK_TB_READ_BAD_CRC;
    return NNK_TB_READ_OK;
}

/* The next offset after a damaged one where a whole record starts, or len.
 * Two CRCs must match there, so damage is never mistaken for a record. */
static size_t resync(const unsigned char *buf, size_t len, size_t off)
{
    uint64_t n;
    for (size_t p = off + 1; p + 16 <= len; p++)
        if (record_at(buf, len, p, &n) == NNK_TB_READ_OK)
            return p;
    return len;
}

/* A histogram tensor is (k, 3) doubles, left edge, right edge and count of
 * each bucket, held in tensor_content (k * 24 bytes) or double_val (3k
 * values); a declared shape its content does not fill is damage. */
static int histogram_whole(const Tensorboard__TensorProto *t)
{
    if (!t || t->dtype != DT_DOUBLE || !t->tensor_shape || t->tensor_shape->n_dim != 2 ||
        t->tensor_shape->dim[1]->size != 3 || t->tensor_shape->dim[0]->size < 0)
        return 0;
    uint64_t k = (uint64_t)t->tensor_shape->dim[0]->size;
    if (k > SIZE_MAX / 24)
        return 0;
    return t->tensor_content.len ? t->tensor_content.len == k * 24 : t->n_double_val == k * 3;
}

/* Whether every value of the event holds what its metadata declares. */
static int event_whole(const Tensorboard__Event *ev)
{
    if (ev->what_case != TENSORBOARD__EVENT__WHAT_SUMMARY || !ev->summary)
        return 1;
    for (size_t i = 0; i < ev->summary->n_value; i++) {
        const Tensorboard__Summary__Value *v = ev->summary->value[i];
        if (v->value_case == TENSORBOARD__SUMMARY__VALUE__VALUE_TENSOR && !strcmp(plugin_of(v), "histograms") &&
            !histogram_whole(v->tensor))
            return 0;
    }
    return 1;
}

static void report_event(const Tensorboard__Event *ev, size_t off, uint64_t n, nnk_tb_record_fn fn, void *user)
{
    nnk_tb_record_info r;
    memset(&r, 0, sizeof r);
    r.offset = off;
    r.length = n;
    r.wall_time = ev->wall_time;
    r.step = ev->step;
    if (ev->what_case == TENSORBOARD__EVENT__WHAT_FILE_VERSION) {
        snprintf(r.kind, sizeof r.kind, "file_version");
        snprintf(r.value, sizeof r.value, "%s", ev->file_version ? ev->file_version : "");
        fn(user, &r);
    } else if (ev->what_case == TENSORBOARD__EVENT__WHAT_GRAPH_DEF) {
        Tensorboard__GraphDef *g = tensorboard__graph_def__unpack(NULL, ev->graph_def.len, ev->graph_def.data);
        snprintf(r.kind, sizeof r.kind, "graph");
        snprintf(r.value, sizeof r.value, g ? "%zu nodes" : "undecodable GraphDef", g ? g->n_node : 0);
        if (g)
            tensorboard__graph_def__free_unpacked(g, NULL);
        fn(user, &r);
    } else if (ev->what_case == TENSORBOARD__EVENT__WHAT_SUMMARY && ev->summary) {
        for (size_t i = 0; i < ev->summary->n_value; i++) {
            describe_value(ev->summary->value[i], &r);
            fn(user, &r);
        }
    } else {
        snprintf(r.kind, sizeof r.kind, "unknown");
        fn(user, &r);
    }
}

int nnk_tb_scan_file(const char *path, nnk_tb_record_fn fn, void *user, nnk_tb_scan *scan, nnk_err *err)
{
    size_t len;
    unsigned char *buf = slurp(path, &len, err);
    memset(scan, 0, sizeof *scan);
    if (!buf)
        return -1;
    size_t off = 0;
    int result = NNK_TB_READ_OK;
    while (off < len) {
        uint64_t n;
        int r = record_at(buf, len, off, &n);
        if (r != NNK_TB_READ_OK) {
            size_t next = resync(buf, len, off);
            if (result == NNK_TB_READ_OK) {
                result = r;
                scan->first_bad = off;
            }
            scan->damaged_spans++;
            scan->damaged_bytes += next - off;
            off = next;
            continue;
        }
        Tensorboard__Event *ev = tensorboard__event__unpack(NULL, (size_t)n, buf + off + 12);
        scan->records++;
        if (!ev) {
            scan->undecodable++;
            if (result == NNK_TB_READ_OK) {
                result = NNK_TB_READ_BAD_PROTO;
                scan->first_bad = off;
            }
        } else {
            if (!event_whole(ev)) {
                scan->undecodable++;
                if (result == NNK_TB_READ_OK) {
                    result = NNK_TB_READ_BAD_CONTENT;
                    scan->first_bad = off;
                }
            } else if (fn) {
                report_event(ev, off, n, fn, user);
            }
            tensorboard__event__free_unpacked(ev, NULL);
        }
        off += 12 + (size_t)n + 4;
    }
    free(buf);
    if (result == NNK_TB_READ_OK)
        scan->first_bad = len;
    return result;
}

int nnk_tb_repair(const char *path, nnk_tb_scan *scan, nnk_err *err)
{
    size_t len;
    unsigned char *buf = slurp(path, &len, err);
    memset(scan, 0, sizeof *scan);
    if (!buf)
        return err ? err->status : NNK_EIO;
    unsigned char *out = malloc(len ? len : 1);
    if (!out) {
        free(buf);
        return tb_err(err, NNK_ENOMEM, "out of memory");
    }
    /* every record whose length and CRCs check, in order; only the damaged
     * bytes between them go */
    size_t off = 0, kept = 0;
    while (off < len) {
        uint64_t n;
        if (record_at(buf, len, off, &n) != NNK_TB_READ_OK) {
            size_t next = resync(buf, len, off);
            if (!scan->damaged_spans)
                scan->first_bad = off;
            scan->damaged_spans++;
            scan->damaged_bytes += next - off;
            off = next;
            continue;
        }
        memcpy(out + kept, buf + off, 16 + (size_t)n);
        kept += 16 + (size_t)n;
        scan->records++;
        off += 16 + (size_t)n;
    }
    int rc = scan->damaged_spans ? tb_write_file_atomic(path, out, kept, err) : NNK_OK;
    free(out);
    free(buf);
    return rc;
}
