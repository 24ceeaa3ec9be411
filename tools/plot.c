/* nnkit plot: the book's learning-curve figure from runs' training.csv
 * (loss and val_loss, each metric with its val_ twin, against epochs, a
 * metric's several values in one panel, several runs overlaid), and
 * activation functions with their derivatives computed by the plugins
 * themselves. Drawn (plot_draw.c) with PLplot's
 * cairo drivers (PNG or SVG), or as text in the terminal when no -o is
 * given. */
#include "plot.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static panel *panel_for(figure *f, const char *title, nnk_err *err)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->p[i].title, title))
            return &f->p[i];
    if (f->n == MAX_PANELS) {
        nnk_err_set(err, NNK_EUSAGE, "plot: more than %d metrics to draw", MAX_PANELS);
        return NULL;
    }
    panel *p = &f->p[f->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->title, sizeof p->title, "%s", title);
    snprintf(p->xlabel, sizeof p->xlabel, "epoch");
    snprintf(p->ylabel, sizeof p->ylabel, "%s", title);
    p->unit = strstr(title, "acc") != NULL;
    return p;
}

static series *add_series(panel *p, const char *label, int run, int dashed, nnk_err *err)
{
    if (p->n == MAX_SERIES) {
        nnk_err_set(err, NNK_EUSAGE, "plot: more than %d curves in one panel", MAX_SERIES);
        return NULL;
    }
    series *s = calloc(1, sizeof *s);
    if (!s) {
        nnk_err_set(err, NNK_ENOMEM, "out of memory");
        return NULL;
    }
    snprintf(s->label, sizeof s->label, "%.150s", label);
    s->run = run;
    s->dashed = dashed;
    p->s[p->n++] = s;
    return s;
}

/* Where a log's value suffix starts (the '_' before a trailing number, as
 * nnkit.metric.values/1 names a metric's values: f1_score_3, precision_0.5),
 * or NULL. */
static const char *value_suffix(const char *name)
{
    const char *u = strrchr(name, '_');
    char *end;
    if (!u || u == name || !u[1])
        return NULL;
    strtod(u + 1, &end);
    return *end ? NULL : u;
}

/* Whether log k (val_ or not) is one of several values of one metric:
 * another train log shares its name up to a numeric suffix. Returns 0 when
 * not, else 1 + its place among them (by name), which picks its colour. */
static int metric_value_place(const num_table *t, int k)
{
    const char *name = t->names[k] + (strncmp(t->names[k], "val_", 4) ? 0 : 4), *u = value_suffix(name);
    int siblings = 0, before = 0;
    for (int j = 1; u && j < t->n_cols; j++) {
        const char *other = t->names[j], *v = value_suffix(other);
        if (strcmp(other, name) && v && v - other == u - name && !strncmp(other, name, (size_t)(u - name))) {
            siblings++;
            before += strcmp(other, name) < 0;
        }
    }
    return siblings ? 1 + before : 0;
}

/* A run's history (RUN/training.csv: epoch, then the logs by name) into
 * the panels: one per log without val_, its val_ twin dashed; a metric's
 * several values (f1_score_0, f1_score_1, ...) share one panel, a colour
 * each. */
static int read_history(figure *f, const char *run, const char *name, int index, nnk_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/training.csv", run);
    num_table t;
    int rc = num_table_read(path, "history", "epoch", &t, err);
    series *s[NUM_TABLE_MAX_COLS] = {0};
    for (int k = 1; !rc && k < t.n_cols; k++) {
        int val = !strncmp(t.names[k], "val_", 4), place = metric_value_place(&t, k);
        char title[64], label[200];
        const char *log = t.names[k] + (val ? 4 : 0), *suffix = place ? value_suffix(log) : NULL;
        snprintf(title, sizeof title, "%.*s", suffix ? (int)(suffix - log) : 63, log);
        snprintf(label, sizeof label, "%.120s%s%.30s %s", name, suffix ? " " : "", suffix ? suffix + 1 : "",
                 val ? "validation" : "train");
        panel *p = panel_for(f, title, err);
        if (!p || !(s[k] = add_series(p, label, index + (place ? place - 1 : 0), val, err)))
            rc = err->status;
    }
    for (int64_t r = 0; !rc && r < t.rows; r++)
        for (int k = 1; k < t.n_cols; k++) {
            double v = t.v[r * t.n_cols + k];
            if (s[k]->n < MAX_POINTS && isfinite(v)) {
                s[k]->x[s[k]->n] = t.v[r * t.n_cols];
                s[k]->y[s[k]->n++] = v;
            }
        }
    num_table_free(&t);
    return rc;
}

/* An lr-find run (RUN/lr_find.csv, RUN/metrics.txt): the book's figure,
 * loss against a log-scale learning rate, raw and smoothed, the
 * suggestion marked, the y axis from 0 to the first loss (the divergence
 * at the end would flatten the rest). */
static int read_lr_find(figure *f, const char *run, int index, nnk_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/lr_find.csv", run);
    num_table t;
    int rc = num_table_read(path, "lr-find curve", "learning_rate", &t, err);
    int loss = rc ? -1 : num_table_column(&t, "loss"), smoothed = rc ? -1 : num_table_column(&t, "smoothed_loss");
    if (!rc && (loss < 0 || smoothed < 0))
        rc = nnk_err_set(err, NNK_EDATA, "lr-find curve '%s': it has no loss and smoothed_loss columns", path);
    panel *p = rc ? NULL : panel_for(f, "loss against learning rate", err);
    series *raw = p ? add_series(p, "loss", index, 1, err) : NULL, *smooth = raw ? add_series(p, "smoothed loss", index, 0, err) : NULL;
    if (!rc && !smooth)
        rc = err->status;
    for (int64_t r = 0; !rc && r < t.rows && smooth->n < MAX_POINTS; r++) {
        const double *row = t.v + r * t.n_cols;
        if (!(row[0] > 0) || !isfinite(row[loss]) || !isfinite(row[smoothed])) {
            rc = nnk_err_set(err, NNK_EDATA, "lr-find curve '%s': row %lld holds a rate that is not positive or a loss "
                             "that is not finite", path, (long long)r + 1);
            break;
        }
        raw->x[raw->n] = smooth->x[smooth->n] = log10(row[0]);
        raw->y[raw->n++] = row[loss];
        smooth->y[smooth->n++] = row[smoothed];
    }
    num_table_free(&t);
    if (rc)
        return rc;
    if (!smooth->n)
        return nnk_err_set(err, NNK_EDATA, "lr-find curve '%s' holds no points", path);
    snprintf(p->xlabel, sizeof p->xlabel, "learning rate");
    snprintf(p->ylabel, sizeof p->ylabel, "loss");
    p->log_x = p->fixed = 1;
    p->y0 = 0;
    p->y1 = fmax(p->y1, fmax(raw->y[0], smooth->y[0]) * 1.05);
    snprintf(path, sizeof path, "%s/metrics.txt", run);
    FILE *m = fopen(path, "r");
    char key[64];
    double v;
    while (m && fscanf(m, "%63s %lf", key, &v) == 2)
        if (!strcmp(key, "suggested_learning_rate") && v > 0) {
            p->marked = 1;
            p->mark_x = log10(v);
            snprintf(p->mark_label, sizeof p->mark_label, " suggested %.3g", v);
        }
    if (m)
        fclose(m);
    return NNK_OK;
}

/* The activations' values and derivatives over z in [-5, 5], from the
 * plugins' own forward and backward. */
static int read_activations(figure *f, const char *list, const char *plugin_dir, nnk_err *err)
{
    nnk_registry *reg = nnk_registry_new();
    int rc = reg ? nnk_registry_load_default(reg, plugin_dir, err) : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    panel *values = rc ? NULL : panel_for(f, "activation functions", err);
    panel *slopes = values ? panel_for(f, "derivatives", err) : NULL;
    if (!rc && (!values || !slopes))
        rc = err->status;
    if (values && slopes) { /* the book's ranges: saturating functions stay readable beside relu's */
        snprintf(values->xlabel, sizeof values->xlabel, "z");
        snprintf(slopes->xlabel, sizeof slopes->xlabel, "z");
        snprintf(values->ylabel, sizeof values->ylabel, "f(z)");
        snprintf(slopes->ylabel, sizeof slopes->ylabel, "f'(z)");
        values->fixed = slopes->fixed = 1;
        values->y0 = -1.2, values->y1 = 1.2;
        slopes->y0 = -0.2, slopes->y1 = 1.2;
    }
    char *copy = strdup(list), *save = NULL;
    int index = 0;
    for (char *name = strtok_r(copy, ",", &save); !rc && name; name = strtok_r(NULL, ",", &save), index++) {
        while (*name == ' ')
            name++;
        const nnk_component_info *c = nnk_registry_find(reg, NNK_KIND_ACTIVATION, name);
        if (!c) {
            char names[1024];
            nnk_registry_names(reg, NNK_KIND_ACTIVATION, names, sizeof names);
            rc = nnk_err_set(err, NNK_EUSAGE, "plot: unknown activation '%s'; available: %s", name, names);
            break;
        }
        if (!strcmp(name, "softmax")) {
            rc = nnk_err_set(err, NNK_EUSAGE, "plot: softmax works on whole rows, not one value at a time; draw sigmoid");
            break;
        }
        const nnk_activation_vtable *vt = c->vtable;
        nnk_params *p = nnk_params_new(vt->params, vt->config_size, name, err);
        series *a = p ? add_series(values, name, index, 0, err) : NULL;
        series *d = a ? add_series(slopes, name, index, 0, err) : NULL;
        if (!d) {
            nnk_params_free(p);
            rc = err->status ? err->status : NNK_ENOMEM;
            break;
        }
        enum { N = 401 };
        float z[N], out[N], ones[N], slope[N];
        for (int i = 0; i < N; i++) {
            z[i] = (float)(-5 + 10.0 * i / (N - 1));
            ones[i] = 1;
        }
        vt->forward(nnk_params_config(p), z, out, 1, N);
        vt->backward(nnk_params_config(p), z, out, ones, slope, 1, N);
        for (int i = 0; i < N; i++) {
            a->x[i] = d->x[i] = z[i];
            a->y[i] = out[i];
            d->y[i] = slope[i];
        }
        a->n = d->n = N;
        nnk_params_free(p);
    }
    free(copy);
    nnk_registry_free(reg);
    return rc;
}

int cmd_plot_run(const char *const *runs, int n_runs, const char *activations, const char *out, const char *plugin_dir,
                 nnk_err *err)
{
    figure *f = calloc(1, sizeof *f);
    if (!f)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    int rc = NNK_OK;
    plot_run *picked = n_runs ? calloc((size_t)n_runs, sizeof *picked) : NULL;
    int n = n_runs ? plot_runs(runs, n_runs, picked, MAX_RUNS, err) : 0;
    if (n < 0 || (n_runs && !picked))
        rc = picked ? (int)err->status : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < n; i++) {
        char curve[4200];
        snprintf(curve, sizeof curve, "%s/lr_find.csv", picked[i].dir);
        rc = access(curve, F_OK) ? read_history(f, picked[i].dir, picked[i].label, i, err) : read_lr_find(f, picked[i].dir, i, err);
    }
    free(picked);
    if (!rc && activations)
        rc = read_activations(f, activations, plugin_dir, err);
    if (!rc && !f->n)
        rc = nnk_err_set(err, NNK_EUSAGE, "plot: nothing to draw (give RUN_DIR... or --activations NAMES)");
    if (!rc && out)
        rc = draw_file(f, out, err);
    else if (!rc)
        draw_terminal(f);
    for (int i = 0; i < f->n; i++)
        for (int k = 0; k < f->p[i].n; k++)
            free(f->p[i].s[k]);
    free(f);
    return rc;
}

int cmd_plot(const options *o)
{
    if (o->confusion || o->roc || o->pr)
        return cmd_plot_classes(o);
    if (o->normalize)
        return usage_error("plot", "%s", "--normalize goes with --confusion");
    if (!o->n_files && !o->activations)
        return usage_error("plot", "%s", "missing RUN_DIR (or --activations NAMES)");
    nnk_err err = {NNK_OK, ""};
    if (cmd_plot_run(o->files, o->n_files, o->activations, o->output, o->plugin_dir, &err))
        return fail(&err);
    if (o->output)
        printf("plot: wrote %s\n", o->output);
    return 0;
}


