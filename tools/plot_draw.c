/* nnkit plot's drawing: PLplot's cairo drivers (PNG or SVG), or text. */
#include "plot.h"
#include "report.h"
#include <errno.h>
#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* run colours (matplotlib's first ten), cmap0 entries 3 on */
static const int palette[10][3] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                                   {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};

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

/* Renders one page of w x h pixels with paint(ctx) into out (PNG or SVG
 * by its extension), through a temporary file renamed over it once whole. */
static int render(const char *out, int w, int h, int subpages, void (*paint)(const void *), const void *ctx,
                  nnk_err *err)
{
    const char *ext = strrchr(out, '.');
    int svg = ext && !strcmp(ext, ".svg");
    if (!ext || (!svg && strcmp(ext, ".png")))
        return nnk_err_set(err, NNK_EUSAGE, "plot: -o '%s' must end in .png or .svg", out);
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
    plspage(0, 0, w, h, 0, 0);
    plscolbg(255, 255, 255);
    plscol0(1, 0, 0, 0);       /* axes and text */
    plscol0(2, 220, 220, 220); /* the grid */
    for (int k = 0; k < 10; k++)
        plscol0(3 + k, palette[k][0], palette[k][1], palette[k][2]);
    plscol0(13, 255, 255, 255);
    plssub(subpages % 100, subpages / 100);
    plinit();
    plschr(0, 0.75); /* characters three quarters of the default size */
    paint(ctx);
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

static void paint_figure(const void *ctx)
{
    const figure *f = ctx;
    for (int i = 0; i < f->n; i++)
        draw_panel(&f->p[i]);
}

int draw_file(const figure *f, const char *out, nnk_err *err)
{
    int cols = f->n > 1 ? 2 : 1, rows = (f->n + cols - 1) / cols;
    return render(out, PANEL_W * cols, PANEL_H * rows, rows * 100 + cols, paint_figure, f, err);
}

typedef struct confusion_picture {
    const class_report *r;
    int normalize;
} confusion_picture;

/* A name for PLplot's text: its escape character '#' doubled, control
 * characters as '?', at most 40 bytes. */
static void plot_text(const char *s, char *out, size_t n)
{
    size_t o = 0;
    for (; *s && o + 3 < n && o < 40; s++) {
        out[o++] = (unsigned char)*s < 32 || *s == 127 ? '?' : *s;
        if (*s == '#')
            out[o++] = '#';
    }
    out[o] = 0;
}

static void paint_confusion(const void *ctx)
{
    const confusion_picture *c = ctx;
    const class_report *r = c->r;
    double n = (double)r->n;
    PLFLT pos[2] = {0, 1}, red[2] = {1, 31 / 255.0}, green[2] = {1, 119 / 255.0}, blue[2] = {1, 180 / 255.0};
    plscmap1n(256);
    plscmap1l(1, 2, pos, red, green, blue, NULL);
    pladv(0);
    plvpor(CM_VP_X0, CM_VP_X1, CM_VP_Y0, CM_VP_Y1);
    plwind(0, n, 0, n);
    char text[96];
    for (int64_t k = 0; k < r->n; k++) {
        int64_t row = 0;
        for (int64_t j = 0; j < r->n; j++)
            row += r->counts[k * r->n + j];
        for (int64_t j = 0; j < r->n; j++) {
            double share = row ? (double)r->counts[k * r->n + j] / (double)row : 0, top = n - (double)k;
            PLFLT xs[4] = {(double)j, (double)j + 1, (double)j + 1, (double)j}, ys[4] = {top - 1, top - 1, top, top};
            plcol1(share);
            plfill(4, xs, ys);
            if (c->normalize)
                snprintf(text, sizeof text, "%.2f", share);
            else
                snprintf(text, sizeof text, "%lld", (long long)r->counts[k * r->n + j]);
            plcol0(share > 0.5 ? 13 : 1);
            plptex((double)j + 0.5, top - 0.5, 1, 0, 0.5, text);
        }
        plcol0(1);
        plot_text(r->names[k], text, sizeof text);
        plmtex("b", 1.2, ((double)k + 0.5) / n, 0.5, text);
        plmtex("lv", 0.8, 1 - ((double)k + 0.5) / n, 1, text);
    }
    plcol0(1);
    plbox("bc", 0, 0, "bc", 0, 0);
    plmtex("b", 3.0, 0.5, 0.5, "predicted class");
    plmtex("t", 1.5, 0.5, 0.5,
           c->normalize ? "confusion matrix: share of each true class (rows) predicted as each class (columns)"
                        : "confusion matrix: rows of each true class (rows) predicted as each class (columns)");
}

int draw_confusion_file(const class_report *r, int normalize, const char *out, nnk_err *err)
{
    confusion_picture c = {r, normalize};
    int cells = (int)(r->n < 2 ? 2 : r->n);
    return render(out, 300 + CM_CELL_W * cells, 140 + CM_CELL_H * cells, 101, paint_confusion, &c, err);
}

/* Text drawing: one 64 x 16 grid per panel, a letter per curve. */
void draw_terminal(const figure *f)
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

