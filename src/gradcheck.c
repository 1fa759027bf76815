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

static const char gc_name[] = "mlp_gradcheck";

/* The arguments' checks; *total: the elements of the inputs that require
 * a gradient. */
static mlp_status check_args(mlp_ctx *ctx, mlp_fn fn, mlp_tensor *const *inputs, int n, float eps,
                             float atol, float rtol, int64_t *total)
{
    int i;
    *total = 0;
    if (!fn)
        return mlp__fail(ctx, MLP_ERR_NULL, "%s: fn is NULL", gc_name);
    if (n > 0 && !inputs)
        return mlp__fail(ctx, MLP_ERR_NULL, "%s: inputs is NULL (n = %d)", gc_name, n);
    if (n < 0)
        return mlp__fail(ctx, MLP_ERR_ARG, "%s: need n >= 0 inputs (n = %d)", gc_name, n);
    if (!(eps > 0.0f) || !isfinite(eps) || !(atol >= 0.0f) || !(rtol >= 0.0f))
        return mlp__fail(ctx, MLP_ERR_ARG,
                         "%s: need eps > 0, atol >= 0, rtol >= 0 (got %g, %g, %g)", gc_name,
                         (double)eps, (double)atol, (double)rtol);
    for (i = 0; i < n; i++) {
        mlp_tensor *t = inputs[i];
        if (!t)
            return mlp__fail_null(ctx, gc_name, "inputs[i]");
        if (t->ctx != ctx)
            return mlp__fail(ctx, MLP_ERR_CONTEXT, "%s: inputs[%d] belongs to another context",
                             gc_name, i);
        if (t->requires_grad && t->node >= 0)
            return mlp__fail(ctx, MLP_ERR_ARG, "%s: inputs[%d] is not a leaf", gc_name, i);
        if (t->requires_grad)
            *total += t->numel;
    }
    return MLP_OK;
}

/* Step 1: backward on sum(fn(inputs) * g), g the fixed weighting made
 * here (*gp), each input's gradient into analytic; the gradients the
 * inputs had are set aside in prev (had[i]: input i had one) and put
 * back, those they had not dropped. What fn records stays on the tape
 * for the caller to take off. */
static mlp_status analytic_grads(mlp_ctx *ctx, mlp_fn fn, void *user, mlp_tensor *const *inputs,
                                 int n, mlp_tensor **gp, float *analytic, float *prev, int *had)
{
    mlp_tensor *out = fn(user, inputs, n), *g;
    mlp_status s = MLP_OK;
    int64_t off, j;
    int i;
    if (!out)
        return ctx->err.code != MLP_OK ? ctx->err.code : MLP_ERR_ARG;
    if (!(*gp = g = mlp__tensor_new(ctx, gc_name, out->ndim, out->shape)))
        return ctx->err.code;
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
    return s;
}

/* Step 2: each element of each input that requires a gradient moved by
 * -eps and +eps, sum(fn(inputs) * g) recomputed (nothing recorded), the
 * central difference against analytic; the first element off by more
 * than atol + rtol |numeric| fails with its place and both values. */
static mlp_status compare_differences(mlp_ctx *ctx, mlp_fn fn, void *user,
                                      mlp_tensor *const *inputs, int n, const mlp_tensor *g,
                                      const float *analytic, float eps, float atol, float rtol)
{
    mlp_status s = MLP_OK;
    int64_t off, j;
    int i;
    for (i = 0, off = 0; i < n && s == MLP_OK; i++) {
        mlp_tensor *t = inputs[i];
        if (!t->requires_grad)
            continue;
        for (j = 0; j < t->numel && s == MLP_OK; j++) {
            float orig = t->data[j], up = orig + eps, down = orig - eps;
            double fp, fm, num, ana = analytic[off + j];
            t->data[j] = up;
            s = weighted(ctx, gc_name, fn, user, inputs, n, g, &fp);
            t->data[j] = down;
            if (s == MLP_OK)
                s = weighted(ctx, gc_name, fn, user, inputs, n, g, &fm);
            t->data[j] = orig;
            if (s != MLP_OK)
                break;
            num = (fp - fm) / ((double)up - (double)down);
            if (!(fabs(ana - num) <= (double)atol + (double)rtol * fabs(num)))
                s = mlp__fail(ctx, MLP_ERR_ARG,
                              "%s: inputs[%d] element %lld: backward gives %.7g, "
                              "finite differences %.7g",
                              gc_name, i, (long long)j, ana, num);
        }
        off += t->numel;
    }
    return s;
}

mlp_status mlp_gradcheck(mlp_ctx *ctx, mlp_fn fn, void *user, mlp_tensor *const *inputs, int n,
                         float eps, float atol, float rtol)
{
    mlp__tape_mark start;
    int64_t total;
    float *analytic, *prev;
    int *had;
    mlp_tensor *g = NULL;
    mlp_status s;
    int mode;

    if (!ctx)
        return MLP_ERR_NULL;
    if ((s = check_args(ctx, fn, inputs, n, eps, atol, rtol, &total)) != MLP_OK)
        return s;
    analytic = (float *)mlp__calloc(ctx, gc_name, (size_t)(total ? total : 1), sizeof(float));
    prev = (float *)mlp__calloc(ctx, gc_name, (size_t)(total ? total : 1), sizeof(float));
    had = (int *)mlp__calloc(ctx, gc_name, (size_t)(n ? n : 1), sizeof(int));
    if (!analytic || !prev || !had) {
        s = ctx->err.code;
    } else {
        start = mlp__tape_mark_now(ctx);
        mode = ctx->grad_enabled;
        ctx->grad_enabled = 1;
        s = analytic_grads(ctx, fn, user, inputs, n, &g, analytic, prev, had);
        mlp__tape_truncate(ctx, start);
        ctx->grad_enabled = 0;
        if (s == MLP_OK)
            s = compare_differences(ctx, fn, user, inputs, n, g, analytic, eps, atol, rtol);
        mlp__tape_truncate(ctx, start);
        ctx->grad_enabled = mode;
    }
    mlp__tensor_unref(g);
    mlp__free(ctx, analytic);
    mlp__free(ctx, prev);
    mlp__free(ctx, had);
    return s;
}
