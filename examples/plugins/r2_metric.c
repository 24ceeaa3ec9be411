/* A metric plugin to copy: the coefficient of determination, R^2 =
 * 1 - SS_res / SS_tot, as scikit-learn's r2_score computes it over every
 * value. A metric streams: update adds a batch to its state, result reads
 * the state. Keeping the state as sums (the nnkit.dp.sums/1 capability) lets shards of
 * the data be added up, so the metric also works in data-parallel runs,
 * and one batch or two give the same result (check-plugin checks that). */
#include <nnkit/plugin.h>
#include <string.h>

static const nnk_param_spec no_params[] = {{NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

/* Sums over the values seen: count, y, y^2 and the squared residuals. */
typedef struct r2_state {
    double n, sum_y, sum_y2, sum_res2;
} r2_state;

static void r2_update(const void *config, void *state, const float *pred, const float *y, int64_t rows, int64_t cols)
{
    (void)config;
    r2_state *s = state;
    for (int64_t i = 0; i < rows * cols; i++) {
        double e = (double)pred[i] - y[i];
        s->n += 1;
        s->sum_y += y[i];
        s->sum_y2 += (double)y[i] * y[i];
        s->sum_res2 += e * e;
    }
}

static double r2_result(const void *config, const void *state)
{
    (void)config;
    const r2_state *s = state;
    if (s->n == 0)
        return 0;
    double ss_tot = s->sum_y2 - s->sum_y * s->sum_y / s->n;
    if (ss_tot <= 0) /* constant labels: scikit-learn's convention */
        return s->sum_res2 == 0 ? 1 : 0;
    return 1 - s->sum_res2 / ss_tot;
}

/* Its capabilities: only nnkit.dp.sums/1, which says the state is sums. */
static const nnk_metric_sums sums = {sizeof(nnk_metric_sums)};

static const void *r2_extension(const char *name)
{
    return !strcmp(name, NNK_CAP_DP_SUMS) ? &sums : NULL;
}

static const nnk_metric_vtable r_squared = {
    .struct_size = sizeof(nnk_metric_vtable),
    .name = "r_squared",
    .doc = "coefficient of determination 1 - SS_res / SS_tot over every value (scikit-learn's r2_score)",
    .params = no_params,
    .config_size = 0,
    .state_size = sizeof(r2_state),
    .update = r2_update,
    .result = r2_result,
    .extension = r2_extension,
};

static const nnk_metric_vtable *const metrics[] = {&r_squared, NULL};
static const nnk_plugin descriptor = {
    .struct_size = sizeof(nnk_plugin),
    .abi_major = NNK_ABI_MAJOR,
    .abi_minor = NNK_ABI_MINOR,
    .name = "r2-metric",
    .version = "1.0.0",
    .doc = "a metric template: R squared",
    .metrics = metrics,
};

static const nnk_plugin *r2_init(const nnk_host *h, nnk_err *err)
{
    (void)h, (void)err;
    return &descriptor;
}

NNK_PLUGIN(r2_init);
