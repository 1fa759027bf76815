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

static const mlp__op op_mse = {"mlp_mse", mse_bwd, 3u, 0};

mlp_tensor *mlp_mse(mlp_tensor *pred, mlp_tensor *target)
{
    static const char *const names[2] = {"pred", "target"};
    mlp_tensor *in[2];
    mlp_ctx *ctx;
    mlp_tensor *loss;
    double s = 0.0;
    int64_t i;
    char sp[64], st[64];
    in[0] = pred;
    in[1] = target;
    if (!(ctx = mlp__args(__func__, in, names, 2)))
        return NULL;
    if (pred->numel != target->numel) {
        mlp__fail(ctx, MLP_ERR_SHAPE, "%s: pred %s and target %s differ in element count", __func__,
                  mlp__shape_str(pred, sp, sizeof sp), mlp__shape_str(target, st, sizeof st));
        return NULL;
    }
    if (!(loss = mlp__result(ctx, __func__, 0, NULL)))
        return NULL;
    for (i = 0; i < pred->numel; i++) {
        double d = (double)pred->data[i] - (double)target->data[i];
        s += d * d;
    }
    loss->data[0] = pred->numel ? (float)(s / (double)pred->numel) : NAN;
    if (mlp__should_record(ctx, in, 2) && !mlp__record(ctx, &op_mse, loss, in, 2))
        return NULL;
    return mlp__op_done(ctx, __func__, loss);
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

static const mlp__op op_ce = {"mlp_cross_entropy", ce_bwd, 0u, 0};

mlp_tensor *mlp_cross_entropy(mlp_tensor *logits, mlp_tensor *labels)
{
    static const char *const names[2] = {"logits", "labels"};
    mlp_tensor *in[2];
    mlp_ctx *ctx;
    mlp_tensor *loss, *grad = NULL;
    mlp__node *node;
    int64_t rows, k, r, c;
    double s = 0.0;
    char sl[64], sy[64];
    in[0] = logits;
    in[1] = labels;
    if (!(ctx = mlp__args(__func__, in, names, 2)))
        return NULL;
    if (logits->ndim < 1 || logits->ndim > 2 || labels->ndim > 1
        || labels->numel != (logits->ndim == 2 ? logits->shape[0] : 1)) {
        mlp__fail(ctx, MLP_ERR_SHAPE, "%s: logits %s and labels %s do not fit (need [n,k] and [n])",
                  __func__, mlp__shape_str(logits, sl, sizeof sl),
                  mlp__shape_str(labels, sy, sizeof sy));
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
    for (r = 0; r < rows; r++) {
        const float *x = logits->data + r * k;
        int64_t y = (int64_t)labels->data[r];
        float m = x[0], ls, sum = 0.0f;
        for (c = 1; c < k; c++)
            m = x[c] > m ? x[c] : m;
        for (c = 0; c < k; c++)
            sum += expf(x[c] - m);
        ls = logf(sum);
        /* logsumexp - x[y] = (max - x[y]) + log(sum exp(x - max)) */
        s += ((double)m - (double)x[y]) + (double)ls;
        if (grad) {
            float *g = grad->data + r * k, inv = 1.0f / (float)rows;
            for (c = 0; c < k; c++)
                g[c] = expf((x[c] - m) - ls) * inv;
            g[y] -= inv;
        }
    }
    loss->data[0] = rows ? (float)(s / (double)rows) : NAN;
    if (grad) {
        /* labels are not an input of the graph: no gradient flows to them */
        if (!(node = mlp__record(ctx, &op_ce, loss, &logits, 1)))
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
        if (gin[0]) { /* d/dx = sigmoid(x) - t */
            float s = x[i] >= 0.0f ? 1.0f / (1.0f + expf(-x[i])) : expf(x[i]) / (1.0f + expf(x[i]));
            gin[0][i] += k * (s - t[i]);
        }
        if (gin[1]) /* d/dt = -x */
            gin[1][i] -= k * x[i];
    }
}

static const mlp__op op_bce = {"mlp_bce_with_logits", bce_bwd, 3u, 0};

mlp_tensor *mlp_bce_with_logits(mlp_tensor *logits, mlp_tensor *targets)
{
    static const char *const names[2] = {"logits", "targets"};
    mlp_tensor *in[2];
    mlp_ctx *ctx;
    mlp_tensor *loss;
    double s = 0.0;
    int64_t i;
    char sl[64], st[64];
    in[0] = logits;
    in[1] = targets;
    if (!(ctx = mlp__args(__func__, in, names, 2)))
        return NULL;
    if (!mlp__same_shape(logits, targets)) {
        mlp__fail(ctx, MLP_ERR_SHAPE, "%s: logits %s and targets %s differ in shape", __func__,
                  mlp__shape_str(logits, sl, sizeof sl), mlp__shape_str(targets, st, sizeof st));
        return NULL;
    }
    if (!(loss = mlp__result(ctx, __func__, 0, NULL)))
        return NULL;
    for (i = 0; i < logits->numel; i++) {
        double x = logits->data[i], t = targets->data[i];
        s += (x > 0.0 ? x : 0.0) - x * t + log1p(exp(-fabs(x)));
    }
    loss->data[0] = logits->numel ? (float)(s / (double)logits->numel) : NAN;
    if (mlp__should_record(ctx, in, 2) && !mlp__record(ctx, &op_bce, loss, in, 2))
        return NULL;
    return mlp__op_done(ctx, __func__, loss);
}
