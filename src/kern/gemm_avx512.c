/*
 * gemm_avx512.c - AVX-512 micro-kernel (12 x 32 tile: 24 zmm accumulators,
 * two B vectors and one broadcast of A per row and k), a row kernel for
 * M == 1, and packers using 16 x 16 in-register transposes. Edge tiles use
 * masked loads and stores; the row count (12, 8, 4, 2, 1: other heights
 * run as several), the vector count (n <= 16 uses one vector per row) and
 * the addressing of A and B are compile-time parameters of an inlined
 * template, so every tile runs straight-line code. Accumulators are named
 * variables, not arrays: gcc spills arrays of vectors. Built with
 * per-function target attributes only: compiles to nothing on non-x86.
 */
/* clang-format 14 does not reach a fixed point on the register-tile macro
 * sequences below, so this file keeps its own layout. */
/* clang-format off */
#include "kern/gemm.h"

#if defined(MLP__GEMM_X86)
#include <immintrin.h>

#define MR 12
#define NR 32
#define T512 __attribute__((target("avx512f,avx512dq,avx2,fma")))
#define INL static inline __attribute__((always_inline))

/* A addressing: packed (rsa 1, csa MR), rsa 1 with any csa, csa 1 with any rsa */
#define A_PACKED 0
#define A_COLS 1
#define A_ROWS 2

INL T512 __mmask16 lanes(int64_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* One accumulator pair per row r: named registers, not an array, so that
 * every compiler keeps all of them in zmm registers. */
#define ACC_DECL(r) __m512 c##r##_0 = _mm512_setzero_ps(), c##r##_1 = _mm512_setzero_ps()
#define ACC_ROW(r)                                                   \
    if (MROWS > (r)) {                                                    \
        const __m512 ar = _mm512_set1_ps(a[(r) * ra]);       \
        c##r##_0 = _mm512_fmadd_ps(ar, b0, c##r##_0);                     \
        if (NV == 2)                                                      \
            c##r##_1 = _mm512_fmadd_ps(ar, b1, c##r##_1);                 \
    }
#define ACC_STORE(r)                                                                 \
    if (MROWS > (r)) {                                                               \
        float *cr = c + (r) * ldc;                                                   \
        __m512 r0 = _mm512_mul_ps(va, c##r##_0);                                     \
        if (beta != 0.0f)                                                            \
            r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, cr), r0);             \
        _mm512_mask_storeu_ps(cr, m0, r0);                                           \
        if (NV == 2) {                                                               \
            __m512 r1 = _mm512_mul_ps(va, c##r##_1);                                 \
            if (beta != 0.0f)                                                        \
                r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16), r1);    \
            _mm512_mask_storeu_ps(cr + 16, m1, r1);                                  \
        }                                                                            \
    }

INL T512 void ukr_t(const int MROWS, const int NV, const int AS, const int BP, int64_t k, const float *a,
                    int64_t rsa, int64_t csa, const float *b, int64_t rsb, float *c,
                    int64_t ldc, int64_t n, float alpha, float beta)
{
    const __mmask16 m0 = lanes(n), m1 = NV == 2 ? lanes(n - 16) : 0;
    const int64_t ra = AS == A_ROWS ? rsa : 1;
    const int64_t ca = AS == A_PACKED ? MR : AS == A_COLS ? csa : 1;
    const int64_t sb = BP ? NR : rsb;
    int i;
    ACC_DECL(0); ACC_DECL(1); ACC_DECL(2); ACC_DECL(3); ACC_DECL(4); ACC_DECL(5);
    ACC_DECL(6); ACC_DECL(7); ACC_DECL(8); ACC_DECL(9); ACC_DECL(10); ACC_DECL(11);
    for (i = 0; i < MROWS; i++)
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);

#define STEP()                                                                          \
    do {                                                                                   \
        const __m512 b0 = BP ? _mm512_load_ps(b)                              \
                             : _mm512_maskz_loadu_ps(m0, b);                 \
        const __m512 b1 = NV == 1 ? b0                                                    \
                          : BP    ? _mm512_load_ps(b + 16)                    \
                                  : _mm512_maskz_loadu_ps(m1, b + 16);       \
        ACC_ROW(0) ACC_ROW(1) ACC_ROW(2) ACC_ROW(3)                    \
        ACC_ROW(4) ACC_ROW(5) ACC_ROW(6) ACC_ROW(7)                    \
        ACC_ROW(8) ACC_ROW(9) ACC_ROW(10) ACC_ROW(11)                  \
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
        const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
        ACC_STORE(0) ACC_STORE(1) ACC_STORE(2) ACC_STORE(3) ACC_STORE(4) ACC_STORE(5)
        ACC_STORE(6) ACC_STORE(7) ACC_STORE(8) ACC_STORE(9) ACC_STORE(10) ACC_STORE(11)
    }
}

#define UKR_ARGS k, a, rsa, csa, b, rsb, c, ldc, n, alpha, beta
#define UKR_FN(NAME, NV, AS)                                                               \
    static T512 void NAME(int64_t k, const float *a, int64_t rsa, int64_t csa,            \
                          const float *b, int64_t rsb, float *c, int64_t ldc, int64_t m,  \
                          int64_t n, float alpha, float beta)                              \
    {                                                                                      \
        switch (m) {                                                                       \
        case 1:                                                                            \
            ukr_t(1, NV, AS, 0, UKR_ARGS);                                                    \
            break;                                                                         \
        case 2:                                                                            \
            ukr_t(2, NV, AS, 0, UKR_ARGS);                                                    \
            break;                                                                         \
        case 4:                                                                            \
            ukr_t(4, NV, AS, 0, UKR_ARGS);                                                    \
            break;                                                                         \
        case 8:                                                                            \
            ukr_t(8, NV, AS, 0, UKR_ARGS);                                                    \
            break;                                                                         \
        default:                                                                           \
            ukr_t(MR, NV, AS, 0, UKR_ARGS);                                                   \
        }                                                                                  \
    }

/* the full tile on packed A and packed B (zero-padded to NR columns, so
 * read without masks): constant offsets, the hot path */
static T512 void ukr_p2(int64_t k, const float *a, int64_t rsa, int64_t csa, const float *b,
                        int64_t rsb, float *c, int64_t ldc, int64_t m, int64_t n, float alpha,
                        float beta)
{
    (void)m;
    ukr_t(MR, 2, A_PACKED, 1, UKR_ARGS);
}

static T512 void ukr_p1(int64_t k, const float *a, int64_t rsa, int64_t csa, const float *b,
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

/* Row counts are compiled for 12, 8, 4, 2 and 1 (code size and build time);
 * an edge tile of other height runs as a few of those. */
static T512 void ukr_avx512(int64_t k, const float *a, int64_t rsa, int64_t csa, const float *b,
                            int64_t rsb, float *c, int64_t ldc, int64_t m, int64_t n,
                            float alpha, float beta)
{
    const mlp__gemm_ukr_fn f =
        rsa == 1 ? (n > 16 ? ukr_c2 : ukr_c1) : (n > 16 ? ukr_r2 : ukr_r1);
    if (m == MR && rsa == 1 && csa == MR && rsb == NR) {
        (n > 16 ? ukr_p2 : ukr_p1)(k, a, rsa, csa, b, rsb, c, ldc, m, n, alpha, beta);
        return;
    }
    while (m > 0) {
        const int64_t r = m >= MR ? MR : m >= 8 ? 8 : m >= 4 ? 4 : m >= 2 ? 2 : 1;
        f(k, a, rsa, csa, b, rsb, c, ldc, r, n, alpha, beta);
        a += r * rsa;
        c += r * ldc;
        m -= r;
    }
}

/* M == 1: 256 columns of the row of C at a time stay in 16 accumulators
 * while B streams through row by row; the last < 256 columns go 16 at a
 * time with four partial sums over k. */
#define ROW_ACC(v) __m512 x##v = _mm512_setzero_ps()
#define ROW_FMA(v) x##v = _mm512_fmadd_ps(av, _mm512_loadu_ps(bp + 16 * (v)), x##v)
#define ROW_STORE(v)                                                                    \
    {                                                                                   \
        __m512 r = _mm512_mul_ps(valpha, x##v);                                         \
        if (beta != 0.0f)                                                               \
            r = _mm512_fmadd_ps(vbeta, _mm512_loadu_ps(c + j0 + 16 * (v)), r);          \
        _mm512_storeu_ps(c + j0 + 16 * (v), r);                                         \
    }

static T512 void row_avx512(int64_t k, const float *a, int64_t csa, const float *b, int64_t ldb,
                            float *c, int64_t n, float alpha, float beta)
{
    const __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
    int64_t j0, p;
    for (j0 = 0; j0 + 256 <= n; j0 += 256) {
        const float *bp = b + j0;
        ROW_ACC(0); ROW_ACC(1); ROW_ACC(2); ROW_ACC(3); ROW_ACC(4); ROW_ACC(5); ROW_ACC(6);
        ROW_ACC(7); ROW_ACC(8); ROW_ACC(9); ROW_ACC(10); ROW_ACC(11); ROW_ACC(12);
        ROW_ACC(13); ROW_ACC(14); ROW_ACC(15);
        for (p = 0; p < k; p++, bp += ldb) {
            const __m512 av = _mm512_set1_ps(a[p * csa]);
            ROW_FMA(0); ROW_FMA(1); ROW_FMA(2); ROW_FMA(3); ROW_FMA(4); ROW_FMA(5);
            ROW_FMA(6); ROW_FMA(7); ROW_FMA(8); ROW_FMA(9); ROW_FMA(10); ROW_FMA(11);
            ROW_FMA(12); ROW_FMA(13); ROW_FMA(14); ROW_FMA(15);
        }
        ROW_STORE(0) ROW_STORE(1) ROW_STORE(2) ROW_STORE(3) ROW_STORE(4) ROW_STORE(5)
        ROW_STORE(6) ROW_STORE(7) ROW_STORE(8) ROW_STORE(9) ROW_STORE(10) ROW_STORE(11)
        ROW_STORE(12) ROW_STORE(13) ROW_STORE(14) ROW_STORE(15)
    }
    for (; j0 < n; j0 += 16) {
        const __mmask16 mk = lanes(n - j0);
        const float *bp = b + j0;
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, r;
        for (p = 0; p + 4 <= k; p += 4, bp += 4 * ldb) {
            s0 = _mm512_fmadd_ps(_mm512_set1_ps(a[p * csa]), _mm512_maskz_loadu_ps(mk, bp), s0);
            s1 = _mm512_fmadd_ps(_mm512_set1_ps(a[(p + 1) * csa]),
                                 _mm512_maskz_loadu_ps(mk, bp + ldb), s1);
            s2 = _mm512_fmadd_ps(_mm512_set1_ps(a[(p + 2) * csa]),
                                 _mm512_maskz_loadu_ps(mk, bp + 2 * ldb), s2);
            s3 = _mm512_fmadd_ps(_mm512_set1_ps(a[(p + 3) * csa]),
                                 _mm512_maskz_loadu_ps(mk, bp + 3 * ldb), s3);
        }
        for (; p < k; p++, bp += ldb)
            s0 = _mm512_fmadd_ps(_mm512_set1_ps(a[p * csa]), _mm512_maskz_loadu_ps(mk, bp), s0);
        r = _mm512_mul_ps(valpha, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
        if (beta != 0.0f)
            r = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(mk, c + j0), r);
        _mm512_mask_storeu_ps(c + j0, mk, r);
    }
}

/* In-register transpose: r[i] lane j becomes r[j] lane i. */
INL T512 void tr16(__m512 r[16])
{
    __m512 t[16];
    __m512d u[16];
    int g, c;
    for (g = 0; g < 8; g++) {
        t[2 * g] = _mm512_unpacklo_ps(r[2 * g], r[2 * g + 1]);
        t[2 * g + 1] = _mm512_unpackhi_ps(r[2 * g], r[2 * g + 1]);
    }
    /* u[4g + c]: 128-bit lane L holds column 4L + c of rows 4g .. 4g+3 */
    for (g = 0; g < 4; g++) {
        const __m512d x0 = _mm512_castps_pd(t[4 * g]), x1 = _mm512_castps_pd(t[4 * g + 1]);
        const __m512d x2 = _mm512_castps_pd(t[4 * g + 2]), x3 = _mm512_castps_pd(t[4 * g + 3]);
        u[4 * g] = _mm512_unpacklo_pd(x0, x2);
        u[4 * g + 1] = _mm512_unpackhi_pd(x0, x2);
        u[4 * g + 2] = _mm512_unpacklo_pd(x1, x3);
        u[4 * g + 3] = _mm512_unpackhi_pd(x1, x3);
    }
    for (c = 0; c < 4; c++) {
        const __m512 u0 = _mm512_castpd_ps(u[c]), u1 = _mm512_castpd_ps(u[4 + c]);
        const __m512 u2 = _mm512_castpd_ps(u[8 + c]), u3 = _mm512_castpd_ps(u[12 + c]);
        const __m512 v0 = _mm512_shuffle_f32x4(u0, u1, 0x44), v1 = _mm512_shuffle_f32x4(u0, u1, 0xEE);
        const __m512 w0 = _mm512_shuffle_f32x4(u2, u3, 0x44), w1 = _mm512_shuffle_f32x4(u2, u3, 0xEE);
        r[c] = _mm512_shuffle_f32x4(v0, w0, 0x88);
        r[4 + c] = _mm512_shuffle_f32x4(v0, w0, 0xDD);
        r[8 + c] = _mm512_shuffle_f32x4(v1, w1, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(v1, w1, 0xDD);
    }
}

/* Load up to 16 rows (nrows) of 16 columns (mask km) from src, stride ld. */
INL T512 void load16(__m512 r[16], const float *src, int64_t ld, int64_t nrows, __mmask16 km)
{
    int i;
    for (i = 0; i < 16; i++)
        r[i] = i < nrows ? _mm512_maskz_loadu_ps(km, src + i * ld) : _mm512_setzero_ps();
}

static T512 void pack_a_avx512(int trans, const float *src, int64_t ld, int64_t m, int64_t k,
                               float *dst)
{
    const __mmask16 mrm = lanes(MR);
    int64_t i0, p, p0;
    int j;
    for (i0 = 0; i0 < m; i0 += MR, dst += MR * k) {
        const int64_t mb = m - i0 < MR ? m - i0 : MR;
        if (trans) {
            const __mmask16 mm = lanes(mb);
            const float *s = src + i0;
            for (p = 0; p < k; p++, s += ld)
                _mm512_mask_storeu_ps(dst + p * MR, mrm, _mm512_maskz_loadu_ps(mm, s));
        } else {
            for (p0 = 0; p0 < k; p0 += 16) {
                const int64_t kt = k - p0 < 16 ? k - p0 : 16;
                __m512 r[16];
                load16(r, src + i0 * ld + p0, ld, mb, lanes(kt));
                tr16(r);
                if (kt == 16)
                    for (j = 0; j < 16; j++)
                        _mm512_mask_storeu_ps(dst + (p0 + j) * MR, mrm, r[j]);
                else
                    for (j = 0; j < kt; j++)
                        _mm512_mask_storeu_ps(dst + (p0 + j) * MR, mrm, r[j]);
            }
        }
    }
}

static T512 void pack_b_avx512(int trans, const float *src, int64_t ld, int64_t k, int64_t n,
                               float *dst)
{
    int64_t j0, p, p0;
    int j, h;
    for (j0 = 0; j0 < n; j0 += NR, dst += NR * k) {
        const int64_t nb = n - j0 < NR ? n - j0 : NR;
        if (!trans) {
            const __mmask16 m0 = lanes(nb), m1 = lanes(nb - 16);
            const float *s = src + j0;
            for (p = 0; p < k; p++, s += ld) {
                _mm512_store_ps(dst + p * NR, _mm512_maskz_loadu_ps(m0, s));
                _mm512_store_ps(dst + p * NR + 16, _mm512_maskz_loadu_ps(m1, s + 16));
            }
        } else {
            for (p0 = 0; p0 < k; p0 += 16) {
                const int64_t kt = k - p0 < 16 ? k - p0 : 16;
                for (h = 0; h < 2; h++) {
                    const int64_t rows = nb - 16 * h;
                    __m512 r[16];
                    float *d = dst + p0 * NR + 16 * h;
                    if (rows <= 0) {
                        for (j = 0; j < kt; j++)
                            _mm512_store_ps(d + j * NR, _mm512_setzero_ps());
                        continue;
                    }
                    load16(r, src + (j0 + 16 * h) * ld + p0, ld, rows, lanes(kt));
                    tr16(r);
                    if (kt == 16)
                        for (j = 0; j < 16; j++)
                            _mm512_store_ps(d + j * NR, r[j]);
                    else
                        for (j = 0; j < kt; j++)
                            _mm512_store_ps(d + j * NR, r[j]);
                }
            }
        }
    }
}

const mlp__gemm_kernel mlp__gemm_kernel_avx512 = {
    "avx512", MR, NR, 192, 384, 1024, ukr_avx512, pack_a_avx512, pack_b_avx512,
    row_avx512
};

#else
/* ISO C forbids an empty translation unit. */
typedef int mlp__gemm_avx512_unused;
#endif
/* clang-format on */
