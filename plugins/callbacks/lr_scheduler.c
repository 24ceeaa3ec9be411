/* learning_rate_scheduler: sets the learning rate before every batch from
 * a schedule of the step (the batches trained so far) and the rate the
 * run was compiled with, lr0:
 *   exponential_decay   lr0 * decay_rate ^ (step / decay_steps) (floored with staircase)
 *   piecewise_constant  values[i] while step < boundaries[i] (values has one more entry)
 *   one_cycle           1cycle (Smith 2018, as the book describes): from max_lr/10 up to
 *                       max_lr over the first half, back down over the second, then
 *                       the last `final_fraction` of the steps down to max_lr/1000
 *   warmup              linear from lr0/warmup_steps up to lr0 over warmup_steps, then lr0
 *                       (for large batches, as the book suggests) */
#include "callbacks.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sched_config {
    const char *schedule, *boundaries, *values;
    double decay_rate, max_lr, final_fraction;
    int64_t decay_steps, warmup_steps;
    int staircase;
} sched_config;

static const char *const schedules[] = {"exponential_decay", "piecewise_constant", "one_cycle", "warmup", NULL};

#define S(f) offsetof(sched_config, f)
static const nnk_param_spec sched_params[] = {
    {"schedule", NNK_PARAM_CHOICE, NULL, 0, 0, schedules, "which schedule", S(schedule)},
    {"decay_rate", NNK_PARAM_FLOAT, "0.1", 1e-12, 1, NULL, "exponential_decay: factor per decay_steps", S(decay_rate)},
    {"decay_steps", NNK_PARAM_INT, "1000", 1, 1e15, NULL, "exponential_decay: steps per factor", S(decay_steps)},
    {"staircase", NNK_PARAM_BOOL, "false", 0, 0, NULL, "exponential_decay: decay in whole steps", S(staircase)},
    {"boundaries", NNK_PARAM_STRING, "", 0, 0, NULL, "piecewise_constant: steps where the rate changes, e.g. 1000,5000", S(boundaries)},
    {"values", NNK_PARAM_STRING, "", 0, 0, NULL, "piecewise_constant: the rates, one more than boundaries", S(values)},
    {"max_lr", NNK_PARAM_FLOAT, "0.1", 1e-12, 1e6, NULL, "one_cycle: the peak rate", S(max_lr)},
    {"final_fraction", NNK_PARAM_FLOAT, "0.1", 0, 0.9, NULL, "one_cycle: share of the steps spent annealing below max_lr/10", S(final_fraction)},
    {"warmup_steps", NNK_PARAM_INT, "1000", 1, 1e15, NULL, "warmup: steps to reach the rate", S(warmup_steps)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0}};

#define MAX_PIECES 32

typedef struct sched_state {
    const sched_config *c;
    double lr0;
    double bounds[MAX_PIECES], vals[MAX_PIECES + 1];
    int n_bounds;
    int64_t total_steps;
} sched_state;

static int parse_list(const char *text, double *out, int cap, int *n)
{
    *n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || *n == cap || !isfinite(v))
            return -1;
        out[(*n)++] = v;
        p = end;
        while (*p == ' ' || *p == ',')
            p++;
    }
    return 0;
}

static int sched_create(const void *config, void **state, nnk_err *err)
{
    const sched_config *c = config;
    sched_state *s = callbacks_host->alloc_zeroed(1, sizeof *s);
    if (!s)
        return callbacks_host->err_set(err, NNK_ENOMEM, "out of memory");
    s->c = c;
    if (!strcmp(c->schedule, "piecewise_constant")) {
        int nv = 0, rc = parse_list(c->boundaries, s->bounds, MAX_PIECES, &s->n_bounds) ||
                         parse_list(c->values, s->vals, MAX_PIECES + 1, &nv);
        for (int i = 1; !rc && i < s->n_bounds; i++)
            rc = s->bounds[i] <= s->bounds[i - 1];
        if (rc || nv != s->n_bounds + 1 || s->n_bounds == 0) {
            callbacks_host->free(s);
            return callbacks_host->err_set(err, NNK_ECONFIG,
                                           "piecewise_constant needs increasing 'boundaries' and one more 'values' entry, got boundaries '%s' and values '%s'",
                                           c->boundaries, c->values);
        }
    }
    *state = s;
    return NNK_OK;
}

static double rate_at(const sched_state *s, int64_t step)
{
    const sched_config *c = s->c;
    if (!strcmp(c->schedule, "exponential_decay")) {
        double p = (double)step / (double)c->decay_steps;
        return s->lr0 * pow(c->decay_rate, c->staircase ? floor(p) : p);
    }
    if (!strcmp(c->schedule, "piecewise_constant")) {
        int i = 0;
        while (i < s->n_bounds && (double)step >= s->bounds[i])
            i++;
        return s->vals[i];
    }
    if (!strcmp(c->schedule, "warmup"))
        return step < c->warmup_steps ? s->lr0 * (double)(step + 1) / (double)c->warmup_steps : s->lr0;
    /* one_cycle */
    double total = (double)(s->total_steps > 0 ? s->total_steps : 1), low = c->max_lr / 10;
    double cycle = total * (1 - c->final_fraction), half = cycle / 2, t = (double)step;
    if (t < half)
        return low + (c->max_lr - low) * t / half;
    if (t < cycle)
        return c->max_lr - (c->max_lr - low) * (t - half) / half;
    double rest = total - cycle;
    return low - (low - c->max_lr / 1000) * (rest > 0 ? (t - cycle) / rest : 1);
}

static int sched_event(void *state, nnk_event ev, const nnk_train_info *info, nnk_err *err)
{
    sched_state *s = state;
    (void)err;
    /* the rate for the next step is set as soon as the previous one ends,
     * so what is logged at the end of an epoch is the current rate */
    if (ev == NNK_TRAIN_BEGIN) {
        s->lr0 = *info->learning_rate;
        s->total_steps = info->epochs * info->steps;
        *info->learning_rate = rate_at(s, info->global_batch);
    } else if (ev == NNK_BATCH_END) {
        *info->learning_rate = rate_at(s, info->global_batch);
    }
    return NNK_OK;
}

/* For backup_and_restore: the whole state struct (lr0, boundaries, total steps). */
static int lr_scheduler_save(void *state, uint8_t **bytes, size_t *n, nnk_err *err)
{
    *n = sizeof(sched_state);
    *bytes = callbacks_host->alloc(*n);
    if (!*bytes)
        return callbacks_host->err_set(err, NNK_ENOMEM, "out of memory");
    memcpy(*bytes, state, *n);
    return NNK_OK;
}

static int lr_scheduler_load(void *state, const uint8_t *bytes, size_t n, nnk_err *err)
{
    if (n != sizeof(sched_state))
        return callbacks_host->err_set(err, NNK_ECONFIG, "saved state has the wrong size");
    sched_state *s = state;
    const void *config = s->c; /* the configuration stays this run's */
    memcpy(s, bytes, n);
    s->c = config;
    return NNK_OK;
}

static void sched_destroy(void *state) { callbacks_host->free(state); }

const nnk_callback_vtable learning_rate_scheduler_callback = {
    .struct_size = sizeof(nnk_callback_vtable),
    .name = "learning_rate_scheduler",
    .doc = "sets the learning rate every batch from a schedule: exponential_decay, piecewise_constant, one_cycle, warmup",
    .params = sched_params,
    .config_size = sizeof(sched_config),
    .create = sched_create,
    .on_event = sched_event,
    .destroy = sched_destroy,
    .save_state = lr_scheduler_save,
    .load_state = lr_scheduler_load,
};
