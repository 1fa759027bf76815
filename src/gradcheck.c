/*
 * gradcheck.c - mlp_gradcheck: compares the gradients backward gives for
 * sum(fn(inputs) * g), g a fixed weighting, with central finite
 * differences computed in double from fn's float results. Everything fn
 * puts on the tape is taken off again, so the caller's step is untouched.
 */
#include <math.h>
#include <string.h>

#include "core.h"

/* the fixed weighting: magnitudes in [0.5, 1.5), every third one negative */
static float weight(int64_t i)
{
    uint32_t h = (uint32_t)(i + 1) * 2654435761u;
    float w = 0.5f + (float)(h >> 8) * (1.0f / 16777216.0f);
    return i % 3 == 1 ? -w : w;
}

/* sum(fn(inputs) * g) in double, with fn's results taken off the tape */
static mlp_status weighted(mlp_ctx *ctx, const char *name, mlp_fn fn, void *user,
                           mlp_tensor *const *inputs, int n, const mlp_tensor *g, double *val)
{
    mlp__tape_mark start = mlp__tape_mark_now(ctx);
    mlp_tensor *out = fn(user, inputs, n);
    double s = 0.0;
    int64_t i;
    mlp_status st = MLP_OK;
    if (!out)
        st = ctx->err.code != MLP_OK ? ctx->err.code : MLP_ERR_ARG;
    else if (out->numel != g->numel)
        st = mlp__fail(ctx, MLP_ERR_SHAPE, "%s: fn gave %lld elements, then %lld", name,
                       (long long)g->numel, (long long)out->numel);
    else
        for (i = 0; i < out->numel; i++)
            s += (double)out->data[i] * (double)g->data[i];
    mlp__tape_truncate(ctx, start);
    *val = s;
    return st;
}

mlp_status mlp_gradcheck(mlp_ctx *ctx, mlp_fn fn, void *user, mlp_tensor *const *inputs, int n,
                         float eps, float atol, float rtol)
{
    mlp__tape_mark start;
    int64_t total = 0, off, j;
    float *analytic = NULL, *prev = NULL;
    int *had = NULL;
    mlp_tensor *out, *g = NULL;
    mlp_status s = MLP_OK;
    int i, mode;

    if (!ctx)
        return MLP_ERR_NULL;
    if (!fn)
        return mlp__fail(ctx, MLP_ERR_NULL, "%s: fn is NULL", __func__);
    if (n > 0 && !inputs)
        return mlp__fail(ctx, MLP_ERR_NULL, "%s: inputs is NULL (n = %d)", __func__, n);
    if (n < 0)
        return mlp__fail(ctx, MLP_ERR_ARG, "%s: need n >= 0 inputs (n = %d)", __func__, n);
    if (!(eps > 0.0f) || !isfinite(eps) || !(atol >= 0.0f) || !(rtol >= 0.0f))
        return mlp__fail(ctx, MLP_ERR_ARG,
                         "%s: need eps > 0, atol >= 0, rtol >= 0 (got %g, %g, %g)", __func__,
                         (double)eps, (double)atol, (double)rtol);
    for (i = 0; i < n; i++) {
        mlp_tensor *t = inputs[i];
        if (!t)
            return mlp__fail_null(ctx, __func__, "inputs[i]");
        if (t->ctx != ctx)
            return mlp__fail(ctx, MLP_ERR_CONTEXT, "%s: inputs[%d] belongs to another context",
                             __func__, i);
        if (t->requires_grad && t->node >= 0)
            return mlp__fail(ctx, MLP_ERR_ARG, "%s: inputs[%d] is not a leaf", __func__, i);
        if (t->requires_grad)
            total += t->numel;
    }
    analytic = (float *)mlp__calloc(ctx, __func__, (size_t)(total ? total : 1), sizeof(float));
    prev = (float *)mlp__calloc(ctx, __func__, (size_t)(total ? total : 1), sizeof(float));
    had = (int *)mlp__calloc(ctx, __func__, (size_t)(n ? n : 1), sizeof(int));
    if (!analytic || !prev || !had) {
        s = ctx->err.code;
        goto out_free;
    }
    start = mlp__tape_mark_now(ctx);
    mode = ctx->grad_enabled;

    /* 1. backward on sum(fn(inputs) * g), the inputs' gradients set aside */
    ctx->grad_enabled = 1;
    out = fn(user, inputs, n);
    if (!out) {
        s = ctx->err.code != MLP_OK ? ctx->err.code : MLP_ERR_ARG;
        goto out_tape;
    }
    if (!(g = mlp__tensor_new(ctx, __func__, out->ndim, out->shape))) {
        s = ctx->err.code;
        goto out_tape;
    }
    for (j = 0; j < g->numel; j++)
        g->data[j] = weight(j);
    for (i = 0, off = 0; i < n; i++) {
        mlp_tensor *t = inputs[i];
        if (!t->requires_grad)
            continue;
        had[i] = t->grad != NULL;
        if (had[i]) {
            if (t->numel)
                memcpy(prev + off, t->grad->data, (size_t)t->numel * sizeof(float));
            mlp_tensor_zero_grad(t);
        }
        off += t->numel;
    }
    if (out->requires_grad)
        s = mlp_backward(out, g, 0);
    for (i = 0, off = 0; i < n; i++) {
        mlp_tensor *t = inputs[i];
        if (!t->requires_grad)
            continue;
        if (t->grad && t->numel)
            memcpy(analytic + off, t->grad->data, (size_t)t->numel * sizeof(float));
        if (had[i]) {
            if (t->numel)
                memcpy(t->grad->data, prev + off, (size_t)t->numel * sizeof(float));
        } else if (t->grad) {
            mlp__tensor_unref(t->grad);
            t->grad = NULL;
        }
        off += t->numel;
    }
    mlp__tape_truncate(ctx, start);
    if (s != MLP_OK)
        goto out_tape;

    /* 2. central differences, nothing recorded */
    ctx->grad_enabled = 0;
    for (i = 0, off = 0; i < n && s == MLP_OK; i++) {
        mlp_tensor *t = inputs[i];
        if (!t->requires_grad)
            continue;
        for (j = 0; j < t->numel && s == MLP_OK; j++) {
            float orig = t->data[j], up = orig + eps, down = orig - eps;
            double fp, fm, num, ana = analytic[off + j];
            t->data[j] = up;
            s = weighted(ctx, __func__, fn, user, inputs, n, g, &fp);
            t->data[j] = down;
            if (s == MLP_OK)
                s = weighted(ctx, __func__, fn, user, inputs, n, g, &fm);
            t->data[j] = orig;
            if (s != MLP_OK)
                break;
            num = (fp - fm) / ((double)up - (double)down);
            if (!(fabs(ana - num) <= (double)atol + (double)rtol * fabs(num)))
                s = mlp__fail(ctx, MLP_ERR_ARG,
                              "%s: inputs[%d] element %lld: backward gives %.7g, "
                              "finite differences %.7g",
                              __func__, i, (long long)j, ana, num);
        }
        off += t->numel;
    }

out_tape:
    mlp__tape_truncate(ctx, start);
    ctx->grad_enabled = mode;
out_free:
    mlp__tensor_unref(g);
    mlp__free(ctx, analytic);
    mlp__free(ctx, prev);
    mlp__free(ctx, had);
    return s;
}
