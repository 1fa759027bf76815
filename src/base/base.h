/*
 * base.h - the bottom layer shared by every file: the context's allocator
 * wrappers (plain and 64-byte aligned, overflow-checked), error recording,
 * and the portable random generator. Knows nothing of tensors.
 */
#ifndef MLP_BASE_H
#define MLP_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "mlp.h"

#define MLP__ALIGN 64
#define MLP__ERRMSG_CAP 512
/* Largest byte size we ever ask for: keeps every size_t sum far from overflow. */
#define MLP__MAX_BYTES (((size_t)1) << (sizeof(size_t) * 8 - 2))

/* xoshiro128** state; seeded through splitmix64. Same stream everywhere. */
typedef struct mlp__rng {
    uint32_t s[4];
    int have_spare; /* Box-Muller gives two normals at a time */
    float spare;
} mlp__rng;

void mlp__rng_seed(mlp__rng *r, uint64_t seed);
uint32_t mlp__rng_u32(mlp__rng *r);
float mlp__rng_uniform(mlp__rng *r); /* [0, 1), 24 random bits */
float mlp__rng_normal(mlp__rng *r);  /* N(0, 1) */
/* lo + (hi - lo) u and mean + std n with every step rounded to float, so
 * that a seed gives the same bits on every architecture (rng.c) */
float mlp__rng_uniform_in(mlp__rng *r, float lo, float hi);
float mlp__rng_normal_in(mlp__rng *r, float mean, float std);
/* Uniform integer in [0, n) without modulo bias (n >= 1). */
uint64_t mlp__rng_below(mlp__rng *r, uint64_t n);

/* Error recording. Every failing public call leaves a status and message. */
typedef struct mlp__err {
    mlp_status code;
    char msg[MLP__ERRMSG_CAP];
} mlp__err;

#if defined(__GNUC__)
#define MLP__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MLP__PRINTF(a, b)
#endif

/* Record `code` with a formatted message on ctx (ctx may be NULL: then only
 * the code is returned). Returns code. */
mlp_status mlp__fail(mlp_ctx *ctx, mlp_status code, const char *fmt, ...) MLP__PRINTF(3, 4);
/* A public function fn failed because a public function it called did:
 * prefix the recorded message with "fn: " (the code stays), so the message
 * starts with the function the caller called. Returns the code. */
mlp_status mlp__fail_in(mlp_ctx *ctx, const char *fn);
/* For a NULL input of an op: records MLP_ERR_NULL "fn: arg is NULL", and if an
 * earlier failure is recorded keeps its code and appends it as the cause. */
mlp_status mlp__fail_null(mlp_ctx *ctx, const char *fn, const char *arg);

/* Allocation through the context's allocator. When they fail they record
 * MLP_ERR_NOMEM (or MLP_ERR_OVERFLOW for a size past MLP__MAX_BYTES) on ctx
 * with a message naming fn, the public function the block is for, and the
 * size: "mlp_model_add_linear: out of memory allocating 4398046511104
 * bytes". Callers return ctx->err.code so status and context agree. */
void *mlp__alloc(mlp_ctx *ctx, const char *fn, size_t size);
void *mlp__calloc(mlp_ctx *ctx, const char *fn, size_t count, size_t size);
void *mlp__realloc(mlp_ctx *ctx, const char *fn, void *ptr, size_t size);
void mlp__free(mlp_ctx *ctx, void *ptr);
/* 64-byte aligned block; free with mlp__free_aligned. */
void *mlp__alloc_aligned(mlp_ctx *ctx, const char *fn, size_t size);
/* The same for a block the caller can do without: NULL on failure
 * without recording an error on ctx. */
void *mlp__alloc_aligned_quiet(mlp_ctx *ctx, size_t size);
void mlp__free_aligned(mlp_ctx *ctx, void *ptr);
/* a * b into *out; 0 on overflow (past MLP__MAX_BYTES). Inline: a few
 * run in every call, predict's on one row too. */
static inline int mlp__mul_size(size_t a, size_t b, size_t *out)
{
    /* both below 2^(bits/2): the product cannot wrap, and no division */
    const size_t half = (size_t)1 << (sizeof(size_t) * 4);
    if ((a >= half || b >= half) && a != 0 && b > MLP__MAX_BYTES / a)
        return 0;
    *out = a * b;
    return *out <= MLP__MAX_BYTES;
}

/* Grow an array of elem-sized items to hold at least `need` (capacity in
 * *cap, doubled). MLP_OK or MLP_ERR_NOMEM (array untouched). */
mlp_status mlp__grow(mlp_ctx *ctx, const char *fn, void **arr, size_t *cap, size_t need,
                     size_t elem);

#endif
