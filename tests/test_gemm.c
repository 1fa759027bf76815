/*
 * test_gemm.c - white-box tests of the sgemm kernels (src/kern/gemm.h):
 * every kernel this CPU supports against the naive triple loop, over all
 * transpose combinations, alpha / beta cases, padded leading dimensions,
 * every size 1..70 in each dimension, random shapes, the MLP's shapes,
 * several cache blocks (with shrunken blocks, and once with real ones),
 * block ranges, and kernel lookup.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern/gemm.h"

/* ---- helpers ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t rnd_u32(void)
{
    rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(rng_state >> 33);
}

static float rnd_unit(void) /* [-1, 1) */
{
    return (float)((double)(rnd_u32() & 0xFFFFFF) / (double)0x800000 - 1.0);
}

static int64_t rnd_below(int64_t n)
{
    return (int64_t)(rnd_u32() % (uint32_t)n);
}

/* The kernels to test: every one this CPU runs, plus a copy of each with
 * tiny cache blocks so small shapes cross MC, KC and NC boundaries, and
 * the AVX-512 table of the other CPU maker (the name finds this one's). */
#define MAX_KERNELS (2 * MLP__GEMM_NUM_NAMES + 1)
static mlp__gemm_kernel small_blocks[MLP__GEMM_NUM_NAMES];

static int kernels(const mlp__gemm_kernel **out, int with_small)
{
    static const char *const names[MLP__GEMM_NUM_NAMES] = MLP__GEMM_NAMES;
    int i, n = 0;
    for (i = 0; i < MLP__GEMM_NUM_NAMES; i++) {
        const mlp__gemm_kernel *k = mlp__gemm_find(names[i]);
        if (!k)
            continue;
        out[n++] = k;
        if (with_small) {
            small_blocks[i] = *k;
            small_blocks[i].mc = 2 * k->mr;
            small_blocks[i].kc = 16;
            small_blocks[i].nc = 2 * k->nr;
            out[n++] = &small_blocks[i];
        }
    }
#if defined(MLP__GEMM_X86)
    if (mlp__gemm_find("avx512"))
        out[n++] = mlp__gemm_find("avx512") == &mlp__gemm_kernel_avx512
                       ? &mlp__gemm_kernel_avx512_intel
                       : &mlp__gemm_kernel_avx512;
#endif
    return n;
}

static float *alloc_floats(size_t n)
{
    float *p = (float *)malloc((n ? n : 1) * sizeof(float));
    assert_non_null(p);
    return p;
}

typedef struct workbuf {
    void *raw;
    float *w;
} workbuf;

/* The first 64-byte boundary in raw (allocated 64 bytes larger). */
static float *align64(void *raw)
{
    return (float *)(void *)((char *)raw + (64 - (uintptr_t)raw % 64) % 64);
}

static workbuf work_new(const mlp__gemm_kernel *k)
{
    workbuf b;
    size_t n = mlp__gemm_workspace_floats(k);
    b.raw = malloc(n * sizeof(float) + 64);
    assert_non_null(b.raw);
    b.w = align64(b.raw);
    return b;
}

/* One product checked against the oracle. pad_* are added to the minimal
 * leading dimensions. beta == 0: C starts as NaN, which must not leak.
 * Rows of C checked: all when row_step == 1. Returns the max error ratio. */
static void check_case(const mlp__gemm_kernel *k, int ta, int tb, int64_t M, int64_t N, int64_t K,
                       float alpha, float beta, int64_t pad_a, int64_t pad_b, int64_t pad_c,
                       int64_t row_step)
{
    const int64_t lda = (ta ? M : K) + pad_a, ldb = (tb ? K : N) + pad_b, ldc = N + pad_c;
    const int64_t arows = ta ? K : M, brows = tb ? N : K;
    float *A = alloc_floats((size_t)(arows * lda));
    float *B = alloc_floats((size_t)(brows * ldb));
    float *C = alloc_floats((size_t)(M * ldc));
    float *C0 = alloc_floats((size_t)(M * ldc));
    float *R = alloc_floats((size_t)(M * ldc));
    workbuf wb = work_new(k);
    int64_t i, j, p;
    for (i = 0; i < arows * lda; i++)
        A[i] = rnd_unit();
    for (i = 0; i < brows * ldb; i++)
        B[i] = rnd_unit();
    for (i = 0; i < M * ldc; i++)
        C0[i] = beta == 0.0f ? NAN : rnd_unit();
    /* the padding columns of C carry a sentinel that must survive */
    for (i = 0; i < M; i++)
        for (j = N; j < ldc; j++)
            C0[i * ldc + j] = 12345.0f;
    memcpy(C, C0, (size_t)(M * ldc) * sizeof(float));
    memcpy(R, C0, (size_t)(M * ldc) * sizeof(float));

    mlp__sgemm(k, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, wb.w);

    for (i = 0; i < M; i += row_step) {
        mlp__sgemm_naive(ta, tb, 1, N, K, alpha, ta ? A + i : A + i * lda, lda, B, ldb, beta,
                         R + i * ldc, ldc);
        for (j = 0; j < N; j++) {
            double mag = 0.0, err, tol;
            for (p = 0; p < K; p++)
                mag += fabs((double)(ta ? A[p * lda + i] : A[i * lda + p])
                            * (double)(tb ? B[j * ldb + p] : B[p * ldb + j]));
            mag = fabs(alpha) * mag + (beta == 0.0f ? 0.0 : fabs(beta * C0[i * ldc + j]));
            tol = (double)(K + 4) * FLT_EPSILON * mag + 1e-30;
            err = fabs((double)C[i * ldc + j] - (double)R[i * ldc + j]);
            if (!(err <= tol)) {
                print_error("%s ta=%d tb=%d M=%lld N=%lld K=%lld alpha=%g beta=%g pads=%lld,%lld,"
                            "%lld: C[%lld,%lld]=%.9g want %.9g (tol %.3g)\n",
                            k->name, ta, tb, (long long)M, (long long)N, (long long)K,
                            (double)alpha, (double)beta, (long long)pad_a, (long long)pad_b,
                            (long long)pad_c, (long long)i, (long long)j, (double)C[i * ldc + j],
                            (double)R[i * ldc + j], tol);
                fail();
            }
        }
        for (j = N; j < ldc; j++)
            assert_true(C[i * ldc + j] == 12345.0f);
    }
    free(wb.raw);
    free(A);
    free(B);
    free(C);
    free(C0);
    free(R);
}

/* ---- lookup ---- */

static void gemm__find_knows_generic_and_rejects_unknown_names(void **state)
{
    const mlp__gemm_kernel *g = mlp__gemm_find("generic");
    (void)state;
    assert_non_null(g);
    assert_string_equal(mlp__gemm_name(g), "generic");
    assert_null(mlp__gemm_find("sse9"));
    assert_null(mlp__gemm_find(""));
    assert_null(mlp__gemm_find(NULL));
    assert_true(mlp__gemm_known("generic") && mlp__gemm_known("avx2"));
    assert_true(mlp__gemm_known("avx512") && mlp__gemm_known("neon"));
    assert_false(mlp__gemm_known("sse9") || mlp__gemm_known("") || mlp__gemm_known(NULL));
}

static void gemm__the_cpu_s_vector_kernel_is_the_best(void **state)
{
    /* AArch64 always has NEON; on x86 the best is one of the x86 kernels
     * when the CPU has AVX2 (cpuid through the compiler's builtin) */
    const char *best = mlp__gemm_name(mlp__gemm_best());
    (void)state;
#if defined(MLP__GEMM_NEON)
    assert_string_equal(best, "neon");
    assert_non_null(mlp__gemm_find("neon"));
    assert_null(mlp__gemm_find("avx2"));
#elif defined(MLP__GEMM_X86)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        assert_true(strcmp(best, "avx2") == 0 || strcmp(best, "avx512") == 0);
    assert_null(mlp__gemm_find("neon"));
#else
    assert_string_equal(best, "generic");
#endif
}

static void gemm__best_is_findable_by_its_name(void **state)
{
    const mlp__gemm_kernel *b = mlp__gemm_best();
    (void)state;
    assert_non_null(b);
    assert_ptr_equal(mlp__gemm_find(mlp__gemm_name(b)), b);
    assert_true(mlp__gemm_workspace_floats(b) >= (size_t)(b->mc * b->kc + b->kc * b->nc));
    assert_true(b->mc % b->mr == 0 && b->nc % b->nr == 0 && b->kc % 8 == 0);
}

/* ---- semantics ---- */

static void gemm__all_transpose_combinations_match_naive(void **state)
{
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 1), i, t;
    (void)state;
    for (i = 0; i < nk; i++)
        for (t = 0; t < 4; t++) {
            check_case(ks[i], t & 1, t >> 1, 37, 45, 29, 1.3f, 0.7f, 0, 0, 0, 1);
            check_case(ks[i], t & 1, t >> 1, 13, 70, 5, 1.0f, 0.0f, 0, 0, 0, 1);
            check_case(ks[i], t & 1, t >> 1, 64, 64, 64, 1.0f, 1.0f, 0, 0, 0, 1);
        }
}

static void gemm__beta_zero_never_reads_c(void **state)
{
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 1), i, t;
    (void)state;
    for (i = 0; i < nk; i++)
        for (t = 0; t < 4; t++) {
            /* C starts as NaN in check_case when beta == 0 */
            check_case(ks[i], t & 1, t >> 1, 33, 50, 40, 1.0f, 0.0f, 0, 0, 3, 1);
            check_case(ks[i], t & 1, t >> 1, 1, 7, 3, -2.0f, 0.0f, 0, 0, 0, 1);
            check_case(ks[i], t & 1, t >> 1, 7, 1, 300, 0.5f, 0.0f, 0, 0, 0, 1);
        }
}

static void gemm__beta_one_accumulates_and_alpha_scales(void **state)
{
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 1), i, t;
    (void)state;
    for (i = 0; i < nk; i++)
        for (t = 0; t < 4; t++) {
            check_case(ks[i], t & 1, t >> 1, 29, 41, 53, 1.0f, 1.0f, 0, 0, 0, 1);
            check_case(ks[i], t & 1, t >> 1, 29, 41, 53, -0.5f, 1.0f, 0, 0, 0, 1);
            check_case(ks[i], t & 1, t >> 1, 29, 41, 53, -0.5f, 0.0f, 0, 0, 0, 1);
            check_case(ks[i], t & 1, t >> 1, 29, 41, 53, 2.0f, -3.0f, 0, 0, 0, 1);
        }
}

static void gemm__padded_leading_dimensions_are_respected(void **state)
{
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 1), i, t;
    (void)state;
    for (i = 0; i < nk; i++)
        for (t = 0; t < 4; t++) {
            check_case(ks[i], t & 1, t >> 1, 23, 35, 17, 1.0f, 0.5f, 5, 11, 7, 1);
            check_case(ks[i], t & 1, t >> 1, 3, 70, 19, 1.0f, 0.0f, 1, 33, 16, 1);
            check_case(ks[i], t & 1, t >> 1, 40, 9, 33, 1.5f, 1.0f, 64, 3, 1, 1);
        }
}

static void gemm__every_m_from_1_to_70(void **state)
{
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 1), i, t;
    int64_t m;
    (void)state;
    for (i = 0; i < nk; i++)
        for (m = 1; m <= 70; m++)
            for (t = 0; t < 4; t++) {
                /* N <= 2 NR: A read in place; N = 100: A packed (K =
                 * 13, not transposed: rows too close to read in place)
                 * or, K = 21, by rows beside B packed by its tiles */
                check_case(ks[i], t & 1, t >> 1, m, 37, 21, 1.0f, m % 2 ? 0.0f : 0.5f, 0, 0, 0, 1);
                check_case(ks[i], t & 1, t >> 1, m, 100, 13, 1.0f, m % 2 ? 0.5f : 0.0f, 0, 0, 0, 1);
                check_case(ks[i], t & 1, t >> 1, m, 100, 21, -1.0f, m % 2 ? 0.5f : 0.0f, 0, 0, 0,
                           1);
            }
}

static void gemm__every_n_from_1_to_70(void **state)
{
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 1), i, t;
    int64_t n;
    (void)state;
    for (i = 0; i < nk; i++)
        for (n = 1; n <= 70; n++)
            for (t = 0; t < 4; t++) {
                check_case(ks[i], t & 1, t >> 1, 27, n, 21, 1.0f, n % 2 ? 0.0f : 0.5f, 0, 0, 0, 1);
                /* M small: B is used in place, masked to n columns */
                check_case(ks[i], t & 1, t >> 1, 2, n, 9, 1.0f, 1.0f, 0, 0, 0, 1);
            }
}

static void gemm__every_k_from_1_to_70(void **state)
{
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 1), i, t;
    int64_t kk;
    (void)state;
    for (i = 0; i < nk; i++)
        for (kk = 1; kk <= 70; kk++)
            for (t = 0; t < 4; t++) {
                check_case(ks[i], t & 1, t >> 1, 19, 35, kk, 1.0f, kk % 2 ? 0.0f : 0.5f, 0, 0, 0,
                           1);
                check_case(ks[i], t & 1, t >> 1, 14, 99, kk, 1.0f, kk % 2 ? 0.5f : 0.0f, 0, 0, 0,
                           1);
            }
}

static void gemm__random_shapes_match_naive(void **state)
{
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 1), i, r;
    static const float alphas[4] = {1.0f, -0.5f, 2.0f, 0.25f};
    static const float betas[4] = {0.0f, 1.0f, -0.5f, 0.0f};
    (void)state;
    for (i = 0; i < nk; i++)
        for (r = 0; r < 60; r++) {
            const int64_t M = 1 + rnd_below(70), N = 1 + rnd_below(140), K = 1 + rnd_below(70);
            check_case(ks[i], (int)rnd_below(2), (int)rnd_below(2), M, N, K, alphas[rnd_below(4)],
                       betas[rnd_below(4)], rnd_below(3) * 5, rnd_below(3) * 7, rnd_below(2) * 3,
                       1);
        }
}

static void gemm__zero_sizes_touch_nothing_or_scale_c(void **state)
{
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 0), i;
    float A[4] = {1, 2, 3, 4}, B[4] = {1, 2, 3, 4}, C[6];
    (void)state;
    for (i = 0; i < nk; i++) {
        workbuf wb = work_new(ks[i]);
        int j;
        for (j = 0; j < 6; j++)
            C[j] = 7.0f;
        mlp__sgemm(ks[i], 0, 0, 0, 3, 2, 1.0f, A, 2, B, 3, 0.0f, C, 3, wb.w);
        mlp__sgemm(ks[i], 0, 0, 2, 0, 2, 1.0f, A, 2, B, 1, 0.0f, C, 3, wb.w);
        for (j = 0; j < 6; j++)
            assert_true(C[j] == 7.0f);
        /* K == 0: C = beta * C */
        mlp__sgemm(ks[i], 0, 0, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 0.5f, C, 3, wb.w);
        for (j = 0; j < 6; j++)
            assert_true(C[j] == 3.5f);
        /* K == 0 and beta == 0 writes zeros, even over NaN */
        for (j = 0; j < 6; j++)
            C[j] = NAN;
        mlp__sgemm(ks[i], 1, 1, 2, 3, 0, 1.0f, NULL, 2, NULL, 1, 0.0f, C, 3, wb.w);
        for (j = 0; j < 6; j++)
            assert_true(C[j] == 0.0f);
        free(wb.raw);
    }
}

static void gemm__mlp_shapes_match_naive(void **state)
{
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 0), i;
    (void)state;
    for (i = 0; i < nk; i++) {
        check_case(ks[i], 0, 0, 256, 256, 784, 1.0f, 0.0f, 0, 0, 0, 5); /* forward */
        check_case(ks[i], 0, 0, 256, 10, 256, 1.0f, 0.0f, 0, 0, 0, 3);
        check_case(ks[i], 1, 0, 784, 256, 256, 1.0f, 1.0f, 0, 0, 0, 11); /* dW = X^T dY */
        check_case(ks[i], 1, 0, 256, 10, 256, 1.0f, 1.0f, 0, 0, 0, 3);
        check_case(ks[i], 0, 1, 256, 784, 256, 1.0f, 0.0f, 0, 0, 0, 5); /* dX = dY W^T */
        check_case(ks[i], 0, 1, 256, 256, 10, 1.0f, 0.0f, 0, 0, 0, 3);
        check_case(ks[i], 0, 0, 1, 256, 784, 1.0f, 0.0f, 0, 0, 0, 1); /* one sample */
    }
}

static void gemm__several_real_cache_blocks_match_naive(void **state)
{
    const mlp__gemm_kernel *k = mlp__gemm_best();
    (void)state;
    /* more than MC rows, KC depth and NC columns; every 13th row checked */
    check_case(k, 0, 0, k->mc + 17, k->nc + 40, k->kc + 29, 1.0f, 0.5f, 0, 0, 0, 13);
    check_case(k, 1, 1, k->mc + 17, k->nc + 40, k->kc + 29, -1.0f, 0.0f, 0, 0, 0, 13);
}

/* n rounded up to a multiple of 8 floats, as blocks of K are. */
static int64_t up8(int64_t n)
{
    return n + 7 - (n + 7) % 8;
}

/* Half of K (the larger half), rounded up to a multiple of 8 floats: a
 * block of K in two halves. */
static int64_t half_block(int64_t K)
{
    return up8((K + 1) / 2);
}

/* K a little under KC (7/8 KC to KC) in a plain product: one block, or,
 * in a kernel whose table says kc_halves (AVX-512 on Intel's CPUs), two
 * equal blocks, so that 2 threads split it over K. Two blocks give the
 * bits of two products: the first half stored, the second added. */
static void gemm__k_under_kc_runs_in_two_halves_where_the_table_says(void **state)
{
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 0), i;
    (void)state;
    for (i = 0; i < nk; i++) {
        mlp__gemm_kernel one = *ks[i], two = *ks[i];
        const int64_t kc = ks[i]->kc, lo = kc / 8 * 7, M = 2 * ks[i]->mr + 5, N = ks[i]->nr + 9;
        const int64_t K = kc - 3, K0 = half_block(K);
        float *A = alloc_floats((size_t)(M * K)), *B = alloc_floats((size_t)(K * N));
        float *C = alloc_floats((size_t)(M * N)), *R = alloc_floats((size_t)(M * N));
        workbuf wb = work_new(ks[i]);
        int64_t j;
        one.kc_halves = 0;
        two.kc_halves = 1;
        /* the rule: only K in (7/8 kc, kc], only neither operand transposed */
        assert_int_equal(mlp__gemm_kblock(&one, 0, 0, kc), kc);
        assert_int_equal(mlp__gemm_kblock(&two, 0, 0, kc), half_block(kc));
        assert_int_equal(mlp__gemm_kblock(&two, 0, 0, lo + 1), half_block(lo + 1));
        assert_int_equal(mlp__gemm_kblock(&two, 0, 0, lo), up8(lo)); /* one block */
        assert_int_equal(mlp__gemm_kblock(&two, 1, 0, kc), kc);
        assert_int_equal(mlp__gemm_kblock(&two, 0, 1, kc), kc);
        assert_int_equal(mlp__gemm_kblock(&two, 0, 0, kc + kc / 2),
                         mlp__gemm_kblock(&one, 0, 0, kc + kc / 2));
        assert_int_equal(mlp__gemm_kblock(&two, 0, 0, K), K0);
        for (j = 0; j < M * K; j++)
            A[j] = rnd_unit();
        for (j = 0; j < K * N; j++)
            B[j] = rnd_unit();
        /* right against the oracle, and the bits of the two halves run apart */
        check_case(&two, 0, 0, M, N, K, 1.0f, 0.0f, 0, 0, 0, 1);
        mlp__sgemm(&two, 0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N, wb.w);
        mlp__sgemm(&one, 0, 0, M, N, K0, 1.0f, A, K, B, N, 0.0f, R, N, wb.w);
        mlp__sgemm(&one, 0, 0, M, N, K - K0, 1.0f, A + K0, K, B + K0 * N, N, 1.0f, R, N, wb.w);
        assert_memory_equal(C, R, (size_t)(M * N) * sizeof(float));
        free(wb.raw);
        free(A);
        free(B);
        free(C);
        free(R);
    }
}

/* A single row (the vector-matrix kernel) for every width up to past two
 * of its widest blocks: right against the oracle, and a column split at
 * any multiple of the register tile gives the same bits as one call (the
 * property predict relies on when it splits few rows across threads). */
static void gemm__single_row_every_n_to_600_and_any_column_split(void **state)
{
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 1), i;
    const int64_t K = 37, NMAX = 600;
    (void)state;
    for (i = 0; i < nk; i++) {
        float *A = alloc_floats((size_t)K), *B = alloc_floats((size_t)(K * NMAX));
        float *C = alloc_floats((size_t)NMAX), *S = alloc_floats((size_t)NMAX);
        workbuf wb = work_new(ks[i]);
        int64_t n, r, cut;
        for (r = 0; r < K; r++)
            A[r] = rnd_unit();
        for (r = 0; r < K * NMAX; r++)
            B[r] = rnd_unit();
        for (n = 1; n <= NMAX; n += n < 80 ? 1 : 7) {
            check_case(ks[i], 0, 0, 1, n, K, 1.0f, n % 2 ? 0.0f : 0.5f, 0, 0, 0, 1);
            mlp__sgemm(ks[i], 0, 0, 1, n, K, 1.0f, A, K, B, n, 0.0f, C, n, wb.w);
            for (cut = ks[i]->nr; cut < n; cut += 3 * ks[i]->nr) {
                mlp__sgemm_range(ks[i], 0, 0, K, 1.0f, A, K, B, n, 0.0f, S, n, 0, 1, 0, cut, wb.w);
                mlp__sgemm_range(ks[i], 0, 0, K, 1.0f, A, K, B, n, 0.0f, S, n, 0, 1, cut, n, wb.w);
                assert_memory_equal(C, S, (size_t)n * sizeof(float));
            }
        }
        free(wb.raw);
        free(A);
        free(B);
        free(C);
        free(S);
    }
}

static void gemm__range_writes_only_its_block(void **state)
{
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 1), i;
    const int64_t M = 45, N = 77, K = 31;
    (void)state;
    for (i = 0; i < nk; i++) {
        float *A = alloc_floats((size_t)(M * K)), *B = alloc_floats((size_t)(K * N));
        float *C = alloc_floats((size_t)(M * N)), *R = alloc_floats((size_t)(M * N));
        workbuf wb = work_new(ks[i]);
        int64_t r, c, t;
        for (r = 0; r < M * K; r++)
            A[r] = rnd_unit();
        for (r = 0; r < K * N; r++)
            B[r] = rnd_unit();
        for (t = 0; t < 4; t++) {
            const int ta = (int)(t & 1), tb = (int)(t >> 1);
            const int64_t lda = ta ? M : K, ldb = tb ? K : N;
            for (r = 0; r < M * N; r++)
                C[r] = -99.0f;
            mlp__sgemm_naive(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, R, N);
            /* four blocks covering C except rows [40,45) */
            mlp__sgemm_range(ks[i], ta, tb, K, 1.0f, A, lda, B, ldb, 0.0f, C, N, 0, 17, 0, 33,
                             wb.w);
            mlp__sgemm_range(ks[i], ta, tb, K, 1.0f, A, lda, B, ldb, 0.0f, C, N, 0, 17, 33, N,
                             wb.w);
            mlp__sgemm_range(ks[i], ta, tb, K, 1.0f, A, lda, B, ldb, 0.0f, C, N, 17, 40, 0, 5,
                             wb.w);
            mlp__sgemm_range(ks[i], ta, tb, K, 1.0f, A, lda, B, ldb, 0.0f, C, N, 17, 40, 5, N,
                             wb.w);
            for (r = 0; r < M; r++)
                for (c = 0; c < N; c++) {
                    if (r >= 40)
                        assert_true(C[r * N + c] == -99.0f);
                    else
                        assert_true(fabsf(C[r * N + c] - R[r * N + c]) <= 1e-4f);
                }
        }
        free(wb.raw);
        free(A);
        free(B);
        free(C);
        free(R);
    }
}

static void gemm__prepacked_operands_give_the_same_bits_as_packing_per_block(void **state)
{
    /* op(A) or op(B) packed whole beforehand (as mlp_model_pack packs
     * weights; A is then read in place, through ukr_bp's tiles), with
     * blocks small enough that every MC, KC and NC offset into the packed
     * copy is taken: the same bits as mlp__sgemm_range */
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 1), i;
    const int64_t M = 53, N = 83, K = 75;
    (void)state;
    for (i = 0; i < nk; i++) {
        const mlp__gemm_kernel *k = ks[i];
        const int64_t ap = (M + k->mr - 1) / k->mr * k->mr, bp = (N + k->nr - 1) / k->nr * k->nr;
        float *A = alloc_floats((size_t)(M * K)), *B = alloc_floats((size_t)(K * N));
        float *R = alloc_floats((size_t)(M * N)), *C = alloc_floats((size_t)(M * N));
        float *pa = alloc_floats((size_t)(ap * K + 16)), *pb = alloc_floats((size_t)(bp * K + 16));
        float *pa64 = align64(pa), *pb64 = align64(pb);
        workbuf wb = work_new(k);
        int64_t r, t;
        for (r = 0; r < M * K; r++)
            A[r] = rnd_unit();
        for (r = 0; r < K * N; r++)
            B[r] = rnd_unit();
        for (t = 0; t < 4; t++) {
            const int ta = (int)(t & 1), tb = (int)(t >> 1);
            const int64_t lda = ta ? M : K, ldb = tb ? K : N;
            /* rows [2 MR, M) of op(A) (a multiple of MR, as a thread's block
             * starts), all columns of op(B) */
            const int64_t m0 = 2 * k->mr < M ? 2 * k->mr : 0;
            k->pack_a(ta, ta ? A + m0 : A + m0 * lda, lda, M - m0, K, pa64);
            k->pack_b(tb, B, ldb, K, N, pb64);
            for (r = 0; r < M * N; r++)
                R[r] = C[r] = (float)r;
            mlp__sgemm_range(k, ta, tb, K, 1.0f, A, lda, B, ldb, 0.5f, R, N, m0, M, 0, N, wb.w);
            mlp__sgemm_prepacked(k, ta, tb, K, 1.0f, A, lda, pa64, B, ldb, NULL, 0.5f, C, N, m0, M,
                                 0, N, wb.w);
            assert_memory_equal(R, C, (size_t)(M * N) * sizeof(float));
            mlp__sgemm_prepacked(k, ta, tb, K, 1.0f, A, lda, NULL, B, ldb, pb64, 0.0f, C, N, m0, M,
                                 0, N, wb.w);
            mlp__sgemm_range(k, ta, tb, K, 1.0f, A, lda, B, ldb, 0.0f, R, N, m0, M, 0, N, wb.w);
            assert_memory_equal(R, C, (size_t)(M * N) * sizeof(float));
            /* and right, against the oracle */
            mlp__sgemm_naive(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, R, N);
            for (r = m0 * N; r < M * N; r++)
                assert_true(fabsf(C[r] - R[r]) <= 1e-4f);
        }
        free(wb.raw);
        free(A);
        free(B);
        free(R);
        free(C);
        free(pa);
        free(pb);
    }
}

/* One block of mlp__sgemm_bias_relu (B packed beforehand when bpre: all
 * N columns from n0 = 0) against mlp__sgemm_prepacked and the reference
 * pass after it: the same bits. */
static void bias_relu_case(const mlp__gemm_kernel *k, int ta, int tb, int64_t M, int64_t N,
                           int64_t K, float alpha, float beta, int64_t m0, int64_t n0, int bpre)
{
    const int64_t lda = ta ? M : K, ldb = tb ? K : N;
    const int64_t bp = (N + k->nr - 1) / k->nr * k->nr;
    float *A = alloc_floats((size_t)(M * K + 1)), *B = alloc_floats((size_t)(K * N + 1));
    float *b = alloc_floats((size_t)N), *R = alloc_floats((size_t)(M * N));
    float *C = alloc_floats((size_t)(M * N)), *pb = alloc_floats((size_t)(bp * K + 16));
    float *pb64 = align64(pb);
    workbuf wb = work_new(k);
    int64_t r;
    int v;
    for (r = 0; r < M * K; r++)
        A[r] = rnd_unit();
    for (r = 0; r < K * N; r++)
        B[r] = rnd_unit();
    if (M > 3 && K > 0) /* a NaN through row 3 of C: it stays NaN */
        A[ta ? 3 : 3 * lda] = NAN;
    for (r = 0; r < N; r++) /* about half the outputs below zero */
        b[r] = 2.0f * rnd_unit();
    if (bpre)
        k->pack_b(tb, B, ldb, K, N, pb64);
    for (v = 0; v < 4; v++) {
        const float *bias = v & 1 ? b : NULL;
        const int relu = v >> 1;
        for (r = 0; r < M * N; r++)
            R[r] = C[r] = r % 7 == 3 ? -0.0f : (float)(r % 5) - 2.0f;
        mlp__sgemm_prepacked(k, ta, tb, K, alpha, A, lda, NULL, B, ldb, bpre ? pb64 : NULL, beta, R,
                             N, m0, M, n0, N, wb.w);
        mlp__gemm_bias_relu_ref(R + m0 * N + n0, N, M - m0, N - n0, bias ? bias + n0 : NULL, relu);
        mlp__sgemm_bias_relu(k, ta, tb, K, alpha, A, lda, NULL, B, ldb, bpre ? pb64 : NULL, beta, C,
                             N, m0, M, n0, N, bias, relu, wb.w);
        assert_memory_equal(R, C, (size_t)(M * N) * sizeof(float));
    }
    free(wb.raw);
    free(A);
    free(B);
    free(b);
    free(R);
    free(C);
    free(pb);
}

static void gemm__bias_and_relu_in_the_tiles_give_the_bits_of_a_pass_after(void **state)
{
    /* each tile adds the bias and ReLU to its part of C once its sums are
     * done (after the last block of K, not between), the row kernel in
     * registers: the bits of the product followed by the pass, NaN and -0
     * included, on every path: tiles with A packed or in place, B packed
     * beforehand (one tile through all of K), one row (alpha 1: in the
     * row kernel; else a pass), K = 0, blocks of C */
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 1), i, t;
    (void)state;
    for (i = 0; i < nk; i++)
        for (t = 0; t < 4; t++) {
            const mlp__gemm_kernel *k = ks[i];
            const int ta = t & 1, tb = t >> 1;
            bias_relu_case(k, ta, tb, 53, 83, 75, 1.0f, 0.0f, 0, 0, 0);
            bias_relu_case(k, ta, tb, 53, 83, 75, -0.5f, 0.75f, k->mr, 5, 0);
            bias_relu_case(k, ta, tb, 29, 70, 2 * k->kc + 9, 1.0f, 0.0f, 0, 0, 0);
            bias_relu_case(k, ta, tb, 40, 100, 21, 1.0f, 0.5f, 0, 0, 0);
            bias_relu_case(k, ta, tb, 53, 83, k->kc + 40, 1.0f, 0.0f, 0, 0, 1);
            bias_relu_case(k, ta, tb, 1, 83, 75, 1.0f, 0.0f, 0, 0, 0);
            bias_relu_case(k, ta, tb, 1, 83, 75, -0.5f, 0.5f, 0, 3, 0);
            bias_relu_case(k, ta, tb, 20, 40, 0, 1.0f, 0.5f, 0, 0, 0);
        }
}

/* B (not transposed) packed by the first tile that reads it (a kernel
 * with ukr_pack: AVX-512, NEON) or by a pass before the tiles: the same
 * bits, with A's zero steps skipped and the bias and ReLU in the
 * tiles, B's rows close together and a page apart; and near the oracle */
static void gemm__b_packed_by_its_first_tile_or_before_gives_the_same_bits(void **state)
{
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 1), i, c;
    (void)state;
    for (i = 0; i < nk; i++)
        for (c = 0; c < 4; c++) {
            mlp__gemm_kernel fused = *ks[i], before = *ks[i];
            const int ta = c & 1;
            const int64_t M = 3 * fused.mr + 1, N = 3 * fused.nr + 5, K = fused.kc + 37;
            const int64_t ldb = c & 2 ? 1024 : N, lda = ta ? M : K;
            float *A = alloc_floats((size_t)(M * K)), *B = alloc_floats((size_t)(K * ldb));
            float *bias = alloc_floats((size_t)N), *C1 = alloc_floats((size_t)(M * N));
            float *C2 = alloc_floats((size_t)(M * N)), *R = alloc_floats((size_t)(M * N));
            workbuf wb = work_new(&fused);
            int64_t r, p, positive = 0;
            before.ukr_pack = NULL;
            /* every third step of A zero in all rows (skipped), the rest random */
            for (r = 0; r < M; r++)
                for (p = 0; p < K; p++)
                    A[ta ? p * M + r : r * K + p] = p % 3 ? rnd_unit() : 0.0f;
            for (r = 0; r < K * ldb; r++)
                B[r] = rnd_unit();
            for (r = 0; r < N; r++)
                bias[r] = rnd_unit();
            mlp__sgemm_bias_relu(&fused, ta, 0, K, 1.0f, A, lda, NULL, B, ldb, NULL, 0.0f, C1, N, 0,
                                 M, 0, N, bias, 1, wb.w);
            mlp__sgemm_bias_relu(&before, ta, 0, K, 1.0f, A, lda, NULL, B, ldb, NULL, 0.0f, C2, N,
                                 0, M, 0, N, bias, 1, wb.w);
            assert_memory_equal(C1, C2, (size_t)(M * N) * sizeof(float));
            mlp__sgemm_naive(ta, 0, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, R, N);
            mlp__gemm_bias_relu_ref(R, N, M, N, bias, 1);
            for (r = 0; r < M * N; r++) {
                assert_true(fabsf(C1[r] - R[r]) <= 1e-5f * (float)K);
                positive += C1[r] > 0.0f;
            }
            assert_true(positive > M * N / 4); /* ReLU left a good share positive */
            free(wb.raw);
            free(A), free(B), free(bias), free(C1), free(C2), free(R);
        }
}

static void gemm__narrow_transposed_products_give_the_tiles_bits(void **state)
{
    /* op(A) = A^T with at most one vector of columns (dW = H^T dY of a
     * 10-wide layer) runs with lanes along M (tn_narrow): the bits of the
     * tiles (the same kernel without it), every width up to a vector,
     * heights around the 2-vector step, K over several blocks, alpha and
     * beta, a NaN; and near the naive oracle */
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 1), i, c;
    static const int64_t ms[] = {1, 15, 16, 17, 33, 70}, ks_[] = {1, 37, 600};
    (void)state;
    for (i = 0; i < nk; i++) {
        const mlp__gemm_kernel *k = ks[i];
        mlp__gemm_kernel tiles = *k;
        workbuf wb;
        int64_t n, r;
        if (!k->tn_narrow)
            continue;
        wb = work_new(k);
        tiles.tn_narrow = NULL;
        for (c = 0; c < 18; c++)
            for (n = 1; n <= k->nr / 2; n++) {
                const int64_t M = ms[c % 6],
                              K = ks_[c / 6] < k->kc || c % 2 ? ks_[c / 6] : 2 * k->kc + 5;
                const float alpha = c % 2 ? -0.5f : 1.0f, beta = c % 3 == 0 ? 0.0f : 0.75f;
                float *A = alloc_floats((size_t)(M * K)), *B = alloc_floats((size_t)(K * n));
                float *C = alloc_floats((size_t)(M * n)), *R = alloc_floats((size_t)(M * n));
                for (r = 0; r < M * K; r++)
                    A[r] = rnd_unit();
                for (r = 0; r < K * n; r++)
                    B[r] = rnd_unit();
                if (M > 3 && K > 1 && c % 4 == 1)
                    A[M + 3] = NAN; /* row 3 of C, from step 1 */
                for (r = 0; r < M * n; r++)
                    C[r] = R[r] = beta == 0.0f ? NAN : rnd_unit();
                mlp__sgemm(k, 1, 0, M, n, K, alpha, A, M, B, n, beta, C, n, wb.w);
                mlp__sgemm(&tiles, 1, 0, M, n, K, alpha, A, M, B, n, beta, R, n, wb.w);
                assert_memory_equal(C, R, (size_t)(M * n) * sizeof(float));
                if (c % 4 != 1 && beta == 0.0f) {
                    mlp__sgemm_naive(1, 0, M, n, K, alpha, A, M, B, n, 0.0f, R, n);
                    for (r = 0; r < M * n; r++)
                        assert_true(fabsf(C[r] - R[r]) <= 1e-4f * (1.0f + fabsf(R[r])) * (float)K);
                }
                free(A);
                free(B);
                free(C);
                free(R);
            }
        free(wb.raw);
    }
}

/* The kernel's ukr_skip, counted: a test that the skipping path ran, and
 * whether a skipping tile held column skip_col of C (skip_c0, ldc: C). */
static mlp__gemm_skip_fn real_skip;
static long skip_calls, skip_col_calls;
static const float *skip_c0;
static int64_t skip_ldc, skip_col;

static void counting_skip(int64_t k, const float *a, const int32_t *idx, const float *b, float *c,
                          int64_t ldc, int64_t n, float alpha, float beta)
{
    const int64_t col = (int64_t)(c - skip_c0) % skip_ldc;
    skip_calls++;
    skip_col_calls += col <= skip_col && skip_col < col + n;
    real_skip(k, a, idx, b, c, ldc, n, alpha, beta);
}

/* op(A) with whole steps of zeros (the steps p % 3 == 1, with either
 * sign, and p % 7 == 0 on a few rows only; with group0, p % 3 == 1 only
 * in the first zero-step group of each panel's rows, the others dense),
 * optionally a NaN in one zero step; B random, optionally with an
 * infinity in a zero step. A is packed, and its zero steps skipped, when
 * it is transposed, its rows are 4 KiB apart (K = 1024) or N is at least
 * the table's rows_n; its rows otherwise are read in place, every step. */
static void zero_steps_case(const mlp__gemm_kernel *k, int ta, int tb, int64_t M, int64_t N,
                            int64_t K, int nan_a, int inf_b, float alpha, float beta, int group0)
{
    const int64_t lda = ta ? M : K, ldb = tb ? K : N;
    const int packed = ta || K % 1024 == 0 || N >= k->rows_n;
    float *A = alloc_floats((size_t)(M * K)), *B = alloc_floats((size_t)(K * N));
    float *C = alloc_floats((size_t)(M * N)), *R = alloc_floats((size_t)(M * N));
    mlp__gemm_kernel noskip = *k, counted = *k;
    workbuf wb = work_new(k);
    int64_t i, p;
    noskip.steps = NULL;
    noskip.finite = NULL;
    noskip.ukr_skip = NULL;
    real_skip = k->ukr_skip;
    counted.ukr_skip = counting_skip;
    for (i = 0; i < M; i++)
        for (p = 0; p < K; p++) {
            float v = rnd_unit();
            if (group0 ? p % 3 == 1 && i % k->mr < k->skip_rows
                       : p % 3 == 1 || (p % 7 == 0 && i % 5 == 2))
                v = rnd_u32() % 2 ? 0.0f : -0.0f;
            A[ta ? p * lda + i : i * lda + p] = v;
        }
    if (nan_a)
        A[ta ? 4 * lda + M / 2 : (M / 2) * lda + 4] = NAN; /* step 4 is a zero step */
    for (i = 0; i < K * N; i++)
        B[i] = rnd_unit();
    if (inf_b)
        B[tb ? (N / 3) * ldb + 7 : 7 * ldb + N / 3] = INFINITY; /* step 7 is a zero step */
    for (i = 0; i < M * N; i++)
        R[i] = C[i] = beta == 0.0f ? NAN : rnd_unit();
    skip_calls = skip_col_calls = 0;
    skip_c0 = C;
    skip_ldc = N;
    skip_col = N / 3;
    mlp__sgemm(&counted, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, N, wb.w);
    mlp__sgemm(&noskip, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, N, wb.w);
    assert_memory_equal(C, R, (size_t)(M * N) * sizeof(float));
    /* skipped, but (one K block, holding 0 * inf: NaN) never in the tiles
     * of the B panel with the infinity */
    if (!packed)
        assert_int_equal(skip_calls, 0);
    else
        assert_true(skip_calls > 0);
    if (inf_b && k->kc >= K)
        assert_int_equal(skip_col_calls, 0);
    if (!nan_a && !inf_b && beta == 0.0f) { /* and right, against the oracle */
        mlp__sgemm_naive(ta, tb, M, N, K, alpha, A, lda, B, ldb, 0.0f, R, N);
        for (i = 0; i < M * N; i++)
            assert_true(fabsf(C[i] - R[i]) <= 1e-4f * (1.0f + fabsf(R[i])));
    }
    free(wb.raw);
    free(A);
    free(B);
    free(C);
    free(R);
}

static void gemm__zero_steps_of_a_are_skipped_with_the_same_bits(void **state)
{
    /* Steps of a packed A panel that are all zeros are left out of the
     * tile when B is finite: the same bits as running every step, NaN and
     * -0 included; never in the tiles of a B panel holding an infinity.
     * A read in place runs every step, with the same bits; so does A
     * packed where the table reads it in place below rows_n columns. */
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 1), i, t;
    (void)state;
    for (i = 0; i < nk; i++) {
        const mlp__gemm_kernel *k = ks[i];
        mlp__gemm_kernel packs = *k; /* rows packed at any width */
        if (!k->ukr_skip)
            continue;
        packs.rows_n = 0;
        zero_steps_case(&packs, 0, 0, 61, 83, 75, 0, 0, 1.0f, 0.0f, 0);
        zero_steps_case(&packs, 0, 1, 61, 83, 75, 0, 0, -0.5f, 0.75f, 0);
        zero_steps_case(&packs, 0, 0, 200, 97, 700, 1, 0, 1.0f, 0.0f, 1);
        zero_steps_case(k, 0, 0, 61, 600, 75, 0, 0, 1.0f, 0.0f, 0);
        for (t = 0; t < 4; t++) {
            const int ta = t & 1, tb = t >> 1;
            zero_steps_case(k, ta, tb, 61, 83, 75, 0, 0, 1.0f, 0.0f, 0);
            zero_steps_case(k, ta, tb, 61, 83, 75, 0, 0, -0.5f, 0.75f, 0);
            zero_steps_case(k, ta, tb, 61, 83, 75, 1, 0, 1.0f, 0.0f, 0);
            zero_steps_case(k, ta, tb, 61, 83, 75, 0, 1, 1.0f, 0.0f, 0);
            zero_steps_case(k, ta, tb, 200, 97, 700, 0, 0, 1.0f, 0.0f, 0);
            zero_steps_case(k, ta, tb, 50, 83, 1024, 0, 0, -0.5f, 0.75f, 0);
            zero_steps_case(k, ta, tb, 50, 83, 1024, 1, 0, 1.0f, 0.0f, 0);
            zero_steps_case(k, ta, tb, 61, 83, 75, 0, 0, 1.0f, 0.0f, 1);
            zero_steps_case(k, ta, tb, 200, 97, 700, 0, 0, -0.5f, 0.75f, 1);
        }
    }
}

static void gemm__steps_list_the_nonzero_steps_of_each_group_or_of_a_sample(void **state)
{
    /* A packed panel of 203 steps: zero steps (either sign) at p % 3 == 1
     * and in a run 40..79, a NaN in zero step 4 (not zero) in row mr / 2,
     * a value in the last row only of steps 7 and 199 and in the first row
     * only of steps 10 and 202; steps lists, for each group of skip_rows
     * rows, every step (every 1) or steps 0, 8, 16, ... (every 8) whose
     * values in the group's rows are not all zeros, in order, each
     * group's list 211 ints after the one before. */
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    int nk = kernels(ks, 1), i;
    (void)state;
    for (i = 0; i < nk; i++) {
        const mlp__gemm_kernel *k = ks[i];
        const int64_t mr = k->mr, sr = k->skip_rows, K = 203, stride = 211;
        float *panel;
        int32_t idx[12 * 211], expect[203];
        int64_t p, r, r0, every, kept[12], want;
        if (!k->steps)
            continue;
        assert_true(sr >= 1 && sr <= mr && mr % sr == 0 && mr <= 12);
        panel = alloc_floats((size_t)(mr * K));
        for (p = 0; p < K; p++)
            for (r = 0; r < mr; r++)
                panel[p * mr + r] = p % 3 == 1 || (p >= 40 && p < 80) ? (r % 2 ? -0.0f : 0.0f)
                                                                      : (float)(p * mr + r + 1);
        panel[4 * mr + mr / 2] = NAN;
        for (r = 0; r < mr; r++) {
            panel[7 * mr + r] = panel[199 * mr + r] = r == mr - 1 ? 1.0f : 0.0f;
            panel[10 * mr + r] = panel[202 * mr + r] = r == 0 ? -2.0f : -0.0f;
        }
        for (every = 1; every <= 8; every += 7) {
            k->steps(K, panel, every, idx, stride, kept);
            for (r0 = 0; r0 < mr; r0 += sr) {
                for (want = 0, p = 0; p < K; p += every)
                    if (!(p % 3 == 1 || (p >= 40 && p < 80))
                        || (p == 4 && r0 <= mr / 2 && mr / 2 < r0 + sr)
                        || ((p == 7 || p == 199) && r0 + sr == mr)
                        || ((p == 10 || p == 202) && r0 == 0))
                        expect[want++] = (int32_t)p;
                assert_int_equal(kept[r0 / sr], want);
                assert_memory_equal(idx + r0 / sr * stride, expect, (size_t)want * sizeof(int32_t));
            }
        }
        free(panel);
    }
}

/* ---- exp (kern/exp.h, each kernel's vexp) ---- */

/* |got - exp(x)| in units of the float spacing at exp(x) (2^-149 below
 * the normal range), exp(x) computed in double. */
static double exp_ulps(float got, float x)
{
    const double want = exp((double)x);
    int e;
    if (want > (double)FLT_MAX)
        return isinf(got) && got > 0.0f ? 0.0 : 1e9;
    (void)frexp(want, &e);
    return fabs((double)got - want) / ldexp(1.0, e - 24 < -149 ? -149 : e - 24);
}

static void gemm__exp_is_within_two_ulps_and_the_same_bits_anywhere_in_a_vector(void **state)
{
    /* Every 4099th float from -104 to 89 (about 530000 of them; below the
     * result rounds to 0, above it is +inf), both signs of zero, the
     * subnormal results, the edges; exact where exp is exact or
     * saturates; and each value gives the same bits whatever its place
     * in the vector loop (how the threads' parts see it). */
    static const float edge[] = {0.0f,    -0.0f,   1.0f,        -1.0f,   -87.3f, -103.97f, -103.9f,
                                 -100.0f, 88.72f,  88.7228394f, -104.0f, 89.0f,  1000.0f,  -1000.0f,
                                 1e-30f,  -1e-30f, 0.5f,        -0.5f,   20.0f,  -20.0f};
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    const int nk = kernels(ks, 0);
    enum { SHIFTS = 17 };
    const size_t cap = 2 * (0x42d00000u / 4099 + 1) + sizeof edge / sizeof edge[0];
    int64_t n = 0, i, j;
    float *x, *y, *z;
    uint32_t b;
    int k;
    (void)state;
    x = (float *)malloc(sizeof(float) * cap);
    y = (float *)malloc(sizeof(float) * (cap + SHIFTS));
    z = (float *)malloc(sizeof(float) * (cap + SHIFTS));
    assert_non_null(x);
    assert_non_null(y);
    assert_non_null(z);
    for (i = 0; i < (int64_t)(sizeof edge / sizeof edge[0]); i++)
        x[n++] = edge[i];
    for (b = 0; b <= 0x42d00000u; b += 4099) { /* 0 .. 104 and -0 .. -104 */
        float f;
        memcpy(&f, &b, sizeof f);
        if (f <= 89.0f)
            x[n++] = f;
        x[n++] = -f;
    }
    for (k = 0; k < nk; k++) {
        double worst = 0.0;
        ks[k]->vexp(y, x, n);
        for (i = 0; i < n; i++) {
            const double u = exp_ulps(y[i], x[i]);
            worst = u > worst ? u : worst;
        }
        if (worst > 2.0)
            fail_msg("%s: exp is %.2f ulps off", ks[k]->name, worst);
        assert_true(y[0] == 1.0f && y[1] == 1.0f); /* exp(+-0) */
        for (i = 0; i < n; i++) {
            if (x[i] <= -104.0f)
                assert_true(y[i] == 0.0f);
            if (x[i] >= 88.7228394f)
                assert_true(isinf(y[i]) && y[i] > 0.0f);
        }
        /* NaN, infinities, in place */
        z[0] = NAN;
        z[1] = INFINITY;
        z[2] = -INFINITY;
        z[3] = 2.0f;
        ks[k]->vexp(z, z, 4);
        assert_true(isnan(z[0]));
        assert_true(isinf(z[1]) && z[1] > 0.0f);
        assert_true(z[2] == 0.0f);
        assert_true(fabs(z[3] - exp(2.0)) <= 2.0 * ldexp(1.0, -21));
        /* the same bits at every offset: the vector body and its
         * remainder compute alike */
        for (j = 1; j <= SHIFTS; j++) {
            ks[k]->vexp(z + j, x, n - j);
            assert_memory_equal(z + j, y, (size_t)(n - j) * sizeof(float));
        }
        ks[k]->vexp(z, x, 0); /* nothing */
    }
    free(x);
    free(y);
    free(z);
}

int main(void)
{
    const mlp__gemm_kernel *ks[MAX_KERNELS];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gemm__find_knows_generic_and_rejects_unknown_names),
        cmocka_unit_test(gemm__best_is_findable_by_its_name),
        cmocka_unit_test(gemm__the_cpu_s_vector_kernel_is_the_best),
        cmocka_unit_test(gemm__all_transpose_combinations_match_naive),
        cmocka_unit_test(gemm__beta_zero_never_reads_c),
        cmocka_unit_test(gemm__beta_one_accumulates_and_alpha_scales),
        cmocka_unit_test(gemm__padded_leading_dimensions_are_respected),
        cmocka_unit_test(gemm__every_m_from_1_to_70),
        cmocka_unit_test(gemm__every_n_from_1_to_70),
        cmocka_unit_test(gemm__every_k_from_1_to_70),
        cmocka_unit_test(gemm__random_shapes_match_naive),
        cmocka_unit_test(gemm__zero_sizes_touch_nothing_or_scale_c),
        cmocka_unit_test(gemm__mlp_shapes_match_naive),
        cmocka_unit_test(gemm__several_real_cache_blocks_match_naive),
        cmocka_unit_test(gemm__k_under_kc_runs_in_two_halves_where_the_table_says),
        cmocka_unit_test(gemm__single_row_every_n_to_600_and_any_column_split),
        cmocka_unit_test(gemm__range_writes_only_its_block),
        cmocka_unit_test(gemm__prepacked_operands_give_the_same_bits_as_packing_per_block),
        cmocka_unit_test(gemm__zero_steps_of_a_are_skipped_with_the_same_bits),
        cmocka_unit_test(gemm__steps_list_the_nonzero_steps_of_each_group_or_of_a_sample),
        cmocka_unit_test(gemm__bias_and_relu_in_the_tiles_give_the_bits_of_a_pass_after),
        cmocka_unit_test(gemm__b_packed_by_its_first_tile_or_before_gives_the_same_bits),
        cmocka_unit_test(gemm__narrow_transposed_products_give_the_tiles_bits),
        cmocka_unit_test(gemm__exp_is_within_two_ulps_and_the_same_bits_anywhere_in_a_vector),
    };
    int i, nk = kernels(ks, 0);
    /* say which kernels run here (the cross-architecture runs read it) */
    print_message("gemm: best kernel %s; tested:", mlp__gemm_name(mlp__gemm_best()));
    for (i = 0; i < nk; i++)
        print_message(" %s", mlp__gemm_name(ks[i]));
    print_message("\n");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
