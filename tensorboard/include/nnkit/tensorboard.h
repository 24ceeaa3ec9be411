/* libnnkit-tensorboard: TensorBoard event files written from C, for the
 * tensorboard callback and for programs with their own training loop
 * (like PyTorch's SummaryWriter).
 *
 * Contract:
 * - A writer owns one event file in one directory (a TensorBoard run).
 *   Files are named events.out.tfevents.<10-digit seconds>.<host>.<pid>.<n>
 *   and start with the Event{file_version: "brain.Event:2"} record.
 * - Records are framed as TFRecords (length, masked CRC-32C, payload, masked
 *   CRC-32C) and assembled in memory; only whole records ever reach the
 *   file. They are written out by nnk_tb_flush(), when the buffer passes
 *   1 MiB, on close, and on SIGINT or SIGTERM (the handler writes every open
 *   writer's complete records, then lets the signal take its course). So a
 *   kill -9 loses at most what was not flushed, and never leaves a torn
 *   record; after a failed write (a full disk) the file is cut back to its
 *   last whole record and the writer reports the error on every later call.
 * - wall_time < 0 means "now". Strings are borrowed; nothing is retained
 *   after a call returns.
 * - Errors: every call returns an nnk_status and fills err (may be NULL).
 * - Threads: a writer must not be used from two threads at once.
 */
#ifndef NNKIT_TENSORBOARD_H
#define NNKIT_TENSORBOARD_H

#include <nnkit/plugin.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- CRC-32C (Castagnoli) and TensorBoard's mask -------------------------- */

NNK_API uint32_t nnk_crc32c(const void *data, size_t n);           /* best available */
NNK_API uint32_t nnk_crc32c_table(const void *data, size_t n);     /* portable */
NNK_API uint32_t nnk_crc32c_sse42(const void *data, size_t n);     /* needs SSE4.2 */
NNK_API int nnk_crc32c_have_sse42(void);
NNK_API uint32_t nnk_crc32c_mask(uint32_t crc);

/* ---- the writer --------------------------------------------------------- */

typedef struct nnk_tb_writer nnk_tb_writer;

/* Creates dir (and its parents) and a new event file in it. */
NNK_API nnk_tb_writer *nnk_tb_writer_open(const char *dir, nnk_err *err);
/* Creates exactly `path`, with the given header wall time (tests, golden
 * files). */
NNK_API nnk_tb_writer *nnk_tb_writer_open_file(const char *path, double wall_time,
                                       nnk_err *err);
/* Continues an event file this library wrote: cuts it back to `length`
 * (a size nnk_tb_writer_size reported after a flush, so a record boundary)
 * and appends after it. For runs resumed from a backup: what was written
 * after the backup is written again, so every step stays in the file once. */
NNK_API nnk_tb_writer *nnk_tb_writer_resume(const char *path, uint64_t length, nnk_err *err);
/* Bytes of whole records written so far (on disk after nnk_tb_flush). */
NNK_API uint64_t nnk_tb_writer_size(const nnk_tb_writer *w);
NNK_API const char *nnk_tb_writer_path(const nnk_tb_writer *w);
NNK_API int nnk_tb_flush(nnk_tb_writer *w, nnk_err *err);
/* Flushes and closes; frees w even when the flush fails. */
NNK_API int nnk_tb_close(nnk_tb_writer *w, nnk_err *err);

/* Scalars: the modern form (a rank-0 DT_FLOAT tensor with "scalars"
 * metadata), or the legacy simple_value form. */
NNK_API int nnk_tb_scalar(nnk_tb_writer *w, const char *tag, double value,
                  int64_t step, double wall_time, nnk_err *err);
NNK_API int nnk_tb_scalar_legacy(nnk_tb_writer *w, const char *tag, double value,
                         int64_t step, double wall_time, nnk_err *err);

/* Histograms. From raw values: `buckets` equal-width buckets over
 * [min, max] (TensorBoard's histogram_pb rule), written as a DT_DOUBLE
 * [k, 3] tensor of (left, right, count). From buckets: k rows given. The
 * legacy form writes a HistogramProto. */
NNK_API int nnk_tb_histogram(nnk_tb_writer *w, const char *tag, const float *values,
                     int64_t n, int buckets, int64_t step, double wall_time,
                     nnk_err *err);
NNK_API int nnk_tb_histogram_buckets(nnk_tb_writer *w, const char *tag,
                             const double *left, const double *right,
                             const double *count, int k, int64_t step,
                             double wall_time, nnk_err *err);
typedef struct nnk_tb_histo_stats {
    double min, max, num, sum, sum_squares;
} nnk_tb_histo_stats;
NNK_API int nnk_tb_histogram_legacy(nnk_tb_writer *w, const char *tag,
                            const nnk_tb_histo_stats *stats,
                            const double *bucket_limit, const double *bucket,
                            int k, int64_t step, double wall_time,
                            nnk_err *err);

/* Text: one markdown document. */
NNK_API int nnk_tb_text(nnk_tb_writer *w, const char *tag, const char *markdown,
                int64_t step, double wall_time, nnk_err *err);

/* A PR curve for the PR Curves dashboard, as TensorBoard's pr_curve
 * summary pb() writes it: n predictions (in [0, 1]) against their labels
 * (non-zero: positive) at num_thresholds thresholds evenly spaced over
 * [0, 1]; tag NAME/pr_curves. description (may be NULL) is markdown. */
NNK_API int nnk_tb_pr_curve(nnk_tb_writer *w, const char *name, const uint8_t *labels, const float *predictions,
                            int64_t n, int num_thresholds, const char *description, int64_t step, double wall_time,
                            nnk_err *err);

/* Images. From pixels: 8-bit, row-major, channels 1 (grey), 3 (RGB) or 4
 * (RGBA), encoded as PNG with zlib. From encoded images: n complete
 * images of one size. description (may be NULL) is markdown shown beside
 * the image. */
NNK_API int nnk_tb_image(nnk_tb_writer *w, const char *tag, const uint8_t *pixels,
                 int width, int height, int channels, const char *description,
                 int64_t step, double wall_time, nnk_err *err);
NNK_API int nnk_tb_image_encoded(nnk_tb_writer *w, const char *tag,
                         const char *display_name, const char *description,
                         int width, int height, const uint8_t *const *images,
                         const size_t *sizes, int n, int64_t step,
                         double wall_time, nnk_err *err);
/* A PNG file in memory (caller frees *png with free()). */
NNK_API int nnk_png_encode(const uint8_t *pixels, int width, int height, int channels,
                   uint8_t **png, size_t *size, nnk_err *err);

/* Graphs: build a GraphDef node by node, then write it. */
typedef struct nnk_tb_graph nnk_tb_graph;
NNK_API nnk_tb_graph *nnk_tb_graph_new(void);
NNK_API void nnk_tb_graph_free(nnk_tb_graph *g);
/* Adds a node; inputs may be NULL when n_inputs is 0. Returns its index. */
NNK_API int nnk_tb_graph_node(nnk_tb_graph *g, const char *name, const char *op,
                      const char *const *inputs, int n_inputs, nnk_err *err);
/* Attributes of node i: a string, a DT_* type, or the output
 * shapes (the _output_shapes list; dims < 0 are unknown, written as -1). */
NNK_API int nnk_tb_graph_attr_s(nnk_tb_graph *g, int node, const char *key,
                        const char *value, nnk_err *err);
NNK_API int nnk_tb_graph_attr_type(nnk_tb_graph *g, int node, const char *key,
                           int dtype, nnk_err *err);
NNK_API int nnk_tb_graph_attr_shape(nnk_tb_graph *g, int node, const char *key,
                            const int64_t *dims, int ndim, nnk_err *err);
NNK_API int nnk_tb_write_graph(nnk_tb_writer *w, const nnk_tb_graph *g, int64_t step,
                       double wall_time, nnk_err *err);

/* HParams. A value is a number, a string or a bool. */
typedef enum nnk_tb_hp_type {
    NNK_TB_HP_NUMBER, NNK_TB_HP_STRING, NNK_TB_HP_BOOL
} nnk_tb_hp_type;
typedef struct nnk_tb_hparam {
    const char *name;
    nnk_tb_hp_type type;
    double number;
    const char *string;
    int boolean;
} nnk_tb_hparam;
/* The session (trial): hparams are written in name order. */
NNK_API int nnk_tb_hparams_start(nnk_tb_writer *w, const nnk_tb_hparam *hparams,
                         int n, const char *group_name,
                         double start_time_secs, int64_t step,
                         double wall_time, nnk_err *err);
typedef enum nnk_tb_status {
    NNK_TB_STATUS_UNKNOWN, NNK_TB_STATUS_SUCCESS, NNK_TB_STATUS_FAILURE,
    NNK_TB_STATUS_RUNNING
} nnk_tb_status;
NNK_API int nnk_tb_hparams_end(nnk_tb_writer *w, nnk_tb_status status,
                       double end_time_secs, int64_t step, double wall_time,
                       nnk_err *err);
/* The experiment: each hparam's domain is an interval (type NUMBER:
 * [min, max]) or a list of values (discrete). */
typedef struct nnk_tb_hparam_domain {
    const char *name;
    nnk_tb_hp_type type;
    int discrete;                 /* 0: interval */
    double min, max;
    const nnk_tb_hparam *values;  /* discrete values (their names unused) */
    int n_values;
} nnk_tb_hparam_domain;
typedef struct nnk_tb_metric {
    const char *tag;
    const char *group;            /* a sub-run such as "validation", or "" */
} nnk_tb_metric;
NNK_API int nnk_tb_hparams_experiment(nnk_tb_writer *w,
                              const nnk_tb_hparam_domain *hparams, int n_hp,
                              const nnk_tb_metric *metrics, int n_metrics,
                              double time_created_secs, int64_t step,
                              double wall_time, nnk_err *err);

/* Embedding projector: writes <dir>/tensors.tsv (rows x dims), metadata.tsv
 * (when metadata is not NULL: with two or more columns a header row of the
 * column names and then one row per point; with one column no header, as
 * the projector requires), sprite.png (when images is not NULL: rows
 * images of image_w x image_h grey pixels, tiled row by row in a square)
 * and projector_config.pbtxt naming them. Every file is written
 * atomically. dir should be a TensorBoard run (hold an event file). */
typedef struct nnk_tb_embedding {
    const char *tensor_name;
    const float *values;
    int64_t rows, dims;
    const char *const *metadata_columns; /* n_columns names */
    int n_columns;
    const char *const *metadata;         /* rows x n_columns cells; may be NULL */
    const uint8_t *images;               /* may be NULL */
    int image_w, image_h;
} nnk_tb_embedding;
NNK_API int nnk_tb_projector(const char *dir, const nnk_tb_embedding *e, nnk_err *err);

/* ---- reading ---------------------------------------------------------------- */

typedef struct nnk_tb_record_info {
    uint64_t offset;      /* of the record in the file */
    uint64_t length;      /* payload bytes */
    double wall_time;
    int64_t step;
    char kind[32];        /* file_version, scalar, histogram, text, image,
                             hparams, graph, tensor, unknown */
    char tag[256];
    char value[256];      /* a short rendering of the value */
} nnk_tb_record_info;

typedef enum nnk_tb_read_result {
    NNK_TB_READ_OK,        /* every record was whole and its CRCs matched */
    NNK_TB_READ_TRUNCATED, /* the file ends inside a record at bad_offset */
    NNK_TB_READ_BAD_CRC,   /* a CRC mismatch at bad_offset */
    NNK_TB_READ_BAD_PROTO, /* a payload that does not decode */
    NNK_TB_READ_BAD_CONTENT, /* a summary whose content disagrees with its declared shape (not reported to fn) */
} nnk_tb_read_result;

/* What reading or repairing a file found. */
typedef struct nnk_tb_scan {
    uint64_t records;       /* whole records (length and both CRCs check) */
    uint64_t undecodable;   /* of those, payloads that are no Event */
    uint64_t damaged_spans; /* runs of bytes that are no whole record */
    uint64_t damaged_bytes; /* their total size */
    uint64_t first_bad;     /* offset of the first problem (file size: none) */
} nnk_tb_scan;

/* Reads every record of path, calling fn for each value of each whole,
 * decodable record (fn may be NULL). Damage does not stop it: reading goes
 * on at the next offset where a whole record starts (both CRCs must match
 * there). Returns NNK_TB_READ_OK, or the kind of the first problem
 * (scan->first_bad is its offset); < 0 with err set when the file cannot
 * be read at all. */
typedef void (*nnk_tb_record_fn)(void *user, const nnk_tb_record_info *r);
NNK_API int nnk_tb_scan_file(const char *path, nnk_tb_record_fn fn, void *user, nnk_tb_scan *scan, nnk_err *err);
/* Keeps every whole record of path, in order, and drops only the damaged
 * bytes between and after them (a torn tail, a flipped bit): the result
 * goes to a temporary file, fsynced and renamed over path. scan says what
 * was kept and dropped; a file with no damage is left untouched. */
NNK_API int nnk_tb_repair(const char *path, nnk_tb_scan *scan, nnk_err *err);

#ifdef __cplusplus
}
#endif
#endif
