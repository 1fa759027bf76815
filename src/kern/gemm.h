/*
 * gemm.h - single-precision matrix product on raw row-major float arrays,
 * Goto/BLIS style: B blocks KC x NC packed into NR-wide row panels, A blocks
 * MC x KC packed into MR-tall column panels (the transposes are absorbed by
 * the packing), a macro-kernel walking MR x NR tiles and a micro-kernel per
 * instruction set that handles edge tiles itself. No allocation, no errors,
 * no global mutable state: the caller hands in the packing workspace.
 */
#ifndef MLP_KERN_GEMM_H
#define MLP_KERN_GEMM_H

#include <stddef.h>
#include <stdint.h>

/* Micro-kernel: for i < m <= MR, j < n <= NR,
 *   C[i*ldc + j] = alpha * sum_p a(i, p) * b(p, j) + beta * C[i*ldc + j]
 * with a(i, p) = a[i*rsa + p*csa] and b(p, j) = b[p*rsb + j], p < k.
 * beta == 0: C is not read. Only the m x k part of a and the k x n part of
 * b are read, so both may point into unpacked matrices. Either rsa == 1
 * (packed A: csa == MR, or an A stored transposed) or csa == 1. k >= 1. */
typedef void (*mlp__gemm_ukr_fn)(int64_t k, const float *a, int64_t rsa, int64_t csa,
                                 const float *b, int64_t rsb, float *c, int64_t ldc, int64_t m,
                                 int64_t n, float alpha, float beta);
/* Packers. pack_a: op(A) is rows x cols (m x k; src is m x k with leading
 * dimension ld when trans == 0, k x m when trans != 0) into ceil(m/MR)
 * panels of MR*k floats, panel element [p*MR + i]; rows past m are zeros.
 * pack_b: op(B) is rows x cols (k x n; src is k x n when trans == 0, n x k
 * when trans != 0) into ceil(n/NR) panels of k*NR floats, [p*NR + j];
 * columns past n are zeros. dst is 64-byte aligned. */
typedef void (*mlp__gemm_pack_fn)(int trans, const float *src, int64_t ld, int64_t rows,
                                  int64_t cols, float *dst);

/* Row kernel for M == 1 with B not transposed (a vector-matrix product, no
 * packing): c[j] = alpha * sum_p a[p*csa] * b[p*ldb + j] + beta * c[j],
 * j < n, p < k (any n, k >= 1); beta == 0: c is not read. Each element is
 * one chain over p in order. Then, before c[j] is stored, bias[j] is
 * added when bias is not NULL, and ReLU (v <= 0 ? 0 : v) is applied when
 * relu is set: the bits of the separate passes mlp__bias_act_fwd makes
 * when alpha is 1 and beta 0 (a linear layer's predict on a few rows,
 * whose result then never leaves the kernel to be read back). */
typedef void (*mlp__gemm_row_fn)(int64_t k, const float *a, int64_t csa, const float *b,
                                 int64_t ldb, float *c, int64_t n, float alpha, float beta,
                                 const float *bias, int relu);
/* The same on m rows, 2 <= m <= MLP__GEMM_ROWS, each B vector loaded once
 * for all of them: row i from a + i*rsa into c + i*ldc, with the bits the
 * row kernel gives it alone. */
#define MLP__GEMM_ROWS 3
typedef void (*mlp__gemm_rows_fn)(int64_t m, int64_t k, const float *a, int64_t rsa, int64_t csa,
                                  const float *b, int64_t ldb, float *c, int64_t ldc, int64_t n,
                                  float alpha, float beta, const float *bias, int relu);

/* Zero steps. A step p of a packed A panel whose values in a tile's rows
 * are all zeros (+0 or -0) adds exactly nothing to those rows as long as
 * row p of B is finite: the accumulators start at +0, so c + 0*b == c to
 * the bit, and +0 stays +0. A panel's rows are taken in groups of
 * skip_rows (a divisor of MR), each with its own steps: fewer rows have
 * more steps of zeros (a batch of images' dW = x^T dy: 19 % of the steps
 * for 12 pixels side by side, 38 % for 4). steps: of the steps p = 0,
 * every, 2 every, ... < k of a packed A panel, for each group g (rows g *
 * skip_rows .. + skip_rows - 1), those whose values in the group's rows
 * are not all zeros, in order, to idx + g * stride (one int a step looked
 * at), and their number to kept[g] (every 1: the group's list; more: a
 * sample of it). finite: 1 if the n floats at p (64-byte aligned, n a
 * multiple of nr) are all finite.
 * ukr_skip: a group's tile (skip_rows x n, n <= NR; a at the group's first
 * row of a packed A panel, c at its first row of C) on packed A and packed
 * B summed over the steps idx[0 .. k-1] only, in order, or over every
 * step when idx is NULL: the same bits as ukr over all steps when those
 * skipped are zeros and the B panel is finite. */
typedef void (*mlp__gemm_steps_fn)(int64_t k, const float *panel, int64_t every, int32_t *idx,
                                   int64_t stride, int64_t *kept);
typedef int (*mlp__gemm_finite_fn)(const float *p, int64_t n);
typedef void (*mlp__gemm_skip_fn)(int64_t k, const float *a, const int32_t *idx, const float *b,
                                  float *c, int64_t ldc, int64_t n, float alpha, float beta);

/* Packing B inside the first tile that reads it: the full-height tile
 * (m == MR, n <= NR) on A packed (rsa 1, csa MR) or read in place by rows
 * (csa 1), and on B in place (b: k rows of n floats, row stride rsb), like
 * ukr, that also writes B's packed panel (k x NR, zero-padded, as pack_b)
 * to bd (64-byte aligned) as it reads it. The loads pack_b would make
 * anyway run among the tile's multiply-adds. */
typedef void (*mlp__gemm_fused_fn)(int64_t k, const float *a, int64_t rsa, int64_t csa,
                                   const float *b, int64_t rsb, float *bd, float *c, int64_t ldc,
                                   int64_t n, float alpha, float beta);

/* y[i] = exp(x[i]), i < n (y may equal x): exp.h's function in the
 * kernel's vectors (exp.c). Not a product, but the kernel table is where
 * code built for an instruction set is chosen. */
typedef void (*mlp__vexp_fn)(float *y, const float *x, int64_t n);

/* C[i][j] += bias[j] (bias NULL: nothing added), then ReLU (c <= 0: +0,
 * NaN stays NaN) when relu is set, for i < m, j < n: a tile's share of the
 * pass mlp__bias_act_fwd makes after a product, the same operations on
 * each element, run while the tile is in L1. */
typedef void (*mlp__gemm_bias_relu_fn)(float *c, int64_t ldc, int64_t m, int64_t n,
                                       const float *bias, int relu);

/* C [m x n] = alpha op(A) B + beta C with A transposed (stored k x m, rows
 * lda apart), B not (k x n, rows ldb apart) and n at most one vector
 * (nr / 2): C held transposed, lanes along m, every lane used where a
 * tile would use n of its row's. K in blocks of kc (mlp__gemm_kblock),
 * stored as the tiles store them: the same bits as the blocked product. */
typedef void (*mlp__gemm_tn_narrow_fn)(int64_t m, int64_t n, int64_t k, int64_t kc, float alpha,
                                       const float *a, int64_t lda, const float *b, int64_t ldb,
                                       float beta, float *c, int64_t ldc);

typedef struct mlp__gemm_kernel {
    const char *name;
    int mr, nr;         /* register tile */
    int64_t mc, kc, nc; /* cache blocks: multiples of mr, 8 and nr */
    /* 1: a product with neither operand transposed whose K lies in
     * (7/8 kc, kc] runs K in two equal blocks, not one (mlp__gemm_kblock),
     * so that at 2 threads it is split over K (product.c) */
    int kc_halves;
    /* A not transposed, its rows in different cache sets (gemm.c), is
     * read in place by rows when N is below this, and packed when not */
    int64_t rows_n;
    mlp__gemm_ukr_fn ukr;
    mlp__gemm_pack_fn pack_a;
    mlp__gemm_pack_fn pack_b;
    mlp__gemm_row_fn row;   /* NULL: M == 1 goes through the general path */
    mlp__gemm_rows_fn rows; /* NULL exactly when row is */
    /* Skipping zero steps of A (all three NULL: never skipped), in groups
     * of skip_rows rows of a panel (a divisor of mr) */
    int skip_rows;
    mlp__gemm_steps_fn steps;
    mlp__gemm_finite_fn finite;
    mlp__gemm_skip_fn ukr_skip;
    mlp__gemm_fused_fn ukr_pack; /* NULL: B is packed before its tiles */
    /* ukr where b is a packed panel (rsb == NR, 64-byte aligned, zero past
     * n, as pack_b writes): full-height tiles on any A read it unmasked */
    mlp__gemm_ukr_fn ukr_bp;
    mlp__vexp_fn vexp;
    mlp__gemm_bias_relu_fn bias_relu;
    mlp__gemm_tn_narrow_fn tn_narrow; /* NULL: the tiles run those too */
} mlp__gemm_kernel;

/* Every kernel name, whether or not this build and CPU have it. */
#define MLP__GEMM_NAMES                                                                            \
    {                                                                                              \
        "generic", "avx2", "avx512", "neon"                                                        \
    }
#define MLP__GEMM_NUM_NAMES 4
#define MLP__GEMM_NAMES_TEXT "generic, avx2, avx512 or neon"
/* 1 if name is one of MLP__GEMM_NAMES (supported here or not). */
int mlp__gemm_known(const char *name);

/* Best kernel this CPU supports (cpuid); never NULL. */
const mlp__gemm_kernel *mlp__gemm_best(void);
/* "generic" | "avx2" | "avx512" | "neon"; NULL if unknown or unsupported here. */
const mlp__gemm_kernel *mlp__gemm_find(const char *name);
const char *mlp__gemm_name(const mlp__gemm_kernel *k);
/* Floats of packing workspace one call needs (independent of M, N, K). */
size_t mlp__gemm_workspace_floats(const mlp__gemm_kernel *k);
/* The length of the blocks of K a product op(A) op(B) runs in (the last
 * may be shorter): each element's sum is formed block by block, in this
 * order, the first block stored (with beta) and each next one added to
 * C. The same at any thread count: it depends on the kernel, ta, tb and
 * K only. */
int64_t mlp__gemm_kblock(const mlp__gemm_kernel *k, int ta, int tb, int64_t K);

/* Row-major C[M x N] = alpha * op(A) * op(B) + beta * C.
 * op(A) is M x K: A is M x K (lda >= K) when ta == 0, K x M (lda >= M) when
 * ta != 0. op(B) is K x N: B is K x N (ldb >= N) when tb == 0, N x K
 * (ldb >= K) when tb != 0. ldc >= N. beta == 0: C is never read. M, N or K
 * may be 0 (K == 0 or alpha == 0: C = beta*C, zeros when beta == 0).
 * work: 64-byte aligned, mlp__gemm_workspace_floats(k) floats. */
void mlp__sgemm(const mlp__gemm_kernel *k, int ta, int tb, int64_t M, int64_t N, int64_t K,
                float alpha, const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                float *C, int64_t ldc, float *work);

/* The same product restricted to the block C[m0:m1, n0:n1] of the M x N
 * result (0 <= m0 <= m1 <= M, 0 <= n0 <= n1 <= N: M and N themselves are
 * not needed), with its own workspace: disjoint blocks may run on
 * different threads at once. mlp__sgemm is one call covering all. */
void mlp__sgemm_range(const mlp__gemm_kernel *k, int ta, int tb, int64_t K, float alpha,
                      const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                      float *C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                      float *work);

/* mlp__sgemm_range with op(A)'s rows m0 .. m1-1 (apre) or op(B)'s columns
 * n0 .. n1-1 (bpre), or both, packed beforehand, whole (all K), by the
 * kernel's pack_a / pack_b: the block reads them instead of packing its
 * own (NULL: packs as mlp__sgemm_range does): weights that do not
 * change between products are packed once (mlp_model_pack). Where
 * mlp__sgemm_range reads an operand in place instead of packing it (a
 * few rows or columns), so does this, whatever was passed: the same bits
 * either way (a kernel without masked loads sums a ragged B read in place
 * in pieces of k). */
void mlp__sgemm_prepacked(const mlp__gemm_kernel *k, int ta, int tb, int64_t K, float alpha,
                          const float *A, int64_t lda, const float *apre, const float *B,
                          int64_t ldb, const float *bpre, float beta, float *C, int64_t ldc,
                          int64_t m0, int64_t m1, int64_t n0, int64_t n1, float *work);

/* mlp__sgemm_prepacked, then C[i][j] += bias[j] (bias: N floats, indexed
 * by the column of the whole product; NULL: none) and ReLU when relu is
 * set, on the block: each tile (or the row kernel, on one row, with alpha
 * 1) applies them to its part of C as it writes its last sums, without
 * reading C back from beyond the L1 (tn_narrow's product: a pass over its
 * block after it): the bits of mlp__bias_act_fwd's pass afterwards with
 * act MLP_ACT_RELU or MLP_ACT_IDENTITY. */
void mlp__sgemm_bias_relu(const mlp__gemm_kernel *k, int ta, int tb, int64_t K, float alpha,
                          const float *A, int64_t lda, const float *apre, const float *B,
                          int64_t ldb, const float *bpre, float beta, float *C, int64_t ldc,
                          int64_t m0, int64_t m1, int64_t n0, int64_t n1, const float *bias,
                          int relu, float *work);

/* The reference bias_relu (the generic kernel's). */
void mlp__gemm_bias_relu_ref(float *c, int64_t ldc, int64_t m, int64_t n, const float *bias,
                             int relu);

/* Reference triple loop (double accumulation): the test oracle. */
void mlp__sgemm_naive(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                      int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

/* Portable packers for any mr / nr (the generic kernel's, and fallbacks). */
void mlp__gemm_pack_a_ref(int mr, int trans, const float *src, int64_t ld, int64_t m, int64_t k,
                          float *dst);
void mlp__gemm_pack_b_ref(int nr, int trans, const float *src, int64_t ld, int64_t k, int64_t n,
                          float *dst);

/* Kernel tables, one per instruction set (x86 ones only on x86 and NEON
 * only on AArch64, with a GNU compiler; -DMLP_GEMM_GENERIC_ONLY builds the
 * portable kernel alone, as on other CPUs). The vector ones are one
 * template, gemm_simd.h, over each set's vector macros. */
extern const mlp__gemm_kernel mlp__gemm_kernel_generic;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))                                \
    && !defined(MLP_GEMM_GENERIC_ONLY)
#define MLP__GEMM_X86 1
#define MLP__TARGET_AVX2 __attribute__((target("avx2,fma")))
/* prfchw: prefetchw, which every AVX-512 CPU has (and older x86 run as a no-op) */
#define MLP__TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx2,fma,prfchw")))
extern const mlp__gemm_kernel mlp__gemm_kernel_avx2;
extern const mlp__gemm_kernel mlp__gemm_kernel_avx512;
/* 1 when this CPU runs the code of MLP__TARGET_AVX512 / MLP__TARGET_AVX2 */
int mlp__cpu_avx512(void);
int mlp__cpu_avx2(void);
/* "avx512" as chosen on Intel's CPUs: B fetched fewer rows ahead */
extern const mlp__gemm_kernel mlp__gemm_kernel_avx512_intel;
#elif defined(__GNUC__) && defined(__aarch64__) && defined(__ARM_NEON)                             \
    && !defined(MLP_GEMM_GENERIC_ONLY)
#define MLP__GEMM_NEON 1
extern const mlp__gemm_kernel mlp__gemm_kernel_neon;
#endif

/* The kernels' exp loops (exp.c, built apart: see there); NEON's is the
 * generic one, which AArch64's baseline vectorises. */
void mlp__vexp_generic(float *y, const float *x, int64_t n);
#if defined(MLP__GEMM_X86)
void mlp__vexp_avx2(float *y, const float *x, int64_t n);
void mlp__vexp_avx512(float *y, const float *x, int64_t n);
#endif

#endif
