/*
 * comm.h - the inside of a communicator and the calls the optimizer and
 * the fit loop make through it (comm.c), and the gradient buckets that
 * average gradients across ranks while backward runs (optim/dist.c).
 */
#ifndef MLP_COMM_H
#define MLP_COMM_H

#include "core.h"

struct mlp_comm {
    mlp_ctx *ctx;
    mlp_comm_ops ops; /* members past the engine's struct_size are NULL */
    int rank, size;
};

/* Blocking sum / broadcast through the engine; MLP_ERR_COMM naming fn. */
mlp_status mlp__comm_allreduce(mlp_comm *c, const char *fn, float *buf, int64_t n);
mlp_status mlp__comm_broadcast(mlp_comm *c, const char *fn, float *buf, int64_t n, int root);
/* Non-blocking sum: start, then wait. */
mlp_status mlp__comm_start(mlp_comm *c, const char *fn, float *buf, int64_t n, void **req);
mlp_status mlp__comm_wait(mlp_comm *c, const char *fn, void *req);
/* Give every rank rank 0's n words (n <= MLP__COMM_MAX_WORDS; collective). */
#define MLP__COMM_MAX_WORDS 16
mlp_status mlp__comm_broadcast_words(mlp_comm *c, const char *fn, uint32_t *w, int n);
/* Give every rank rank 0's random generator state (collective). */
mlp_status mlp__comm_share_rng(mlp_comm *c, const char *fn, mlp__rng *rng);

/* ---- gradient buckets of a data-parallel optimizer (optim/dist.c) ---- */

typedef struct mlp__dist mlp__dist;

/* Broadcast rank 0's values of params[0..n-1], give each a gradient,
 * lay out buckets of about bucket_bytes and install ctx's gradient hook.
 * NULL with the error recorded (naming fn). */
mlp__dist *mlp__dist_new(mlp_comm *comm, const char *fn, mlp_tensor *const *params, int n,
                         double bucket_bytes);
/* Remove the hook and free (waits for nothing: call between steps). */
void mlp__dist_free(mlp__dist *d);
mlp_comm *mlp__dist_comm(const mlp__dist *d);
/* Lay the buckets out again (between steps only: MLP_ERR_STATE). */
mlp_status mlp__dist_set_bucket_bytes(mlp__dist *d, const char *fn, double bytes);
/* End of a step's backward on this rank (collective): start what is not
 * started, sum `extra` (nextra floats, may be 0) and the failure flags
 * across ranks, wait for every bucket, and unless some rank failed,
 * replace each gradient by its average over the ranks. local_failed != 0
 * marks this rank's step failed. MLP_ERR_COMM when another rank failed or
 * the engine did; MLP_ERR_STATE when this rank failed; MLP_OK otherwise. */
mlp_status mlp__dist_sync(mlp__dist *d, const char *fn, int local_failed, float *extra, int nextra);

/* mlp_optim_zero_grad, then mlp_backward(l, NULL, 0) unless l is NULL,
 * as one: the same gradients, but a parameter's gradient is not zeroed
 * first when its first writer in backward overwrites it whole (0 + g is g
 * up to the sign of a zero). Whatever backward returns, every parameter
 * backward did not write is zeroed before this returns (optim.c). */
mlp_status mlp__zero_grad_backward(mlp_optim *o, mlp_tensor *l);
/* The optimizer's update without the exchange (optim.c). */
mlp_status mlp__optim_update(mlp_optim *o, const char *fn);
/* The optimizer's buckets, or NULL when it has no communicator. */
mlp__dist *mlp__optim_dist(const mlp_optim *o);

#endif
