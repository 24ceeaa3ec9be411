/* Gaussian-process Bayesian optimisation (see bayes.h). The values are
 * standardised, the kernel is exp(-|a - b|^2 / (2 l^2)) with l = 0.25 on
 * the unit cube plus a little noise on the diagonal, and the posterior
 * comes from a Cholesky factor of the kernel matrix. */
#include "bayes.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LENGTH 0.25
#define NOISE 1e-6

double bayes_uniform(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

double bayes_expected_improvement(double best, double mu, double s)
{
    double z = (best - mu) / s;
    return (best - mu) * 0.5 * erfc(-z / sqrt(2)) + s * exp(-0.5 * z * z) / sqrt(2 * M_PI);
}

static double kernel(const double *a, const double *b, int d)
{
    double r2 = 0;
    for (int k = 0; k < d; k++)
        r2 += (a[k] - b[k]) * (a[k] - b[k]);
    return exp(-r2 / (2 * LENGTH * LENGTH));
}

/* In-place Cholesky of the n x n matrix K (lower triangle); -1 if not
 * positive definite. */
static int cholesky(double *K, int n)
{
    for (int j = 0; j < n; j++) {
        double s = K[j * n + j];
        for (int k = 0; k < j; k++)
            s -= K[j * n + k] * K[j * n + k];
        if (s <= 0)
            return -1;
        K[j * n + j] = sqrt(s);
        for (int i = j + 1; i < n; i++) {
            double t = K[i * n + j];
            for (int k = 0; k < j; k++)
                t -= K[i * n + k] * K[j * n + k];
            K[i * n + j] = t / K[j * n + j];
        }
    }
    return 0;
}

/* Solves L z = b (forward) into z. */
static void forward(const double *L, int n, const double *b, double *z)
{
    for (int i = 0; i < n; i++) {
        double s = b[i];
        for (int k = 0; k < i; k++)
            s -= L[i * n + k] * z[k];
        z[i] = s / L[i * n + i];
    }
}

/* Solves L^T z = b (backward) into z. */
static void backward(const double *L, int n, const double *b, double *z)
{
    for (int i = n - 1; i >= 0; i--) {
        double s = b[i];
        for (int k = i + 1; k < n; k++)
            s -= L[k * n + i] * z[k];
        z[i] = s / L[i * n + i];
    }
}

void bayes_propose(const double *X, const double *y, int n, int d, int candidates, uint64_t *state, double *out)
{
    for (int k = 0; k < d; k++)
        out[k] = bayes_uniform(state);
    if (n < 1)
        return;
    double mean = 0, var = 0, best = INFINITY;
    for (int i = 0; i < n; i++)
        mean += y[i] / n;
    for (int i = 0; i < n; i++)
        var += (y[i] - mean) * (y[i] - mean) / n;
    double sd = var > 1e-24 ? sqrt(var) : 1;
    double *K = malloc(sizeof(double) * (size_t)n * (size_t)n), *ys = malloc(sizeof(double) * (size_t)n),
           *alpha = malloc(sizeof(double) * (size_t)n), *tmp = malloc(sizeof(double) * (size_t)n),
           *kx = malloc(sizeof(double) * (size_t)n), *v = malloc(sizeof(double) * (size_t)n), *x = malloc(sizeof(double) * (size_t)d);
    if (!K || !ys || !alpha || !tmp || !kx || !v || !x)
        goto done;
    for (int i = 0; i < n; i++) {
        ys[i] = (y[i] - mean) / sd;
        best = ys[i] < best ? ys[i] : best;
        for (int j = 0; j < n; j++)
            K[i * n + j] = kernel(X + i * d, X + j * d, d) + (i == j ? NOISE : 0);
    }
    if (cholesky(K, n))
        goto done; /* keep the random point */
    forward(K, n, ys, tmp);
    backward(K, n, tmp, alpha); /* alpha = K^-1 y */
    double best_ei = -1;
    for (int c = 0; c < candidates; c++) {
        for (int k = 0; k < d; k++)
            x[k] = bayes_uniform(state);
        for (int i = 0; i < n; i++)
            kx[i] = kernel(x, X + i * d, d);
        double mu = 0;
        for (int i = 0; i < n; i++)
            mu += kx[i] * alpha[i];
        forward(K, n, kx, v);
        double s2 = 1 + NOISE;
        for (int i = 0; i < n; i++)
            s2 -= v[i] * v[i];
        double s = s2 > 1e-12 ? sqrt(s2) : 1e-6;
        double ei = bayes_expected_improvement(best, mu, s);
        if (ei > best_ei) {
            best_ei = ei;
            memcpy(out, x, sizeof(double) * (size_t)d);
        }
    }
done:
    free(K), free(ys), free(alpha), free(tmp), free(kx), free(v), free(x);
}
