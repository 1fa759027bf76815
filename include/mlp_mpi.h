/*
 * mlp_mpi.h - libmlp_mpi: the communicator of libmlp (mlp_comm, see
 * mlp.h and docs/distributed.md) over MPI. Link lib/libmlp_mpi.a before
 * libmlp.a and MPI (pkg-config --cflags --libs mlp-mpi, or build with
 * mpicc). libmlp itself never depends on MPI.
 *
 * Every function here is called between MPI_Init and MPI_Finalize, by
 * the thread that made the communicator (libmlp asks for no more than
 * MPI_THREAD_SINGLE).
 */
#ifndef MLP_MPI_H
#define MLP_MPI_H

#include <mpi.h>

#include "mlp.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A communicator on ctx over the processes of `comm`: duplicates comm
 *  (MPI_Comm_dup, collective), so libmlp's messages never mix with the
 *  program's, and sets MPI_ERRORS_RETURN on the duplicate, so an MPI
 *  failure comes back as MLP_ERR_COMM with MPI's error code in the message
 *  (see MPI_Error_string) instead of aborting. All-reduces are
 *  MPI_Iallreduce(MPI_IN_PLACE, MPI_FLOAT, MPI_SUM), broadcasts MPI_Bcast;
 *  starting one also tests the requests in flight, which moves them on
 *  (MPI progresses inside MPI calls). Returns NULL when MPI is not
 *  initialised or the duplication fails (nothing recorded on ctx), or
 *  with MLP_ERR_NOMEM recorded. Owned by the caller: mlp_comm_free
 *  frees the duplicate, before MPI_Finalize. Collective over comm. */
mlp_comm *mlp_mpi_comm_new(mlp_ctx *ctx, MPI_Comm comm);

/** What a communicator from mlp_mpi_comm_new has done since it was made
 *  or last reset, for benchmarks: the number of all-reduces waited for
 *  and the floats they carried; in_flight_s, the seconds between each
 *  all-reduce's start and the call that waited for it (time the program
 *  computed while the sum was under way); wait_s, the seconds spent
 *  blocked inside those waits. Any out pointer may be NULL. MLP_ERR_ARG
 *  when comm is not an MPI communicator, MLP_ERR_NULL for NULL. */
mlp_status mlp_mpi_comm_stats(const mlp_comm *comm, int64_t *allreduces, int64_t *floats,
                              double *in_flight_s, double *wait_s);
/** Set the figures of mlp_mpi_comm_stats back to zero. */
mlp_status mlp_mpi_comm_reset_stats(mlp_comm *comm);

#ifdef __cplusplus
}
#endif

#endif /* MLP_MPI_H */
