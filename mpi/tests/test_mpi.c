/*
 * test_mpi.c - data-parallel training over MPI, run by tests/check_mpi.sh
 * under mpirun with 1, 2 and 4 ranks. Every rank runs every test; the
 * expectations are the single-process run of the same program, which
 * each rank computes itself with no communicator (the oracle:
 * P ranks with global batch B follow one process with batch B).
 */
#include <float.h>

#include "../../tests/testutil.h"
#include "mlp_mpi.h"

#define NS 50 /* samples: batches of 16, 16, 16 and 2 (empty slices at 4 ranks) */
#define NIN 12
#define NOUT 5
#define BATCH 16

static int rank, size;

/* The same samples on every rank, made from a formula. */
static mlp_dataset *data(mlp_ctx *ctx, int bad_labels)
{
    float xs[NS * NIN], ys[NS];
    int64_t xshape[2] = {NS, NIN}, yshape[1] = {NS};
    mlp_tensor *x, *y;
    mlp_dataset *ds;
    int i;
    for (i = 0; i < NS * NIN; i++)
        xs[i] = (float)sin(0.37 * i) + 0.1f * (float)(i % 7);
    for (i = 0; i < NS; i++)
        ys[i] = bad_labels ? 99.0f : (float)((i * 3 + i / 7) % NOUT);
    x = mlp_tensor_from(ctx, 2, xshape, xs);
    y = mlp_tensor_from(ctx, 1, yshape, ys);
    ds = mlp_dataset_new(x, y);
    assert_handle(ctx, ds);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    return ds;
}

/* 12-16-16-5, tanh then relu */
static mlp_model *net(mlp_ctx *ctx)
{
    mlp_model *m = mlp_model_new(ctx);
    assert_ok(ctx, mlp_model_add_linear(m, NIN, 16));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_TANH));
    assert_ok(ctx, mlp_model_add_linear(m, 16, 16));
    assert_ok(ctx, mlp_model_add_act(m, MLP_ACT_RELU));
    assert_ok(ctx, mlp_model_add_linear(m, 16, NOUT));
    return m;
}

#define NPARAM (NIN * 16 + 16 + 16 * 16 + 16 + 16 * NOUT + NOUT)

/* Train 3 epochs (12 steps) from seed `seed`, over comm when given;
 * parameters into p. */
static void train(mlp_optim_kind kind, uint64_t seed, int distributed, float *p, tu_progress *rep,
                  float *eval)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_comm *comm = NULL;
    mlp_model *m;
    mlp_dataset *ds;
    mlp_optim *opt;
    mlp_tensor *ps[6];
    int i, k = 0;
    int64_t j;
    mlp_ctx_seed(ctx, seed);
    m = net(ctx);
    ds = data(ctx, 0);
    for (i = 0; i < 6; i++)
        ps[i] = mlp_model_param(m, i);
    opt = mlp_optim_new(ctx, kind, ps, 6, kind == MLP_OPTIM_SGD ? 0.2f : 0.01f);
    assert_handle(ctx, opt);
    if (kind == MLP_OPTIM_SGD)
        assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_MOMENTUM, 0.9));
    if (distributed) {
        comm = mlp_mpi_comm_new(ctx, MPI_COMM_WORLD);
        assert_handle(ctx, comm);
        /* small buckets: several all-reduces in flight during backward */
        assert_ok(ctx, mlp_optim_set(opt, MLP_OPT_BUCKET_BYTES, 512));
        assert_ok(ctx, mlp_optim_set_comm(opt, comm));
    }
    assert_ok(ctx, mlp_fit(m, opt, ds, MLP_LOSS_CROSS_ENTROPY, 3, BATCH, tu_record_progress, rep));
    assert_ok(ctx, mlp_evaluate_comm(m, ds, comm, MLP_LOSS_CROSS_ENTROPY, 7, &eval[0], &eval[1]));
    for (i = 0; i < 6; i++)
        for (j = 0; j < mlp_tensor_numel(ps[i]); j++)
            p[k++] = mlp_tensor_get(ps[i], j);
    mlp_optim_free(opt);
    mlp_comm_free(comm);
    mlp_model_free(m);
    mlp_dataset_free(ds);
    mlp_ctx_free(ctx);
}

static void check_same_run(mlp_optim_kind kind)
{
    float dist[NPARAM], one[NPARAM], ev_dist[2], ev_one[2], scale = 0;
    tu_progress rd, ro;
    int i;
    memset(&rd, 0, sizeof rd);
    memset(&ro, 0, sizeof ro);
    /* every rank its own seed: rank 0's model is the one that counts */
    train(kind, 100 + (uint64_t)rank, 1, dist, &rd, ev_dist);
    train(kind, 100, 0, one, &ro, ev_one);
    for (i = 0; i < NPARAM; i++)
        scale = fmaxf(scale, fabsf(one[i]));
    /* within 1e-5 of the parameters' magnitude: float sums in another order */
    for (i = 0; i < NPARAM; i++)
        if (!(fabsf(dist[i] - one[i]) <= 1e-5f * scale)) {
            print_error("rank %d of %d: parameter %d is %.9g, one process %.9g\n", rank, size, i,
                        (double)dist[i], (double)one[i]);
            fail();
        }
    /* the same figures reported on every rank as by one process */
    assert_int_equal(rd.n, ro.n);
    for (i = 0; i < ro.n; i++) {
        assert_close(rd.loss[i], ro.loss[i], 1e-5, 1e-5);
        if (!isnan(ro.acc[i]))
            assert_close(rd.acc[i], ro.acc[i], 1e-6, 0);
    }
    assert_close(ev_dist[0], ev_one[0], 1e-5, 1e-5);
    assert_close(ev_dist[1], ev_one[1], 1e-6, 0);
}

static void mpi__sgd_steps_equal_one_process_with_the_global_batch(void **state)
{
    (void)state;
    check_same_run(MLP_OPTIM_SGD);
}

static void mpi__adam_steps_equal_one_process_with_the_global_batch(void **state)
{
    (void)state;
    check_same_run(MLP_OPTIM_ADAM);
}

static void mpi__allreduce_sums_and_broadcast_copies(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_comm *c = mlp_mpi_comm_new(ctx, MPI_COMM_WORLD);
    float buf[3];
    int64_t n = 0, floats = 0;
    double in_flight = -1, wait = -1;
    (void)state;
    assert_handle(ctx, c);
    assert_int_equal(mlp_comm_rank(c), rank);
    assert_int_equal(mlp_comm_size(c), size);
    buf[0] = (float)(rank + 1);
    buf[1] = 1.0f;
    buf[2] = (float)rank * (float)rank;
    assert_ok(ctx, mlp_comm_allreduce(c, buf, 3));
    /* sums of 1..P, of P ones, of r^2 for r < P */
    assert_true(buf[0] == (float)(size * (size + 1) / 2));
    assert_true(buf[1] == (float)size);
    assert_true(buf[2] == (float)((size - 1) * size * (2 * size - 1) / 6));
    buf[0] = rank == size - 1 ? 42.0f : -1.0f;
    assert_ok(ctx, mlp_comm_broadcast(c, buf, 1, size - 1));
    assert_true(buf[0] == 42.0f);
    assert_ok(ctx, mlp_mpi_comm_stats(c, &n, &floats, &in_flight, &wait));
    assert_int_equal(n, 1);
    assert_int_equal(floats, 3);
    assert_true(in_flight >= 0 && wait >= 0);
    assert_ok(ctx, mlp_mpi_comm_reset_stats(c));
    assert_ok(ctx, mlp_mpi_comm_stats(c, &n, NULL, NULL, NULL));
    assert_int_equal(n, 0);
    assert_int_equal(mlp_mpi_comm_stats(NULL, &n, NULL, NULL, NULL), MLP_ERR_NULL);
    assert_int_equal(mlp_mpi_comm_reset_stats(NULL), MLP_ERR_NULL);
    mlp_comm_free(c);
    mlp_ctx_free(ctx);
}

/* The last rank's copy of the data has labels out of range: it fails with
 * its own error, every other rank with MLP_ERR_COMM, none waits forever,
 * and no parameter changed anywhere. */
static void mpi__a_failing_rank_fails_every_rank_without_a_hang(void **state)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_comm *c = mlp_mpi_comm_new(ctx, MPI_COMM_WORLD);
    mlp_model *m;
    mlp_dataset *ds;
    mlp_optim *opt;
    float before, after, acc;
    mlp_status s;
    int bad = rank == size - 1;
    (void)state;
    m = net(ctx);
    ds = data(ctx, bad);
    opt = mlp_sgd_new(m, 0.1f);
    assert_ok(ctx, mlp_optim_set_comm(opt, c));
    before = mlp_tensor_get(mlp_model_param(m, 0), 0);
    s = mlp_fit(m, opt, ds, MLP_LOSS_CROSS_ENTROPY, 1, NS, NULL, NULL);
    after = mlp_tensor_get(mlp_model_param(m, 0), 0);
    assert_true(before == after);
    assert_int_equal(mlp_optim_num_steps(opt), 0);
    if (bad) {
        assert_int_equal(s, MLP_ERR_RANGE);
    } else {
        assert_int_equal(s, MLP_ERR_COMM);
        assert_non_null(strstr(mlp_ctx_errmsg(ctx), "1 of"));
    }
    /* evaluation too */
    s = mlp_evaluate_comm(m, ds, c, MLP_LOSS_CROSS_ENTROPY, 10, NULL, &acc);
    assert_int_equal(s, bad ? MLP_ERR_RANGE : MLP_ERR_COMM);
    /* and the communicator still works afterwards */
    mlp_dataset_free(ds);
    ds = data(ctx, 0);
    assert_ok(ctx, mlp_fit(m, opt, ds, MLP_LOSS_CROSS_ENTROPY, 1, NS, NULL, NULL));
    assert_int_equal(mlp_optim_num_steps(opt), 1);
    mlp_optim_free(opt);
    mlp_comm_free(c);
    mlp_model_free(m);
    mlp_dataset_free(ds);
    mlp_ctx_free(ctx);
}

/* The last rank runs out of memory in its first step: it fails with
 * MLP_ERR_NOMEM, every other rank with MLP_ERR_COMM, nothing changes, and
 * once memory is back every rank trains again. */
static void mpi__a_rank_out_of_memory_fails_every_rank_without_a_hang(void **state)
{
    tu_alloc a;
    mlp_ctx *ctx = tu_ctx(&a, -1);
    mlp_comm *c = mlp_mpi_comm_new(ctx, MPI_COMM_WORLD);
    mlp_model *m = net(ctx);
    mlp_dataset *ds = data(ctx, 0);
    mlp_optim *opt = mlp_adam_new(m, 0.01f);
    float before, after;
    mlp_status s;
    int starved = rank == size - 1;
    (void)state;
    assert_ok(ctx, mlp_optim_set_comm(opt, c));
    before = mlp_tensor_get(mlp_model_param(m, 2), 5);
    if (starved)
        a.fail_at = a.calls; /* the first step's first allocation on */
    s = mlp_fit(m, opt, ds, MLP_LOSS_CROSS_ENTROPY, 1, BATCH, NULL, NULL);
    a.fail_at = -1;
    after = mlp_tensor_get(mlp_model_param(m, 2), 5);
    assert_int_equal(s, starved ? MLP_ERR_NOMEM : MLP_ERR_COMM);
    assert_true(before == after);
    assert_int_equal(mlp_optim_num_steps(opt), 0);
    assert_ok(ctx, mlp_fit(m, opt, ds, MLP_LOSS_CROSS_ENTROPY, 1, BATCH, NULL, NULL));
    assert_int_equal(mlp_optim_num_steps(opt), 4);
    mlp_optim_free(opt);
    mlp_comm_free(c);
    mlp_model_free(m);
    mlp_dataset_free(ds);
    mlp_ctx_free(ctx);
    assert_int_equal(a.live, 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mpi__allreduce_sums_and_broadcast_copies),
        cmocka_unit_test(mpi__sgd_steps_equal_one_process_with_the_global_batch),
        cmocka_unit_test(mpi__adam_steps_equal_one_process_with_the_global_batch),
        cmocka_unit_test(mpi__a_failing_rank_fails_every_rank_without_a_hang),
        cmocka_unit_test(mpi__a_rank_out_of_memory_fails_every_rank_without_a_hang),
    };
    int rc;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    /* one verdict for the job: the worst of the ranks' */
    MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Finalize();
    return rc;
}
