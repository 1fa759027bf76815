/*
 * test_dist_resume.c - data-parallel mlp_fit stopped, checkpointed and
 * resumed, over a communicator written here that joins P threads of one
 * process (each a rank with its own context): the all-reduce sums every
 * rank's buffer in rank order, so a run gives the same bits every time.
 * A run stopped after any batch and resumed from rank 0's checkpoint goes
 * on as if never stopped, on every rank (Adam and dropout included);
 * ranks that did not start from the same checkpoint are refused; and a
 * checkpoint taken on 2 ranks resumes on 1, 3 or 4. The runs over real
 * processes are tests/check_mpi.sh's (MPI).
 */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"

#ifndef MLP_NO_THREADS
#include <pthread.h>

#define MAX_RANKS 4
#define EPOCHS 3
#define BATCH 4 /* 10 samples: batches of 4, 4 and 2 */
#define NPARAM (4 * 8 + 8 + 8 * 3 + 3)

/* What the ranks of one run share: a barrier and each rank's buffer. */
typedef struct hub {
    int size;
    pthread_barrier_t bar;
    float *bufs[MAX_RANKS];
} hub;

typedef struct rank_engine {
    hub *h;
    int rank;
} rank_engine;

static int t_rank(void *u)
{
    return ((rank_engine *)u)->rank;
}

static int t_size(void *u)
{
    return ((rank_engine *)u)->h->size;
}

/* Blocking: done when it returns (the request is NULL). */
static int t_allreduce(void *u, float *buf, int64_t n, void **req)
{
    rank_engine *e = (rank_engine *)u;
    hub *h = e->h;
    float *sum = (float *)malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    int64_t i;
    int r;
    if (!sum)
        return 1;
    h->bufs[e->rank] = buf;
    pthread_barrier_wait(&h->bar);
    for (i = 0; i < n; i++) {
        float s = h->bufs[0][i];
        for (r = 1; r < h->size; r++)
            s += h->bufs[r][i];
        sum[i] = s;
    }
    pthread_barrier_wait(&h->bar); /* every rank has read every buffer */
    memcpy(buf, sum, (size_t)n * sizeof(float));
    free(sum);
    *req = NULL;
    return 0;
}

static int t_wait(void *u, void *req)
{
    (void)u;
    (void)req;
    return 0;
}

static int t_broadcast(void *u, float *buf, int64_t n, int root)
{
    rank_engine *e = (rank_engine *)u;
    hub *h = e->h;
    h->bufs[e->rank] = buf;
    pthread_barrier_wait(&h->bar);
    if (e->rank != root)
        memcpy(buf, h->bufs[root], (size_t)n * sizeof(float));
    pthread_barrier_wait(&h->bar);
    return 0;
}

/* What one rank does and what it reports back (no cmocka call in a rank:
 * the main thread checks everything once the ranks are joined). */
typedef struct job {
    rank_engine e;
    mlp_ctx *ctx; /* made by the main thread, with the data */
    mlp_dataset *ds;
    int dropout;
    int stop_after;     /* stop after this many batches (< 0: never) */
    const void *resume; /* a checkpoint to start from, or NULL */
    size_t resume_size;
    void *ckpt; /* the checkpoint at the end (malloc'd copy) */
    size_t ckpt_size;
    mlp_status fit;      /* what mlp_fit returned */
    char msg[512];       /* and the context's message */
    int failed;          /* something else went wrong */
    int64_t epoch, next; /* the place in the epochs at the end */
    tu_progress rep;     /* every report */
    int batches;
    float p[NPARAM];
} job;

static int on_progress(void *user, int epoch, int64_t batch, int64_t nbatches, float loss,
                       float acc)
{
    job *j = (job *)user;
    tu_record_progress(&j->rep, epoch, batch, nbatches, loss, acc);
    return batch < nbatches && ++j->batches == j->stop_after;
}

/* 4-8-3 with a tanh (and dropout) between; Adam */
static int build(mlp_ctx *ctx, int dropout, mlp_model **m, mlp_optim **opt)
{
    *m = mlp_model_new(ctx);
    if (!*m || mlp_model_add_linear(*m, 4, 8) != MLP_OK
        || mlp_model_add_act(*m, MLP_ACT_TANH) != MLP_OK
        || (dropout && mlp_model_add_dropout(*m, 0.25f) != MLP_OK)
        || mlp_model_add_linear(*m, 8, 3) != MLP_OK)
        return 0;
    return (*opt = mlp_adam_new(*m, 0.05f)) != NULL;
}

/* One rank: build or resume, attach, fit what is left of 3 epochs. */
static void *rank_main(void *arg)
{
    job *j = (job *)arg;
    mlp_ctx *ctx = j->ctx;
    mlp_comm_ops o;
    mlp_comm *c = NULL;
    mlp_model *m = NULL;
    mlp_optim *opt = NULL;
    mlp_dataset *ds = j->ds;
    int64_t k = 0;
    int i;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.user = &j->e;
    o.rank = t_rank;
    o.size = t_size;
    o.broadcast = t_broadcast;
    o.allreduce_start = t_allreduce;
    o.wait = t_wait;
    mlp_ctx_seed(ctx, 3 + (uint64_t)j->e.rank); /* rank 0's generator wins */
    if (!(c = mlp_comm_new(ctx, &o))
        || !(j->resume
                 ? mlp_checkpoint_load_mem(ctx, j->resume, j->resume_size, ds, &m, &opt) == MLP_OK
                 : build(ctx, j->dropout, &m, &opt))
        || mlp_optim_set_comm(opt, c) != MLP_OK) {
        /* a rank that cannot take part would leave the others waiting */
        fprintf(stderr, "rank %d: %s\n", j->e.rank, mlp_ctx_errmsg(ctx));
        exit(1);
    }
    j->fit = mlp_fit(m, opt, ds, MLP_LOSS_CROSS_ENTROPY, EPOCHS - (int)mlp_dataset_epoch(ds), BATCH,
                     on_progress, j);
    snprintf(j->msg, sizeof j->msg, "%s", mlp_ctx_errmsg(ctx));
    j->epoch = mlp_dataset_epoch(ds);
    j->next = mlp_dataset_next_batch(ds);
    {
        void *buf = NULL;
        if (mlp_checkpoint_save_mem(m, opt, ds, &buf, &j->ckpt_size) != MLP_OK
            || !(j->ckpt = malloc(j->ckpt_size)))
            j->failed = 1;
        else
            memcpy(j->ckpt, buf, j->ckpt_size);
        mlp_buffer_free(ctx, buf);
    }
    for (i = 0; i < mlp_model_num_params(m); i++) {
        mlp_tensor *p = mlp_model_param(m, i);
        int64_t e;
        for (e = 0; e < mlp_tensor_numel(p) && k < NPARAM; e++)
            j->p[k++] = mlp_tensor_get(p, e);
    }
    mlp_optim_free(opt);
    mlp_comm_free(c);
    mlp_model_free(m);
    return NULL;
}

/* Run `size` ranks, each from jobs[r] (rank, hub, context and the same 10
 * samples of 4 features, labels 0..2, filled in here). */
static void run_ranks(job *jobs, int size)
{
    pthread_t t[MAX_RANKS];
    float xs[40], ys[10];
    hub h;
    int r, i;
    for (i = 0; i < 40; i++)
        xs[i] = (float)sin(0.7 * i);
    for (i = 0; i < 10; i++)
        ys[i] = (float)(i * 2 % 3);
    memset(&h, 0, sizeof h);
    h.size = size;
    assert_int_equal(pthread_barrier_init(&h.bar, NULL, (unsigned)size), 0);
    for (r = 0; r < size; r++) {
        jobs[r].e.h = &h;
        jobs[r].e.rank = r;
        jobs[r].ctx = mlp_ctx_new(NULL);
        assert_non_null(jobs[r].ctx);
        jobs[r].ds = tu_dataset(jobs[r].ctx, 10, 4, xs, ys);
        assert_int_equal(pthread_create(&t[r], NULL, rank_main, &jobs[r]), 0);
    }
    for (r = 0; r < size; r++)
        assert_int_equal(pthread_join(t[r], NULL), 0);
    pthread_barrier_destroy(&h.bar);
    for (r = 0; r < size; r++) {
        mlp_dataset_free(jobs[r].ds);
        mlp_ctx_free(jobs[r].ctx);
        assert_false(jobs[r].failed);
    }
}

static void new_jobs(job *jobs, int size, int dropout, int stop_after, const void *resume,
                     size_t resume_size)
{
    int r;
    memset(jobs, 0, sizeof(job) * (size_t)size);
    for (r = 0; r < size; r++) {
        jobs[r].dropout = dropout;
        jobs[r].stop_after = stop_after;
        jobs[r].resume = resume;
        jobs[r].resume_size = resume_size;
    }
}

static void free_jobs(job *jobs, int size)
{
    int r;
    for (r = 0; r < size; r++)
        free(jobs[r].ckpt);
}

/* On 1 to 4 ranks, stopped after every possible batch (mid-epoch and at
 * epoch ends) and resumed from rank 0's checkpoint: every rank reports
 * the uninterrupted run's losses and accuracies and ends with its
 * parameters, bit for bit; every rank's checkpoint is rank 0's, byte for
 * byte (so rank 0's is the one to write). */
static void dist_resume__stopped_anywhere_and_resumed_is_bit_identical_on_every_rank(void **state)
{
    job ref[MAX_RANKS], a[MAX_RANKS], b[MAX_RANKS];
    int size, stop, r;
    (void)state;
    for (size = 1; size <= MAX_RANKS; size++) {
        new_jobs(ref, size, 1, -1, NULL, 0);
        run_ranks(ref, size);
        assert_int_equal(ref[0].rep.n, EPOCHS * (3 + 1));
        for (stop = 1; stop < EPOCHS * 3; stop++) {
            new_jobs(a, size, 1, stop, NULL, 0);
            run_ranks(a, size);
            for (r = 0; r < size; r++) {
                assert_int_equal(a[r].fit, MLP_OK);
                assert_int_equal(a[r].ckpt_size, a[0].ckpt_size);
                assert_memory_equal(a[r].ckpt, a[0].ckpt, a[0].ckpt_size);
            }
            new_jobs(b, size, 1, -1, a[0].ckpt, a[0].ckpt_size);
            run_ranks(b, size);
            for (r = 0; r < size; r++) {
                assert_int_equal(b[r].fit, MLP_OK);
                assert_int_equal(b[r].epoch, EPOCHS);
                assert_int_equal(a[r].rep.n + b[r].rep.n, ref[r].rep.n);
                assert_memory_equal(a[r].rep.loss, ref[r].rep.loss,
                                    (size_t)a[r].rep.n * sizeof(float));
                assert_memory_equal(b[r].rep.loss, ref[r].rep.loss + a[r].rep.n,
                                    (size_t)b[r].rep.n * sizeof(float));
                assert_memory_equal(b[r].rep.acc, ref[r].rep.acc + a[r].rep.n,
                                    (size_t)b[r].rep.n * sizeof(float));
                assert_memory_equal(b[r].p, ref[r].p, sizeof ref[r].p);
            }
            free_jobs(a, size);
            free_jobs(b, size);
        }
        free_jobs(ref, size);
    }
}

/* Rank 1 resumed from a checkpoint, rank 0 did not: both fail before a
 * step, saying where rank 0 is, and neither moves. */
static void dist_resume__ranks_not_at_rank_0s_place_are_refused(void **state)
{
    job a[2], b[2];
    int r;
    (void)state;
    new_jobs(a, 2, 0, 4, NULL, 0);
    run_ranks(a, 2);
    new_jobs(b, 2, 0, -1, NULL, 0);
    b[1].resume = a[1].ckpt;
    b[1].resume_size = a[1].ckpt_size;
    run_ranks(b, 2);
    for (r = 0; r < 2; r++) {
        assert_int_equal(b[r].fit, MLP_ERR_STATE);
        assert_string_equal(b[r].msg, "mlp_fit: 1 of 2 ranks are not where rank 0 is (step 0, "
                                      "epoch 0, batch 0): every rank must start from the same "
                                      "checkpoint, or none");
        assert_int_equal(b[r].rep.n, 0);
    }
    assert_int_equal(b[0].next, 0);
    assert_int_equal(b[1].epoch, 1); /* as the checkpoint left it: epoch 2, batch 2 */
    assert_int_equal(b[1].next, 1);
    free_jobs(a, 2);
    free_jobs(b, 2);
}

/* A checkpoint holds nothing of a rank: taken on 2 ranks after 4 batches,
 * it resumes on 1, 3 or 4, going on with the next global batch of the
 * same order; the end is the 2-rank run's up to float rounding (the
 * slices' sums are added in another order), not bit for bit. */
static void dist_resume__a_checkpoint_of_two_ranks_resumes_on_one_three_or_four(void **state)
{
    job ref[2], a[2], b[MAX_RANKS];
    int size, r, i;
    (void)state;
    new_jobs(ref, 2, 0, -1, NULL, 0);
    run_ranks(ref, 2);
    new_jobs(a, 2, 0, 4, NULL, 0);
    run_ranks(a, 2);
    for (size = 1; size <= MAX_RANKS; size++) {
        if (size == 2)
            continue;
        new_jobs(b, size, 0, -1, a[0].ckpt, a[0].ckpt_size);
        run_ranks(b, size);
        for (r = 0; r < size; r++) {
            assert_int_equal(b[r].fit, MLP_OK);
            assert_int_equal(a[0].rep.n + b[r].rep.n, ref[0].rep.n);
            for (i = 0; i < b[r].rep.n; i++)
                assert_float_equal(b[r].rep.loss[i], ref[0].rep.loss[a[0].rep.n + i], 1e-5);
            for (i = 0; i < NPARAM; i++)
                assert_float_equal(b[r].p[i], ref[0].p[i], 1e-5);
            assert_memory_equal(b[r].p, b[0].p, sizeof b[0].p); /* the ranks agree */
        }
        free_jobs(b, size);
    }
    free_jobs(ref, 2);
    free_jobs(a, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dist_resume__stopped_anywhere_and_resumed_is_bit_identical_on_every_rank),
        cmocka_unit_test(dist_resume__ranks_not_at_rank_0s_place_are_refused),
        cmocka_unit_test(dist_resume__a_checkpoint_of_two_ranks_resumes_on_one_three_or_four),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* a build without threads has no ranks to join */

int main(void)
{
    printf("test_dist_resume: built without threads (THREADS=0): skipped\n");
    return 0;
}

#endif
