/*
 * optim.h - the optimizer's layout, shared by the optimizers (optim.c)
 * and the checkpoint file (io/checkpoint.c), which saves and restores
 * every field: the settings, the step counts and the state buffers.
 */
#ifndef MLP_OPTIM_OPTIM_H
#define MLP_OPTIM_OPTIM_H

#include "comm.h"
#include "core.h"

typedef struct mlp__pstate {
    int64_t step; /* updates of this parameter so far */
    float *buf1;  /* SGD momentum / Adam first moment */
    float *buf2;  /* Adam second moment */
    float *buf3;  /* Adam max second moment (amsgrad) */
    int64_t numel;
    int mom_init; /* SGD: buf1 holds a momentum buffer */
} mlp__pstate;

struct mlp_optim {
    mlp_ctx *ctx;
    int kind;
    mlp_tensor **params;
    mlp__pstate *st;
    int n;
    int64_t steps;
    double lr, momentum, dampening, weight_decay, beta1, beta2, eps;
    int nesterov, amsgrad;
    double bucket_bytes;
    mlp__dist *dist; /* gradient buckets when a communicator is attached */
};

#endif
