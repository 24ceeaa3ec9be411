/* nnkit sweep's parts (sweep.c, sweep_space.c, sweep_run.c). */
#ifndef NNKIT_SWEEP_H
#define NNKIT_SWEEP_H
#include "cli.h"
#include <limits.h>

#define MAX_DIMS 16
#define MAX_VALUES 64
#define MAX_TRIALS 1024

enum { DIM_GRID, DIM_CHOICE, DIM_UNIFORM, DIM_LOG };

typedef struct dim {
    char key[128];
    int kind;
    double lo, hi;
    int integer;       /* LOW:HIGH written as integers: values are rounded (Keras Tuner's hp.Int) */
    char values[MAX_VALUES][64];
    int n_values;
} dim;

typedef struct trial {
    char value[MAX_DIMS][64];
    double u[MAX_DIMS];  /* random and bayes: its point in the unit cube */
    char name[64];       /* trial-<id>: the id is a digest of its whole
                            resolved configuration */
    double objective;
    int objective_higher; /* its model says the objective is better higher (validate) */
    int ok, active;
    int rung;          /* hyperband: the last rung it reached */
    int same_as;       /* 1 + the trial with the same configuration, or 0 */
    long long epochs;
    long long initial_epoch; /* hyperband: epochs its previous rung trained */
    char prev[64];           /* hyperband: the previous rung's run it goes on from */
    int mine;                /* under mpirun: this process ran it this round */
    long long best_epoch;    /* epochs trained at its best epoch this run (Keras Tuner scores a trial by it), or 0 */
    /* its best over every run it had (every rung of Hyperband's), which ranks it */
    int top_ok, top_rung;
    double top_objective;
    long long top_epoch;
    char top_run[64];
} trial;

/* The search space (sweep_space.c): a --grid/--choice/--uniform/
 * --log-uniform dimension; a trial's values from its point in the unit
 * cube; the trials of a grid or random search; the --set list a trial's
 * `nnkit train` gets; validate builds a trial's experiment and names it. */
int parse_dim(const char *spec, int kind, dim *d, nnk_err *err);
void values_from_unit(const dim *dims, int nd, trial *t);
int make_trials(const dim *dims, int nd, int random, int n_random, uint64_t seed, trial *t, nnk_err *err);
int trial_sets(const sweep_options *so, const dim *dims, int nd, const trial *t, char buf[][PATH_MAX + 16],
               const char **sets);
int validate(const sweep_options *so, const dim *dims, int nd, trial *t, nnk_err *err);

/* Running trials (sweep_run.c): a run's score (its best epoch), and one
 * round of trials, --jobs at a time (under mpirun, shared by the job's
 * processes), each trial's result and best over its runs filled in. */
int read_objective(const char *dir, const char *objective, int minimize, double *value, long long *epoch);
void run_round(const sweep_options *so, const char *root, const char *trial_ini, const dim *dims, int nd, trial *t,
               int n, int minimize);

/* The sweep's files (sweep_files.c): its search space as text in its own
 * TensorBoard run; the experiment a trial trains (data paths made
 * absolute); best.ini, the best trial's configuration trained again for
 * the epochs of its best epoch. */
int record_space(const char *root, const dim *dims, int nd, const char *objective, const char *strategy, nnk_err *err);
int write_trial_ini(const char *experiment, const char *path, nnk_err *err);
int write_best(const sweep_options *so, const char *root, const char *runs_dir, const trial *best, nnk_err *err);
#endif
