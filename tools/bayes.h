/* Bayesian optimisation for nnkit sweep --strategy bayes: a Gaussian
 * process over the unit cube with expected improvement, as Keras Tuner's
 * BayesianOptimization does. */
#ifndef NNKIT_BAYES_H
#define NNKIT_BAYES_H
#include <stdint.h>

/* A uniform number in [0, 1) from a xorshift64* state (the sweep's own
 * stream, so a fixed seed proposes the same trials). */
double bayes_uniform(uint64_t *state);

/* The expected improvement below `best` (minimising) of a value whose
 * posterior is normal with mean mu and standard deviation s > 0:
 * (best - mu) Phi(z) + s phi(z), z = (best - mu) / s. */
double bayes_expected_improvement(double best, double mu, double s);

/* The next point to try, in [0, 1]^d: the one with the highest expected
 * improvement (for minimising y) among `candidates` random points, under
 * a Gaussian process (squared-exponential kernel) fitted to the n points
 * X (n x d) and their values y. With n == 0, a random point. */
void bayes_propose(const double *X, const double *y, int n, int d, int candidates, uint64_t *state, double *out);
#endif
