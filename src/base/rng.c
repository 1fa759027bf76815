/*
 * rng.c - the context's random generator: xoshiro128** (32-bit outputs,
 * so the stream is the same on every platform) seeded through splitmix64,
 * uniform floats from 24 bits, normals by Box-Muller.
 */
#include <math.h>

#include "core.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void mlp__rng_seed(mlp__rng *r, uint64_t seed)
{
    uint64_t x = seed, a = splitmix64(&x), b = splitmix64(&x);
    r->s[0] = (uint32_t)a;
    r->s[1] = (uint32_t)(a >> 32);
    r->s[2] = (uint32_t)b;
    r->s[3] = (uint32_t)(b >> 32);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        r->s[0] = 1;
    r->have_spare = 0;
    r->spare = 0.0f;
}

static uint32_t rotl(uint32_t x, int k)
{
    return (x << k) | (x >> (32 - k));
}

uint32_t mlp__rng_u32(mlp__rng *r)
{
    uint32_t *s = r->s;
    uint32_t result = rotl(s[1] * 5u, 7) * 9u;
    uint32_t t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
}

float mlp__rng_uniform(mlp__rng *r)
{
    return (float)(mlp__rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

float mlp__rng_normal(mlp__rng *r)
{
    double u1, u2, rad;
    if (r->have_spare) {
        r->have_spare = 0;
        return r->spare;
    }
    do {
        u1 = ((double)(mlp__rng_u32(r) >> 8) + 0.5) / 16777216.0; /* (0,1) */
    } while (u1 <= 0.0);
    u2 = (double)(mlp__rng_u32(r) >> 8) / 16777216.0;
    rad = sqrt(-2.0 * log(u1));
    r->spare = (float)(rad * sin(6.283185307179586 * u2));
    r->have_spare = 1;
    return (float)(rad * cos(6.283185307179586 * u2));
}

/* Each operation is cast to float: where float arithmetic is evaluated in
 * double (FLT_EVAL_METHOD 1: s390x) an unrounded lo + (hi - lo) u differs
 * in the last bit from x86-64's and AArch64's. One operation done in
 * double and rounded to float equals the float operation (53 >= 2*24 + 2
 * bits: double rounding is innocuous), so rounding after each one gives
 * the same bits everywhere. The build also turns off contraction into
 * FMA outside the kernels (-ffp-contract=off), which would be the other
 * way for the same seed to give different bits. */
float mlp__rng_uniform_in(mlp__rng *r, float lo, float hi)
{
    const float span = (float)(hi - lo);
    const float off = (float)(span * mlp__rng_uniform(r));
    return (float)(lo + off);
}

float mlp__rng_normal_in(mlp__rng *r, float mean, float std)
{
    const float off = (float)(std * mlp__rng_normal(r));
    return (float)(mean + off);
}

uint64_t mlp__rng_below(mlp__rng *r, uint64_t n)
{
    uint64_t x, lim;
    if (n <= 1)
        return 0;
    if (n <= 0xFFFFFFFFu) {
        uint32_t m = (uint32_t)n, v, l = (uint32_t)(0x100000000ULL % m);
        do {
            v = mlp__rng_u32(r);
        } while (v < l);
        return v % m;
    }
    lim = UINT64_MAX - (UINT64_MAX % n) - 1;
    do {
        x = ((uint64_t)mlp__rng_u32(r) << 32) | mlp__rng_u32(r);
    } while (x > lim);
    return x % n;
}
