/*
 * parallel.h - the context's worker pool, for splitting a pass over a range
 * of indices across ctx->threads threads (the calling thread takes part).
 */
#ifndef MLP_PARALLEL_H
#define MLP_PARALLEL_H

#include "core.h"

/* fn(arg, lo, hi, tid) is called on disjoint [lo, hi) covering [0, n), tid
 * in [0, ctx->threads). Runs fn(arg, 0, n, 0) on the caller when the pool
 * is absent, n is below min_per_thread * 2, or the call is already inside
 * the pool. Each range holds at least min_per_thread indices (>= 1). */
typedef void (*mlp__range_fn)(void *arg, int64_t lo, int64_t hi, int tid);
void mlp__parallel_for(mlp_ctx *ctx, int64_t n, int64_t min_per_thread, mlp__range_fn fn,
                       void *arg);

#endif
