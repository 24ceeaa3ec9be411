/* nnkit plot: the book's learning-curve figure from runs' training.csv
 * (loss and val_loss, each metric with its val_ twin, against epochs,
 * several runs overlaid), and activation functions with their derivatives
 * computed by the plugins themselves. Drawn with PLplot's cairo drivers
 * (PNG or SVG), or as text in the terminal when no -o is given. */
#include "cli.h"
#include <errno.h>
#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_POINTS 4096
#define MAX_SERIES 64
#define MAX_PANELS 8

/* Geometry of every panel inside its subpage (normalised), so the tests
 * can find a curve's pixels from its data. The legend goes to the right of
 * the data, outside it, so it never covers a curve however many runs. */
#define VP_X0 0.12
#define VP_X1 0.68
#define VP_Y0 0.20
#define VP_Y1 0.86
#define PANEL_W 1000
#define PANEL_H 400
#define MAX_RUNS 10 /* runs drawn; more are cut to the best by their last loss */

typedef struct series {
    char label[160];
    int n, run, dashed;
    double x[MAX_POINTS], y[MAX_POINTS];
} series;

typedef struct panel {
    char title[64], xlabel[32], ylabel[64];
    int unit;           /* accuracy-like: the y axis is [0, 1] */
    int fixed;          /* y0 .. y1 below are the y axis */
    double y0, y1;
    int log_x;          /* x holds log10 of the values (a learning rate) */
    double mark_x;      /* a vertical line there (log10 when log_x), when marked */
    int marked;
    char mark_label[64];
    int n;
    series *s[MAX_SERIES];
} panel;

typedef struct figure {
    int n;
    panel p[MAX_PANELS];
} figure;

/* run colours (matplotlib's first ten), cmap0 entries 3 on */
static const int palette[10][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                                   {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};

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

/* A run's history (RUN/training.csv: epoch, then the logs by name) into
 * the panels: one per log without val_, its val_ twin dashed. */
static int read_history(figure *f, const char *run, const char *name, int index, nnk_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/training.csv", run);
    num_table t;
    int rc = num_table_read(path, "history", "epoch", &t, err);
    series *s[NUM_TABLE_MAX_COLS] = {0};
    for (int k = 1; !rc && k < t.n_cols; k++) {
        int val = !strncmp(t.names[k], "val_", 4);
        panel *p = panel_for(f, val ? t.names[k] + 4 : t.names[k], err);
        char label[200];
        snprintf(label, sizeof label, "%.120s %s", name, val ? "validation" : "train");
        if (!p || !(s[k] = add_series(p, label, index, val, err)))
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

static void range(const panel *p, double *x0, double *x1, double *y0, double *y1)
{
    *x0 = INFINITY, *x1 = -INFINITY, *y0 = INFINITY, *y1 = -INFINITY;
    for (int k = 0; k < p->n; k++)
        for (int i = 0; i < p->s[k]->n; i++) {
            *x0 = fmin(*x0, p->s[k]->x[i]), *x1 = fmax(*x1, p->s[k]->x[i]);
            *y0 = fmin(*y0, p->s[k]->y[i]), *y1 = fmax(*y1, p->s[k]->y[i]);
        }
    if (!isfinite(*x0))
        *x0 = 0, *x1 = 1, *y0 = 0, *y1 = 1;
    if (*x1 <= *x0)
        *x1 = *x0 + 1;
    if (p->fixed) {
        *y0 = p->y0, *y1 = p->y1;
        return;
    }
    if (p->unit) { /* accuracy: the whole [0, 1] */
        *y0 = 0, *y1 = 1;
        return;
    }
    *y0 = fmin(*y0, 0);
    *y1 = *y1 > *y0 ? *y0 + (*y1 - *y0) * 1.1 : *y0 + 1;
}

/* Whether the file PLplot wrote is whole: a PNG ends with its IEND chunk,
 * an SVG with its closing tag. */
static int written_whole(const char *path, int svg)
{
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    unsigned char tail[64];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    long size = fseek(f, 0, SEEK_END) ? -1 : ftell(f);
    size_t n = 0;
    if (size >= 12 && !fseek(f, size > 64 ? size - 64 : 0, SEEK_SET))
        n = fread(tail, 1, sizeof tail, f);
    fclose(f);
    if (!svg)
        return n >= 12 && !memcmp(tail + n - 12, iend, 12);
    while (n && (tail[n - 1] == '\n' || tail[n - 1] == ' ' || tail[n - 1] == '\r'))
        n--;
    return n >= 6 && !memcmp(tail + n - 6, "</svg>", 6);
}

/* One panel: its grid and axes, the suggestion's mark, its curves and
 * their legend outside on the right. */
static void draw_panel(const panel *p)
{
    double x0, x1, y0, y1;
    range(p, &x0, &x1, &y0, &y1);
    pladv(0);
    plvpor(VP_X0, VP_X1, VP_Y0, VP_Y1);
    plwind(x0, x1, y0, y1);
    plcol0(2);
    plwidth(1);
    plbox(p->log_x ? "gl" : "g", 0, 0, "g", 0, 0);
    plcol0(1);
    plbox(p->log_x ? "bcnstl" : "bcnst", 0, 0, "bcnstv", 0, 0);
    pllab(p->xlabel, p->ylabel, p->title);
    if (p->marked) { /* the suggestion, as a dotted vertical line */
        PLFLT mx[2] = {p->mark_x, p->mark_x}, my[2] = {y0, y1};
        plcol0(1);
        pllsty(3);
        plline(2, mx, my);
        pllsty(1);
        plptex(p->mark_x, y0 + 0.92 * (y1 - y0), 1, 0, -0.05, p->mark_label);
    }
    PLINT opts[MAX_SERIES], colors[MAX_SERIES], styles[MAX_SERIES], text_colors[MAX_SERIES];
    PLFLT widths[MAX_SERIES];
    const char *labels[MAX_SERIES];
    for (int k = 0; k < p->n; k++) {
        const series *s = p->s[k];
        plcol0(3 + s->run % 10);
        pllsty(s->dashed ? 2 : 1);
        plwidth(2);
        plline(s->n, s->x, s->y);
        if (s->n == 1) /* one epoch: a point, not a line */
            plpoin(1, s->x, s->y, 17);
        opts[k] = PL_LEGEND_LINE;
        colors[k] = 3 + s->run % 10;
        styles[k] = s->dashed ? 2 : 1;
        widths[k] = 2;
        text_colors[k] = 1;
        labels[k] = s->label;
    }
    pllsty(1);
    plwidth(1);
    PLFLT lw, lh;
    pllegend(&lw, &lh, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, PL_POSITION_RIGHT | PL_POSITION_OUTSIDE, 0.02, 0.0,
             0.06, 0, 1, 1, 0, 0, p->n, opts, 0.8, 0.6, 1.6, 0, text_colors, labels, NULL, NULL, NULL, NULL, colors, styles,
             widths, NULL, NULL, NULL, NULL);
}

static int draw_file(const figure *f, const char *out, nnk_err *err)
{
    const char *ext = strrchr(out, '.');
    int svg = ext && !strcmp(ext, ".svg");
    if (!ext || (!svg && strcmp(ext, ".png")))
        return nnk_err_set(err, NNK_EUSAGE, "plot: -o '%s' must end in .png or .svg", out);
    int cols = f->n > 1 ? 2 : 1, rows = (f->n + cols - 1) / cols;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out, (long)getpid());
    /* the temporary is created here first: PLplot exits the process on a
     * file it cannot open, after a screen of its own messages */
    FILE *probe = fopen(tmp, "w");
    if (!probe)
        return nnk_err_set(err, NNK_EIO, "plot: cannot create '%s': %s", out, strerror(errno));
    fclose(probe);
    plsdev(svg ? "svgcairo" : "pngcairo");
    plsfnam(tmp);
    plspage(0, 0, PANEL_W * cols, PANEL_H * rows, 0, 0);
    plscolbg(255, 255, 255);
    plscol0(1, 0, 0, 0);       /* axes and text */
    plscol0(2, 220, 220, 220); /* the grid */
    for (int k = 0; k < 10; k++)
        plscol0(3 + k, palette[k][0], palette[k][1], palette[k][2]);
    plssub(cols, rows);
    plinit();
    plschr(0, 0.75); /* characters three quarters of the default size */
    for (int i = 0; i < f->n; i++)
        draw_panel(&f->p[i]);
    plend();
    if (!written_whole(tmp, svg)) { /* a full disk or a file-size limit cut it: the old picture stays */
        unlink(tmp);
        return nnk_err_set(err, NNK_EIO, "plot: '%s' could not be written whole (disk full?); nothing was replaced", out);
    }
    if (rename(tmp, out)) {
        unlink(tmp);
        return nnk_err_set(err, NNK_EIO, "plot: cannot write '%s'", out);
    }
    return NNK_OK;
}

/* Text drawing: one 64 x 16 grid per panel, a letter per curve. */
static void draw_terminal(const figure *f)
{
    enum { W = 64, H = 16 };
    for (int i = 0; i < f->n; i++) {
        const panel *p = &f->p[i];
        double x0, x1, y0, y1;
        range(p, &x0, &x1, &y0, &y1);
        char grid[H][W + 1];
        for (int r = 0; r < H; r++) {
            memset(grid[r], ' ', W);
            grid[r][W] = 0;
        }
        for (int k = 0; k < p->n; k++) {
            const series *s = p->s[k];
            char mark = s->dashed ? (char)('a' + s->run % 26) : (char)('A' + s->run % 26);
            for (int j = 0; j < s->n; j++) {
                int c = (int)lround((s->x[j] - x0) / (x1 - x0) * (W - 1)), r = (int)lround((y1 - s->y[j]) / (y1 - y0) * (H - 1));
                if (c >= 0 && c < W && r >= 0 && r < H) /* '*': curves meet there (train on validation) */
                    grid[r][c] = grid[r][c] == ' ' || grid[r][c] == mark ? mark : '*';
            }
        }
        printf("%s\n", p->title);
        for (int r = 0; r < H; r++)
            printf("%9.3g |%s\n", y1 - (y1 - y0) * r / (H - 1), grid[r]);
        printf("%9s +%.*s\n%9s  %-10.4g%*s%10.4g  (%s)\n", "", W, "----------------------------------------------------------------", "",
               x0, W - 20, "", x1, p->xlabel);
        int met = 0;
        for (int r = 0; r < H; r++)
            met |= strchr(grid[r], '*') != NULL;
        for (int k = 0; k < p->n; k++)
            printf("%9s  %c %s\n", "", p->s[k]->dashed ? 'a' + p->s[k]->run % 26 : 'A' + p->s[k]->run % 26, p->s[k]->label);
        if (met)
            printf("%9s  * curves in one place\n", "");
        printf("\n");
    }
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
    if (!o->n_files && !o->activations)
        return usage_error("plot", "%s", "missing RUN_DIR (or --activations NAMES)");
    nnk_err err = {NNK_OK, ""};
    if (cmd_plot_run(o->files, o->n_files, o->activations, o->output, o->plugin_dir, &err))
        return fail(&err);
    if (o->output)
        printf("plot: wrote %s\n", o->output);
    return 0;
}

