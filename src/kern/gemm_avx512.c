/*
 * gemm_avx512.c - AVX-512 kernel: 12 x 32 tile (24 zmm accumulators, two
 * B vectors and one broadcast of A per row and k; zero steps skipped by
 * groups of 6 rows), an M == 1 row kernel
 * with 16 accumulators (256 columns), 16 x 16 in-register transposes for
 * packing, and mask registers for every edge. The tile code is the
 * template in gemm_simd.h; this file holds the vector macros for AVX-512
 * and the kernel's sizes. Built with per-function target attributes only:
 * compiles to nothing off x86.
 */
#include "kern/gemm.h"

#if defined(MLP__GEMM_X86)
#include <immintrin.h>

#define SIMD_KERNEL mlp__gemm_kernel_avx512
#define SIMD_NAME "avx512"
#define SIMD_TARGET MLP__TARGET_AVX512
#define SIMD_VEXP mlp__vexp_avx512
#define SIMD_VW 16
#define MR 12
#define NR 32
#define SIMD_MC 192
#define SIMD_KC 512
#define SIMD_NC 1024
#define SIMD_MASKED 1
#define SIMD_PREFETCH_C 1
#define SIMD_B_AHEAD 32
/* On Intel's CPUs (an Emerald Rapids Xeon) 12 rows: with B from the L3,
 * 256 x 256 x 784 (the first layer's forward) 1-2 % faster than at 32,
 * 256 x 1024 x 1024 level (at 6-8 rows 1-3 % slower); Zen 5 was level
 * from 16 to 64 rows and slower at 8 */
#define SIMD_KERNEL_INTEL mlp__gemm_kernel_avx512_intel
#define SIMD_B_AHEAD_INTEL 12
#define SIMD_ROW_NV 16
#define SIMD_ROWS_ACC 24
/* Zero steps skipped by half panels: of a batch of 256 images' dW = x^T
 * dy, 26 % of the steps of 6 pixels side by side are zeros against 19 %
 * of 12 (4: 38 %, but a tile of 4 rows has 8 accumulators, one multiply-
 * add in flight each, and ran as slowly as 12). 784 x 256 x 256 on the
 * Intel Xeon 7-9 % faster (544-580 against 600-607 us), x 512 and x 1024
 * 9-10 % */
#define SIMD_SKIP_ROWS 6

typedef __m512 vf;
typedef __mmask16 vmask;

static inline SIMD_TARGET __mmask16 lanes16(int64_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* In-register transpose: r[i] lane j becomes r[j] lane i. */
static inline SIMD_TARGET void tr16(__m512 r[16])
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
        const __m512 v0 = _mm512_shuffle_f32x4(u0, u1, 0x44),
                     v1 = _mm512_shuffle_f32x4(u0, u1, 0xEE);
        const __m512 w0 = _mm512_shuffle_f32x4(u2, u3, 0x44),
                     w1 = _mm512_shuffle_f32x4(u2, u3, 0xEE);
        r[c] = _mm512_shuffle_f32x4(v0, w0, 0x88);
        r[4 + c] = _mm512_shuffle_f32x4(v0, w0, 0xDD);
        r[8 + c] = _mm512_shuffle_f32x4(v1, w1, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(v1, w1, 0xDD);
    }
}

/* Four columns of a packed A panel side by side (MR = 12 floats each, at
 * lanes 0-11 of c0 .. c3): three whole vectors, not four 12-lane masked
 * stores, of which two in four cross a line (packing X^T of 256 x 784,
 * in the L2, 13-14 % faster). */
static inline SIMD_TARGET void pack4_12(float *d, __m512 c0, __m512 c1, __m512 c2, __m512 c3)
{
    const __m512i i0 = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19);
    const __m512i i1 = _mm512_setr_epi32(4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23);
    const __m512i i2 =
        _mm512_setr_epi32(8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27);
    _mm512_storeu_ps(d, _mm512_permutex2var_ps(c0, i0, c1));
    _mm512_storeu_ps(d + 16, _mm512_permutex2var_ps(c1, i1, c2));
    _mm512_storeu_ps(d + 32, _mm512_permutex2var_ps(c2, i2, c3));
}

#define V_ZERO() _mm512_setzero_ps()
#define V_BCAST(p) _mm512_set1_ps(*(p))
#define V_SET1(x) _mm512_set1_ps(x)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_LOADA(p) _mm512_load_ps(p)
#define V_STORE(p, v) _mm512_storeu_ps(p, v)
#define V_STOREA(p, v) _mm512_store_ps(p, v)
#define V_MASK(n) lanes16(n)
#define V_LOADM(m, p) _mm512_maskz_loadu_ps(m, p)
#define V_STOREM(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define V_STOREN(p, v, nl) _mm512_mask_storeu_ps(p, lanes16(nl), v)
#define V_TRANSPOSE(r) tr16(r)
#define V_PACK4(d, c0, c1, c2, c3) pack4_12(d, c0, c1, c2, c3)
#define V_NONZERO(v) (_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NEQ_UQ) != 0)
#define V_NZBITS(v) ((unsigned)_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NEQ_UQ))
#define V_RELU(v) _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_NLE_UQ), v)

/* the zero-step test four steps at a time (below) */
#define SIMD_STEPS steps_12x6
#define STEPS_TARGET __attribute__((target("avx512f,avx512dq,avx2,fma,prfchw,popcnt")))
static STEPS_TARGET void steps_12x6(int64_t k, const float *panel, int64_t every, int32_t *idx,
                                    int64_t stride, int64_t *kept);

#include "kern/gemm_simd.h"

/* steps_simd for MR 12 in two groups of 6, every step: four steps are
 * three whole vectors, their 48 lanes' zero tests one 48-bit mask; bit
 * 12 s (+ 6) of its OR over six bits is step s's first (second) group,
 * gathered by one multiply into four bits of a 16-step mask, whose steps
 * a compress writes to the list (the sample, every 8th step, stays
 * steps_simd's). One step at a time cost about 5 cycles a step: 784 x
 * 256 x 256 (784-256-10's dW, 65 panels) 544-561 -> 528-536 us. */
#if MR != 12 || SIMD_SKIP_ROWS != 6
#error "steps_12x6 is for 12 rows in two groups of 6"
#endif
#define GROUP_BITS 0x001001001001ull /* bits 0, 12, 24, 36 */
#define GATHER_4 0x1002004008ull     /* bit 12 i to bit 36 + i */
static STEPS_TARGET void steps_12x6(int64_t k, const float *panel, int64_t every, int32_t *idx,
                                    int64_t stride, int64_t *kept)
{
    const __m512 zero = _mm512_setzero_ps();
    __m512i ps = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int64_t n[2] = {0, 0}, p = 0;
    if (every != 1) {
        steps_simd(k, panel, every, idx, stride, kept);
        return;
    }
    for (; p + 16 <= k; p += 16) {
        unsigned g0 = 0, g1 = 0;
        int s;
        for (s = 0; s < 16; s += 4) {
            const float *q = panel + (p + s) * 12;
            const uint64_t m =
                (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(q), zero, _CMP_NEQ_UQ)
                | (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(q + 16), zero, _CMP_NEQ_UQ) << 16
                | (uint64_t)_mm512_cmp_ps_mask(_mm512_loadu_ps(q + 32), zero, _CMP_NEQ_UQ) << 32;
            const uint64_t t1 = m | m >> 1, t2 = t1 | t1 >> 2, t3 = t2 | t1 >> 4;
            g0 |= (unsigned)((t3 & GROUP_BITS) * GATHER_4 >> 36 & 0xF) << s;
            g1 |= (unsigned)((t3 >> 6 & GROUP_BITS) * GATHER_4 >> 36 & 0xF) << s;
        }
        /* the lists hold kc >= p + 16 steps: a whole vector fits */
        _mm512_storeu_si512(idx + n[0], _mm512_maskz_compress_epi32((__mmask16)g0, ps));
        _mm512_storeu_si512(idx + stride + n[1], _mm512_maskz_compress_epi32((__mmask16)g1, ps));
        n[0] += __builtin_popcount(g0);
        n[1] += __builtin_popcount(g1);
        ps = _mm512_add_epi32(ps, _mm512_set1_epi32(16));
    }
    for (; p < k; p++)
        list_step(V_NZBITS(V_LOADM(V_MASK(12), panel + p * 12)), p, idx, stride, n);
    kept[0] = n[0];
    kept[1] = n[1];
}

#else
/* ISO C forbids an empty translation unit. */
typedef int mlp__gemm_avx512_unused;
#endif
