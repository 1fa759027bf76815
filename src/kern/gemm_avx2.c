/*
 * gemm_avx2.c - AVX2+FMA kernel: 6 x 16 tile (12 ymm accumulators, two B
 * vectors, one broadcast of A), 8 x 8 in-register transposes for packing.
 * The tile code is the template in gemm_simd.h; this file holds the vector
 * macros for AVX2 and the kernel's sizes. Built with per-function target
 * attributes only: the default build runs everywhere, and compiles this to
 * nothing off x86.
 */
#include "kern/gemm.h"

#if defined(MLP__GEMM_X86)
#include <immintrin.h>

#define SIMD_KERNEL mlp__gemm_kernel_avx2
#define SIMD_NAME "avx2"
#define SIMD_TARGET MLP__TARGET_AVX2
#define SIMD_VEXP mlp__vexp_avx2
#define SIMD_VW 8
#define MR 6
#define NR 16
#define SIMD_MC 120
/* 784 (an image's pixels) in two blocks of K, so that at 2 threads a
 * first layer's X W is split over K (src/product.c), as on AVX-512. On an
 * AMD EPYC of family 25 (Zen 3), batches alternated in one process with
 * KC 256: 784-256-10's training step at 2 threads 6-13 % faster with the
 * two vCPUs far apart (a cache line's round trip 411-482 ns), from 2 %
 * slower to 3 % faster with them near (69-78 ns); at 1 thread and on the
 * larger nets within 1.5 % */
#define SIMD_KC 392
#define SIMD_NC 1024
/* A 784-wide input's rows packed, not read in place, from 512 columns
 * up: on an AMD EPYC of family 25 (Zen 3), batches alternated in one
 * process, the first layer's forward product of 784-512-256-10 4-5 %
 * faster at 1 thread (0.950-0.960, four processes) and of
 * 784-1024-1024-10 3-7 % (0.929-0.972, eleven of twelve), the packed
 * panels' zero steps (pixels 0 in all six images) skipped; at 2 threads
 * 0.949-0.957 (three of four) and 0.996-1.026. At 256 columns 2-5 %
 * slower at 2 threads (1.015-1.055): the packing is shared by fewer
 * column panels */
#define SIMD_ROWS_N 512
#define SIMD_MASKED 0
#define SIMD_PREFETCH_C 0
/* No SIMD_B_AHEAD: no tile that packs B as it reads it; a pass packs B
 * before its tiles (gemm_simd.h). On an AMD EPYC of family 25 (Zen 3),
 * the two alternated product by product in training (one process, 3
 * seeds, at 1 and 2 threads, the same bits), the pass was faster: where
 * B's rows are a page or more apart (784-1024-1024-10's x W1 and h1 W2,
 * 1024 wide) by 12-16 % at 1 thread and 6-16 % at 2, its weight
 * gradients 0.925-1.024 of the fused time; by 2-5 % at 1 thread on
 * forward products 512 and 256 wide (x W1 of 784-512-256-10 0.953 of
 * the fused time in three runs, h1 W2 0.972-0.975, x W1 of 784-256-10
 * 0.976-0.985); within 2 % either way elsewhere (at 2 threads the first
 * layer's halves of K, the weight gradients 256 and 512 wide). The
 * AVX-512 kernels keep the fused tile, measured faster on Zen 4 */
#define SIMD_ROW_NV 12
#define SIMD_ROWS_ACC 12
/* 16 registers: the tile holds 15 in its loop (12 accumulators, two B
 * vectors, a broadcast). With four k steps a turn, or with alpha and beta
 * held in registers across the loop, gcc 12 kept one or two accumulators
 * on the stack, each multiply-add waiting on a store and a load: on an
 * AMD EPYC of family 25 (Zen 3), 256 x 256 x 1024 NN ran at 38-42
 * GFLOP/s against OpenBLAS's 73-89 in the same runs (85 with one step a
 * turn; clang 14 83-84 either way), and the zero-step tile ran slower
 * over its listed steps than the full tile over all of them, so that
 * 784-512-256-10's dX = dy W2^T took 318 ms an epoch in training against
 * 177 with alpha and beta in memory */
#define SIMD_REGS 16

typedef __m256 vf;
typedef __m256i vmask;

static inline SIMD_TARGET __m256i lanes8(int64_t n)
{
    const int v = n < 0 ? 0 : n > 8 ? 8 : (int)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(v), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* the first nl lanes: 6 (a packed A column) as a 4- and a 2-float store */
static inline SIMD_TARGET void storen8(float *p, __m256 v, int nl)
{
    if (nl == 6) {
        _mm_storeu_ps(p, _mm256_castps256_ps128(v));
        _mm_storel_pi((__m64 *)(void *)(p + 4), _mm256_extractf128_ps(v, 1));
    } else {
        _mm256_maskstore_ps(p, lanes8(nl), v);
    }
}

static inline SIMD_TARGET void tr8(__m256 r[8])
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

#define V_ZERO() _mm256_setzero_ps()
#define V_BCAST(p) _mm256_broadcast_ss(p)
#define V_SET1(x) _mm256_set1_ps(x)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_LOADA(p) _mm256_load_ps(p)
#define V_STORE(p, v) _mm256_storeu_ps(p, v)
#define V_STOREA(p, v) _mm256_store_ps(p, v)
#define V_MASK(n) lanes8(n)
#define V_LOADM(m, p) _mm256_maskload_ps(p, m)
#define V_STOREM(p, m, v) _mm256_maskstore_ps(p, m, v)
#define V_STOREN(p, v, nl) storen8(p, v, nl)
#define V_TRANSPOSE(r) tr8(r)
#define V_NONZERO(v) _mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NEQ_UQ))
#define V_RELU(v) _mm256_and_ps(v, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NLE_UQ))

#include "kern/gemm_simd.h"

#else
/* ISO C forbids an empty translation unit. */
typedef int mlp__gemm_avx2_unused;
#endif
