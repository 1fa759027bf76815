/*
 * gemm.c - the sgemm driver: kernel choice from cpuid, the five Goto/BLIS
 * loops around the micro-kernel (jc over NC columns of C, pc over KC of the
 * inner dimension with B packed, ic over MC rows with A packed, then the
 * macro-kernel's jr / ir over NR x MR tiles), and the naive oracle.
 *
 * Packing only pays when the packed panel is reused: a packed A block is
 * read once per NR-panel of B, a packed B block once per MR-panel of A. So
 * A is used in place when N <= 2*NR (one or two B panels: measured faster
 * at 64^3 and N = 10), B in place when M <= MR and B is not transposed (the
 * micro-kernels read both through strides).
 * A single row of A with B not transposed is a vector-matrix product: the
 * kernel's row function streams B once, in place.
 */
#include "kern/gemm.h"

#include <string.h>

#if defined(MLP__GEMM_X86)
static int has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
           && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

const mlp__gemm_kernel *mlp__gemm_best(void)
{
#if defined(MLP__GEMM_X86)
    if (has_avx512())
        return &mlp__gemm_kernel_avx512;
    if (has_avx2())
        return &mlp__gemm_kernel_avx2;
#elif defined(MLP__GEMM_NEON)
    return &mlp__gemm_kernel_neon; /* every AArch64 CPU has NEON */
#endif
    return &mlp__gemm_kernel_generic;
}

const mlp__gemm_kernel *mlp__gemm_find(const char *name)
{
    if (!name)
        return NULL;
    if (strcmp(name, "generic") == 0)
        return &mlp__gemm_kernel_generic;
#if defined(MLP__GEMM_X86)
    if (strcmp(name, "avx2") == 0)
        return has_avx2() ? &mlp__gemm_kernel_avx2 : NULL;
    if (strcmp(name, "avx512") == 0)
        return has_avx512() ? &mlp__gemm_kernel_avx512 : NULL;
#elif defined(MLP__GEMM_NEON)
    if (strcmp(name, "neon") == 0)
        return &mlp__gemm_kernel_neon;
#endif
    return NULL;
}

int mlp__gemm_known(const char *name)
{
    static const char *const names[MLP__GEMM_NUM_NAMES] = MLP__GEMM_NAMES;
    int i;
    for (i = 0; name && i < MLP__GEMM_NUM_NAMES; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

const char *mlp__gemm_name(const mlp__gemm_kernel *k)
{
    return k ? k->name : "none";
}

static int64_t round_up(int64_t x, int64_t unit)
{
    return (x + unit - 1) / unit * unit;
}

/* Floats before the zero-step lists: the packed A and B blocks. */
static int64_t steps_offset(const mlp__gemm_kernel *k)
{
    return round_up(k->mc * k->kc, 16) + round_up(k->kc * k->nc, 16);
}

size_t mlp__gemm_workspace_floats(const mlp__gemm_kernel *k)
{
    /* packed A block, packed B block, then (kernels that skip zero steps)
     * each A panel's count and list of steps, 64-byte aligned */
    const int64_t lists = k->ukr_skip ? round_up(k->mc / k->mr * (k->kc + 1), 16) : 0;
    return (size_t)(steps_offset(k) + lists);
}

/* Block size <= maxblk (a multiple of unit) splitting total into equal
 * parts rounded up to unit: 784 with KC 512 gives 2 x 392, not 512 + 272. */
static int64_t even_block(int64_t total, int64_t maxblk, int64_t unit)
{
    int64_t nb = (total + maxblk - 1) / maxblk;
    int64_t b = round_up((total + nb - 1) / nb, unit);
    return b < maxblk ? b : maxblk;
}

static void scale_c(int64_t M, int64_t N, float beta, float *C, int64_t ldc)
{
    int64_t i, j;
    if (beta == 1.0f)
        return;
    for (i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f)
            for (j = 0; j < N; j++)
                c[j] = 0.0f;
        else
            for (j = 0; j < N; j++)
                c[j] *= beta;
    }
}

/* A panel is summed over its nonzero steps only when at least this many
 * eighths of its steps are zeros (below, the list costs what it saves). */
#define SKIP_EIGHTHS 1

/* Panel q's list of steps in a plan of nq panels (layout: the nq counts,
 * then nq lists of kc steps each). */
static int32_t *step_list(int32_t *plan, int64_t nq, int64_t kc, int64_t q)
{
    return plan + nq + q * kc;
}

/* For each full MR-row panel q of the packed A block (mc x kc), plan[q] =
 * the number of its steps that are not all zeros, listed at
 * step_list(plan, nq, kc, q), or -1 to run all its steps. Steps are only skipped when
 * the packed B block (panels of kc x nr floats, bstep apart) is all
 * finite: *bfin caches that for the block (-1: not looked at yet). */
static void plan_steps(const mlp__gemm_kernel *k, int64_t mc, int64_t kc, const float *ablk,
                       const float *bblk, int64_t bstep, int64_t nc, int *bfin, int32_t *plan)
{
    const int64_t mr = k->mr, nr = k->nr, nq = mc / mr;
    int64_t q, j;
    for (q = 0; q < nq; q++) {
        const int64_t kept =
            *bfin ? k->steps(kc, ablk + q * mr * kc, step_list(plan, nq, kc, q)) : kc;
        plan[q] = -1;
        if ((kc - kept) * 8 < kc * SKIP_EIGHTHS)
            continue;
        if (*bfin < 0)
            for (*bfin = 1, j = 0; j < nc && *bfin; j += nr)
                *bfin = k->finite(bblk + (j / nr) * bstep, kc * nr);
        if (*bfin)
            plan[q] = (int32_t)kept;
    }
}

static void gemm_core(const mlp__gemm_kernel *k, int ta, int tb, int64_t M, int64_t N, int64_t K,
                      float alpha, const float *A, int64_t lda, const float *apre, const float *B,
                      int64_t ldb, const float *bpre, float beta, float *C, int64_t ldc,
                      float *work)
{
    const int64_t mr = k->mr, nr = k->nr;
    const int pack_a = N > 2 * nr;
    const int pack_b = tb || M > mr;
    const int skip = k->ukr_skip && pack_a && pack_b && !apre;
    float *abuf = work;
    int32_t *plan = (int32_t *)(work + steps_offset(k));
    float *bbuf = work + round_up(k->mc * k->kc, 16);
    int64_t jc, pc, ic, jr, ir, nc, kc, mc, NC, KC, MC;

    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    if (M == 1 && !tb && k->row) {
        k->row(K, A, ta ? lda : 1, B, ldb, C, N, alpha, beta);
        return;
    }
    NC = even_block(N, k->nc, nr);
    KC = even_block(K, k->kc, 8);
    MC = even_block(M, k->mc, mr);
    for (jc = 0; jc < N; jc += nc) {
        nc = N - jc < NC ? N - jc : NC;
        for (pc = 0; pc < K; pc += kc) {
            const float beta_p = pc == 0 ? beta : 1.0f;
            const float *bblk;
            int64_t rsb, bstep;
            int bfin = -1;
            kc = K - pc < KC ? K - pc : KC;
            if (bpre && pack_b) { /* panels of K rows: this block's rows start at pc */
                bblk = bpre + jc * K + pc * nr;
                rsb = nr;
                bstep = nr * K;
            } else if (pack_b) {
                k->pack_b(tb, tb ? B + jc * ldb + pc : B + pc * ldb + jc, ldb, kc, nc, bbuf);
                bblk = bbuf;
                rsb = nr;
                bstep = nr * kc;
            } else {
                bblk = B + pc * ldb + jc;
                rsb = ldb;
                bstep = nr;
            }
            for (ic = 0; ic < M; ic += mc) {
                const float *ablk;
                int64_t rsa, csa, astep;
                mc = M - ic < MC ? M - ic : MC;
                if (apre && pack_a) {
                    ablk = apre + ic * K + pc * mr;
                    rsa = 1;
                    csa = mr;
                    astep = mr * K;
                } else if (pack_a) {
                    k->pack_a(ta, ta ? A + pc * lda + ic : A + ic * lda + pc, lda, mc, kc, abuf);
                    ablk = abuf;
                    rsa = 1;
                    csa = mr;
                    astep = mr * kc;
                } else if (ta) {
                    ablk = A + pc * lda + ic;
                    rsa = 1;
                    csa = lda;
                    astep = mr;
                } else {
                    ablk = A + ic * lda + pc;
                    rsa = lda;
                    csa = 1;
                    astep = mr * lda;
                }
                if (skip)
                    plan_steps(k, mc, kc, ablk, bblk, bstep, nc, &bfin, plan);
                /* macro-kernel: the B micro-panel stays in L1 across ir */
                for (jr = 0; jr < nc; jr += nr) {
                    const int64_t nb = nc - jr < nr ? nc - jr : nr;
                    const float *bp = bblk + (jr / nr) * bstep;
                    float *cc = C + ic * ldc + jc + jr;
                    for (ir = 0; ir < mc; ir += mr) {
                        const int64_t mb = mc - ir < mr ? mc - ir : mr, q = ir / mr;
                        if (skip && mb == mr && plan[q] >= 0)
                            k->ukr_skip(plan[q], ablk + q * astep, step_list(plan, mc / mr, kc, q),
                                        bp, cc + ir * ldc, ldc, nb, alpha, beta_p);
                        else
                            k->ukr(kc, ablk + q * astep, rsa, csa, bp, rsb, cc + ir * ldc, ldc, mb,
                                   nb, alpha, beta_p);
                    }
                }
            }
        }
    }
}

void mlp__sgemm_prepacked(const mlp__gemm_kernel *k, int ta, int tb, int64_t K, float alpha,
                          const float *A, int64_t lda, const float *apre, const float *B,
                          int64_t ldb, const float *bpre, float beta, float *C, int64_t ldc,
                          int64_t m0, int64_t m1, int64_t n0, int64_t n1, float *work)
{
    if (m1 <= m0 || n1 <= n0)
        return;
    if (K > 0) {
        A += ta ? m0 : m0 * lda;
        B += tb ? n0 * ldb : n0;
    }
    gemm_core(k, ta, tb, m1 - m0, n1 - n0, K, alpha, A, lda, apre, B, ldb, bpre, beta,
              C + m0 * ldc + n0, ldc, work);
}

void mlp__sgemm_range(const mlp__gemm_kernel *k, int ta, int tb, int64_t K, float alpha,
                      const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                      float *C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                      float *work)
{
    mlp__sgemm_prepacked(k, ta, tb, K, alpha, A, lda, NULL, B, ldb, NULL, beta, C, ldc, m0, m1, n0,
                         n1, work);
}

void mlp__sgemm(const mlp__gemm_kernel *k, int ta, int tb, int64_t M, int64_t N, int64_t K,
                float alpha, const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                float *C, int64_t ldc, float *work)
{
    mlp__sgemm_range(k, ta, tb, K, alpha, A, lda, B, ldb, beta, C, ldc, 0, M, 0, N, work);
}

void mlp__sgemm_naive(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                      int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    int64_t i, j, p;
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) {
            double s = 0.0;
            float r;
            for (p = 0; p < K; p++)
                s += (double)(ta ? A[p * lda + i] : A[i * lda + p])
                     * (double)(tb ? B[j * ldb + p] : B[p * ldb + j]);
            r = alpha * (float)s;
            C[i * ldc + j] = beta == 0.0f ? r : r + beta * C[i * ldc + j];
        }
}
