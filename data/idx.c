/* IDX reader (the MNIST format): gzip or plain, every element type. */
#include "data_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct idx_file {
    int type;             /* 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64 */
    int ndim;
    int64_t dim[8];
    int64_t count;        /* elements */
    void *data;           /* raw, host order */
} idx_file;

static int elem_size(int type)
{
    switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    }
    return 0;
}

static int read_exact(gzFile f, void *buf, size_t n, const char *path,
                      const char *what, nnk_err *err)
{
    unsigned char *p = buf;
    while (n > 0) {
        unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
        int got = gzread(f, p, chunk);
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(f, &zerr);
            return nnk_err_set(err, NNK_EDATA, "data '%s': corrupt gzip stream while reading %s: %s",
                               path, what, msg);
        }
        if (got == 0) {
            int zerr;
            const char *msg = gzerror(f, &zerr);
            if (zerr != Z_OK && zerr != Z_BUF_ERROR)
                return nnk_err_set(err, NNK_EDATA, "data '%s': corrupt gzip stream while reading %s: %s",
                                   path, what, msg);
            return nnk_err_set(err, NNK_EDATA, "data '%s': truncated file: it ends inside the %s",
                               path, what);
        }
        p += got;
        n -= (size_t)got;
    }
    return NNK_OK;
}

static void swap_bytes(unsigned char *p, int64_t count, int size)
{
    for (int64_t i = 0; i < count; i++, p += size)
        for (int a = 0, b = size - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* Reads `bytes` bytes of data into a new buffer that grows as the data
 * arrives, so a header that claims more than the file (or the gzip
 * stream) holds costs no more memory than what is really there. */
static int read_growing(gzFile f, int64_t bytes, void **data, const char *path, nnk_err *err)
{
    int64_t cap = bytes < (1 << 24) ? bytes : (1 << 24), have = 0;
    unsigned char *buf = malloc((size_t)cap + 1);
    if (!buf)
        return nnk_err_set(err, NNK_ENOMEM, "data '%s': out of memory", path);
    while (have < bytes) {
        if (have == cap) {
            cap = bytes - cap < cap ? bytes : cap * 2;
            unsigned char *b = realloc(buf, (size_t)cap + 1);
            if (!b) {
                free(buf);
                return nnk_err_set(err, NNK_ENOMEM, "data '%s': out of memory", path);
            }
            buf = b;
        }
        int rc = read_exact(f, buf + have, (size_t)(cap - have), path, "data", err);
        if (rc) {
            free(buf);
            return rc;
        }
        have = cap;
    }
    *data = buf;
    return NNK_OK;
}

/* Skips n bytes of the (possibly gzip) stream. */
static int skip_bytes(gzFile f, int64_t n, const char *path, nnk_err *err)
{
    unsigned char buf[1 << 16];
    while (n > 0) {
        size_t part = n < (int64_t)sizeof buf ? (size_t)n : sizeof buf;
        int rc = read_exact(f, buf, part, path, "data", err);
        if (rc)
            return rc;
        n -= (int64_t)part;
    }
    return NNK_OK;
}

/* A part of an IDX file: records [*first, *first + *count) of its dim[0],
 * as nnk_dp_slice's part `part` of `parts` splits them; *total gets dim[0].
 * parts 1 reads the whole file (and refuses trailing bytes). */
static int idx_read_part(const char *path, idx_file *out, int part, int parts, int64_t *total, nnk_err *err)
{
    memset(out, 0, sizeof *out);
    FILE *check = nnk_open_input(path, "data", err); /* a clear message for a directory */
    if (!check)
        return err ? (err->status = NNK_EDATA) : NNK_EDATA;
    fclose(check);
    gzFile f = gzopen(path, "rb");
    if (!f)
        return nnk_err_set(err, NNK_EDATA, "data '%s': cannot open", path);
    gzbuffer(f, 1 << 17);
    unsigned char magic[4];
    int rc = read_exact(f, magic, 4, path, "header", err);
    if (!rc && (magic[0] || magic[1] || !elem_size(magic[2]) || magic[3] < 1 || magic[3] > 8))
        rc = nnk_err_set(err, NNK_EDATA,
                         "data '%s': wrong IDX magic %02x %02x %02x %02x (expected 00 00 <type> <ndim>)",
                         path, magic[0], magic[1], magic[2], magic[3]);
    if (!rc) {
        out->type = magic[2];
        out->ndim = magic[3];
        out->count = 1;
        for (int d = 0; d < out->ndim && !rc; d++) {
            unsigned char b[4];
            rc = read_exact(f, b, 4, path, "header", err);
            out->dim[d] = (int64_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
            if (!rc && nnk_size_mul(out->count, out->dim[d], &out->count))
                rc = nnk_err_set(err, NNK_EDATA, "data '%s': the IDX header declares too many values", path);
        }
    }
    int size = elem_size(out->type);
    int64_t bytes = 0, record = 0, first = 0;
    if (!rc && nnk_size_mul(out->count, size, &bytes))
        rc = nnk_err_set(err, NNK_EDATA, "data '%s': the IDX header declares too many values", path);
    if (total)
        *total = rc ? 0 : out->dim[0];
    if (!rc && parts > 1 && out->dim[0] > 0) { /* only this part's records */
        record = bytes / out->dim[0];
        int64_t n = out->dim[0] / parts, rem = out->dim[0] % parts;
        first = part * n + (part < rem ? part : rem);
        out->dim[0] = n + (part < rem);
        out->count = out->count / (n * parts + rem) * out->dim[0];
        bytes = record * out->dim[0];
        rc = skip_bytes(f, first * record, path, err);
    }
    if (!rc)
        rc = read_growing(f, bytes, &out->data, path, err);
    if (!rc && parts <= 1) {
        unsigned char extra;
        if (gzread(f, &extra, 1) > 0)
            rc = nnk_err_set(err, NNK_EDATA, "data '%s': trailing bytes after the IDX data", path);
    }
    gzclose(f);
    if (rc) {
        free(out->data);
        out->data = NULL;
        return rc;
    }
    if (size > 1)
        swap_bytes(out->data, out->count, size); /* IDX is big-endian */
    return NNK_OK;
}

static double idx_value(const idx_file *f, int64_t i)
{
    switch (f->type) {
    case 0x08: return ((const uint8_t *)f->data)[i];
    case 0x09: return ((const int8_t *)f->data)[i];
    case 0x0B: return ((const int16_t *)f->data)[i];
    case 0x0C: return ((const int32_t *)f->data)[i];
    case 0x0D: return ((const float *)f->data)[i];
    default: return ((const double *)f->data)[i];
    }
}

nnk_dataset *nnk_dataset_load_idx(const char *images, const char *labels,
                                  nnk_err *err)
{
    return nnkd__load_idx_part(images, labels, 0, 1, NULL, err);
}

/* n values of f as floats (malloc'd into *out); each must be finite as a
 * float (what names the sample or label in the message). */
static int idx_floats(const idx_file *f, int64_t per, const char *path, const char *what, float **out, nnk_err *err)
{
    float *v = *out = malloc((size_t)(f->count + 1) * sizeof(float));
    if (!v)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int64_t i = 0; i < f->count; i++) {
        double x = idx_value(f, i);
        if (!isfinite(x) || !isfinite((float)x)) /* a double past float's range too */
            return nnk_err_set(err, NNK_EDATA, "data '%s': NaN, Inf or a value past float range in %s %lld", path, what,
                               (long long)(i / per) + 1);
        v[i] = (float)x;
    }
    return NNK_OK;
}

/* The samples of xi into d: its per-sample shape, bytes kept as bytes
 * (4x smaller than floats), other types as floats. */
static int idx_samples(nnk_dataset *d, idx_file *xi, const char *images, nnk_err *err)
{
    if (xi->ndim - 1 > NNK_MAX_DIMS - 1)
        return nnk_err_set(err, NNK_EDATA, "data '%s': %d dimensions per sample, at most %d", images, xi->ndim - 1,
                           NNK_MAX_DIMS - 1);
    if (xi->dim[0] < 1)
        return nnk_err_set(err, NNK_EDATA, "data '%s': the IDX file holds no samples", images);
    d->rows = xi->dim[0];
    d->x_shape.ndim = xi->ndim > 1 ? xi->ndim - 1 : 1;
    d->x_shape.dim[0] = 1;
    d->x_cols = 1;
    for (int k = 1; k < xi->ndim; k++) {
        d->x_shape.dim[k - 1] = xi->dim[k];
        if (nnk_size_mul(d->x_cols, xi->dim[k], &d->x_cols) || xi->dim[k] < 1)
            return nnk_err_set(err, NNK_EDATA, "data '%s': a sample of the IDX header's shape has no values or too many",
                               images);
    }
    if (xi->type != 0x08)
        return idx_floats(xi, d->x_cols, images, "sample", &d->x_f32, err);
    d->x_u8 = xi->data;
    xi->data = NULL;
    return NNK_OK;
}

nnk_dataset *nnkd__load_idx_part(const char *images, const char *labels, int part, int parts, int64_t *total,
                                 nnk_err *err)
{
    idx_file xi, yi;
    memset(&yi, 0, sizeof yi);
    int64_t xtotal = 0, ytotal = 0;
    if (idx_read_part(images, &xi, part, parts, &xtotal, err))
        return NULL;
    if (labels && idx_read_part(labels, &yi, part, parts, &ytotal, err)) {
        free(xi.data);
        return NULL;
    }
    if (total)
        *total = xtotal;
    nnk_dataset *d = calloc(1, sizeof *d);
    int rc = d ? NNK_OK : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (!rc && labels && parts > 1 && xtotal != ytotal) /* the parts' sizes alone would not show it */
        rc = nnk_err_set(err, NNK_EDATA, "data '%s': %lld labels for %lld samples in '%s'", labels, (long long)ytotal,
                         (long long)xtotal, images);
    if (!rc && !(d->source = strdup(images)))
        rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (!rc)
        rc = idx_samples(d, &xi, images, err);
    if (!rc && labels && yi.dim[0] != xi.dim[0])
        rc = nnk_err_set(err, NNK_EDATA, "data '%s': %lld labels for %lld samples in '%s'", labels, (long long)yi.dim[0],
                         (long long)xi.dim[0], images);
    if (!rc && labels && yi.count / yi.dim[0] < 1)
        rc = nnk_err_set(err, NNK_EDATA, "data '%s': the labels have no values", labels);
    if (!rc && labels) {
        d->y_cols = yi.count / (yi.dim[0] ? yi.dim[0] : 1);
        rc = idx_floats(&yi, 1, labels, "label", &d->y, err);
    }
    free(xi.data);
    free(yi.data);
    if (rc) {
        nnk_dataset_free(d);
        return NULL;
    }
    return d;
}
