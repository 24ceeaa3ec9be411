/* Reproducible random streams: xoshiro256** seeded through splitmix64, so
 * every (seed, stream) pair gives an independent, repeatable sequence. */
#include "internal.h"
#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void nnk__rng_seed(nnk_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    r->has_spare = 0;
    r->spare = 0;
}

void nnk__rng_seed_epoch(nnk_rng *r, uint64_t seed, uint64_t stream, int64_t epoch)
{
    nnk__rng_seed(r, seed ^ (uint64_t)(epoch + 1) * 0x9E3779B97F4A7C15ull, stream);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t nnk__rng_next(nnk_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double nnk__rng_uniform(nnk_rng *r)
{
    return (double)(nnk__rng_next(r) >> 11) * 0x1.0p-53;
}

double nnk__rng_normal(nnk_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * nnk__rng_uniform(r) - 1.0;
        v = 2.0 * nnk__rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * log(s) / s);
    r->spare = v * f;
    r->has_spare = 1;
    return u * f;
}
