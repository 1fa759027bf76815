/*
 * fit_dist.c - the training loop and the evaluation of data-parallel
 * training (an optimizer with a communicator): the same order of samples
 * on every rank, each rank's slice of every global batch, one exchange per
 * step that averages the gradients and sums the statistics and failure
 * flags, the place in the epochs kept in the dataset's cursor as mlp_fit
 * keeps it (so a checkpoint of rank 0 resumes every rank), and evaluation
 * of each rank's share of the batches, summed.
 */
#include <math.h>
#include <string.h>

#include "comm.h"
#include "data/data.h"
#include "nn/model.h"

/* Forward and loss of rows [lo, lo+rows) of the current order, the loss
 * weighted by `weight`, or NULL (the context says why). Adds the loss *
 * rows and the correct rows into st[0], st[1]. */
static mlp_tensor *local_loss(mlp_model *m, const char *fn, mlp_dataset *ds, mlp_loss_kind loss,
                              int64_t lo, int64_t rows, float weight, float *st)
{
    mlp_tensor *x, *y, *out, *l;
    if (mlp__dataset_rows(ds, fn, lo, rows, &x, &y) != MLP_OK)
        return NULL;
    out = mlp__loss_input(m, loss, x);
    l = mlp__loss_of(loss, out, y);
    if (l) {
        st[0] = mlp_tensor_item(l) * (float)rows;
        if (loss == MLP_LOSS_CROSS_ENTROPY)
            st[1] = (float)mlp__count_correct(out, y);
        if (weight != 1.0f)
            l = mlp_scale(l, weight);
    }
    return l;
}

/* The words every rank must agree on before training: the optimizer's
 * step count and ds's place in the epochs; with an epoch in progress also
 * the generator and a hash of the order, which that epoch goes on with
 * (a new epoch takes rank 0's generator and shuffles anyway). */
static int place_words(const mlp_optim *opt, const mlp_dataset *ds, const mlp__rng *rng,
                       uint32_t *w)
{
    const mlp__cursor *c = &ds->cur;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over the order's values */
    int64_t i;
    int k, n = 0;
    const uint64_t v[4] = {(uint64_t)mlp_optim_num_steps(opt), (uint64_t)c->epoch,
                           (uint64_t)c->next, (uint64_t)(c->next > 0 ? c->batch_size : 0)};
    for (k = 0; k < 4; k++) {
        w[n++] = (uint32_t)v[k];
        w[n++] = (uint32_t)(v[k] >> 32);
    }
    if (c->next == 0)
        return n;
    for (i = 0; i < ds->n; i++)
        h = (h ^ (uint64_t)ds->order[i]) * 1099511628211ULL;
    w[n++] = (uint32_t)h;
    w[n++] = (uint32_t)(h >> 32);
    for (k = 0; k < 4; k++)
        w[n++] = rng->s[k];
    return n;
}

/* Collective: every rank must be where rank 0 is (the same checkpoint
 * loaded everywhere, or none); otherwise every rank fails, none waits. */
static mlp_status same_place(const char *fn, mlp_comm *comm, const mlp_optim *opt,
                             const mlp_dataset *ds, const mlp__rng *rng)
{
    uint32_t mine[MLP__COMM_MAX_WORDS], root[MLP__COMM_MAX_WORDS];
    float off;
    int n, k;
    mlp_status s;
    if (comm->size == 1)
        return MLP_OK;
    n = place_words(opt, ds, rng, mine);
    /* rank 0 with an epoch in progress sends its longer list */
    memset(root, 0, sizeof root);
    memcpy(root, mine, (size_t)n * sizeof *mine);
    if ((s = mlp__comm_broadcast_words(comm, fn, root, MLP__COMM_MAX_WORDS)) != MLP_OK)
        return s;
    for (k = 0, off = 0.0f; k < MLP__COMM_MAX_WORDS; k++)
        if ((k < n ? mine[k] : 0u) != root[k])
            off = 1.0f;
    if ((s = mlp__comm_allreduce(comm, fn, &off, 1)) != MLP_OK)
        return s;
    if (off > 0.0f)
        return mlp__fail(comm->ctx, MLP_ERR_STATE,
                         "%s: %d of %d ranks are not where rank 0 is (step %llu, epoch %llu, "
                         "batch %llu): every rank must start from the same checkpoint, or none",
                         fn, (int)(off + 0.5f), comm->size,
                         (unsigned long long)root[0] | (unsigned long long)root[1] << 32,
                         (unsigned long long)root[2] | (unsigned long long)root[3] << 32,
                         (unsigned long long)root[4] | (unsigned long long)root[5] << 32);
    return MLP_OK;
}

/* Rank r's generator for batch b of the epoch whose shared generator
 * (the same on every rank) is `shared`: its own stream, so the ranks'
 * dropout masks differ, and one a checkpoint can give back, since the
 * shared generator does not move within the epoch. */
static void step_stream(mlp__rng *out, const mlp__rng *shared, int64_t b, int r)
{
    uint64_t x = ((uint64_t)shared->s[0] | (uint64_t)shared->s[1] << 32)
                 ^ ((uint64_t)shared->s[2] | (uint64_t)shared->s[3] << 32) * 0x9E3779B97F4A7C15ULL;
    x ^= (uint64_t)b * 0xD1B54A32D192ED03ULL + (uint64_t)r * 0xAEF17502108EF2D9ULL;
    mlp__rng_seed(out, x);
}

/* One step of the global batch b on this rank's slice; moves ds's
 * cursor past it and gives the batch's loss and accuracy sums. */
static mlp_status dist_batch(const char *fn, mlp_model *m, mlp_optim *opt, mlp_dataset *ds,
                             mlp_loss_kind loss, int64_t b, int64_t batch_size, float *st)
{
    mlp_ctx *ctx = m->ctx;
    mlp__dist *d = mlp__optim_dist(opt);
    mlp_comm *comm = mlp__dist_comm(d);
    mlp__cursor *c = &ds->cur;
    int64_t n = ds->n, P = comm->size, r = comm->rank;
    int64_t start = b * batch_size, rows = n - start < batch_size ? n - start : batch_size;
    int64_t lo = start + rows * r / P, hi = start + rows * (r + 1) / P;
    mlp__rng shared = ctx->rng;
    mlp_status local = MLP_OK, s;
    mlp_tensor *l = NULL;
    /* loss * rows, correct rows, rows of this slice */
    st[0] = st[1] = 0.0f;
    st[2] = (float)(hi - lo);
    if (P > 1)
        step_stream(&ctx->rng, &shared, b, (int)r);
    /* each slice's mean loss is weighted by its share of the batch
     * (times P, which the averaging divides out again) */
    if (hi > lo
        && !(l = local_loss(m, fn, ds, loss, lo, hi - lo,
                            (float)((double)(hi - lo) * (double)P / (double)rows), st)))
        local = mlp_ctx_errcode(ctx) != MLP_OK ? mlp_ctx_errcode(ctx) : MLP_ERR_STATE;
    /* with no loss, only the zeroing: every rank's gradients go into the exchange */
    s = mlp__zero_grad_backward(opt, l);
    if (local == MLP_OK)
        local = s;
    s = mlp__dist_sync(d, fn, local != MLP_OK, st, 3);
    mlp_tape_reset(ctx);
    if (P > 1)
        ctx->rng = shared;
    if (local != MLP_OK)
        return local; /* this rank's own error, as the context says */
    if (s != MLP_OK || (s = mlp__optim_update(opt, fn)) != MLP_OK)
        return s;
    c->next = b + 1;
    c->sum_loss += (double)st[0];
    c->hits += (int64_t)st[1];
    c->seen += (int64_t)st[2];
    return MLP_OK;
}

mlp_status mlp__fit_dist(const char *fn, mlp_model *m, mlp_optim *opt, mlp_dataset *ds,
                         mlp_loss_kind loss, int epochs, int64_t batch_size,
                         mlp_progress_fn progress, void *user)
{
    mlp_ctx *ctx = m->ctx;
    mlp_comm *comm = mlp__dist_comm(mlp__optim_dist(opt));
    mlp__cursor *c = &ds->cur;
    int64_t nb = mlp_dataset_num_batches(ds, batch_size), b;
    int epoch;
    mlp_status s;
    float st[3], mean, acc;
    if (epochs > 0 && (s = same_place(fn, comm, opt, ds, &ctx->rng)) != MLP_OK)
        return s;
    for (epoch = 0; epoch < epochs; epoch++) {
        /* a new epoch: rank 0's generator, so the same shuffled order
         * everywhere; an epoch in progress goes on in its order */
        if (c->next == 0) {
            if ((s = mlp__comm_share_rng(comm, fn, &ctx->rng)) != MLP_OK
                || (s = mlp_dataset_shuffle(ds)) != MLP_OK)
                return s;
            c->batch_size = batch_size;
        }
        for (b = c->next; b < nb; b++) {
            if ((s = dist_batch(fn, m, opt, ds, loss, b, batch_size, st)) != MLP_OK)
                return s;
            /* the cursor moves before the callback, which may save it */
            if (progress && progress(user, epoch, b, nb, st[2] > 0 ? st[0] / st[2] : NAN, NAN))
                return MLP_OK;
        }
        mean = c->seen > 0 ? (float)(c->sum_loss / (double)c->seen) : NAN;
        acc = loss == MLP_LOSS_CROSS_ENTROPY && c->seen > 0
                  ? (float)((double)c->hits / (double)c->seen)
                  : NAN;
        c->epoch++;
        c->next = 0;
        c->sum_loss = 0.0;
        c->seen = c->hits = 0;
        if (progress && progress(user, epoch, nb, nb, mean, acc))
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
