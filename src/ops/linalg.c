/*
 * linalg.c - the linear-algebra ops and their backward passes: matmul and
 * the fused affine map (through the context's sgemm), add / sub / mul
 * with a bias broadcast along rows, scale, sum, mean, reshape, transpose.
 */
#include <math.h>
#include <string.h>

#include "kern/vec.h"
#include "ops/ops.h"

void mlp__gemm_acc(mlp_ctx *ctx, int set, int ta, int tb, int64_t M, int64_t N, int64_t K,
                   const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc)
{
    /* K == 0 with set: beta 0 makes C zeros */
    if (M && N && (K || set))
        mlp__gemm(ctx, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, set ? 0.0f : 1.0f, C, ldc);
}

/* ---- matmul: a [M,K] (or [K]) x b [K,N] (or [K]) ---- */

/* C = A B, A [M,K] and B [K,N] the node's first two inputs: the gradients
 * of A and B (matmul's, and linear's x and w). */
static void product_bwd(mlp_ctx *ctx, mlp__node *n, const float *gout, float *const *gin)
{
    int64_t M = n->p.matmul.m, N = n->p.matmul.n, K = n->p.matmul.k;
    const float *A = n->in[0]->data, *B = n->in[1]->data;
    if (gin[0]) /* dA [M,K] += dC [M,N] . B^T */
        mlp__gemm_acc(ctx, n->fresh & 1u, 0, 1, M, K, N, gout, N, B, N, gin[0], K);
    if (gin[1]) /* dB [K,N] += A^T . dC */
        mlp__gemm_acc(ctx, n->fresh & 2u, 1, 0, K, N, M, A, K, gout, N, gin[1], N);
}

static void matmul_bwd(mlp_ctx *ctx, mlp__node *n, const float *gout, float *const *gin)
{
    product_bwd(ctx, n, gout, gin);
}

static const mlp__op op_matmul = {matmul_bwd, 3u, 0, 3u};

mlp_tensor *mlp_matmul(mlp_tensor *a, mlp_tensor *b)
{
    static const char *const names[2] = {"a", "b"};
    mlp_tensor *in[2];
    mlp_ctx *ctx;
    mlp_tensor *c;
    mlp__op_params p;
    int64_t M, N, K, shape[2];
    int nd = 0;
    if (!(ctx = mlp__args2(__func__, in, a, b, names)))
        return NULL;
    if (a->ndim < 1 || a->ndim > 2 || b->ndim < 1 || b->ndim > 2
        || a->shape[a->ndim - 1] != b->shape[0]) {
        mlp__fail_shapes(ctx, __func__, "a", a, "b", b, "do not fit (need [m,k] and [k,n])");
        return NULL;
    }
    M = a->ndim == 2 ? a->shape[0] : 1;
    K = a->shape[a->ndim - 1];
    N = b->ndim == 2 ? b->shape[1] : 1;
    if (a->ndim == 2)
        shape[nd++] = M;
    if (b->ndim == 2)
        shape[nd++] = N;
    if (mlp__gemm_ready(ctx, __func__) != MLP_OK)
        return NULL;
    if (!(c = mlp__result(ctx, __func__, nd, shape)))
        return NULL;
    if (M && N)
        mlp__gemm(ctx, 0, 0, M, N, K, 1.0f, a->data, K, b->data, N, 0.0f, c->data, N);
    p.matmul.m = M;
    p.matmul.n = N;
    p.matmul.k = K;
    if (!mlp__record_params(ctx, __func__, &op_matmul, c, in, 2, p))
        return NULL;
    return mlp__op_done(ctx, __func__, c);
}

/* ---- linear: x [n,in] (or [in]) . w [in,out] + b [out] ---- */

/* y = x w + b: x [rows,in] and w [in,out] are a product with m = rows,
 * k = in, n = out */
static void linear_bwd(mlp_ctx *ctx, mlp__node *n, const float *gout, float *const *gin)
{
    product_bwd(ctx, n, gout, gin);
    if (n->nin > 2 && gin[2]) /* db [out] += column sums of dy */
        mlp__par_col_sums_acc(ctx, gin[2], gout, n->p.matmul.m, n->p.matmul.n);
}

static const mlp__op op_linear = {linear_bwd, 3u, 0, 3u};

/* h = relu(x w + b): the gradient of x w + b is gout masked where h is 0,
 * formed in gout itself (the node's own buffer, which the walk drops right
 * after this call). */
static void linear_relu_bwd(mlp_ctx *ctx, mlp__node *n, const float *gout, float *const *gin)
{
    float *g = n->out->gbuf->data; /* gout */
    (void)gout;
    mlp__par_relu_mask(ctx, g, n->out->data, n->out->numel);
    linear_bwd(ctx, n, g, gin);
}

static const mlp__op op_linear_relu = {linear_relu_bwd, 3u, 1, 3u};

/* y = f(x w + b) as fn, f IDENTITY (mlp_linear) or RELU */
static mlp_tensor *linear_act(const char *fn, mlp_tensor *x, mlp_tensor *w, mlp_tensor *b, int act)
{
    static const char *const names[3] = {"x", "w", "b"};
    mlp_tensor *in[3];
    mlp_ctx *ctx;
    mlp_tensor *y;
    mlp__op_params p;
    mlp__epilogue ep;
    int64_t rows, nin, nout, shape[2];
    int nd = 0, n = b ? 3 : 2;
    in[0] = x;
    in[1] = w;
    in[2] = b;
    if (!(ctx = mlp__args(fn, in, names, n)))
        return NULL;
    if (x->ndim < 1 || x->ndim > 2 || w->ndim != 2 || x->shape[x->ndim - 1] != w->shape[0]) {
        mlp__fail_shapes(ctx, fn, "x", x, "w", w, "do not fit (need [n,in] and [in,out])");
        return NULL;
    }
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[1])) {
        mlp__fail_shapes(ctx, fn, "b", b, "w", w, "do not fit (need b [out])");
        return NULL;
    }
    rows = x->ndim == 2 ? x->shape[0] : 1;
    nin = w->shape[0];
    nout = w->shape[1];
    if (x->ndim == 2)
        shape[nd++] = rows;
    shape[nd++] = nout;
    if (mlp__gemm_ready(ctx, fn) != MLP_OK)
        return NULL;
    if (!(y = mlp__result(ctx, fn, nd, shape)))
        return NULL;
    ep.b = b ? b->data : NULL;
    ep.act = act;
    ep.param = 0.0f;
    if (rows && nout)
        mlp__gemm_ep(ctx, 0, 0, rows, nout, nin, 1.0f, x->data, nin, w->data, nout, 0.0f, y->data,
                     nout, b || act != MLP_ACT_IDENTITY ? &ep : NULL);
    p.matmul.m = rows;
    p.matmul.n = nout;
    p.matmul.k = nin;
    if (!mlp__record_params(ctx, fn, act == MLP_ACT_RELU ? &op_linear_relu : &op_linear, y, in, n,
                            p))
        return NULL;
    return mlp__op_done(ctx, fn, y);
}

mlp_tensor *mlp_linear(mlp_tensor *x, mlp_tensor *w, mlp_tensor *b)
{
    return linear_act(__func__, x, w, b, MLP_ACT_IDENTITY);
}

mlp_tensor *mlp__linear_relu(mlp_tensor *x, mlp_tensor *w, mlp_tensor *b)
{
    return linear_act("mlp_linear", x, w, b, MLP_ACT_RELU);
}

/* ---- add / sub / mul: c [.., n] = a op b, b the same shape, [n], [1,n] or one element ---- */

enum { BIN_ADD, BIN_SUB, BIN_MUL };

/* c[r*nb + j] = a[r*nb + j] op b[j]: b repeats every nb elements */
static void binary_bwd(mlp_ctx *ctx, mlp__node *n, const float *gout, float *const *gin)
{
    int kind = n->p.binary.kind;
    int64_t nb = n->p.binary.nb, rows = n->p.binary.rows, r, j;
    const float *a = n->in[0]->data, *b = n->in[1]->data;
    float *da = gin[0], *db = gin[1];
    (void)ctx;
    for (r = 0; r < rows; r++) {
        const float *g = gout + r * nb;
        if (da) {
            float *d = da + r * nb;
            if (kind == BIN_MUL)
                for (j = 0; j < nb; j++)
                    d[j] += g[j] * b[j];
            else
                for (j = 0; j < nb; j++)
                    d[j] += g[j];
        }
        if (db) {
            if (kind == BIN_ADD)
                for (j = 0; j < nb; j++)
                    db[j] += g[j];
            else if (kind == BIN_SUB)
                for (j = 0; j < nb; j++)
                    db[j] -= g[j];
            else
                for (j = 0; j < nb; j++)
                    db[j] += g[j] * a[r * nb + j];
        }
    }
}

static const mlp__op op_add = {binary_bwd, 0u, 0, 0u};
static const mlp__op op_sub = {binary_bwd, 0u, 0, 0u};
static const mlp__op op_mul = {binary_bwd, 3u, 0, 0u};

static int broadcasts(const mlp_tensor *a, const mlp_tensor *b)
{
    if (mlp__same_shape(a, b) || b->numel == 1)
        return 1;
    return a->ndim >= 1 && (b->ndim == 1 || (b->ndim == 2 && b->shape[0] == 1))
           && b->shape[b->ndim - 1] == a->shape[a->ndim - 1];
}

static mlp_tensor *binary(const char *fn, const mlp__op *op, int kind, mlp_tensor *a, mlp_tensor *b)
{
    static const char *const names[2] = {"a", "b"};
    mlp_tensor *in[2];
    mlp_ctx *ctx;
    mlp_tensor *c;
    mlp__op_params p;
    int64_t nb, rows, r, j, shape[MLP_MAX_DIMS];
    int nd;
    if (!(ctx = mlp__args2(fn, in, a, b, names)))
        return NULL;
    if (!broadcasts(a, b)) {
        mlp__fail_shapes(ctx, fn, "a", a, "b", b,
                         "do not fit (b must have a's shape, be a row of a's last dimension, or "
                         "have one element)");
        return NULL;
    }
    nb = b->numel;
    rows = nb ? a->numel / nb : 0;
    /* the broadcast shape, as PyTorch: b's extra leading dimensions are all
       1 (a [n] with b [1,n] gives [1,n]), then a's shape */
    nd = b->ndim > a->ndim ? b->ndim : a->ndim;
    for (j = 0; j < nd; j++)
        shape[j] = j < nd - a->ndim ? 1 : a->shape[j - (nd - a->ndim)];
    if (!(c = mlp__result(ctx, fn, nd, shape)))
        return NULL;
    for (r = 0; r < rows; r++) {
        const float *ar = a->data + r * nb, *bd = b->data;
        float *cr = c->data + r * nb;
        if (kind == BIN_ADD)
            for (j = 0; j < nb; j++)
                cr[j] = ar[j] + bd[j];
        else if (kind == BIN_SUB)
            for (j = 0; j < nb; j++)
                cr[j] = ar[j] - bd[j];
        else
            for (j = 0; j < nb; j++)
                cr[j] = ar[j] * bd[j];
    }
    p.binary.kind = kind;
    p.binary.nb = nb;
    p.binary.rows = rows;
    if (!mlp__record_params(ctx, fn, op, c, in, 2, p))
        return NULL;
    return mlp__op_done(ctx, fn, c);
}

mlp_tensor *mlp_add(mlp_tensor *a, mlp_tensor *b)
{
    return binary(__func__, &op_add, BIN_ADD, a, b);
}
mlp_tensor *mlp_sub(mlp_tensor *a, mlp_tensor *b)
{
    return binary(__func__, &op_sub, BIN_SUB, a, b);
}
mlp_tensor *mlp_mul(mlp_tensor *a, mlp_tensor *b)
{
    return binary(__func__, &op_mul, BIN_MUL, a, b);
}

/* ---- unary ops on a single input: scale, sum, mean, reshape, transpose ---- */

static mlp_ctx *one_arg(const char *fn, mlp_tensor *a)
{
    static const char *const names[1] = {"a"};
    return mlp__args(fn, &a, names, 1);
}

/* record a one-input op (factor: scale's, sum's or mean's p.scale.factor,
 * unused by the others); returns 0 on failure */
static int record1(mlp_ctx *ctx, const char *fn, const mlp__op *op, mlp_tensor *out, mlp_tensor *a,
                   float factor)
{
    mlp__op_params p;
    p.scale.factor = factor;
    return mlp__record_params(ctx, fn, op, out, &a, 1, p);
}

static void scale_bwd(mlp_ctx *ctx, mlp__node *n, const float *gout, float *const *gin)
{
    int64_t i, len = n->out->numel;
    float s = n->p.scale.factor;
    (void)ctx;
    for (i = 0; i < len; i++)
        gin[0][i] += s * gout[i];
}

static const mlp__op op_scale = {scale_bwd, 0u, 0, 0u};

mlp_tensor *mlp_scale(mlp_tensor *a, float s)
{
    mlp_ctx *ctx;
    mlp_tensor *c;
    int64_t i;
    if (!(ctx = one_arg(__func__, a)))
        return NULL;
    if (!(c = mlp__result(ctx, __func__, a->ndim, a->shape)))
        return NULL;
    for (i = 0; i < a->numel; i++)
        c->data[i] = s * a->data[i];
    if (!record1(ctx, __func__, &op_scale, c, a, s))
        return NULL;
    return mlp__op_done(ctx, __func__, c);
}

/* sum and mean: gin[0] += gout[0] * factor (1 or 1/numel) */
static void reduce_bwd(mlp_ctx *ctx, mlp__node *n, const float *gout, float *const *gin)
{
    int64_t i, len = n->in[0]->numel;
    float g = gout[0] * n->p.scale.factor;
    (void)ctx;
    for (i = 0; i < len; i++)
        gin[0][i] += g;
}

static const mlp__op op_sum = {reduce_bwd, 0u, 0, 0u};
static const mlp__op op_mean = {reduce_bwd, 0u, 0, 0u};

static mlp_tensor *reduce(const char *fn, const mlp__op *op, mlp_tensor *a, int mean)
{
    mlp_ctx *ctx;
    mlp_tensor *c;
    double s = 0.0;
    int64_t i;
    if (!(ctx = one_arg(fn, a)))
        return NULL;
    if (!(c = mlp__result(ctx, fn, 0, NULL)))
        return NULL;
    for (i = 0; i < a->numel; i++)
        s += a->data[i];
    if (mean)
        c->data[0] = a->numel ? (float)(s / (double)a->numel) : NAN;
    else
        c->data[0] = (float)s;
    if (!record1(ctx, fn, op, c, a, mean ? (a->numel ? 1.0f / (float)a->numel : 0.0f) : 1.0f))
        return NULL;
    return mlp__op_done(ctx, fn, c);
}

mlp_tensor *mlp_sum(mlp_tensor *a)
{
    return reduce(__func__, &op_sum, a, 0);
}
mlp_tensor *mlp_mean(mlp_tensor *a)
{
    return reduce(__func__, &op_mean, a, 1);
}

static void reshape_bwd(mlp_ctx *ctx, mlp__node *n, const float *gout, float *const *gin)
{
    int64_t i, len = n->out->numel;
    (void)ctx;
    for (i = 0; i < len; i++)
        gin[0][i] += gout[i];
}

static const mlp__op op_reshape = {reshape_bwd, 0u, 0, 0u};

mlp_tensor *mlp_reshape(mlp_tensor *a, int ndim, const int64_t *shape)
{
    mlp_ctx *ctx;
    mlp_tensor *c;
    int64_t numel;
    char sa[64];
    if (!(ctx = one_arg(__func__, a)))
        return NULL;
    if (mlp__check_shape(ctx, __func__, ndim, shape, &numel) != MLP_OK)
        return NULL;
    if (numel != a->numel) {
        mlp__fail(ctx, MLP_ERR_SHAPE, "%s: a %s has %lld elements, the new shape %lld", __func__,
                  mlp__shape_str(a, sa, sizeof sa), (long long)a->numel, (long long)numel);
        return NULL;
    }
    if (!(c = mlp__result(ctx, __func__, ndim, shape)))
        return NULL;
    if (numel)
        memcpy(c->data, a->data, (size_t)numel * sizeof(float));
    if (!record1(ctx, __func__, &op_reshape, c, a, 0.0f))
        return NULL;
    return mlp__op_done(ctx, __func__, c);
}

/* c [n,m] = a^T, a [m,n] */
static void transpose_bwd(mlp_ctx *ctx, mlp__node *n, const float *gout, float *const *gin)
{
    int64_t m = n->in[0]->shape[0], cols = n->in[0]->shape[1], i, j;
    (void)ctx;
    for (i = 0; i < m; i++)
        for (j = 0; j < cols; j++)
            gin[0][i * cols + j] += gout[j * m + i];
}

static const mlp__op op_transpose = {transpose_bwd, 0u, 0, 0u};

mlp_tensor *mlp_transpose(mlp_tensor *a)
{
    mlp_ctx *ctx;
    mlp_tensor *c;
    int64_t shape[2];
    char sa[64];
    if (!(ctx = one_arg(__func__, a)))
        return NULL;
    if (a->ndim != 2) {
        mlp__fail(ctx, MLP_ERR_SHAPE, "%s: a %s is not 2-D", __func__,
                  mlp__shape_str(a, sa, sizeof sa));
        return NULL;
    }
    shape[0] = a->shape[1];
    shape[1] = a->shape[0];
    if (!(c = mlp__result(ctx, __func__, 2, shape)))
        return NULL;
    mlp__transpose(c->data, a->data, a->shape[0], a->shape[1]);
    if (!record1(ctx, __func__, &op_transpose, c, a, 0.0f))
        return NULL;
    return mlp__op_done(ctx, __func__, c);
}
