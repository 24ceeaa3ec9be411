/* nnkit sweep's files: the trial experiment, the recorded search space
 * and best.ini. */
#include "sweep.h"
#include <dirent.h>
#include <nnkit/tensorboard.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The logs of one epoch (epochs trained: row epoch - 1 of training.csv) as
 * "key value, ...". */
static void epoch_logs(const char *root, const char *run, long long epoch, char *out, size_t n)
{
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s/training.csv", root, run);
    num_table t;
    nnk_err ignored = {NNK_OK, ""}; /* the comment is left out when the history cannot be read */
    if (num_table_read(path, "history", "epoch", &t, &ignored))
        return;
    for (int64_t r = 0; r < t.rows; r++) {
        if ((long long)t.v[r * t.n_cols] != epoch - 1)
            continue;
        size_t k = 0;
        for (int c = 1; c < t.n_cols && k < n; c++) {
            char v[40];
            nnk_format_double(t.v[r * t.n_cols + c], v, sizeof v);
            k += (size_t)snprintf(out + k, n - k, "%s%s %s", k ? ", " : "", t.names[c], v);
        }
        break;
    }
    num_table_free(&t);
}

/* Sets [fit] epochs in INI text (adding the key when the section lacks it). */
static int set_epochs(char **text, size_t *len, long long epochs)
{
    char *fit = strstr(*text, "\n[fit]\n");
    if (!fit)
        return 0;
    char *end = strstr(fit + 1, "\n["), *key = strstr(fit, "\nepochs = ");
    char *out = NULL;
    size_t olen = 0;
    FILE *f = open_memstream(&out, &olen);
    if (!f)
        return -1;
    if (key && (!end || key < end)) {
        char *eol = strchr(key + 1, '\n');
        fprintf(f, "%.*s\nepochs = %lld%s", (int)(key - *text), *text, epochs, eol ? eol : "\n");
    } else {
        fprintf(f, "%.*s\nepochs = %lld%s", (int)(fit + 7 - *text), *text, epochs, fit + 7);
    }
    fclose(f);
    free(*text);
    *text = out;
    *len = olen;
    return 0;
}

/* The search space as text in the sweep's own run (step k for its k-th
 * search). No hparams experiment record: TensorBoard uses one such record
 * for the whole log directory, picked arbitrarily, so with two sweeps (or
 * plain runs) under one --logdir the other runs' hyper-parameters and
 * metrics would vanish. Without it, the HParams dashboard builds its
 * columns from every run's session start and every metric the runs log. */
int record_space(const char *root, const dim *dims, int nd, const char *objective, const char *strategy,
                        nnk_err *err)
{
    int64_t step = 0;
    DIR *dir = opendir(root);
    for (struct dirent *de; dir && (de = readdir(dir));)
        step += !strncmp(de->d_name, "events.out.tfevents.", 20);
    if (dir)
        closedir(dir);
    char text[8192];
    int len = snprintf(text, sizeof text, "Search space (%s, objective `%s`):\n\n", strategy, objective);
    for (int i = 0; i < nd && len < (int)sizeof text; i++) {
        const dim *d = &dims[i];
        if (d->kind >= DIM_UNIFORM) {
            len += snprintf(text + len, sizeof text - (size_t)len, "* `%s`: %s in [%g, %g]\n", d->key,
                            d->kind == DIM_LOG ? "log-uniform" : "uniform", d->lo, d->hi);
            continue;
        }
        len += snprintf(text + len, sizeof text - (size_t)len, "* `%s`: one of", d->key);
        for (int k = 0; k < d->n_values && len < (int)sizeof text; k++)
            len += snprintf(text + len, sizeof text - (size_t)len, " %s", d->values[k]);
        if (len < (int)sizeof text)
            len += snprintf(text + len, sizeof text - (size_t)len, "\n");
    }
    nnk_tb_writer *w = nnk_tb_writer_open(root, err);
    if (!w)
        return err->status;
    int rc = nnk_tb_text(w, "search_space", text, step, -1, err);
    int crc = nnk_tb_close(w, rc ? NULL : err);
    return rc ? rc : crc;
}

/* The experiment a trial trains: the original (its data paths made
 * absolute, since trial.ini lives elsewhere), plus a tensorboard callback
 * when it has none, so every trial is a TensorBoard run. */
int write_trial_ini(const char *experiment, const char *path, nnk_err *err)
{
    nnk_experiment *e = nnk_experiment_load(experiment, err);
    if (!e)
        return err->status;
    int has_tb = 0, rc = NNK_OK;
    for (int i = 0; !rc && i < e->n; i++) {
        nnk_ini_section *s = &e->sections[i];
        for (int k = 0; k < s->n; k++) {
            if (!strcmp(s->kind, "data") &&
                (!strcmp(s->entries[k].key, "train") || !strcmp(s->entries[k].key, "test") ||
                 !strcmp(s->entries[k].key, "validation"))) {
                char *abs = nnk_experiment_data_path(s->entries[k].value);
                if (!abs) {
                    rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
                    break;
                }
                free(s->entries[k].value);
                s->entries[k].value = abs;
            }
        }
        has_tb |= !strcmp(s->kind, "callback") && !strcmp(nnk_ini_section_type(s), "tensorboard");
    }
    char *text = rc ? NULL : nnk_experiment_text(e);
    nnk_experiment_free(e);
    if (!rc && !text)
        rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    char *out = NULL;
    size_t len = 0;
    FILE *f = text ? open_memstream(&out, &len) : NULL;
    if (f) {
        fputs(text, f);
        if (!has_tb)
            fputs("\n[callback tensorboard]\n", f);
        fclose(f);
    }
    if (!rc)
        rc = out ? nnk_write_file_atomic(path, out, len, err) : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    free(text);
    free(out);
    return rc;
}

/* best.ini: the best trial's configuration, trained from the start for the
 * epochs that reached its best epoch (runs are reproducible, so it trains
 * that model again), its [run] where the experiment's runs go, under a
 * fresh name; a comment gives that epoch's logs. */
int write_best(const sweep_options *so, const char *root, const char *runs_dir, const trial *best, nnk_err *err)
{
    char from[PATH_MAX + 128], to[PATH_MAX + 16], logs[1024] = "";
    snprintf(from, sizeof from, "%s/%s/config.ini", root, best->top_run);
    snprintf(to, sizeof to, "%s/best.ini", root);
    if (best->top_epoch > 0)
        epoch_logs(root, best->top_run, best->top_epoch, logs, sizeof logs);
    size_t len;
    unsigned char *cfg = nnk_read_file(from, "config", &len, err);
    if (!cfg)
        return err->status;
    char *ie = strstr((char *)cfg, "\ninitial_epoch = "); /* a Hyperband rung went on from earlier ones */
    if (ie)
        for (char *d = ie + 17; *d && *d != '\n'; d++)
            *d = *d >= '0' && *d <= '9' ? (d == ie + 17 ? '0' : ' ') : *d;
    char *run = strstr((char *)cfg, "\n[run]\n");
    if (run)
        len = (size_t)(run - (char *)cfg) + 1;
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    if (f) {
        if (best->top_epoch > 0)
            fprintf(f, "; best trial %s: %s %.17g at epoch %lld%s%s\n", best->top_run, so->objective, best->top_objective,
                    best->top_epoch, logs[0] ? "; its logs: " : "", logs);
        fwrite(cfg, 1, len, f);
        fprintf(f, "\n[run]\ndir = %s\nname = \n", runs_dir);
        fclose(f);
    }
    free(cfg);
    if (text && best->top_epoch > 0 && set_epochs(&text, &tlen, best->top_epoch)) {
        free(text);
        text = NULL;
    }
    int rc = text ? nnk_write_file_atomic(to, text, tlen, err) : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    free(text);
    if (!rc && best->top_epoch > 0)
        printf("\nbest: %s (%s %.6g at epoch %lld); its experiment is %s\n", best->top_run, so->objective,
               best->top_objective, best->top_epoch, to);
    else if (!rc)
        printf("\nbest: %s (%s %.6g); its experiment is %s\n", best->top_run, so->objective, best->top_objective, to);
    return rc;
}

