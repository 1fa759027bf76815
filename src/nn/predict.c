/*
 * predict.c - inference without the tape on raw float arrays: a walk of
 * the layers' predict functions (nn/layers.c) between two ping-pong
 * buffers owned by the model. A kind may apply the next layer in its own
 * pass (a linear layer applies the activation after it with its bias);
 * a layer that is the identity at inference (dropout) writes nothing. The
 * buffers grow only when n (or the model's width) grows, so after the
 * first call for a given n nothing is allocated.
 */
#include <math.h>
#include <string.h>

#include "nn/layers.h"

static int64_t max_width(const mlp_model *m)
{
    int64_t w = 0;
    size_t i;
    for (i = 0; i < m->nlayers; i++) {
        const mlp__layer *L = &m->layers[i];
        if (L->in > w)
            w = L->in;
        if (L->out > w)
            w = L->out;
    }
    return w;
}

static mlp_status workspace(mlp_model *m, const char *fn, int64_t n)
{
    int64_t width = max_width(m);
    size_t floats, bytes;
    float *work;
    if (m->work && n <= m->work_rows && width <= m->work_width)
        return MLP_OK;
    if (n < m->work_rows)
        n = m->work_rows;
    if (!mlp__mul_size((size_t)n, (size_t)width, &floats) || !mlp__mul_size(floats, 2, &floats)
        || !mlp__mul_size(floats, sizeof(float), &bytes))
        return mlp__fail(m->ctx, MLP_ERR_OVERFLOW, "%s: workspace for n = %lld rows is too large",
                         fn, (long long)n);
    work = (float *)mlp__alloc_aligned(m->ctx, fn, bytes);
    if (!work)
        return m->ctx->err.code;
    mlp__free_aligned(m->ctx, m->work);
    m->work = work;
    m->work_rows = n;
    m->work_width = width;
    return MLP_OK;
}

/* With finite checks on (mlp_ctx_set_check_finite): MLP_ERR_NONFINITE at
 * the first NaN or Inf of v [n,w], named by row and column. The input is
 * checked too, since a NaN can vanish on the way (ReLU turns it into 0). */
static mlp_status finite_rows(mlp_ctx *ctx, const char *fn, const char *what, const float *v,
                              int64_t n, int64_t w)
{
    int64_t i;
    if (!ctx->check_finite)
        return MLP_OK;
    for (i = 0; i < n * w; i++)
        if (!isfinite(v[i]))
            return mlp__fail(ctx, MLP_ERR_NONFINITE,
                             "%s: %s at row %lld, column %lld is %g (finite checks are on)", fn,
                             what, (long long)(i / w), (long long)(i % w), (double)v[i]);
    return MLP_OK;
}

/* Run the model on x [n,in]; *res points at the [n,out] result inside the
 * workspace (or at x when the model changes nothing). */
static mlp_status run(mlp_model *m, const char *fn, const float *x, int64_t n, const float **res)
{
    mlp_ctx *ctx = m->ctx;
    const float *cur = x;
    float *buf[2];
    int which = 0, used;
    int64_t width = mlp_model_in_features(m);
    size_t i, j;
    mlp_status s;

    if (width == 0)
        return mlp__fail(ctx, MLP_ERR_STATE,
                         "%s: the model's input width is not fixed (no linear, standardize or "
                         "per-feature pReLU layer)",
                         fn);
    if (n < 0)
        return mlp__fail(ctx, MLP_ERR_ARG, "%s: n = %lld is negative", fn, (long long)n);
    if (n == 0) {
        *res = x;
        return MLP_OK;
    }
    if ((s = workspace(m, fn, n)) != MLP_OK)
        return s;
    if ((s = mlp__gemm_ready(ctx, fn)) != MLP_OK)
        return s;
    if ((s = finite_rows(ctx, fn, "x", x, n, width)) != MLP_OK)
        return s;
    buf[0] = m->work;
    buf[1] = m->work + m->work_rows * m->work_width;

    for (i = 0; i < m->nlayers; i += used) {
        const mlp__layer *L = &m->layers[i], *next = i + 1 < m->nlayers ? L + 1 : NULL;
        used = L->k->predict(ctx, L, next, cur, buf[which], n, width);
        if (used == 0) {
            used = 1; /* the identity at inference: cur stays */
            continue;
        }
        for (j = i; j < i + (size_t)used; j++)
            if (m->layers[j].out)
                width = m->layers[j].out;
        cur = buf[which];
        which ^= 1;
    }
    *res = cur;
    return finite_rows(ctx, fn, "the output", cur, n, width);
}

mlp_status mlp_model_predict(mlp_model *m, const float *x, int64_t n, float *out)
{
    const float *res;
    mlp_status s;
    if (!m)
        return MLP_ERR_NULL;
    if ((!x || !out) && n > 0)
        return mlp__fail(m->ctx, MLP_ERR_NULL, "%s: %s is NULL", __func__, !x ? "x" : "out");
    s = run(m, __func__, x, n, &res);
    if (s != MLP_OK || n == 0)
        return s;
    memmove(out, res, (size_t)(n * mlp_model_out_features(m)) * sizeof(float));
    return MLP_OK;
}

mlp_status mlp_model_classify(mlp_model *m, const float *x, int64_t n, int32_t *classes)
{
    const float *res;
    int64_t r, c, k;
    mlp_status s;
    if (!m)
        return MLP_ERR_NULL;
    if ((!x || !classes) && n > 0)
        return mlp__fail(m->ctx, MLP_ERR_NULL, "%s: %s is NULL", __func__, !x ? "x" : "classes");
    s = run(m, __func__, x, n, &res);
    if (s != MLP_OK)
        return s;
    k = mlp_model_out_features(m);
    for (r = 0; r < n; r++) {
        const float *row = res + r * k;
        int32_t best = 0;
        for (c = 1; c < k; c++)
            if (row[c] > row[best])
                best = (int32_t)c;
        classes[r] = best;
    }
    return MLP_OK;
}
