/*
 * fashion_mnist_mpi.c - the fashion_mnist example trained data-parallel
 * over MPI (docs/distributed.md): the same options, output and last line
 * ("final test accuracy A"), run as `mpirun -np P fashion_mnist_mpi ...`.
 * --batch is the global batch, shared across the ranks; every rank loads
 * the data, rank 0's initial model is broadcast, only rank 0 prints and
 * writes files. --checkpoint and --resume work as in fashion_mnist: rank
 * 0 writes the checkpoint, every rank reads it to resume (the path must
 * reach the same file on every machine). SIGINT or SIGTERM (to mpirun,
 * which passes it on, or to every rank) stops every rank after the same
 * step with a checkpoint; mpirun kills the ranks one second after passing
 * a signal on unless given more time: `mpirun --mca
 * odls_base_sigkill_timeout 60 ...`. Built by `make` where mpicc exists
 * (mk/mpi.mk).
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

/* MPI, and silence on the ranks other than 0 from the start. */
static void dist_begin(int *argc, char ***argv)
{
    int rank = 0;
    MPI_Init(argc, argv);
    atexit(dist_end);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank != 0 && !freopen("/dev/null", "w", stdout))
        MPI_Abort(MPI_COMM_WORLD, 1);
}

/* The communicator on the optimizer: rank 0's model everywhere, gradients
 * averaged at every step. */
static int dist_attach(mlp_ctx *ctx, mlp_optim *opt)
{
    if (!(dist_comm = mlp_mpi_comm_new(ctx, MPI_COMM_WORLD))
        || mlp_optim_set_comm(opt, dist_comm) != MLP_OK) {
        fprintf(stderr, "fashion_mnist: MPI communicator: %s\n", mlp_ctx_errmsg(ctx));
        return 0;
    }
    printf("%d MPI ranks, each taking 1/%d of every batch\n", mlp_comm_size(dist_comm),
           mlp_comm_size(dist_comm));
    return 1;
}

/* The ranks see a signal at different moments (mpirun passes SIGINT and
 * SIGTERM on as SIGTERM, a scheduler signals each rank): after each step
 * they agree, so all of them stop after the same one. */
static int dist_agree(int sig)
{
    int all = sig;
    if (MPI_Allreduce(&sig, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS)
        MPI_Abort(MPI_COMM_WORLD, 1);
    return all;
}

/* How the resume command starts. */
static const char *dist_launcher(void)
{
    static char how[64];
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    snprintf(how, sizeof how, " mpirun -np %d", size);
    return how;
}

/* Log lines, no bar: mpirun gives rank 0 a terminal of its own, whatever
 * mpirun's output goes to. */
static int dist_tty(void)
{
    return 0;
}

/* A rank that fails on its own (a file it can't read) ends the job rather
 * than leave the others waiting for it; failures inside mlp_fit already
 * reach every rank. Stopped by a signal (128 + signal), every rank ends
 * normally. */
static int dist_finish(int rc)
{
    if (rc != 0 && rc < 128)
        MPI_Abort(MPI_COMM_WORLD, rc);
    return rc;
}

#include "fashion_mnist.c"
