/* check-plugin's report rows and random test values. */
#include "checkplugin_report.h"
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

void row(report *r, const char *component, const char *check, int ok, const char *fmt, ...)
{
    char detail[512] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
    }
    r->checks++;
    r->failures += !ok;
    fprintf(r->out, "  %-34s %-22s %-4s %s\n", component, check, ok ? "pass" : "FAIL", detail);
}

/* ---- random values ------------------------------------------------------- */

double uni(nnk_rng *g, double lo, double hi) { return lo + (hi - lo) * nnk__rng_uniform(g); }

void random_values(nnk_rng *g, float *x, int64_t n, double scale)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)uni(g, -scale, scale);
}

/* A random value for a spec: small integers and floats inside the range
 * near the default, any choice, a smooth activation. */
/* An integer near base (from 2 below to 4 above), inside p's range. */
static long long random_int(nnk_rng *g, const nnk_param_spec *p, double base)
{
    double a = fmax(p->min, base - 2), b = fmin(p->max, base + 4);
    if (p->min == 0 && p->max == 0)
        a = base, b = base + 3;
    return (long long)floor(uni(g, a, b + 0.999));
}

void random_param(nnk_rng *g, const nnk_param_spec *p, char *buf, size_t n)
{
    double lo = p->min, hi = p->max;
    switch (p->type) {
    case NNK_PARAM_INT:
        snprintf(buf, n, "%lld", random_int(g, p, p->default_value ? atof(p->default_value) : (lo > 1 ? lo : 1)));
        break;
    case NNK_PARAM_INTS: { /* one value or two, near the default's first */
        double base = p->default_value ? atof(p->default_value + strspn(p->default_value, "([ ")) : (lo > 1 ? lo : 1);
        if (nnk__rng_next(g) & 1)
            snprintf(buf, n, "%lld", random_int(g, p, base));
        else
            snprintf(buf, n, "%lld,%lld", random_int(g, p, base), random_int(g, p, base));
        break;
    }
    case NNK_PARAM_FLOAT: {
        double base = p->default_value ? atof(p->default_value) : (lo + hi) / 2;
        double a = lo || hi ? fmax(lo, base * 0.5) : base * 0.5, b = lo || hi ? fmin(hi, base * 1.5 + 1e-9) : base * 1.5;
        if (base == 0) /* a zero default (a penalty, a momentum) gets values that matter */
            a = lo, b = lo || hi ? fmin(hi, 1) : 1;
        if (b < a)
            a = b = base;
        snprintf(buf, n, "%.6g", uni(g, fmin(a, b), fmax(a, b)));
        if (atof(buf) < lo || ((lo || hi) && atof(buf) > hi))
            snprintf(buf, n, "%s", p->default_value ? p->default_value : "0");
        break;
    }
    case NNK_PARAM_BOOL:
        snprintf(buf, n, "%s", nnk__rng_next(g) & 1 ? "true" : "false");
        break;
    case NNK_PARAM_CHOICE: {
        int k = 0;
        while (p->choices[k])
            k++;
        snprintf(buf, n, "%s", p->choices[nnk__rng_next(g) % (uint64_t)k]);
        break;
    }
    case NNK_PARAM_ACTIVATION: {
        static const char *const smooth[] = {"linear", "tanh", "sigmoid", "softplus"};
        snprintf(buf, n, "%s", smooth[nnk__rng_next(g) % 4]);
        break;
    }
    default:
        snprintf(buf, n, "%s", p->default_value ? p->default_value : "");
    }
}

