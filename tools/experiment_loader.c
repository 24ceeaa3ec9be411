/* The one way the runner's commands (train, summary, lr-find, sweep) and
 * bench_train open an experiment. */
#include "runner.h"
#include <string.h>

int experiment_open(loaded_experiment *x, const char *path, const char *const *sets, int n_sets, int threads,
                    const char *plugin_dir, nnk_err *err)
{
    memset(x, 0, sizeof *x);
    if (!(x->reg = nnk_registry_new()))
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    int rc = nnk_registry_load_default(x->reg, plugin_dir, err);
    if (!rc && !(x->e = nnk_experiment_load(path, err)))
        rc = err->status;
    for (int i = 0; !rc && i < n_sets; i++)
        rc = nnk_experiment_override(x->e, sets[i], err);
    if (!rc)
        rc = nnk_experiment_settings(x->e, &x->parts, err);
    if (!rc && threads > 0) { /* --threads: [fit] threads, so config.ini records it */
        rc = nnk_params_set_int(x->parts.fit, "threads", threads, "--threads", err);
        x->parts.cfg.threads = threads;
    }
    if (!rc && !(x->m = nnk_experiment_model(x->e, x->reg, err)))
        rc = err->status;
    if (rc)
        experiment_close(x);
    return rc;
}

void experiment_close(loaded_experiment *x)
{
    nnk_model_free(x->m);
    nnk_experiment_parts_clear(&x->parts);
    nnk_experiment_free(x->e);
    nnk_registry_free(x->reg);
    memset(x, 0, sizeof *x);
}
