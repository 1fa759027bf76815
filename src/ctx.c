/*
 * ctx.c - the context: allocator, random generator, grad mode, thread
 * count, the matrix-product kernel and its workspace. The tape's state
 * lives here too but is handled by tape.c.
 */
#if defined(__linux__) && !defined(MLP_NO_HUGE_PAGES)
#define _GNU_SOURCE /* posix_memalign, madvise and MADV_HUGEPAGE */
#include <sys/mman.h>
#endif
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* The default allocator is the C library's. On Linux, blocks of 2 MiB or
 * more (datasets, large weights and their gradients, packing workspaces)
 * start on a 2 MiB boundary and are offered to the kernel as transparent
 * huge pages (madvise; the kernel's usual setting gives huge pages only to
 * memory that asks). A batch gather reads rows from all over a dataset and
 * a matrix product walks a large weight matrix a column panel at a time:
 * with 4 KiB pages both miss the TLB at nearly every row. Measured on Zen
 * 4, 784-256-10 at one thread: the epoch's gather 0.049 -> 0.032 s, the
 * epoch 5-9 % shorter (docs/performance.md). MLP_NO_HUGE_PAGES turns it
 * off; a caller's own allocator is used as it is. */
#if defined(MADV_HUGEPAGE)
#define HUGE_PAGE ((size_t)2 << 20)
static void *libc_alloc(void *user, size_t size)
{
    void *p = NULL;
    (void)user;
    if (size < HUGE_PAGE || posix_memalign(&p, HUGE_PAGE, size) != 0)
        return malloc(size);
    (void)madvise(p, size / HUGE_PAGE * HUGE_PAGE, MADV_HUGEPAGE);
    return p;
}
#else
static void *libc_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}
#endif
static void *libc_realloc(void *user, void *p, size_t size)
{
    (void)user;
    return realloc(p, size);
}
static void libc_free(void *user, void *p)
{
    (void)user;
    free(p);
}

mlp_ctx *mlp_ctx_new(const mlp_allocator *allocator)
{
    mlp_allocator a;
    mlp_ctx *ctx;
    const char *env;
    /* the lock lives right after the context, in the same block */
    const size_t lock_at = (sizeof *ctx + 63) / 64 * 64;
    if (allocator) {
        /* the members this version knows, all required; a larger
         * struct_size (a newer caller's header) has members past them that
         * this version does not read */
        if (allocator->struct_size < offsetof(mlp_allocator, user) + sizeof(void *))
            return NULL;
        if (!allocator->alloc || !allocator->realloc || !allocator->free)
            return NULL;
        a = *allocator;
        a.struct_size = sizeof a;
    } else {
        a.struct_size = sizeof a;
        a.alloc = libc_alloc;
        a.realloc = libc_realloc;
        a.free = libc_free;
        a.user = NULL;
    }
    ctx = (mlp_ctx *)a.alloc(a.user, lock_at + mlp__lock_bytes());
    if (!ctx)
        return NULL;
    memset(ctx, 0, sizeof *ctx);
    ctx->lock = (char *)ctx + lock_at;
    if (!mlp__lock_init(ctx->lock)) {
        a.free(a.user, ctx);
        return NULL;
    }
    ctx->a = a;
    ctx->grad_enabled = 1;
    ctx->threads = 1;
    mlp__rng_seed(&ctx->rng, 0);
    ctx->gemm = mlp__gemm_best();
    env = getenv("MLP_GEMM_KERNEL");
    if (env && *env) {
        const mlp__gemm_kernel *k = mlp__gemm_find(env);
        if (k)
            ctx->gemm = k;
    }
    return ctx;
}

void mlp_ctx_free(mlp_ctx *ctx)
{
    if (!ctx)
        return;
    mlp__tape_destroy(ctx);
    mlp__pool_destroy(ctx);
    mlp__scratch_destroy(ctx);
    mlp__free_aligned(ctx, ctx->gemm_work);
    mlp__free_aligned(ctx, ctx->gemm_part);
    mlp__lock_destroy(ctx->lock);
    ctx->a.free(ctx->a.user, ctx);
}

void mlp_ctx_seed(mlp_ctx *ctx, uint64_t seed)
{
    if (ctx)
        mlp__rng_seed(&ctx->rng, seed);
}

uint32_t mlp_ctx_rand_u32(mlp_ctx *ctx)
{
    return ctx ? mlp__rng_u32(&ctx->rng) : 0u;
}
float mlp_ctx_rand_uniform(mlp_ctx *ctx)
{
    return ctx ? mlp__rng_uniform(&ctx->rng) : 0.0f;
}
float mlp_ctx_rand_normal(mlp_ctx *ctx)
{
    return ctx ? mlp__rng_normal(&ctx->rng) : 0.0f;
}

mlp_status mlp_ctx_set_gemm_kernel(mlp_ctx *ctx, const char *name)
{
    const mlp__gemm_kernel *k;
    size_t per, bytes;
    float *work;
    if (!ctx)
        return MLP_ERR_NULL;
    if (!name) {
        k = mlp__gemm_best();
    } else {
        k = mlp__gemm_find(name);
        if (!k) {
            if (!mlp__gemm_known(name))
                return mlp__fail(ctx, MLP_ERR_ARG,
                                 "%s: unknown kernel \"%.40s\" "
                                 "(" MLP__GEMM_NAMES_TEXT ")",
                                 __func__, name);
            return mlp__fail(ctx, MLP_ERR_UNSUPPORTED, "%s: this CPU does not support \"%s\"",
                             __func__, name);
        }
    }
    /* Once made, the workspace always fits the kernel: products already on
       the tape run their backward with the new kernel and cannot allocate. */
    per = mlp__gemm_workspace_floats(k);
    if (ctx->gemm_work && per > ctx->gemm_work_floats) {
        if (!mlp__mul_size(per * sizeof(float), (size_t)ctx->gemm_work_threads, &bytes))
            return mlp__fail(ctx, MLP_ERR_OVERFLOW, "%s: workspace too large", __func__);
        if (!(work = (float *)mlp__alloc_aligned(ctx, __func__, bytes)))
            return ctx->err.code; /* the previous kernel stays */
        mlp__free_aligned(ctx, ctx->gemm_work);
        ctx->gemm_work = work;
        ctx->gemm_work_floats = per;
    }
    ctx->gemm = k;
    return MLP_OK;
}

const char *mlp_ctx_gemm_kernel(const mlp_ctx *ctx)
{
    return ctx ? mlp__gemm_name(ctx->gemm) : "none";
}

void mlp_ctx_set_check_finite(mlp_ctx *ctx, int on)
{
    if (ctx)
        ctx->check_finite = on != 0;
}

void mlp_ctx_set_allow_nonfinite_data(mlp_ctx *ctx, int on)
{
    if (ctx)
        ctx->allow_nonfinite_data = on != 0;
}

int mlp_ctx_allow_nonfinite_data(const mlp_ctx *ctx)
{
    return ctx ? ctx->allow_nonfinite_data : 0;
}

int mlp_ctx_set_grad_enabled(mlp_ctx *ctx, int enabled)
{
    int prev;
    if (!ctx)
        return 0;
    prev = ctx->grad_enabled;
    ctx->grad_enabled = enabled != 0;
    return prev;
}

int mlp_ctx_grad_enabled(const mlp_ctx *ctx)
{
    return ctx ? ctx->grad_enabled : 0;
}

int mlp_ctx_threads(const mlp_ctx *ctx)
{
    return ctx ? ctx->threads : 0;
}

mlp_status mlp__gemm_ready(mlp_ctx *ctx, const char *fn)
{
    size_t per = mlp__gemm_workspace_floats(ctx->gemm), bytes;
    int nt = ctx->threads;
    if (ctx->gemm_work && ctx->gemm_work_floats >= per && ctx->gemm_work_threads >= nt)
        return MLP_OK;
    if (!mlp__mul_size(per * sizeof(float), (size_t)nt, &bytes))
        return mlp__fail(ctx, MLP_ERR_OVERFLOW, "matrix product workspace too large");
    mlp__free_aligned(ctx, ctx->gemm_work);
    ctx->gemm_work = (float *)mlp__alloc_aligned(ctx, fn, bytes);
    if (!ctx->gemm_work) {
        ctx->gemm_work_floats = 0;
        ctx->gemm_work_threads = 0;
        return ctx->err.code;
    }
    ctx->gemm_work_floats = per;
    ctx->gemm_work_threads = nt;
    return MLP_OK;
}
