/*
 * core.h - the internal layout of the context, tensors and the tape, and
 * the internal API ops, layers and readers are written against.
 *
 * Ownership model:
 *  - A storage is a ref-counted float buffer. Tensors point at one; detach
 *    makes a second tensor on the same storage. Storages of op results come
 *    from the context's free lists and go back to them when their last
 *    reference goes, so a steady-state training step never calls the
 *    allocator. ("Pool" is only ever the worker threads, parallel.c.)
 *  - A tensor handle is ref-counted too: its owner holds one reference, and
 *    the tape holds one per recorded op that used it as input, so a user
 *    may free a parameter or input while the graph still refers to it.
 *  - Op results are "tape-owned": listed in ctx->results and released all
 *    at once by mlp_tape_reset.
 */
#ifndef MLP_CORE_H
#define MLP_CORE_H

#include "base/base.h"
#include "kern/gemm.h"

typedef struct mlp__storage {
    float *data; /* 64-byte aligned, cap floats */
    int64_t cap;
    int64_t refs;
    uint64_t version; /* shared by every tensor on this storage */
    int recycled;     /* returns to ctx's free list at refs == 0 */
    struct mlp__storage *next_free;
} mlp__storage;

struct mlp_tensor {
    mlp_ctx *ctx;
    mlp__storage *st;
    float *data; /* == st->data (NULL only when numel == 0 and no storage) */
    int64_t shape[MLP_MAX_DIMS];
    int ndim;
    int64_t numel;
    int64_t refs; /* owner + tape references */
    unsigned requires_grad : 1;
    unsigned tape_owned : 1; /* an op result, freed by mlp_tape_reset */
    unsigned user_freed : 1; /* owner released it; tape refs keep it alive */
    unsigned grad_new : 1;   /* .grad was made by the backward in progress */
    unsigned gbuf_fresh : 1; /* gbuf is not zeroed: its first writer overwrites it */
    unsigned released : 1;   /* an op result whose step was reset: a stale handle */
    /* .grad reads as zero but is not zeroed yet: the next backward's first
     * writer overwrites it (set and cleared within mlp__zero_grad_backward) */
    unsigned grad_zero_due : 1;
    int64_t node;       /* tape entry that produced it; -1 for leaves */
    mlp_tensor *grad;   /* leaf gradient, owned by this tensor */
    mlp__storage *gbuf; /* gradient being accumulated during backward */
    int64_t last_use;   /* leaf, during backward: its earliest node (-1: hook called) */
    struct mlp_tensor *next_free;
};

#define MLP__MAX_IN 3
#define MLP__MAX_SAVED 2

struct mlp__node;

/* An op's backward: accumulate (+=) into gin[i] the gradient of input i
 * given gout, the gradient of the node's output. gin[i] is NULL when input i
 * needs no gradient. Never fails: everything it needs was made in forward. */
typedef void (*mlp__backward_fn)(mlp_ctx *ctx, struct mlp__node *n, const float *gout,
                                 float *const *gin);

typedef struct mlp__op {
    mlp__backward_fn backward;
    unsigned saves_inputs; /* bit i: backward reads input i's values */
    int saves_output;      /* backward reads the output's values */
    /* bit i: when the node's fresh has bit i, backward writes input i's
     * whole gradient buffer (with =, as 0 + its usual +=) instead of
     * adding into it, so the tape need not zero that buffer first */
    unsigned overwrites;
} mlp__op;

/* What an op keeps for its backward besides tensors: one member per kind
 * of op, named after it. */
typedef union mlp__op_params {
    struct {
        int act;     /* the mlp_act */
        float slope; /* leaky_relu's negative slope */
    } act;
    struct {
        int64_t rows, cols; /* x seen as rows x cols over its last dimension */
    } rowwise;              /* prelu, softmax, log_softmax */
    struct {
        int64_t m, n, k; /* [m,k] x [k,n] (linear: x [rows,in] . w [in,out]) */
    } matmul;            /* matmul, linear */
    struct {
        int kind;         /* add, sub or mul */
        int64_t nb, rows; /* b repeats every nb elements of a, rows times */
    } binary;
    struct {
        float factor; /* d out / d each input element: scale's s, 1 or 1/n */
    } scale;          /* scale, sum, mean */
} mlp__op_params;

typedef struct mlp__node {
    const mlp__op *op;
    const char *fn; /* the public function that recorded it, for messages */
    mlp_tensor *out;
    mlp_tensor *in[MLP__MAX_IN];
    uint64_t in_version[MLP__MAX_IN];
    int nin;
    mlp_tensor *saved[MLP__MAX_SAVED]; /* extra tape-owned tensors (masks, probabilities) */
    int nsaved;
    uint64_t out_version;
    mlp__op_params p;
    unsigned fresh; /* during its backward: bit i, input i's buffer is unwritten */
    int spent;      /* a non-retained backward went through it */
    int mark;       /* scratch for backward's reachability pass */
} mlp__node;

/* The worker threads, defined in parallel.c (NULL: single thread). */
typedef struct mlp__pool mlp__pool;

/* Scratch of one tape-free call (predict, classify): packing workspaces
 * and activation buffers. The context keeps a list; a call takes one no
 * other call is using, so calls on one context from many threads never
 * share scratch (parallel.c). */
typedef struct mlp__scratch {
    struct mlp__scratch *next;
    int busy;           /* taken by a call (under the context's lock) */
    int pool;           /* this call may use the context's worker pool */
    float *work;        /* packing workspaces, work_floats each */
    size_t work_floats; /* per thread */
    int work_threads;
    const struct mlp__gemm_kernel *work_for; /* the kernel they were sized for */
    float *buf;                              /* buf_floats activation floats */
    size_t buf_floats;
} mlp__scratch;

struct mlp_ctx {
    mlp_allocator a;
    mlp__rng rng;
    mlp__err err;
    int grad_enabled;
    int check_finite;
    int allow_nonfinite_data; /* readers accept NaN, Inf and out-of-range numbers */
    int threads;
    mlp__pool *pool;
    /* the pool's cores are near (mlp_ctx_set_threads times a cache line
     * between two of them: parallel.c): smaller products pay to split */
    int near_cores;
    const mlp__gemm_kernel *gemm;
    float *gemm_work;        /* packing workspace, one per thread; once made it */
    size_t gemm_work_floats; /* per thread, always >= what ctx->gemm needs */
    int gemm_work_threads;
    /* a product split over K: the second part's sums (product.c);
     * NULL until needed */
    float *gemm_part;
    size_t gemm_part_floats;
    /* tape-free calls, which may run on many threads at once: the lock
     * (a mutex in the context's own allocation) guards the scratch list,
     * pool_taken and error writes of those calls */
    void *lock;
    mlp__scratch *scratch;
    int pool_taken; /* a tape-free call is using the worker pool */

    /* the tape */
    mlp__node *nodes;
    size_t nnodes, cap_nodes;
    mlp_tensor **results; /* tape-owned tensors of the current step */
    size_t nresults, cap_results;

    /* called by backward with each leaf whose .grad is final for this
     * backward, last layer's first (the gradient buckets of optim/dist.c) */
    void (*grad_hook)(void *user, mlp_tensor *leaf);
    void *grad_hook_user;

    /* bench/train's timer: called before (end = 0) and after (end = 1)
     * every matrix product through the context (mlp__gemm); NULL: none */
    void (*gemm_hook)(void *user, int end);
    void *gemm_hook_user;

    /* free lists: op results' storages and handles, kept between steps */
    mlp__storage *free_storages;
    mlp_tensor *free_tensors;
    mlp_tensor *retired;   /* op results released since the last reset: not reused
                            before the next one, so a stale handle is detected */
    int64_t live_storages; /* recycled storages in use, for tests */
};

/* ---- tensors (tensor.c) ---- */

/* Check ndim/shape; writes the element count. Records MLP_ERR_ARG/OVERFLOW. */
mlp_status mlp__check_shape(mlp_ctx *ctx, const char *fn, int ndim, const int64_t *shape,
                            int64_t *numel);
/* A new caller-owned tensor with uninitialised data. */
mlp_tensor *mlp__tensor_new(mlp_ctx *ctx, const char *fn, int ndim, const int64_t *shape);
/* A new tape-owned result with uninitialised data from the free lists. */
mlp_tensor *mlp__result(mlp_ctx *ctx, const char *fn, int ndim, const int64_t *shape);
/* Storage from the free lists with cap >= n floats, refs = 1. NULL + NOMEM
 * naming fn. */
mlp__storage *mlp__storage_get(mlp_ctx *ctx, const char *fn, int64_t n);
void mlp__storage_release(mlp_ctx *ctx, mlp__storage *st);
/* Free every storage and handle on ctx's free lists (at mlp_ctx_free). */
void mlp__free_lists_destroy(mlp_ctx *ctx);
/* Handles of op results released since the last reset, taken off the
 * retired list; mlp__handles_recycle(ctx, list) puts such a list on the
 * free list. mlp_tape_reset recycles what was retired before it, so the
 * handles it releases itself stay retired (and their use is detected)
 * until the reset after. */
mlp_tensor *mlp__handles_take_retired(mlp_ctx *ctx);
void mlp__handles_recycle(mlp_ctx *ctx, mlp_tensor *list);
/* 1 (recording MLP_ERR_STATE naming fn and the argument arg) when t is an
 * op result of a step that was reset: a stale handle. */
int mlp__stale(const mlp_tensor *t, const char *fn, const char *arg);
/* Drop one reference on a tensor handle (frees it at zero). */
void mlp__tensor_unref(mlp_tensor *t);
/* 1 if shapes are identical. */
int mlp__same_shape(const mlp_tensor *a, const mlp_tensor *b);
/* "[2,3]" into buf. Returns buf. */
const char *mlp__shape_str(const mlp_tensor *t, char *buf, size_t cap);
static inline void mlp__bump(mlp_tensor *t)
{
    if (t->st)
        t->st->version++;
}
static inline uint64_t mlp__version(const mlp_tensor *t)
{
    return t->st ? t->st->version : 0;
}

/* ---- argument checks for public entry points (tensor.c) ---- */

/* The context of the first non-NULL tensor among ts[0..n-1]; records
 * MLP_ERR_NULL naming names[i] for the first NULL one, MLP_ERR_CONTEXT when
 * contexts differ. Returns NULL on any failure. */
mlp_ctx *mlp__args(const char *fn, mlp_tensor *const *ts, const char *const *names, int n);

/* ---- the tape (tape.c) ---- */

/* 1 when an op on these inputs must be recorded. */
int mlp__should_record(mlp_ctx *ctx, mlp_tensor *const *in, int nin);
/* Append a node for `out` made by `op` from in[0..nin-1] in the public
 * function fn (the name backward's messages give it). Takes a reference on
 * each input, marks out as requiring grad. NULL + MLP_ERR_NOMEM. */
mlp__node *mlp__record(mlp_ctx *ctx, const char *fn, const mlp__op *op, mlp_tensor *out,
                       mlp_tensor *const *in, int nin);
/* Keep an extra tape-owned tensor for backward in node n (at most
 * MLP__MAX_SAVED). */
void mlp__node_save(mlp__node *n, mlp_tensor *t);
/* A position on the tape: its node and result counts. */
typedef struct mlp__tape_mark {
    size_t nodes, results;
} mlp__tape_mark;
mlp__tape_mark mlp__tape_mark_now(const mlp_ctx *ctx);
/* Take the nodes and results recorded after m off the tape, releasing
 * their references (mlp_tape_reset is the truncation to the start). */
void mlp__tape_truncate(mlp_ctx *ctx, mlp__tape_mark m);
/* Reset the tape and free its arrays and the free lists (at mlp_ctx_free). */
void mlp__tape_destroy(mlp_ctx *ctx);
/* With check_finite on: MLP_ERR_NONFINITE if t has NaN/Inf (naming fn). */
mlp_status mlp__check_finite(mlp_ctx *ctx, const char *fn, const mlp_tensor *t);

/* ---- worker threads (parallel.c) ---- */

/* Stop and free ctx's worker threads, if any (the caller sets ctx->threads). */
void mlp__pool_destroy(mlp_ctx *ctx);

/* The context's lock and tape-free scratch: */

/* Bytes of the lock ctx.c places after the context; init returns 0 when
 * the system has no mutex for it. */
size_t mlp__lock_bytes(void);
int mlp__lock_init(void *lock);
void mlp__lock_destroy(void *lock);
/* mlp__fail under the context's lock, for calls that may run on many
 * threads at once (predict, classify). */
mlp_status mlp__fail_shared(mlp_ctx *ctx, mlp_status code, const char *fmt, ...) MLP__PRINTF(3, 4);
/* Take a scratch no other call is using (adding one when all are busy)
 * with packing workspaces for each thread the call may use and
 * per_thread activation floats for each. The call may use the worker
 * pool (s->pool) when want_pool is set, the context has one and no other
 * call holds it; otherwise it runs on the calling thread alone. Safe from
 * many threads at once. On failure records the error (naming fn). */
mlp_status mlp__scratch_take(mlp_ctx *ctx, const char *fn, int want_pool, size_t per_thread,
                             mlp__scratch **out);
void mlp__scratch_give(mlp_ctx *ctx, mlp__scratch *s);
/* Free every scratch (mlp_ctx_free). */
void mlp__scratch_destroy(mlp_ctx *ctx);

/* ---- matrix products through the context ---- */

/* Make sure the packing workspace exists (call in forward, before
 * recording, so backward never allocates) (ctx.c). */
mlp_status mlp__gemm_ready(mlp_ctx *ctx, const char *fn);
/* C = alpha op(A) op(B) + beta C with ctx's kernel, workspace and threads.
 * mlp__gemm_ready must have succeeded (product.c, which splits it). */
void mlp__gemm(mlp_ctx *ctx, int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
               const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
               int64_t ldc);
/* What a product applies to C once its sums are done: C = f(C + b), b
 * [N] (or NULL) added along rows, f the mlp_act (mlp__bias_act_fwd). */
typedef struct mlp__epilogue {
    const float *b;
    int act;
    float param;
} mlp__epilogue;
/* mlp__gemm, then ep (NULL: none) on C: the bits of the product followed
 * by a pass of mlp__bias_act_fwd. The bias and ReLU are added by each tile
 * of C as it stores its last sums (mlp__sgemm_bias_relu); another
 * activation is a pass: a product split by rows has each thread apply it
 * to the rows it wrote while they are in its caches; one split by columns
 * is followed by a pass split by rows (product.c says why). A product
 * split over K applies ep in the pass that adds its two parts. */
void mlp__gemm_ep(mlp_ctx *ctx, int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                  int64_t ldc, const mlp__epilogue *ep);

#endif
