/*
 * act.c - the activation ops and their backward passes: relu, sigmoid,
 * tanh, leaky_relu, gelu, step (one op each over the vec.h kernels),
 * prelu with a learnable alpha, row-wise softmax and log_softmax, dropout.
 */
#include <math.h>

#include "ops/ops.h"

/* ---- element-wise activations: y = f(x), any shape ---- */

static void act_bwd(mlp_ctx *ctx, mlp__node *n, const float *gout, float *const *gin)
{
    mlp__par_act_bwd(ctx, n->p.act.act, n->fresh & 1u, gin[0], gout, n->in[0]->data, n->out->data,
                     n->out->numel, n->p.act.slope);
}

/* saves_inputs / saves_output say which values each derivative reads */
static const mlp__op op_identity = {act_bwd, 0u, 0, 1u};
static const mlp__op op_relu = {act_bwd, 0u, 1, 1u};
static const mlp__op op_sigmoid = {act_bwd, 0u, 1, 1u};
static const mlp__op op_tanh = {act_bwd, 0u, 1, 1u};
static const mlp__op op_leaky = {act_bwd, 1u, 0, 1u};
static const mlp__op op_gelu = {act_bwd, 1u, 0, 1u};
static const mlp__op op_step = {act_bwd, 0u, 0, 1u};

static mlp_tensor *unary_act(const char *fn, const mlp__op *op, int act, mlp_tensor *x, float param)
{
    static const char *const names[1] = {"x"};
    mlp_ctx *ctx;
    mlp_tensor *y;
    mlp__op_params p;
    if (!(ctx = mlp__args(fn, &x, names, 1)))
        return NULL;
    if (!(y = mlp__result(ctx, fn, x->ndim, x->shape)))
        return NULL;
    mlp__par_act_fwd(ctx, act, y->data, x->data, x->numel, param);
    p.act.act = act;
    p.act.slope = param;
    if (!mlp__record_params(ctx, fn, op, y, &x, 1, p))
        return NULL;
    return mlp__op_done(ctx, fn, y);
}

mlp_tensor *mlp_relu(mlp_tensor *x)
{
    return unary_act(__func__, &op_relu, MLP_ACT_RELU, x, 0.0f);
}
mlp_tensor *mlp_sigmoid(mlp_tensor *x)
{
    return unary_act(__func__, &op_sigmoid, MLP_ACT_SIGMOID, x, 0.0f);
}
mlp_tensor *mlp_tanh(mlp_tensor *x)
{
    return unary_act(__func__, &op_tanh, MLP_ACT_TANH, x, 0.0f);
}
mlp_tensor *mlp_leaky_relu(mlp_tensor *x, float slope)
{
    return unary_act(__func__, &op_leaky, MLP_ACT_LEAKY_RELU, x, slope);
}
mlp_tensor *mlp_gelu(mlp_tensor *x)
{
    return unary_act(__func__, &op_gelu, MLP_ACT_GELU, x, 0.0f);
}
mlp_tensor *mlp_step(mlp_tensor *x)
{
    return unary_act(__func__, &op_step, MLP_ACT_STEP, x, 0.0f);
}

mlp_tensor *mlp_activation(mlp_tensor *x, mlp_act act)
{
    switch (act) {
    case MLP_ACT_IDENTITY: return unary_act(__func__, &op_identity, MLP_ACT_IDENTITY, x, 0.0f);
    case MLP_ACT_RELU: return mlp_relu(x);
    case MLP_ACT_SIGMOID: return mlp_sigmoid(x);
    case MLP_ACT_TANH: return mlp_tanh(x);
    case MLP_ACT_LEAKY_RELU: return mlp_leaky_relu(x, 0.01f);
    case MLP_ACT_GELU: return mlp_gelu(x);
    case MLP_ACT_STEP: return mlp_step(x);
    case MLP_ACT_PRELU:
    default: break;
    }
    if (!x)
        return NULL;
    if (act == MLP_ACT_PRELU)
        mlp__fail(x->ctx, MLP_ERR_ARG, "%s: MLP_ACT_PRELU needs mlp_prelu and its alpha", __func__);
    else
        mlp__fail(x->ctx, MLP_ERR_ARG, "%s: act = %d is not an activation", __func__, (int)act);
    return NULL;
}

const char *mlp_act_name(mlp_act act)
{
    switch (act) {
    case MLP_ACT_IDENTITY: return "identity";
    case MLP_ACT_RELU: return "relu";
    case MLP_ACT_SIGMOID: return "sigmoid";
    case MLP_ACT_TANH: return "tanh";
    case MLP_ACT_LEAKY_RELU: return "leaky_relu";
    case MLP_ACT_GELU: return "gelu";
    case MLP_ACT_STEP: return "step";
    case MLP_ACT_PRELU: return "prelu";
    }
    return "unknown";
}

/* ---- prelu: y [rows,cols] = x > 0 ? x : alpha x, alpha [1] or [cols] ---- */

static void prelu_bwd(mlp_ctx *ctx, mlp__node *n, const float *gout, float *const *gin)
{
    (void)ctx;
    mlp__prelu_bwd(gin[0], gin[1], gout, n->in[0]->data, n->in[1]->data, n->in[1]->numel,
                   n->p.rowwise.rows, n->p.rowwise.cols);
}

static const mlp__op op_prelu = {prelu_bwd, 3u, 0, 0u};

mlp_tensor *mlp_prelu(mlp_tensor *x, mlp_tensor *alpha)
{
    static const char *const names[2] = {"x", "alpha"};
    mlp_tensor *in[2];
    mlp_ctx *ctx;
    mlp_tensor *y;
    mlp__op_params p;
    int64_t rows, cols;
    if (!(ctx = mlp__args2(__func__, in, x, alpha, names)))
        return NULL;
    mlp__rows_cols(x, &rows, &cols);
    if (alpha->numel != 1 && (x->ndim == 0 || alpha->numel != cols)) {
        mlp__fail_shapes(ctx, __func__, "x", x, "alpha", alpha,
                         "do not fit (alpha needs one element or one per column of x)");
        return NULL;
    }
    if (!(y = mlp__result(ctx, __func__, x->ndim, x->shape)))
        return NULL;
    mlp__prelu_fwd(y->data, x->data, alpha->data, alpha->numel, rows, cols);
    p.rowwise.rows = rows;
    p.rowwise.cols = cols;
    if (!mlp__record_params(ctx, __func__, &op_prelu, y, in, 2, p))
        return NULL;
    return mlp__op_done(ctx, __func__, y);
}

/* ---- softmax / log_softmax over the last dimension ---- */

/* softmax: dx = y (dy - sum(dy y)) per row */
static void softmax_bwd(mlp_ctx *ctx, mlp__node *n, const float *gout, float *const *gin)
{
    int64_t rows = n->p.rowwise.rows, cols = n->p.rowwise.cols, r, c;
    const float *y = n->out->data;
    (void)ctx;
    for (r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *gr = gout + r * cols;
        float *dr = gin[0] + r * cols, dot = 0.0f;
        for (c = 0; c < cols; c++)
            dot += gr[c] * yr[c];
        for (c = 0; c < cols; c++)
            dr[c] += yr[c] * (gr[c] - dot);
    }
}

/* log_softmax: dx = dy - exp(y) sum(dy) per row */
static void log_softmax_bwd(mlp_ctx *ctx, mlp__node *n, const float *gout, float *const *gin)
{
    int64_t rows = n->p.rowwise.rows, cols = n->p.rowwise.cols, r, c;
    const float *y = n->out->data;
    (void)ctx;
    for (r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *gr = gout + r * cols;
        float *dr = gin[0] + r * cols, s = 0.0f;
        for (c = 0; c < cols; c++)
            s += gr[c];
        for (c = 0; c < cols; c++)
            dr[c] += gr[c] - expf(yr[c]) * s;
    }
}

static const mlp__op op_softmax = {softmax_bwd, 0u, 1, 0u};
static const mlp__op op_log_softmax = {log_softmax_bwd, 0u, 1, 0u};

static mlp_tensor *rowwise(const char *fn, const mlp__op *op, int log, mlp_tensor *x)
{
    static const char *const names[1] = {"x"};
    mlp_ctx *ctx;
    mlp_tensor *y;
    mlp__op_params p;
    int64_t rows, cols;
    if (!(ctx = mlp__args(fn, &x, names, 1)))
        return NULL;
    mlp__rows_cols(x, &rows, &cols);
    if (!(y = mlp__result(ctx, fn, x->ndim, x->shape)))
        return NULL;
    if (log)
        mlp__log_softmax_rows(y->data, x->data, rows, cols);
    else
        mlp__softmax_rows(y->data, x->data, rows, cols);
    p.rowwise.rows = rows;
    p.rowwise.cols = cols;
    if (!mlp__record_params(ctx, fn, op, y, &x, 1, p))
        return NULL;
    return mlp__op_done(ctx, fn, y);
}

mlp_tensor *mlp_softmax(mlp_tensor *x)
{
    return rowwise(__func__, &op_softmax, 0, x);
}
mlp_tensor *mlp_log_softmax(mlp_tensor *x)
{
    return rowwise(__func__, &op_log_softmax, 1, x);
}

/* ---- dropout: y = x * mask, mask 0 or 1/(1-p), saved for backward ---- */

static void dropout_bwd(mlp_ctx *ctx, mlp__node *n, const float *gout, float *const *gin)
{
    const float *mask = n->saved[0]->data;
    int64_t i, len = n->out->numel;
    (void)ctx;
    for (i = 0; i < len; i++)
        gin[0][i] += gout[i] * mask[i];
}

static const mlp__op op_dropout = {dropout_bwd, 0u, 0, 0u};

mlp_tensor *mlp_dropout(mlp_tensor *x, float p)
{
    static const char *const names[1] = {"x"};
    mlp_ctx *ctx;
    mlp_tensor *y, *mask = NULL;
    mlp__node *node;
    float keep;
    int64_t i;
    int rec;
    if (!(ctx = mlp__args(__func__, &x, names, 1)))
        return NULL;
    if (!(p >= 0.0f && p < 1.0f)) {
        mlp__fail(ctx, MLP_ERR_ARG, "%s: p = %g must be in [0, 1)", __func__, (double)p);
        return NULL;
    }
    keep = 1.0f / (1.0f - p);
    rec = mlp__should_record(ctx, &x, 1);
    if (!(y = mlp__result(ctx, __func__, x->ndim, x->shape)))
        return NULL;
    if (rec && !(mask = mlp__result(ctx, __func__, x->ndim, x->shape)))
        return NULL;
    for (i = 0; i < x->numel; i++) {
        float m = mlp__rng_uniform(&ctx->rng) < p ? 0.0f : keep;
        y->data[i] = x->data[i] * m;
        if (mask)
            mask->data[i] = m;
    }
    if (rec) {
        if (!(node = mlp__record(ctx, __func__, &op_dropout, y, &x, 1)))
            return NULL;
        mlp__node_save(node, mask);
    }
    return mlp__op_done(ctx, __func__, y);
}
