/* nnkit plot's figure (plot.c reads it, plot_draw.c draws it). */
#ifndef NNKIT_PLOT_H
#define NNKIT_PLOT_H
#include "cli.h"

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


/* The confusion matrix picture's data area inside its page (normalised),
 * for the tests: cell (true k, predicted j) of n spans x from j / n to
 * (j + 1) / n of it, y from k / n to (k + 1) / n down from its top. */
#define CM_VP_X0 0.22
#define CM_VP_X1 0.96
#define CM_VP_Y0 0.14
#define CM_VP_Y1 0.90
#define CM_CELL_W 100 /* page pixels per class */
#define CM_CELL_H 60

/* The figure as a PNG or SVG file (by out's extension), written whole or
 * not at all, or as text in the terminal. */
int draw_file(const figure *f, const char *out, nnk_err *err);
void draw_terminal(const figure *f);
/* A confusion matrix (report.h) as a PNG or SVG picture: cells shaded
 * from white to blue by their share of the true class's rows, each with
 * its count (or, with normalize, that share), class names on both axes. */
struct class_report;
int draw_confusion_file(const struct class_report *r, int normalize, const char *out, nnk_err *err);
/* plot_classes.c: --confusion, --roc and --pr on a model and data */
int cmd_plot_classes(const options *o);
#endif
