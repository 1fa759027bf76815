/*
 * dataset.c - a dataset over inputs x [n, ...] and targets y [n, ...]:
 * an index order shuffled by the context's generator (Fisher-Yates, so
 * the same seed gives the same batches everywhere) and mini-batches
 * gathered into tensors the dataset owns and reuses (rows copied by the
 * context's threads when a batch is large); the cursor mlp_fit keeps in
 * it (epochs done, next batch) is read here.
 */
#include <string.h>

#include "data/data.h"
#include "parallel.h"

mlp_dataset *mlp_dataset_new(mlp_tensor *x, mlp_tensor *y)
{
    mlp_tensor *ts[2];
    const char *names[2] = {"x", "y"};
    mlp_ctx *ctx;
    mlp_dataset *ds;
    int64_t i;
    ts[0] = x;
    ts[1] = y;
    ctx = mlp__args(__func__, ts, names, 2);
    if (!ctx)
        return NULL;
    if (x->ndim < 1 || y->ndim < 1) {
        mlp__fail(ctx, MLP_ERR_SHAPE, "%s: x and y need a first (sample) dimension", __func__);
        return NULL;
    }
    if (x->shape[0] != y->shape[0]) {
        mlp__fail(ctx, MLP_ERR_SHAPE, "%s: x has %lld samples, y has %lld", __func__,
                  (long long)x->shape[0], (long long)y->shape[0]);
        return NULL;
    }
    ds = (mlp_dataset *)mlp__calloc(ctx, __func__, 1, sizeof *ds);
    if (!ds)
        return NULL;
    ds->ctx = ctx;
    ds->n = x->shape[0];
    ds->xrow = ds->n ? x->numel / ds->n : 0;
    ds->yrow = ds->n ? y->numel / ds->n : 0;
    ds->x = mlp_tensor_detach(x);
    ds->y = mlp_tensor_detach(y);
    ds->order =
        (int64_t *)mlp__calloc(ctx, __func__, (size_t)(ds->n ? ds->n : 1), sizeof *ds->order);
    if (!ds->x || !ds->y || !ds->order) {
        mlp_dataset_free(ds);
        return NULL;
    }
    for (i = 0; i < ds->n; i++)
        ds->order[i] = i;
    return ds;
}

void mlp_dataset_free(mlp_dataset *ds)
{
    if (!ds)
        return;
    mlp_tensor_free(ds->x);
    mlp_tensor_free(ds->y);
    mlp_tensor_free(ds->bx);
    mlp_tensor_free(ds->by);
    mlp__free(ds->ctx, ds->order);
    mlp__free(ds->ctx, ds);
}

int64_t mlp_dataset_size(const mlp_dataset *ds)
{
    return ds ? ds->n : 0;
}

mlp_status mlp_dataset_shuffle(mlp_dataset *ds)
{
    int64_t i;
    if (!ds)
        return MLP_ERR_NULL;
    for (i = ds->n - 1; i > 0; i--) {
        int64_t j = (int64_t)mlp__rng_below(&ds->ctx->rng, (uint64_t)i + 1), t = ds->order[i];
        ds->order[i] = ds->order[j];
        ds->order[j] = t;
    }
    /* a new order starts the epoch in progress over */
    ds->cur.next = 0;
    ds->cur.sum_loss = 0.0;
    ds->cur.seen = ds->cur.hits = 0;
    return MLP_OK;
}

int64_t mlp_dataset_epoch(const mlp_dataset *ds)
{
    return ds ? ds->cur.epoch : 0;
}

int64_t mlp_dataset_next_batch(const mlp_dataset *ds)
{
    return ds ? ds->cur.next : 0;
}

int64_t mlp_dataset_num_batches(const mlp_dataset *ds, int64_t batch_size)
{
    if (!ds || batch_size < 1)
        return 0;
    /* not (n + bs - 1) / bs, which overflows for a batch size near INT64_MAX */
    return ds->n / batch_size + (ds->n % batch_size != 0);
}

/* Batch buffers for `rows` rows shaped like x and y with a new first dim. */
static mlp_status ensure(mlp_dataset *ds, const char *fn, int64_t rows)
{
    int64_t shape[MLP_MAX_DIMS];
    int k;
    if (rows > ds->cap) {
        mlp_tensor *bx, *by;
        memcpy(shape, ds->x->shape, sizeof shape);
        shape[0] = rows;
        bx = mlp__tensor_new(ds->ctx, fn, ds->x->ndim, shape);
        memcpy(shape, ds->y->shape, sizeof shape);
        shape[0] = rows;
        by = bx ? mlp__tensor_new(ds->ctx, fn, ds->y->ndim, shape) : NULL;
        if (!by) {
            mlp_tensor_free(bx);
            return ds->ctx->err.code;
        }
        mlp_tensor_free(ds->bx);
        mlp_tensor_free(ds->by);
        ds->bx = bx;
        ds->by = by;
        ds->cap = rows;
    }
    /* view the first `rows` rows (the storage holds cap) */
    ds->bx->shape[0] = rows;
    ds->bx->numel = rows * ds->xrow;
    ds->by->shape[0] = rows;
    ds->by->numel = rows * ds->yrow;
    for (k = 0; k < 2; k++) {
        mlp_tensor *t = k ? ds->by : ds->bx;
        if (t->grad) { /* a user may have asked for gradients of a batch */
            mlp_tensor_free(t->grad);
            t->grad = NULL;
        }
    }
    return MLP_OK;
}

typedef struct {
    const mlp_dataset *ds;
    int64_t start;
} gather_job;

/* Copy batch rows [lo, hi) from their shuffled places into bx, by. */
static void gather_rows(void *arg, int64_t lo, int64_t hi, int tid)
{
    const gather_job *j = (const gather_job *)arg;
    const mlp_dataset *ds = j->ds;
    int64_t r;
    (void)tid;
    for (r = lo; r < hi; r++) {
        int64_t i = ds->order[j->start + r];
#if defined(__GNUC__)
        /* start fetching a row 8 copies ahead, a line in four: the
         * hardware's prefetcher takes the lines between, and more rows
         * are then in flight than with every line of fewer rows */
        if (r + 8 < hi) {
            const char *ahead =
                (const char *)(ds->x->data + ds->order[j->start + r + 8] * ds->xrow);
            size_t off, bytes = (size_t)ds->xrow * sizeof(float);
            for (off = 0; off < bytes; off += 256)
                __builtin_prefetch(ahead + off);
        }
#endif
        memcpy(ds->bx->data + r * ds->xrow, ds->x->data + i * ds->xrow,
               (size_t)ds->xrow * sizeof(float));
        memcpy(ds->by->data + r * ds->yrow, ds->y->data + i * ds->yrow,
               (size_t)ds->yrow * sizeof(float));
    }
}

mlp_status mlp_dataset_batch(mlp_dataset *ds, int64_t index, int64_t batch_size, mlp_tensor **x,
                             mlp_tensor **y)
{
    int64_t start, rows;
    mlp_status s;
    if (!ds)
        return MLP_ERR_NULL;
    if (!x || !y)
        return mlp__fail(ds->ctx, MLP_ERR_NULL, "%s: %s is NULL", __func__, !x ? "x" : "y");
    if (batch_size < 1)
        return mlp__fail(ds->ctx, MLP_ERR_ARG, "%s: batch_size = %lld must be >= 1", __func__,
                         (long long)batch_size);
    if (index < 0 || index >= mlp_dataset_num_batches(ds, batch_size))
        return mlp__fail(ds->ctx, MLP_ERR_RANGE, "%s: index %lld is out of range 0..%lld", __func__,
                         (long long)index, (long long)mlp_dataset_num_batches(ds, batch_size) - 1);
    start = index * batch_size;
    rows = ds->n - start < batch_size ? ds->n - start : batch_size;
    /* buffers sized for full batches, so a partial last one allocates
       nothing; but never for more rows than the dataset has */
    if ((s = ensure(ds, __func__, batch_size < ds->n ? batch_size : ds->n)) != MLP_OK)
        return s;
    return mlp__dataset_rows(ds, __func__, start, rows, x, y);
}

mlp_status mlp__dataset_rows(mlp_dataset *ds, const char *fn, int64_t start, int64_t rows,
                             mlp_tensor **x, mlp_tensor **y)
{
    gather_job job;
    mlp_status s;
    if ((s = ensure(ds, fn, rows)) != MLP_OK)
        return s;
    job.ds = ds;
    job.start = start;
    /* rows split across the context's threads when the batch is large */
    mlp__parallel_for(ds->ctx, rows, 1 + (int64_t)32768 / (ds->xrow + ds->yrow + 1), gather_rows,
                      &job);
    mlp__bump(ds->bx);
    mlp__bump(ds->by);
    *x = ds->bx;
    *y = ds->by;
    return MLP_OK;
}
