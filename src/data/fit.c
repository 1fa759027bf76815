/*
 * fit.c - the training loop a user would write, as one call: per epoch
 * shuffle, then per batch forward, loss, zero_grad, backward, step and
 * tape reset, reporting progress through a callback; and evaluation
 * without the tape. With a communicator on the optimizer the loop is
 * fit_dist.c's. The place in the epochs is kept in the dataset's cursor,
 * so a fit stopped by its callback, or restored from a checkpoint, goes
 * on from the next batch.
 */
#include <math.h>

#include "comm.h"
#include "data/data.h"
#include "nn/model.h"

mlp_tensor *mlp__loss_of(mlp_loss_kind kind, mlp_tensor *out, mlp_tensor *y)
{
    switch (kind) {
    case MLP_LOSS_CROSS_ENTROPY: return mlp_cross_entropy(out, y);
    case MLP_LOSS_MSE: return mlp_mse(out, y);
    case MLP_LOSS_BCE_WITH_LOGITS: return mlp_bce_with_logits(out, y);
    }
    return NULL;
}

mlp_tensor *mlp__loss_input(mlp_model *m, mlp_loss_kind kind, mlp_tensor *x)
{
    return kind == MLP_LOSS_CROSS_ENTROPY ? mlp_model_forward_logits(m, x)
                                          : mlp_model_forward(m, x);
}

int64_t mlp__count_correct(const mlp_tensor *logits, const mlp_tensor *labels)
{
    int64_t b = logits->ndim >= 1 ? logits->shape[0] : 1, k = b ? logits->numel / b : 0, r, c,
            hits = 0;
    for (r = 0; r < b; r++) {
        const float *row = logits->data + r * k;
        int64_t best = 0;
        float top = row[0];
        /* selects, not branches: which column holds a row's maximum is
           as good as random to a branch predictor (on the Intel Xeon a
           branch a column took 10 us for 256 x 10 fresh logits, selects 3) */
        for (c = 1; c < k; c++) {
            const int up = row[c] > top;
            best = up ? c : best;
            top = up ? row[c] : top;
        }
        hits += (float)best == labels->data[r];
    }
    return hits;
}

mlp_status mlp__fit_check(mlp_ctx *ctx, const char *fn, const mlp_dataset *ds, mlp_loss_kind loss,
                          int64_t batch_size)
{
    /* an empty dataset would train on nothing and report a NaN loss */
    if (mlp_dataset_size(ds) == 0)
        return mlp__fail(ctx, MLP_ERR_ARG, "%s: the dataset has no samples", fn);
    if (loss != MLP_LOSS_CROSS_ENTROPY && loss != MLP_LOSS_MSE && loss != MLP_LOSS_BCE_WITH_LOGITS)
        return mlp__fail(ctx, MLP_ERR_ARG, "%s: unknown loss %d", fn, (int)loss);
    if (batch_size < 1)
        return mlp__fail(ctx, MLP_ERR_ARG, "%s: batch_size = %lld must be >= 1", fn,
                         (long long)batch_size);
    return MLP_OK;
}

/* One training step on batch b; moves ds's cursor past it. */
static mlp_status fit_batch(mlp_model *m, mlp_optim *opt, mlp_dataset *ds, mlp_loss_kind loss,
                            int64_t b, int64_t batch_size, float *lv)
{
    mlp_ctx *ctx = m->ctx;
    mlp_tensor *x, *y, *out, *l;
    int64_t rows, hits = 0;
    mlp_status s;
    if ((s = mlp_dataset_batch(ds, b, batch_size, &x, &y)) != MLP_OK)
        return s;
    rows = mlp_tensor_dim(x, 0);
    out = mlp__loss_input(m, loss, x);
    l = mlp__loss_of(loss, out, y);
    if (!l) {
        s = mlp_ctx_errcode(ctx);
        mlp_tape_reset(ctx);
        return s != MLP_OK ? s : MLP_ERR_STATE;
    }
    *lv = mlp_tensor_item(l);
    if (loss == MLP_LOSS_CROSS_ENTROPY)
        hits = mlp__count_correct(out, y);
    if ((s = mlp__zero_grad_backward(opt, l)) != MLP_OK || (s = mlp_optim_step(opt)) != MLP_OK) {
        mlp_tape_reset(ctx);
        return s;
    }
    mlp_tape_reset(ctx);
    ds->cur.next = b + 1;
    ds->cur.sum_loss += (double)*lv * (double)rows;
    ds->cur.seen += rows;
    ds->cur.hits += hits;
    return MLP_OK;
}

mlp_status mlp_fit(mlp_model *m, mlp_optim *opt, mlp_dataset *ds, mlp_loss_kind loss, int epochs,
                   int64_t batch_size, mlp_progress_fn progress, void *user)
{
    mlp_ctx *ctx;
    int epoch;
    mlp_status s;
    int64_t nb, b;
    mlp__cursor *c;
    float lv, mean, acc;
    if (!m)
        return MLP_ERR_NULL;
    ctx = m->ctx;
    if (!opt || !ds)
        return mlp__fail(ctx, MLP_ERR_NULL, "%s: %s is NULL", __func__, !opt ? "opt" : "ds");
    if ((s = mlp__fit_check(ctx, __func__, ds, loss, batch_size)) != MLP_OK)
        return s;
    if (epochs < 0)
        return mlp__fail(ctx, MLP_ERR_ARG, "%s: epochs = %d must be >= 0", __func__, epochs);
    c = &ds->cur;
    if (epochs > 0 && c->next > 0 && c->batch_size != batch_size)
        return mlp__fail(ctx, MLP_ERR_STATE,
                         "%s: ds has an epoch in progress with batch_size = %lld, not %lld "
                         "(mlp_dataset_shuffle starts a new one)",
                         __func__, (long long)c->batch_size, (long long)batch_size);
    if (mlp__optim_dist(opt))
        return mlp__fit_dist(__func__, m, opt, ds, loss, epochs, batch_size, progress, user);
    nb = mlp_dataset_num_batches(ds, batch_size);
    for (epoch = 0; epoch < epochs; epoch++) {
        /* an epoch in progress (stopped, or restored by a checkpoint) goes
         * on in its order; a new one is shuffled first */
        if (c->next == 0) {
            if ((s = mlp_dataset_shuffle(ds)) != MLP_OK)
                return s;
            c->batch_size = batch_size;
        }
        for (b = c->next; b < nb; b++) {
            if ((s = fit_batch(m, opt, ds, loss, b, batch_size, &lv)) != MLP_OK)
                return s;
            /* the cursor moves before the callback, which may save it */
            if (progress && progress(user, epoch, b, nb, lv, NAN))
                return MLP_OK;
        }
        mean = c->seen ? (float)(c->sum_loss / (double)c->seen) : NAN;
        acc = loss == MLP_LOSS_CROSS_ENTROPY && c->seen ? (float)c->hits / (float)c->seen : NAN;
        c->epoch++;
        c->next = 0;
        c->sum_loss = 0.0;
        c->seen = c->hits = 0;
        if (progress && progress(user, epoch, nb, nb, mean, acc))
            return MLP_OK;
    }
    return MLP_OK;
}

mlp_status mlp__evaluate_range(mlp_model *m, mlp_dataset *ds, mlp_loss_kind loss,
                               int64_t batch_size, int64_t b0, int64_t b1, double *sum_loss,
                               int64_t *hits, int64_t *seen)
{
    mlp_ctx *ctx = m->ctx;
    mlp_status s = MLP_OK;
    int was_training = mlp_model_is_training(m), grad_mode = mlp_ctx_set_grad_enabled(ctx, 0);
    int64_t b;
    mlp_model_set_training(m, 0);
    for (b = b0; b < b1; b++) {
        mlp_tensor *x, *y, *out, *l;
        int64_t rows;
        if ((s = mlp_dataset_batch(ds, b, batch_size, &x, &y)) != MLP_OK)
            break;
        rows = mlp_tensor_dim(x, 0);
        out = mlp__loss_input(m, loss, x);
        l = mlp__loss_of(loss, out, y);
        if (!l) {
            s = mlp_ctx_errcode(ctx) != MLP_OK ? mlp_ctx_errcode(ctx) : MLP_ERR_STATE;
            mlp_tape_reset(ctx);
            break;
        }
        *sum_loss += (double)mlp_tensor_item(l) * (double)rows;
        if (loss == MLP_LOSS_CROSS_ENTROPY)
            *hits += mlp__count_correct(out, y);
        *seen += rows;
        mlp_tape_reset(ctx);
    }
    mlp_model_set_training(m, was_training);
    mlp_ctx_set_grad_enabled(ctx, grad_mode);
    return s;
}

mlp_status mlp_evaluate(mlp_model *m, mlp_dataset *ds, mlp_loss_kind loss, int64_t batch_size,
                        float *out_loss, float *out_accuracy)
{
    mlp_ctx *ctx;
    mlp_status s = MLP_OK;
    int64_t seen = 0, hits = 0;
    double sum_loss = 0.0;
    if (!m)
        return MLP_ERR_NULL;
    ctx = m->ctx;
    if (!ds)
        return mlp__fail(ctx, MLP_ERR_NULL, "%s: ds is NULL", __func__);
    if ((s = mlp__fit_check(ctx, __func__, ds, loss, batch_size)) != MLP_OK)
        return s;
    s = mlp__evaluate_range(m, ds, loss, batch_size, 0, mlp_dataset_num_batches(ds, batch_size),
                            &sum_loss, &hits, &seen);
    if (s != MLP_OK)
        return s;
    if (out_loss)
        *out_loss = seen ? (float)(sum_loss / (double)seen) : NAN;
    if (out_accuracy)
        *out_accuracy = loss == MLP_LOSS_CROSS_ENTROPY && seen ? (float)hits / (float)seen : NAN;
    return MLP_OK;
}
