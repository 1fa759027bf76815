/*
 * test_oom.c - allocation failure at every point of a whole scenario: make
 * a model with every layer kind (standardize, linear, relu, dropout,
 * linear without bias, prelu, per-feature prelu, leaky relu, linear,
 * log-softmax; 4-8-8-3), train two steps with each of SGD with momentum,
 * Adam and AdamW on a tiny batch with cross-entropy on the logits, save it
 * to memory and to a file, load both back, predict.
 *
 * The scenario runs once with an allocator that never fails (the
 * reference), then once for every N with an allocator that fails the N-th
 * call and every later one, until a run meets no failure. In each run:
 *  - the first call that meets the failure returns an error status or NULL
 *    with mlp_ctx_errcode == MLP_ERR_NOMEM (kept as the cause through a
 *    chain of ops given NULL);
 *  - then memory comes back (fail_at = -1), the same call or step is done
 *    again and succeeds: the objects stayed usable;
 *  - the run ends with the same losses, saved bytes and predictions as the
 *    reference, bit for bit (the generator is reseeded before each random
 *    draw so a retried step draws the same numbers);
 *  - after freeing everything no block is left (the allocator's balance
 *    is zero).
 */
#define _POSIX_C_SOURCE 200809L

#include <unistd.h>

#include "testutil.h"

#define NB 6 /* batch rows */
#define NIN 4
#define NOUT 3
#define NSTEPS 6

typedef struct outcome {
    float losses[NSTEPS];
    unsigned char *saved; /* model bytes (malloc'd by the test) */
    size_t saved_size;
    float pred[NB * NOUT]; /* predictions of the model loaded from memory */
    float pred_file[NB * NOUT];
    long failures;  /* failed allocator calls seen */
    int recoveries; /* calls that failed and were redone */
} outcome;

typedef struct run {
    tu_alloc *a;
    mlp_ctx *ctx;
    outcome *o;
} run;

/* A call just failed: it must be because of memory, with a message; then
 * memory comes back. */
static void failed_for_memory(run *r, const char *what)
{
    if (mlp_ctx_errcode(r->ctx) != MLP_ERR_NOMEM) {
        print_error("%s failed at allocation %ld with %s (%s), expected out of memory\n", what,
                    r->a->fail_at, mlp_status_str(mlp_ctx_errcode(r->ctx)), mlp_ctx_errmsg(r->ctx));
        fail();
    }
    assert_true(mlp_ctx_errmsg(r->ctx)[0] != '\0');
    {
        /* the message names the public function first: "mlp_...: ..."; for
           a single call, that function itself */
        const char *msg = mlp_ctx_errmsg(r->ctx), *colon = strchr(msg, ':');
        size_t n = colon ? (size_t)(colon - msg) : 0;
        if (strncmp(msg, "mlp_", 4) != 0 || !colon
            || (strncmp(what, "mlp_", 4) == 0 && (strncmp(what, msg, n) != 0 || what[n] != '('))) {
            print_error("%s: the message '%s' does not start with the function's name\n", what,
                        msg);
            fail();
        }
    }
    assert_true(r->a->failures > 0);
    r->a->fail_at = -1;
    r->o->recoveries++;
    mlp_ctx_clear_error(r->ctx);
}

/* Do a status call; on failure check it was memory and do it again. */
#define DO(r, call)                                                                                \
    do {                                                                                           \
        if ((call) != MLP_OK) {                                                                    \
            failed_for_memory(r, #call);                                                           \
            assert_ok((r)->ctx, call);                                                             \
        }                                                                                          \
    } while (0)

/* Make a handle; on NULL check it was memory and make it again. */
#define MAKE(r, h, expr)                                                                           \
    do {                                                                                           \
        (h) = (expr);                                                                              \
        if (!(h)) {                                                                                \
            failed_for_memory(r, #expr);                                                           \
            (h) = (expr);                                                                          \
            assert_handle((r)->ctx, h);                                                            \
        }                                                                                          \
    } while (0)

static const float batch_x[NB * NIN] = {0.5f,  -1.0f,  0.25f, 2.0f, -0.5f, 0.75f, 1.5f, -2.0f,
                                        1.0f,  1.0f,   -1.0f, 0.0f, -1.5f, 0.5f,  0.0f, 0.5f,
                                        0.25f, -0.25f, 2.0f,  1.0f, -1.0f, -1.0f, 0.5f, 1.5f};
static const float batch_y[NB] = {0, 2, 1, 0, 2, 1};

static void add_layers(run *r, mlp_model *m)
{
    /* reseed before each random draw: a retried add draws the same values */
    static const float mean[NIN] = {0.5f, -0.25f, 1.0f, 0.0f}, sd[NIN] = {2.0f, 1.0f, 0.5f, 1.5f};
    DO(r, mlp_model_add_standardize(m, NIN, mean, sd));
    mlp_ctx_seed(r->ctx, 11);
    DO(r, mlp_model_add_linear(m, NIN, 8));
    DO(r, mlp_model_add_act(m, MLP_ACT_RELU));
    DO(r, mlp_model_add_dropout(m, 0.25f));
    mlp_ctx_seed(r->ctx, 12);
    DO(r, mlp_model_add_linear_nobias(m, 8, 8, MLP_INIT_KAIMING_UNIFORM));
    DO(r, mlp_model_add_act(m, MLP_ACT_PRELU));
    DO(r, mlp_model_add_prelu(m, 8));
    DO(r, mlp_model_add_leaky_relu(m, 0.1f));
    mlp_ctx_seed(r->ctx, 13);
    DO(r, mlp_model_add_linear(m, 8, NOUT));
    DO(r, mlp_model_add_log_softmax(m));
}

/* forward, loss, zero_grad, backward: redone from the start after a
 * failure (the tape is reset first); then the optimizer step, redone alone */
static void train_step(run *r, mlp_model *m, mlp_optim *opt, mlp_tensor *x, mlp_tensor *y, int k)
{
    int attempt;
    for (attempt = 0; attempt < 2; attempt++) {
        mlp_tensor *logits, *loss;
        mlp_status s;
        mlp_ctx_seed(r->ctx, 100 + (uint64_t)k); /* the dropout mask */
        logits = mlp_model_forward_logits(m, x);
        loss = mlp_cross_entropy(logits, y);
        if (!loss) {
            mlp_tape_reset(r->ctx);
            failed_for_memory(r, "forward and loss");
            continue;
        }
        s = mlp_optim_zero_grad(opt);
        if (s == MLP_OK)
            s = mlp_backward(loss, NULL, 0);
        if (s != MLP_OK) {
            mlp_tape_reset(r->ctx);
            failed_for_memory(r, "zero_grad and backward");
            continue;
        }
        r->o->losses[k] = mlp_tensor_item(loss);
        break;
    }
    assert_true(attempt < 2);
    DO(r, mlp_optim_step(opt));
    mlp_tape_reset(r->ctx);
}

static void train_with(run *r, mlp_model *m, mlp_tensor *x, mlp_tensor *y, int kind, int k0)
{
    mlp_optim *opt;
    if (kind == MLP_OPTIM_SGD) {
        MAKE(r, opt, mlp_sgd_new(m, 0.1f));
        DO(r, mlp_optim_set(opt, MLP_OPT_MOMENTUM, 0.9));
    } else if (kind == MLP_OPTIM_ADAM) {
        MAKE(r, opt, mlp_adam_new(m, 0.01f));
    } else {
        MAKE(r, opt, mlp_adamw_new(m, 0.01f));
    }
    train_step(r, m, opt, x, y, k0);
    train_step(r, m, opt, x, y, k0 + 1);
    assert_int_equal(mlp_optim_num_steps(opt), 2);
    mlp_optim_free(opt);
}

static void scenario(tu_alloc *a, long fail_at, outcome *o)
{
    run r;
    mlp_model *m, *from_mem, *from_file;
    mlp_tensor *x, *y;
    int64_t xs[2] = {NB, NIN}, ys[1] = {NB};
    void *buf = NULL;
    size_t size = 0;
    char path[64];

    memset(o, 0, sizeof *o);
    r.a = a;
    r.o = o;
    r.ctx = tu_ctx(a, fail_at);
    if (!r.ctx) {
        /* the context itself could not be made: nothing to recover */
        assert_int_equal(a->live, 0);
        assert_true(a->failures > 0);
        a->fail_at = -1;
        o->recoveries++;
        r.ctx = mlp_ctx_new(
            &(mlp_allocator){sizeof(mlp_allocator), tu_alloc_fn, tu_realloc_fn, tu_free_fn, a});
        assert_non_null(r.ctx);
    }

    MAKE(&r, x, mlp_tensor_from(r.ctx, 2, xs, batch_x));
    MAKE(&r, y, mlp_tensor_from(r.ctx, 1, ys, batch_y));
    MAKE(&r, m, mlp_model_new(r.ctx));
    add_layers(&r, m);

    train_with(&r, m, x, y, MLP_OPTIM_SGD, 0);
    train_with(&r, m, x, y, MLP_OPTIM_ADAM, 2);
    train_with(&r, m, x, y, MLP_OPTIM_ADAMW, 4);

    DO(&r, mlp_model_save_mem(m, &buf, &size));
    snprintf(path, sizeof path, "/tmp/mlp_test_oom_%ld.mlp", (long)getpid());
    DO(&r, mlp_model_save(m, path));
    MAKE(&r, from_mem, mlp_model_load_mem(r.ctx, buf, size));
    MAKE(&r, from_file, mlp_model_load(r.ctx, path));
    remove(path);
    DO(&r, mlp_model_predict(from_mem, batch_x, NB, o->pred));
    DO(&r, mlp_model_predict(from_file, batch_x, NB, o->pred_file));

    o->saved = (unsigned char *)malloc(size);
    assert_non_null(o->saved);
    memcpy(o->saved, buf, size);
    o->saved_size = size;
    o->failures = a->failures;

    mlp_buffer_free(r.ctx, buf);
    mlp_model_free(from_mem);
    mlp_model_free(from_file);
    mlp_model_free(m);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    mlp_ctx_free(r.ctx);
    if (a->live != 0) {
        print_error("fail_at = %ld: %ld blocks leaked\n", fail_at, a->live);
        fail();
    }
}

static void same_outcome(const outcome *got, const outcome *ref, long n)
{
    int i;
    for (i = 0; i < NSTEPS; i++)
        if (memcmp(&got->losses[i], &ref->losses[i], sizeof(float)) != 0) {
            print_error("fail_at = %ld: loss of step %d is %.9g, expected %.9g\n", n, i,
                        (double)got->losses[i], (double)ref->losses[i]);
            fail();
        }
    if (got->saved_size != ref->saved_size
        || memcmp(got->saved, ref->saved, ref->saved_size) != 0) {
        print_error("fail_at = %ld: the saved model differs from the reference\n", n);
        fail();
    }
    for (i = 0; i < NB * NOUT; i++)
        if (got->pred[i] != ref->pred[i] || got->pred_file[i] != ref->pred[i]) {
            print_error("fail_at = %ld: prediction %d is %.9g / %.9g, expected %.9g\n", n, i,
                        (double)got->pred[i], (double)got->pred_file[i], (double)ref->pred[i]);
            fail();
        }
}

static void oom__every_allocation_failure_in_a_full_scenario_is_survived(void **state)
{
    tu_alloc a;
    outcome ref, got;
    long n, total;
    int i;
    (void)state;
    scenario(&a, -1, &ref);
    total = a.calls;
    assert_int_equal(ref.failures, 0);
    /* the reference learned something and its copies agree */
    assert_true(ref.losses[NSTEPS - 1] < ref.losses[0]);
    for (i = 0; i < NB * NOUT; i++) {
        assert_true(isfinite(ref.pred[i]));
        assert_true(ref.pred[i] == ref.pred_file[i]);
    }
    for (n = 0;; n++) {
        scenario(&a, n, &got);
        if (got.failures == 0) {
            free(got.saved);
            break;
        }
        assert_int_equal(got.recoveries > 0, 1);
        same_outcome(&got, &ref, n);
        free(got.saved);
        assert_true(n < 100000);
    }
    /* every allocation of the reference run was made to fail once */
    assert_true(n >= total);
    free(ref.saved);
}

/* A steady-state step allocates nothing: after two warm-up steps, a third
 * runs with an allocator that fails everything. */
static void oom__steady_state_training_step_needs_no_allocation(void **state)
{
    tu_alloc a;
    outcome o;
    run r;
    mlp_model *m;
    mlp_optim *opt;
    mlp_tensor *x, *y;
    int64_t xs[2] = {NB, NIN}, ys[1] = {NB};
    int k;
    (void)state;
    memset(&o, 0, sizeof o);
    r.a = &a;
    r.o = &o;
    r.ctx = tu_ctx(&a, -1);
    assert_non_null(r.ctx);
    x = mlp_tensor_from(r.ctx, 2, xs, batch_x);
    y = mlp_tensor_from(r.ctx, 1, ys, batch_y);
    m = mlp_model_new(r.ctx);
    add_layers(&r, m);
    opt = mlp_adam_new(m, 0.01f);
    assert_handle(r.ctx, opt);
    for (k = 0; k < 2; k++)
        train_step(&r, m, opt, x, y, k);
    a.fail_at = a.calls; /* from now on every allocation fails */
    train_step(&r, m, opt, x, y, 2);
    assert_int_equal(o.recoveries, 0);
    assert_int_equal(a.failures, 0);
    a.fail_at = -1;
    mlp_optim_free(opt);
    mlp_model_free(m);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    mlp_ctx_free(r.ctx);
    assert_int_equal(a.live, 0);
}

/* A reader given a valid input: every allocation failure in turn gives
 * NULL with MLP_ERR_NOMEM and leaks nothing; with memory back it loads. */
typedef void *(*reader_fn)(mlp_ctx *ctx, const void *arg);

typedef struct bytes {
    const void *buf;
    size_t size;
} bytes;

static void *read_model_mem(mlp_ctx *ctx, const void *arg)
{
    const bytes *b = (const bytes *)arg;
    return mlp_model_load_mem(ctx, b->buf, b->size);
}

static void *read_model_file(mlp_ctx *ctx, const void *arg)
{
    return mlp_model_load(ctx, (const char *)arg);
}

static void *read_npy_file(mlp_ctx *ctx, const void *arg)
{
    return mlp_npy_load(ctx, (const char *)arg);
}

static void *read_idx_mem(mlp_ctx *ctx, const void *arg)
{
    const bytes *b = (const bytes *)arg;
    return mlp_idx_load_mem(ctx, b->buf, b->size, 1.0f / 255);
}

static void *read_csv_mem(mlp_ctx *ctx, const void *arg)
{
    const bytes *b = (const bytes *)arg;
    return mlp_csv_load_mem(ctx, b->buf, b->size, 1);
}

static void *read_onnx_file(mlp_ctx *ctx, const void *arg)
{
    return mlp_model_load_onnx(ctx, (const char *)arg);
}

static void every_failure_of(reader_fn read, const void *arg, int is_model)
{
    tu_alloc a;
    long n;
    for (n = 0;; n++) {
        mlp_ctx *ctx = tu_ctx(&a, -1);
        void *obj;
        assert_non_null(ctx);
        a.fail_at = a.calls + n;
        obj = read(ctx, arg);
        if (a.failures == 0) {
            assert_handle(ctx, obj);
        } else if (!obj) {
            if (mlp_ctx_errcode(ctx) != MLP_ERR_NOMEM) {
                print_error("allocation %ld failed: %s (%s)\n", n,
                            mlp_status_str(mlp_ctx_errcode(ctx)), mlp_ctx_errmsg(ctx));
                fail();
            }
        }
        if (is_model)
            mlp_model_free((mlp_model *)obj);
        else
            mlp_tensor_free((mlp_tensor *)obj);
        mlp_ctx_free(ctx);
        assert_int_equal(a.live, 0);
        if (a.failures == 0)
            break;
        assert_true(n < 10000);
    }
}

static void oom__readers_survive_every_allocation_failure(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = mlp_model_new(ctx);
    mlp_tensor *t;
    bytes mem;
    void *buf;
    size_t size;
    char mpath[64], npath[64];
    (void)state;
    assert_ok(ctx, mlp_model_add_standardize(m, NIN, NULL, NULL));
    assert_ok(ctx, mlp_model_add_linear(m, NIN, 8));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_PRELU));
    assert_ok(ctx, mlp_model_add_linear_nobias(m, 8, NOUT, MLP_INIT_DEFAULT));
    assert_ok(ctx, mlp_model_add_prelu(m, NOUT));
    assert_ok(ctx, mlp_model_add_softmax(m));
    snprintf(mpath, sizeof mpath, "/tmp/mlp_test_oom_r_%ld.mlp", (long)getpid());
    snprintf(npath, sizeof npath, "/tmp/mlp_test_oom_r_%ld.npy", (long)getpid());
    assert_ok(ctx, mlp_model_save(m, mpath));
    assert_ok(ctx, mlp_model_save_mem(m, &buf, &size));
    mem.buf = buf;
    mem.size = size;
    every_failure_of(read_model_mem, &mem, 1);
    mlp_buffer_free(ctx, buf);
    every_failure_of(read_model_file, mpath, 1);
    t = mlp_model_param(m, 0);
    assert_ok(ctx, mlp_npy_save(t, npath));
    every_failure_of(read_npy_file, npath, 0);
    {
        /* IDX: 2 images of 2x3 u8 (magic 0x00000803, big-endian dims) */
        static const unsigned char idx[] = {0, 0, 8, 3,  0,  0,  0,  2,  0,  0,  0,  2,  0,   0,
                                            0, 3, 0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 255};
        static const char csv[] = "a,b,c\n1,2,3\n4.5,-5,6e2\n7,8,9\n";
        mem.buf = idx;
        mem.size = sizeof idx;
        every_failure_of(read_idx_mem, &mem, 0);
        mem.buf = csv;
        mem.size = sizeof csv - 1;
        every_failure_of(read_csv_mem, &mem, 0);
    }
    /* ONNX: Constant nodes, a folded Transpose, GELU's pattern, MatMul */
    every_failure_of(read_onnx_file, "tests/fixtures/onnx/gelu_nofold_o13.onnx", 1);
    every_failure_of(read_onnx_file, "tests/fixtures/onnx/nobias_nofold_o13.onnx", 1);
    remove(mpath);
    remove(npath);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
}

/* Writing ONNX: every allocation failure in turn fails the save with
 * MLP_ERR_NOMEM, leaves *buf NULL and leaks nothing. */
static void oom__onnx_save_survives_every_allocation_failure(void **state)
{
    tu_alloc a;
    long n;
    (void)state;
    for (n = 0;; n++) {
        mlp_ctx *ctx = tu_ctx(&a, -1);
        mlp_model *m = mlp_model_new(ctx);
        void *buf = NULL;
        size_t size = 0;
        mlp_status s;
        assert_ok(ctx, mlp_model_add_linear(m, NIN, 8));
        assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_GELU));
        assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_PRELU));
        assert_ok(ctx, mlp_model_add_linear(m, 8, NOUT));
        a.fail_at = a.calls + n;
        s = mlp_model_save_onnx_mem(m, &buf, &size);
        if (a.failures == 0) {
            assert_ok(ctx, s);
            assert_true(size > 0);
        } else {
            assert_int_equal(s, MLP_ERR_NOMEM);
            assert_null(buf);
        }
        mlp_buffer_free(ctx, buf);
        mlp_model_free(m);
        mlp_ctx_free(ctx);
        assert_int_equal(a.live, 0);
        if (a.failures == 0)
            break;
        assert_true(n < 1000);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(oom__every_allocation_failure_in_a_full_scenario_is_survived),
        cmocka_unit_test(oom__steady_state_training_step_needs_no_allocation),
        cmocka_unit_test(oom__readers_survive_every_allocation_failure),
        cmocka_unit_test(oom__onnx_save_survives_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
