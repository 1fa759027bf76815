/*
 * comm.c - the communicator handle: an engine's table of functions
 * (mlp_comm_ops, grown by appending members behind its struct_size), its
 * rank and size, and the checked calls through it that the optimizer,
 * the fit loop and users make. Knows nothing of any engine.
 */
#include <stddef.h>
#include <string.h>

#include "comm.h"

/* The members every engine must have had since the first version. */
#define OPS_V1_SIZE (offsetof(mlp_comm_ops, destroy) + sizeof(void (*)(void *)))

mlp_comm *mlp_comm_new(mlp_ctx *ctx, const mlp_comm_ops *ops)
{
    mlp_comm *c;
    size_t take;
    if (!ctx)
        return NULL;
    if (!ops) {
        mlp__fail(ctx, MLP_ERR_NULL, "%s: ops is NULL", __func__);
        return NULL;
    }
    if (ops->struct_size < OPS_V1_SIZE) {
        mlp__fail(ctx, MLP_ERR_ARG,
                  "%s: ops->struct_size = %lu is smaller than the first version's %lu (set it "
                  "to sizeof(mlp_comm_ops))",
                  __func__, (unsigned long)ops->struct_size, (unsigned long)OPS_V1_SIZE);
        return NULL;
    }
    if (!ops->rank || !ops->size || !ops->broadcast || !ops->allreduce_start || !ops->wait) {
        mlp__fail(ctx, MLP_ERR_ARG, "%s: ops->%s is NULL", __func__,
                  !ops->rank              ? "rank"
                  : !ops->size            ? "size"
                  : !ops->broadcast       ? "broadcast"
                  : !ops->allreduce_start ? "allreduce_start"
                                          : "wait");
        return NULL;
    }
    c = (mlp_comm *)mlp__calloc(ctx, __func__, 1, sizeof *c);
    if (!c)
        return NULL;
    /* members the engine does not know stay NULL */
    take = ops->struct_size < sizeof c->ops ? ops->struct_size : sizeof c->ops;
    memcpy(&c->ops, ops, take);
    c->ops.struct_size = sizeof c->ops;
    c->ctx = ctx;
    c->rank = ops->rank(ops->user);
    c->size = ops->size(ops->user);
    if (c->size < 1 || c->rank < 0 || c->rank >= c->size) {
        mlp__fail(ctx, MLP_ERR_ARG, "%s: the engine reports rank %d of size %d", __func__, c->rank,
                  c->size);
        mlp__free(ctx, c);
        return NULL;
    }
    return c;
}

void mlp_comm_free(mlp_comm *c)
{
    if (!c)
        return;
    if (c->ops.destroy)
        c->ops.destroy(c->ops.user);
    mlp__free(c->ctx, c);
}

int mlp_comm_rank(const mlp_comm *c)
{
    return c ? c->rank : -1;
}

int mlp_comm_size(const mlp_comm *c)
{
    return c ? c->size : 0;
}

void *mlp_comm_user(const mlp_comm *c)
{
    return c ? c->ops.user : NULL;
}

static mlp_status engine_failed(mlp_comm *c, const char *fn, const char *what, int code)
{
    return mlp__fail(c->ctx, MLP_ERR_COMM,
                     "%s: the communicator's %s failed on rank %d of %d "
                     "(engine error %d)",
                     fn, what, c->rank, c->size, code);
}

mlp_status mlp__comm_start(mlp_comm *c, const char *fn, float *buf, int64_t n, void **req)
{
    int rc;
    *req = NULL;
    rc = c->ops.allreduce_start(c->ops.user, buf, n, req);
    return rc ? engine_failed(c, fn, "allreduce_start", rc) : MLP_OK;
}

mlp_status mlp__comm_wait(mlp_comm *c, const char *fn, void *req)
{
    int rc = c->ops.wait(c->ops.user, req);
    return rc ? engine_failed(c, fn, "wait", rc) : MLP_OK;
}

mlp_status mlp__comm_allreduce(mlp_comm *c, const char *fn, float *buf, int64_t n)
{
    void *req;
    mlp_status s = mlp__comm_start(c, fn, buf, n, &req);
    return s != MLP_OK ? s : mlp__comm_wait(c, fn, req);
}

mlp_status mlp__comm_broadcast(mlp_comm *c, const char *fn, float *buf, int64_t n, int root)
{
    int rc = c->ops.broadcast(c->ops.user, buf, n, root);
    return rc ? engine_failed(c, fn, "broadcast", rc) : MLP_OK;
}

static mlp_status check_buf(mlp_comm *c, const char *fn, const float *buf, int64_t n)
{
    if (n < 0)
        return mlp__fail(c->ctx, MLP_ERR_ARG, "%s: n = %lld must be >= 0", fn, (long long)n);
    if (!buf && n > 0)
        return mlp__fail(c->ctx, MLP_ERR_NULL, "%s: buf is NULL", fn);
    return MLP_OK;
}

mlp_status mlp_comm_allreduce(mlp_comm *c, float *buf, int64_t n)
{
    mlp_status s;
    if (!c)
        return MLP_ERR_NULL;
    if ((s = check_buf(c, __func__, buf, n)) != MLP_OK)
        return s;
    return mlp__comm_allreduce(c, __func__, buf, n);
}

mlp_status mlp_comm_broadcast(mlp_comm *c, float *buf, int64_t n, int root)
{
    mlp_status s;
    if (!c)
        return MLP_ERR_NULL;
    if ((s = check_buf(c, __func__, buf, n)) != MLP_OK)
        return s;
    if (root < 0 || root >= c->size)
        return mlp__fail(c->ctx, MLP_ERR_RANGE, "%s: root %d is not a rank of 0..%d", __func__,
                         root, c->size - 1);
    return mlp__comm_broadcast(c, __func__, buf, n, root);
}

/* Each 32-bit word travels as two 16-bit halves: floats hold them exactly. */
mlp_status mlp__comm_broadcast_words(mlp_comm *c, const char *fn, uint32_t *w, int n)
{
    float f[2 * MLP__COMM_MAX_WORDS];
    mlp_status s;
    int i;
    if (c->size == 1)
        return MLP_OK;
    for (i = 0; i < n; i++) {
        f[2 * i] = (float)(w[i] >> 16);
        f[2 * i + 1] = (float)(w[i] & 0xffffu);
    }
    if ((s = mlp__comm_broadcast(c, fn, f, 2 * (int64_t)n, 0)) != MLP_OK)
        return s;
    for (i = 0; i < n; i++)
        w[i] = ((uint32_t)f[2 * i] << 16) | (uint32_t)f[2 * i + 1];
    return MLP_OK;
}

mlp_status mlp__comm_share_rng(mlp_comm *c, const char *fn, mlp__rng *rng)
{
    uint32_t w[6];
    mlp_status s;
    int i;
    for (i = 0; i < 4; i++)
        w[i] = rng->s[i];
    w[4] = (uint32_t)rng->have_spare;
    memcpy(&w[5], &rng->spare, sizeof w[5]);
    if ((s = mlp__comm_broadcast_words(c, fn, w, 6)) != MLP_OK)
        return s;
    for (i = 0; i < 4; i++)
        rng->s[i] = w[i];
    rng->have_spare = w[4] != 0;
    memcpy(&rng->spare, &w[5], sizeof rng->spare);
    return MLP_OK;
}
