/* What the checker's files share: the report and random test values. */
#ifndef NNKIT_CHECKPLUGIN_REPORT_H
#define NNKIT_CHECKPLUGIN_REPORT_H
#include "checkplugin.h"
#include "internal.h"

typedef struct report {
    FILE *out;
    int failures, checks;
} report;

#include <math.h>

#define FD_H 1e-3 /* the finite differences' step */

/* An analytic derivative against its finite difference. */
static inline int close_enough(double analytic, double fd)
{
    return fabs(analytic - fd) <= 2e-3 + 2e-2 * fabs(fd);
}

/* One row of the report: the component, the check, pass or FAIL, detail. */
void row(report *r, const char *component, const char *check, int ok, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* A uniform number in [lo, hi); n values in [-scale, scale); a random
 * valid value of a parameter as text. */
double uni(nnk_rng *g, double lo, double hi);
void random_values(nnk_rng *g, float *x, int64_t n, double scale);
void random_param(nnk_rng *g, const nnk_param_spec *p, char *buf, size_t n);

/* The layer checks (checkplugin_layers.c): finite-difference gradients,
 * the fused SGD step, shapes, save/load and determinism. */
void layer_checks(report *r, nnk_registry *reg, const nnk_component_info *c, nnk_rng *g);
#endif
