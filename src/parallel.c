/*
 * parallel.c - the thread count and the matrix product through the
 * context. Single-threaded for now: mlp__gemm runs the whole product on
 * the calling thread.
 */
#include "core.h"

mlp_status mlp_ctx_set_threads(mlp_ctx *ctx, int n)
{
    if (!ctx)
        return MLP_ERR_NULL;
    if (n < 1)
        return mlp__fail(ctx, MLP_ERR_ARG, "mlp_ctx_set_threads: n = %d must be >= 1", n);
    if (n > 1)
        return mlp__fail(ctx, MLP_ERR_UNSUPPORTED,
                         "mlp_ctx_set_threads: this build has no thread support");
    ctx->threads = n;
    return MLP_OK;
}

void mlp__pool_destroy(mlp_ctx *ctx) { (void)ctx; }

void mlp__gemm(mlp_ctx *ctx, int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
               const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
               float *C, int64_t ldc)
{
    mlp__sgemm(ctx->gemm, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ctx->gemm_work);
}
