/*
 * test_checkpoint.c - training checkpoints (docs/format.md): a fit
 * stopped at any batch or epoch end, saved, and loaded into fresh
 * objects on a fresh context goes on bit-identically to the run that was
 * never stopped (losses, accuracies, parameters, optimizer state, the
 * generator, the order); the bytes follow the documented layout; bad
 * files and mismatched objects are refused and change nothing; every
 * allocation failure is survived.
 */
#include "argcheck.h"

/* fuzz_crc32: CRC-32 bit by bit, independent of the library's */
#include "../fuzz/targets.h"

#define N 23 /* samples: with batch 5, four full batches and one of 3 */
#define F 5  /* features */
#define K 3  /* classes */
#define BATCH 5
#define EPOCHS 3
#define NB 5 /* batches per epoch */
/* progress calls of a whole run: NB batches + 1 epoch end, per epoch */
#define CALLS (EPOCHS * (NB + 1))
#define DS_HEAD 72

typedef struct run {
    mlp_ctx *ctx;
    mlp_tensor *x, *y;
    mlp_dataset *ds;
    mlp_model *m;
    mlp_optim *opt;
} run;

/* The samples: x[i][j] = sin(7i + 3j), y[i] = 5i mod 3. */
static void make_data(run *r)
{
    float x[N * F], y[N];
    int64_t xs[2] = {N, F}, ys[1] = {N};
    int i, j;
    for (i = 0; i < N; i++) {
        for (j = 0; j < F; j++)
            x[i * F + j] = sinf((float)(7 * i + 3 * j));
        y[i] = (float)((5 * i) % K);
    }
    r->x = mlp_tensor_from(r->ctx, 2, xs, x);
    r->y = mlp_tensor_from(r->ctx, 1, ys, y);
    r->ds = mlp_dataset_new(r->x, r->y);
    assert_handle(r->ctx, r->ds);
}

/* 5-8 pReLU dropout 8-3 and optimizer `kind` 0: SGD with Nesterov
 * momentum and weight decay, 1: Adam with amsgrad, 2: AdamW. */
static void make_run(run *r, int kind)
{
    memset(r, 0, sizeof *r);
    r->ctx = mlp_ctx_new(NULL);
    mlp_ctx_seed(r->ctx, 7);
    make_data(r);
    r->m = mlp_model_new(r->ctx);
    assert_ok(r->ctx, mlp_model_add_linear(r->m, F, 8));
    assert_ok(r->ctx, mlp_model_add_act(r->m, MLP_ACT_PRELU));
    assert_ok(r->ctx, mlp_model_add_dropout(r->m, 0.25f));
    assert_ok(r->ctx, mlp_model_add_linear(r->m, 8, K));
    if (kind == 0) {
        r->opt = mlp_sgd_new(r->m, 0.05f);
        assert_ok(r->ctx, mlp_optim_set(r->opt, MLP_OPT_MOMENTUM, 0.9));
        assert_ok(r->ctx, mlp_optim_set(r->opt, MLP_OPT_NESTEROV, 1));
        assert_ok(r->ctx, mlp_optim_set(r->opt, MLP_OPT_WEIGHT_DECAY, 1e-3));
    } else if (kind == 1) {
        r->opt = mlp_adam_new(r->m, 0.01f);
        assert_ok(r->ctx, mlp_optim_set(r->opt, MLP_OPT_AMSGRAD, 1));
    } else {
        r->opt = mlp_adamw_new(r->m, 0.01f);
    }
    assert_handle(r->ctx, r->opt);
}

static void free_run(run *r)
{
    mlp_optim_free(r->opt);
    mlp_model_free(r->m);
    mlp_dataset_free(r->ds);
    mlp_tensor_free(r->x);
    mlp_tensor_free(r->y);
    mlp_ctx_free(r->ctx);
}

/* What the progress callback saw, and where it stops and checkpoints. */
typedef struct seen {
    float loss[CALLS + 1], acc[CALLS + 1];
    int64_t batch[CALLS + 1];
    int calls;
    int stop_at; /* -1: never */
    run *r;
    void *ckpt;
    size_t ckpt_size;
} seen;

static int record(void *user, int epoch, int64_t batch, int64_t nbatches, float loss, float acc)
{
    seen *s = (seen *)user;
    (void)epoch;
    assert_int_equal(nbatches, NB);
    assert_true(s->calls < CALLS);
    s->loss[s->calls] = loss;
    s->acc[s->calls] = acc;
    s->batch[s->calls] = batch;
    if (s->calls++ == s->stop_at) {
        assert_ok(s->r->ctx,
                  mlp_checkpoint_save_mem(s->r->m, s->r->opt, s->r->ds, &s->ckpt, &s->ckpt_size));
        return 1;
    }
    return 0;
}

static void final_bytes(run *r, void **buf, size_t *size)
{
    assert_ok(r->ctx, mlp_checkpoint_save_mem(r->m, r->opt, r->ds, buf, size));
}

static void expect_same_bytes(const void *a, size_t na, const void *b, size_t nb)
{
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
}

/* Stop the run at progress call `stop_at`, then resume it in a fresh
 * context (seeded differently: the generator must come from the file). */
static void stop_and_resume(int kind, int stop_at, const seen *ref, const void *ref_end,
                            size_t ref_end_size)
{
    run a, b;
    seen s;
    void *end;
    size_t end_size;
    memset(&s, 0, sizeof s);
    s.stop_at = stop_at;
    make_run(&a, kind);
    s.r = &a;
    assert_ok(a.ctx, mlp_fit(a.m, a.opt, a.ds, MLP_LOSS_CROSS_ENTROPY, EPOCHS, BATCH, record, &s));
    assert_int_equal(s.calls, stop_at + 1);
    assert_non_null(s.ckpt);

    memset(&b, 0, sizeof b);
    b.ctx = mlp_ctx_new(NULL);
    mlp_ctx_seed(b.ctx, 12345);
    make_data(&b);
    assert_ok(b.ctx, mlp_checkpoint_load_mem(b.ctx, s.ckpt, s.ckpt_size, b.ds, &b.m, &b.opt));
    mlp_buffer_free(a.ctx, s.ckpt);
    free_run(&a);
    s.stop_at = -1;
    s.r = &b;
    assert_ok(b.ctx, mlp_fit(b.m, b.opt, b.ds, MLP_LOSS_CROSS_ENTROPY,
                             EPOCHS - (int)mlp_dataset_epoch(b.ds), BATCH, record, &s));
    assert_int_equal(s.calls, CALLS);
    assert_memory_equal(s.loss, ref->loss, sizeof s.loss);
    assert_memory_equal(s.acc, ref->acc, sizeof s.acc);
    assert_memory_equal(s.batch, ref->batch, sizeof s.batch);
    /* parameters, optimizer state, generator and order: the same bytes */
    final_bytes(&b, &end, &end_size);
    expect_same_bytes(end, end_size, ref_end, ref_end_size);
    mlp_buffer_free(b.ctx, end);
    free_run(&b);
}

static void checkpoint__fit_resumed_anywhere_is_bit_identical_to_one_never_stopped(void **state)
{
    /* first batch, mid-epoch, last batch (all done, epoch not closed),
     * an epoch end, the partial last batch, the last call of all */
    static const int stops[] = {0, 2, NB - 1, NB, NB + 3, 2 * NB, 2 * NB + 1, CALLS - 1};
    int kind, i;
    (void)state;
    for (kind = 0; kind < 3; kind++) {
        run ref;
        seen s;
        void *end;
        size_t end_size;
        memset(&s, 0, sizeof s);
        s.stop_at = -1;
        make_run(&ref, kind);
        s.r = &ref;
        assert_ok(ref.ctx, mlp_fit(ref.m, ref.opt, ref.ds, MLP_LOSS_CROSS_ENTROPY, EPOCHS, BATCH,
                                   record, &s));
        assert_int_equal(s.calls, CALLS);
        assert_int_equal(mlp_dataset_epoch(ref.ds), EPOCHS);
        assert_int_equal(mlp_optim_num_steps(ref.opt), EPOCHS * NB);
        final_bytes(&ref, &end, &end_size);
        for (i = 0; i < (int)(sizeof stops / sizeof stops[0]); i++)
            stop_and_resume(kind, stops[i], &s, end, end_size);
        mlp_buffer_free(ref.ctx, end);
        free_run(&ref);
    }
}

static uint64_t le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    int i;
    for (i = bytes - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static double le_f64(const unsigned char *p)
{
    uint64_t u = le(p, 8);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static float le_f32(const unsigned char *p)
{
    uint32_t u = (uint32_t)le(p, 4);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* linear(1 -> 1), W = 0.5, b = -1 (a 56-byte model file: header 20,
 * layer record 24, two floats, CRC), SGD
 * lr 0.5 momentum 0.9, two samples x = [1, 2], y = [0, 1]. */
static void make_tiny(run *r)
{
    const float w = 0.5f, b = -1.0f, xs[2] = {1, 2}, ys[2] = {0, 1};
    int64_t shape[2] = {2, 1};
    memset(r, 0, sizeof *r);
    r->ctx = mlp_ctx_new(NULL);
    r->m = mlp_model_new(r->ctx);
    assert_ok(r->ctx, mlp_model_add_linear(r->m, 1, 1));
    assert_ok(r->ctx, mlp_tensor_set_data(mlp_model_param(r->m, 0), &w, 1));
    assert_ok(r->ctx, mlp_tensor_set_data(mlp_model_param(r->m, 1), &b, 1));
    r->opt = mlp_sgd_new(r->m, 0.5f);
    assert_ok(r->ctx, mlp_optim_set(r->opt, MLP_OPT_MOMENTUM, 0.9));
    r->x = mlp_tensor_from(r->ctx, 2, shape, xs);
    r->y = mlp_tensor_from(r->ctx, 2, shape, ys);
    r->ds = mlp_dataset_new(r->x, r->y);
    assert_handle(r->ctx, r->ds);
}

static void checkpoint__bytes_follow_the_documented_layout(void **state)
{
    run r;
    unsigned char *b;
    void *buf, *model;
    size_t size, msize, o;
    mlp_tensor *loss;
    (void)state;
    make_tiny(&r);
    /* one step by hand: pred = [-0.5, 0], err = pred - y = [-0.5, -1];
     * mse' = 2 err / 2 = err, so dW = 1(-0.5) + 2(-1) = -2.5, db = -1.5,
     * and the first momentum buffer is the gradient itself */
    loss = mlp_mse(mlp_model_forward(r.m, r.x), r.y);
    assert_ok(r.ctx, mlp_backward(loss, NULL, 0));
    assert_ok(r.ctx, mlp_optim_step(r.opt));
    mlp_tape_reset(r.ctx);
    assert_ok(r.ctx, mlp_checkpoint_save_mem(r.m, r.opt, r.ds, &buf, &size));
    assert_ok(r.ctx, mlp_model_save_mem(r.m, &model, &msize));
    b = (unsigned char *)buf;
    /* header 24, model 56, optimizer 80, 2 parameters of 20 + 4 (their
     * one-float buffers), generator 24, dataset 72 + 2 x 8, CRC 4 */
    assert_int_equal(msize, 56);
    assert_int_equal(size, 24 + 56 + 80 + 2 * 24 + 24 + 72 + 16 + 4);
    assert_memory_equal(b, "MLPCHKPT", 8);
    assert_int_equal(le(b + 8, 4), 1);
    assert_int_equal(le(b + 12, 4), 0);
    assert_int_equal(le(b + 16, 8), 56);
    assert_memory_equal(b + 24, model, 56); /* the model file, verbatim */
    o = 24 + 56;
    assert_int_equal(le(b + o, 4), MLP_OPTIM_SGD);
    assert_int_equal(le(b + o + 4, 4), 2);
    assert_int_equal(le(b + o + 8, 8), 1); /* steps */
    assert_true(le_f64(b + o + 16) == 0.5);
    assert_true(le_f64(b + o + 24) == 0.9);
    assert_true(le_f64(b + o + 32) == 0.0); /* dampening */
    assert_true(le_f64(b + o + 40) == 0.0); /* weight decay */
    assert_int_equal(le(b + o + 72, 4), 0); /* nesterov */
    o += 80;
    assert_int_equal(le(b + o, 8), 1);      /* numel */
    assert_int_equal(le(b + o + 8, 8), 1);  /* steps */
    assert_int_equal(le(b + o + 16, 4), 9); /* buffer 1, momentum started */
    assert_true(le_f32(b + o + 20) == -2.5f);
    o += 24;
    assert_int_equal(le(b + o + 16, 4), 9);
    assert_true(le_f32(b + o + 20) == -1.5f);
    o += 24;
    assert_true((le(b + o, 8) | le(b + o + 8, 8)) != 0); /* generator state */
    assert_int_equal(le(b + o + 16, 4), 0);              /* no spare normal */
    o += 24;
    assert_int_equal(le(b + o, 8), 2);      /* n */
    assert_int_equal(le(b + o + 8, 8), 1);  /* x floats per sample */
    assert_int_equal(le(b + o + 16, 8), 1); /* y floats per sample */
    assert_int_equal(le(b + o + 24, 8), 0); /* epoch */
    assert_int_equal(le(b + o + 32, 8), 0); /* next batch */
    assert_int_equal(le(b + o + 72, 8), 0); /* order */
    assert_int_equal(le(b + o + 80, 8), 1);
    o += 88;
    assert_int_equal(le(b + o, 4), fuzz_crc32(b, o));
    mlp_buffer_free(r.ctx, model);
    mlp_buffer_free(r.ctx, buf);
    free_run(&r);
}

static void checkpoint__model_file_can_be_taken_out(void **state)
{
    run r;
    void *buf, *model, *again;
    size_t size, msize, asize;
    mlp_model *m;
    char path[] = "build/test_checkpoint_out.ckpt";
    (void)state;
    make_tiny(&r);
    assert_ok(r.ctx, mlp_checkpoint_save(r.m, r.opt, r.ds, path));
    assert_ok(r.ctx, mlp_checkpoint_load(r.ctx, path, NULL, &m, NULL));
    assert_ok(r.ctx, mlp_model_save_mem(r.m, &model, &msize));
    assert_ok(r.ctx, mlp_model_save_mem(m, &again, &asize));
    expect_same_bytes(again, asize, model, msize);
    /* the model file also sits at offset 24, as is */
    assert_ok(r.ctx, mlp_checkpoint_save_mem(r.m, r.opt, r.ds, &buf, &size));
    assert_memory_equal((unsigned char *)buf + 24, model, msize);
    remove(path);
    mlp_buffer_free(r.ctx, buf);
    mlp_buffer_free(r.ctx, model);
    mlp_buffer_free(r.ctx, again);
    mlp_model_free(m);
    free_run(&r);
}

/* Load must fail with `code` and leave ds, the generator and the outputs
 * untouched: the state saved before and after is the same. */
static void expect_refused(run *r, const void *bad, size_t n, mlp_status code)
{
    void *before, *after;
    size_t nb, na;
    mlp_model *m = (mlp_model *)1;
    mlp_optim *o = (mlp_optim *)1;
    assert_ok(r->ctx, mlp_checkpoint_save_mem(r->m, r->opt, r->ds, &before, &nb));
    assert_int_equal(mlp_checkpoint_load_mem(r->ctx, bad, n, r->ds, &m, &o), code);
    assert_int_equal(mlp_ctx_errcode(r->ctx), code);
    assert_non_null(strstr(mlp_ctx_errmsg(r->ctx), "mlp_checkpoint_load_mem"));
    assert_null(m);
    assert_null(o);
    mlp_ctx_clear_error(r->ctx);
    assert_ok(r->ctx, mlp_checkpoint_save_mem(r->m, r->opt, r->ds, &after, &na));
    expect_same_bytes(after, na, before, nb);
    mlp_buffer_free(r->ctx, before);
    mlp_buffer_free(r->ctx, after);
}

static void fix_crc(unsigned char *b, size_t n)
{
    uint32_t c = fuzz_crc32(b, n - 4);
    int i;
    for (i = 0; i < 4; i++)
        b[n - 4 + i] = (unsigned char)(c >> (8 * i));
}

static void checkpoint__bad_files_are_refused_and_change_nothing(void **state)
{
    run r;
    void *buf;
    unsigned char *b;
    size_t size, i, o;
    (void)state;
    make_run(&r, 1);
    assert_ok(r.ctx, mlp_fit(r.m, r.opt, r.ds, MLP_LOSS_CROSS_ENTROPY, 1, BATCH, NULL, NULL));
    assert_ok(r.ctx, mlp_checkpoint_save_mem(r.m, r.opt, r.ds, &buf, &size));
    b = (unsigned char *)buf;
    for (i = 0; i < size; i++) /* every truncation */
        expect_refused(&r, b, i, MLP_ERR_FORMAT);
    for (i = 0; i < size; i++) { /* every byte changed */
        b[i] ^= 0x20;
        expect_refused(&r, b, size, i >= 8 && i < 12 ? MLP_ERR_VERSION : MLP_ERR_FORMAT);
        b[i] ^= 0x20;
    }
    /* fields wrong behind a good checksum: unknown flags, two equal
     * entries in the order, a cursor past the last batch */
    b[12] = 1;
    fix_crc(b, size);
    expect_refused(&r, b, size, MLP_ERR_FORMAT);
    b[12] = 0;
    o = size - 4 - 8 * N; /* the order, after the dataset's 72-byte head */
    memcpy(b + o, b + o + 8, 8);
    fix_crc(b, size);
    expect_refused(&r, b, size, MLP_ERR_FORMAT);
    memcpy(b + o, b + o + 16, 8);
    b[o - DS_HEAD + 32] = 99; /* next batch */
    fix_crc(b, size);
    expect_refused(&r, b, size, MLP_ERR_FORMAT);
    mlp_buffer_free(r.ctx, buf);
    free_run(&r);
}

static void checkpoint__mismatched_objects_are_refused(void **state)
{
    run r, other;
    void *buf;
    size_t size;
    int64_t shape[2] = {N - 1, F};
    mlp_tensor *x2, *y2;
    mlp_dataset *small;
    mlp_model *m;
    mlp_optim *o;
    (void)state;
    make_run(&r, 0);
    make_run(&other, 0);
    /* an optimizer over another model's parameters */
    EXPECT_STATUS(r.ctx, mlp_checkpoint_save_mem(r.m, other.opt, r.ds, &buf, &size),
                  MLP_ERR_CONTEXT);
    /* a dataset of another size */
    assert_ok(r.ctx, mlp_checkpoint_save_mem(r.m, r.opt, r.ds, &buf, &size));
    x2 = mlp_tensor_zeros(r.ctx, 2, shape);
    y2 = mlp_tensor_zeros(r.ctx, 1, shape);
    small = mlp_dataset_new(x2, y2);
    EXPECT_STATUS(r.ctx, mlp_checkpoint_load_mem(r.ctx, buf, size, small, &m, &o), MLP_ERR_SHAPE);
    EXPECT_STATUS(r.ctx, mlp_checkpoint_load_mem(r.ctx, buf, size, other.ds, &m, &o),
                  MLP_ERR_CONTEXT);
    /* an epoch in progress goes on only with its batch size */
    assert_ok(r.ctx, mlp_checkpoint_load_mem(r.ctx, buf, size, r.ds, &m, &o));
    mlp_optim_free(o);
    mlp_model_free(m);
    mlp_buffer_free(r.ctx, buf);
    mlp_dataset_free(small);
    mlp_tensor_free(x2);
    mlp_tensor_free(y2);
    free_run(&other);
    free_run(&r);
}

static int stop_now(void *user, int epoch, int64_t batch, int64_t nbatches, float loss, float acc)
{
    (void)user;
    (void)epoch;
    (void)batch;
    (void)nbatches;
    (void)loss;
    (void)acc;
    return 1;
}

static void fit__epoch_in_progress_goes_on_with_its_batch_size_only(void **state)
{
    run r;
    mlp_optim *sgd;
    mlp_tensor *ps[1];
    (void)state;
    make_run(&r, 0);
    assert_ok(r.ctx, mlp_fit(r.m, r.opt, r.ds, MLP_LOSS_CROSS_ENTROPY, 2, BATCH, stop_now, NULL));
    assert_int_equal(mlp_dataset_epoch(r.ds), 0);
    assert_int_equal(mlp_dataset_next_batch(r.ds), 1);
    EXPECT_STATUS(r.ctx, mlp_fit(r.m, r.opt, r.ds, MLP_LOSS_CROSS_ENTROPY, 1, 4, NULL, NULL),
                  MLP_ERR_STATE);
    /* the same batch size finishes the epoch: NB - 1 more steps */
    assert_ok(r.ctx, mlp_fit(r.m, r.opt, r.ds, MLP_LOSS_CROSS_ENTROPY, 1, BATCH, NULL, NULL));
    assert_int_equal(mlp_dataset_epoch(r.ds), 1);
    assert_int_equal(mlp_dataset_next_batch(r.ds), 0);
    assert_int_equal(mlp_optim_num_steps(r.opt), NB);
    /* shuffling starts an epoch over */
    assert_ok(r.ctx, mlp_fit(r.m, r.opt, r.ds, MLP_LOSS_CROSS_ENTROPY, 1, BATCH, stop_now, NULL));
    assert_ok(r.ctx, mlp_dataset_shuffle(r.ds));
    assert_int_equal(mlp_dataset_next_batch(r.ds), 0);
    assert_ok(r.ctx, mlp_fit(r.m, r.opt, r.ds, MLP_LOSS_CROSS_ENTROPY, 1, 4, NULL, NULL));
    /* an optimizer over only some of the model's parameters has no checkpoint */
    ps[0] = mlp_model_param(r.m, 0);
    sgd = mlp_optim_new(r.ctx, MLP_OPTIM_SGD, ps, 1, 0.1f);
    assert_handle(r.ctx, sgd);
    {
        void *buf;
        size_t size;
        EXPECT_STATUS(r.ctx, mlp_checkpoint_save_mem(r.m, sgd, r.ds, &buf, &size), MLP_ERR_ARG);
    }
    mlp_optim_free(sgd);
    free_run(&r);
}

/* Every allocation failure of a save and a load in turn: NOMEM, nothing
 * changed or leaked; with memory back both succeed. */
static void checkpoint__every_allocation_failure_is_survived(void **state)
{
    tu_alloc a;
    run r;
    void *buf = NULL, *before;
    size_t size = 0, nb;
    long k;
    mlp_status s;
    (void)state;
    memset(&r, 0, sizeof r);
    r.ctx = tu_ctx(&a, -1);
    mlp_ctx_seed(r.ctx, 3);
    make_data(&r);
    r.m = mlp_model_new(r.ctx);
    assert_ok(r.ctx, mlp_model_add_linear(r.m, F, K));
    r.opt = mlp_adam_new(r.m, 0.01f);
    assert_ok(r.ctx, mlp_optim_set(r.opt, MLP_OPT_AMSGRAD, 1));
    assert_ok(r.ctx, mlp_fit(r.m, r.opt, r.ds, MLP_LOSS_CROSS_ENTROPY, 1, BATCH, stop_now, NULL));
    assert_ok(r.ctx, mlp_checkpoint_save_mem(r.m, r.opt, r.ds, &before, &nb));
    for (k = 0;; k++) {
        a.fail_at = a.calls + k;
        s = mlp_checkpoint_save_mem(r.m, r.opt, r.ds, &buf, &size);
        a.fail_at = -1;
        if (s == MLP_OK)
            break;
        assert_int_equal(s, MLP_ERR_NOMEM);
        assert_null(buf);
    }
    expect_same_bytes(buf, size, before, nb);
    for (k = 0;; k++) {
        mlp_model *m = NULL;
        mlp_optim *o = NULL;
        a.fail_at = a.calls + k;
        s = mlp_checkpoint_load_mem(r.ctx, buf, size, r.ds, &m, &o);
        a.fail_at = -1;
        if (s == MLP_OK) {
            mlp_model_free(m);
            mlp_optim_free(o);
            break;
        }
        assert_int_equal(s, MLP_ERR_NOMEM);
        assert_int_equal(mlp_ctx_errcode(r.ctx), MLP_ERR_NOMEM);
        assert_null(m);
        assert_null(o);
    }
    assert_true(k > 3);
    mlp_buffer_free(r.ctx, buf);
    mlp_buffer_free(r.ctx, before);
    free_run(&r);
    assert_int_equal(a.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(checkpoint__fit_resumed_anywhere_is_bit_identical_to_one_never_stopped),
        cmocka_unit_test(checkpoint__bytes_follow_the_documented_layout),
        cmocka_unit_test(checkpoint__model_file_can_be_taken_out),
        cmocka_unit_test(checkpoint__bad_files_are_refused_and_change_nothing),
        cmocka_unit_test(checkpoint__mismatched_objects_are_refused),
        cmocka_unit_test(fit__epoch_in_progress_goes_on_with_its_batch_size_only),
        cmocka_unit_test(checkpoint__every_allocation_failure_is_survived),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
