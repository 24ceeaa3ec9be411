/* nnkit lr-find: the book's learning-rate search. From the experiment's
 * initial weights, train a few hundred iterations while the learning rate
 * grows exponentially from min_lr to max_lr, stop when the loss diverges,
 * draw loss against rate in the terminal, suggest a rate a bit below
 * where the loss turns up (a tenth of the rate at the lowest loss), and
 * log the curve to TensorBoard. */
#include "cli.h"
#include <math.h>
#include <nnkit/tensorboard.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SMOOTHING 0.98   /* exponential moving average of the batch losses */
#define DIVERGED 4.0     /* stop once the smoothed loss is 4x its best */
#define PLOT_W 64
#define PLOT_H 16

typedef struct lr_probe {
    double min_lr, max_lr;
    int64_t steps, done;
    double *lr, *loss, *smooth;
    double avg, best;
    double prev_mean;
    int64_t prev_seen;
} lr_probe;

static double rate_at(const lr_probe *p, int64_t i)
{
    return p->min_lr * pow(p->max_lr / p->min_lr, (double)i / (double)(p->steps > 1 ? p->steps - 1 : 1));
}

/* The loss of one batch, from the epoch's running mean before and after. */
static int on_event(void *user, nnk_event ev, const nnk_train_info *info, nnk_err *err)
{
    lr_probe *p = user;
    (void)err;
    if (ev == NNK_EPOCH_BEGIN) {
        p->prev_mean = 0;
        p->prev_seen = 0;
    } else if (ev == NNK_BATCH_BEGIN) {
        *info->learning_rate = rate_at(p, p->done);
    } else if (ev == NNK_BATCH_END && info->n_logs > 0) {
        int64_t seen = (info->batch + 1) * (info->samples / info->steps);
        double batch_loss = (info->log_values[0] * (double)seen - p->prev_mean * (double)p->prev_seen) /
                            (double)(seen - p->prev_seen);
        p->prev_mean = info->log_values[0];
        p->prev_seen = seen;
        int64_t i = p->done++;
        p->avg = SMOOTHING * p->avg + (1 - SMOOTHING) * batch_loss;
        double smooth = p->avg / (1 - pow(SMOOTHING, (double)(i + 1))); /* bias-corrected */
        p->lr[i] = rate_at(p, i);
        p->loss[i] = batch_loss;
        p->smooth[i] = smooth;
        if (i == 0 || smooth < p->best)
            p->best = smooth;
        if (!isfinite(smooth) || smooth > DIVERGED * p->best || p->done >= p->steps)
            *info->stop = 1;
    }
    return NNK_OK;
}

/* Loss (rows) against log10 of the rate (columns). */
static void plot(const lr_probe *p, int64_t n)
{
    char grid[PLOT_H][PLOT_W + 1];
    memset(grid, ' ', sizeof grid);
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (isfinite(p->smooth[i])) {
            lo = fmin(lo, p->smooth[i]);
            hi = fmax(hi, p->smooth[i]);
        }
    hi = fmin(hi, lo + 3 * (p->smooth[0] - lo + 1e-12)); /* keep the blow-up from flattening the rest */
    double l0 = log10(p->min_lr), l1 = log10(p->max_lr);
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(p->smooth[i]))
            continue;
        int x = (int)((log10(p->lr[i]) - l0) / (l1 - l0) * (PLOT_W - 1) + 0.5);
        double t = (fmin(p->smooth[i], hi) - lo) / (hi > lo ? hi - lo : 1);
        int y = PLOT_H - 1 - (int)(t * (PLOT_H - 1) + 0.5);
        grid[y][x] = '*';
    }
    printf("\n  loss (smoothed) against learning rate\n");
    for (int y = 0; y < PLOT_H; y++) {
        grid[y][PLOT_W] = 0;
        double v = hi - (hi - lo) * y / (PLOT_H - 1);
        printf("%10.4g |%s\n", v, grid[y]);
    }
    printf("%10s +", "");
    for (int x = 0; x < PLOT_W; x++)
        putchar('-');
    printf("\n%10s  %-*.0e%*.0e\n", "", PLOT_W / 2, p->min_lr, PLOT_W / 2, p->max_lr);
}

static int log_curve(const lr_probe *p, int64_t n, const char *dir, double suggestion, nnk_err *err)
{
    nnk_tb_writer *w = nnk_tb_writer_open(dir, err);
    if (!w)
        return err->status;
    int rc = NNK_OK;
    for (int64_t i = 0; !rc && i < n; i++) {
        rc = nnk_tb_scalar(w, "lr_find/loss", p->loss[i], i, -1, err);
        if (!rc)
            rc = nnk_tb_scalar(w, "lr_find/smoothed_loss", p->smooth[i], i, -1, err);
        if (!rc)
            rc = nnk_tb_scalar(w, "lr_find/learning_rate", p->lr[i], i, -1, err);
    }
    char text[256];
    snprintf(text, sizeof text, "Suggested learning rate: **%.3g** (a tenth of the rate at the lowest smoothed loss).",
             suggestion);
    if (!rc)
        rc = nnk_tb_text(w, "lr_find/suggestion", text, 0, -1, err);
    int crc = nnk_tb_close(w, rc ? NULL : err);
    return rc ? rc : crc;
}

/* DIR/lr_find.csv (learning_rate, loss, smoothed_loss per step) and
 * DIR/metrics.txt (the suggestion), which nnkit plot draws. */
static int write_curve(const lr_probe *p, int64_t n, const char *dir, double suggestion, nnk_err *err)
{
    char path[4200], *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return nnk_err_set(err, NNK_ENOMEM, "out of memory");
    fprintf(f, "learning_rate,loss,smoothed_loss\n");
    for (int64_t i = 0; i < n; i++) {
        char a[40], b[40], c[40];
        nnk_format_double(p->lr[i], a, sizeof a);
        nnk_format_double(p->loss[i], b, sizeof b);
        nnk_format_double(p->smooth[i], c, sizeof c);
        fprintf(f, "%s,%s,%s\n", a, b, c);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/lr_find.csv", dir);
    int rc = text ? nnk_write_file_atomic(path, text, len, err) : nnk_err_set(err, NNK_ENOMEM, "out of memory");
    free(text);
    char metrics[128], v[40];
    nnk_format_double(suggestion, v, sizeof v);
    int m = snprintf(metrics, sizeof metrics, "suggested_learning_rate %s\n", v);
    snprintf(path, sizeof path, "%s/metrics.txt", dir);
    return rc ? rc : nnk_write_file_atomic(path, metrics, (size_t)m, err);
}

/* The probe: the model trained with the rate growing every step until
 * the steps are done or the loss diverges. */
static int probe(loaded_experiment *x, lr_probe *p, nnk_err *err)
{
    const nnk_run_config *c = &x->parts.cfg;
    nnk_model *m = x->m;
    train_data data = {0};
    nnk_callback *cb = NULL;
    int rc = load_train_data(c, NULL, &data, err);
    if (!rc)
        rc = nnk_model_set_scale(m, c->scale, err) || prepare_features(m, c, &data, err) ||
                     (c->standardize && nnk_model_fit_standardizer(m, data.train, err)) ||
                     nnk_model_build(m, (uint64_t)c->seed, err)
                 ? err->status
                 : NNK_OK;
    p->lr = calloc((size_t)p->steps, sizeof(double));
    p->loss = calloc((size_t)p->steps, sizeof(double));
    p->smooth = calloc((size_t)p->steps, sizeof(double));
    if (!rc && (!p->lr || !p->loss || !p->smooth || !(cb = nnk_callback_from_fn(on_event, p))))
        rc = nnk_err_set(err, NNK_ENOMEM, "out of memory");
    if (!rc) {
        nnk_fit_options fo;
        nnk_fit_options_init(&fo);
        fo.batch_size = c->batch_size;
        int64_t per_epoch = (data.train->rows + c->batch_size - 1) / c->batch_size;
        fo.epochs = (p->steps + per_epoch - 1) / per_epoch;
        fo.seed = (uint64_t)c->seed;
        fo.callbacks = &cb;
        fo.n_callbacks = 1;
        rc = nnk_model_fit(m, data.train, &fo, NULL, err);
    }
    if (!rc && p->done < 10)
        rc = nnk_err_set(err, NNK_EDATA, "lr-find: only %lld iterations before the loss diverged; lower --min-lr",
                         (long long)p->done);
    nnk_callback_free(cb);
    train_data_free(&data);
    return rc;
}

/* The report: the curve in the terminal, the suggestion (a tenth of the
 * rate at the lowest smoothed loss), and the run directory that keeps the
 * curve (TensorBoard, lr_find.csv, metrics.txt; out: a plot of it). */
static int report(const lr_probe *p, const char *experiment, const char *run_dir, const char *out,
                  const char *plugin_dir, nnk_err *err)
{
    int64_t best = 0;
    for (int64_t i = 1; i < p->done; i++)
        if (p->smooth[i] < p->smooth[best])
            best = i;
    double suggestion = p->lr[best] / 10;
    plot(p, p->done);
    printf("\n%lld iterations, rates %.3g to %.3g%s\n", (long long)p->done, p->lr[0], p->lr[p->done - 1],
           p->done < p->steps ? " (stopped: the loss diverged)" : "");
    printf("lowest smoothed loss %.4g at rate %.3g\n", p->smooth[best], p->lr[best]);
    char stem[256], dir[4096], stamp[32];
    const char *base = strrchr(experiment, '/');
    snprintf(stem, sizeof stem, "%s", base ? base + 1 : experiment);
    char *dot = strrchr(stem, '.');
    if (dot)
        *dot = 0;
    time_t t = time(NULL);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&t));
    snprintf(dir, sizeof dir, "%s/%s-lr-find-%s", run_dir, stem, stamp);
    int rc = log_curve(p, p->done, dir, suggestion, err);
    if (!rc)
        rc = write_curve(p, p->done, dir, suggestion, err);
    if (!rc)
        printf("suggested learning rate: %.3g (TensorBoard curve in %s)\n", suggestion, dir);
    const char *run = dir;
    if (!rc && out && !(rc = cmd_plot_run(&run, 1, NULL, out, plugin_dir, err)))
        printf("lr-find: wrote %s\n", out);
    return rc;
}

int cmd_lr_find_run(const options *o, double min_lr, double max_lr, long long steps, nnk_err *err)
{
    loaded_experiment x;
    lr_probe p = {min_lr, max_lr, steps, 0, NULL, NULL, NULL, 0, 0, 0, 0};
    int rc = experiment_open(&x, o->positional, o->sets, o->n_sets, o->threads, o->plugin_dir, err);
    if (rc)
        return rc;
    nnk_set_threads((int)x.parts.cfg.threads);
    rc = probe(&x, &p, err);
    if (!rc)
        rc = report(&p, o->positional, x.parts.cfg.run_dir, o->output, o->plugin_dir, err);
    free(p.lr), free(p.loss), free(p.smooth);
    experiment_close(&x);
    return rc;
}

int cmd_lr_find(const options *o)
{
    if (!o->positional)
        return usage_error("lr-find", "%s", "missing EXPERIMENT.ini");
    double lo = o->min_lr > 0 ? o->min_lr : 1e-5, hi = o->max_lr > 0 ? o->max_lr : 10;
    if (lo >= hi)
        return usage_error("lr-find", "%s", "--min-lr must be below --max-lr");
    nnk_err err = {NNK_OK, ""};
    if (cmd_lr_find_run(o, lo, hi, o->steps ? o->steps : 300, &err))
        return fail(&err);
    return 0;
}

