/*
 * gemm_avx2.c - AVX2+FMA micro-kernel (6 x 16 tile: 12 ymm accumulators)
 * and packers using 8 x 8 in-register transposes. Same structure as the
 * AVX-512 kernel: an inlined template specialised on the row count (6,
 * 4, 2, 1; other heights run as several), the vector count and the
 * addressing of A and B. B used in place with a ragged edge goes through a
 * small zero-padded copy.
 */
#include "kern/gemm.h"

#if defined(MLP__GEMM_X86)
#include <immintrin.h>

#define MR 6
#define NR 16
#define TAVX2 __attribute__((target("avx2,fma")))
#define INL static inline __attribute__((always_inline))

#define A_PACKED 0
#define A_COLS 1
#define A_ROWS 2

INL TAVX2 __m256i lanes8(int64_t n)
{
    const int v = n < 0 ? 0 : n > 8 ? 8 : (int)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(v), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Named accumulators per row (not an array) so they stay in registers. */
#define ACC_DECL(r) __m256 c##r##_0 = _mm256_setzero_ps(), c##r##_1 = _mm256_setzero_ps()
#define ACC_ROW(r)                                                                                 \
    if (MROWS > (r)) {                                                                             \
        const __m256 ar = _mm256_broadcast_ss(a + (r)*ra);                                         \
        c##r##_0 = _mm256_fmadd_ps(ar, b0, c##r##_0);                                              \
        if (NV == 2)                                                                               \
            c##r##_1 = _mm256_fmadd_ps(ar, b1, c##r##_1);                                          \
    }
#define ACC_STORE(r)                                                                               \
    if (MROWS > (r)) {                                                                             \
        float *cr = c + (r)*ldc;                                                                   \
        __m256 r0 = _mm256_mul_ps(va, c##r##_0), r1 = _mm256_mul_ps(va, c##r##_1);                 \
        if (full) {                                                                                \
            if (beta != 0.0f)                                                                      \
                r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr), r0);                                 \
            _mm256_storeu_ps(cr, r0);                                                              \
            if (NV == 2) {                                                                         \
                if (beta != 0.0f)                                                                  \
                    r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr + 8), r1);                         \
                _mm256_storeu_ps(cr + 8, r1);                                                      \
            }                                                                                      \
        } else {                                                                                   \
            if (beta != 0.0f)                                                                      \
                r0 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cr, k0), r0);                          \
            _mm256_maskstore_ps(cr, k0, r0);                                                       \
            if (NV == 2) {                                                                         \
                if (beta != 0.0f)                                                                  \
                    r1 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cr + 8, k1), r1);                  \
                _mm256_maskstore_ps(cr + 8, k1, r1);                                               \
            }                                                                                      \
        }                                                                                          \
    }

INL TAVX2 void ukr_t(const int MROWS, const int NV, const int AS, const int BP, int64_t k,
                     const float *a, int64_t rsa, int64_t csa, const float *b, int64_t rsb,
                     float *c, int64_t ldc, int64_t n, float alpha, float beta)
{
    const int64_t ra = AS == A_ROWS ? rsa : 1;
    const int64_t ca = AS == A_PACKED ? MR : AS == A_COLS ? csa : 1;
    const int64_t sb = BP ? NR : rsb;
    ACC_DECL(0);
    ACC_DECL(1);
    ACC_DECL(2);
    ACC_DECL(3);
    ACC_DECL(4);
    ACC_DECL(5);

#define STEP()                                                                                     \
    do {                                                                                           \
        const __m256 b0 = _mm256_loadu_ps(b);                                                      \
        const __m256 b1 = NV == 2 ? _mm256_loadu_ps(b + 8) : b0;                                   \
        ACC_ROW(0) ACC_ROW(1) ACC_ROW(2) ACC_ROW(3) ACC_ROW(4) ACC_ROW(5)                          \
    } while (0)

    /* pointers bumped after every step: with a run-time stride, offsets
     * off*ca would each take a register */
    for (; k >= 4; k -= 4) {
        STEP();
        a += ca;
        b += sb;
        STEP();
        a += ca;
        b += sb;
        STEP();
        a += ca;
        b += sb;
        STEP();
        a += ca;
        b += sb;
    }
    for (; k > 0; k--) {
        STEP();
        a += ca;
        b += sb;
    }
#undef STEP
    {
        const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
        const __m256i k0 = lanes8(n), k1 = lanes8(n - 8);
        const int full = n == 8 * NV;
        ACC_STORE(0) ACC_STORE(1) ACC_STORE(2) ACC_STORE(3) ACC_STORE(4) ACC_STORE(5)
    }
}

#define UKR_ARGS k, a, rsa, csa, b, rsb, c, ldc, n, alpha, beta
#define UKR_FN(NAME, NV, AS)                                                                       \
    static TAVX2 void NAME(int64_t k, const float *a, int64_t rsa, int64_t csa, const float *b,    \
                           int64_t rsb, float *c, int64_t ldc, int64_t m, int64_t n, float alpha,  \
                           float beta)                                                             \
    {                                                                                              \
        switch (m) {                                                                               \
        case 1: ukr_t(1, NV, AS, 0, UKR_ARGS); break;                                              \
        case 2: ukr_t(2, NV, AS, 0, UKR_ARGS); break;                                              \
        case 4: ukr_t(4, NV, AS, 0, UKR_ARGS); break;                                              \
        default: ukr_t(MR, NV, AS, 0, UKR_ARGS);                                                   \
        }                                                                                          \
    }

static TAVX2 void ukr_p2(int64_t k, const float *a, int64_t rsa, int64_t csa, const float *b,
                         int64_t rsb, float *c, int64_t ldc, int64_t m, int64_t n, float alpha,
                         float beta)
{
    (void)m;
    ukr_t(MR, 2, A_PACKED, 1, UKR_ARGS);
}

static TAVX2 void ukr_p1(int64_t k, const float *a, int64_t rsa, int64_t csa, const float *b,
                         int64_t rsb, float *c, int64_t ldc, int64_t m, int64_t n, float alpha,
                         float beta)
{
    (void)m;
    ukr_t(MR, 1, A_PACKED, 1, UKR_ARGS);
}

UKR_FN(ukr_c2, 2, A_COLS)
UKR_FN(ukr_c1, 1, A_COLS)
UKR_FN(ukr_r2, 2, A_ROWS)
UKR_FN(ukr_r1, 1, A_ROWS)

/* Tiles of m rows on B read in place with n a multiple of 8 (or packed and
 * zero-padded, so whole vectors may be read); rows split into 6, 4, 2, 1. */
static TAVX2 void ukr_rows(int64_t k, const float *a, int64_t rsa, int64_t csa, const float *b,
                           int64_t rsb, float *c, int64_t ldc, int64_t m, int64_t n, float alpha,
                           float beta)
{
    const mlp__gemm_ukr_fn f = rsa == 1 ? (n > 8 ? ukr_c2 : ukr_c1) : (n > 8 ? ukr_r2 : ukr_r1);
    if (m == MR && rsa == 1 && csa == MR && rsb == NR) {
        (n > 8 ? ukr_p2 : ukr_p1)(k, a, rsa, csa, b, rsb, c, ldc, m, n, alpha, beta);
        return;
    }
    while (m > 0) {
        const int64_t r = m >= MR ? MR : m >= 4 ? 4 : m >= 2 ? 2 : 1;
        f(k, a, rsa, csa, b, rsb, c, ldc, r, n, alpha, beta);
        a += r * rsa;
        c += r * ldc;
        m -= r;
    }
}

#define KCH 64

static TAVX2 void ukr_avx2(int64_t k, const float *a, int64_t rsa, int64_t csa, const float *b,
                           int64_t rsb, float *c, int64_t ldc, int64_t m, int64_t n, float alpha,
                           float beta)
{
    /* B in place with a ragged edge: whole vectors would read past it, so
     * copy KCH rows at a time into a zero-padded panel (rare: M <= MR). */
    if (rsb != NR && n % 8 != 0) {
        float tmp[KCH * NR];
        const __m256i m0 = lanes8(n), m1 = lanes8(n - 8);
        int64_t p0, p;
        for (p0 = 0; p0 < k; p0 += KCH) {
            const int64_t kt = k - p0 < KCH ? k - p0 : KCH;
            for (p = 0; p < kt; p++) {
                _mm256_storeu_ps(tmp + p * NR, _mm256_maskload_ps(b + (p0 + p) * rsb, m0));
                _mm256_storeu_ps(tmp + p * NR + 8, _mm256_maskload_ps(b + (p0 + p) * rsb + 8, m1));
            }
            ukr_rows(kt, a + p0 * csa, rsa, csa, tmp, NR, c, ldc, m, n, alpha,
                     p0 == 0 ? beta : 1.0f);
        }
        return;
    }
    ukr_rows(k, a, rsa, csa, b, rsb, c, ldc, m, n, alpha, beta);
}

INL TAVX2 void tr8(__m256 r[8])
{
    __m256 t[8], s[8];
    int g;
    for (g = 0; g < 4; g++) {
        t[2 * g] = _mm256_unpacklo_ps(r[2 * g], r[2 * g + 1]);
        t[2 * g + 1] = _mm256_unpackhi_ps(r[2 * g], r[2 * g + 1]);
    }
    for (g = 0; g < 2; g++) {
        s[4 * g] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        s[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
        s[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        s[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    for (g = 0; g < 4; g++) {
        r[g] = _mm256_permute2f128_ps(s[g], s[4 + g], 0x20);
        r[4 + g] = _mm256_permute2f128_ps(s[g], s[4 + g], 0x31);
    }
}

INL TAVX2 void load8(__m256 r[8], const float *src, int64_t ld, int64_t nrows, int64_t ncols)
{
    int i;
    if (ncols >= 8) {
        for (i = 0; i < 8; i++)
            r[i] = i < nrows ? _mm256_loadu_ps(src + i * ld) : _mm256_setzero_ps();
    } else {
        const __m256i km = lanes8(ncols);
        for (i = 0; i < 8; i++)
            r[i] = i < nrows ? _mm256_maskload_ps(src + i * ld, km) : _mm256_setzero_ps();
    }
}

static TAVX2 void pack_a_avx2(int trans, const float *src, int64_t ld, int64_t m, int64_t k,
                              float *dst)
{
    int64_t i0, p, p0;
    int j;
    for (i0 = 0; i0 < m; i0 += MR, dst += MR * k) {
        const int64_t mb = m - i0 < MR ? m - i0 : MR;
        if (trans) {
            const __m256i mm = lanes8(mb);
            const float *s = src + i0;
            for (p = 0; p < k; p++, s += ld) {
                const __m256 v = _mm256_maskload_ps(s, mm);
                _mm_storeu_ps(dst + p * MR, _mm256_castps256_ps128(v));
                _mm_storel_pi((__m64 *)(void *)(dst + p * MR + 4), _mm256_extractf128_ps(v, 1));
            }
        } else {
            for (p0 = 0; p0 < k; p0 += 8) {
                const int64_t kt = k - p0 < 8 ? k - p0 : 8;
                __m256 r[8];
                load8(r, src + i0 * ld + p0, ld, mb, kt);
                tr8(r);
                for (j = 0; j < kt; j++) {
                    _mm_storeu_ps(dst + (p0 + j) * MR, _mm256_castps256_ps128(r[j]));
                    _mm_storel_pi((__m64 *)(void *)(dst + (p0 + j) * MR + 4),
                                  _mm256_extractf128_ps(r[j], 1));
                }
            }
        }
    }
}

static TAVX2 void pack_b_avx2(int trans, const float *src, int64_t ld, int64_t k, int64_t n,
                              float *dst)
{
    int64_t j0, p, p0;
    int j, h;
    for (j0 = 0; j0 < n; j0 += NR, dst += NR * k) {
        const int64_t nb = n - j0 < NR ? n - j0 : NR;
        if (!trans) {
            const float *s = src + j0;
            if (nb == NR) {
                for (p = 0; p < k; p++, s += ld) {
                    _mm256_store_ps(dst + p * NR, _mm256_loadu_ps(s));
                    _mm256_store_ps(dst + p * NR + 8, _mm256_loadu_ps(s + 8));
                }
            } else {
                const __m256i m0 = lanes8(nb), m1 = lanes8(nb - 8);
                for (p = 0; p < k; p++, s += ld) {
                    _mm256_store_ps(dst + p * NR, _mm256_maskload_ps(s, m0));
                    _mm256_store_ps(dst + p * NR + 8, _mm256_maskload_ps(s + 8, m1));
                }
            }
        } else {
            for (p0 = 0; p0 < k; p0 += 8) {
                const int64_t kt = k - p0 < 8 ? k - p0 : 8;
                for (h = 0; h < 2; h++) {
                    const int64_t rows = nb - 8 * h;
                    __m256 r[8];
                    float *d = dst + p0 * NR + 8 * h;
                    if (rows <= 0) {
                        for (j = 0; j < kt; j++)
                            _mm256_store_ps(d + j * NR, _mm256_setzero_ps());
                        continue;
                    }
                    load8(r, src + (j0 + 8 * h) * ld + p0, ld, rows, kt);
                    tr8(r);
                    for (j = 0; j < kt; j++)
                        _mm256_store_ps(d + j * NR, r[j]);
                }
            }
        }
    }
}

const mlp__gemm_kernel mlp__gemm_kernel_avx2 = {"avx2", MR,       NR,          120,         256,
                                                1024,   ukr_avx2, pack_a_avx2, pack_b_avx2, NULL};

#else
typedef int mlp__gemm_avx2_unused;
#endif
