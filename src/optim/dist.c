/*
 * dist.c - the gradient buckets of a data-parallel optimizer
 * (mlp_optim_set_comm). The parameters are laid out last to first in one
 * flat buffer cut into buckets of about bucket_bytes. Backward hands each
 * parameter over as soon as its gradient is final (the context's gradient
 * hook); its gradient is copied into the buffer, and once every gradient
 * of a bucket is there the bucket's non-blocking all-reduce starts, in
 * bucket order on every rank, while backward goes on with earlier layers.
 * At the step the rest is started, the ranks' failure flags are summed,
 * every bucket is waited for, and each gradient becomes the sum over the
 * ranks divided by their number. All memory is made when attaching, so a
 * step never allocates and a failing rank can always take part.
 */
#include <string.h>

#include "comm.h"

typedef struct bucket {
    int first, count; /* slots [first, first+count) of the layout */
    int64_t off, n;   /* floats [off, off+n) of flat */
    int ready;        /* gradients copied in this step */
    int started;
    void *req;
} bucket;

struct mlp__dist {
    mlp_comm *comm;
    mlp_ctx *ctx;
    int n;              /* parameters */
    mlp_tensor **slot;  /* parameters last to first (borrowed) */
    int64_t *off;       /* per slot: offset in flat */
    int *bucket_of;     /* per slot */
    unsigned char *got; /* per slot: gradient copied this step */
    float *flat;        /* every gradient, slot order */
    int64_t total;
    bucket *b;
    int nb, next;   /* buckets; the next one to start */
    int late;       /* a gradient came again after its bucket started */
    mlp_status err; /* first engine failure of this step */
};

mlp_comm *mlp__dist_comm(const mlp__dist *d)
{
    return d ? d->comm : NULL;
}

static int busy(const mlp__dist *d)
{
    int i;
    for (i = 0; i < d->n; i++)
        if (d->got[i])
            return 1;
    return 0;
}

static void layout(mlp__dist *d, double bytes)
{
    int i;
    double floats = bytes / sizeof(float);
    /* any size past 2^62 floats means one bucket */
    int64_t cap = floats < 1.0 ? 1 : floats > 4.6e18 ? (int64_t)1 << 62 : (int64_t)floats;
    d->nb = 0;
    for (i = 0; i < d->n; i++) {
        int64_t numel = d->slot[i]->numel;
        bucket *cur = d->nb ? &d->b[d->nb - 1] : NULL;
        if (!cur || (cur->n > 0 && cur->n + numel > cap)) {
            cur = &d->b[d->nb++];
            memset(cur, 0, sizeof *cur);
            cur->first = i;
            cur->off = d->off[i];
        }
        cur->count++;
        cur->n += numel;
        d->bucket_of[i] = d->nb - 1;
    }
}

mlp_status mlp__dist_set_bucket_bytes(mlp__dist *d, const char *fn, double bytes)
{
    if (busy(d))
        return mlp__fail(d->ctx, MLP_ERR_STATE,
                         "%s: the bucket size can't change while a step's gradients are being "
                         "exchanged",
                         fn);
    layout(d, bytes);
    return MLP_OK;
}

/* Start every bucket whose gradients are all in, in order. */
static void start_ready(mlp__dist *d, const char *fn)
{
    while (d->next < d->nb && d->b[d->next].ready == d->b[d->next].count) {
        bucket *b = &d->b[d->next++];
        mlp_status s = mlp__comm_start(d->comm, fn, d->flat + b->off, b->n, &b->req);
        if (s != MLP_OK) {
            if (d->err == MLP_OK)
                d->err = s;
            continue;
        }
        b->started = 1;
    }
}

/* Copy slot i's gradient into flat (zeros when it has none). */
static void take(mlp__dist *d, int i)
{
    mlp_tensor *p = d->slot[i];
    float *dst = d->flat + d->off[i];
    if (p->grad && p->grad->numel == p->numel)
        memcpy(dst, p->grad->data, (size_t)p->numel * sizeof(float));
    else if (p->numel)
        memset(dst, 0, (size_t)p->numel * sizeof(float));
    if (!d->got[i]) {
        d->got[i] = 1;
        d->b[d->bucket_of[i]].ready++;
    }
}

static void on_grad(void *user, mlp_tensor *leaf)
{
    mlp__dist *d = (mlp__dist *)user;
    int i;
    for (i = 0; i < d->n; i++)
        if (d->slot[i] == leaf)
            break;
    if (i == d->n)
        return; /* not one of ours */
    if (d->bucket_of[i] < d->next) {
        d->late = 1; /* a second backward in one step: its sum already left */
        return;
    }
    take(d, i);
    start_ready(d, "mlp_backward");
}

void mlp__dist_free(mlp__dist *d)
{
    mlp_ctx *ctx;
    if (!d)
        return;
    ctx = d->ctx;
    if (ctx->grad_hook_user == d) {
        ctx->grad_hook = NULL;
        ctx->grad_hook_user = NULL;
    }
    mlp__free(ctx, d->slot);
    mlp__free(ctx, d->off);
    mlp__free(ctx, d->bucket_of);
    mlp__free(ctx, d->got);
    mlp__free(ctx, d->b);
    mlp__free_aligned(ctx, d->flat);
    mlp__free(ctx, d);
}

/* Every parameter gets a gradient now, so a step never allocates. */
static mlp_status give_grads(mlp__dist *d, const char *fn)
{
    int i;
    for (i = 0; i < d->n; i++) {
        mlp_tensor *p = d->slot[i];
        if (p->grad)
            continue;
        p->grad = mlp__tensor_new(d->ctx, fn, p->ndim, p->shape);
        if (!p->grad)
            return d->ctx->err.code;
        if (p->numel)
            memset(p->grad->data, 0, (size_t)p->numel * sizeof(float));
    }
    return MLP_OK;
}

mlp__dist *mlp__dist_new(mlp_comm *comm, const char *fn, mlp_tensor *const *params, int n,
                         double bucket_bytes)
{
    mlp_ctx *ctx = comm->ctx;
    mlp__dist *d;
    int i;
    size_t bytes;
    if (ctx->grad_hook) {
        mlp__fail(ctx, MLP_ERR_STATE,
                  "%s: another optimizer on this context already has a communicator", fn);
        return NULL;
    }
    d = (mlp__dist *)mlp__calloc(ctx, fn, 1, sizeof *d);
    if (!d)
        return NULL;
    d->ctx = ctx;
    d->comm = comm;
    d->n = n;
    d->slot = (mlp_tensor **)mlp__calloc(ctx, fn, (size_t)n, sizeof *d->slot);
    d->off = (int64_t *)mlp__calloc(ctx, fn, (size_t)n, sizeof *d->off);
    d->bucket_of = (int *)mlp__calloc(ctx, fn, (size_t)n, sizeof *d->bucket_of);
    d->got = (unsigned char *)mlp__calloc(ctx, fn, (size_t)n, 1);
    d->b = (bucket *)mlp__calloc(ctx, fn, (size_t)n, sizeof *d->b);
    if (!d->slot || !d->off || !d->bucket_of || !d->got || !d->b)
        goto fail;
    for (i = 0; i < n; i++) {
        d->slot[i] = params[n - 1 - i];
        d->off[i] = d->total;
        d->total += d->slot[i]->numel;
    }
    if (!mlp__mul_size((size_t)(d->total > 0 ? d->total : 1), sizeof(float), &bytes)
        || !(d->flat = (float *)mlp__alloc_aligned(ctx, fn, bytes)))
        goto fail;
    if (give_grads(d, fn) != MLP_OK)
        goto fail;
    layout(d, bucket_bytes);
    /* every rank starts from rank 0's parameters */
    for (i = 0; i < n; i++) {
        mlp_tensor *p = d->slot[i];
        if (comm->size > 1 && mlp__comm_broadcast(comm, fn, p->data, p->numel, 0) != MLP_OK) {
            mlp__dist_free(d);
            return NULL;
        }
        mlp__bump(p);
    }
    ctx->grad_hook = on_grad;
    ctx->grad_hook_user = d;
    return d;
fail:
    mlp__fail(ctx, MLP_ERR_NOMEM, "%s: out of memory making the gradient buckets", fn);
    mlp__dist_free(d);
    return NULL;
}

mlp_status mlp__dist_sync(mlp__dist *d, const char *fn, int local_failed, float *extra, int nextra)
{
    float flags[8];
    mlp_status s = MLP_OK;
    float scale = 1.0f / (float)d->comm->size;
    int i, k, failed;
    /* the rest of the gradients (parameters backward did not reach, or
     * every one on a rank that had nothing to do) */
    for (i = 0; i < d->n; i++)
        if (!d->got[i])
            take(d, i);
    start_ready(d, fn);
    /* failure flags and the caller's sums in one small all-reduce */
    flags[0] = local_failed || d->late || d->err != MLP_OK ? 1.0f : 0.0f;
    for (k = 0; k < nextra && k < 7; k++)
        flags[1 + k] = extra[k];
    if (d->err == MLP_OK)
        s = mlp__comm_allreduce(d->comm, fn, flags, 1 + (nextra < 7 ? nextra : 7));
    for (i = 0; i < d->nb; i++) {
        bucket *b = &d->b[i];
        if (b->started) {
            mlp_status w = mlp__comm_wait(d->comm, fn, b->req);
            if (w != MLP_OK && s == MLP_OK)
                s = w;
        }
        b->started = 0;
        b->ready = 0;
        b->req = NULL;
    }
    memset(d->got, 0, (size_t)d->n);
    d->next = 0;
    if (d->err != MLP_OK && s == MLP_OK)
        s = d->err;
    d->err = MLP_OK;
    if (d->late) {
        d->late = 0;
        if (s == MLP_OK && !local_failed)
            s = mlp__fail(d->ctx, MLP_ERR_STATE,
                          "%s: a gradient changed after it was sent: with a communicator, run "
                          "one backward per step",
                          fn);
        local_failed = 1;
    }
    if (s != MLP_OK)
        return s;
    for (k = 0; k < nextra && k < 7; k++)
        extra[k] = flags[1 + k];
    failed = (int)(flags[0] + 0.5f);
    if (local_failed)
        return MLP_ERR_STATE;
    if (failed)
        return mlp__fail(d->ctx, MLP_ERR_COMM,
                         "%s: %d of %d ranks failed this step (their own errors say why); "
                         "nothing was updated",
                         fn, failed, d->comm->size);
    for (i = 0; i < d->n; i++) {
        mlp_tensor *p = d->slot[i];
        const float *src = d->flat + d->off[i];
        int64_t j;
        for (j = 0; j < p->numel; j++)
            p->grad->data[j] = src[j] * scale;
    }
    return MLP_OK;
}
