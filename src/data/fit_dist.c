/*
 * fit_dist.c - the training loop and the evaluation of data-parallel
 * training (an optimizer with a communicator): the same order of samples
 * on every rank, each rank's slice of every global batch, one exchange per
 * step that averages the gradients and sums the statistics and failure
 * flags, and evaluation of each rank's share of the batches, summed.
 */
#include <math.h>

#include "comm.h"
#include "data/data.h"
#include "nn/model.h"

/* Forward, loss and backward of rows [lo, lo+rows) of the current order,
 * the loss weighted by `weight`. Adds the loss * rows and the correct rows
 * into st[0], st[1]. */
static mlp_status local_step(mlp_model *m, const char *fn, mlp_dataset *ds, mlp_loss_kind loss,
                             int64_t lo, int64_t rows, float weight, float *st)
{
    mlp_ctx *ctx = m->ctx;
    mlp_tensor *x, *y, *out, *l;
    mlp_status s;
    if ((s = mlp__dataset_rows(ds, fn, lo, rows, &x, &y)) != MLP_OK)
        return s;
    out = mlp__loss_input(m, loss, x);
    l = mlp__loss_of(loss, out, y);
    if (l) {
        st[0] = mlp_tensor_item(l) * (float)rows;
        if (loss == MLP_LOSS_CROSS_ENTROPY)
            st[1] = (float)mlp__count_correct(out, y);
        if (weight != 1.0f)
            l = mlp_scale(l, weight);
    }
    if (!l)
        return mlp_ctx_errcode(ctx) != MLP_OK ? mlp_ctx_errcode(ctx) : MLP_ERR_STATE;
    return mlp_backward(l, NULL, 0);
}

mlp_status mlp__fit_dist(const char *fn, mlp_model *m, mlp_optim *opt, mlp_dataset *ds,
                         mlp_loss_kind loss, int epochs, int64_t batch_size,
                         mlp_progress_fn progress, void *user)
{
    mlp_ctx *ctx = m->ctx;
    mlp__dist *d = mlp__optim_dist(opt);
    mlp_comm *comm = mlp__dist_comm(d);
    int64_t n = mlp_dataset_size(ds), nb = mlp_dataset_num_batches(ds, batch_size), b;
    int64_t P = comm->size, r = comm->rank;
    int epoch;
    mlp_status s;
    for (epoch = 0; epoch < epochs; epoch++) {
        double sum_loss = 0.0, hits = 0.0, seen = 0.0;
        /* rank 0's generator: the same shuffled order everywhere */
        if ((s = mlp__comm_share_rng(comm, fn, &ctx->rng)) != MLP_OK
            || (s = mlp_dataset_shuffle(ds)) != MLP_OK)
            return s;
        for (b = 0; b < nb; b++) {
            int64_t start = b * batch_size, rows = n - start < batch_size ? n - start : batch_size;
            int64_t lo = start + rows * r / P, hi = start + rows * (r + 1) / P;
            /* loss * rows, correct rows, rows of this slice */
            float st[3] = {0.0f, 0.0f, 0.0f};
            mlp_status local = MLP_OK;
            st[2] = (float)(hi - lo);
            /* each slice's mean loss is weighted by its share of the batch
             * (times P, which the averaging divides out again) */
            if ((local = mlp_optim_zero_grad(opt)) == MLP_OK && hi > lo)
                local = local_step(m, fn, ds, loss, lo, hi - lo,
                                   (float)((double)(hi - lo) * (double)P / (double)rows), st);
            s = mlp__dist_sync(d, fn, local != MLP_OK, st, 3);
            mlp_tape_reset(ctx);
            if (local != MLP_OK)
                return local; /* this rank's own error, as the context says */
            if (s != MLP_OK || (s = mlp__optim_update(opt, fn)) != MLP_OK)
                return s;
            sum_loss += st[0];
            hits += st[1];
            seen += st[2];
            if (progress && progress(user, epoch, b, nb, st[2] > 0 ? st[0] / st[2] : NAN, NAN))
                return MLP_OK;
        }
        if (progress
            && progress(user, epoch, nb, nb, seen > 0 ? (float)(sum_loss / seen) : NAN,
                        loss == MLP_LOSS_CROSS_ENTROPY && seen > 0 ? (float)(hits / seen) : NAN))
            return MLP_OK;
    }
    return MLP_OK;
}

mlp_status mlp_evaluate_comm(mlp_model *m, mlp_dataset *ds, mlp_comm *comm, mlp_loss_kind loss,
                             int64_t batch_size, float *out_loss, float *out_accuracy)
{
    mlp_ctx *ctx;
    mlp_status s;
    int64_t nb, hits = 0, seen = 0, P, r;
    double sum_loss = 0.0;
    float st[4];
    if (!comm)
        return mlp_evaluate(m, ds, loss, batch_size, out_loss, out_accuracy);
    if (!m)
        return MLP_ERR_NULL;
    ctx = m->ctx;
    if (comm->ctx != ctx)
        return mlp__fail(ctx, MLP_ERR_CONTEXT, "%s: comm belongs to another context", __func__);
    if (!ds)
        return mlp__fail(ctx, MLP_ERR_NULL, "%s: ds is NULL", __func__);
    if ((s = mlp__fit_check(ctx, __func__, ds, loss, batch_size)) != MLP_OK)
        return s;
    P = comm->size;
    r = comm->rank;
    nb = mlp_dataset_num_batches(ds, batch_size);
    s = mlp__evaluate_range(m, ds, loss, batch_size, nb * r / P, nb * (r + 1) / P, &sum_loss, &hits,
                            &seen);
    /* every rank takes part in the sum, failed or not */
    st[0] = (float)sum_loss;
    st[1] = (float)hits;
    st[2] = (float)seen;
    st[3] = s != MLP_OK ? 1.0f : 0.0f;
    {
        mlp_status c = mlp__comm_allreduce(comm, __func__, st, 4);
        if (s != MLP_OK)
            return s;
        if (c != MLP_OK)
            return c;
    }
    if (st[3] > 0.0f)
        return mlp__fail(ctx, MLP_ERR_COMM, "%s: %d of %d ranks failed (their own errors say why)",
                         __func__, (int)(st[3] + 0.5f), comm->size);
    if (out_loss)
        *out_loss = st[2] > 0.0f ? st[0] / st[2] : NAN;
    if (out_accuracy)
        *out_accuracy = loss == MLP_LOSS_CROSS_ENTROPY && st[2] > 0.0f ? st[1] / st[2] : NAN;
    return MLP_OK;
}
