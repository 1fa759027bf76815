/*
 * ops.h - helpers shared by the differentiable ops: the argument and
 * shape checks two-input ops begin with, recording with the op's named
 * parameters, the finishing check every op ends with, rows x cols of a tensor seen as a matrix over its
 * last dimension, and a matrix product for backward that never allocates.
 */
#ifndef MLP_OPS_H
#define MLP_OPS_H

#include "core.h"
#include "kern/vec.h"

/* The op's result, or NULL when finite checks are on and it has NaN/Inf. */
static inline mlp_tensor *mlp__op_done(mlp_ctx *ctx, const char *fn, mlp_tensor *out)
{
    return mlp__check_finite(ctx, fn, out) == MLP_OK ? out : NULL;
}

/* in[0..1] = a, b and the context they share (mlp__args: NULL after
 * recording which of names[0..1] is NULL or in another context). */
static inline mlp_ctx *mlp__args2(const char *fn, mlp_tensor **in, mlp_tensor *a, mlp_tensor *b,
                                  const char *const *names)
{
    in[0] = a;
    in[1] = b;
    return mlp__args(fn, in, names, 2);
}

/* Record MLP_ERR_SHAPE "fn: an [..] and bn [..] why" for two inputs whose
 * shapes do not go together. */
static inline void mlp__fail_shapes(mlp_ctx *ctx, const char *fn, const char *an,
                                    const mlp_tensor *a, const char *bn, const mlp_tensor *b,
                                    const char *why)
{
    char sa[64], sb[64];
    mlp__fail(ctx, MLP_ERR_SHAPE, "%s: %s %s and %s %s %s", fn, an,
              mlp__shape_str(a, sa, sizeof sa), bn, mlp__shape_str(b, sb, sizeof sb), why);
}

/* Record out = op(in[0..nin-1]) in fn keeping p, when grad mode is on and
 * an input requires grad. 0 when recording failed (MLP_ERR_NOMEM
 * recorded), 1 otherwise. */
static inline int mlp__record_params(mlp_ctx *ctx, const char *fn, const mlp__op *op,
                                     mlp_tensor *out, mlp_tensor *const *in, int nin,
                                     mlp__op_params p)
{
    mlp__node *node;
    if (!mlp__should_record(ctx, in, nin))
        return 1;
    if (!(node = mlp__record(ctx, fn, op, out, in, nin)))
        return 0;
    node->p = p;
    return 1;
}

/* t as rows x cols over its last dimension (a scalar is 1 x 1). */
static inline void mlp__rows_cols(const mlp_tensor *t, int64_t *rows, int64_t *cols)
{
    *cols = t->ndim ? t->shape[t->ndim - 1] : 1;
    *rows = *cols ? t->numel / *cols : 0;
}

/* C = op(A) op(B) + C for backward, or C = op(A) op(B) when set (a fresh
 * gradient buffer: mlp__op.overwrites), with ctx's kernel and the
 * workspace forward made (mlp_ctx_set_gemm_kernel keeps it fitting);
 * never allocates. */
void mlp__gemm_acc(mlp_ctx *ctx, int set, int ta, int tb, int64_t M, int64_t N, int64_t K,
                   const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc);

/* relu(mlp_linear(x, w, b)) as one op, the same bits as the two: bias
 * and ReLU applied as the product's epilogue (mlp__gemm_ep), ReLU's
 * derivative formed in place in the node's gradient buffer. */
mlp_tensor *mlp__linear_relu(mlp_tensor *x, mlp_tensor *w, mlp_tensor *b);

/* The element-wise passes of a step split across ctx's threads (par.c):
 * each runs the vec.h / vec_fast.h kernel of the same name, on the caller
 * alone below the size where a hand-off to the pool pays, else on parts
 * of its range. Parts are whole blocks of 64 elements (or whole rows, or
 * blocks of 64 columns each summed over every row in order by one
 * thread), so every element goes through the same instructions as in one
 * serial call: the same bits at any thread count. */
void mlp__par_act_fwd(mlp_ctx *ctx, int act, float *y, const float *x, int64_t n, float param);
void mlp__par_act_bwd(mlp_ctx *ctx, int act, int set, float *dx, const float *dy, const float *x,
                      const float *y, int64_t n, float param);
void mlp__par_relu_mask(mlp_ctx *ctx, float *g, const float *y, int64_t n);
void mlp__par_col_sums_acc(mlp_ctx *ctx, float *db, const float *g, int64_t rows, int64_t cols);
void mlp__par_ce_rows(mlp_ctx *ctx, float *ml, float *g, const float *x, const float *labels,
                      int64_t rows, int64_t k, float inv);

#endif
