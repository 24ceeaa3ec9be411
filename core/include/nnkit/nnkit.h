/* nnkit application API: registry, models, data, training, model files.
 *
 * Conventions: every call that can fail returns an nnk_status (NNK_OK is 0)
 * or NULL, and fills the caller-owned nnk_err *err (which may be NULL).
 * Objects come in nnk_x_new/nnk_x_free pairs; free(NULL) is a no-op.
 * String and array parameters are borrowed for the duration of the call
 * unless a comment says otherwise; memory a call returns (a predict array,
 * resolved text) is the caller's to free() unless its comment names a
 * _free function. A registry must outlive every model and callback made
 * from it; data sets and callbacks given to fit must outlive the call.
 *
 * Threads: nothing here is thread-safe on the same object; different
 * objects may be used from different threads. Plugin initialisation is
 * serialised by the registry's lock. Inside one call the BLAS may use
 * several threads (OPENBLAS_NUM_THREADS); results are bit-identical for
 * the same seed, build and thread count.
 */
#ifndef NNKIT_NNKIT_H
#define NNKIT_NNKIT_H

#include "plugin.h"
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNK_VERSION "0.1.0"
#define NNK_MAX_INPUTS 16  /* inputs of a model, and of one layer */
#define NNK_MAX_OUTPUTS 8  /* outputs of a model */

/* The text of a status ("configuration error"). */
NNK_API const char *nnk_status_text(nnk_status status);
NNK_API int nnk_err_set(nnk_err *err, nnk_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- plugin registry ---------------------------------------------------- */

typedef enum nnk_kind {
    NNK_KIND_LAYER, NNK_KIND_ACTIVATION, NNK_KIND_LOSS, NNK_KIND_METRIC,
    NNK_KIND_OPTIMIZER, NNK_KIND_CALLBACK, NNK_KIND_COUNT
} nnk_kind;

NNK_API const char *nnk_kind_name(nnk_kind kind); /* "layer", "activation", ... */

typedef struct nnk_registry nnk_registry;

/* A component as the registry knows it. All pointers stay valid until the
 * registry is freed. */
typedef struct nnk_component_info {
    nnk_kind kind;
    const char *name;
    const char *doc;
    const nnk_param_spec *params;
    const void *vtable;        /* the nnk_*_vtable for its kind */
    const char *plugin_name;
    const char *plugin_version;
    const char *path;          /* the .so it came from */
} nnk_component_info;

NNK_API nnk_registry *nnk_registry_new(void);
NNK_API void nnk_registry_free(nnk_registry *reg);
/* Loads one plugin file. Errors (EPLUGIN) name the file and the stage:
 * cannot open, not an nnkit plugin, ABI version, init failed, duplicate
 * component (naming both files). */
NNK_API int nnk_registry_load_file(nnk_registry *reg, const char *path, nnk_err *err);
/* Loads every *.so in dir, in name order. */
NNK_API int nnk_registry_load_dir(nnk_registry *reg, const char *dir, nnk_err *err);
/* The standard search: plugin_dir (may be NULL), then each directory of
 * $NNKIT_PLUGIN_PATH (colon separated), then the build tree's plugins
 * (when running from it), then the install directory. The first directory
 * that holds a plugin for a name wins; later duplicates are skipped only
 * across directories, never within one. */
NNK_API int nnk_registry_load_default(nnk_registry *reg, const char *plugin_dir,
                              nnk_err *err);
/* The directories load_default searched, colon separated. */
NNK_API const char *nnk_registry_searched(const nnk_registry *reg);
NNK_API const nnk_component_info *nnk_registry_find(const nnk_registry *reg,
                                            nnk_kind kind, const char *name);
NNK_API int nnk_registry_count(const nnk_registry *reg);
NNK_API const nnk_component_info *nnk_registry_at(const nnk_registry *reg, int i);
/* "a, b, c": the names of every component of a kind (static buffer-free:
 * written into buf of size n). */
NNK_API void nnk_registry_names(const nnk_registry *reg, nnk_kind kind, char *buf,
                        size_t n);

/* ---- typed parameter sets ------------------------------------------------ */

typedef struct nnk_params nnk_params;
/* specs is borrowed and must outlive the set. Defaults are applied. */
NNK_API nnk_params *nnk_params_new(const nnk_param_spec *specs, size_t config_size,
                           const char *owner, nnk_err *err);
NNK_API void nnk_params_free(nnk_params *p);
/* Sets one parameter from text. owner (e.g. "layer 'hidden1'") and where
 * (e.g. "exp.ini:12", may be NULL) go into error messages. */
NNK_API int nnk_params_set(nnk_params *p, const char *key, const char *value,
                   const char *where, nnk_err *err);
/* Sets an INT parameter from a number (checked against its range as
 * nnk_params_set checks text); EUSAGE when key is no INT parameter. */
NNK_API int nnk_params_set_int(nnk_params *p, const char *key, int64_t value, const char *where, nnk_err *err);
NNK_API int nnk_params_has(const nnk_params *p, const char *key);
/* Fails (ECONFIG) naming the first parameter without a default that was
 * never set. */
NNK_API int nnk_params_check_required(const nnk_params *p, nnk_err *err);
NNK_API const void *nnk_params_config(const nnk_params *p);
/* The value of parameter i as text (into buf). */
NNK_API void nnk_params_format(const nnk_params *p, int i, char *buf, size_t n);
NNK_API int nnk_params_count(const nnk_params *p);
NNK_API const nnk_param_spec *nnk_params_spec(const nnk_params *p, int i);

/* The shortest decimal text that reads back (strtod) to exactly v. */
NNK_API void nnk_format_double(double v, char *buf, size_t n);
/* The same for a float32: the shortest text that reads back (strtof) to
 * exactly v, at most 9 significant digits. */
NNK_API void nnk_format_float(float v, char *buf, size_t n);
/* Names of inputs, layers and callbacks: 1 to NNK_NAME_MAX bytes of ASCII
 * letters, digits, '_' and '-', the first a letter or '_'. Such a name is
 * safe in every file nnkit writes (a C comment, an ONNX graph, an INI
 * section, a --set key), so nothing that accepts a name escapes it.
 * Returns 1 for a valid name. */
#define NNK_NAME_MAX 64
NNK_API int nnk_name_valid(const char *name);
/* ECONFIG naming `what` (e.g. "layer") and the name, quoted, when it is not
 * valid: "layer name 'a b' must be 1 to 64 letters, digits, '_' or '-',
 * starting with a letter or '_'". Non-printable bytes show as \xNN. */
NNK_API int nnk_name_check(const char *what, const char *name, nnk_err *err);
/* Did-you-mean: the candidate closest to word, or NULL if none is close. */
NNK_API const char *nnk_suggest(const char *word, const char *const *candidates,
                        int n);

/* ---- threads -------------------------------------------------------------- */

/* Sets the threads nnkit computes with, process-wide: n > 0 exactly n;
 * n <= 0 OPENBLAS_NUM_THREADS when the environment sets it, else every
 * online core. nnkit then runs its own pool of threads, splitting each
 * large gemm into one block per thread with the BLAS on one thread inside
 * each (OpenBLAS is set to one thread). Returns the count now in effect.
 * Until it is called, gemms run as single calls with OpenBLAS's own
 * threading. Training, evaluation and prediction give bit-identical results
 * for the same thread count; another count may change the last bits. */
NNK_API int nnk_set_threads(int n);
NNK_API int nnk_thread_count(void);
/* The compute backend every gemm runs on, as text: "oneDNN 2.6.3,
 * avx512_core" (the ISA its JIT kernels use on this CPU) or "OpenBLAS,
 * Haswell kernels". */
NNK_API const char *nnk_compute_backend(void);
/* The product nnkit computes with (plugins get it as host->sgemm): row-major
 * C = alpha op(A) op(B) + beta C, op transposing when ta / tb is non-zero.
 * After nnk_set_threads(n > 1) a large product is split into one block of
 * C per thread, each a one-thread BLAS call; before, it is one BLAS call. */
NNK_API void nnk_sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                       const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

/* ---- data ----------------------------------------------------------------- */

/* A data set held compactly: inputs as uint8 when the source is bytes
 * (images), float32 otherwise; labels as float32 (class indices are exact).
 * Scaling and standardisation are applied per batch when rows are gathered,
 * never stored, so Fashion-MNIST costs 47 MB instead of 188. */
/* A CSV feature column that holds text (a category per cell). */
typedef struct nnk_text_column {
    int64_t feature;         /* its position among the data set's features */
    char **values;           /* the distinct texts met, in first-seen order;
                                a number in such a column reads as its
                                shortest float text ("01.50" is "1.5") */
    int64_t n_values;
    int64_t numbers;         /* cells that were numbers */
    int64_t text_line;       /* the first cell that is not: its line, */
    char *text;              /* and its text */
} nnk_text_column;

typedef struct nnk_dataset {
    int64_t rows;
    const char *const *class_names; /* by label, or NULL; static storage or
                                       names_storage */
    int64_t n_classes;
    nnk_shape x_shape;       /* per sample */
    int64_t x_cols;          /* product of x_shape */
    uint8_t *x_u8;           /* exactly one of x_u8 / x_f32 is set */
    float *x_f32;
    int64_t y_cols;          /* 0 when unlabelled */
    float *y;
    char *source;            /* where it came from, for messages */
    char **names_storage;    /* class names the data set owns (a CSV's string
                                labels), freed with it */
    int64_t n_missing;       /* missing feature cells (empty, NA, nan), held
                                as NaN until a model fills them */
    char *missing_at;        /* where the first is: "line 5, column 'bmi'" */
    int64_t *lines;          /* CSV: each row's line in its file, or NULL */
    char **feature_names;    /* CSV: each feature column's name, or NULL */
    int64_t n_text;          /* text feature columns not yet encoded: their
                                cells in x_f32 hold indices into the column's
                                values (NaN: missing) until
                                nnk_model_encode_categories one-hot encodes
                                them; models refuse such data */
    nnk_text_column *text;
    int text_labels;         /* class_names are a string label column's
                                values (see nnk_dataset_fit_classes) */
    char *label_columns;     /* CSV: the label columns it was loaded with
                                ("" for none), or NULL; with feature_names
                                they become a model's columns when it fits
                                on this data without nnk_model_set_columns */
} nnk_dataset;

/* Data sets come from libnnkit-data (nnkit/data.h): CSV, IDX and
 * Fashion-MNIST loaders, splitting, string labels' classes. */
NNK_API void nnk_dataset_free(nnk_dataset *d);
/* Frees d's text columns (once they are encoded; n_text becomes 0). */
NNK_API void nnk_dataset_clear_text(nnk_dataset *d);
/* Puts the rows (inputs with their labels) in a random order drawn from
 * seed, the same order for the same seed and row count. */
NNK_API void nnk_dataset_shuffle(nnk_dataset *d, uint64_t seed);

/* ---- models ------------------------------------------------------------- */

typedef struct nnk_model nnk_model;

/* A per-epoch record of the logs (loss, metrics, val_*). */
typedef struct nnk_history {
    int n_epochs;
    int n_keys;
    char **keys;
    double *values; /* n_epochs x n_keys */
} nnk_history;

NNK_API nnk_model *nnk_model_new(nnk_registry *reg);  /* reg is borrowed */
NNK_API void nnk_model_free(nnk_model *m);

NNK_API int nnk_model_add_input(nnk_model *m, const char *name, const nnk_shape *shape,
                        nnk_err *err);
/* Adds a layer of component `type`. inputs: names of earlier layers or
 * inputs (n_inputs 0 means "the previous node", Sequential). keys/values:
 * n_params hyper-parameters; where[i] (may be NULL) locates each for
 * errors. */
NNK_API int nnk_model_add_layer(nnk_model *m, const char *name, const char *type,
                        const char *const *inputs, int n_inputs,
                        const char *const *keys, const char *const *values,
                        const char *const *where, int n_params, nnk_err *err);
/* Keras's compile for a model with one output (or the same loss on every
 * output): loss, metrics (comma separated, may be NULL), optimizer and its
 * parameters. Keys not belonging to the optimizer go to the loss. */
NNK_API int nnk_model_compile(nnk_model *m, const char *loss, const char *metrics,
                      const char *optimizer, double learning_rate,
                      const char *const *keys, const char *const *values,
                      const char *const *where, int n_params, nnk_err *err);
/* compile with several outputs: each its own loss and weight; metrics are
 * computed for every output. Logged names follow Keras: "loss" is the
 * weighted total, then "<output>_loss" and "<output>_<metric>" when there
 * are several outputs. All arrays are borrowed for the call. */
typedef struct nnk_compile_options {
    const char *optimizer;          /* default "sgd" */
    double learning_rate;           /* 0 (default): the optimizer's own,
                                       as in Keras (0.01 for sgd, 0.001 for
                                       the adaptive ones) */
    const char *const *outputs;     /* layer names; n_outputs 0: the one layer
                                       no other layer uses */
    int n_outputs;
    const char *const *losses;      /* one for every output, or one each */
    int n_losses;
    const double *loss_weights;     /* one per output, or NULL for 1 each */
    const char *metrics;            /* comma separated, may be NULL */
    double clipnorm;                /* > 0: clip each weight's gradient norm */
    double clipvalue;               /* > 0: clip each gradient value */
    double global_clipnorm;         /* > 0: clip the norm of all gradients */
    const char *const *keys;        /* optimizer and loss parameters */
    const char *const *values;
    const char *const *where;       /* may be NULL */
    int n_params;
} nnk_compile_options;
NNK_API void nnk_compile_options_init(nnk_compile_options *o);
NNK_API int nnk_model_compile_with(nnk_model *m, const nnk_compile_options *o, nnk_err *err);
/* Shape inference and weight initialisation from seed. Layers may be
 * added in any order: build resolves their inputs by name, sorts them, and
 * fails naming the layers involved on an unknown input, a cycle, a layer
 * whose output goes nowhere, an input no layer uses, an output that is not
 * a layer, or shapes that do not fit. */
NNK_API int nnk_model_build(nnk_model *m, uint64_t seed, nnk_err *err);

/* Preprocessing stored with the model: x = (raw * scale - mean) / std. */
NNK_API int nnk_model_set_scale(nnk_model *m, double scale, nnk_err *err);
/* The CSV label and feature columns the model was trained with (stored in
 * the model file, so evaluate and predict pick the same columns). */
NNK_API int nnk_model_set_columns(nnk_model *m, const char *labels,
                          const char *features, nnk_err *err);
NNK_API const char *nnk_model_label_columns(const nnk_model *m);
/* The names of the classes, by index (Fashion-MNIST's, a CSV's string
 * labels, or [data] class_names), saved with the model; n 0 clears them. */
NNK_API int nnk_model_set_class_names(nnk_model *m, const char *const *names, int64_t n, nnk_err *err);
NNK_API int64_t nnk_model_class_count(const nnk_model *m);
NNK_API const char *nnk_model_class_name(const nnk_model *m, int64_t k); /* NULL past the end */
NNK_API const char *nnk_model_feature_columns(const nnk_model *m);
/* The model's preprocessing state, saved with it and applied to every row
 * as it is gathered (libnnkit-data's nnk_model_fit_* functions fit it from
 * data; nnkit/data.h).
 * Categories: the raw feature names (n_raw) and, for each text column (in
 * feature order), its vocabulary: sorted, distinct, at most
 * NNK_MAX_CATEGORIES texts. The arrays are copied; n_cats 0 clears them.
 * Before build, a 1-D input declared with the raw column count it takes
 * grows by each of its text columns' vocabulary size less one. */
#define NNK_MAX_CATEGORIES 10000
typedef struct nnk_category_info {
    int64_t feature;            /* its raw feature position */
    const char *const *values;  /* its vocabulary, sorted */
    int64_t n_values;
} nnk_category_info;
NNK_API int nnk_model_set_categories(nnk_model *m, const char *const *raw_names, int64_t n_raw,
                                     const nnk_category_info *cats, int64_t n_cats, int ignore_unknown, nnk_err *err);
/* The categories: how many; the k-th (borrowed, valid until they change);
 * the raw feature names (n_raw of them: NULL past the end); whether an
 * unknown text encodes as all zeros instead of failing. */
NNK_API int64_t nnk_model_category_count(const nnk_model *m);
NNK_API int nnk_model_category(const nnk_model *m, int64_t k, nnk_category_info *out);
NNK_API int64_t nnk_model_raw_feature_count(const nnk_model *m);
NNK_API const char *nnk_model_raw_feature_name(const nnk_model *m, int64_t i);
NNK_API int nnk_model_ignores_unknown(const nnk_model *m);
/* The model's input features after encoding: their count (0 when the model
 * has no categories) and the name of feature i ("age", "color=red"). */
NNK_API int64_t nnk_model_encoded_feature_count(const nnk_model *m);
NNK_API const char *nnk_model_encoded_feature_name(const nnk_model *m, int64_t i);
/* Missing cells (NaN) of feature j take fill[j] (n values, copied; fill
 * NULL clears them). */
NNK_API int nnk_model_set_fill(nnk_model *m, const float *fill, int64_t n, nnk_err *err);
/* Standardization: feature j becomes (x - mean[j]) / std[j] after the
 * fills and the scale (n values each, copied, std > 0; mean NULL clears). */
NNK_API int nnk_model_set_standardizer(nnk_model *m, const float *mean, const float *std, int64_t n, nnk_err *err);

/* Keras's adapt: every layer with an adapt hook (normalization) fits its
 * statistics to d. fit does this itself for layers not yet adapted; a
 * loaded model's layers count as adapted. */
NNK_API int nnk_model_adapt(nnk_model *m, const nnk_dataset *d, int64_t batch_size, nnk_err *err);

typedef struct nnk_callback nnk_callback;
/* A callback from a registered component with its parameters. */
NNK_API nnk_callback *nnk_callback_new(nnk_registry *reg, const char *type,
                               const char *name, const char *const *keys,
                               const char *const *values,
                               const char *const *where, int n_params,
                               nnk_err *err);
/* A callback given as a C function (for the C API). */
typedef int (*nnk_callback_fn)(void *user, nnk_event event,
                               const nnk_train_info *info, nnk_err *err);
NNK_API nnk_callback *nnk_callback_from_fn(nnk_callback_fn fn, void *user);
NNK_API void nnk_callback_free(nnk_callback *cb);
/* When one of the callbacks keeps backups (backup_and_restore) and has one
 * for run_dir, writes its path and returns 1; fit resumes from it. */
NNK_API int nnk_callback_backup(nnk_callback *const *cbs, int n, const char *run_dir, char *path, size_t size);
/* Fires NNK_RUN_SAVED: the results of a fit made with keep_backups are on
 * disk, so backup callbacks delete their backups now. A crash before this
 * leaves the backup, and the next run resumes from it and saves again. */
NNK_API int nnk_callbacks_run_saved(nnk_callback *const *cbs, int n, const char *run_dir, nnk_err *err);

/* ---- data-parallel training -------------------------------------------
 * A reducer joins processes that train one model together (the core knows
 * no transport: libnnkit-mpi implements one with MPI, see nnkit/mpi.h).
 * Every process calls fit with the same model, data and options and a
 * reducer of the same size; batch_size is the global batch. Each process
 * computes the gradient of its share of every global batch (a remainder
 * goes to the first ranks), the gradients are summed weighted by rows, and
 * every process applies the same update, so the weights stay identical
 * (checked at every epoch's end; see check_weights_every_step). Losses and
 * metrics are summed too, so logs and callback decisions are the same on
 * every process and equal a single process's up to float summation order.
 * Metrics need NNK_METRIC_SUMS. */
typedef struct nnk_reducer {
    int rank, size;                 /* this process's index, and how many */
    void *ctx;
    /* Sums n values over the processes, in place; every process gets the
     * same bits. */
    int (*sum_floats)(void *ctx, float *values, int64_t n, nnk_err *err);
    int (*sum_doubles)(void *ctx, double *values, int64_t n, nnk_err *err);
    /* Copies n bytes from process root to every other. */
    int (*broadcast)(void *ctx, void *bytes, int64_t n, int root, nnk_err *err);
    /* Optional, to overlap the gradient sum with backward: starts summing n
     * floats in place (every process starts the same sums in the same
     * order) and gives a handle that wait_sum completes; progress lets
     * started sums advance. With them (and nnk_fit_options.gradient_buckets)
     * fit sums each bucket of gradients as soon as backward has produced
     * it (DDP's design). */
    int (*start_sum_floats)(void *ctx, float *values, int64_t n, void **handle, nnk_err *err);
    int (*wait_sum)(void *ctx, void *handle, nnk_err *err);
    void (*progress)(void *ctx);
} nnk_reducer;

typedef struct nnk_fit_options {
    int64_t epochs;
    int64_t batch_size;
    int shuffle;
    uint64_t seed;
    const nnk_dataset *validation; /* may be NULL */
    nnk_callback *const *callbacks;
    int n_callbacks;
    const char *run_dir;           /* may be NULL */
    const nnk_dataset *test;       /* for callbacks only (projector); may be NULL */
    const char *experiment;        /* resolved experiment text for callbacks */
    int n_hparams;                 /* hyper-parameters, for callbacks */
    const char *const *hparam_names;
    const char *const *hparam_values;
    int64_t initial_epoch;         /* Keras's initial_epoch: training runs
                                      epochs initial_epoch .. epochs-1, and
                                      epoch numbers, schedules and logged
                                      steps continue from there */
    int keep_backups;              /* backup callbacks keep their file when
                                      training ends; call
                                      nnk_callbacks_run_saved once the results
                                      are saved (nnkit train does) */
    const nnk_reducer *reducer;    /* data-parallel training, or NULL */
    int check_weights_every_step;  /* with a reducer: compare the processes'
                                      weights after every step (a debug aid),
                                      not only at every epoch's end */
    int64_t sharded_rows;          /* with a reducer, > 0: train is this
                                      process's part (nnk_dataset_load_part)
                                      of a data set of this many rows; each
                                      process shuffles its own rows every
                                      epoch and gives every global batch
                                      its share of them */
    int gradient_buckets;          /* with a reducer that can: sum the
                                      gradients in buckets while backward
                                      runs (DDP's overlap) instead of in one
                                      call after it; for links slower than
                                      the compute (tools/scaling.py): on one
                                      2-core host, with no core spare for
                                      MPI's progress, it measured slower */
} nnk_fit_options;

NNK_API void nnk_fit_options_init(nnk_fit_options *o); /* Keras defaults */
/* Trains; fills *history when not NULL (free with nnk_history_clear). */
NNK_API int nnk_model_fit(nnk_model *m, const nnk_dataset *train,
                  const nnk_fit_options *o, nnk_history *history,
                  nnk_err *err);
NNK_API void nnk_history_clear(nnk_history *h);
/* Loss and metrics on d: names[i]/values[i], n written to *n (<= cap;
 * NNK_MAX_LOGS / 2 is always enough). */
NNK_API int nnk_model_evaluate(nnk_model *m, const nnk_dataset *d, int64_t batch_size,
                       char names[][64], double *values, int cap, int *n,
                       nnk_err *err);
/* Whether log `name` (as fit and evaluate name it, val_ or not) is better
 * higher (1) or lower (0) on the built model m, as mode = auto takes it:
 * see nnkit.model.log_direction/1. m may be NULL: Keras's name rule. */
NNK_API int nnk_model_log_higher_is_better(const nnk_model *m, const char *name);
/* The model's outputs (after build): their layer names and units, in
 * order; returns how many there are (at most cap are written). */
NNK_API int nnk_model_outputs(const nnk_model *m, const char **names, int64_t *cols, int cap);
/* The model's inputs: their names and per-sample shapes, in order (a data
 * row holds their values one after another); returns how many there are
 * (at most cap are written). */
NNK_API int nnk_model_inputs(const nnk_model *m, const char **names, nnk_shape *shapes, int cap);
/* ---- what a model is made of (Keras's model.layers, get_config) --------
 * Pointers stay valid until the model is freed. Layer order is the build
 * order (a topological order) once built, the order of adding before. */
NNK_API nnk_registry *nnk_model_registry(const nnk_model *m);
NNK_API int nnk_model_layer_count(const nnk_model *m);
/* Layer i: name, component, activation, inputs, output shape (after
 * build) and weights; -1 when i is out of range. */
NNK_API int nnk_model_layer(const nnk_model *m, int i, nnk_layer_info *out);
/* Keras's layer.trainable: a frozen layer's weights keep their values in
 * fit (transfer learning); they count as non-trainable in the summary and
 * the model file remembers. Before or after build. */
NNK_API int nnk_model_set_trainable(nnk_model *m, const char *layer, int trainable, nnk_err *err);
NNK_API int nnk_model_layer_trainable(const nnk_model *m, int i);
/* Layer i's parameters, every one resolved (defaults included). */
NNK_API const nnk_params *nnk_model_layer_params(const nnk_model *m, int i);
/* Layer i's activation's parameters (leaky_relu's alpha, ...), or NULL
 * when it has none. */
NNK_API const nnk_params *nnk_model_layer_activation_params(const nnk_model *m, int i);
/* Layer i itself, as its plugin sees it (its config and weights), for an
 * exporter calling the layer's export hooks; NULL out of range. */
NNK_API const nnk_layer *nnk_model_layer_instance(const nnk_model *m, int i);
/* The preprocessing a data row gets before the inputs (as predict applies
 * it): missing cells (NaN) take fill[j] when fill is not NULL, then
 * x = x * scale, then (x - mean[j]) * inv_std[j] when mean is not NULL.
 * Arrays of n values (the inputs' columns), owned by the model. */
typedef struct nnk_preprocessing {
    double scale;
    const float *fill, *mean, *inv_std;
    int64_t n;
} nnk_preprocessing;
NNK_API void nnk_model_preprocessing(const nnk_model *m, nnk_preprocessing *out);
/* Rows first..first+n of d as the model gathers them for its inputs (the
 * preprocessing above applied) into x (n x d->x_cols floats). EUSAGE when
 * the rows are not d's. */
NNK_API int nnk_model_prepare_rows(nnk_model *m, const nnk_dataset *d, int64_t first, int64_t n, float *x,
                                   nnk_err *err);
/* Output k of a compiled model: its layer, loss and loss weight and the
 * loss's parameters; n_metrics metrics, named by nnk_model_output_metric. */
typedef struct nnk_output_info {
    const char *name;
    const char *loss;
    double loss_weight;
    const nnk_params *loss_params;
    int n_metrics;
} nnk_output_info;
NNK_API int nnk_model_output_info(const nnk_model *m, int k, nnk_output_info *out);
NNK_API const char *nnk_model_output_metric(const nnk_model *m, int k, int i);
/* That metric's parameters (NULL when there is no such metric). */
NNK_API const nnk_params *nnk_model_output_metric_params(const nnk_model *m, int k, int i);
/* The optimizer's name (NULL before compile) and its parameters. */
NNK_API const char *nnk_model_optimizer(const nnk_model *m, const nnk_params **params);
/* Gradient clipping as compiled (0: off). */
NNK_API void nnk_model_clipping(const nnk_model *m, double *clipnorm, double *clipvalue, double *global_clipnorm);
/* Columns of predict's result: every output's units, in output order. */
NNK_API int64_t nnk_model_output_cols(const nnk_model *m);
/* Outputs for every row of d: a rows x output_cols array the caller frees. */
NNK_API float *nnk_model_predict(nnk_model *m, const nnk_dataset *d,
                         int64_t batch_size, int64_t *out_cols, nnk_err *err);
NNK_API double nnk_model_learning_rate(const nnk_model *m);
/* An optimizer's default learning rate (its vtable's, or 0.01). */
NNK_API double nnk_optimizer_default_learning_rate(const nnk_optimizer_vtable *vt);

/* Keras-style summary table. */
NNK_API void nnk_model_summary(const nnk_model *m, FILE *out);
NNK_API int64_t nnk_model_param_count(const nnk_model *m);
/* One weight of a built model by layer and weight name ("kernel", "bias",
 * ...), as n floats in the layer's row-major order (a dense kernel is
 * inputs x units, as in Keras). n must be the weight's size. */
NNK_API int nnk_model_get_weights(const nnk_model *m, const char *layer, const char *weight, float *out, int64_t n,
                          nnk_err *err);
NNK_API int nnk_model_set_weights(nnk_model *m, const char *layer, const char *weight, const float *values, int64_t n,
                          nnk_err *err);
/* Fine-tuning and continued training: every layer of m that src (a loaded
 * model) has by the same name takes its weights, which must have the same
 * names and shapes (an error names both shapes otherwise); other layers
 * keep their own. With the same optimizer in both, its state (slots and
 * step count) comes along too, as Keras's load_model then fit continues.
 * Both built. Sets *matched to the layers taken (may be NULL). */
NNK_API int nnk_model_take_weights(nnk_model *m, const nnk_model *src, int *matched, nnk_err *err);
/* Copies every weight in model order into a new array (caller frees). */
NNK_API float *nnk_model_weights_copy(const nnk_model *m, int64_t *n);

/* Model files: one protobuf message (proto/nnkit_model.proto) in a small
 * checked envelope, written atomically (temporary file, fsync, rename). */
NNK_API int nnk_model_save(const nnk_model *m, const char *path, nnk_err *err);
/* weights_only: without the optimizer's state (it restarts when trained). */
NNK_API int nnk_model_save_as(const nnk_model *m, const char *path, int weights_only, nnk_err *err);
/* Loads and rebuilds a model; its plugins must be in reg. */
NNK_API nnk_model *nnk_model_load(nnk_registry *reg, const char *path, nnk_err *err);


/* mkdir -p; `what` names the directory in messages ("log directory 'x':
 * cannot create 'x/y': ..."). Fails (EIO) when dir exists but is no
 * directory. */
NNK_API int nnk_mkdir_p(const char *dir, const char *what, nnk_err *err);

/* Opens a file to read ("rb"), refusing a directory; NULL with err set
 * (EIO: "what 'path': cannot open: reason" or "...: is a directory"). */
NNK_API FILE *nnk_open_input(const char *path, const char *what, nnk_err *err);
/* A whole file in memory (caller frees), or NULL with err set (EIO);
 * `what` names the file in messages ("model 'x': cannot open: ..."). */
NNK_API unsigned char *nnk_read_file(const char *path, const char *what, size_t *n, nnk_err *err);

/* Write a whole file atomically: tmp file beside path, fsync, rename. When
 * path is a symbolic link, the file it points to is replaced and the link
 * stays. */
NNK_API int nnk_write_file_atomic(const char *path, const void *data, size_t n,
                          nnk_err *err);


#ifdef __cplusplus
}
#endif
#endif
