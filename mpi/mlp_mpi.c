/*
 * mlp_mpi.c - libmlp's communicator over MPI: the engine functions of an
 * mlp_comm_ops table on a duplicate of the program's MPI communicator,
 * with MPI_ERRORS_RETURN so failures come back as error codes, and the
 * timing figures bench/dist reports. Requests come from a small fixed
 * pool, so a training step allocates nothing here either.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mlp_mpi.h"

#define POOL 64
#define MAGIC 0x6d6c706dU /* "mlpm" */

typedef struct slot {
    MPI_Request req;
    double t_start;
    int64_t n;
    int busy;
} slot;

typedef struct engine {
    unsigned magic;
    MPI_Comm comm;
    int rank, size;
    slot pool[POOL];
    int64_t allreduces, floats;
    double in_flight_s, wait_s;
} engine;

static int e_rank(void *user)
{
    return ((engine *)user)->rank;
}

static int e_size(void *user)
{
    return ((engine *)user)->size;
}

static int e_broadcast(void *user, float *buf, int64_t n, int root)
{
    engine *e = (engine *)user;
    while (n > 0) {
        int part = n > INT_MAX ? INT_MAX : (int)n, rc;
        if ((rc = MPI_Bcast(buf, part, MPI_FLOAT, root, e->comm)) != MPI_SUCCESS)
            return rc;
        buf += part;
        n -= part;
    }
    return 0;
}

/* Test every request in flight: MPI moves non-blocking operations on only
 * inside MPI calls. */
static void progress(engine *e)
{
    int i, done;
    for (i = 0; i < POOL; i++)
        if (e->pool[i].busy && e->pool[i].req != MPI_REQUEST_NULL)
            MPI_Test(&e->pool[i].req, &done, MPI_STATUS_IGNORE);
}

static int e_allreduce_start(void *user, float *buf, int64_t n, void **request)
{
    engine *e = (engine *)user;
    slot *s = NULL;
    int i, rc;
    if (n > INT_MAX)
        return MPI_ERR_COUNT;
    for (i = 0; i < POOL && !s; i++)
        if (!e->pool[i].busy)
            s = &e->pool[i];
    if (!s)
        return MPI_ERR_NO_MEM; /* more than POOL buckets in flight */
    progress(e);
    rc = MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, e->comm, &s->req);
    if (rc != MPI_SUCCESS)
        return rc;
    s->busy = 1;
    s->n = n;
    s->t_start = MPI_Wtime();
    *request = s;
    return 0;
}

static int e_wait(void *user, void *request)
{
    engine *e = (engine *)user;
    slot *s = (slot *)request;
    double t0 = MPI_Wtime(), t1;
    int rc = MPI_Wait(&s->req, MPI_STATUS_IGNORE);
    t1 = MPI_Wtime();
    s->busy = 0;
    e->allreduces++;
    e->floats += s->n;
    e->in_flight_s += t0 - s->t_start;
    e->wait_s += t1 - t0;
    return rc == MPI_SUCCESS ? 0 : rc;
}

static void e_destroy(void *user)
{
    engine *e = (engine *)user;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized)
        MPI_Comm_free(&e->comm);
    e->magic = 0;
    free(e);
}

mlp_comm *mlp_mpi_comm_new(mlp_ctx *ctx, MPI_Comm comm)
{
    mlp_comm_ops ops;
    mlp_comm *c;
    engine *e;
    int inited = 0, i;
    if (!ctx || MPI_Initialized(&inited) != MPI_SUCCESS || !inited)
        return NULL;
    e = (engine *)calloc(1, sizeof *e);
    if (!e)
        return NULL;
    if (MPI_Comm_dup(comm, &e->comm) != MPI_SUCCESS) {
        free(e);
        return NULL;
    }
    MPI_Comm_set_errhandler(e->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(e->comm, &e->rank);
    MPI_Comm_size(e->comm, &e->size);
    e->magic = MAGIC;
    for (i = 0; i < POOL; i++)
        e->pool[i].req = MPI_REQUEST_NULL;
    /* Filled as any engine fills the table (tests/test_comm.c's test
     * engines too). These lines are not shared with the tests: this
     * library is built on the public header alone and the tests build
     * without MPI, so one home for both would be a new public function
     * doing what the struct's own fields already say. */
    memset(&ops, 0, sizeof ops);
    ops.struct_size = sizeof ops;
    ops.user = e;
    ops.rank = e_rank;
    ops.size = e_size;
    ops.broadcast = e_broadcast;
    ops.allreduce_start = e_allreduce_start;
    ops.wait = e_wait;
    ops.destroy = e_destroy;
    c = mlp_comm_new(ctx, &ops);
    if (!c)
        e_destroy(e);
    return c;
}

static engine *engine_of(const mlp_comm *c)
{
    engine *e = (engine *)mlp_comm_user(c);
    return e && e->magic == MAGIC ? e : NULL;
}

mlp_status mlp_mpi_comm_stats(const mlp_comm *comm, int64_t *allreduces, int64_t *floats,
                              double *in_flight_s, double *wait_s)
{
    engine *e;
    if (!comm)
        return MLP_ERR_NULL;
    if (!(e = engine_of(comm)))
        return MLP_ERR_ARG;
    if (allreduces)
        *allreduces = e->allreduces;
    if (floats)
        *floats = e->floats;
    if (in_flight_s)
        *in_flight_s = e->in_flight_s;
    if (wait_s)
        *wait_s = e->wait_s;
    return MLP_OK;
}

mlp_status mlp_mpi_comm_reset_stats(mlp_comm *comm)
{
    engine *e;
    if (!comm)
        return MLP_ERR_NULL;
    if (!(e = engine_of(comm)))
        return MLP_ERR_ARG;
    e->allreduces = e->floats = 0;
    e->in_flight_s = e->wait_s = 0.0;
    return MLP_OK;
}
