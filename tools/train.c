/* nnkit train: an experiment file to a run directory (model.nnk,
 * config.ini, metrics.txt, training.csv and what its callbacks write). */
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The last epoch's logs and the test results, one "name value" per line,
 * for sweeps and scripts. */
static int write_metrics(const char *path, const nnk_history *h, char tnames[][64], const double *tvalues, int tn,
                         nnk_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    fprintf(f, "epochs %d\n", h->n_epochs);
    for (int k = 0; h->n_epochs && k < h->n_keys; k++)
        fprintf(f, "%s %.9g\n", h->keys[k], h->values[(h->n_epochs - 1) * h->n_keys + k]);
    for (int k = 0; k < tn; k++)
        fprintf(f, "test_%s %.9g\n", tnames[k], tvalues[k]);
    fclose(f);
    int rc = nnk_write_file_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

/* The class names the model keeps: [data] class_names, or the data's own
 * (Fashion-MNIST's). Their count must fit the one classifier output. */
static int set_class_names(nnk_model *m, const char *list, const nnk_dataset *train, nnk_err *err)
{
    const char *names[1024];
    int64_t n = 0;
    char *copy = NULL;
    if (*list) {
        copy = strdup(list);
        char *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t && n < 1024; t = strtok_r(NULL, ",", &save)) {
            while (*t == ' ')
                t++;
            size_t l = strlen(t);
            while (l && t[l - 1] == ' ')
                t[--l] = 0;
            names[n++] = t;
        }
    } else if (train->class_names) {
        for (n = 0; n < train->n_classes && n < 1024; n++)
            names[n] = train->class_names[n];
    }
    const char *out_names[NNK_MAX_OUTPUTS];
    int64_t cols[NNK_MAX_OUTPUTS];
    int n_out = nnk_model_outputs(m, out_names, cols, NNK_MAX_OUTPUTS);
    int rc = NNK_OK;
    if (n && *list && (n_out != 1 || n != (cols[0] > 1 ? cols[0] : 2)))
        rc = nnk_err_set(err, NNK_ECONFIG, "section [data]: %lld class_names for %s '%s' with %lld unit%s (want %lld)",
                         (long long)n, n_out == 1 ? "output" : "the first of several outputs,", out_names[0],
                         (long long)cols[0], cols[0] == 1 ? "" : "s", (long long)(cols[0] > 1 ? cols[0] : 2));
    if (!rc && n)
        rc = nnk_model_set_class_names(m, names, n, err);
    free(copy);
    return rc;
}

/* One training run, from the experiment to the saved results. */
typedef struct train_run {
    const options *o;
    loaded_experiment x;
    nnk_callback **cbs;
    int n_cbs;
    train_data data;
    nnk_history hist;
    char run_dir[4096], path[4200];
    char *resolved, **hp_names, **hp_values;
    int n_hp, created_dir, trained;
    nnk_reducer *red; /* under mpirun: data-parallel over its processes */
    int local;        /* this host's processes of the job */
    int rank;         /* only rank 0 writes files and prints */
} train_run;

/* Threads: --threads or [fit] threads; under mpirun by default this
 * host's cores shared by its processes. */
static void set_threads(const train_run *t)
{
    int threads = (int)t->x.parts.cfg.threads;
    if (t->red && threads == 0 && !getenv("OPENBLAS_NUM_THREADS")) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores / t->local > 1 ? (int)(cores / t->local) : 1;
    }
    nnk_set_threads(threads);
}

/* The experiment's callbacks, plus the console (unless it has one, and
 * verbose asks for it) and the history in training.csv (Keras's History). */
static int add_callbacks(train_run *t, nnk_err *err)
{
    const nnk_experiment *e = t->x.e;
    if (!(t->cbs = nnk_experiment_callbacks(e, t->x.reg, &t->n_cbs, err)))
        return err->status;
    int has_console = 0, has_history = 0;
    for (int i = 0; i < e->n; i++) {
        const nnk_ini_section *s = &e->sections[i];
        if (strcmp(s->kind, "callback"))
            continue;
        const char *type = nnk_ini_section_type(s), *file = nnk_ini_section_value(s, "filename");
        has_console |= !strcmp(type, "console");
        has_history |= !strcmp(type, "csv_logger") && !strcmp(file ? file : "training.csv", "training.csv");
    }
    int verbose = (int)t->x.parts.cfg.verbose;
    if (verbose > 0 && !has_console) {
        const char *k[] = {"mode"}, *v[] = {verbose == 2 ? "lines" : "auto"};
        nnk_callback *console = nnk_callback_new(t->x.reg, "console", "console", k, v, NULL, 1, err);
        if (!console)
            return err->status;
        t->cbs[t->n_cbs++] = console;
    }
    if (!has_history) {
        nnk_callback *h = nnk_callback_new(t->x.reg, "csv_logger", "history", NULL, NULL, NULL, 0, err);
        if (!h)
            return err->status;
        t->cbs[t->n_cbs++] = h;
    }
    return NNK_OK;
}

/* --from: a saved model's weights, by layer name (continue or fine-tune). */
static int take_weights(train_run *t, const char *from, nnk_err *err)
{
    nnk_model *src = nnk_model_load(t->x.reg, from, err);
    int matched = 0;
    if (!src || nnk_model_take_weights(t->x.m, src, &matched, err)) {
        if (src)
            nnk_err_set(err, NNK_ECONFIG, "--from '%s': %.400s", from, err->msg);
        nnk_model_free(src);
        return err->status;
    }
    nnk_model_free(src);
    if (!matched)
        return nnk_err_set(err, NNK_ECONFIG, "--from '%s': no layer of the saved model has a name this experiment uses",
                           from);
    return NNK_OK;
}

/* The data, its preparation and the built model. */
static int prepare(train_run *t, nnk_err *err)
{
    const nnk_run_config *c = &t->x.parts.cfg;
    nnk_model *m = t->x.m;
    if (load_train_data(c, t->red, &t->data, err) || nnk_model_set_scale(m, c->scale, err) ||
        nnk_model_set_columns(m, c->label, c->features, err))
        return err->status;
    if (prepare_features(m, c, &t->data, err) || (c->standardize && nnk_model_fit_standardizer(m, t->data.train, err)))
        return err->status;
    if (nnk_model_build(m, (uint64_t)c->seed, err) || set_class_names(m, c->class_names, t->data.train, err))
        return err->status;
    return t->o->from ? take_weights(t, t->o->from, err) : NNK_OK;
}

/* Everything is checked; only now does the run directory appear: rank 0
 * chooses and makes it (its clock names a new run) and tells the others.
 * config.ini names the run it describes. */
static int open_run(train_run *t, nnk_err *err)
{
    if (t->rank == 0)
        choose_run_dir(t->o, &t->x.parts.cfg, t->cbs, t->n_cbs, t->run_dir, sizeof t->run_dir, &t->created_dir, err);
    if (t->red && share_run_dir(t->red, t->run_dir, sizeof t->run_dir, err))
        return err->status;
    if (err->status)
        return err->status;
    const char *base = strrchr(t->run_dir, '/');
    if (nnk_params_set(t->x.parts.run, "name", base ? base + 1 : t->run_dir, "--run-name", err))
        return err->status;
    snprintf(t->path, sizeof t->path, "%s/config.ini", t->run_dir);
    if (!(t->resolved = nnk_experiment_resolved_text(t->x.e, t->x.m, &t->x.parts)))
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if ((t->rank == 0 && nnk_write_file_atomic(t->path, t->resolved, strlen(t->resolved), err)) ||
        nnk_experiment_hparams(t->x.e, &t->x.parts, t->x.m, &t->hp_names, &t->hp_values, &t->n_hp))
        return err->status ? (int)err->status : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    return NNK_OK;
}

static int fit(train_run *t, nnk_err *err)
{
    const nnk_run_config *c = &t->x.parts.cfg;
    nnk_fit_options fo;
    nnk_fit_options_init(&fo);
    fo.epochs = c->epochs;
    fo.initial_epoch = c->initial_epoch;
    fo.batch_size = c->batch_size;
    fo.shuffle = c->shuffle;
    fo.seed = (uint64_t)c->seed;
    fo.validation = t->data.validation;
    fo.callbacks = t->cbs;
    fo.n_callbacks = t->n_cbs;
    fo.run_dir = t->run_dir;
    fo.test = t->data.test;
    fo.experiment = t->resolved;
    fo.n_hparams = t->n_hp;
    fo.hparam_names = (const char *const *)t->hp_names;
    fo.hparam_values = (const char *const *)t->hp_values;
    fo.keep_backups = 1; /* until model.nnk and metrics.txt are on disk */
    fo.reducer = t->red;
    fo.check_weights_every_step = !strcmp(c->check_weights, "step");
    fo.gradient_buckets = c->gradient_buckets;
    fo.sharded_rows = t->data.shard_total;
    if (nnk_model_fit(t->x.m, t->data.train, &fo, &t->hist, err))
        return err->status;
    t->trained = 1;
    return NNK_OK;
}

/* Rank 0's results: model.nnk, the test split's results, metrics.txt. */
static int save_results(train_run *t, nnk_err *err)
{
    snprintf(t->path, sizeof t->path, "%s/model.nnk", t->run_dir);
    if (nnk_model_save(t->x.m, t->path, err))
        return err->status;
    char tnames[NNK_MAX_LOGS / 2][NNK_LOG_NAME_MAX];
    double tvalues[NNK_MAX_LOGS / 2];
    int tn = 0;
    if (t->data.test) {
        if (nnk_model_evaluate(t->x.m, t->data.test, t->x.parts.cfg.batch_size, tnames, tvalues, NNK_MAX_LOGS / 2, &tn, err))
            return err->status;
        print_logs("test", tnames, tvalues, tn);
    }
    snprintf(t->path, sizeof t->path, "%s/metrics.txt", t->run_dir);
    if (write_metrics(t->path, &t->hist, tnames, tvalues, tn, err) ||
        nnk_callbacks_run_saved(t->cbs, t->n_cbs, t->run_dir, err))
        return err->status;
    printf("run saved in %s (model.nnk, config.ini, metrics.txt, training.csv)\n", t->run_dir);
    return NNK_OK;
}

/* A run that failed before it trained anything leaves nothing behind
 * (only a directory this invocation created, and never one holding a
 * backup to resume from); the callbacks close their files first. */
static void close_run(train_run *t, int rc)
{
    int discard = rc && !t->trained && t->created_dir && t->hist.n_epochs == 0 &&
                  !nnk_callback_backup(t->cbs, t->cbs ? t->n_cbs : 0, t->run_dir, t->path, sizeof t->path);
    for (int i = 0; t->cbs && i < t->n_cbs; i++)
        nnk_callback_free(t->cbs[i]);
    if (discard)
        remove_tree(t->run_dir);
    free(t->cbs);
    nnk_history_clear(&t->hist);
    free(t->resolved);
    nnk_experiment_hparams_free(t->hp_names, t->hp_values, t->n_hp);
    train_data_free(&t->data);
    experiment_close(&t->x);
}

int cmd_train(const options *o)
{
    if (!o->positional)
        return usage_error("train", "%s", "missing EXPERIMENT.ini");
    if (o->run_name && (!*o->run_name || strchr(o->run_name, '/') || !strcmp(o->run_name, ".") || !strcmp(o->run_name, "..")))
        return usage_error("train", "--run-name must be one path component, got '%s'", o->run_name);
    nnk_err err = {NNK_OK, ""};
    train_run *t = calloc(1, sizeof *t);
    if (!t)
        return nnk_err_set(&err, NNK_ENOMEM, "out of memory"), fail(&err);
    t->o = o;
    if (join_job(&t->red, &t->local, &err)) {
        free(t);
        return fail(&err);
    }
    t->rank = t->red ? t->red->rank : 0;
    int rc = experiment_open(&t->x, o->positional, o->sets, o->n_sets, o->threads, o->plugin_dir, &err);
    if (!rc) {
        set_threads(t);
        rc = add_callbacks(t, &err) || prepare(t, &err) || open_run(t, &err) || fit(t, &err) ||
             (t->rank == 0 && save_results(t, &err));
    }
    rc = rc ? err.status : NNK_OK;
    close_run(t, rc);
    nnk_reducer *red = t->red;
    free(t);
    return finish_job(red, rc, &err);
}
