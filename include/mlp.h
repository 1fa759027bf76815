/*
 * mlp.h - libmlp, an embeddable C99 library for building, training and
 * running multi-layer perceptrons.
 *
 * This is the whole public API. It needs only the C standard library.
 *
 * Conventions (see docs/design.md for the full story):
 *
 *  - Every object is an opaque handle. Everything hangs off a context
 *    (mlp_ctx): its allocator, random generator, gradient tape, grad mode,
 *    error state and thread count. Two contexts never share mutable state,
 *    so two threads may each use their own context freely. One context
 *    must not be used by two threads at the same time (the exception:
 *    mlp_model_predict and mlp_model_classify, see "Thread safety" below).
 *  - Functions that can fail return mlp_status (MLP_OK == 0). Constructors
 *    and ops return a handle, or NULL on failure. Either way the context
 *    keeps a message naming the function and the argument that was wrong:
 *    mlp_ctx_errmsg(). An op given a NULL input returns NULL and keeps the
 *    first failure as the cause, so one check at the end of a chain of ops
 *    still explains what went wrong. The status a function returns is
 *    always the code mlp_ctx_errcode() then reports, and the message starts
 *    with the name of the function called ("mlp_model_add_linear: out of
 *    memory allocating ..."); a long path in it is shortened in the middle
 *    so the reason at the end is kept.
 *  - Ownership: what *_new, *_load, *_clone, *_from and mlp_tensor_detach
 *    return belongs to the caller and is released with the matching *_free
 *    (every *_free accepts NULL). Results of ops (mlp_matmul, mlp_relu, ...)
 *    belong to the context's current step: they stay valid until
 *    mlp_tape_reset(ctx) and must not be freed by the caller (freeing one is
 *    a harmless no-op). Using one after the reset that ended its step (a
 *    stale handle) is detected during the whole next step: ops give NULL,
 *    status functions MLP_ERR_STATE, value accessors their neutral value
 *    (-1, 0, NULL, NaN), each recording MLP_ERR_STATE with a message saying
 *    the tensor belonged to a step that was reset. After a second reset
 *    its memory may serve a new result and the check can no longer tell.
 *    Clone or detach a result that must outlive its step. Accessors return borrowed pointers valid while their
 *    parent lives.
 *  - The library never prints, never calls exit/abort, and never uses
 *    assert on user input.
 *  - Numbers as text (CSV fields, the model summary, error messages) are
 *    read and written with '.' as the decimal point whatever the locale;
 *    the library never calls setlocale or reads the locale.
 *  - Thread safety. Every function below is in one of three classes; each
 *    section's heading names the class of its functions and any exception.
 *      [any thread]  no state at all: callable from any thread at any time,
 *                    concurrently with anything: mlp_version,
 *                    mlp_version_number, mlp_status_str, mlp_act_name,
 *                    mlp_lr_step, mlp_lr_cosine.
 *      [new context] mlp_ctx_new: any thread, concurrently with anything
 *                    (the allocator it is given is copied); the context
 *                    it returns is then used as below.
 *      [one context] every other function. It works on one context: the
 *                    one passed, or the one its handle belongs to
 *                    (mlp_tensor_ctx). A context and everything made from
 *                    it (tensors, op results and the tape, models,
 *                    optimizers, datasets, communicators, its error
 *                    message) form one unit that one thread at a time may
 *                    use; calls on one context must not overlap, reading
 *                    calls included (an accessor may record an error). A
 *                    context may move to another thread between calls,
 *                    given the usual happens-before (a mutex, a thread
 *                    start or join). Calls on different contexts never
 *                    touch shared state and may run at the same time,
 *                    unless the caller shares memory between them (one
 *                    float array given to both, one allocator that is not
 *                    thread-safe).
 *    The one exception to [one context] is mlp_model_predict and
 *    mlp_model_classify, which its own documentation states. The library
 *    calls back (the allocator, mlp_fit's progress function, mlp_gradcheck's
 *    function, a communicator's engine) only on the thread that called it,
 *    unless that documentation says otherwise; its internal worker threads
 *    (mlp_ctx_set_threads) only compute. Memory the caller passes in (data
 *    to copy, paths, output arrays) is used during the call only, and must
 *    not be written by another thread meanwhile; tensors share storage only
 *    when the API says so (mlp_tensor_detach, mlp_dataset_new).
 */
#ifndef MLP_H
#define MLP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Version
 *
 * Thread safety: [any thread] (see the top of this file).
 * ---------------------------------------------------------------------- */

#define MLP_VERSION_MAJOR 0
#define MLP_VERSION_MINOR 1
#define MLP_VERSION_PATCH 0
/** The version as a string, "MAJOR.MINOR.PATCH". */
#define MLP_VERSION "0.1.0"
/** The version as a number: MAJOR * 10000 + MINOR * 100 + PATCH. */
#define MLP_VERSION_NUMBER (MLP_VERSION_MAJOR * 10000 + MLP_VERSION_MINOR * 100 + MLP_VERSION_PATCH)

#if defined(__GNUC__) && __GNUC__ >= 4
#define MLP_API __attribute__((visibility("default")))
#else
#define MLP_API
#endif

/** The version string of the library linked in (equal to MLP_VERSION when
 *  header and library match). Static storage; never NULL. */
MLP_API const char *mlp_version(void);
/** The version number of the library linked in (see MLP_VERSION_NUMBER). */
MLP_API int mlp_version_number(void);

/* ------------------------------------------------------------------------
 * Handles
 *
 * Thread safety: a handle and all made from it follow its context's rule,
 * [one context].
 * ---------------------------------------------------------------------- */

typedef struct mlp_ctx mlp_ctx;         /* context: allocator, rng, tape, errors */
typedef struct mlp_tensor mlp_tensor;   /* float32 tensor, row-major, 0..4 dims */
typedef struct mlp_model mlp_model;     /* sequential model of layers */
typedef struct mlp_optim mlp_optim;     /* optimizer over a set of parameters */
typedef struct mlp_dataset mlp_dataset; /* inputs + targets, mini-batches */
typedef struct mlp_comm mlp_comm;       /* communicator between processes */

/* ------------------------------------------------------------------------
 * Status codes (values are pinned and only ever appended)
 *
 * Thread safety: mlp_status_str is [any thread].
 * ---------------------------------------------------------------------- */

typedef enum mlp_status {
    MLP_OK = 0,                 /* success */
    MLP_ERR_NULL = 1,           /* a required argument was NULL */
    MLP_ERR_ARG = 2,            /* an argument had an invalid value */
    MLP_ERR_SHAPE = 3,          /* tensor shapes do not fit together */
    MLP_ERR_NOMEM = 4,          /* the allocator returned NULL */
    MLP_ERR_OVERFLOW = 5,       /* a size computation overflowed */
    MLP_ERR_IO = 6,             /* a file could not be opened/read/written */
    MLP_ERR_FORMAT = 7,         /* a file's contents are malformed or corrupt */
    MLP_ERR_GRAPH_FREED = 8,    /* backward through a graph already freed */
    MLP_ERR_NO_GRAD = 9,        /* backward on a tensor that has no grad_fn */
    MLP_ERR_IMPLICIT_GRAD = 10, /* non-scalar output given no output gradient */
    MLP_ERR_MODIFIED = 11,      /* a tensor saved for backward was modified */
    MLP_ERR_NONFINITE = 12,     /* NaN or Inf met with finite checks on */
    MLP_ERR_CONTEXT = 13,       /* handles from different contexts mixed */
    MLP_ERR_STATE = 14,         /* call not valid in the object's state */
    MLP_ERR_RANGE = 15,         /* an index or label out of range */
    MLP_ERR_UNSUPPORTED = 16,   /* feature not available in this build/CPU */
    MLP_ERR_VERSION = 17,       /* file written by an unsupported version */
    MLP_ERR_COMM = 18           /* a communicator failed, or another rank did */
} mlp_status;

/** Fixed English text for a status code ("out of memory", ...). Static
 *  storage; never NULL (unknown codes give "unknown status"). */
MLP_API const char *mlp_status_str(mlp_status status);

/* ------------------------------------------------------------------------
 * Context
 *
 * Thread safety: mlp_ctx_new is [new context]; every other function here is
 * [one context]. mlp_ctx_free ends the context: no call on it or on
 * anything made from it may run at the same time or come after.
 * ---------------------------------------------------------------------- */

/** A memory allocator for a context. Every allocation the library makes for
 *  a context goes through these three functions. `user` is passed back
 *  unchanged. alloc(user, n) returns n bytes or NULL; realloc(user, p, n)
 *  as the C library's realloc (p is never NULL, n never 0); free(user, p)
 *  releases p (never NULL). No alignment is required of the returned
 *  memory: the library aligns what it needs itself.
 *  `struct_size` is sizeof(mlp_allocator) as the caller's header declares
 *  it: the struct may gain members at its end in a later version, and the
 *  library reads only the first struct_size bytes (docs/abi.md):
 *      mlp_allocator a = {sizeof(mlp_allocator), my_alloc, my_realloc, my_free, me}; */
typedef struct mlp_allocator {
    size_t struct_size;
    void *(*alloc)(void *user, size_t size);
    void *(*realloc)(void *user, void *ptr, size_t size);
    void (*free)(void *user, void *ptr);
    void *user;
} mlp_allocator;

/** Create a context. `allocator` may be NULL for the C library's
 *  malloc/realloc/free (on Linux, blocks of 2 MiB or more come from
 *  posix_memalign on a 2 MiB boundary with madvise(MADV_HUGEPAGE), for
 *  fewer TLB misses; built with -DMLP_NO_HUGE_PAGES, plain malloc);
 *  otherwise all three functions must be set, its
 *  struct_size must cover at least this version's members, and the struct
 *  is copied. The random generator starts from seed 0, grad mode is
 *  on, one thread. Reads the environment variable MLP_GEMM_KERNEL
 *  (generic|avx2|avx512|neon) to force a matrix-product kernel.
 *  Returns NULL when allocation fails or the allocator is incomplete or
 *  its struct_size too small.
 *  Owned by the caller: release with mlp_ctx_free(). */
MLP_API mlp_ctx *mlp_ctx_new(const mlp_allocator *allocator);

/** Free a context and everything the tape still holds. Tensors, models,
 *  optimizers and datasets made from it must be freed before (leaking them
 *  is the caller's error; the context does not track them). NULL is a no-op. */
MLP_API void mlp_ctx_free(mlp_ctx *ctx);

/** Reseed the context's random generator. The generator (xoshiro128**
 *  seeded through splitmix64) gives the same stream on every platform. */
MLP_API void mlp_ctx_seed(mlp_ctx *ctx, uint64_t seed);

/** The next 32 random bits from the context's generator (0 for NULL ctx). */
MLP_API uint32_t mlp_ctx_rand_u32(mlp_ctx *ctx);
/** A uniform float in [0, 1) from the context's generator. */
MLP_API float mlp_ctx_rand_uniform(mlp_ctx *ctx);
/** A standard normal float (mean 0, deviation 1) from the context's generator. */
MLP_API float mlp_ctx_rand_normal(mlp_ctx *ctx);

/** The status of the last failure recorded on ctx (MLP_OK when none since
 *  the last mlp_ctx_clear_error). MLP_ERR_NULL for a NULL ctx. */
MLP_API mlp_status mlp_ctx_errcode(const mlp_ctx *ctx);
/** A message describing the last failure on ctx, naming the function and
 *  argument ("mlp_matmul: shapes [2,3] and [4,5] do not fit"). "" when none.
 *  Owned by ctx; valid until the next failing call on ctx. */
MLP_API const char *mlp_ctx_errmsg(const mlp_ctx *ctx);
/** Forget the last failure (errcode becomes MLP_OK, errmsg ""). */
MLP_API void mlp_ctx_clear_error(mlp_ctx *ctx);

/** Use up to n threads for large matrix products, element-wise passes,
 *  optimizer updates and batch gathers (n >= 1). Results are the same bits
 *  at any thread count: no sum changes its order (docs/performance.md). In
 *  a build without threads (MLP_NO_THREADS) any n > 1 gives
 *  MLP_ERR_UNSUPPORTED. With n > 1 the call starts the threads, then times
 *  a cache line passed between two of them (well under 1 ms; up to about
 *  12 ms while the OS places a new thread): where the cores share a cache,
 *  mlp_model_predict splits smaller layers across them. */
MLP_API mlp_status mlp_ctx_set_threads(mlp_ctx *ctx, int n);
/** The thread count set on ctx (1 by default; 0 for NULL). */
MLP_API int mlp_ctx_threads(const mlp_ctx *ctx);

/** Force the matrix-product kernel: "generic", "avx2", "avx512", "neon", or NULL
 *  for the best one this CPU supports. MLP_ERR_UNSUPPORTED if the CPU lacks
 *  it, MLP_ERR_ARG for an unknown name, MLP_ERR_NOMEM if its larger packing
 *  workspace cannot be made (the previous kernel stays). Products already
 *  on the tape run their backward with the new kernel. */
MLP_API mlp_status mlp_ctx_set_gemm_kernel(mlp_ctx *ctx, const char *name);
/** The name of the matrix-product kernel in use. Static storage. */
MLP_API const char *mlp_ctx_gemm_kernel(const mlp_ctx *ctx);

/** Stop at the first NaN or Inf: when on, every op checks its result,
 *  backward checks every gradient it computes, and the tape-free
 *  mlp_model_predict / mlp_model_classify check their input and output;
 *  the first non-finite value fails with MLP_ERR_NONFINITE and a message
 *  naming the op or function (and the row and column for predict). Off by
 *  default (it costs a pass over every result). */
MLP_API void mlp_ctx_set_check_finite(mlp_ctx *ctx, int on);

/** Let the data readers (mlp_csv_load, mlp_idx_load, mlp_npy_load and
 *  their _mem forms) accept values that are not finite floats. Off (0) by
 *  default: a NaN or Inf in the data (the text "nan", "inf", "infinity" in
 *  a CSV; such floats in an IDX or .npy file), or a number beyond float's
 *  range (1e999 in a CSV, 1e300 as a float64 in IDX or .npy; IDX values
 *  times `scale` included), fails with MLP_ERR_NONFINITE and a message
 *  naming the line or row and column and the value. On (1): NaN and Inf are
 *  kept, and numbers beyond float's range become +-Inf. Numbers too small
 *  for a float become 0 or a subnormal either way, as with strtof. This is
 *  a context setting rather than a flag on the readers so that their
 *  signatures stay as they are. */
MLP_API void mlp_ctx_set_allow_nonfinite_data(mlp_ctx *ctx, int on);
/** 1 if the readers accept non-finite data (see above), 0 if not or NULL. */
MLP_API int mlp_ctx_allow_nonfinite_data(const mlp_ctx *ctx);

/* ------------------------------------------------------------------------
 * Tensors
 *
 * float32, contiguous, row-major, 0 to 4 dimensions (0 dimensions is a
 * scalar with one element). Dimensions are int64_t; each must be >= 0 and
 * the byte size must fit in memory, or the constructor fails with
 * MLP_ERR_ARG / MLP_ERR_OVERFLOW. A dimension of 0 gives an empty tensor.
 * Tensors made by the constructors below are "leaves" that do not require
 * gradients until mlp_tensor_set_requires_grad(t, 1).
 *
 * Thread safety: [one context], accessors included; a tensor and its
 * detached views share storage and so are one object for this rule.
 * ---------------------------------------------------------------------- */

#define MLP_MAX_DIMS 4

/** A new tensor filled with zeros. Owned by the caller (mlp_tensor_free). */
MLP_API mlp_tensor *mlp_tensor_zeros(mlp_ctx *ctx, int ndim, const int64_t *shape);
/** A new tensor filled with ones. Owned by the caller. */
MLP_API mlp_tensor *mlp_tensor_ones(mlp_ctx *ctx, int ndim, const int64_t *shape);
/** A new tensor holding a copy of `data` (numel floats, row-major). `data`
 *  may be NULL only when the shape has no elements. Owned by the caller. */
MLP_API mlp_tensor *mlp_tensor_from(mlp_ctx *ctx, int ndim, const int64_t *shape,
                                    const float *data);
/** A new tensor of uniform random values in [lo, hi) from the context's
 *  generator (lo <= hi, both finite). Owned by the caller. */
MLP_API mlp_tensor *mlp_tensor_rand_uniform(mlp_ctx *ctx, int ndim, const int64_t *shape, float lo,
                                            float hi);
/** A new tensor of normal random values (mean, std >= 0) from the
 *  context's generator. Owned by the caller. */
MLP_API mlp_tensor *mlp_tensor_rand_normal(mlp_ctx *ctx, int ndim, const int64_t *shape, float mean,
                                           float std);
/** A new tensor with a copy of t's data and shape. Not tracked by the tape
 *  and not requiring grad (like t.detach().clone()). Owned by the caller. */
MLP_API mlp_tensor *mlp_tensor_clone(const mlp_tensor *t);
/** A new tensor sharing t's storage: writes through one are seen through the
 *  other. It is a leaf that does not require grad and that the tape does not
 *  track, so gradients stop there. The shared storage lives until both
 *  tensors are gone (also across mlp_tape_reset). Owned by the caller. */
MLP_API mlp_tensor *mlp_tensor_detach(mlp_tensor *t);
/** Release a tensor the caller owns. NULL, and tensors owned by the tape
 *  (op results), are ignored. A tensor still referenced by the tape (an
 *  input of a recorded op) stays alive inside the tape until the next
 *  mlp_tape_reset. */
MLP_API void mlp_tensor_free(mlp_tensor *t);

/** Set every element to `value`. Bumps the tensor's version. */
MLP_API mlp_status mlp_tensor_fill(mlp_tensor *t, float value);
/** Copy src's elements into dst (same element count; shapes may differ).
 *  Bumps dst's version. */
MLP_API mlp_status mlp_tensor_copy(mlp_tensor *dst, const mlp_tensor *src);
/** Copy `n` floats from `data` into t (n must equal the element count).
 *  Bumps t's version. */
MLP_API mlp_status mlp_tensor_set_data(mlp_tensor *t, const float *data, int64_t n);
/** Change t's shape in place keeping its elements (the element count must
 *  stay the same). Only for tensors the caller owns. */
MLP_API mlp_status mlp_tensor_set_shape(mlp_tensor *t, int ndim, const int64_t *shape);

/** Number of dimensions (0 for a scalar; -1 for NULL). */
MLP_API int mlp_tensor_ndim(const mlp_tensor *t);
/** Size of dimension `dim` (negative counts from the end); -1 if out of range or NULL. */
MLP_API int64_t mlp_tensor_dim(const mlp_tensor *t, int dim);
/** Number of elements (1 for a scalar; 0 for NULL). */
MLP_API int64_t mlp_tensor_numel(const mlp_tensor *t);
/** Pointer to the elements, row-major, 64-byte aligned. Borrowed: valid
 *  while t lives. Writing through it does not bump the version. NULL for NULL. */
MLP_API float *mlp_tensor_data(mlp_tensor *t);
/** Read-only pointer to the elements. */
MLP_API const float *mlp_tensor_cdata(const mlp_tensor *t);
/** The element at flat index i (0 <= i < numel); NaN when out of range. */
MLP_API float mlp_tensor_get(const mlp_tensor *t, int64_t i);
/** The value of a one-element tensor; NaN otherwise. */
MLP_API float mlp_tensor_item(const mlp_tensor *t);
/** The context a tensor belongs to. */
MLP_API mlp_ctx *mlp_tensor_ctx(const mlp_tensor *t);
/** The version counter: bumped by every in-place write through the API
 *  (fill, copy, set_data, optimizer steps). */
MLP_API uint64_t mlp_tensor_version(const mlp_tensor *t);

/* ------------------------------------------------------------------------
 * Gradients and the tape
 *
 * An op records itself on its context's tape when grad mode is on and at
 * least one input requires grad; its result then requires grad and is not
 * a leaf. Backward walks the tape in reverse from the result's entry. Only
 * leaves that require grad keep a gradient (.grad); it accumulates across
 * backward calls until zeroed. Non-leaf gradients are freed after use.
 *
 * Thread safety: [one context]: one tape per context, so two threads that
 * train at once need two contexts. mlp_gradcheck calls fn on its own thread.
 * ---------------------------------------------------------------------- */

/** Mark a leaf as requiring gradients (on != 0) or not. Fails with
 *  MLP_ERR_STATE on an op result (a non-leaf), as PyTorch does. */
MLP_API mlp_status mlp_tensor_set_requires_grad(mlp_tensor *t, int on);
/** 1 if t requires grad, 0 if not or NULL. */
MLP_API int mlp_tensor_requires_grad(const mlp_tensor *t);
/** 1 if t is a leaf (made by a constructor, detach, or a parameter), 0 if it
 *  is the recorded result of an op. */
MLP_API int mlp_tensor_is_leaf(const mlp_tensor *t);
/** The accumulated gradient of a leaf (same shape), or NULL when no backward
 *  has reached it yet, or t is not a leaf. Borrowed: owned by t. */
MLP_API mlp_tensor *mlp_tensor_grad(const mlp_tensor *t);
/** Set t's gradient to zero in place (PyTorch's x.grad.zero_()). Keeps the
 *  gradient's memory. No-op when t has no gradient yet. */
MLP_API mlp_status mlp_tensor_zero_grad(mlp_tensor *t);

/** Backpropagate from `out`. If out has one element, grad_out may be NULL
 *  (meaning 1). Otherwise grad_out must have out's element count, and the
 *  gradients computed are those of sum(out * grad_out); a NULL grad_out is
 *  MLP_ERR_IMPLICIT_GRAD ("grad can be implicitly created only for scalar
 *  outputs"). Gradients accumulate into the .grad of every leaf that
 *  requires grad and that out depends on.
 *  retain_graph == 0 frees what the graph saved: a second backward through
 *  it fails with MLP_ERR_GRAPH_FREED and changes no gradient. With
 *  retain_graph != 0 backward may run again (the gradients add up).
 *  Errors: MLP_ERR_NO_GRAD when out does not require grad;
 *  MLP_ERR_MODIFIED when a tensor the graph saved was changed in place
 *  after it was saved (e.g. by an optimizer step); MLP_ERR_NOMEM. On any
 *  error no gradient has changed. */
MLP_API mlp_status mlp_backward(mlp_tensor *out, const mlp_tensor *grad_out, int retain_graph);

/** End a step: free every op result of the context and the graph, keeping
 *  the memory for the next step (a steady-state training loop does not
 *  call the allocator). Tensors the caller owns are untouched. */
MLP_API void mlp_tape_reset(mlp_ctx *ctx);
/** Number of ops recorded on the tape since the last reset. */
MLP_API size_t mlp_tape_size(const mlp_ctx *ctx);

/** Turn grad mode on (1) or off (0); returns the previous mode. With grad
 *  mode off (PyTorch's no_grad) ops record nothing and cost no tape memory. */
MLP_API int mlp_ctx_set_grad_enabled(mlp_ctx *ctx, int enabled);
/** 1 if grad mode is on. */
MLP_API int mlp_ctx_grad_enabled(const mlp_ctx *ctx);

/** A function of tensors for mlp_gradcheck: computes a tensor from
 *  inputs[0..n-1] using ops, and returns it (or NULL on failure). */
typedef mlp_tensor *(*mlp_fn)(void *user, mlp_tensor *const *inputs, int n);

/** Check backward against central finite differences. For each input that
 *  requires grad and each of its elements x, compares the gradient backward
 *  gives for sum(fn(inputs) * g), g a fixed random weighting, with
 *  (f(x + eps) - f(x - eps)) / (2 eps), computed in double precision
 *  from fn's float results. Passes when |analytic - numeric| <=
 *  atol + rtol * |numeric| for every element. Returns MLP_OK when it passes,
 *  MLP_ERR_ARG with a message naming the input, element and both values when
 *  it fails. Inputs' data are restored and their .grad left as before.
 *  Typical: eps 1e-3, atol 1e-3, rtol 1e-2 for float32 ops. */
MLP_API mlp_status mlp_gradcheck(mlp_ctx *ctx, mlp_fn fn, void *user, mlp_tensor *const *inputs,
                                 int n, float eps, float atol, float rtol);

/* ------------------------------------------------------------------------
 * Ops
 *
 * Each returns a new tensor owned by the context's current step (valid until
 * mlp_tape_reset), or NULL with the context's error set. A NULL input gives
 * NULL and keeps the earlier failure as the cause. Inputs must belong to the
 * same context (MLP_ERR_CONTEXT otherwise).
 *
 * Thread safety: [one context] (each op records on its context's tape).
 * mlp_act_name is [any thread].
 * ---------------------------------------------------------------------- */

/** Matrix product of a [m,k] and b [k,n]: [m,n]. A 1-D operand is a row
 *  (a [k]) or a column (b [k]) whose dimension the result drops: [k]·[k,n]
 *  is [n], [m,k]·[k] is [m], and two vectors give their dot product (a
 *  scalar). Backward: dA += dC·B^T, dB += A^T·dC. */
MLP_API mlp_tensor *mlp_matmul(mlp_tensor *a, mlp_tensor *b);
/** Affine map x [n,in] · w [in,out] + b [out] (b may be NULL): [n,out];
 *  x [in] gives [out]. One op on the tape (db is the column sums of dy).
 *  Note: PyTorch's nn.Linear stores its weight as [out,in], the transpose. */
MLP_API mlp_tensor *mlp_linear(mlp_tensor *x, mlp_tensor *w, mlp_tensor *b);
/** a + b. Same shape, or b broadcast along rows: b's shape [n] or [1,n]
 *  with a of last dimension n, or b with one element. */
MLP_API mlp_tensor *mlp_add(mlp_tensor *a, mlp_tensor *b);
/** a - b, broadcasting as mlp_add. */
MLP_API mlp_tensor *mlp_sub(mlp_tensor *a, mlp_tensor *b);
/** a * b element-wise, broadcasting as mlp_add. */
MLP_API mlp_tensor *mlp_mul(mlp_tensor *a, mlp_tensor *b);
/** s * a. */
MLP_API mlp_tensor *mlp_scale(mlp_tensor *a, float s);
/** Sum of all elements: a scalar (0 dimensions). */
MLP_API mlp_tensor *mlp_sum(mlp_tensor *a);
/** Mean of all elements: a scalar. NaN for an empty tensor, as PyTorch. */
MLP_API mlp_tensor *mlp_mean(mlp_tensor *a);
/** Same elements, new shape (same element count). A copy on the tape. */
MLP_API mlp_tensor *mlp_reshape(mlp_tensor *a, int ndim, const int64_t *shape);
/** Transpose of a 2-D tensor. */
MLP_API mlp_tensor *mlp_transpose(mlp_tensor *a);

/** Activation functions, values pinned. */
typedef enum mlp_act {
    MLP_ACT_IDENTITY = 0,   /* f(x) = x */
    MLP_ACT_RELU = 1,       /* max(x, 0); f'(0) = 0 */
    MLP_ACT_SIGMOID = 2,    /* 1 / (1 + exp(-x)); f' = f(1-f), peak 0.25 */
    MLP_ACT_TANH = 3,       /* tanh(x); f' = 1 - f^2, peak 1 */
    MLP_ACT_LEAKY_RELU = 4, /* x > 0 ? x : 0.01 x */
    MLP_ACT_GELU = 5,       /* x * Phi(x), the exact erf form */
    MLP_ACT_STEP = 6,       /* x > 0 ? 1 : 0; gradient 0 everywhere */
    MLP_ACT_PRELU = 7       /* x > 0 ? x : alpha x, alpha learnable (layers) */
} mlp_act;

/** The name of an activation ("relu", ...); "unknown" otherwise. */
MLP_API const char *mlp_act_name(mlp_act act);

/** max(x, 0). Gradient 1 for x > 0 and 0 for x <= 0 (ReLU'(0) = 0). */
MLP_API mlp_tensor *mlp_relu(mlp_tensor *x);
/** 1 / (1 + exp(-x)), stable for large |x|. */
MLP_API mlp_tensor *mlp_sigmoid(mlp_tensor *x);
/** tanh(x). */
MLP_API mlp_tensor *mlp_tanh(mlp_tensor *x);
/** x > 0 ? x : slope * x (PyTorch's default slope is 0.01). */
MLP_API mlp_tensor *mlp_leaky_relu(mlp_tensor *x, float slope);
/** x > 0 ? x : alpha * x with a learnable alpha: alpha has one element, or
 *  one per column (x's last dimension). d/dx = x > 0 ? 1 : alpha;
 *  d/dalpha = x > 0 ? 0 : x. */
MLP_API mlp_tensor *mlp_prelu(mlp_tensor *x, mlp_tensor *alpha);
/** x * 0.5 * (1 + erf(x / sqrt 2)) (PyTorch's default GELU). */
MLP_API mlp_tensor *mlp_gelu(mlp_tensor *x);
/** The 0/1 step: x > 0 ? 1 : 0. Its gradient is 0 everywhere. */
MLP_API mlp_tensor *mlp_step(mlp_tensor *x);
/** Apply `act` (MLP_ACT_PRELU needs mlp_prelu and is MLP_ERR_ARG here). */
MLP_API mlp_tensor *mlp_activation(mlp_tensor *x, mlp_act act);
/** Row-wise softmax over the last dimension, stable for large inputs. */
MLP_API mlp_tensor *mlp_softmax(mlp_tensor *x);
/** Row-wise log-softmax over the last dimension (x - logsumexp(x)). */
MLP_API mlp_tensor *mlp_log_softmax(mlp_tensor *x);
/** Randomly zero elements with probability p and scale the rest by
 *  1/(1-p), using the context's generator (0 <= p < 1). */
MLP_API mlp_tensor *mlp_dropout(mlp_tensor *x, float p);

/* Losses: each returns a scalar, the mean over the batch (PyTorch's
 * reduction='mean'). */

/** Mean squared error: mean((pred - target)^2), same element count. */
MLP_API mlp_tensor *mlp_mse(mlp_tensor *pred, mlp_tensor *target);
/** Softmax cross-entropy of logits [n,k] against integer class labels
 *  [n] (class indices stored as floats, each an integer in [0,k)):
 *  mean over rows of logsumexp(row) - row[label]. Fused and stable: large
 *  logits give a finite loss and gradient. Labels out of range or not
 *  integral: MLP_ERR_RANGE. No gradient flows to the labels. */
MLP_API mlp_tensor *mlp_cross_entropy(mlp_tensor *logits, mlp_tensor *labels);
/** Binary cross-entropy with logits: mean of
 *  max(x,0) - x*t + log(1 + exp(-|x|)), targets t in [0,1], same shape. */
MLP_API mlp_tensor *mlp_bce_with_logits(mlp_tensor *logits, mlp_tensor *targets);

/* ------------------------------------------------------------------------
 * Models: a sequence of layers
 *
 * Thread safety: [one context], except mlp_model_predict and
 * mlp_model_classify (their documentation says what they allow).
 * ---------------------------------------------------------------------- */

/** Weight initialisations for linear layers, values pinned. */
typedef enum mlp_init {
    MLP_INIT_DEFAULT = 0,         /* PyTorch's nn.Linear: W, b ~ U(-1/sqrt(in), 1/sqrt(in)) */
    MLP_INIT_XAVIER_UNIFORM = 1,  /* W ~ U(-a, a), a = sqrt(6/(in+out)); b = 0 */
    MLP_INIT_XAVIER_NORMAL = 2,   /* W ~ N(0, 2/(in+out)); b = 0 */
    MLP_INIT_KAIMING_UNIFORM = 3, /* W ~ U(-a, a), a = sqrt(6/in) (ReLU gain); b = 0 */
    MLP_INIT_KAIMING_NORMAL = 4,  /* W ~ N(0, 2/in); b = 0 */
    MLP_INIT_ZEROS = 5            /* W = 0, b = 0 */
} mlp_init;

/** Layer kinds, values pinned. */
typedef enum mlp_layer_kind {
    MLP_LAYER_LINEAR = 0,      /* y = x·W (+ b) */
    MLP_LAYER_ACT = 1,         /* element-wise activation (pReLU with its alphas) */
    MLP_LAYER_DROPOUT = 2,     /* dropout, training mode only */
    MLP_LAYER_SOFTMAX = 3,     /* row-wise softmax head */
    MLP_LAYER_LOG_SOFTMAX = 4, /* row-wise log-softmax head */
    MLP_LAYER_STANDARDIZE = 5  /* y = (x - mean) / std per feature, fixed */
} mlp_layer_kind;

/** A new empty model on ctx, in training mode. Owned by the caller. */
MLP_API mlp_model *mlp_model_new(mlp_ctx *ctx);
/** Free a model and its parameters. NULL is a no-op. */
MLP_API void mlp_model_free(mlp_model *m);
/** Append a linear layer y = x·W + b, W [in,out], b [out], initialised with
 *  MLP_INIT_DEFAULT from the context's generator. `in` must equal the
 *  previous linear layer's `out` (MLP_ERR_SHAPE otherwise). */
MLP_API mlp_status mlp_model_add_linear(mlp_model *m, int64_t in, int64_t out);
/** As mlp_model_add_linear with a chosen initialisation. */
MLP_API mlp_status mlp_model_add_linear_init(mlp_model *m, int64_t in, int64_t out, mlp_init init);
/** Append an activation layer. MLP_ACT_PRELU adds one learnable alpha
 *  (initial 0.25) as a parameter; MLP_ACT_LEAKY_RELU uses slope 0.01. */
MLP_API mlp_status mlp_model_add_act(mlp_model *m, mlp_act act);
/** Append a linear layer without bias, y = x·W (PyTorch's
 *  nn.Linear(in, out, bias=False)), W [in,out] initialised with `init`
 *  (MLP_INIT_DEFAULT: U(-1/sqrt(in), 1/sqrt(in))). Shapes chain as for
 *  mlp_model_add_linear (MLP_ERR_SHAPE); in or out outside 1..2^31 or an
 *  unknown init is MLP_ERR_ARG. */
MLP_API mlp_status mlp_model_add_linear_nobias(mlp_model *m, int64_t in, int64_t out,
                                               mlp_init init);
/** Append a leaky ReLU, x > 0 ? x : slope * x, with any finite slope
 *  (nn.LeakyReLU(slope); mlp_model_add_act(m, MLP_ACT_LEAKY_RELU) uses
 *  0.01). A non-finite slope is MLP_ERR_ARG. */
MLP_API mlp_status mlp_model_add_leaky_relu(mlp_model *m, float slope);
/** Append a pReLU, x > 0 ? x : alpha * x, with num_alpha learnable alphas
 *  (initial 0.25, as nn.PReLU(num_alpha)): one shared by every feature, or
 *  one per feature, in which case num_alpha must equal the width of the
 *  layer's input (the previous layer's out; MLP_ERR_SHAPE otherwise). The
 *  alphas are one parameter tensor [num_alpha]. num_alpha < 1 or above
 *  2^31 is MLP_ERR_ARG. */
MLP_API mlp_status mlp_model_add_prelu(mlp_model *m, int64_t num_alpha);
/** Append a dropout layer with drop probability p in [0,1), active only in
 *  training mode. */
MLP_API mlp_status mlp_model_add_dropout(mlp_model *m, float p);
/** Append a row-wise softmax: the model's outputs become probabilities
 *  (mlp_model_forward, mlp_model_predict). Meant as the last layer of a
 *  classifier. Training: cross-entropy works on logits, so mlp_fit and
 *  mlp_evaluate with MLP_LOSS_CROSS_ENTROPY skip a softmax or log-softmax
 *  last layer and apply the loss to the logits before it (the same
 *  gradient as PyTorch's CrossEntropyLoss on the logits, or NLLLoss on a
 *  log-softmax). A program writing its own loop uses
 *  mlp_model_forward_logits for the same. The other losses see the
 *  model's full output. */
MLP_API mlp_status mlp_model_add_softmax(mlp_model *m);
/** Append a row-wise log-softmax (x - logsumexp(x)): outputs become
 *  log-probabilities. Training as for mlp_model_add_softmax. */
MLP_API mlp_status mlp_model_add_log_softmax(mlp_model *m);
/** Append a per-feature standardisation, y = (x - mean) / std, over n
 *  features, with fixed statistics stored in the model (not parameters:
 *  optimizers never change them; gradients flow through to x). mean and
 *  std are n floats each, copied; NULL gives 0 (mean) and 1 (std). Every
 *  mean must be finite and every std finite and > 0 (a constant feature
 *  has std 0: pass 1 for it, as scikit-learn's StandardScaler does),
 *  else MLP_ERR_ARG naming the feature. n must equal the width before the
 *  layer (MLP_ERR_SHAPE); as the first layer it fixes the model's input
 *  width. */
MLP_API mlp_status mlp_model_add_standardize(mlp_model *m, int64_t n, const float *mean,
                                             const float *std);
/** Replace the statistics of standardisation layer `layer` (an index as
 *  in mlp_model_layer_kind) with copies of mean[n] and std[n], n its
 *  feature count; checked as in mlp_model_add_standardize, and on any
 *  error nothing changes. MLP_ERR_RANGE when layer is not a layer of m,
 *  MLP_ERR_ARG when it is not a standardisation layer. */
MLP_API mlp_status mlp_model_set_standardize(mlp_model *m, int layer, const float *mean,
                                             const float *std);
/** Run the model on a batch x [n,in] (or [in] for one sample): records on
 *  the tape when grad mode is on. Returns a tensor owned by the step. */
MLP_API mlp_tensor *mlp_model_forward(mlp_model *m, mlp_tensor *x);
/** As mlp_model_forward, but stopping before a softmax or log-softmax
 *  last layer: the logits, for mlp_cross_entropy. Equal to
 *  mlp_model_forward for a model without such a head. */
MLP_API mlp_tensor *mlp_model_forward_logits(mlp_model *m, mlp_tensor *x);
/** Training mode (1, the default: dropout active) or evaluation mode (0). */
MLP_API mlp_status mlp_model_set_training(mlp_model *m, int training);
/** 1 in training mode, 0 in evaluation mode or for NULL. */
MLP_API int mlp_model_is_training(const mlp_model *m);
/** Number of layers. */
MLP_API int mlp_model_num_layers(const mlp_model *m);
/** Kind of layer i, or -1 when out of range. */
MLP_API int mlp_model_layer_kind(const mlp_model *m, int i);
/** Number of parameter tensors (weights, biases, pReLU alphas; not the
 *  fixed statistics of a standardisation layer). */
MLP_API int mlp_model_num_params(const mlp_model *m);
/** Parameter tensor i, in layer order (W then b for a linear layer).
 *  Borrowed: owned by the model. NULL when out of range. */
MLP_API mlp_tensor *mlp_model_param(const mlp_model *m, int i);
/** Total number of scalar parameters. */
MLP_API int64_t mlp_model_param_numel(const mlp_model *m);
/** Input features (the first linear or standardisation layer's width),
 *  0 if none. */
MLP_API int64_t mlp_model_in_features(const mlp_model *m);
/** Output features (the last linear layer's out; the width of a
 *  per-feature layer after it), 0 if none. */
MLP_API int64_t mlp_model_out_features(const mlp_model *m);
/** Write a human-readable summary (one line per layer with output shape
 *  and parameter count, then the total; numbers written with '.' as the
 *  decimal point in every locale) into buf (size bytes, always
 *  NUL-terminated when size > 0). Returns the length the full summary
 *  needs, excluding the NUL, like snprintf; 0 on NULL model. */
MLP_API size_t mlp_model_summary(const mlp_model *m, char *buf, size_t size);

/** Inference without the tape: x holds n rows of in_features floats, out
 *  receives n rows of out_features floats (probabilities after a softmax
 *  head, log-probabilities after a log-softmax one). Runs in evaluation
 *  semantics (dropout off) whatever the mode. Large batches are split across the
 *  context's threads (mlp_ctx_set_threads); results are the same at any
 *  thread count. After its first call with a given n (or a larger one)
 *  nothing is allocated; one row through layers no wider than 256 (a
 *  small controller net) allocates nothing even on the first call, takes
 *  no lock but to record an error, and uses about 2 KB of the calling
 *  thread's stack. With mlp_ctx_set_check_finite on, a NaN or Inf in x
 *  or in the output is MLP_ERR_NONFINITE naming its row and column.
 *  Thread-safety: many threads may call mlp_model_predict and
 *  mlp_model_classify at once on one model (a service answering requests
 *  from a pool of threads): each call in flight gets its own scratch from
 *  the context, and the model is only read. At most one of those calls
 *  uses the context's worker threads at a time; the others run on their
 *  calling thread. Nothing else may run on the context meanwhile (no
 *  training, no change to the model or the context), and the context's
 *  allocator must be safe to call from those threads (the C library's
 *  is): the first call of each concurrent caller may allocate. A failing
 *  call's message is recorded under a lock; with several failing at once
 *  mlp_ctx_errmsg names one of them. A build without threads
 *  (MLP_NO_THREADS) has no lock: one caller at a time there. */
MLP_API mlp_status mlp_model_predict(mlp_model *m, const float *x, int64_t n, float *out);
/** Index of the largest output for each of n rows of x into classes[n]
 *  (the same pass as mlp_model_predict, with its thread-safety). */
MLP_API mlp_status mlp_model_classify(mlp_model *m, const float *x, int64_t n, int32_t *classes);
/** Pack the weights of m's linear layers once, in the layout the matrix
 *  kernel reads, for mlp_model_predict and mlp_model_classify to use from
 *  then on instead of packing them again in every call (a serving model:
 *  faster from a few rows up; the same results, to the bit). Costs about
 *  the weights' size again in memory. A layer whose weights changed
 *  through the API since (an optimizer step, mlp_tensor_copy, anything
 *  that moves mlp_tensor_version) is no longer read packed until the next
 *  mlp_model_pack; a write through mlp_tensor_data is not seen: call
 *  mlp_model_pack again after one. Layers added later are not packed.
 *  on == 0 frees the packed copy (so does mlp_model_free). Fails with
 *  MLP_ERR_NOMEM and nothing packed. Thread-safety: not while another
 *  thread uses m. */
MLP_API mlp_status mlp_model_pack(mlp_model *m, int on);

/** Save the model (architecture and parameters) to `path` in the libmlp
 *  format (docs/format.md): versioned, little-endian, with a checksum.
 *  Atomic: writes `path`.tmp then renames it over `path`, so a failure
 *  leaves any previous file intact. */
MLP_API mlp_status mlp_model_save(const mlp_model *m, const char *path);
/** Load a model saved by mlp_model_save. A truncated, corrupt, hostile or
 *  wrong-version file gives NULL with MLP_ERR_FORMAT / MLP_ERR_VERSION /
 *  MLP_ERR_IO set on ctx. Owned by the caller. */
MLP_API mlp_model *mlp_model_load(mlp_ctx *ctx, const char *path);
/** Serialise the model into memory. *out_buf is allocated with ctx's
 *  allocator and released with mlp_buffer_free(ctx, *out_buf). */
MLP_API mlp_status mlp_model_save_mem(const mlp_model *m, void **out_buf, size_t *out_size);
/** Load a model from a buffer in the libmlp format (as mlp_model_load). */
MLP_API mlp_model *mlp_model_load_mem(mlp_ctx *ctx, const void *buf, size_t size);
/** Free a buffer returned by the library (mlp_model_save_mem,
 *  mlp_model_save_onnx_mem). NULL is a no-op. */
MLP_API void mlp_buffer_free(mlp_ctx *ctx, void *buf);

/* ONNX (docs/onnx.md): models trained elsewhere in, libmlp's models out. */

/** Load an ONNX model whose graph is a chain of MLP layers, as PyTorch's
 *  torch.onnx.export writes them (opsets 7 to 23; docs/onnx.md lists every
 *  operator read and the layer it becomes). The model starts in
 *  evaluation mode. Errors: MLP_ERR_IO (the file), MLP_ERR_FORMAT (the
 *  bytes are not a well-formed ONNX model: a malformed protobuf, a length
 *  past the end, shapes that do not fit), MLP_ERR_UNSUPPORTED (a valid
 *  graph libmlp cannot run; the message names the node, its op and its
 *  position in the graph), MLP_ERR_NOMEM. Memory used while reading stays
 *  within a small multiple of the file's size. Owned by the caller
 *  (mlp_model_free). */
MLP_API mlp_model *mlp_model_load_onnx(mlp_ctx *ctx, const char *path);
/** As mlp_model_load_onnx from size bytes at buf (borrowed, not kept). */
MLP_API mlp_model *mlp_model_load_onnx_mem(mlp_ctx *ctx, const void *buf, size_t size);
/** Save the model as ONNX: opset 13, input "features" [batch, in] with a
 *  dynamic batch, one output named for what it holds ("logits",
 *  "probabilities", "log_probabilities", or "output"), producer "libmlp"
 *  with its version. Dropout layers are left out; GELU is written as its
 *  Erf form. Atomic like mlp_model_save. Errors: MLP_ERR_STATE for a model
 *  with no layers or nothing but dropout, MLP_ERR_IO, MLP_ERR_NOMEM. */
MLP_API mlp_status mlp_model_save_onnx(const mlp_model *m, const char *path);
/** As mlp_model_save_onnx into memory: *out_buf is allocated with the
 *  model's context's allocator and released with mlp_buffer_free(ctx,
 *  *out_buf); *out_size gets its length. On failure *out_buf is NULL. */
MLP_API mlp_status mlp_model_save_onnx_mem(const mlp_model *m, void **out_buf, size_t *out_size);

/* ------------------------------------------------------------------------
 * Optimizers
 *
 * Thread safety: [one context]; an optimizer belongs to the context of its
 * parameters. mlp_lr_step and mlp_lr_cosine are [any thread].
 * ---------------------------------------------------------------------- */

/** Optimizer kinds, values pinned. */
typedef enum mlp_optim_kind {
    MLP_OPTIM_SGD = 0,
    MLP_OPTIM_ADAM = 1,
    MLP_OPTIM_ADAMW = 2
} mlp_optim_kind;

/** Optimizer settings, values pinned. */
typedef enum mlp_optim_opt {
    MLP_OPT_LR = 0,           /* learning rate (>= 0, finite) */
    MLP_OPT_MOMENTUM = 1,     /* SGD momentum (default 0) */
    MLP_OPT_DAMPENING = 2,    /* SGD dampening (default 0) */
    MLP_OPT_NESTEROV = 3,     /* SGD Nesterov, 0 or 1 (needs momentum > 0, dampening 0) */
    MLP_OPT_WEIGHT_DECAY = 4, /* L2 (SGD, Adam) or decoupled (AdamW; default 0.01) */
    MLP_OPT_BETA1 = 5,        /* Adam beta1 (default 0.9) */
    MLP_OPT_BETA2 = 6,        /* Adam beta2 (default 0.999) */
    MLP_OPT_EPS = 7,          /* Adam epsilon (default 1e-8) */
    MLP_OPT_AMSGRAD = 8,      /* Adam/AdamW amsgrad, 0 or 1 (default 0) */
    MLP_OPT_BUCKET_BYTES = 9  /* with a communicator: gradient bytes per all-reduce
                                 (>= 1, default 262144; see mlp_optim_set_comm) */
} mlp_optim_opt;

/** An optimizer of `kind` over n parameter tensors (borrowed: they must
 *  outlive the optimizer), learning rate lr. Each tensor may appear once:
 *  the same tensor twice, or two tensors sharing storage (a tensor and
 *  its detached view), is MLP_ERR_ARG naming both indexes (each would be
 *  updated twice per step; PyTorch refuses it too). Owned by the caller. */
MLP_API mlp_optim *mlp_optim_new(mlp_ctx *ctx, mlp_optim_kind kind, mlp_tensor *const *params,
                                 int n, float lr);
/** SGD over all of a model's parameters: p -= lr * g (PyTorch's torch.optim.SGD). */
MLP_API mlp_optim *mlp_sgd_new(mlp_model *m, float lr);
/** Adam over a model's parameters (torch.optim.Adam). */
MLP_API mlp_optim *mlp_adam_new(mlp_model *m, float lr);
/** AdamW over a model's parameters (torch.optim.AdamW, weight decay 0.01). */
MLP_API mlp_optim *mlp_adamw_new(mlp_model *m, float lr);
/** Free an optimizer (not the parameters). NULL is a no-op. */
MLP_API void mlp_optim_free(mlp_optim *opt);
/** Change a setting. MLP_ERR_ARG for a value out of range, not finite or
 *  beyond float's range (|value| > FLT_MAX: the update runs in float), or
 *  a setting the kind does not have (e.g. MOMENTUM on Adam). */
MLP_API mlp_status mlp_optim_set(mlp_optim *opt, mlp_optim_opt what, double value);
/** Read a setting (NaN when the kind does not have it). */
MLP_API double mlp_optim_get(const mlp_optim *opt, mlp_optim_opt what);
/** Zero the gradients of every parameter (in place; see mlp_tensor_zero_grad). */
MLP_API mlp_status mlp_optim_zero_grad(mlp_optim *opt);
/** One update of every parameter that has a gradient, following PyTorch's
 *  documented formula for the kind. Parameters without a gradient are
 *  skipped. Bumps each updated parameter's version. */
MLP_API mlp_status mlp_optim_step(mlp_optim *opt);
/** Number of steps taken. */
MLP_API int64_t mlp_optim_num_steps(const mlp_optim *opt);

/** Step schedule: base_lr * gamma^floor(epoch / step_size). */
MLP_API float mlp_lr_step(float base_lr, int epoch, int step_size, float gamma);
/** Cosine schedule: min_lr + (base_lr - min_lr) * (1 + cos(pi * t / total)) / 2,
 *  t clamped to [0, total]. */
MLP_API float mlp_lr_cosine(float base_lr, float min_lr, int t, int total);

/* ------------------------------------------------------------------------
 * Files: NumPy .npy, IDX (MNIST), CSV
 *
 * Thread safety: [one context]. Two threads may read the same file or buffer
 * into two contexts at once; saving two files at once is fine, saving to one
 * path from two threads is a race on that path (the last rename wins).
 * ---------------------------------------------------------------------- */

/** Read a .npy file holding float32 (little- or big-endian '<f4'/'>f4') or
 *  float64 ('<f8', converted) in C order, 0 to 4 dimensions. A malformed
 *  header or size mismatch is MLP_ERR_FORMAT. A NaN or Inf, or a float64
 *  beyond float's range, is MLP_ERR_NONFINITE naming its row and column
 *  unless mlp_ctx_set_allow_nonfinite_data is on. Owned by the caller. */
MLP_API mlp_tensor *mlp_npy_load(mlp_ctx *ctx, const char *path);
/** As mlp_npy_load from memory. */
MLP_API mlp_tensor *mlp_npy_load_mem(mlp_ctx *ctx, const void *buf, size_t size);
/** Write t as a version 1.0 .npy file, '<f4', C order. Atomic as mlp_model_save. */
MLP_API mlp_status mlp_npy_save(const mlp_tensor *t, const char *path);

/** Read an uncompressed IDX file (MNIST format: magic 0x0000TTNN, big-endian
 *  dimensions). Element types u8, i8, i16, i32, f32, f64 are converted to
 *  float and multiplied by `scale` (finite, else MLP_ERR_ARG; e.g. 1/255.f
 *  for images, 1 for labels). Checks the magic, the dimensions and the file
 *  size. A NaN or Inf, or a value beyond float's range (before or after the
 *  scale), is MLP_ERR_NONFINITE naming its row and column unless
 *  mlp_ctx_set_allow_nonfinite_data is on. Owned by the caller. */
MLP_API mlp_tensor *mlp_idx_load(mlp_ctx *ctx, const char *path, float scale);
/** As mlp_idx_load from memory. */
MLP_API mlp_tensor *mlp_idx_load_mem(mlp_ctx *ctx, const void *buf, size_t size, float scale);

/** Read a numeric CSV file into a 2-D tensor [rows, cols]. skip_header != 0
 *  skips the first line. A UTF-8 byte-order mark is skipped; lines end with
 *  LF, CRLF or CR; blank lines may only close the file. Every row must have
 *  the same number of fields; spaces and tabs around a field are ignored.
 *  A field is [+-]digits[.digits][(e|E)[+-]digits] (or .digits), of any
 *  length, rounded once to the nearest float: '.' is the decimal point
 *  whatever the locale (the library never reads or sets the locale).
 *  Errors name the line and column (from 1) and quote the field: a field
 *  that is not a number, a NUL byte (a UTF-16 file) or a UTF-16 byte-order
 *  mark is MLP_ERR_FORMAT; "nan", "inf", "infinity" (any case) or a number
 *  beyond float's range is MLP_ERR_NONFINITE unless
 *  mlp_ctx_set_allow_nonfinite_data is on (then they are read as NaN, +-Inf).
 *  Owned by the caller. */
MLP_API mlp_tensor *mlp_csv_load(mlp_ctx *ctx, const char *path, int skip_header);
/** As mlp_csv_load from memory. */
MLP_API mlp_tensor *mlp_csv_load_mem(mlp_ctx *ctx, const void *buf, size_t size, int skip_header);

/* ------------------------------------------------------------------------
 * Datasets and training
 *
 * Thread safety: [one context]. A dataset shares the storage of the x and y
 * given to mlp_dataset_new: writing through those tensors is a call on the
 * context like any other. mlp_fit calls progress on the calling thread.
 * ---------------------------------------------------------------------- */

/** A dataset over inputs x [n, ...] and targets y [n, ...] (same first
 *  dimension). The dataset shares their storage (the caller may free x and
 *  y afterwards). Owned by the caller. */
MLP_API mlp_dataset *mlp_dataset_new(mlp_tensor *x, mlp_tensor *y);
/** Free a dataset. NULL is a no-op. */
MLP_API void mlp_dataset_free(mlp_dataset *ds);
/** Number of samples. */
MLP_API int64_t mlp_dataset_size(const mlp_dataset *ds);
/** Shuffle the order of samples with the context's generator (a
 *  Fisher-Yates pass: the same seed gives the same order everywhere).
 *  An epoch mlp_fit had in progress on ds starts over (next batch 0). */
MLP_API mlp_status mlp_dataset_shuffle(mlp_dataset *ds);
/** Epochs mlp_fit has finished on ds (its cursor, saved in checkpoints);
 *  0 for a new dataset or NULL. */
MLP_API int64_t mlp_dataset_epoch(const mlp_dataset *ds);
/** The batch mlp_fit trains on next in the epoch in progress on ds: 0
 *  between epochs (the next fit shuffles first), b > 0 when batches
 *  0..b-1 of the current order are done. 0 for NULL. */
MLP_API int64_t mlp_dataset_next_batch(const mlp_dataset *ds);
/** Number of batches of batch_size (the last one may be partial): 0 for a
 *  batch_size < 1 or an empty dataset, 1 for any batch_size >= the size. */
MLP_API int64_t mlp_dataset_num_batches(const mlp_dataset *ds, int64_t batch_size);
/** Batch `index` in the current order: *x gets [b, ...] inputs, *y [b, ...]
 *  targets, b = batch_size except for a partial last batch. The tensors are
 *  owned by the dataset and overwritten by the next call (no allocation
 *  after the first); they hold min(batch_size, dataset size) rows, so a
 *  huge batch_size costs no more than the whole dataset. */
MLP_API mlp_status mlp_dataset_batch(mlp_dataset *ds, int64_t index, int64_t batch_size,
                                     mlp_tensor **x, mlp_tensor **y);

/** Losses for mlp_fit, values pinned. */
typedef enum mlp_loss_kind {
    MLP_LOSS_CROSS_ENTROPY = 0,  /* mlp_cross_entropy, targets are labels */
    MLP_LOSS_MSE = 1,            /* mlp_mse */
    MLP_LOSS_BCE_WITH_LOGITS = 2 /* mlp_bce_with_logits */
} mlp_loss_kind;

/** Progress callback for mlp_fit: called after every batch (batch from 0 to
 *  nbatches-1) with that batch's loss, and once at the end of each epoch
 *  with batch == nbatches and the epoch's mean loss and accuracy (accuracy
 *  is NaN unless the loss is cross-entropy). Return 0 to go on, non-zero
 *  to stop training (mlp_fit then returns MLP_OK). */
typedef int (*mlp_progress_fn)(void *user, int epoch, int64_t batch, int64_t nbatches, float loss,
                               float accuracy);

/** Train for `epochs` passes over ds in shuffled mini-batches: forward,
 *  loss, zero_grad, backward, step, then mlp_tape_reset(ctx) after every
 *  batch (so op results the caller made before are gone afterwards).
 *  progress may be NULL.
 *  With a communicator on opt (mlp_optim_set_comm) mlp_fit is collective:
 *  every rank passes a dataset with the same samples; each epoch every
 *  rank takes rank 0's random generator state and so draws the same
 *  shuffled order; batch_size is the global batch, of which each rank
 *  takes its consecutive slice (rows [b*r/P, b*(r+1)/P) of a batch of b
 *  rows, the last batch included, even when a slice is empty); the
 *  gradients are weighted so the step is the one of the whole batch.
 *  progress gets the whole batch's loss and accuracy on every rank, and
 *  must return the same answer on every rank. A rank that fails makes
 *  every rank's mlp_fit fail (MLP_ERR_COMM on the others) instead of
 *  waiting. An empty dataset is MLP_ERR_ARG (there would be nothing to
 *  train on and no loss to report).
 *  The place in the epochs is kept in ds (mlp_dataset_epoch,
 *  mlp_dataset_next_batch): each new epoch is shuffled first, but an
 *  epoch in progress on ds (a fit stopped by its callback, or restored
 *  by mlp_checkpoint_load) is finished first in its order, and counts as
 *  the first of the `epochs`; it needs the batch_size it was started with
 *  (MLP_ERR_STATE otherwise). The cursor has moved past a batch when its
 *  progress call is made, so a checkpoint saved from the callback resumes
 *  after that batch, bit-identically (same losses, same parameters).
 *  With a communicator the cursor is kept the same way, and the same on
 *  every rank, as are the parameters, the optimizer's state and the
 *  generator between steps (each rank draws a step's random numbers,
 *  e.g. dropout masks, from its own stream derived from the generator,
 *  the batch and its rank, and the generator itself moves only when an
 *  epoch is shuffled): so one rank's checkpoint (rank 0's) holds the
 *  whole run, and every rank resumes by loading it. Each call first
 *  checks, collectively, that every rank is where rank 0 is (step count,
 *  epoch and batch, and for an epoch in progress its order and the
 *  generator): MLP_ERR_STATE on every rank otherwise. Resumed on as many
 *  ranks as saved, the run goes on bit-identically; on another number of
 *  ranks it goes on with the same batches in the same order, equal up to
 *  the order of float additions (and other dropout masks). */
MLP_API mlp_status mlp_fit(mlp_model *m, mlp_optim *opt, mlp_dataset *ds, mlp_loss_kind loss,
                           int epochs, int64_t batch_size, mlp_progress_fn progress, void *user);
/** Mean loss and accuracy (cross-entropy only; NaN otherwise) of the model
 *  on ds without the tape; either out pointer may be NULL. An empty
 *  dataset is MLP_ERR_ARG. */
MLP_API mlp_status mlp_evaluate(mlp_model *m, mlp_dataset *ds, mlp_loss_kind loss,
                                int64_t batch_size, float *out_loss, float *out_accuracy);

/* ------------------------------------------------------------------------
 * Distributed training: communicators
 *
 * Data-parallel training over several processes ("ranks"), with the
 * semantics of PyTorch's DistributedDataParallel (docs/distributed.md):
 * every rank holds the whole model, takes its slice of each batch, and the
 * gradients are averaged across the ranks before each optimizer step, so
 * P ranks with a global batch B follow one process with batch B up to the
 * order of float additions. The library talks to the other ranks only
 * through a communicator, a table of functions any engine can implement;
 * libmlp itself never depends on one. libmlp_mpi (include/mlp_mpi.h,
 * pkg-config mlp-mpi) gives one over MPI: mlp_mpi_comm_new().
 *
 * Collective calls (those marked so below) must be made by every rank of
 * the communicator, in the same order, with the same sizes.
 *
 * Thread safety: [one context]; a communicator belongs to the context it
 * was made on, and the library calls its engine's functions only from the
 * thread that called into the library.
 * ---------------------------------------------------------------------- */

/** The functions of a communicator engine. Each returns 0 on success and a
 *  non-zero engine error code on failure (the library reports it as
 *  MLP_ERR_COMM with the code in the message). `user` is passed back
 *  unchanged. Every function is required except destroy.
 *   rank(user)   this process's rank, 0 <= rank < size
 *   size(user)   the number of ranks (>= 1)
 *   broadcast(user, buf, n, root)  collective: the n floats of buf on rank
 *                root replace buf on every other rank; returns when done
 *   allreduce_start(user, buf, n, &request)  collective, non-blocking:
 *                starts replacing buf on every rank by the element-wise
 *                sum of every rank's buf (n floats). buf must not be read
 *                or written until wait(request) returns. *request is the
 *                engine's (it may set NULL when the sum is already done)
 *   wait(user, request)  completes a started all-reduce; called exactly
 *                once per request, in any order
 *   destroy(user)  releases the engine's state (mlp_comm_free); may be NULL
 *
 *  Growing: struct_size comes first and must be set to
 *  sizeof(mlp_comm_ops) as the engine is compiled. Members are only ever
 *  appended; the library reads only the members that lie within
 *  struct_size and treats later ones as absent, so an engine compiled
 *  against an older header keeps working with a newer library. */
typedef struct mlp_comm_ops {
    size_t struct_size;
    void *user;
    int (*rank)(void *user);
    int (*size)(void *user);
    int (*broadcast)(void *user, float *buf, int64_t n, int root);
    int (*allreduce_start)(void *user, float *buf, int64_t n, void **request);
    int (*wait)(void *user, void *request);
    void (*destroy)(void *user);
} mlp_comm_ops;

/** A communicator on ctx over the engine `ops` (copied; ops->user stays
 *  the engine's). Asks the engine for rank and size once. Fails with
 *  MLP_ERR_ARG when struct_size is too small, a required function is
 *  missing, or rank/size are out of range; MLP_ERR_NOMEM. On failure the
 *  engine's destroy is not called (the engine is still the caller's).
 *  Owned by the caller: release with mlp_comm_free(), after every
 *  optimizer it is attached to. Not collective. */
MLP_API mlp_comm *mlp_comm_new(mlp_ctx *ctx, const mlp_comm_ops *ops);
/** Free a communicator and, through ops->destroy, the engine's state.
 *  NULL is a no-op. */
MLP_API void mlp_comm_free(mlp_comm *comm);
/** This process's rank (0 for one process; -1 for NULL). */
MLP_API int mlp_comm_rank(const mlp_comm *comm);
/** The number of ranks (0 for NULL). */
MLP_API int mlp_comm_size(const mlp_comm *comm);
/** The engine's user pointer (ops->user), for the engine's own functions. */
MLP_API void *mlp_comm_user(const mlp_comm *comm);
/** Collective: replace buf (n floats, n >= 0) on every rank by the
 *  element-wise sum over the ranks. Blocks until done. MLP_ERR_COMM when
 *  the engine fails. */
MLP_API mlp_status mlp_comm_allreduce(mlp_comm *comm, float *buf, int64_t n);
/** Collective: copy the n floats of buf on rank `root` into buf on every
 *  rank. MLP_ERR_RANGE for a root outside 0..size-1; MLP_ERR_COMM. */
MLP_API mlp_status mlp_comm_broadcast(mlp_comm *comm, float *buf, int64_t n, int root);

/** Collective: make opt data-parallel over comm (NULL detaches it):
 *  rank 0's parameter values are broadcast to every rank at once, so all
 *  start from the same model whatever their seeds; then every
 *  mlp_optim_step first averages the parameters' gradients across the
 *  ranks. The gradients are summed in buckets of about
 *  MLP_OPT_BUCKET_BYTES, filled from the last parameter to the first (the
 *  order backward finishes them), and each bucket's non-blocking
 *  all-reduce starts as soon as backward has finished its gradients, so
 *  communication overlaps the rest of backward. Parameters get a zero
 *  gradient at once if they had none. One optimizer per context may have
 *  a communicator (MLP_ERR_STATE otherwise); comm must be on opt's
 *  context (MLP_ERR_CONTEXT). With a communicator attached, every rank
 *  runs at most one backward per step and calls mlp_optim_step (or, after
 *  a local failure, mlp_optim_skip_step) once per step. mlp_fit on such
 *  an optimizer splits each batch across the ranks (see mlp_fit). The
 *  communicator is borrowed: it must outlive the attachment. */
MLP_API mlp_status mlp_optim_set_comm(mlp_optim *opt, mlp_comm *comm);
/** The communicator attached to opt, or NULL. Borrowed. */
MLP_API mlp_comm *mlp_optim_comm(const mlp_optim *opt);
/** Collective, for a rank that could not finish its step (its forward or
 *  backward failed): takes part in the step's exchange so no rank waits
 *  for it, marks the step failed, and changes no parameter. Every rank's
 *  mlp_optim_step of that step then fails with MLP_ERR_COMM and changes
 *  nothing either. Returns MLP_OK when the exchange itself worked;
 *  MLP_ERR_STATE when opt has no communicator. */
MLP_API mlp_status mlp_optim_skip_step(mlp_optim *opt);

/** Collective: mlp_evaluate with the batches of ds shared across comm's
 *  ranks (each rank evaluates its consecutive share of the batches of
 *  batch_size) and the sums reduced, so every rank gets the loss and
 *  accuracy over the whole of ds. Every rank must pass a dataset with the
 *  same samples. A rank that fails makes every rank fail (MLP_ERR_COMM on
 *  the others). comm == NULL is mlp_evaluate. */
MLP_API mlp_status mlp_evaluate_comm(mlp_model *m, mlp_dataset *ds, mlp_comm *comm,
                                     mlp_loss_kind loss, int64_t batch_size, float *out_loss,
                                     float *out_accuracy);

/* ------------------------------------------------------------------------
 * Checkpoints: everything a training run needs to go on after a crash
 *
 * Thread safety: [one context]: a save reads, and a load changes, the
 * context's generator besides the objects. Two threads may read the same
 * file or buffer, each into its own context.
 * ---------------------------------------------------------------------- */

/** Save a training checkpoint of model m, its optimizer opt (over m's
 *  parameters, in order) and the dataset ds being trained on, to `path`
 *  (docs/format.md): the model file's bytes, the optimizer's kind,
 *  settings, step counts and state buffers, the context's random
 *  generator, and ds's sample order and cursor (epochs done, next batch,
 *  the epoch's sums so far). The samples themselves are not saved.
 *  Versioned, little-endian, CRC-checked; written as mlp_model_save
 *  writes (atomic, synced, special files refused). All three from one
 *  context; MLP_ERR_ARG when opt is not over m's parameters. Reads the
 *  objects only. */
MLP_API mlp_status mlp_checkpoint_save(const mlp_model *m, const mlp_optim *opt,
                                       const mlp_dataset *ds, const char *path);
/** As mlp_checkpoint_save, into memory: *out_buf is allocated with m's
 *  context's allocator and released with mlp_buffer_free. */
MLP_API mlp_status mlp_checkpoint_save_mem(const mlp_model *m, const mlp_optim *opt,
                                           const mlp_dataset *ds, void **out_buf, size_t *out_size);
/** Load a checkpoint written by mlp_checkpoint_save to resume training:
 *  *out_model gets a new model (as saved: architecture, parameters,
 *  mode) and, when out_opt is not NULL, *out_opt a new optimizer over its
 *  parameters with the saved kind, settings, step counts and state;
 *  both owned by the caller. When ds is not NULL, it gets the saved
 *  sample order and cursor: it must hold the same samples as when saved
 *  (same count and row sizes, MLP_ERR_SHAPE otherwise; the values are not
 *  checked). Unless both ds and out_opt are NULL (taking only the model
 *  out, e.g. to mlp_model_save it), ctx's random generator is set to the
 *  saved state. Then mlp_fit(model, opt, ds, ...) with the saved run's
 *  loss, batch size and thread count goes on bit-identically, finishing
 *  the epoch in progress first (see mlp_fit). A truncated, corrupt,
 *  hostile or wrong-version file is MLP_ERR_FORMAT / MLP_ERR_VERSION /
 *  MLP_ERR_IO; on any failure *out_model and *out_opt are NULL and ds and
 *  ctx are unchanged. */
MLP_API mlp_status mlp_checkpoint_load(mlp_ctx *ctx, const char *path, mlp_dataset *ds,
                                       mlp_model **out_model, mlp_optim **out_opt);
/** As mlp_checkpoint_load from a buffer. */
MLP_API mlp_status mlp_checkpoint_load_mem(mlp_ctx *ctx, const void *buf, size_t size,
                                           mlp_dataset *ds, mlp_model **out_model,
                                           mlp_optim **out_opt);

#ifdef __cplusplus
}
#endif

#endif /* MLP_H */
