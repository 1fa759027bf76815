/*
 * testutil.h - shared by the cmocka tests: the cmocka includes, a
 * counting allocator that can fail the N-th call, and float comparisons.
 */
#ifndef MLP_TESTUTIL_H
#define MLP_TESTUTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mlp.h"

/* A counting allocator: counts calls and live blocks, and fails every call
 * once `calls` reaches `fail_at` (fail_at < 0: never fails). */
typedef struct tu_alloc {
    long calls;    /* alloc + realloc calls so far */
    long fail_at;  /* fail the call with this index (0-based) and all after */
    long live;     /* blocks allocated and not freed */
    long failures; /* calls that were failed */
} tu_alloc;

static inline void *tu_alloc_fn(void *user, size_t size)
{
    tu_alloc *a = (tu_alloc *)user;
    void *p;
    if (a->fail_at >= 0 && a->calls >= a->fail_at) {
        a->calls++;
        a->failures++;
        return NULL;
    }
    a->calls++;
    p = malloc(size);
    if (p)
        a->live++;
    return p;
}

static inline void *tu_realloc_fn(void *user, void *ptr, size_t size)
{
    tu_alloc *a = (tu_alloc *)user;
    if (a->fail_at >= 0 && a->calls >= a->fail_at) {
        a->calls++;
        a->failures++;
        return NULL;
    }
    a->calls++;
    return realloc(ptr, size);
}

static inline void tu_free_fn(void *user, void *ptr)
{
    tu_alloc *a = (tu_alloc *)user;
    a->live--;
    free(ptr);
}

/* A context whose allocations go through `a` (reset to count from zero). */
static inline mlp_ctx *tu_ctx(tu_alloc *a, long fail_at)
{
    mlp_allocator al;
    a->calls = 0;
    a->live = 0;
    a->failures = 0;
    a->fail_at = fail_at;
    al.alloc = tu_alloc_fn;
    al.realloc = tu_realloc_fn;
    al.free = tu_free_fn;
    al.user = a;
    return mlp_ctx_new(&al);
}

/* Assert |a - b| <= atol + rtol |b| with a readable message. */
#define assert_close(a, b, atol, rtol)                                                             \
    do {                                                                                           \
        double tu_a_ = (double)(a), tu_b_ = (double)(b);                                           \
        if (!(fabs(tu_a_ - tu_b_) <= (atol) + (rtol)*fabs(tu_b_))) {                               \
            print_error("%s = %.9g, expected %s = %.9g\n", #a, tu_a_, #b, tu_b_);                  \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* Assert a call returned MLP_OK, printing the context's message if not. */
#define assert_ok(ctx, call)                                                                       \
    do {                                                                                           \
        mlp_status tu_s_ = (call);                                                                 \
        if (tu_s_ != MLP_OK) {                                                                     \
            print_error("%s failed: %s (%s)\n", #call, mlp_status_str(tu_s_),                      \
                        mlp_ctx_errmsg(ctx));                                                      \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* Assert a handle is non-NULL, printing the context's message if not. */
#define assert_handle(ctx, h)                                                                      \
    do {                                                                                           \
        if (!(h)) {                                                                                \
            print_error("%s is NULL: %s\n", #h, mlp_ctx_errmsg(ctx));                              \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

#endif
