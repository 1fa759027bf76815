/*
 * test_comm.c - the communicator interface and data-parallel optimizer in
 * one process, with engines written here: a one-rank engine that records
 * every call (bucket order and sizes, overlap with backward), a "mirror"
 * rank 0 of 2 whose peer always holds the same gradients, a rank 1 whose
 * rank 0 holds known parameters, a peer that fails its step, and an
 * engine that fails. The runs over real processes are mpi/tests (MPI).
 */
#include "testutil.h"

#define MAXCALLS 64

typedef struct engine {
    int rank, size;
    int mirror;       /* allreduce: buf *= size (every rank holds the same) */
    int peer_fails;   /* allreduce of the failure flags: the peer adds 1 */
    int fail_code;    /* allreduce_start returns this */
    float root_value; /* broadcast on a rank > 0: rank 0's values */
    int starts, waits, broadcasts, destroyed;
    int64_t n[MAXCALLS];
    float w1_grad_at_start[MAXCALLS]; /* |W1.grad| summed when each start came */
    mlp_tensor *w1;
    int token; /* requests point here */
} engine;

static int e_rank(void *u)
{
    return ((engine *)u)->rank;
}
static int e_size(void *u)
{
    return ((engine *)u)->size;
}
static int e_broadcast(void *u, float *buf, int64_t n, int root)
{
    engine *e = (engine *)u;
    int64_t i;
    e->broadcasts++;
    if (e->rank != root)
        for (i = 0; i < n; i++)
            buf[i] = e->root_value;
    return 0;
}
static float grad_mass(mlp_tensor *t)
{
    mlp_tensor *g = t ? mlp_tensor_grad(t) : NULL;
    float s = 0;
    int64_t i;
    for (i = 0; g && i < mlp_tensor_numel(g); i++)
        s += fabsf(mlp_tensor_get(g, i));
    return s;
}
static int e_start(void *u, float *buf, int64_t n, void **req)
{
    engine *e = (engine *)u;
    int64_t i;
    if (e->fail_code)
        return e->fail_code;
    if (e->starts < MAXCALLS) {
        e->n[e->starts] = n;
        e->w1_grad_at_start[e->starts] = grad_mass(e->w1);
    }
    e->starts++;
    if (e->mirror)
        for (i = 0; i < n; i++)
            buf[i] *= (float)e->size;
    if (e->peer_fails && n <= 8) /* the failure flags and sums */
        buf[0] += 1.0f;
    *req = &e->token;
    return 0;
}
static int e_wait(void *u, void *req)
{
    engine *e = (engine *)u;
    assert_ptr_equal(req, &e->token);
    e->waits++;
    return 0;
}
static void e_destroy(void *u)
{
    ((engine *)u)->destroyed++;
}

/* The table filled as mpi/mlp_mpi.c fills its own: the same public
 * contract, written again on purpose. A helper shared with mlp_mpi would
 * have to be public API (that library is built on mlp.h alone) or make
 * this test need MPI. */
static mlp_comm_ops ops_of(engine *e)
{
    mlp_comm_ops o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.user = e;
    o.rank = e_rank;
    o.size = e_size;
    o.broadcast = e_broadcast;
    o.allreduce_start = e_start;
    o.wait = e_wait;
    o.destroy = e_destroy;
    return o;
}

static engine one_rank(void)
{
    engine e;
    memset(&e, 0, sizeof e);
    e.size = 1;
    return e;
}

/* 4-8-3 with a tanh between: params W1 [4,8], b1 [8], W2 [8,3], b2 [3] */
static mlp_model *small_net(mlp_ctx *ctx)
{
    return tu_mlp_act(ctx, 4, 8, 3, MLP_ACT_TANH);
}

/* 10 samples of 4 features, labels 0..2 */
static mlp_dataset *small_data(mlp_ctx *ctx)
{
    float xs[40], ys[10];
    int i;
    for (i = 0; i < 40; i++)
        xs[i] = (float)((i * 7) % 11) / 5.0f - 1.0f;
    for (i = 0; i < 10; i++)
        ys[i] = (float)(i % 3);
    return tu_dataset(ctx, 10, 4, xs, ys);
}

/* One training step on the first 6 samples. */
static mlp_status one_step(mlp_model *m, mlp_optim *opt, mlp_dataset *ds)
{
    mlp_tensor *x, *y, *loss;
    mlp_ctx *ctx = mlp_tensor_ctx(mlp_model_param(m, 0));
    mlp_status s;
    assert_ok(ctx, mlp_dataset_batch(ds, 0, 6, &x, &y));
    loss = mlp_cross_entropy(mlp_model_forward(m, x), y);
    assert_handle(ctx, loss);
    assert_ok(ctx, mlp_optim_zero_grad(opt));
    assert_ok(ctx, mlp_backward(loss, NULL, 0));
    s = mlp_optim_step(opt);
    mlp_tape_reset(ctx);
    return s;
}

static void params_of(mlp_model *m, float *out)
{
    int i;
    int64_t j, k = 0;
    for (i = 0; i < mlp_model_num_params(m); i++)
        for (j = 0; j < mlp_tensor_numel(mlp_model_param(m, i)); j++)
            out[k++] = mlp_tensor_get(mlp_model_param(m, i), j);
}

#define NPARAM (4 * 8 + 8 + 8 * 3 + 3)

static void comm__new_checks_the_engine(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    engine e = one_rank();
    mlp_comm_ops o = ops_of(&e);
    mlp_comm *c;
    assert_null(mlp_comm_new(ctx, NULL));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NULL);
    o.struct_size = sizeof(size_t);
    assert_null(mlp_comm_new(ctx, &o));
    assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_ARG);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "struct_size"));
    o = ops_of(&e);
    o.wait = NULL;
    assert_null(mlp_comm_new(ctx, &o));
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "ops->wait is NULL"));
    o = ops_of(&e);
    e.rank = 3;
    e.size = 2;
    assert_null(mlp_comm_new(ctx, &o));
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "rank 3 of size 2"));
    assert_int_equal(e.destroyed, 0); /* a refused engine stays the caller's */
    /* an engine from a newer header (a larger table) is accepted */
    e = one_rank();
    o = ops_of(&e);
    o.struct_size = sizeof o + 64;
    c = mlp_comm_new(ctx, &o);
    assert_handle(ctx, c);
    assert_int_equal(mlp_comm_rank(c), 0);
    assert_int_equal(mlp_comm_size(c), 1);
    assert_ptr_equal(mlp_comm_user(c), &e);
    mlp_comm_free(c);
    assert_int_equal(e.destroyed, 1);
}

static void comm__allreduce_and_broadcast_go_through_the_engine(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    engine e = one_rank();
    mlp_comm_ops o;
    mlp_comm *c;
    float buf[3] = {1, 2, 3};
    e.size = 2;
    e.rank = 1;
    e.mirror = 1;
    e.root_value = 7;
    o = ops_of(&e);
    c = mlp_comm_new(ctx, &o);
    assert_handle(ctx, c);
    assert_ok(ctx, mlp_comm_allreduce(c, buf, 3));
    assert_true(buf[0] == 2 && buf[1] == 4 && buf[2] == 6); /* both ranks hold 1,2,3 */
    assert_int_equal(e.waits, 1);
    assert_ok(ctx, mlp_comm_broadcast(c, buf, 2, 0));
    assert_true(buf[0] == 7 && buf[1] == 7 && buf[2] == 6);
    assert_int_equal(mlp_comm_broadcast(c, buf, 2, 2), MLP_ERR_RANGE);
    assert_int_equal(mlp_comm_allreduce(c, buf, -1), MLP_ERR_ARG);
    assert_int_equal(mlp_comm_allreduce(c, NULL, 1), MLP_ERR_NULL);
    assert_ok(ctx, mlp_comm_allreduce(c, NULL, 0));
    e.fail_code = 5;
    assert_int_equal(mlp_comm_allreduce(c, buf, 3), MLP_ERR_COMM);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "engine error 5"));
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "mlp_comm_allreduce"));
    mlp_comm_free(c);
}

/* Buckets are filled last parameter first: with room for 30 floats,
 * b2 (3) + W2 (24) make one bucket, b1 (8) and W1 (32) one each; the last
 * layer's bucket leaves before backward has touched W1. */
static void comm__buckets_start_last_layer_first_during_backward(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    engine e = one_rank();
    mlp_comm_ops o = ops_of(&e);
    mlp_comm *c = mlp_comm_new(ctx, &o);
    mlp_model *m;
    mlp_optim *opt;
    mlp_dataset *ds;
    mlp_tensor *x, *y, *loss;
    m = small_net(ctx);
    ds = small_data(ctx);
    opt = mlp_sgd_new(m, 0.1f);
    assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_BUCKET_BYTES, 30 * sizeof(float)));
    assert_ok(ctx, mlp_optim_set_comm(opt, c));
    assert_ptr_equal(mlp_optim_comm(opt), c);
    /* one process: nothing to broadcast; every parameter has a gradient */
    assert_int_equal(e.broadcasts, 0);
    assert_non_null(mlp_tensor_grad(mlp_model_param(m, 0)));
    e.w1 = mlp_model_param(m, 0);
    assert_ok(ctx, mlp_dataset_batch(ds, 0, 6, &x, &y));
    loss = mlp_cross_entropy(mlp_model_forward(m, x), y);
    assert_ok(ctx, mlp_optim_zero_grad(opt));
    assert_ok(ctx, mlp_backward(loss, NULL, 0));
    assert_int_equal(e.starts, 3); /* all three during backward */
    assert_int_equal(e.n[0], 3 + 24);
    assert_int_equal(e.n[1], 8);
    assert_int_equal(e.n[2], 32);
    assert_true(e.w1_grad_at_start[0] == 0.0f); /* W1 not reached yet */
    assert_true(e.w1_grad_at_start[2] > 0.0f);
    assert_int_equal(e.waits, 0);
    assert_ok(ctx, mlp_optim_step(opt));
    assert_int_equal(e.starts, 4); /* + the failure flags */
    assert_int_equal(e.n[3], 1);
    assert_int_equal(e.waits, 4);
    mlp_tape_reset(ctx);
    /* the bucket size changes between steps */
    assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_BUCKET_BYTES, 1e9));
    assert_int_equal(mlp_optim_get(opt, MLP_OPT_BUCKET_BYTES), 1e9);
    e.starts = 0;
    assert_ok(ctx, one_step(m, opt, ds));
    assert_int_equal(e.starts, 2);
    assert_int_equal(e.n[0], NPARAM);
    assert_int_equal(mlp_optim_set(opt, MLP_OPT_BUCKET_BYTES, 0.5), MLP_ERR_ARG);
    /* any size past the parameters' is one bucket, however large */
    assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_BUCKET_BYTES, 1e30));
    e.starts = 0;
    assert_ok(ctx, one_step(m, opt, ds));
    assert_int_equal(e.starts, 2);
    mlp_optim_free(opt);
    mlp_comm_free(c);
    mlp_model_free(m);
    mlp_dataset_free(ds);
}

/* A peer holding the same gradients averages to the same gradients: the
 * steps are bit for bit those without a communicator (x * 2 / 2 is exact). */
static void comm__averaging_equal_gradients_changes_nothing(void **state)
{
    float with[NPARAM], without[NPARAM];
    int run, k;
    (void)state;
    for (run = 0; run < 2; run++) {
        mlp_ctx *ctx = mlp_ctx_new(NULL);
        engine e = one_rank();
        mlp_comm_ops o;
        mlp_comm *c = NULL;
        mlp_model *m;
        mlp_optim *opt;
        mlp_dataset *ds;
        e.size = 2;
        e.mirror = 1;
        o = ops_of(&e);
        mlp_ctx_seed(ctx, 3);
        m = small_net(ctx);
        ds = small_data(ctx);
        opt = mlp_adam_new(m, 0.01f);
        if (run) {
            c = mlp_comm_new(ctx, &o);
            assert_ok(ctx, mlp_optim_set_comm(opt, c));
            assert_int_equal(e.broadcasts, 4); /* one per parameter, rank 0 the root */
        }
        for (k = 0; k < 3; k++)
            assert_ok(ctx, one_step(m, opt, ds));
        params_of(m, run ? with : without);
        mlp_optim_free(opt);
        mlp_comm_free(c);
        mlp_model_free(m);
        mlp_dataset_free(ds);
        mlp_ctx_free(ctx);
    }
    assert_memory_equal(with, without, sizeof with);
}

static void comm__attaching_takes_rank_0s_parameters(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    engine e = one_rank();
    mlp_comm_ops o;
    mlp_comm *c;
    mlp_model *m = small_net(ctx);
    mlp_optim *opt = mlp_sgd_new(m, 0.1f), *other = mlp_sgd_new(m, 0.1f);
    float p[NPARAM];
    int i;
    e.size = 2;
    e.rank = 1;
    e.root_value = 0.25f;
    o = ops_of(&e);
    c = mlp_comm_new(ctx, &o);
    assert_ok(ctx, mlp_optim_set_comm(opt, c));
    params_of(m, p);
    for (i = 0; i < NPARAM; i++)
        assert_true(p[i] == 0.25f);
    /* one optimizer per context exchanges gradients */
    assert_int_equal(mlp_optim_set_comm(other, c), MLP_ERR_STATE);
    assert_ok(ctx, mlp_optim_set_comm(opt, NULL));
    assert_null(mlp_optim_comm(opt));
    assert_ok(ctx, mlp_optim_set_comm(other, c));
    assert_int_equal(mlp_optim_skip_step(opt), MLP_ERR_STATE);
    mlp_optim_free(opt);
    mlp_optim_free(other);
    mlp_comm_free(c);
    mlp_model_free(m);
}

/* A failed rank fails every rank's step, which then changes nothing. */
static void comm__a_failing_peer_fails_the_step_and_changes_nothing(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    engine e = one_rank();
    mlp_comm_ops o;
    mlp_comm *c;
    mlp_model *m = small_net(ctx);
    mlp_dataset *ds = small_data(ctx);
    mlp_optim *opt = mlp_sgd_new(m, 0.1f);
    float before[NPARAM], after[NPARAM];
    e.size = 2;
    e.peer_fails = 1;
    o = ops_of(&e);
    c = mlp_comm_new(ctx, &o);
    assert_ok(ctx, mlp_optim_set_comm(opt, c));
    params_of(m, before);
    assert_int_equal(one_step(m, opt, ds), MLP_ERR_COMM);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "1 of 2 ranks failed"));
    params_of(m, after);
    assert_memory_equal(before, after, sizeof before);
    assert_int_equal(e.starts, e.waits); /* nothing left in flight */
    /* this rank failing: it takes part and updates nothing */
    e.peer_fails = 0;
    assert_ok(ctx, mlp_optim_skip_step(opt));
    params_of(m, after);
    assert_memory_equal(before, after, sizeof before);
    assert_int_equal(mlp_optim_num_steps(opt), 0);
    /* an engine failure is reported, with the engine's code */
    e.fail_code = 9;
    assert_int_equal(one_step(m, opt, ds), MLP_ERR_COMM);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "engine error 9"));
    params_of(m, after);
    assert_memory_equal(before, after, sizeof before);
    mlp_optim_free(opt);
    mlp_comm_free(c);
    mlp_model_free(m);
    mlp_dataset_free(ds);
}

static void comm__two_backwards_in_one_step_are_refused(void **state)
{
    mlp_ctx *ctx = tu_ctx_of(state);
    engine e = one_rank();
    mlp_comm_ops o = ops_of(&e);
    mlp_comm *c = mlp_comm_new(ctx, &o);
    mlp_model *m = small_net(ctx);
    mlp_dataset *ds = small_data(ctx);
    mlp_optim *opt = mlp_sgd_new(m, 0.1f);
    mlp_tensor *x, *y, *loss;
    assert_ok(ctx, mlp_optim_set_comm(opt, c));
    assert_ok(ctx, mlp_dataset_batch(ds, 0, 6, &x, &y));
    loss = mlp_cross_entropy(mlp_model_forward(m, x), y);
    assert_ok(ctx, mlp_backward(loss, NULL, 1));
    assert_ok(ctx, mlp_backward(loss, NULL, 0));
    assert_int_equal(mlp_optim_step(opt), MLP_ERR_STATE);
    assert_non_null(strstr(mlp_ctx_errmsg(ctx), "one backward per step"));
    mlp_tape_reset(ctx);
    assert_ok(ctx, one_step(m, opt, ds)); /* the next step is clean */
    mlp_optim_free(opt);
    mlp_comm_free(c);
    mlp_model_free(m);
    mlp_dataset_free(ds);
}

/* One rank with a communicator trains and evaluates exactly as without:
 * same shuffles, same batches (the last one short), same reports. */
static void comm__fit_and_evaluate_on_one_rank_match_the_plain_ones(void **state)
{
    float p[2][NPARAM], ev[2][2];
    tu_progress s[2];
    int run;
    (void)state;
    memset(s, 0, sizeof s);
    for (run = 0; run < 2; run++) {
        mlp_ctx *ctx = mlp_ctx_new(NULL);
        engine e = one_rank();
        mlp_comm_ops o = ops_of(&e);
        mlp_comm *c = run ? mlp_comm_new(ctx, &o) : NULL;
        mlp_model *m;
        mlp_dataset *ds;
        mlp_optim *opt;
        mlp_ctx_seed(ctx, 11);
        m = small_net(ctx);
        ds = small_data(ctx);
        opt = mlp_sgd_new(m, 0.2f);
        assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_MOMENTUM, 0.9));
        if (c)
            assert_ok(ctx, mlp_optim_set_comm(opt, c));
        assert_ok(ctx,
                  mlp_fit(m, opt, ds, MLP_LOSS_CROSS_ENTROPY, 3, 4, tu_record_progress, &s[run]));
        assert_ok(ctx,
                  mlp_evaluate_comm(m, ds, c, MLP_LOSS_CROSS_ENTROPY, 3, &ev[run][0], &ev[run][1]));
        params_of(m, p[run]);
        mlp_optim_free(opt);
        mlp_comm_free(c);
        mlp_model_free(m);
        mlp_dataset_free(ds);
        mlp_ctx_free(ctx);
    }
    assert_int_equal(s[0].n, 3 * (3 + 1));
    assert_int_equal(s[1].n, s[0].n);
    assert_memory_equal(s[0].loss, s[1].loss, sizeof s[0].loss);
    assert_memory_equal(s[0].acc, s[1].acc, sizeof s[0].acc);
    assert_memory_equal(p[0], p[1], sizeof p[0]);
    assert_memory_equal(ev[0], ev[1], sizeof ev[0]);
}

/* Every allocation of attaching can fail: the call says so, changes
 * nothing, works once memory is back, and nothing leaks. */
static void comm__attaching_survives_allocation_failure(void **state)
{
    long n;
    (void)state;
    for (n = 0;; n++) {
        tu_alloc a;
        mlp_ctx *ctx = tu_ctx(&a, -1);
        engine e = one_rank();
        mlp_comm_ops o = ops_of(&e);
        mlp_comm *c;
        mlp_model *m = small_net(ctx);
        mlp_optim *opt = mlp_sgd_new(m, 0.1f);
        mlp_dataset *ds = small_data(ctx);
        mlp_status s;
        a.fail_at = a.calls + n;
        c = mlp_comm_new(ctx, &o);
        s = c ? mlp_optim_set_comm(opt, c) : MLP_ERR_NOMEM;
        if (s != MLP_OK) {
            assert_int_equal(mlp_ctx_errcode(ctx), MLP_ERR_NOMEM);
            assert_null(mlp_optim_comm(opt));
        }
        a.fail_at = -1;
        if (!c)
            c = mlp_comm_new(ctx, &o);
        if (s != MLP_OK)
            assert_ok(ctx, mlp_optim_set_comm(opt, c));
        assert_ok(ctx, one_step(m, opt, ds));
        mlp_optim_free(opt);
        mlp_comm_free(c);
        mlp_model_free(m);
        mlp_dataset_free(ds);
        mlp_ctx_free(ctx);
        assert_int_equal(a.live, 0);
        if (a.failures == 0)
            break;
    }
    assert_true(n > 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_TEST(comm__new_checks_the_engine),
        TU_TEST(comm__allreduce_and_broadcast_go_through_the_engine),
        TU_TEST(comm__buckets_start_last_layer_first_during_backward),
        cmocka_unit_test(comm__averaging_equal_gradients_changes_nothing),
        TU_TEST(comm__attaching_takes_rank_0s_parameters),
        TU_TEST(comm__a_failing_peer_fails_the_step_and_changes_nothing),
        TU_TEST(comm__two_backwards_in_one_step_are_refused),
        cmocka_unit_test(comm__fit_and_evaluate_on_one_rank_match_the_plain_ones),
        cmocka_unit_test(comm__attaching_survives_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
