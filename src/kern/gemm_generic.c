/*
 * gemm_generic.c - the portable C99 micro-kernel (4 x 8 register tile;
 * the compiler vectorises the 8-wide rows) and the portable packers, which
 * also serve the other kernels' rare cases.
 */
#include "kern/gemm.h"

#include <stddef.h>

#define GMR 4
#define GNR 8

void mlp__gemm_pack_a_ref(int mr, int trans, const float *src, int64_t ld, int64_t m, int64_t k,
                          float *dst)
{
    int64_t i0, i, p;
    for (i0 = 0; i0 < m; i0 += mr) {
        const int64_t mb = m - i0 < mr ? m - i0 : mr;
        if (trans) {
            for (p = 0; p < k; p++) {
                const float *s = src + p * ld + i0;
                for (i = 0; i < mb; i++)
                    dst[i] = s[i];
                for (; i < mr; i++)
                    dst[i] = 0.0f;
                dst += mr;
            }
        } else {
            for (i = 0; i < mb; i++) {
                const float *s = src + (i0 + i) * ld;
                for (p = 0; p < k; p++)
                    dst[p * mr + i] = s[p];
            }
            for (; i < mr; i++)
                for (p = 0; p < k; p++)
                    dst[p * mr + i] = 0.0f;
            dst += mr * k;
        }
    }
}

void mlp__gemm_pack_b_ref(int nr, int trans, const float *src, int64_t ld, int64_t k, int64_t n,
                          float *dst)
{
    int64_t j0, j, p;
    for (j0 = 0; j0 < n; j0 += nr) {
        const int64_t nb = n - j0 < nr ? n - j0 : nr;
        if (trans) {
            for (j = 0; j < nb; j++) {
                const float *s = src + (j0 + j) * ld;
                for (p = 0; p < k; p++)
                    dst[p * nr + j] = s[p];
            }
            for (; j < nr; j++)
                for (p = 0; p < k; p++)
                    dst[p * nr + j] = 0.0f;
            dst += nr * k;
        } else {
            for (p = 0; p < k; p++) {
                const float *s = src + p * ld + j0;
                for (j = 0; j < nb; j++)
                    dst[j] = s[j];
                for (; j < nr; j++)
                    dst[j] = 0.0f;
                dst += nr;
            }
        }
    }
}

static void pack_a_generic(int trans, const float *src, int64_t ld, int64_t m, int64_t k,
                           float *dst)
{
    mlp__gemm_pack_a_ref(GMR, trans, src, ld, m, k, dst);
}

static void pack_b_generic(int trans, const float *src, int64_t ld, int64_t k, int64_t n,
                           float *dst)
{
    mlp__gemm_pack_b_ref(GNR, trans, src, ld, k, n, dst);
}

/* Full tile: fixed trip counts only, so the compiler keeps acc in vector
 * registers and vectorises the 8-wide rows (gcc's loop vectoriser would
 * rather vectorise over k, with shuffles: 6 instead of 34 GFLOP/s). */
#if defined(__GNUC__) && !defined(__clang__)
#define MLP__NO_LOOP_VEC __attribute__((optimize("no-tree-loop-vectorize")))
#else
#define MLP__NO_LOOP_VEC
#endif
static MLP__NO_LOOP_VEC void tile_full(int64_t k, const float *a, int64_t rsa, int64_t csa,
                                       const float *b, int64_t rsb, float acc[GMR][GNR])
{
    float t[GMR][GNR];
    int64_t p;
    int i, j;
    for (i = 0; i < GMR; i++)
        for (j = 0; j < GNR; j++)
            t[i][j] = 0.0f;
    for (p = 0; p < k; p++, a += csa, b += rsb) {
        float bv[GNR];
        for (j = 0; j < GNR; j++)
            bv[j] = b[j];
        for (i = 0; i < GMR; i++) {
            const float ai = a[i * rsa];
            for (j = 0; j < GNR; j++)
                t[i][j] += ai * bv[j];
        }
    }
    for (i = 0; i < GMR; i++)
        for (j = 0; j < GNR; j++)
            acc[i][j] = t[i][j];
}

static void ukr_generic(int64_t k, const float *a, int64_t rsa, int64_t csa, const float *b,
                        int64_t rsb, float *c, int64_t ldc, int64_t m, int64_t n, float alpha,
                        float beta)
{
    float acc[GMR][GNR];
    int64_t i, j, p;
    if (m == GMR && n == GNR) {
        tile_full(k, a, rsa, csa, b, rsb, acc);
    } else {
        for (i = 0; i < GMR; i++)
            for (j = 0; j < GNR; j++)
                acc[i][j] = 0.0f;
        for (p = 0; p < k; p++) {
            const float *ap = a + p * csa, *bp = b + p * rsb;
            for (i = 0; i < m; i++) {
                const float ai = ap[i * rsa];
                for (j = 0; j < n; j++)
                    acc[i][j] += ai * bp[j];
            }
        }
    }
    for (i = 0; i < m; i++) {
        float *cr = c + i * ldc;
        if (beta == 0.0f)
            for (j = 0; j < n; j++)
                cr[j] = alpha * acc[i][j];
        else
            for (j = 0; j < n; j++)
                cr[j] = alpha * acc[i][j] + beta * cr[j];
    }
}

/* The row kernel (gemm.h) on m rows, GROW columns at a time: each
 * element one chain over k in order, whatever block holds it, so a
 * product split by columns gives the bits of one call. Predict's one row
 * of a small net runs through it without a workspace (nn/predict.c). */
#define GROW 64
static void rows_generic(int64_t m, int64_t k, const float *a, int64_t rsa, int64_t csa,
                         const float *b, int64_t ldb, float *c, int64_t ldc, int64_t n, float alpha,
                         float beta, const float *bias, int relu)
{
    int64_t i, j, j0, p;
    for (i = 0; i < m; i++)
        for (j0 = 0; j0 < n; j0 += GROW) {
            const int64_t w = n - j0 < GROW ? n - j0 : GROW;
            float acc[GROW], *cr = c + i * ldc + j0;
            for (j = 0; j < w; j++)
                acc[j] = 0.0f;
            for (p = 0; p < k; p++) {
                const float ai = a[i * rsa + p * csa], *bp = b + p * ldb + j0;
                for (j = 0; j < w; j++)
                    acc[j] += ai * bp[j];
            }
            for (j = 0; j < w; j++) {
                float v = alpha * acc[j];
                if (beta != 0.0f)
                    v += beta * cr[j];
                if (bias)
                    v += bias[j0 + j];
                if (relu)
                    v = v <= 0.0f ? 0.0f : v; /* NaN stays NaN */
                cr[j] = v;
            }
        }
}

static void row_generic(int64_t k, const float *a, int64_t csa, const float *b, int64_t ldb,
                        float *c, int64_t n, float alpha, float beta, const float *bias, int relu)
{
    rows_generic(1, k, a, 0, csa, b, ldb, c, 0, n, alpha, beta, bias, relu);
}

/* clang-format off */
const mlp__gemm_kernel mlp__gemm_kernel_generic = {
    "generic",        GMR,         GNR,          128,  256,  1024, 0, INT64_MAX, ukr_generic,
    pack_a_generic,   pack_b_generic, row_generic, rows_generic, GMR, NULL, NULL, NULL, NULL,
    ukr_generic,
    mlp__vexp_generic, mlp__gemm_bias_relu_ref, NULL};
/* clang-format on */
