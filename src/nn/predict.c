/*
 * predict.c - inference without the tape on raw float arrays: a walk of
 * the layers' predict functions (nn/layers.c) between two ping-pong
 * buffers. A kind may apply the next layer in its own pass (a linear
 * layer applies the activation after it with its bias); a layer that is
 * the identity at inference (dropout) writes nothing.
 *
 * Rows go through the whole network a block at a time (at most about 512
 * rows, so a block's activations stay in cache and the buffers stay
 * small whatever n is), and each block writes its rows of the result
 * itself. Large batches are split across the context's threads by blocks
 * of rows, one hand-off per call instead of one per layer; small ones run
 * on the calling thread, where a second thread would only add its wake-up.
 * Every row is computed in the same order whatever block or thread holds
 * it (blocks are whole register tiles and never a single row unless n is
 * 1), so results do not depend on the thread count. A network of narrow
 * layers (2-4-1) runs its blocks transposed instead (narrow_net below).
 *
 * With finite checks on (mlp_ctx_set_check_finite) a NaN or Inf in x or
 * in the output is MLP_ERR_NONFINITE naming its row and column (the input
 * is checked too, since a NaN can vanish on the way: ReLU turns it into
 * 0); each thread notes the first bad output of its rows, and the lowest
 * row is reported, as one pass over all rows would.
 *
 * Many threads may call predict on one model at once: the buffers and
 * packing workspaces come from the context's scratch list (parallel.c),
 * one scratch per call in flight, and the layers are only read. After the
 * first call with a given n (or a larger one) nothing is allocated. One
 * row through small layers (ONE_ROW_FLOATS) needs no scratch: its two
 * buffers are on the caller's stack, so it neither allocates nor locks.
 */
#include <math.h>
#include <string.h>

#include "kern/vec.h"
#include "nn/layers.h"
#include "parallel.h"

/* rows of a block: a multiple of the kernel's register tile near this */
#define BLOCK_ROWS 512
/* multiply-adds below which a call stays on the calling thread */
#define SPLIT_MIN ((int64_t)1 << 19)
/* With too few rows to split, multiply-adds of one product from which it
 * is split by columns. Below, a hand-off between cores on two chiplets
 * costs what the second core saves: 784 x 256 at one row (about 200000)
 * stays on the calling thread, 784 x 512 is split (about 2x faster).
 * Between near cores (ctx->near_cores: a shared cache) it pays from a
 * quarter of that: 784 x 256 at one row 1.37x faster split. */
#define COL_SPLIT_MIN ((int64_t)1 << 18)
#define COL_SPLIT_NEAR ((int64_t)1 << 16)

static int64_t col_split_min(const mlp_ctx *ctx)
{
    return ctx->near_cores ? COL_SPLIT_NEAR : COL_SPLIT_MIN;
}
/* Widest layer of a net whose one-row calls run on the caller's stack
 * (two buffers of this many floats: 2 KB) */
#define ONE_ROW_FLOATS 256

typedef struct run_job {
    const mlp_model *m;
    const mlp__scratch *s;
    const float *x;
    float *out;           /* predict: n x out_features, or NULL */
    int32_t *classes;     /* classify: n, or NULL */
    const mlp__shape *sh; /* m's widths and costs */
    int64_t n;
    int64_t block, unit;          /* rows per block (a multiple of unit), tile height */
    size_t per_thread;            /* activation floats a thread owns in s->buf */
    int check_finite, by_columns; /* few rows: products split by columns */
    int narrow;                   /* narrow layers: blocks run transposed */
    /* per thread, the first nt: the first non-finite output of its rows
     * (row -1: none) */
    int nt;
    int64_t bad_row[MLP__MAX_THREADS], bad_col[MLP__MAX_THREADS];
    float bad_val[MLP__MAX_THREADS];
} run_job;

/* ---- products split by columns: few rows through wide layers ---- */

typedef struct col_job {
    const mlp__infer *run;
    int64_t n, N, K, unit;
    const float *x, *W, *Wp, *b;
    float *y;
    int relu;
} col_job;

/* Whether run splits the product of n rows through K x N weights by
 * columns across the context's pool. */
static int by_columns(const mlp__infer *run, int64_t n, int64_t N, int64_t K)
{
    return run->ctx && n * N * K >= col_split_min(run->ctx);
}

static void col_part(void *arg, int64_t lo, int64_t hi, int tid)
{
    const col_job *c = (const col_job *)arg;
    int64_t n0 = lo * c->unit, n1 = hi * c->unit < c->N ? hi * c->unit : c->N;
    const mlp__gemm_kernel *k = c->run->gemm;
    if (c->n > 1 && c->n <= MLP__GEMM_ROWS && k->rows) {
        /* this part's columns as mlp__infer_linear runs all of them on
           one thread (and mlp__sgemm_prepacked one row): the same bits */
        k->rows(c->n, c->K, c->x, c->K, 1, c->W + n0, c->N, c->y + n0, c->N, n1 - n0, 1.0f, 0.0f,
                c->b ? c->b + n0 : NULL, c->relu);
        return;
    }
    /* packed panels of columns n0.. start at n0 * K */
    mlp__sgemm_bias_relu(c->run->gemm, 0, 0, c->K, 1.0f, c->x, c->K, NULL, c->W, c->N,
                         c->Wp ? c->Wp + n0 * c->K : NULL, 0.0f, c->y, c->N, 0, c->n, n0, n1, c->b,
                         c->relu, c->run->works + (size_t)tid * c->run->work_floats);
}

/* y [n,N] = x [n,K] . W [K,N] + b (NULL: none), then ReLU if relu, for a
 * layer pass: each tile adds them as it stores */
static void infer_gemm(const mlp__infer *run, const mlp__layer *L, int64_t n, const float *x,
                       float *y, const float *b, int relu)
{
    const int64_t N = L->out, K = L->in;
    const float *W = L->t[0]->data, *Wp = mlp__infer_packed(run, L);
    col_job c;
    if (!by_columns(run, n, N, K)) {
        mlp__sgemm_bias_relu(run->gemm, 0, 0, K, 1.0f, x, K, NULL, W, N, Wp, 0.0f, y, N, 0, n, 0, N,
                             b, relu, run->work);
        return;
    }
    /* whole register tiles of columns: every element's sum is formed in
       the same order whatever part holds it; one part a thread (see
       parallel.c), so that in a stream of calls each core mostly reads
       the same columns of the weights, which stay in its cache */
    c.run = run;
    c.n = n;
    c.N = N;
    c.K = K;
    c.unit = run->gemm->nr;
    c.x = x;
    c.W = W;
    c.Wp = Wp;
    c.b = b;
    c.relu = relu;
    c.y = y;
    mlp__parallel_for(run->ctx, (N + c.unit - 1) / c.unit, 1, col_part, &c);
}

void mlp__infer_linear(const mlp__infer *run, const mlp__layer *L, int64_t n, const float *x,
                       float *y, int act, float param)
{
    /* the kernels add the bias and ReLU (the passes mlp__bias_act_fwd
       would make) before they store: the row kernel in registers, a
       tile while it is in L1 (784-256-10 at batch 256 1 % faster); an
       activation other than ReLU is a pass afterwards */
    const float *b = L->t[1] ? L->t[1]->data : NULL;
    const int relu = act == MLP_ACT_RELU;
    if (n <= MLP__GEMM_ROWS && run->gemm->row && !by_columns(run, n, L->out, L->in)) {
        /* up to three rows: the row kernel reads W as it is, each vector
           of it once for all the rows (tiles of so few rows would wait on
           the multiply-adds' latency): the few outputs of a small layer
           are not stored and read back at once, which costs more than
           the product. Each row gets the bits it has alone. */
        const float *W = L->t[0]->data;
        if (n == 1)
            run->gemm->row(L->in, x, 1, W, L->out, y, L->out, 1.0f, 0.0f, b, relu);
        else
            run->gemm->rows(n, L->in, x, L->in, 1, W, L->out, y, L->out, L->out, 1.0f, 0.0f, b,
                            relu);
    } else
        infer_gemm(run, L, n, x, y, b, relu);
    if (!mlp__act_bias_relu(act))
        mlp__bias_act_fwd(act, y, NULL, n, L->out, param);
}

/* With finite checks on: MLP_ERR_NONFINITE at the first NaN or Inf of
 * v [n,w], named by row and column. */
static mlp_status finite_rows(mlp_ctx *ctx, const char *fn, const char *what, const float *v,
                              int64_t n, int64_t w)
{
    int64_t i;
    for (i = 0; i < n * w; i++)
        if (!isfinite(v[i]))
            return mlp__fail_shared(ctx, MLP_ERR_NONFINITE,
                                    "%s: %s at row %lld, column %lld is %g (finite checks are on)",
                                    fn, what, (long long)(i / w), (long long)(i % w), (double)v[i]);
    return MLP_OK;
}

/* Note the first non-finite value of rows r0.. of the output, if any and
 * if thread tid has none yet. */
static void note_nonfinite(run_job *j, const float *v, int64_t r0, int64_t n, int tid)
{
    int64_t i;
    if (j->bad_row[tid] >= 0)
        return;
    for (i = 0; i < n * j->sh->out; i++)
        if (!isfinite(v[i])) {
            j->bad_row[tid] = r0 + i / j->sh->out;
            j->bad_col[tid] = i % j->sh->out;
            j->bad_val[tid] = v[i];
            return;
        }
}

/* x [n,width] through the layers' predict functions (transposed: their
 * predict_t, x [width,n]), between buf0 and buf1 (neither aliasing x);
 * returns the result. */
static const float *walk_layers(const mlp__infer *run, const float *x, int64_t n, int64_t width,
                                float *buf0, float *buf1, int transposed)
{
    const mlp_model *m = run->m;
    const float *cur = x;
    float *buf[2];
    int which = 0, used;
    size_t i, k;
    buf[0] = buf0;
    buf[1] = buf1;
    for (i = 0; i < m->nlayers; i += (size_t)used) {
        const mlp__layer *L = &m->layers[i], *next = i + 1 < m->nlayers ? L + 1 : NULL;
        used =
            (transposed ? L->k->predict_t : L->k->predict)(run, L, next, cur, buf[which], n, width);
        if (used == 0) {
            used = 1; /* the identity at inference: cur stays */
            continue;
        }
        for (k = i; k < i + (size_t)used; k++)
            if (m->layers[k].out)
                width = m->layers[k].out;
        cur = buf[which];
        which ^= 1;
    }
    return cur;
}

/* Whether m (its shape sh) is a network of narrow layers: every layer
 * has predict_t and every width is below the kernel's vector (nr / 2
 * floats), as 2-4-1.
 * In the row layout such a layer's product puts one sample's few outputs
 * in a vector of 16 lanes and runs a register tile per 12 samples, most
 * of it overhead; held transposed, a row per feature, the layer is Wᵀ·h
 * with the samples as the long side, 32 to a tile with every lane used
 * (or the row kernel when out is 1). Each kind's predict_t keeps the row
 * layout's sums and element-wise operations in the same order, so the
 * results are the row layout's bits wherever the kernel fuses its
 * multiply-adds explicitly (the vector kernels). */
static int narrow_net(const mlp_model *m, const mlp__shape *sh, const mlp__gemm_kernel *k)
{
    return sh->all_t && m->nlayers > 0 && sh->width < k->nr / 2;
}

/* Rows r0..r1-1 of x through the model into the job's output; a block of
 * two rows or more through narrow layers runs transposed (buf0 holds x
 * transposed, the result is transposed back): even a few samples fill
 * more lanes that way than a row layout's 12-row tiles do. */
static void run_block(run_job *j, float *buf0, float *buf1, const mlp__infer *run, int64_t r0,
                      int64_t r1, int tid)
{
    const float *x = j->x + r0 * j->sh->in, *cur;
    int64_t n = r1 - r0, r, c;
    if (j->narrow && n > 1) {
        float *rows;
        mlp__transpose(buf0, x, n, j->sh->in);
        cur = walk_layers(run, buf0, n, j->sh->in, buf1, buf0, 1);
        rows = cur == buf0 ? buf1 : buf0; /* the buffer the walk ended off */
        mlp__transpose(rows, cur, j->sh->out, n);
        cur = rows;
    } else {
        cur = walk_layers(run, x, n, j->sh->in, buf0, buf1, 0);
    }
    if (j->check_finite)
        note_nonfinite(j, cur, r0, n, tid);
    if (j->out) {
        memmove(j->out + r0 * j->sh->out, cur, (size_t)(n * j->sh->out) * sizeof(float));
        return;
    }
    for (r = 0; r < n; r++) {
        const float *row = cur + r * j->sh->out;
        int32_t best = 0;
        for (c = 1; c < j->sh->out; c++)
            if (row[c] > row[best])
                best = (int32_t)c;
        j->classes[r0 + r] = best;
    }
}

/* Rows lo..hi-1 in blocks of at most j->block rows; a block is never left
 * with a single row unless the range has only one. */
static void run_rows(run_job *j, int64_t lo, int64_t hi, int tid)
{
    float *mine = j->s->buf + (size_t)tid * j->per_thread;
    mlp__infer run;
    int64_t r, cnt;
    run.m = j->m;
    run.gemm = j->m->ctx->gemm;
    run.work = j->s->work + (size_t)tid * j->s->work_floats;
    run.ctx = j->by_columns ? j->m->ctx : NULL;
    run.works = j->s->work;
    run.work_floats = j->s->work_floats;
    for (r = lo; r < hi; r += cnt) {
        cnt = hi - r;
        if (cnt > j->block + j->unit)
            cnt = j->block;
        run_block(j, mine, mine + j->per_thread / 2, &run, r, r + cnt, tid);
    }
}

/* mlp__parallel_for's part: [lo, hi) counts register tiles of rows */
static void run_part(void *arg, int64_t lo, int64_t hi, int tid)
{
    run_job *j = (run_job *)arg;
    int64_t r1 = hi * j->unit;
    run_rows(j, lo * j->unit, r1 < j->n ? r1 : j->n, tid);
}

/* j for n rows of x through m into out or classes. MLP_ERR_NONFINITE for
 * a non-finite x under finite checks. */
static mlp_status job_init(run_job *j, const mlp_model *m, const char *fn, const float *x,
                           int64_t n, float *out, int32_t *classes)
{
    mlp_ctx *ctx = m->ctx;
    int t;
    j->m = m;
    j->sh = &m->shape;
    j->x = x;
    j->out = out;
    j->classes = classes;
    j->n = n;
    j->check_finite = ctx->check_finite;
    j->narrow = narrow_net(m, j->sh, ctx->gemm);
    j->s = NULL;
    j->by_columns = 0;
    /* a part's tid is below ctx->threads; only those entries are set and
       read (not all MLP__MAX_THREADS: a call on one row is a few dozen
       nanoseconds, and the whole table is more than a kilobyte) */
    j->nt = ctx->threads;
    for (t = 0; t < j->nt; t++)
        j->bad_row[t] = -1;
    return j->check_finite ? finite_rows(ctx, fn, "x", x, n, j->sh->in) : MLP_OK;
}

/* j's sizes: the rows of a block and each thread's activation floats.
 * MLP_ERR_OVERFLOW when they cannot fit in memory. */
static mlp_status job_size(run_job *j, const char *fn)
{
    mlp_ctx *ctx = j->m->ctx;
    const int64_t n = j->n, width = j->sh->width;
    int64_t rows;
    size_t floats;
    /* the caller's arrays must fit in memory; larger n cannot be real */
    if (!mlp__mul_size((size_t)n, (size_t)width, &floats)
        || !mlp__mul_size(floats, sizeof(float), &floats))
        return mlp__fail_shared(ctx, MLP_ERR_OVERFLOW,
                                "%s: n = %lld rows of width %lld are too large", fn, (long long)n,
                                (long long)width);
    j->unit = ctx->gemm->mr;
    j->block = BLOCK_ROWS / j->unit * j->unit;
    rows = n < j->block + j->unit ? n : j->block + j->unit;
    if (!mlp__mul_size((size_t)rows, (size_t)width, &floats)
        || !mlp__mul_size(floats, 2, &j->per_thread))
        return mlp__fail_shared(ctx, MLP_ERR_OVERFLOW,
                                "%s: a block of %lld rows of width %lld is too large", fn,
                                (long long)rows, (long long)width);
    return MLP_OK;
}

/* One row through layers no wider than ONE_ROW_FLOATS: on the caller's
 * stack, without a scratch (its lock and its list), on the calling thread
 * as dispatch would run it (such layers are never split by columns), so
 * the same bits. */
static void one_row(run_job *j)
{
    float buf[2 * ONE_ROW_FLOATS];
    mlp__infer r;
    r.m = j->m;
    r.gemm = j->m->ctx->gemm;
    r.work = NULL; /* one row uses the row kernel, which packs nothing */
    r.ctx = NULL;
    r.works = NULL;
    r.work_floats = 0;
    run_block(j, buf, buf + ONE_ROW_FLOATS, &r, 0, 1, 0);
}

/* Runs j's rows: one row of a small net on the stack; else on a scratch,
 * split across the pool by rows when there are at least two tiles of them
 * a thread, through a wide layer by columns when there are fewer, else on
 * the calling thread. */
static mlp_status dispatch(run_job *j, const char *fn)
{
    mlp_ctx *ctx = j->m->ctx;
    const int64_t cost = j->sh->cost, widest = j->sh->widest;
    int64_t min_units;
    const int64_t n = j->n;
    mlp__scratch *s;
    mlp_status st;
    if (n == 1 && j->sh->width <= ONE_ROW_FLOATS && ctx->gemm->row) {
        one_row(j);
        return MLP_OK;
    }
    if ((st = job_size(j, fn)) != MLP_OK)
        return st;
    j->by_columns = ctx->threads > 1 && n < 2 * j->unit * ctx->threads
                    && (double)n * (double)widest >= (double)col_split_min(ctx);
    if ((st = mlp__scratch_take(ctx, fn,
                                j->by_columns || (double)n * (double)cost >= (double)SPLIT_MIN,
                                j->per_thread, &s))
        != MLP_OK)
        return st;
    j->s = s;
    j->by_columns = j->by_columns && s->pool;
    if (s->pool && !j->by_columns) {
        /* one part per thread (each packs the weights once for its rows),
           each at least half the split threshold and two tiles */
        int64_t units = (n + j->unit - 1) / j->unit;
        min_units = SPLIT_MIN / 2 / ((cost ? cost : 1) * j->unit) + 1;
        if (min_units < 2)
            min_units = 2;
        if (min_units < units / ctx->threads)
            min_units = units / ctx->threads;
        mlp__parallel_for(ctx, units, min_units, run_part, j);
    } else {
        run_rows(j, 0, n, 0);
    }
    mlp__scratch_give(ctx, s);
    return MLP_OK;
}

/* n rows of x through m into out (predict) or classes (classify). */
static mlp_status run(const mlp_model *m, const char *fn, const float *x, int64_t n, float *out,
                      int32_t *classes)
{
    mlp_ctx *ctx = m->ctx;
    run_job j; /* set by job_init */
    mlp_status st;
    int t, worst = -1;

    if (m->shape.in == 0)
        return mlp__fail_shared(ctx, MLP_ERR_STATE,
                                "%s: the model's input width is not fixed (no linear, "
                                "standardize or per-feature pReLU layer)",
                                fn);
    if (n < 0)
        return mlp__fail_shared(ctx, MLP_ERR_ARG, "%s: n = %lld is negative", fn, (long long)n);
    if (n == 0)
        return MLP_OK;
    if ((st = job_init(&j, m, fn, x, n, out, classes)) != MLP_OK
        || (st = dispatch(&j, fn)) != MLP_OK)
        return st;
    for (t = 0; t < j.nt; t++)
        if (j.bad_row[t] >= 0 && (worst < 0 || j.bad_row[t] < j.bad_row[worst]))
            worst = t;
    if (worst >= 0)
        return mlp__fail_shared(ctx, MLP_ERR_NONFINITE,
                                "%s: the output at row %lld, column %lld is %g (finite checks are "
                                "on)",
                                fn, (long long)j.bad_row[worst], (long long)j.bad_col[worst],
                                (double)j.bad_val[worst]);
    return MLP_OK;
}

mlp_status mlp_model_predict(mlp_model *m, const float *x, int64_t n, float *out)
{
    if (!m)
        return MLP_ERR_NULL;
    if ((!x || !out) && n > 0)
        return mlp__fail_shared(m->ctx, MLP_ERR_NULL, "%s: %s is NULL", __func__, !x ? "x" : "out");
    return run(m, __func__, x, n, out, NULL);
}

mlp_status mlp_model_classify(mlp_model *m, const float *x, int64_t n, int32_t *classes)
{
    if (!m)
        return MLP_ERR_NULL;
    if ((!x || !classes) && n > 0)
        return mlp__fail_shared(m->ctx, MLP_ERR_NULL, "%s: %s is NULL", __func__,
                                !x ? "x" : "classes");
    return run(m, __func__, x, n, NULL, classes);
}

/* ---- weights packed once: mlp_model_pack ---- */

const float *mlp__infer_packed(const mlp__infer *run, const mlp__layer *L)
{
    const mlp_model *m = run->m;
    const mlp__wpack *p;
    size_t i;
    if (!m || !m->wpack || m->wpack_kernel != run->gemm)
        return NULL;
    i = (size_t)(L - m->layers);
    p = i < m->nwpack ? &m->wpack[i] : NULL;
    return p && p->w && p->from == L->t[0]->data && p->version == mlp__version(L->t[0]) ? p->w
                                                                                        : NULL;
}

void mlp__model_unpack(mlp_model *m)
{
    size_t i;
    for (i = 0; i < m->nwpack; i++)
        mlp__free_aligned(m->ctx, m->wpack[i].w);
    mlp__free(m->ctx, m->wpack);
    m->wpack = NULL;
    m->nwpack = 0;
    m->wpack_kernel = NULL;
}

/* Linear layer L's weights W [in,out] into p, packed as the kernel packs
 * op(B). */
static mlp_status pack_layer(mlp_model *m, const char *fn, const mlp__layer *L, mlp__wpack *p)
{
    const mlp__gemm_kernel *k = m->ctx->gemm;
    const mlp_tensor *W = L->t[0];
    int64_t cols = (L->out + k->nr - 1) / k->nr * k->nr;
    size_t floats, bytes;
    if (!mlp__mul_size((size_t)cols, (size_t)L->in, &floats)
        || !mlp__mul_size(floats, sizeof(float), &bytes))
        return mlp__fail(m->ctx, MLP_ERR_OVERFLOW, "%s: a %lld x %lld weight is too large", fn,
                         (long long)L->in, (long long)L->out);
    if (!(p->w = (float *)mlp__alloc_aligned(m->ctx, fn, bytes)))
        return m->ctx->err.code;
    k->pack_b(0, W->data, L->out, L->in, L->out, p->w);
    p->from = W->data;
    p->version = mlp__version(W);
    return MLP_OK;
}

mlp_status mlp_model_pack(mlp_model *m, int on)
{
    size_t i;
    mlp_status s;
    if (!m)
        return MLP_ERR_NULL;
    mlp__model_unpack(m);
    if (!on || m->nlayers == 0)
        return MLP_OK;
    m->wpack = (mlp__wpack *)mlp__calloc(m->ctx, __func__, m->nlayers, sizeof *m->wpack);
    if (!m->wpack)
        return m->ctx->err.code;
    m->nwpack = m->nlayers;
    m->wpack_kernel = m->ctx->gemm;
    for (i = 0; i < m->nlayers; i++) {
        const mlp__layer *L = &m->layers[i];
        if (L->k->kind == MLP_LAYER_LINEAR && L->in > 0 && L->out > 0
            && (s = pack_layer(m, __func__, L, &m->wpack[i])) != MLP_OK) {
            mlp__model_unpack(m);
            return s;
        }
    }
    return MLP_OK;
}
