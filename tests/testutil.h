/*
 * testutil.h - shared by the cmocka tests: the cmocka includes, a
 * counting allocator that can fail the N-th call, the fixture most tests
 * run in (a context, and the model and optimizer they make, freed and
 * checked for leaks by the teardown), one set of tensor and model makers,
 * and float comparisons. Every helper is tu_-prefixed so a name means the same
 * thing in every test file.
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
 * once `calls` reaches `fail_at` (fail_at < 0: never fails), and any call
 * for a block over `max_block` bytes (0: any size). */
typedef struct tu_alloc {
    long calls;       /* alloc + realloc calls so far */
    long fail_at;     /* fail the call with this index (0-based) and all after */
    long live;        /* blocks allocated and not freed */
    long failures;    /* calls that were failed */
    size_t max_block; /* fail any block larger than this; 0: no limit */
} tu_alloc;

/* Whether the allocator fails this call for `size` bytes. */
static inline int tu_alloc_fails(const tu_alloc *a, size_t size)
{
    return (a->fail_at >= 0 && a->calls >= a->fail_at) || (a->max_block && size > a->max_block);
}

static inline void *tu_alloc_fn(void *user, size_t size)
{
    tu_alloc *a = (tu_alloc *)user;
    void *p;
    if (tu_alloc_fails(a, size)) {
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
    if (tu_alloc_fails(a, size)) {
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
    a->max_block = 0;
    al.struct_size = sizeof al;
    al.alloc = tu_alloc_fn;
    al.realloc = tu_realloc_fn;
    al.free = tu_free_fn;
    al.user = a;
    return mlp_ctx_new(&al);
}

/* A context whose allocator refuses any single block over max_block bytes
 * (and counts through `a` like tu_ctx's). */
static inline mlp_ctx *tu_ctx_capped(tu_alloc *a, size_t max_block)
{
    mlp_ctx *ctx = tu_ctx(a, -1);
    a->max_block = max_block;
    return ctx;
}

/* ---- the fixture ---- */

/* What TU_TEST's setup makes: a context (default seed) whose allocations
 * go through `alloc`. A test may put a model and an optimizer in `model`
 * and `opt`; the teardown frees them and the context, then fails the test
 * if any block is still allocated. */
typedef struct tu_fixture {
    tu_alloc alloc;
    mlp_ctx *ctx;
    mlp_model *model;
    mlp_optim *opt;
} tu_fixture;

static inline int tu_setup(void **state)
{
    tu_fixture *f = (tu_fixture *)calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->ctx = tu_ctx(&f->alloc, -1);
    if (!f->ctx) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static inline int tu_teardown(void **state)
{
    tu_fixture *f = (tu_fixture *)*state;
    long live;
    mlp_optim_free(f->opt);
    mlp_model_free(f->model);
    mlp_ctx_free(f->ctx);
    live = f->alloc.live;
    free(f);
    if (live != 0) {
        print_error("%ld blocks still allocated after the test\n", live);
        return -1;
    }
    return 0;
}

/* A test run in the fixture; it finds it with tu_fix(state). */
#define TU_TEST(f) cmocka_unit_test_setup_teardown(f, tu_setup, tu_teardown)

static inline tu_fixture *tu_fix(void **state)
{
    return (tu_fixture *)*state;
}

/* The fixture's context. */
static inline mlp_ctx *tu_ctx_of(void **state)
{
    return tu_fix(state)->ctx;
}

/* ---- tensors ---- */

/* A tensor of ndim 0, 1 or 2 ([], [d0] or [d0,d1]) holding v in row-major
 * order, or zeros when v is NULL. Fails the test if it cannot be made. */
static inline mlp_tensor *tu_tensor(mlp_ctx *ctx, int ndim, int64_t d0, int64_t d1, const float *v)
{
    int64_t shape[2];
    mlp_tensor *t;
    shape[0] = d0;
    shape[1] = d1;
    t = v ? mlp_tensor_from(ctx, ndim, shape, v) : mlp_tensor_zeros(ctx, ndim, shape);
    if (!t) {
        print_error("tu_tensor: %s\n", mlp_ctx_errmsg(ctx));
        fail();
    }
    return t;
}

/* [n] holding v; [r,c] holding v. */
static inline mlp_tensor *tu_vec(mlp_ctx *ctx, int64_t n, const float *v)
{
    return tu_tensor(ctx, 1, n, 0, v);
}
static inline mlp_tensor *tu_mat(mlp_ctx *ctx, int64_t r, int64_t c, const float *v)
{
    return tu_tensor(ctx, 2, r, c, v);
}

/* A tensor like tu_tensor's of ones. */
static inline mlp_tensor *tu_ones(mlp_ctx *ctx, int ndim, int64_t d0, int64_t d1)
{
    int64_t shape[2];
    mlp_tensor *t;
    shape[0] = d0;
    shape[1] = d1;
    if (!(t = mlp_tensor_ones(ctx, ndim, shape))) {
        print_error("tu_ones: %s\n", mlp_ctx_errmsg(ctx));
        fail();
    }
    return t;
}

/* A tensor like tu_tensor's of N(0, std^2) values from ctx's generator. */
static inline mlp_tensor *tu_randn(mlp_ctx *ctx, int ndim, int64_t d0, int64_t d1, float std)
{
    int64_t shape[2];
    mlp_tensor *t;
    shape[0] = d0;
    shape[1] = d1;
    t = mlp_tensor_rand_normal(ctx, ndim, shape, 0.0f, std);
    if (!t) {
        print_error("tu_randn: %s\n", mlp_ctx_errmsg(ctx));
        fail();
    }
    return t;
}

/* A dataset of x [rows, cols] holding xv and labels (or targets) [rows]
 * holding yv; it keeps the tensors' storage. Fails the test if it cannot
 * be made. */
static inline mlp_dataset *tu_dataset(mlp_ctx *ctx, int64_t rows, int64_t cols, const float *xv,
                                      const float *yv)
{
    mlp_tensor *x = tu_mat(ctx, rows, cols, xv), *y = tu_vec(ctx, rows, yv);
    mlp_dataset *ds = mlp_dataset_new(x, y);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    if (!ds) {
        print_error("tu_dataset: %s\n", mlp_ctx_errmsg(ctx));
        fail();
    }
    return ds;
}

/* t, now requiring grad (a parameter). */
static inline mlp_tensor *tu_param(mlp_tensor *t)
{
    if (mlp_tensor_set_requires_grad(t, 1) != MLP_OK)
        fail();
    return t;
}

/* ---- models ---- */

/* The chapter's shape: linear(in -> hidden), the activation act,
 * linear(hidden -> out), default initialisation from ctx's generator.
 * Fails the test if it cannot be made. */
static inline mlp_model *tu_mlp_act(mlp_ctx *ctx, int64_t in, int64_t hidden, int64_t out,
                                    mlp_act act)
{
    mlp_model *m = mlp_model_new(ctx);
    if (!m || mlp_model_add_linear(m, in, hidden) != MLP_OK || mlp_model_add_act(m, act) != MLP_OK
        || mlp_model_add_linear(m, hidden, out) != MLP_OK) {
        print_error("tu_mlp: %s\n", mlp_ctx_errmsg(ctx));
        fail();
    }
    return m;
}

/* tu_mlp_act with ReLU, the chapter's network. */
static inline mlp_model *tu_mlp(mlp_ctx *ctx, int64_t in, int64_t hidden, int64_t out)
{
    return tu_mlp_act(ctx, in, hidden, out, MLP_ACT_RELU);
}

/* The whole content of a file (malloc'd), or NULL if it does not exist. */
static inline unsigned char *tu_slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = (unsigned char *)malloc((size_t)n + 1);
    assert_non_null(buf);
    *size = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

/* A note for expected values: where float arithmetic is evaluated in
 * double (FLT_EVAL_METHOD 1, as on s390x) a float constant such as 0.1f
 * keeps double precision in an expression; compare with (float)0.1f, which
 * is rounded to float everywhere. */

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

/* Appends a small mix of layer kinds to m, widths chained 3 -> 2:
 * standardize(3) (mean [1,-2,0.5], std [2,0.5,1]), linear 3->4 without
 * bias, per-feature prelu(4), leaky ReLU (slope 0.2), linear 4->2,
 * softmax. Parameters W1 [3,4], alpha [4], W2 [4,2], b2 [2]. Returns the
 * first failure, for a test that expects one (MLP_ERR_NOMEM), or MLP_OK. */
static inline mlp_status tu_add_layer_mix(mlp_model *m)
{
    static const float mean[3] = {1, -2, 0.5f}, sd[3] = {2, 0.5f, 1};
    mlp_status s;
    if ((s = mlp_model_add_standardize(m, 3, mean, sd)) != MLP_OK
        || (s = mlp_model_add_linear_nobias(m, 3, 4, MLP_INIT_DEFAULT)) != MLP_OK
        || (s = mlp_model_add_prelu(m, 4)) != MLP_OK
        || (s = mlp_model_add_leaky_relu(m, 0.2f)) != MLP_OK
        || (s = mlp_model_add_linear(m, 4, 2)) != MLP_OK)
        return s;
    return mlp_model_add_softmax(m);
}

/* A new model of tu_add_layer_mix's layers. Fails the test if it cannot
 * be made. */
static inline mlp_model *tu_layer_mix(mlp_ctx *ctx)
{
    mlp_model *m = mlp_model_new(ctx);
    assert_handle(ctx, m);
    assert_ok(ctx, tu_add_layer_mix(m));
    return m;
}

/* Saving m to `path` and to memory and loading each back gives m again:
 * the same layer kinds, mode, parameters and predictions on x [rows, in]
 * bit for bit, and the same summary. Fails the test otherwise; removes
 * path and frees what it made. */
static inline void tu_assert_round_trip(mlp_ctx *ctx, mlp_model *m, const char *path,
                                        const float *x, int64_t rows)
{
    size_t nout = (size_t)(rows * mlp_model_out_features(m)), size;
    float *y = (float *)malloc(2 * nout * sizeof(float));
    char s1[2048], s2[2048];
    mlp_model *back[2];
    void *buf;
    int k, i;
    assert_non_null(y);
    assert_ok(ctx, mlp_model_save(m, path));
    back[0] = mlp_model_load(ctx, path);
    assert_handle(ctx, back[0]);
    assert_ok(ctx, mlp_model_save_mem(m, &buf, &size));
    back[1] = mlp_model_load_mem(ctx, buf, size);
    assert_handle(ctx, back[1]);
    mlp_model_summary(m, s1, sizeof s1);
    assert_ok(ctx, mlp_model_predict(m, x, rows, y));
    for (k = 0; k < 2; k++) {
        mlp_model *b = back[k];
        assert_int_equal(mlp_model_num_layers(b), mlp_model_num_layers(m));
        for (i = 0; i < mlp_model_num_layers(m); i++)
            assert_int_equal(mlp_model_layer_kind(b, i), mlp_model_layer_kind(m, i));
        assert_int_equal(mlp_model_is_training(b), mlp_model_is_training(m));
        assert_int_equal(mlp_model_num_params(b), mlp_model_num_params(m));
        assert_int_equal(mlp_model_param_numel(b), mlp_model_param_numel(m));
        for (i = 0; i < mlp_model_num_params(m); i++)
            assert_memory_equal(mlp_tensor_cdata(mlp_model_param(b, i)),
                                mlp_tensor_cdata(mlp_model_param(m, i)),
                                (size_t)mlp_tensor_numel(mlp_model_param(m, i)) * sizeof(float));
        mlp_model_summary(b, s2, sizeof s2);
        assert_string_equal(s1, s2);
        assert_ok(ctx, mlp_model_predict(b, x, rows, y + nout));
        assert_memory_equal(y, y + nout, nout * sizeof(float));
    }
    remove(path);
    mlp_buffer_free(ctx, buf);
    mlp_model_free(back[1]);
    mlp_model_free(back[0]);
    free(y);
}

/* What mlp_fit's progress callback reported, in order (the first 64 calls). */
typedef struct tu_progress {
    float loss[64], acc[64];
    int n;
} tu_progress;

/* An mlp_progress_fn recording into the tu_progress given as user. */
static inline int tu_record_progress(void *user, int epoch, int64_t batch, int64_t nbatches,
                                     float loss, float acc)
{
    tu_progress *r = (tu_progress *)user;
    (void)epoch;
    (void)batch;
    (void)nbatches;
    if (r->n < 64) {
        r->loss[r->n] = loss;
        r->acc[r->n] = acc;
        r->n++;
    }
    return 0;
}

/* mlp_gradcheck of a whole model: the function of the parameters and x
 * that runs mlp_model_forward(m, x) (user points at a tu_fwd). */
typedef struct tu_fwd {
    mlp_model *m;
    mlp_tensor *x;
} tu_fwd;

static inline mlp_tensor *tu_model_fn(void *user, mlp_tensor *const *inputs, int n)
{
    tu_fwd *u = (tu_fwd *)user;
    (void)inputs;
    (void)n;
    return mlp_model_forward(u->m, u->x);
}

/* Passes mlp_gradcheck of mlp_model_forward(m, x) in every parameter of m
 * and in x, which is made to require grad (eps 1e-3, atol 2e-3, rtol
 * 2e-2: float32 central differences through a few layers). */
static inline void tu_gradcheck_model(mlp_ctx *ctx, mlp_model *m, mlp_tensor *x)
{
    mlp_tensor *inputs[16];
    tu_fwd u;
    int i, n = mlp_model_num_params(m);
    assert_in_range(n, 0, 15);
    u.m = m;
    u.x = x;
    assert_ok(ctx, mlp_tensor_set_requires_grad(x, 1));
    for (i = 0; i < n; i++)
        inputs[i] = mlp_model_param(m, i);
    inputs[n] = x;
    assert_ok(ctx, mlp_gradcheck(ctx, tu_model_fn, &u, inputs, n + 1, 1e-3f, 2e-3f, 2e-2f));
}

#endif
