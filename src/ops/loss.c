/*
 * loss.c - the losses and their backward passes, each a scalar mean over
 * the batch: mean squared error, softmax cross-entropy over integer labels
 * (fused: forward keeps the gradient (softmax - onehot) / n for backward)
 * and binary cross-entropy with logits.
 */
#include <math.h>

#include "ops/ops.h"

/* ---- mse: mean((p - t)^2), p and t with the same element count ---- */

static void mse_bwd(mlp_ctx *ctx, mlp__node *n, const float *gout, float *const *gin)
{
    const float *p = n->in[0]->data, *t = n->in[1]->data;
    int64_t i, len = n->in[0]->numel;
    float k = len ? 2.0f * gout[0] / (float)len : 0.0f;
    (void)ctx;
    for (i = 0; i < len; i++) {
        float d = k * (p[i] - t[i]);
        if (gin[0])
            gin[0][i] += d;
        if (gin[1])
            gin[1][i] -= d;
    }
}

static const mlp__op op_mse = {mse_bwd, 3u, 0, 0u};

/* The mean over the elements of a term of (a[i], b[i]), computed in double:
 * mse's and bce's forward. */
enum { LOSS_MSE, LOSS_BCE };

static mlp_tensor *mean_loss(const char *fn, const mlp__op *op, int kind, const char *const *names,
                             mlp_tensor *a, mlp_tensor *b)
{
    mlp_tensor *in[2];
    mlp_ctx *ctx;
    mlp_tensor *loss;
    double s = 0.0;
    int64_t i;
    if (!(ctx = mlp__args2(fn, in, a, b, names)))
        return NULL;
    if (kind == LOSS_MSE ? a->numel != b->numel : !mlp__same_shape(a, b)) {
        mlp__fail_shapes(ctx, fn, names[0], a, names[1], b,
                         kind == LOSS_MSE ? "differ in element count" : "differ in shape");
        return NULL;
    }
    if (!(loss = mlp__result(ctx, fn, 0, NULL)))
        return NULL;
    for (i = 0; i < a->numel; i++) {
        double x = a->data[i], t = b->data[i], d = x - t;
        s += kind == LOSS_MSE ? d * d : (x > 0.0 ? x : 0.0) - x * t + log1p(exp(-fabs(x)));
    }
    loss->data[0] = a->numel ? (float)(s / (double)a->numel) : NAN;
    if (mlp__should_record(ctx, in, 2) && !mlp__record(ctx, fn, op, loss, in, 2))
        return NULL;
    return mlp__op_done(ctx, fn, loss);
}

mlp_tensor *mlp_mse(mlp_tensor *pred, mlp_tensor *target)
{
    static const char *const names[2] = {"pred", "target"};
    return mean_loss(__func__, &op_mse, LOSS_MSE, names, pred, target);
}

/* ---- cross_entropy: logits [n,k] (or [k]), labels [n] ---- */

/* saved[0] holds d loss / d logits = (softmax - onehot) / n */
static void ce_bwd(mlp_ctx *ctx, mlp__node *n, const float *gout, float *const *gin)
{
    const float *g = n->saved[0]->data;
    int64_t i, len = n->saved[0]->numel;
    float s = gout[0];
    (void)ctx;
    for (i = 0; i < len; i++)
        gin[0][i] += s * g[i];
}

static const mlp__op op_ce = {ce_bwd, 0u, 0, 0u};

/* Rows of the loss per hand-off to the threads. */
#define CE_CHUNK 512

mlp_tensor *mlp_cross_entropy(mlp_tensor *logits, mlp_tensor *labels)
{
    static const char *const names[2] = {"logits", "labels"};
    mlp_tensor *in[2];
    mlp_ctx *ctx;
    mlp_tensor *loss, *grad = NULL;
    mlp__node *node;
    int64_t rows, k, r, r0;
    float ml[2 * CE_CHUNK]; /* each row's max and log-sum-exp */
    double s = 0.0;
    if (!(ctx = mlp__args2(__func__, in, logits, labels, names)))
        return NULL;
    if (logits->ndim < 1 || logits->ndim > 2 || labels->ndim > 1
        || labels->numel != (logits->ndim == 2 ? logits->shape[0] : 1)) {
        mlp__fail_shapes(ctx, __func__, "logits", logits, "labels", labels,
                         "do not fit (need [n,k] and [n])");
        return NULL;
    }
    mlp__rows_cols(logits, &rows, &k);
    rows = labels->numel;
    for (r = 0; r < rows; r++) {
        float y = labels->data[r];
        if (!(y >= 0.0f && y < (float)k) || floorf(y) != y) {
            mlp__fail(ctx, MLP_ERR_RANGE, "%s: labels[%lld] = %g is not a class index in [0, %lld)",
                      __func__, (long long)r, (double)y, (long long)k);
            return NULL;
        }
    }
    if (!(loss = mlp__result(ctx, __func__, 0, NULL)))
        return NULL;
    if (mlp__should_record(ctx, &logits, 1)
        && !(grad = mlp__result(ctx, __func__, logits->ndim, logits->shape)))
        return NULL;
    /* the rows in chunks, each split across the threads; the loss summed
       over them in order on this thread */
    for (r0 = 0; r0 < rows; r0 += CE_CHUNK) {
        int64_t nr = rows - r0 < CE_CHUNK ? rows - r0 : CE_CHUNK;
        const float *x = logits->data + r0 * k, *y = labels->data + r0;
        mlp__par_ce_rows(ctx, ml, grad ? grad->data + r0 * k : NULL, x, y, nr, k,
                         1.0f / (float)rows);
        /* logsumexp - x[y] = (max - x[y]) + log(sum exp(x - max)) */
        for (r = 0; r < nr; r++)
            s += ((double)ml[2 * r] - (double)x[r * k + (int64_t)y[r]]) + (double)ml[2 * r + 1];
    }
    loss->data[0] = rows ? (float)(s / (double)rows) : NAN;
    if (grad) {
        /* labels are not an input of the graph: no gradient flows to them */
        if (!(node = mlp__record(ctx, __func__, &op_ce, loss, &logits, 1)))
            return NULL;
        mlp__node_save(node, grad);
    }
    return mlp__op_done(ctx, __func__, loss);
}

/* ---- bce_with_logits: mean(max(x,0) - x t + log(1 + exp(-|x|))) ---- */

static void bce_bwd(mlp_ctx *ctx, mlp__node *n, const float *gout, float *const *gin)
{
    const float *x = n->in[0]->data, *t = n->in[1]->data;
    int64_t i, len = n->in[0]->numel;
    float k = len ? gout[0] / (float)len : 0.0f;
    (void)ctx;
    for (i = 0; i < len; i++) {
        if (gin[0]) /* d/dx = sigmoid(x) - t */
            gin[0][i] += k * (mlp__sigmoid(x[i]) - t[i]);
        if (gin[1]) /* d/dt = -x */
            gin[1][i] -= k * x[i];
    }
}

static const mlp__op op_bce = {bce_bwd, 3u, 0, 0u};

mlp_tensor *mlp_bce_with_logits(mlp_tensor *logits, mlp_tensor *targets)
{
    static const char *const names[2] = {"logits", "targets"};
    return mean_loss(__func__, &op_bce, LOSS_BCE, names, logits, targets);
}
