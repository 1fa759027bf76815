/*
 * parallel.h - the context's worker pool, for splitting a pass over a range
 * of indices across ctx->threads threads (the calling thread takes part).
 */
#ifndef MLP_PARALLEL_H
#define MLP_PARALLEL_H

#include "core.h"

/* Most threads a context may have (mlp_ctx_set_threads). */
#define MLP__MAX_THREADS 64

/* Elements a streaming pass (a few operations an element, in the caches)
 * must give each part before it is split: a hand-off to the pool costs a
 * few microseconds, such a pass about a tenth of a nanosecond an element
 * (ops/par.c, and the epilogue of a product in product.c). */
#define MLP__PAR_MIN_STREAM ((int64_t)1 << 14)

/* fn(arg, lo, hi, tid) is called on disjoint [lo, hi) covering [0, n)
 * (at most ctx->threads ranges, each of at least min_per_thread indices:
 * range i is [n * i / parts, n * (i + 1) / parts)), tid in
 * [0, ctx->threads) naming the thread that runs it (for per-thread
 * scratch). Which thread runs which range varies (the caller mostly runs
 * range 0); the ranges do not. Runs fn(arg, 0, n, 0) on the caller when
 * there is no pool or n is below 2 * min_per_thread. fn must not call
 * mlp__parallel_for itself. */
typedef void (*mlp__range_fn)(void *arg, int64_t lo, int64_t hi, int tid);
void mlp__parallel_for(mlp_ctx *ctx, int64_t n, int64_t min_per_thread, mlp__range_fn fn,
                       void *arg);

/* Nanoseconds a cache line takes from the calling thread to one of the
 * pool's workers and back, measured now: the least of a few runs, which
 * stop early once one is below `enough` (0: all of them, about 1 ms
 * between far cores). 0 with no pool, or when the threads did not run
 * side by side (a worker that did not answer, or rounds slower than 10
 * us: an overloaded machine, or valgrind). */
double mlp__round_trip_ns(mlp_ctx *ctx, double enough);

/* Round trips shorter than this (ns) make a pool's cores near: seen 65-160
 * ns between cores that share a cache, 360-720 between two chiplets. */
#define MLP__NEAR_NS 250.0

#endif
