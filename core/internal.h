/* Internal structures and functions of libnnkit, shared between core
 * modules only (and the tests and the plugin checker, which link the
 * core's objects). Every function here is named nnk__* (libuv's uv__
 * idea), so it cannot be mistaken for the public API (nnk_*, nnkit.h). */
#ifndef NNKIT_INTERNAL_H
#define NNKIT_INTERNAL_H

#include "nnkit/nnkit.h"

#define NNK_SCRATCH_SLOTS 8

/* Loops the compiler vectorizes: built for AVX-512, for AVX2 with FMA,
 * and for the baseline, the widest the CPU runs chosen when the library
 * loads (the build itself targets baseline x86-64). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NNK_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NNK_VECTOR_CLONES
#endif

/* xoshiro256** state; one stream per purpose, all derived from the seed. */
struct nnk_rng {
    uint64_t s[4];
    int has_spare;
    double spare;
};

void nnk__rng_seed(nnk_rng *r, uint64_t seed, uint64_t stream);
/* The stream's draws for one epoch: epoch k's are the same whichever epoch
 * a run started from (train --from with initial_epoch, a resumed backup). */
void nnk__rng_seed_epoch(nnk_rng *r, uint64_t seed, uint64_t stream, int64_t epoch);
uint64_t nnk__rng_next(nnk_rng *r);
double nnk__rng_uniform(nnk_rng *r);
double nnk__rng_normal(nnk_rng *r);

extern const nnk_host nnk__host_table;


/* A node of the model graph: one layer instance, plus the activation the
 * core applies after it when the layer has an ACTIVATION parameter. */
typedef struct nnk_node {
    char *name;
    const nnk_component_info *comp;
    const nnk_layer_vtable *vt;
    nnk_params *params;
    nnk_layer layer;
    float abi21_sgd_learning_rate; /* always 0: where an ABI 2.1 layer reads
                                      nnk_layer.sgd_learning_rate */
    float fused_sgd_rate;    /* > 0 during a step whose backward applies
                                plain SGD at this rate (nnkit.train.fused_sgd/1) */
    const nnk_layer_fused_sgd *fused_sgd; /* the layer's capability, or NULL */
    nnk_rng rng;
    int n_in;
    int in[NNK_MAX_INPUTS];  /* >= 0: node index; < 0: model input -1-k (set at build) */
    char *in_names[NNK_MAX_INPUTS];
    int is_output;           /* index+1 into the model's outputs, or 0 */
    int adapted;             /* its adapt hook has seen the training data */
    nnk_shape out_shape;
    int64_t out_cols;
    const nnk_component_info *act_comp; /* NULL: linear */
    const nnk_activation_vtable *act;
    nnk_params *act_params;
    int64_t cap_rows;       /* rows the buffers below hold */
    nnk_tensor z, a;        /* pre-activation, output (a.data == z.data if linear) */
    nnk_tensor dz, da;      /* gradients (da.data == dz.data if linear) */
    int n_consumers;
    float *tmp_grad[NNK_MAX_INPUTS]; /* for sources with several consumers */
    int64_t tmp_grad_n[NNK_MAX_INPUTS];
    float *scratch[NNK_SCRATCH_SLOTS];
    int64_t scratch_n[NNK_SCRATCH_SLOTS];
    char *initializers[NNK_MAX_WEIGHTS];
    int frozen;              /* trainable = false: its weights are not trained */
    int grad_needed;         /* backward: its output's gradient is used */
    const nnk_reducer *dp;   /* during a data-parallel training step: what
                                nnkit.dp.allreduce/1 sums over */
    unsigned state_mask;     /* bit k: weight k is state (never trainable) */
    int64_t *weight_budget;  /* values its weights may still take (a model
                                file's), or NULL: no limit */
    int64_t fans[NNK_MAX_WEIGHTS][2];
} nnk_node;

typedef struct nnk_input_node {
    char *name;
    nnk_shape shape;
    int64_t cols;
    int64_t offset;  /* where its columns start in a data row */
    nnk_tensor x;    /* the current batch */
} nnk_input_node;

typedef struct nnk_metric_inst {
    char *name;     /* as logged: "accuracy", "mae", ... */
    const nnk_component_info *comp;
    const nnk_metric_vtable *vt;
    nnk_params *params;
    void *state;
    size_t state_size; /* the vtable's, or what nnkit.metric.bind/1 set */
    const nnk_metric_values *values; /* nnkit.metric.values/1 when n_values > 1, else NULL */
    int n_values;                    /* the logs it gives: 1, or the capability's count */
} nnk_metric_inst;

#define NNK_MAX_METRICS 8

/* One output of the model with its loss, weight and metrics. */
typedef struct nnk_output {
    char *name;                 /* the layer's name */
    int node;                   /* resolved at build */
    const nnk_component_info *loss_comp;
    const nnk_loss_vtable *loss;
    nnk_params *loss_params;
    double weight;
    int fused;                  /* loss from the logits */
    int64_t cols;               /* output units */
    int64_t label_off, label_cols; /* its labels within a data row */
    int signed_accuracy;        /* accuracy compares signs (threshold 0): -1/+1 labels */
    int n_metrics;
    nnk_metric_inst metrics[NNK_MAX_METRICS];
    float *y, *grad;            /* batch buffers */
    int64_t cap;
} nnk_output;

#define MAX_LOGS NNK_MAX_LOGS

/* A fit in progress: everything backup_and_restore must keep. */
typedef struct nnk_fit_state {
    nnk_model *m;
    const nnk_dataset *d;
    const nnk_fit_options *o;
    int64_t bs, steps;
    int64_t *perm;            /* this epoch's data order */
    nnk_rng data_rng;         /* shuffles the order, drawn anew for every epoch */
    int64_t next_epoch;       /* the epoch the loop starts or continues */
    int64_t next_batch;       /* batches of the current epoch already trained */
    int epoch_finished;       /* its EPOCH_END has fired */
    char names[MAX_LOGS][64];
    const char *name_ptrs[MAX_LOGS];
    double values[MAX_LOGS];
    int n_train_logs;
    double loss_sum, out_sums[NNK_MAX_OUTPUTS];
    int64_t seen;
    int stop;
    nnk_history *history;
    const nnk_reducer *red;    /* data-parallel training on several processes, or NULL */
    double *log_buf;           /* with red: the logs' sums over every process */
    nnk_rng *dp_rngs;          /* with red: the layers' common random streams during a step */
    int64_t shard_total;       /* with red, > 0: d is this process's part of so many rows */
    char pending_backup[4096]; /* asked for during an event, written after it */
    nnk_train_info info;
} nnk_fit_state;

struct nnk_callback {
    const nnk_callback_vtable *vt; /* NULL for a C function */
    char *name;                    /* [callback NAME]: keys its saved state */
    nnk_params *params;
    void *state;
    nnk_callback_fn fn;
    void *user;
};

/* A categorical feature of a model (categories.c). */
typedef struct nnk_category {
    int64_t feature;   /* raw feature position */
    char **values;     /* sorted, distinct */
    int64_t n_values;
} nnk_category;

struct nnk_model {
    nnk_registry *reg;
    int n_inputs;
    nnk_input_node inputs[NNK_MAX_INPUTS];
    int n_nodes, cap_nodes;
    nnk_node *nodes;
    int n_outputs;
    nnk_output outs[NNK_MAX_OUTPUTS];
    /* compile */
    const nnk_component_info *opt_comp;
    const nnk_optimizer_vtable *opt;
    const nnk_optimizer_fused_sgd *opt_fused; /* its nnkit.train.fused_sgd/1, or NULL */
    nnk_params *opt_params;
    double learning_rate;
    double clipnorm, clipvalue, global_clipnorm; /* 0: off */
    int64_t iteration;
    float **slots;            /* per weight: n_slots arrays */
    int compiled, built;
    uint64_t seed;
    int64_t weight_budget;    /* > 0 while a model file is rebuilt: the values
                                 it stores, so a declared architecture cannot
                                 allocate more than the file holds */
    /* preprocessing */
    double scale;
    int64_t n_std;
    float *mean, *inv_std, *std;
    float *fill;                   /* per feature, for missing cells, or NULL */
    int64_t n_fill;
    char *label_columns, *feature_columns;
    char **class_names;            /* by class index, or NULL */
    nnk_category *categories;      /* text features, one-hot encoded */
    int64_t n_categories;
    char **raw_names;              /* the CSV's feature names, before encoding */
    int64_t n_raw;
    char **encoded_names;          /* after: "age", "color=red" */
    int64_t n_encoded;
    int ignore_unknown;            /* an unknown text encodes as all zeros */
    int64_t n_classes;
    float *stage_x, *stage_y;      /* whole data rows of a batch, before splitting */
    float *dp_buf;                 /* data-parallel: the flat gradient buffer */
    int64_t dp_cap;
    struct dp_overlap *dp_overlap; /* its buckets, summed during backward */
    void (*after_backward)(nnk_model *m, int node); /* called after each node's backward, or NULL */
    int64_t stage_x_cap, stage_y_cap;
    /* the data of the fit in progress, for callbacks (borrowed) */
    const nnk_dataset *fit_data[3]; /* by nnk_split */
    nnk_fit_state *fit;             /* the fit in progress, or NULL */
};

/* plugin_check.c: the loader's checks, each one line naming the file */
int nnk__check_plugin_record(const nnk_plugin_record *r, const char *path, nnk_err *err);
int nnk__check_plugin_descriptor(const nnk_plugin *d, const nnk_plugin_record *r, const char *path, nnk_err *err);
int nnk__check_component(nnk_kind kind, const void *vtable, int abi_major, const char *path, nnk_err *err);

/* Plugins built for ABI 2.x (abi2.c): the least struct_size of a vtable of
 * a kind for a plugin of abi_major (ABI 3's whole vtable, 2.0's for 2.x);
 * an ABI 3 copy of a 2.x vtable (caller frees; NULL when out of memory);
 * the host table a 2.x plugin's init gets (2.1's layout). */
size_t nnk__vtable_size(nnk_kind kind, int abi_major);
void *nnk__abi2_vtable(nnk_kind kind, const void *vtable, unsigned abi_minor);
const nnk_host *nnk__abi2_host(void);

/* distributed.c: data-parallel training over a reducer (see nnk_reducer) */
/* The rows [*lo, *lo + *n) of a global batch of `rows` this process takes. */
void nnk__dp_slice(const nnk_reducer *r, int64_t rows, int64_t *lo, int64_t *n);
/* Fails naming what cannot be trained on several processes. */
int nnk__dp_check(const nnk_model *m, const nnk_reducer *r, nnk_err *err);
void nnk__dp_zero_gradients(nnk_model *m);
/* Sums the trainable gradients over the processes, each first multiplied
 * by share (its rows over the global batch's). */
int nnk__dp_sum_gradients(nnk_model *m, const nnk_reducer *r, float share, nnk_err *err);
/* The logs' sums packed for one reduction: loss, rows, output losses, then
 * every metric's state. */
int64_t nnk__dp_log_count(const nnk_model *m);
void nnk__dp_pack_logs(const nnk_model *m, double loss_sum, const double *out_sums, double seen, double *buf);
const void *nnk__dp_metric_state(const nnk_model *m, const double *buf, int k, int i);
/* The reverse of nnk__dp_pack_logs, into the sums and the model's metric states. */
void nnk__dp_unpack_logs(nnk_model *m, const double *buf, double *loss_sum, double *out_sums, int64_t *seen);
int nnk__dp_broadcast_model(nnk_model *m, const nnk_reducer *r, nnk_err *err);
/* Around a step: the layers' random streams per process (shared[n_nodes]
 * keeps the common ones). */
void nnk__dp_rng_swap_in(nnk_model *m, const nnk_reducer *r, nnk_rng *shared);
void nnk__dp_rng_swap_out(nnk_model *m, const nnk_rng *shared);
/* Rank 0's state weights (moving statistics) to every process after a
 * step, as DDP broadcasts buffers: each process's own statistics (batch
 * normalization with sync = false) do not make the models drift apart. */
int nnk__dp_broadcast_state(nnk_model *m, const nnk_reducer *r, nnk_err *err);
/* Gradient buckets summed while backward runs (reducers with
 * start_sum_floats): begin before backward, end after it, which waits for
 * every sum and unpacks them (backward_failed: its status, returned after
 * the started sums complete). */
int nnk__dp_overlap_begin(nnk_model *m, const nnk_reducer *r, float share, nnk_err *err);
int nnk__dp_overlap_end(nnk_model *m, int backward_failed, nnk_err *err);
void nnk__dp_overlap_free(nnk_model *m);
/* Sharded data (each process holds its part of `total` rows): the steps
 * of an epoch of global batches of `batch`, and step b's rows here (from
 * *lo of this process's order, *rows of them) and in all (*global). */
int64_t nnk__dp_shard_steps(const nnk_reducer *r, int64_t total, int64_t batch);
void nnk__dp_shard_batch(const nnk_reducer *r, int64_t total, int64_t batch, int64_t b, int64_t *lo, int64_t *rows,
                        int64_t *global);
/* Fails when any process's weights differ from rank 0's. */
int nnk__dp_check_weights(nnk_model *m, const nnk_reducer *r, const char *when, nnk_err *err);

/* parallel.c: runs fn(ctx, 0..n_tasks-1) on the pool's threads (the caller
 * included) and returns when all are done; serially with one thread, or
 * when called from inside a task. */
void nnk__parallel_run(int n_tasks, void (*fn)(void *ctx, int task), void *ctx);
/* fn(ctx, r0, r1) over row blocks of [0, rows), one per thread when the
 * work (rows x work_per_row elements) is worth sharing. */
void nnk__parallel_rows(int64_t rows, int64_t work_per_row, void (*fn)(void *ctx, int64_t r0, int64_t r1), void *ctx);
/* n floats on a 64-byte boundary (a cache line, an AVX-512 vector), zeroed
 * or not; free() releases them. Weights and batch buffers use it. */
float *nnk__floats_aligned(int64_t n, int zeroed);
/* The pool's threads: 1 until nnk_set_threads (OpenBLAS threads alone). */
int nnk__parallel_threads(void);


/* categories.c */
void nnk__model_clear_categories(nnk_model *m);
/* Sets the categories (taking ownership of cats) and derives the encoded
 * feature names; fails when the names do not fit the raw count. */
int nnk__model_set_categories(nnk_model *m, char **raw_names, int64_t n_raw, nnk_category *cats, int64_t n_cats,
                             int ignore_unknown, nnk_err *err);

/* graph.c */
int nnk__model_forward(nnk_model *m, int64_t rows, int training, nnk_err *err);
/* Forward through nodes [0, end) only. */
int nnk__model_forward_to(nnk_model *m, int64_t rows, int training, int end, nnk_err *err);
/* Backward from every output's grad buffer (into its logits when the
 * output is fused, or always with into_logits). */
int nnk__model_backward(nnk_model *m, int64_t rows, int into_logits, nnk_err *err);
/* Splits a batch of whole data rows x (rows x total input columns) into
 * the inputs' buffers. */
void nnk__model_set_inputs(nnk_model *m, const float *x, int64_t rows);
int64_t nnk__model_input_cols(const nnk_model *m);
void nnk__output_free(nnk_output *o);
/* history.c: appends one epoch's logs (the names fix the keys the first
 * time); -1 when out of memory. h may be NULL. */
/* The logs' names in order (loss, per output its loss and metrics, a
 * metric with several values one log each), and when higher is not NULL
 * whether each is better higher (1), lower (0) or unsaid (-1): how many,
 * or -1 with err set when more than cap or one too long to take "val_"
 * (logs.c). names may be NULL: the count and checks alone. */
int nnk__log_names(const nnk_model *m, char names[][NNK_LOG_NAME_MAX], signed char *higher, int cap, nnk_err *err);
/* A metric's count value suffixes (nnkit.metric.values/1) into names, and
 * the first fault among them (logs.c), for the core and check-plugin: 0
 * none; 1 suffix *bad is not 1 to 24 of A-Z a-z 0-9 . -; 2 suffix *bad
 * repeats suffix *twin. */
int nnk__metric_suffix_fault(const nnk_metric_values *v, const void *config, int count, char (*names)[32], int *bad,
                             int *twin);
int nnk__history_append(nnk_history *h, int n_logs, char names[][64], const double *values);

/* backup.c: the whole state of a fit, for backup_and_restore. request
 * records the path; the fit loop writes it once every callback has seen
 * the event, so the backup holds their reactions to it (a scheduler's
 * next rate, say). */
int nnk__fit_backup_request(nnk_model *m, const char *path, nnk_err *err);
int nnk__fit_backup_save(nnk_model *m, const char *path, nnk_err *err);
/* Restores a fit from path; returns NNK_OK with *resumed set when it did. */
int nnk__fit_backup_load(nnk_model *m, nnk_fit_state *s, const char *path, nnk_err *err);

/* modelfile.c: the Model message and the checked envelope around it */
int nnk__model_pack(const nnk_model *m, int weights_only, uint8_t **payload, size_t *n, nnk_err *err);
int nnk__model_unpack_values(nnk_model *m, const uint8_t *payload, size_t n, const char *path, nnk_err *err);
int nnk__envelope_write(const char *path, const char magic[4], const uint8_t *payload, size_t len,
                       nnk_err *err);
uint8_t *nnk__envelope_read(const char *path, const char magic[4], const char *what, size_t *len,
                           nnk_err *err);
void nnk__shape_text(const nnk_shape *s, char *buf, size_t n);
int nnk__model_bind_metrics(nnk_output *o, nnk_err *err);
int nnk__model_resolve_accuracy(nnk_model *m, nnk_output *o, nnk_err *err);
int nnk__unknown_component(const nnk_registry *reg, nnk_kind kind, const char *name,
                          const char *owner, nnk_err *err);
int nnk__model_ensure_rows(nnk_model *m, int64_t rows, nnk_err *err);
/* Visit each weight: fn(weight, node, index-in-layer, user). */
int nnk__model_weight_count(const nnk_model *m);
nnk_weight *nnk__model_weight_at(nnk_model *m, int i, nnk_node **node);
/* Gathers rows idx[0..n) of d (every input's columns) into x, applying
 * the stored preprocessing. */
void nnk__model_gather(nnk_model *m, const nnk_dataset *d, const int64_t *idx,
                      int64_t n, float *x);
/* Rows [start, start + bs) of d (fewer at the end; *rows says how many)
 * into the inputs' buffers and outputs' labels, in data order. */
int nnk__model_load_rows(nnk_model *m, const nnk_dataset *d, int64_t start, int64_t bs, int64_t *idx,
                        int64_t *rows, nnk_err *err);
/* Gathers rows into the inputs' buffers, and labels into each output's y. */
int nnk__model_gather_batch(nnk_model *m, const nnk_dataset *d, const int64_t *idx,
                           int64_t n, nnk_err *err);
int nnk__model_check_data(const nnk_model *m, const nnk_dataset *d,
                         nnk_err *err);
int nnk__model_init_weights(nnk_model *m, nnk_err *err);
int nnk__model_alloc_slots(nnk_model *m, nnk_err *err);
/* Loss of the current forward pass against each output's y (the total,
 * weighted, into *loss; each output's into out_losses when not NULL) and,
 * when grads is non-zero, the backward pass. */
int nnk__model_loss(nnk_model *m, int64_t rows, double *loss, double *out_losses,
                   int grads, nnk_err *err);
/* The labels of a data row batch y into each output's y buffer. */
int nnk__model_split_labels(nnk_model *m, const float *y, int64_t y_cols, int64_t rows,
                           nnk_err *err);
#endif
