/*
 * product.c - the matrix product through the context (mlp__gemm): its
 * kernel, the packing workspace of each thread, and the worker pool
 * (parallel.c), which takes a large product in blocks of C.
 *
 * Results do not depend on the thread count: mlp__gemm splits C[M x N] into
 * row or column blocks aligned to the kernel's register tile, and each
 * element's sum over K is formed in the same order whatever block holds it;
 * or, at two threads, a layer's product over K at the boundary of the two
 * blocks of K the kernel runs it in (below), adding the second block's
 * sums as the kernel would.
 */
#include <string.h>

#include "core.h"
#include "kern/vec.h"
#include "kern/vec_fast.h"
#include "parallel.h"

typedef struct {
    mlp_ctx *ctx;
    int ta, tb, split_rows;
    int64_t M, N, K, lda, ldb, ldc, unit;
    float alpha, beta;
    const float *A, *B;
    float *C;
    const mlp__epilogue *ep; /* after the product; NULL: none */
    const float *bias;       /* or the tiles' share of it (ep NULL) */
    int relu;
    int64_t K0; /* split over K (below): the first block's length */
    float *P;   /* and the buffer of the last block's sums */
} gemm_job;

/* ep on rows [m0, m1) of C [.., N]: one call, or one a row when C's rows
 * are apart (the same operations on each element either way) */
static void epilogue(const mlp__epilogue *ep, float *C, int64_t ldc, int64_t N, int64_t m0,
                     int64_t m1)
{
    int64_t r;
    if (ldc == N) {
        mlp__bias_act_fwd(ep->act, C + m0 * ldc, ep->b, m1 - m0, N, ep->param);
        return;
    }
    for (r = m0; r < m1; r++)
        mlp__bias_act_fwd(ep->act, C + r * ldc, ep->b, 1, N, ep->param);
}

/* mlp__parallel_for's part: [lo, hi) rows of C */
static void epilogue_part(void *varg, int64_t lo, int64_t hi, int tid)
{
    const gemm_job *j = (const gemm_job *)varg;
    (void)tid;
    epilogue(j->ep, j->C, j->ldc, j->N, lo, hi);
}

/* Thread tid's packing workspace in ctx. */
static float *thread_work(const mlp_ctx *ctx, int tid)
{
    return ctx->gemm_work + (size_t)tid * ctx->gemm_work_floats;
}

static void gemm_part(void *varg, int64_t lo, int64_t hi, int tid)
{
    const gemm_job *j = (const gemm_job *)varg;
    int64_t a = lo * j->unit, b = hi * j->unit;
    float *work = thread_work(j->ctx, tid);
    if (j->split_rows) {
        if (b > j->M)
            b = j->M;
        mlp__sgemm_bias_relu(j->ctx->gemm, j->ta, j->tb, j->K, j->alpha, j->A, j->lda, NULL, j->B,
                             j->ldb, NULL, j->beta, j->C, j->ldc, a, b, 0, j->N, j->bias, j->relu,
                             work);
        if (j->ep)
            epilogue(j->ep, j->C, j->ldc, j->N, a, b);
    } else {
        if (b > j->N)
            b = j->N;
        mlp__sgemm_bias_relu(j->ctx->gemm, j->ta, j->tb, j->K, j->alpha, j->A, j->lda, NULL, j->B,
                             j->ldb, NULL, j->beta, j->C, j->ldc, 0, j->M, a, b, j->bias, j->relu,
                             work);
    }
}

/* Below this many multiply-adds a product stays on one thread. */
#define MLP__GEMM_SPLIT_MIN ((int64_t)1 << 18)

/* ---- two threads: a product split over K ----
 * A layer's product X W (W [K, N], K > the batch M) split by rows or
 * columns of C has each thread read all of W, or all of its rows: in a
 * training step each thread then updates part of a W the other has in
 * its cache, and every line of it crosses between the cores twice a step
 * (the update's write, the next forward's read). Split over K instead,
 * each thread reads only its own rows of W, the rows the update gives it
 * (whole elements in order: the first half of W to the first part), and
 * what crosses is half of an M x N sum. The sums keep their order: a
 * product runs K in blocks (mlp__gemm_kblock), storing the first and
 * adding each next one to C; when there are exactly two, the first
 * thread stores the first block's sums into C, the second the last
 * block's into a buffer, and a pass adds that buffer to C as the last
 * block would have, then applies the epilogue. */

/* part 0: the first block of K into C; part 1: the last into P. Each
 * part is one of the whole product's blocks and runs as one block, as
 * at 1 thread: a table with kc_halves would otherwise halve a part a
 * little under kc again (K from 7/8 kc to kc is halved only when it is
 * the whole product's: a 1024-wide layer's two blocks of 512) */
static void ksplit_part(void *varg, int64_t lo, int64_t hi, int tid)
{
    const gemm_job *j = (const gemm_job *)varg;
    float *work = thread_work(j->ctx, tid);
    mlp__gemm_kernel one_block = *j->ctx->gemm;
    int64_t h;
    one_block.kc_halves = 0;
    for (h = lo; h < hi; h++)
        if (h == 0)
            mlp__sgemm(&one_block, 0, 0, j->M, j->N, j->K0, 1.0f, j->A, j->lda, j->B, j->ldb,
                       j->beta, j->C, j->ldc, work);
        else
            mlp__sgemm(&one_block, 0, 0, j->M, j->N, j->K - j->K0, 1.0f, j->A + j->K0, j->lda,
                       j->B + j->K0 * j->ldb, j->ldb, 0.0f, j->P, j->N, work);
}

/* rows [lo, hi) of C, each in turn: the last block's sums added, then
 * ep while the row is still in L1 (a second pass over the rows read them
 * back from the L2 or beyond) */
static void ksplit_add(void *varg, int64_t lo, int64_t hi, int tid)
{
    const gemm_job *j = (const gemm_job *)varg;
    int64_t r;
    (void)tid;
    for (r = lo; r < hi; r++) {
        mlp__vec_acc(j->C + r * j->ldc, j->P + r * j->N, j->N);
        if (j->ep)
            epilogue(j->ep, j->C, j->ldc, j->N, r, r + 1);
    }
}

/* The largest buffer of sums a context keeps for a split over K (16 MiB),
 * so that it never holds a second copy of a large layer's output for its
 * lifetime: a larger product is split by rows or columns as before. */
#define KSPLIT_MAX_FLOATS ((size_t)1 << 22)

/* The buffer for M x N sums; NULL when it would be larger than that or
 * the allocator refuses it (the product is then split as any other:
 * nothing fails). */
static float *part_buffer(mlp_ctx *ctx, int64_t M, int64_t N)
{
    size_t floats;
    if (!mlp__mul_size((size_t)M, (size_t)N, &floats) || floats > KSPLIT_MAX_FLOATS)
        return NULL;
    if (ctx->gemm_part_floats < floats) {
        mlp__free_aligned(ctx, ctx->gemm_part);
        ctx->gemm_part_floats = 0;
        ctx->gemm_part = (float *)mlp__alloc_aligned_quiet(ctx, floats * sizeof(float));
        if (!ctx->gemm_part)
            return NULL;
        ctx->gemm_part_floats = floats;
    }
    return ctx->gemm_part;
}

/* The first block's length when j's product is split over K, else 0:
 * two threads, a plain product (B's rows are K) with more rows of B than
 * of A, K in exactly two blocks, alpha 1 (the last block's sums are then
 * added unscaled), and more than one row (one row runs K in one pass,
 * not in blocks). */
static int64_t ksplit_k0(const gemm_job *j, int nt)
{
    const int64_t K0 = mlp__gemm_kblock(j->ctx->gemm, j->ta, j->tb, j->K);
    if (nt != 2 || j->ta || j->tb || j->alpha != 1.0f || j->M < 2 || j->K <= j->M
        || (j->K + K0 - 1) / K0 != 2)
        return 0;
    return K0;
}

static void gemm_run(mlp_ctx *ctx, int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                     const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                     int64_t ldc, const mlp__epilogue *ep)
{
    gemm_job j;
    int64_t units;
    int nt = ctx->threads < ctx->gemm_work_threads ? ctx->threads : ctx->gemm_work_threads;
    /* the bias and ReLU by the tiles as they store, not a pass after
       (the same bits): an activation other than ReLU stays a pass (rest) */
    const int in_tiles = ep && mlp__act_bias_relu(ep->act);
    const mlp__epilogue *rest = in_tiles ? NULL : ep;
    const float *bias = in_tiles ? ep->b : NULL;
    const int relu = in_tiles && ep->act == MLP_ACT_RELU;
    if (nt < 2 || !ctx->pool || M * N * K < MLP__GEMM_SPLIT_MIN) {
        mlp__sgemm_bias_relu(ctx->gemm, ta, tb, K, alpha, A, lda, NULL, B, ldb, NULL, beta, C, ldc,
                             0, M, 0, N, bias, relu, ctx->gemm_work);
        if (rest)
            epilogue(rest, C, ldc, N, 0, M);
        return;
    }
    memset(&j, 0, sizeof j);
    j.ctx = ctx;
    j.ta = ta;
    j.tb = tb;
    j.M = M;
    j.N = N;
    j.K = K;
    j.alpha = alpha;
    j.beta = beta;
    j.A = A;
    j.B = B;
    j.C = C;
    j.lda = lda;
    j.ldb = ldb;
    j.ldc = ldc;
    j.ep = ep; /* split over K: the pass that adds the sums applies it */
    if ((j.K0 = ksplit_k0(&j, nt)) > 0 && (j.P = part_buffer(ctx, M, N))) {
        mlp__parallel_for(ctx, 2, 1, ksplit_part, &j);
        mlp__parallel_for(ctx, M, (MLP__PAR_MIN_STREAM + N - 1) / N, ksplit_add, &j);
        return;
    }
    j.ep = rest;
    j.bias = bias;
    j.relu = relu;
    /* split the longer side, in whole register tiles; at two threads a
       weight's gradient A^T B with more rows than the batch K (the weight
       of a product split over K, above) by rows: each thread writes the
       gradient of the rows of W it reads in the forward and updates */
    j.split_rows = M >= N || (nt == 2 && ta && !tb && M > K);
    j.unit = j.split_rows ? ctx->gemm->mr : ctx->gemm->nr;
    units = ((j.split_rows ? M : N) + j.unit - 1) / j.unit;
    /* one block per thread: every block packs its own copy of the other
       operand, so more blocks would repeat that work */
    mlp__parallel_for(ctx, units, units / nt, gemm_part, &j);
    /* a part of columns leaves ep to a pass by rows: a thread walking its
       segment of every row in place draws the other's next lines over */
    if (rest && !j.split_rows)
        mlp__parallel_for(ctx, M, (MLP__PAR_MIN_STREAM + N - 1) / N, epilogue_part, &j);
}

void mlp__gemm_ep(mlp_ctx *ctx, int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                  int64_t ldc, const mlp__epilogue *ep)
{
    if (ctx->gemm_hook)
        ctx->gemm_hook(ctx->gemm_hook_user, 0);
    gemm_run(ctx, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ep);
    if (ctx->gemm_hook)
        ctx->gemm_hook(ctx->gemm_hook_user, 1);
}

void mlp__gemm(mlp_ctx *ctx, int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
               const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
               int64_t ldc)
{
    mlp__gemm_ep(ctx, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL);
}
