/*
 * tensor.c - tensor handles and their ref-counted storage: constructors,
 * shape checks, accessors, fill/copy, detach, and the free lists that recycle
 * the storage and handles of op results between steps.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

/* ---- shapes ---- */

mlp_status mlp__check_shape(mlp_ctx *ctx, const char *fn, int ndim, const int64_t *shape,
                            int64_t *numel)
{
    int64_t n = 1;
    int i;
    if (ndim < 0 || ndim > MLP_MAX_DIMS)
        return mlp__fail(ctx, MLP_ERR_ARG, "%s: ndim = %d is out of range 0..%d", fn, ndim,
                         MLP_MAX_DIMS);
    if (ndim > 0 && !shape)
        return mlp__fail(ctx, MLP_ERR_NULL, "%s: shape is NULL", fn);
    for (i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return mlp__fail(ctx, MLP_ERR_ARG, "%s: shape[%d] = %lld is negative", fn, i,
                             (long long)shape[i]);
    }
    for (i = 0; i < ndim; i++) {
        if (shape[i] != 0 && n > (int64_t)(MLP__MAX_BYTES / sizeof(float)) / shape[i])
            return mlp__fail(ctx, MLP_ERR_OVERFLOW,
                             "%s: shape[%d] = %lld makes the tensor too large", fn, i,
                             (long long)shape[i]);
        n *= shape[i];
    }
    /* a zero dimension anywhere makes the product 0, checked above per factor */
    *numel = n;
    return MLP_OK;
}

int mlp__same_shape(const mlp_tensor *a, const mlp_tensor *b)
{
    int i;
    if (a->ndim != b->ndim)
        return 0;
    for (i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return 0;
    return 1;
}

const char *mlp__shape_str(const mlp_tensor *t, char *buf, size_t cap)
{
    size_t len = 0;
    int i;
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    len += (size_t)snprintf(buf + len, cap - len, "[");
    for (i = 0; i < t->ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, i ? ",%lld" : "%lld", (long long)t->shape[i]);
    if (len < cap)
        snprintf(buf + len, cap - len, "]");
    return buf;
}

/* ---- storage ---- */

static mlp__storage *storage_new(mlp_ctx *ctx, const char *fn, int64_t n, int recycled)
{
    mlp__storage *st = (mlp__storage *)mlp__alloc(ctx, fn, sizeof *st);
    if (!st)
        return NULL;
    memset(st, 0, sizeof *st);
    st->data = (float *)mlp__alloc_aligned(ctx, fn, (size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!st->data) {
        mlp__free(ctx, st);
        return NULL;
    }
    st->cap = n;
    st->refs = 1;
    st->recycled = recycled;
    return st;
}

static void storage_destroy(mlp_ctx *ctx, mlp__storage *st)
{
    mlp__free_aligned(ctx, st->data);
    mlp__free(ctx, st);
}

mlp__storage *mlp__storage_get(mlp_ctx *ctx, const char *fn, int64_t n)
{
    mlp__storage **pp, **best = NULL;
    mlp__storage *st;
    /* best fit: the smallest free buffer that holds n */
    for (pp = &ctx->free_storages; *pp; pp = &(*pp)->next_free) {
        if ((*pp)->cap >= n && (!best || (*pp)->cap < (*best)->cap)) {
            best = pp;
            if ((*pp)->cap == n)
                break;
        }
    }
    if (best) {
        st = *best;
        *best = st->next_free;
        st->next_free = NULL;
        st->refs = 1;
        ctx->live_storages++;
        return st;
    }
    st = storage_new(ctx, fn, n, 1);
    if (st)
        ctx->live_storages++;
    return st;
}

void mlp__storage_release(mlp_ctx *ctx, mlp__storage *st)
{
    if (!st || --st->refs > 0)
        return;
    if (st->recycled) {
        st->next_free = ctx->free_storages;
        ctx->free_storages = st;
        ctx->live_storages--;
    } else {
        storage_destroy(ctx, st);
    }
}

void mlp__free_lists_destroy(mlp_ctx *ctx)
{
    mlp__storage *st = ctx->free_storages, *ns;
    mlp_tensor *t, *nt;
    mlp__handles_recycle(ctx, mlp__handles_take_retired(ctx));
    t = ctx->free_tensors;
    for (; st; st = ns) {
        ns = st->next_free;
        storage_destroy(ctx, st);
    }
    for (; t; t = nt) {
        nt = t->next_free;
        mlp__free(ctx, t);
    }
    ctx->free_storages = NULL;
    ctx->free_tensors = NULL;
}

/* ---- handles ---- */

static mlp_tensor *handle_new(mlp_ctx *ctx, const char *fn, int recycled)
{
    mlp_tensor *t;
    if (recycled && ctx->free_tensors) {
        t = ctx->free_tensors;
        ctx->free_tensors = t->next_free;
    } else {
        t = (mlp_tensor *)mlp__alloc(ctx, fn, sizeof *t);
        if (!t)
            return NULL;
    }
    memset(t, 0, sizeof *t);
    t->ctx = ctx;
    t->refs = 1;
    t->node = -1;
    return t;
}

static void set_shape(mlp_tensor *t, int ndim, const int64_t *shape, int64_t numel)
{
    int i;
    t->ndim = ndim;
    for (i = 0; i < MLP_MAX_DIMS; i++)
        t->shape[i] = i < ndim ? shape[i] : 1;
    t->numel = numel;
}

static void tensor_destroy(mlp_tensor *t)
{
    mlp_ctx *ctx = t->ctx;
    mlp__tensor_unref(t->grad); /* a caller-style tensor owned by t */
    t->grad = NULL;
    mlp__storage_release(ctx, t->gbuf);
    t->gbuf = NULL;
    mlp__storage_release(ctx, t->st);
    t->st = NULL;
    if (t->tape_owned) {
        t->released = 1;
        t->next_free = ctx->retired;
        ctx->retired = t;
    } else {
        mlp__free(ctx, t);
    }
}

mlp_tensor *mlp__handles_take_retired(mlp_ctx *ctx)
{
    mlp_tensor *list = ctx->retired;
    ctx->retired = NULL;
    return list;
}

void mlp__handles_recycle(mlp_ctx *ctx, mlp_tensor *list)
{
    while (list) {
        mlp_tensor *next = list->next_free;
        list->next_free = ctx->free_tensors;
        ctx->free_tensors = list;
        list = next;
    }
}

int mlp__stale(const mlp_tensor *t, const char *fn, const char *arg)
{
    if (!t->released)
        return 0;
    mlp__fail(t->ctx, MLP_ERR_STATE,
              "%s: %s is an op result of a step that was reset (mlp_tape_reset): op results live "
              "until the next reset; clone or detach what must outlive it",
              fn, arg);
    return 1;
}

void mlp__tensor_unref(mlp_tensor *t)
{
    if (t && --t->refs <= 0)
        tensor_destroy(t);
}

mlp_tensor *mlp__tensor_new(mlp_ctx *ctx, const char *fn, int ndim, const int64_t *shape)
{
    int64_t numel;
    mlp_tensor *t;
    if (mlp__check_shape(ctx, fn, ndim, shape, &numel) != MLP_OK)
        return NULL;
    t = handle_new(ctx, fn, 0);
    if (!t)
        return NULL;
    t->st = storage_new(ctx, fn, numel, 0);
    if (!t->st) {
        mlp__free(ctx, t);
        return NULL;
    }
    t->data = t->st->data;
    set_shape(t, ndim, shape, numel);
    return t;
}

mlp_tensor *mlp__result(mlp_ctx *ctx, const char *fn, int ndim, const int64_t *shape)
{
    int64_t numel;
    mlp_tensor *t;
    if (mlp__check_shape(ctx, fn, ndim, shape, &numel) != MLP_OK)
        return NULL;
    if (mlp__grow(ctx, fn, (void **)&ctx->results, &ctx->cap_results, ctx->nresults + 1,
                  sizeof *ctx->results)
        != MLP_OK)
        return NULL;
    t = handle_new(ctx, fn, 1);
    if (!t)
        return NULL;
    t->tape_owned = 1;
    t->st = mlp__storage_get(ctx, fn, numel);
    if (!t->st) {
        t->next_free = ctx->free_tensors;
        ctx->free_tensors = t;
        return NULL;
    }
    t->data = t->st->data;
    set_shape(t, ndim, shape, numel);
    ctx->results[ctx->nresults++] = t;
    return t;
}

/* ---- argument checks ---- */

mlp_ctx *mlp__args(const char *fn, mlp_tensor *const *ts, const char *const *names, int n)
{
    mlp_ctx *ctx = NULL;
    int i;
    for (i = 0; i < n; i++)
        if (ts[i]) {
            ctx = ts[i]->ctx;
            break;
        }
    for (i = 0; i < n; i++) {
        if (!ts[i]) {
            mlp__fail_null(ctx, fn, names[i]);
            return NULL;
        }
        if (ts[i]->ctx != ctx) {
            mlp__fail(ctx, MLP_ERR_CONTEXT, "%s: %s belongs to another context", fn, names[i]);
            return NULL;
        }
        if (mlp__stale(ts[i], fn, names[i]))
            return NULL;
    }
    return ctx;
}

/* ---- public constructors ---- */

static mlp_tensor *filled(mlp_ctx *ctx, const char *fn, int ndim, const int64_t *shape, float v)
{
    mlp_tensor *t;
    int64_t i;
    if (!ctx)
        return NULL;
    t = mlp__tensor_new(ctx, fn, ndim, shape);
    if (t)
        for (i = 0; i < t->numel; i++)
            t->data[i] = v;
    return t;
}

mlp_tensor *mlp_tensor_zeros(mlp_ctx *ctx, int ndim, const int64_t *shape)
{
    return filled(ctx, __func__, ndim, shape, 0.0f);
}

mlp_tensor *mlp_tensor_ones(mlp_ctx *ctx, int ndim, const int64_t *shape)
{
    return filled(ctx, __func__, ndim, shape, 1.0f);
}

mlp_tensor *mlp_tensor_from(mlp_ctx *ctx, int ndim, const int64_t *shape, const float *data)
{
    mlp_tensor *t;
    int64_t numel;
    if (!ctx)
        return NULL;
    if (mlp__check_shape(ctx, __func__, ndim, shape, &numel) != MLP_OK)
        return NULL;
    if (!data && numel > 0) {
        mlp__fail(ctx, MLP_ERR_NULL, "%s: data is NULL", __func__);
        return NULL;
    }
    t = mlp__tensor_new(ctx, __func__, ndim, shape);
    if (t && numel)
        memcpy(t->data, data, (size_t)numel * sizeof(float));
    return t;
}

mlp_tensor *mlp_tensor_rand_uniform(mlp_ctx *ctx, int ndim, const int64_t *shape, float lo,
                                    float hi)
{
    mlp_tensor *t;
    int64_t i;
    if (!ctx)
        return NULL;
    if (!(lo <= hi) || !isfinite(lo) || !isfinite(hi)) {
        mlp__fail(ctx, MLP_ERR_ARG, "%s: need finite lo <= hi, got %g, %g", __func__, (double)lo,
                  (double)hi);
        return NULL;
    }
    t = mlp__tensor_new(ctx, __func__, ndim, shape);
    if (t)
        for (i = 0; i < t->numel; i++)
            t->data[i] = mlp__rng_uniform_in(&ctx->rng, lo, hi);
    return t;
}

mlp_tensor *mlp_tensor_rand_normal(mlp_ctx *ctx, int ndim, const int64_t *shape, float mean,
                                   float std)
{
    mlp_tensor *t;
    int64_t i;
    if (!ctx)
        return NULL;
    if (!(std >= 0.0f) || !isfinite(std) || !isfinite(mean)) {
        mlp__fail(ctx, MLP_ERR_ARG, "%s: need finite mean and std >= 0, got %g, %g", __func__,
                  (double)mean, (double)std);
        return NULL;
    }
    t = mlp__tensor_new(ctx, __func__, ndim, shape);
    if (t)
        for (i = 0; i < t->numel; i++)
            t->data[i] = mlp__rng_normal_in(&ctx->rng, mean, std);
    return t;
}

mlp_tensor *mlp_tensor_clone(const mlp_tensor *t)
{
    mlp_tensor *c;
    if (!t || mlp__stale(t, __func__, "t"))
        return NULL;
    c = mlp__tensor_new(t->ctx, __func__, t->ndim, t->shape);
    if (c && t->numel)
        memcpy(c->data, t->data, (size_t)t->numel * sizeof(float));
    return c;
}

mlp_tensor *mlp_tensor_detach(mlp_tensor *t)
{
    mlp_tensor *d;
    if (!t || mlp__stale(t, __func__, "t"))
        return NULL;
    d = handle_new(t->ctx, __func__, 0);
    if (!d)
        return NULL;
    d->st = t->st;
    if (d->st)
        d->st->refs++;
    d->data = t->data;
    set_shape(d, t->ndim, t->shape, t->numel);
    return d;
}

void mlp_tensor_free(mlp_tensor *t)
{
    if (!t || t->tape_owned || t->user_freed)
        return;
    t->user_freed = 1;
    mlp__tensor_unref(t);
}

/* ---- in-place writes ---- */

mlp_status mlp_tensor_fill(mlp_tensor *t, float value)
{
    int64_t i;
    if (!t)
        return MLP_ERR_NULL;
    if (mlp__stale(t, __func__, "t"))
        return MLP_ERR_STATE;
    for (i = 0; i < t->numel; i++)
        t->data[i] = value;
    mlp__bump(t);
    return MLP_OK;
}

mlp_status mlp_tensor_copy(mlp_tensor *dst, const mlp_tensor *src)
{
    if (!dst)
        return MLP_ERR_NULL;
    if (!src)
        return mlp__fail(dst->ctx, MLP_ERR_NULL, "%s: src is NULL", __func__);
    if (mlp__stale(dst, __func__, "dst") || mlp__stale(src, __func__, "src"))
        return MLP_ERR_STATE;
    if (src->numel != dst->numel)
        return mlp__fail(dst->ctx, MLP_ERR_SHAPE, "%s: src has %lld elements, dst %lld", __func__,
                         (long long)src->numel, (long long)dst->numel);
    if (src->numel && src->data != dst->data)
        memmove(dst->data, src->data, (size_t)src->numel * sizeof(float));
    mlp__bump(dst);
    return MLP_OK;
}

mlp_status mlp_tensor_set_data(mlp_tensor *t, const float *data, int64_t n)
{
    if (!t)
        return MLP_ERR_NULL;
    if (mlp__stale(t, __func__, "t"))
        return MLP_ERR_STATE;
    if (!data && n > 0)
        return mlp__fail(t->ctx, MLP_ERR_NULL, "%s: data is NULL", __func__);
    if (n != t->numel)
        return mlp__fail(t->ctx, MLP_ERR_SHAPE, "%s: n = %lld but the tensor has %lld elements",
                         __func__, (long long)n, (long long)t->numel);
    if (n)
        memmove(t->data, data, (size_t)n * sizeof(float));
    mlp__bump(t);
    return MLP_OK;
}

mlp_status mlp_tensor_set_shape(mlp_tensor *t, int ndim, const int64_t *shape)
{
    int64_t numel;
    mlp_status s;
    if (!t)
        return MLP_ERR_NULL;
    if (mlp__stale(t, __func__, "t"))
        return MLP_ERR_STATE;
    if (t->tape_owned)
        return mlp__fail(t->ctx, MLP_ERR_STATE, "%s: t is an op result; use mlp_reshape", __func__);
    s = mlp__check_shape(t->ctx, __func__, ndim, shape, &numel);
    if (s != MLP_OK)
        return s;
    if (numel != t->numel)
        return mlp__fail(t->ctx, MLP_ERR_SHAPE, "%s: new shape has %lld elements, the tensor %lld",
                         __func__, (long long)numel, (long long)t->numel);
    set_shape(t, ndim, shape, numel);
    if (t->grad)
        set_shape(t->grad, ndim, shape, numel);
    return MLP_OK;
}

/* ---- accessors ---- */

int mlp_tensor_ndim(const mlp_tensor *t)
{
    return t && !mlp__stale(t, __func__, "t") ? t->ndim : -1;
}

int64_t mlp_tensor_dim(const mlp_tensor *t, int dim)
{
    if (!t || mlp__stale(t, __func__, "t"))
        return -1;
    if (dim < 0)
        dim += t->ndim;
    if (dim < 0 || dim >= t->ndim)
        return -1;
    return t->shape[dim];
}

int64_t mlp_tensor_numel(const mlp_tensor *t)
{
    return t && !mlp__stale(t, __func__, "t") ? t->numel : 0;
}
float *mlp_tensor_data(mlp_tensor *t)
{
    return t && !mlp__stale(t, __func__, "t") ? t->data : NULL;
}
const float *mlp_tensor_cdata(const mlp_tensor *t)
{
    return t && !mlp__stale(t, __func__, "t") ? t->data : NULL;
}

float mlp_tensor_get(const mlp_tensor *t, int64_t i)
{
    if (!t || mlp__stale(t, __func__, "t") || i < 0 || i >= t->numel)
        return NAN;
    return t->data[i];
}

float mlp_tensor_item(const mlp_tensor *t)
{
    if (!t || mlp__stale(t, __func__, "t") || t->numel != 1)
        return NAN;
    return t->data[0];
}

mlp_ctx *mlp_tensor_ctx(const mlp_tensor *t)
{
    return t ? t->ctx : NULL;
}
uint64_t mlp_tensor_version(const mlp_tensor *t)
{
    return t && !mlp__stale(t, __func__, "t") ? mlp__version(t) : 0;
}

int mlp_tensor_requires_grad(const mlp_tensor *t)
{
    return t && !mlp__stale(t, __func__, "t") ? (int)t->requires_grad : 0;
}
int mlp_tensor_is_leaf(const mlp_tensor *t)
{
    return t && !mlp__stale(t, __func__, "t") ? t->node < 0 : 0;
}

mlp_status mlp_tensor_set_requires_grad(mlp_tensor *t, int on)
{
    if (!t)
        return MLP_ERR_NULL;
    if (mlp__stale(t, __func__, "t"))
        return MLP_ERR_STATE;
    if (t->node >= 0)
        return mlp__fail(t->ctx, MLP_ERR_STATE,
                         "%s: t is not a leaf (it is the result of %s); "
                         "detach it first",
                         __func__, t->ctx->nodes[t->node].fn);
    t->requires_grad = on != 0;
    return MLP_OK;
}

mlp_tensor *mlp_tensor_grad(const mlp_tensor *t)
{
    return t && !mlp__stale(t, __func__, "t") ? t->grad : NULL;
}

mlp_status mlp_tensor_zero_grad(mlp_tensor *t)
{
    if (!t)
        return MLP_ERR_NULL;
    if (mlp__stale(t, __func__, "t"))
        return MLP_ERR_STATE;
    if (t->grad && t->grad->numel)
        memset(t->grad->data, 0, (size_t)t->grad->numel * sizeof(float));
    return MLP_OK;
}

mlp_status mlp__check_finite(mlp_ctx *ctx, const char *fn, const mlp_tensor *t)
{
    int64_t i;
    if (!ctx->check_finite)
        return MLP_OK;
    for (i = 0; i < t->numel; i++)
        if (!isfinite(t->data[i]))
            return mlp__fail(ctx, MLP_ERR_NONFINITE, "%s: result element %lld is %g", fn,
                             (long long)i, (double)t->data[i]);
    return MLP_OK;
}
