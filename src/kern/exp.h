/*
 * exp.h - exp(x) in single precision from arithmetic the compiler
 * vectorises (no call, no table), for the kernels' vexp loops
 * (exp.c): within 2 units in the last place of
 * the correctly rounded result over the whole float range
 * (tests/test_gemm.c), subnormal results included; exp(-inf) = 0,
 * exp(+inf) and every x above about 88.72 = +inf, exp(NaN) = NaN.
 *
 * x = n ln 2 + r, n = round(x / ln 2), |r| <= ln 2 / 2, with ln 2 in two
 * parts (Cody and Waite) so that r is exact; exp(r) by the minimax
 * polynomial of Cephes' expf; times 2^n in two factors 2^(n/2) so that
 * neither overflows nor underflows before the product does.
 */
#ifndef MLP_KERN_EXP_H
#define MLP_KERN_EXP_H

#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define MLP__EXP_INLINE static inline __attribute__((always_inline))
#else
#define MLP__EXP_INLINE static inline
#endif

/* 2^e as a float, -126 <= e <= 127 */
MLP__EXP_INLINE float mlp__pow2i(int32_t e)
{
    const uint32_t bits = (uint32_t)(e + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

MLP__EXP_INLINE float mlp__exp_poly(float x)
{
    const float shift = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float xc, n, r, z, p;
    int32_t ni, n1;
    /* below -104 the result rounds to 0, above 89 to +inf; a NaN is
       carried as 0 (converting it to an integer is undefined) and given
       back at the end. One select each, so that the loops vectorise */
    xc = x < -104.0f ? -104.0f : x;
    xc = xc > 89.0f ? 89.0f : xc;
    xc = xc == xc ? xc : 0.0f;
    /* the cast rounds to float where floats are computed in double
       (FLT_EVAL_METHOD 1, as on s390x), else the shift would not round */
    n = (float)(xc * 1.44269504088896341f + shift) - shift;
    r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;
    z = r * r;
    p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * z + r + 1.0f;
    ni = (int32_t)n; /* -150 .. 128 */
    n1 = ni / 2;
    p = p * mlp__pow2i(n1) * mlp__pow2i(ni - n1);
    /* p + NaN for a NaN, p + 0 otherwise: a select of x (not of p, which
       the compiler would then compute in a branch) */
    return p + (x == x ? 0.0f : x);
}

#endif
