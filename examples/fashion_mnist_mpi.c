/*
 * fashion_mnist_mpi.c - the fashion_mnist example trained data-parallel
 * over MPI (docs/distributed.md): the same options, output and last line
 * ("final test accuracy A"), run as `mpirun -np P fashion_mnist_mpi ...`.
 * --batch is the global batch, shared across the ranks; every rank loads
 * the data, rank 0's initial model is broadcast, only rank 0 prints and
 * writes files. Built by `make` where mpicc exists (mk/mpi.mk).
 */
#define _POSIX_C_SOURCE 200809L
#include <mlp_mpi.h>
#include <stdio.h>
#include <stdlib.h>

#define FASHION_MNIST_DIST 1

static mlp_comm *dist_comm;

static void dist_end(void)
{
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized)
        MPI_Finalize();
}

static void dist_begin(int *argc, char ***argv)
{
    MPI_Init(argc, argv);
    atexit(dist_end);
}

/* The communicator on the optimizer: rank 0's model everywhere, gradients
 * averaged at every step. The other ranks stay silent. */
static int dist_attach(mlp_ctx *ctx, mlp_optim *opt)
{
    if (!(dist_comm = mlp_mpi_comm_new(ctx, MPI_COMM_WORLD))
        || mlp_optim_set_comm(opt, dist_comm) != MLP_OK) {
        fprintf(stderr, "fashion_mnist: MPI communicator: %s\n", mlp_ctx_errmsg(ctx));
        return 0;
    }
    if (mlp_comm_rank(dist_comm) != 0 && !freopen("/dev/null", "w", stdout))
        return 0;
    printf("%d MPI ranks, each taking 1/%d of every batch\n", mlp_comm_size(dist_comm),
           mlp_comm_size(dist_comm));
    return 1;
}

/* A rank that fails on its own (a file it can't read) ends the job rather
 * than leave the others waiting for it; failures inside mlp_fit already
 * reach every rank. */
static int dist_finish(int rc)
{
    if (rc != 0)
        MPI_Abort(MPI_COMM_WORLD, rc);
    return rc;
}

#include "fashion_mnist.c"
