/*
 * alloc.c - every allocation of the library goes through here, to the
 * context's allocator. Aligned blocks are carved out of a larger block
 * (the user's allocator need not align); sizes are overflow-checked.
 */
#include <string.h>

#include "core.h"

void *mlp__alloc(mlp_ctx *ctx, const char *fn, size_t size)
{
    void *p;
    if (size == 0)
        size = 1;
    if (size > MLP__MAX_BYTES) {
        mlp__fail(ctx, MLP_ERR_OVERFLOW, "%s: allocation of %zu bytes is too large", fn, size);
        return NULL;
    }
    p = ctx->a.alloc(ctx->a.user, size);
    if (!p)
        mlp__fail(ctx, MLP_ERR_NOMEM, "%s: out of memory allocating %zu bytes", fn, size);
    return p;
}

void *mlp__calloc(mlp_ctx *ctx, const char *fn, size_t count, size_t size)
{
    size_t total;
    void *p;
    if (!mlp__mul_size(count, size, &total)) {
        mlp__fail(ctx, MLP_ERR_OVERFLOW, "%s: allocation of %zu x %zu bytes overflows", fn, count,
                  size);
        return NULL;
    }
    p = mlp__alloc(ctx, fn, total);
    if (p)
        memset(p, 0, total);
    return p;
}

void *mlp__realloc(mlp_ctx *ctx, const char *fn, void *ptr, size_t size)
{
    void *p;
    if (!ptr)
        return mlp__alloc(ctx, fn, size);
    if (size == 0)
        size = 1;
    if (size > MLP__MAX_BYTES) {
        mlp__fail(ctx, MLP_ERR_OVERFLOW, "%s: allocation of %zu bytes is too large", fn, size);
        return NULL;
    }
    p = ctx->a.realloc(ctx->a.user, ptr, size);
    if (!p)
        mlp__fail(ctx, MLP_ERR_NOMEM, "%s: out of memory growing a block to %zu bytes", fn, size);
    return p;
}

void mlp__free(mlp_ctx *ctx, void *ptr)
{
    if (ptr)
        ctx->a.free(ctx->a.user, ptr);
}

/* Bytes of the raw block an aligned block of size bytes is carved from
 * (room to align it and to keep the raw pointer before it); 0 when that
 * is more than MLP__MAX_BYTES. */
static size_t aligned_raw_bytes(size_t size)
{
    if (size > MLP__MAX_BYTES - MLP__ALIGN - sizeof(void *))
        return 0;
    return size + MLP__ALIGN + sizeof(void *);
}

/* The aligned block inside raw (aligned_raw_bytes of its size), with raw
 * stored just before it for mlp__free_aligned. */
static void *carve_aligned(unsigned char *raw)
{
    unsigned char *p = raw + sizeof(void *);
    p += (MLP__ALIGN - (size_t)((uintptr_t)p % MLP__ALIGN)) % MLP__ALIGN;
    memcpy(p - sizeof(void *), &raw, sizeof(void *));
    return p;
}

void *mlp__alloc_aligned(mlp_ctx *ctx, const char *fn, size_t size)
{
    const size_t bytes = aligned_raw_bytes(size);
    unsigned char *raw;
    if (!bytes) {
        mlp__fail(ctx, MLP_ERR_OVERFLOW, "%s: allocation of %zu bytes is too large", fn, size);
        return NULL;
    }
    raw = (unsigned char *)mlp__alloc(ctx, fn, bytes);
    return raw ? carve_aligned(raw) : NULL;
}

void *mlp__alloc_aligned_quiet(mlp_ctx *ctx, size_t size)
{
    const size_t bytes = aligned_raw_bytes(size);
    unsigned char *raw = bytes ? (unsigned char *)ctx->a.alloc(ctx->a.user, bytes) : NULL;
    return raw ? carve_aligned(raw) : NULL;
}

void mlp__free_aligned(mlp_ctx *ctx, void *ptr)
{
    void *raw;
    if (!ptr)
        return;
    memcpy(&raw, (unsigned char *)ptr - sizeof(void *), sizeof(void *));
    mlp__free(ctx, raw);
}

mlp_status mlp__grow(mlp_ctx *ctx, const char *fn, void **arr, size_t *cap, size_t need,
                     size_t elem)
{
    size_t ncap = *cap ? *cap : 16, bytes;
    void *p;
    if (need <= *cap)
        return MLP_OK;
    while (ncap < need) {
        if (ncap > MLP__MAX_BYTES / 2)
            return mlp__fail(ctx, MLP_ERR_OVERFLOW, "%s: array of %zu items is too large", fn,
                             need);
        ncap *= 2;
    }
    if (!mlp__mul_size(ncap, elem, &bytes))
        return mlp__fail(ctx, MLP_ERR_OVERFLOW, "%s: array of %zu items is too large", fn, ncap);
    p = mlp__realloc(ctx, fn, *arr, bytes);
    if (!p)
        return ctx->err.code;
    *arr = p;
    *cap = ncap;
    return MLP_OK;
}
