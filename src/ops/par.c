/*
 * par.c - the element-wise passes of a training step (an activation and
 * its derivative, ReLU's derivative in place, the bias gradient, the
 * rows of softmax cross-entropy) split across the context's threads: one
 * job type names the kernel and its arrays, mlp__parallel_for hands out
 * parts of the range, each part calls the serial kernel on its slice.
 */
#include "kern/vec_fast.h"
#include "ops/ops.h"
#include "parallel.h"

/* Elements (or columns) per block: parts start on whole blocks, so a
 * vectorised loop meets every element at the same place in its vector
 * (and with the same alignment) as a serial call over all of them. */
#define PAR_BLOCK 64

/* Elements a part must have before a pass is split: a hand-off to the
 * pool costs a few microseconds, a streaming pass about a tenth of a
 * nanosecond an element; an exp, tanh or erf per element from the C
 * library costs tens of times more; cross-entropy's rows, two vectorised
 * exps an element (exp.h), about 2 ns (256 x 10 stays on one thread). */
#define PAR_MIN_STREAM MLP__PAR_MIN_STREAM
#define PAR_MIN_TRANSC ((int64_t)1 << 10)
#define PAR_MIN_CE ((int64_t)1 << 12)

enum { PAR_ACT_FWD, PAR_ACT_BWD, PAR_RELU_MASK, PAR_COL_SUMS, PAR_CE_ROWS };

/* out (and out2) from a (and b, c): the kernel's arrays in its order */
typedef struct {
    int kind, act, set;
    float param; /* the slope, or cross-entropy's 1 / rows */
    float *out, *out2;
    const float *a, *b, *c;
    int64_t n, rows, cols; /* n elements (act), or rows x cols */
    mlp__vexp_fn vexp;     /* cross-entropy's exp: the context's kernel's */
} par_job;

static void par_part(void *arg, int64_t lo, int64_t hi, int tid)
{
    const par_job *j = (const par_job *)arg;
    int64_t end = j->kind == PAR_COL_SUMS ? j->cols : j->n, k = j->cols;
    (void)tid;
    if (j->kind == PAR_CE_ROWS) {
        mlp__ce_rows(j->vexp, j->out + 2 * lo, j->out2 ? j->out2 + lo * k : NULL, j->a + lo * k,
                     j->b + lo, hi - lo, k, j->param);
        return;
    }
    lo *= PAR_BLOCK;
    hi = hi * PAR_BLOCK < end ? hi * PAR_BLOCK : end;
    if (j->kind == PAR_COL_SUMS)
        mlp__col_sums_acc(j->out + lo, j->a + lo, j->rows, hi - lo, k);
    else if (j->kind == PAR_RELU_MASK)
        mlp__relu_mask(j->out + lo, j->a + lo, hi - lo);
    else if (j->kind == PAR_ACT_FWD)
        mlp__act_fwd(j->act, j->out + lo, j->a + lo, hi - lo, j->param);
    else
        mlp__act_bwd(j->act, j->set, j->out + lo, j->a + lo, j->b ? j->b + lo : NULL,
                     j->c ? j->c + lo : NULL, hi - lo, j->param);
}

/* Elements a part needs to pay for the hand-off: f of act, or its
 * derivative (bwd), which sigmoid and tanh form from y = f(x) when given. */
static int64_t par_min(int act, int bwd, const float *y)
{
    switch (act) {
    case MLP_ACT_SIGMOID:
    case MLP_ACT_TANH: return bwd && y ? PAR_MIN_STREAM : PAR_MIN_TRANSC;
    case MLP_ACT_GELU: return PAR_MIN_TRANSC;
    default: return PAR_MIN_STREAM;
    }
}

/* Run j over units of per_unit elements each, parts of at least min
 * elements. */
static void par_run(mlp_ctx *ctx, par_job *j, int64_t units, int64_t per_unit, int64_t min)
{
    int64_t min_units = per_unit > 0 ? (min + per_unit - 1) / per_unit : 1;
    mlp__parallel_for(ctx, units, min_units, par_part, j);
}

void mlp__par_act_fwd(mlp_ctx *ctx, int act, float *y, const float *x, int64_t n, float param)
{
    par_job j = {PAR_ACT_FWD, act, 0, param, y, NULL, x, NULL, NULL, n, 0, 0, NULL};
    par_run(ctx, &j, (n + PAR_BLOCK - 1) / PAR_BLOCK, PAR_BLOCK, par_min(act, 0, NULL));
}

void mlp__par_act_bwd(mlp_ctx *ctx, int act, int set, float *dx, const float *dy, const float *x,
                      const float *y, int64_t n, float param)
{
    par_job j = {PAR_ACT_BWD, act, set, param, dx, NULL, dy, x, y, n, 0, 0, NULL};
    par_run(ctx, &j, (n + PAR_BLOCK - 1) / PAR_BLOCK, PAR_BLOCK, par_min(act, 1, y));
}

void mlp__par_relu_mask(mlp_ctx *ctx, float *g, const float *y, int64_t n)
{
    par_job j = {PAR_RELU_MASK, MLP_ACT_RELU, 1, 0.0f, g, NULL, y, NULL, NULL, n, 0, 0, NULL};
    par_run(ctx, &j, (n + PAR_BLOCK - 1) / PAR_BLOCK, PAR_BLOCK, PAR_MIN_STREAM);
}

void mlp__par_col_sums_acc(mlp_ctx *ctx, float *db, const float *g, int64_t rows, int64_t cols)
{
    par_job j = {PAR_COL_SUMS, MLP_ACT_IDENTITY, 0, 0.0f, db, NULL, g, NULL, NULL, 0, rows, cols,
                 NULL};
    par_run(ctx, &j, (cols + PAR_BLOCK - 1) / PAR_BLOCK, PAR_BLOCK * rows, PAR_MIN_STREAM);
}

void mlp__par_ce_rows(mlp_ctx *ctx, float *ml, float *g, const float *x, const float *labels,
                      int64_t rows, int64_t k, float inv)
{
    par_job j = {PAR_CE_ROWS, MLP_ACT_IDENTITY, 0, inv, ml, g, x, labels, NULL, 0, rows,
                 k,           ctx->gemm->vexp};
    par_run(ctx, &j, rows, k, PAR_MIN_CE);
}
