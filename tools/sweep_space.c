/* nnkit sweep's search space: dimensions, trials and their configurations. */
#include "bayes.h"
#include "sweep.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int parse_dim(const char *spec, int kind, dim *d, nnk_err *err)
{
    static const char *const flags[] = {"--grid", "--choice", "--uniform", "--log-uniform"};
    const char *eq = strchr(spec, '=');
    memset(d, 0, sizeof *d);
    d->kind = kind;
    if (!eq || eq == spec || !strchr(spec, '.') || strchr(spec, '.') > eq)
        return nnk_err_set(err, NNK_EUSAGE, "%s '%s': expected section.key=%s", flags[kind], spec,
                           kind >= DIM_UNIFORM ? "LOW:HIGH" : "V1,V2,...");
    snprintf(d->key, sizeof d->key, "%.*s", (int)(eq - spec), spec);
    const char *v = eq + 1;
    if (kind >= DIM_UNIFORM) {
        char *end;
        d->lo = strtod(v, &end);
        if (end == v || *end != ':')
            return nnk_err_set(err, NNK_EUSAGE, "%s '%s': expected LOW:HIGH", flags[kind], spec);
        const char *h = end + 1;
        d->hi = strtod(h, &end);
        if (end == h || *end || !isfinite(d->lo) || !isfinite(d->hi))
            return nnk_err_set(err, NNK_EUSAGE, "%s '%s': expected LOW:HIGH", flags[kind], spec);
        if (!(d->lo < d->hi))
            return nnk_err_set(err, NNK_EUSAGE, "%s '%s': the range is empty or inverted (%g is not below %g)",
                               flags[kind], spec, d->lo, d->hi);
        d->integer = !strpbrk(v, ".eE") && !strpbrk(h, ".eE");
        if (kind == DIM_LOG && d->lo <= 0)
            return nnk_err_set(err, NNK_EUSAGE, "%s '%s': a log-uniform range must be above 0", flags[kind], spec);
        return NNK_OK;
    }
    char *copy = strdup(v), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && d->n_values < MAX_VALUES; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (*t)
            snprintf(d->values[d->n_values++], 64, "%s", t);
    }
    free(copy);
    if (d->n_values == 0)
        return nnk_err_set(err, NNK_EUSAGE, "%s '%s': no values", flags[kind], spec);
    return NNK_OK;
}

/* A trial's values from its point in the unit cube: ranges map linearly
 * (or on a log scale), lists pick the value whose share u falls in. */
void values_from_unit(const dim *dims, int nd, trial *t)
{
    for (int i = 0; i < nd; i++) {
        const dim *d = &dims[i];
        double u = t->u[i];
        double x = d->kind == DIM_UNIFORM ? d->lo + (d->hi - d->lo) * u
                   : d->kind == DIM_LOG   ? exp(log(d->lo) + (log(d->hi) - log(d->lo)) * u)
                                          : 0;
        if (d->kind >= DIM_UNIFORM && d->integer)
            snprintf(t->value[i], 64, "%.0f", round(x));
        else if (d->kind >= DIM_UNIFORM)
            snprintf(t->value[i], 64, "%.6g", x);
        else
            snprintf(t->value[i], 64, "%s", d->values[(int)(u * d->n_values) % d->n_values]);
    }
}

int make_trials(const dim *dims, int nd, int random, int n_random, uint64_t seed, trial *t, nnk_err *err)
{
    int n = 0;
    if (!random) {
        int total = 1;
        for (int i = 0; i < nd; i++)
            total *= dims[i].n_values;
        if (total > MAX_TRIALS)
            return nnk_err_set(err, NNK_EUSAGE, "sweep: %d grid combinations, at most %d", total, MAX_TRIALS), -1;
        for (int k = 0; k < total; k++, n++)
            for (int i = 0, r = k; i < nd; i++) {
                snprintf(t[n].value[i], 64, "%s", dims[i].values[r % dims[i].n_values]);
                r /= dims[i].n_values;
            }
        return n;
    }
    uint64_t s = seed * 2654435761u + 1;
    for (; n < n_random && n < MAX_TRIALS; n++) {
        for (int i = 0; i < nd; i++)
            t[n].u[i] = bayes_uniform(&s);
        values_from_unit(dims, nd, &t[n]);
    }
    return n;
}

/* The --set assignments a trial's `nnkit train` gets (but run.dir and the
 * run name), in the order it gets them; strings live in buf. */
int trial_sets(const sweep_options *so, const dim *dims, int nd, const trial *t,
                      char buf[][PATH_MAX + 16], const char **sets)
{
    int n = 0;
    for (int i = 0; i < nd; i++) {
        snprintf(buf[n], sizeof buf[n], "%s=%s", dims[i].key, t->value[i]);
        sets[n] = buf[n];
        n++;
    }
    for (int i = 0; i < so->n_sets; i++)
        sets[n++] = so->sets[i];
    snprintf(buf[n], sizeof buf[n], "fit.verbose=2");
    sets[n] = buf[n];
    n++;
    if (t->epochs > 0) {
        snprintf(buf[n], sizeof buf[n], "fit.epochs=%lld", t->epochs);
        sets[n] = buf[n];
        n++;
    }
    if (t->initial_epoch > 0) {
        snprintf(buf[n], sizeof buf[n], "fit.initial_epoch=%lld", t->initial_epoch);
        sets[n] = buf[n];
        n++;
    }
    return n;
}

/* FNV-1a of the resolved experiment without its first line (which names
 * the file) and its [run] section (where the run goes): two trials are the
 * same trial exactly when everything that shapes training is the same. */
static void config_id(const char *resolved, char *id, size_t n)
{
    const char *start = strchr(resolved, '\n');
    start = start ? start + 1 : resolved;
    const char *end = strstr(start, "\n[run]\n");
    size_t len = end ? (size_t)(end - start) : strlen(start);
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)start[i]) * 0x100000001b3ull;
    snprintf(id, n, "%012llx", (unsigned long long)(h >> 16));
}

/* Every key must mean something: builds the trial's experiment (as its
 * `nnkit train` will) before any training, and names the trial by its
 * resolved configuration. */
int validate(const sweep_options *so, const dim *dims, int nd, trial *t, nnk_err *err)
{
    static char buf[MAX_DIMS + 4][PATH_MAX + 16];
    const char *sets[MAX_DIMS + 300];
    int n_sets = trial_sets(so, dims, nd, t, buf, sets);
    loaded_experiment x;
    nnk_callback **cbs = NULL;
    int n_cbs = 0;
    int rc = experiment_open(&x, so->experiment, sets, n_sets, 0, so->plugin_dir, err);
    if (rc)
        return rc;
    if (!(cbs = nnk_experiment_callbacks(x.e, x.reg, &n_cbs, err)))
        rc = err->status;
    if (!rc)
        rc = nnk_model_build(x.m, 1, err);
    char *resolved = rc ? NULL : nnk_experiment_resolved_text(x.e, x.m, &x.parts);
    if (!rc && !resolved)
        rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (!rc) {
        char id[32];
        const char *log = strncmp(so->objective, "test_", 5) ? so->objective : so->objective + 5;
        t->objective_higher = nnk_model_log_higher_is_better(x.m, log);
        config_id(resolved, id, sizeof id);
        snprintf(t->name, sizeof t->name, "trial-%s", id);
    }
    free(resolved);
    for (int i = 0; cbs && i < n_cbs; i++)
        nnk_callback_free(cbs[i]);
    free(cbs);
    experiment_close(&x);
    return rc;
}

