/* nnkit experiment files: the INI format of DESIGN.md section 4 and its
 * policy, in libnnkit-experiment, apart from the engine (libnnkit). The
 * runner and C programs that want experiment files use it; it builds models
 * through libnnkit's public API only.
 *
 * Conventions as in nnkit.h: calls that can fail fill a caller-owned
 * nnk_err; objects come in _load/_free pairs. */
#ifndef NNKIT_EXPERIMENT_H
#define NNKIT_EXPERIMENT_H
#include <nnkit/nnkit.h>
#ifdef __cplusplus
extern "C" {
#endif


/* An INI experiment (DESIGN.md section 4), parsed with libinih. Sections:
 * [data] [input] [layer NAME] [compile] [fit] [callback NAME] [run]. */
typedef struct nnk_ini_entry {
    char *key, *value;
    int line;
} nnk_ini_entry;

typedef struct nnk_ini_section {
    char *kind;   /* "layer" */
    char *name;   /* "hidden1", or NULL for unnamed sections */
    int line;
    int n, cap;
    nnk_ini_entry *entries;
} nnk_ini_section;

typedef struct nnk_experiment {
    char *path;
    int n, cap;
    nnk_ini_section *sections;
} nnk_experiment;

/* A key's value in a section (keys are unique in a loaded file), or NULL. */
NNK_API const char *nnk_ini_section_value(const nnk_ini_section *s, const char *key);
/* A [layer NAME] or [callback NAME] section's component type: its `type`
 * key, or its name when it has none (NULL for an unnamed section). */
NNK_API const char *nnk_ini_section_type(const nnk_ini_section *s);

/* Parses and checks section names (unknown ones get file:line and a
 * did-you-mean). [data] train, test and validation paths in the file are
 * relative to the file's directory; they come back as paths from the
 * working directory. */
NNK_API nnk_experiment *nnk_experiment_load(const char *path, nnk_err *err);
NNK_API void nnk_experiment_free(nnk_experiment *e);
/* The experiment as INI text, every section and key as held now (caller
 * frees); NULL when out of memory. */
NNK_API char *nnk_experiment_text(const nnk_experiment *e);
/* A data spec as an absolute path (fashion-mnist:... and absolute paths
 * unchanged), for files read from elsewhere (config.ini, best.ini, a
 * sweep's trial.ini); caller frees. */
NNK_API char *nnk_experiment_data_path(const char *value);
/* --set: "fit.epochs=5" or "hidden1.units=100" (a section kind without a
 * name, or the name of a named section); "ckpt.type=model_checkpoint",
 * where no section is named ckpt, adds [callback ckpt]. Without '=' it
 * removes (--unset): "fit.shuffle" a key, "early_stopping" a whole
 * [callback early_stopping]. EUSAGE naming the assignment when it cannot. */
NNK_API int nnk_experiment_override(nnk_experiment *e, const char *assignment,
                            nnk_err *err);
/* The value of kind[.name] key, or NULL. */
NNK_API const char *nnk_experiment_get(const nnk_experiment *e, const char *kind,
                               const char *key);

/* Run settings read from [data], [fit] and [run]. */
typedef struct nnk_run_config {
    const char *train, *test, *validation; /* data specs */
    const char *label, *features;          /* CSV columns */
    double validation_split, test_split, scale;
    int standardize;
    int64_t epochs, batch_size, verbose;
    int shuffle;
    int64_t seed;
    const char *run_dir, *run_name;
    int shuffle_split;                     /* shuffle rows (seed) before the splits */
    int64_t initial_epoch;
    int64_t threads;                       /* BLAS threads; 0: the environment's or every core */
    const char *check_weights;             /* under mpirun: "epoch" or "step" */
    int gradient_buckets;                  /* under mpirun: sums overlap backward */
    const char *class_names;               /* comma separated, or "" */
    const char *missing;                   /* error, mean, median or zero */
    const char *unknown_category;          /* error or ignore (all zeros) */
    int shard;                             /* under mpirun: each process loads its part */
} nnk_run_config;

typedef struct nnk_experiment_parts {
    nnk_params *data, *fit, *run; /* typed [data], [fit], [run] */
    char *joined_features;        /* the inputs' columns, when they name them */
    nnk_run_config cfg;           /* views into the params above */
} nnk_experiment_parts;

/* Checks [data], [fit] and [run] against their specs and fills parts. */
NNK_API int nnk_experiment_settings(const nnk_experiment *e, nnk_experiment_parts *parts,
                            nnk_err *err);
NNK_API void nnk_experiment_parts_clear(nnk_experiment_parts *parts);
/* Builds (inputs, layers, compile; not nnk_model_build) a model. */
NNK_API nnk_model *nnk_experiment_model(const nnk_experiment *e, nnk_registry *reg,
                                nnk_err *err);
/* The experiment's [callback NAME] sections as callbacks. *n is set. */
NNK_API nnk_callback **nnk_experiment_callbacks(const nnk_experiment *e,
                                        nnk_registry *reg, int *n,
                                        nnk_err *err);
/* The experiment with every value resolved (defaults included), as text
 * (caller frees). */
NNK_API char *nnk_experiment_resolved_text(const nnk_experiment *e, const nnk_model *m,
                                   const nnk_experiment_parts *parts);
/* The hyper-parameters of a run: every key the experiment sets in [data]
 * (but the data paths and columns), [layer NAME] (but type and inputs),
 * [callback NAME] (as NAME.KEY, but type and file paths), [compile] (but
 * OPTIMIZER.key for an optimizer other than the compiled one) and [fit]
 * (but verbose and threads), plus the
 * defaults of compile.optimizer, compile.learning_rate, fit.batch_size and
 * fit.epochs. Arrays of n strings, freed with nnk_experiment_hparams_free. */
NNK_API int nnk_experiment_hparams(const nnk_experiment *e, const nnk_experiment_parts *parts,
                           const nnk_model *m, char ***names, char ***values, int *n);
NNK_API void nnk_experiment_hparams_free(char **names, char **values, int n);

#ifdef __cplusplus
}
#endif
#endif
