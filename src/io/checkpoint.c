/*
 * checkpoint.c - the training checkpoint (docs/format.md): a model file's
 * bytes, as mlp_model_save_mem writes them, followed by the optimizer's
 * kind, settings, step counts and state buffers, the context's random
 * generator and the dataset's order and fit cursor, then a CRC-32.
 * Loading checks every field against the bytes present before it builds
 * anything, and changes the dataset and the context only once everything
 * has been read and made.
 *
 *   "MLPCHKPT" | u32 version (1) | u32 flags (0) | u64 model bytes M
 *   M bytes: a model file
 *   optimizer: u32 kind, u32 params, u64 steps, f64 lr, momentum,
 *              dampening, weight_decay, beta1, beta2, eps,
 *              u32 nesterov, u32 amsgrad,
 *              per parameter: u64 numel (0 before its first step),
 *              u64 steps, u32 state bits, then each buffer present
 *   generator: u32 s[4], u32 have_spare, f32 spare
 *   dataset:   u64 n, xrow, yrow, epoch, next, batch_size, seen, hits,
 *              f64 sum_loss, n × u64 order
 *   u32 CRC-32 of every byte before it
 */
#include <string.h>

#include "data/data.h"
#include "io/file.h"
#include "nn/model.h"
#include "optim/optim.h"

#define MAGIC "MLPCHKPT"
#define FORMAT_VERSION 1u
#define HEAD_BYTES 24u
#define OPT_BYTES (4u + 4u + 8u + 7u * 8u + 4u + 4u)
#define PARAM_BYTES (8u + 8u + 4u)
#define GEN_BYTES (4u * 4u + 4u + 4u)
#define DS_BYTES (9u * 8u)
/* state bits of a parameter */
#define ST_BUF1 1u
#define ST_BUF2 2u
#define ST_BUF3 4u
#define ST_MOM_INIT 8u
#define ST_ALL 15u
/* a checkpoint may not exceed this (also the read cap) */
#define MAX_FILE_BYTES ((size_t)1 << (sizeof(size_t) >= 8 ? 36 : 30))

/* ---- saving ---- */

static unsigned state_bits(const mlp__pstate *s)
{
    return (s->buf1 ? ST_BUF1 : 0u) | (s->buf2 ? ST_BUF2 : 0u) | (s->buf3 ? ST_BUF3 : 0u)
           | (s->mom_init ? ST_MOM_INIT : 0u);
}

static size_t nbufs(unsigned bits)
{
    return (size_t)((bits & ST_BUF1) != 0) + ((bits & ST_BUF2) != 0) + ((bits & ST_BUF3) != 0);
}

static mlp_status check_objects(const char *fn, const mlp_model *m, const mlp_optim *opt,
                                const mlp_dataset *ds)
{
    int i;
    if (!opt || !ds)
        return mlp__fail(m->ctx, MLP_ERR_NULL, "%s: %s is NULL", fn, !opt ? "opt" : "ds");
    if (opt->ctx != m->ctx || ds->ctx != m->ctx)
        return mlp__fail(m->ctx, MLP_ERR_CONTEXT, "%s: %s belongs to another context than m", fn,
                         opt->ctx != m->ctx ? "opt" : "ds");
    if ((size_t)opt->n != m->nparams)
        return mlp__fail(m->ctx, MLP_ERR_ARG,
                         "%s: opt is over %d parameters, m has %zu: opt must be over m's "
                         "parameters, in order",
                         fn, opt->n, m->nparams);
    for (i = 0; i < opt->n; i++)
        if (opt->params[i] != m->params[i])
            return mlp__fail(m->ctx, MLP_ERR_ARG,
                             "%s: opt's parameter %d is not m's parameter %d: opt must be over "
                             "m's parameters, in order",
                             fn, i, i);
    return MLP_OK;
}

/* Bytes after the model file, or 0 when they do not fit in memory. */
static size_t state_size(const mlp_optim *opt, const mlp_dataset *ds)
{
    size_t size = OPT_BYTES + GEN_BYTES + DS_BYTES + 4, k;
    int i;
    for (i = 0; i < opt->n; i++) {
        k = nbufs(state_bits(&opt->st[i]));
        /* a buffer is as large as its parameter, which is in memory */
        size += PARAM_BYTES + k * (size_t)opt->params[i]->numel * 4;
        if (size > MLP__MAX_BYTES)
            return 0;
    }
    if ((size_t)ds->n > (MLP__MAX_BYTES - size) / 8)
        return 0;
    return size + (size_t)ds->n * 8;
}

static unsigned char *put_floats(unsigned char *p, const float *v, int64_t n)
{
    int64_t k;
    for (k = 0; k < n; k++, p += 4)
        mlp__put_f32(p, v[k]);
    return p;
}

static unsigned char *put_optim(unsigned char *p, const mlp_optim *o)
{
    const double set[7] = {o->lr,    o->momentum, o->dampening, o->weight_decay,
                           o->beta1, o->beta2,    o->eps};
    int i, k;
    mlp__put_u32(p, (uint32_t)o->kind);
    mlp__put_u32(p + 4, (uint32_t)o->n);
    mlp__put_u64(p + 8, (uint64_t)o->steps);
    for (k = 0; k < 7; k++)
        mlp__put_f64(p + 16 + 8 * k, set[k]);
    mlp__put_u32(p + 72, (uint32_t)o->nesterov);
    mlp__put_u32(p + 76, (uint32_t)o->amsgrad);
    p += OPT_BYTES;
    for (i = 0; i < o->n; i++) {
        const mlp__pstate *s = &o->st[i];
        int64_t numel = o->params[i]->numel;
        mlp__put_u64(p, (uint64_t)s->numel);
        mlp__put_u64(p + 8, (uint64_t)s->step);
        mlp__put_u32(p + 16, state_bits(s));
        p += PARAM_BYTES;
        if (s->buf1)
            p = put_floats(p, s->buf1, numel);
        if (s->buf2)
            p = put_floats(p, s->buf2, numel);
        if (s->buf3)
            p = put_floats(p, s->buf3, numel);
    }
    return p;
}

static unsigned char *put_gen_and_data(unsigned char *p, const mlp__rng *r, const mlp_dataset *ds)
{
    const mlp__cursor *c = &ds->cur;
    const uint64_t head[8] = {(uint64_t)ds->n,    (uint64_t)ds->xrow, (uint64_t)ds->yrow,
                              (uint64_t)c->epoch, (uint64_t)c->next,  (uint64_t)c->batch_size,
                              (uint64_t)c->seen,  (uint64_t)c->hits};
    int k;
    int64_t i;
    for (k = 0; k < 4; k++)
        mlp__put_u32(p + 4 * k, r->s[k]);
    mlp__put_u32(p + 16, r->have_spare ? 1u : 0u);
    mlp__put_f32(p + 20, r->spare);
    p += GEN_BYTES;
    for (k = 0; k < 8; k++)
        mlp__put_u64(p + 8 * k, head[k]);
    mlp__put_f64(p + 64, c->sum_loss);
    p += DS_BYTES;
    for (i = 0; i < ds->n; i++, p += 8)
        mlp__put_u64(p, (uint64_t)ds->order[i]);
    return p;
}

static mlp_status save_mem(const char *fn, const mlp_model *m, const mlp_optim *opt,
                           const mlp_dataset *ds, unsigned char **out, size_t *out_size)
{
    void *model;
    size_t msize, rest, size;
    unsigned char *buf, *p;
    mlp_status s;
    *out = NULL;
    *out_size = 0;
    if ((s = check_objects(fn, m, opt, ds)) != MLP_OK)
        return s;
    if ((s = mlp_model_save_mem(m, &model, &msize)) != MLP_OK)
        return s;
    rest = state_size(opt, ds);
    if (rest == 0 || msize > MLP__MAX_BYTES - HEAD_BYTES - rest) {
        mlp__free(m->ctx, model);
        return mlp__fail(m->ctx, MLP_ERR_OVERFLOW, "%s: the checkpoint is too large", fn);
    }
    size = HEAD_BYTES + msize + rest;
    buf = (unsigned char *)mlp__alloc(m->ctx, fn, size);
    if (!buf) {
        mlp__free(m->ctx, model);
        return mlp__fail(m->ctx, MLP_ERR_NOMEM, "%s: out of memory for a %zu-byte checkpoint", fn,
                         size);
    }
    memcpy(buf, MAGIC, 8);
    mlp__put_u32(buf + 8, FORMAT_VERSION);
    mlp__put_u32(buf + 12, 0u);
    mlp__put_u64(buf + 16, (uint64_t)msize);
    memcpy(buf + HEAD_BYTES, model, msize);
    mlp__free(m->ctx, model);
    p = put_optim(buf + HEAD_BYTES + msize, opt);
    p = put_gen_and_data(p, &m->ctx->rng, ds);
    mlp__put_u32(p, mlp__crc32(0, buf, (size_t)(p - buf)));
    *out = buf;
    *out_size = size;
    return MLP_OK;
}

mlp_status mlp_checkpoint_save_mem(const mlp_model *m, const mlp_optim *opt, const mlp_dataset *ds,
                                   void **out_buf, size_t *out_size)
{
    const char *fn = __func__;
    unsigned char *buf;
    mlp_status s;
    if (!m)
        return MLP_ERR_NULL;
    if (!out_buf || !out_size)
        return mlp__fail(m->ctx, MLP_ERR_NULL, "%s: %s is NULL", fn,
                         !out_buf ? "out_buf" : "out_size");
    s = save_mem(fn, m, opt, ds, &buf, out_size);
    *out_buf = buf;
    return s;
}

mlp_status mlp_checkpoint_save(const mlp_model *m, const mlp_optim *opt, const mlp_dataset *ds,
                               const char *path)
{
    const char *fn = __func__;
    unsigned char *buf;
    size_t size;
    mlp_status s;
    if (!m)
        return MLP_ERR_NULL;
    if (!path)
        return mlp__fail(m->ctx, MLP_ERR_NULL, "%s: path is NULL", fn);
    if ((s = save_mem(fn, m, opt, ds, &buf, &size)) != MLP_OK)
        return s;
    s = mlp__write_file_atomic(m->ctx, fn, path, buf, size);
    mlp__free(m->ctx, buf);
    return s;
}

/* ---- loading ---- */

/* What validate() read, for building. Offsets are into the file. */
typedef struct parsed {
    size_t model_off, model_size;
    uint32_t kind, nparams;
    uint64_t steps;
    double set[7];
    uint32_t nesterov, amsgrad;
    size_t params_off; /* first parameter record */
    uint32_t gen[4], have_spare;
    float spare;
    uint64_t ds[8]; /* n, xrow, yrow, epoch, next, batch_size, seen, hits */
    double sum_loss;
    size_t order_off;
} parsed;

static mlp_status bad(mlp_ctx *ctx, const char *fn, const char *what)
{
    return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: %s", fn, what);
}

static mlp_status check_header(mlp_ctx *ctx, const char *fn, const unsigned char *b, size_t size,
                               parsed *ps)
{
    uint32_t version, crc;
    uint64_t msize;
    if (size < 8 || memcmp(b, MAGIC, 8) != 0)
        return bad(ctx, fn, "not a libmlp checkpoint (bad magic)");
    if (size < 12)
        return bad(ctx, fn, "file truncated in the header");
    version = mlp__get_u32(b + 8);
    if (version != FORMAT_VERSION)
        return mlp__fail(ctx, MLP_ERR_VERSION,
                         "%s: checkpoint format version %lu is not supported (this library "
                         "reads %u)",
                         fn, (unsigned long)version, FORMAT_VERSION);
    if (size < HEAD_BYTES + 4)
        return bad(ctx, fn, "file truncated in the header");
    crc = mlp__crc32(0, b, size - 4);
    if (crc != mlp__get_u32(b + size - 4))
        return mlp__fail(ctx, MLP_ERR_FORMAT,
                         "%s: checksum mismatch (stored %08lx, computed %08lx): the file is "
                         "truncated or corrupt",
                         fn, (unsigned long)mlp__get_u32(b + size - 4), (unsigned long)crc);
    if (mlp__get_u32(b + 12) != 0)
        return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: unknown flags %08lx set", fn,
                         (unsigned long)mlp__get_u32(b + 12));
    msize = mlp__get_u64(b + 16);
    if (msize > (uint64_t)(size - 4 - HEAD_BYTES))
        return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: model section of %llu bytes is cut off", fn,
                         (unsigned long long)msize);
    ps->model_off = HEAD_BYTES;
    ps->model_size = (size_t)msize;
    return MLP_OK;
}

/* The optimizer section from `off` (body: bytes before the CRC); moves off
 * past it. Parameter counts and sizes are checked against the model. */
static mlp_status check_optim(mlp_ctx *ctx, const char *fn, const unsigned char *b, size_t body,
                              size_t *off, const mlp_model *m, parsed *ps)
{
    uint32_t i;
    int k;
    const unsigned char *p = b + *off;
    if (body - *off < OPT_BYTES)
        return bad(ctx, fn, "optimizer section is cut off");
    ps->kind = mlp__get_u32(p);
    ps->nparams = mlp__get_u32(p + 4);
    ps->steps = mlp__get_u64(p + 8);
    for (k = 0; k < 7; k++)
        ps->set[k] = mlp__get_f64(p + 16 + 8 * k);
    ps->nesterov = mlp__get_u32(p + 72);
    ps->amsgrad = mlp__get_u32(p + 76);
    if (ps->kind > MLP_OPTIM_ADAMW)
        return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: unknown optimizer kind %lu", fn,
                         (unsigned long)ps->kind);
    if (ps->nparams != m->nparams)
        return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: the optimizer has %lu parameters, the model %zu",
                         fn, (unsigned long)ps->nparams, m->nparams);
    if (ps->steps > (uint64_t)INT64_MAX || ps->nesterov > 1 || ps->amsgrad > 1)
        return bad(ctx, fn, "optimizer step count or switches out of range");
    *off += OPT_BYTES;
    ps->params_off = *off;
    for (i = 0; i < ps->nparams; i++) {
        uint64_t numel, pn = (uint64_t)m->params[i]->numel;
        uint32_t bits;
        if (body - *off < PARAM_BYTES)
            return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: optimizer state %lu is cut off", fn,
                             (unsigned long)i);
        numel = mlp__get_u64(b + *off);
        bits = mlp__get_u32(b + *off + 16);
        if ((numel != 0 && numel != pn) || mlp__get_u64(b + *off + 8) > (uint64_t)INT64_MAX
            || (bits & ~ST_ALL) || (bits && numel == 0)
            || (ps->kind == MLP_OPTIM_SGD && (bits & (ST_BUF2 | ST_BUF3)))
            || (ps->kind != MLP_OPTIM_SGD && (bits & ST_MOM_INIT)))
            return mlp__fail(ctx, MLP_ERR_FORMAT,
                             "%s: optimizer state %lu does not fit parameter %lu of %llu elements",
                             fn, (unsigned long)i, (unsigned long)i, (unsigned long long)pn);
        *off += PARAM_BYTES;
        /* pn elements are in memory already: pn * 4 * 3 cannot overflow */
        if (nbufs(bits) && (uint64_t)(body - *off) / 4 / nbufs(bits) < pn)
            return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: optimizer state %lu is cut off", fn,
                             (unsigned long)i);
        *off += nbufs(bits) * (size_t)pn * 4;
    }
    return MLP_OK;
}

/* The generator and dataset sections from `off` to the end of the body. */
static mlp_status check_rest(mlp_ctx *ctx, const char *fn, const unsigned char *b, size_t body,
                             size_t off, parsed *ps)
{
    const uint64_t *d = ps->ds;
    int k;
    if (body - off < GEN_BYTES + DS_BYTES)
        return bad(ctx, fn, "generator or dataset section is cut off");
    for (k = 0; k < 4; k++)
        ps->gen[k] = mlp__get_u32(b + off + 4 * k);
    ps->have_spare = mlp__get_u32(b + off + 16);
    ps->spare = mlp__get_f32(b + off + 20);
    if (!(ps->gen[0] | ps->gen[1] | ps->gen[2] | ps->gen[3]) || ps->have_spare > 1)
        return bad(ctx, fn, "the generator's state is invalid");
    off += GEN_BYTES;
    for (k = 0; k < 8; k++)
        ps->ds[k] = mlp__get_u64(b + off + 8 * k);
    ps->sum_loss = mlp__get_f64(b + off + 64);
    off += DS_BYTES;
    if ((body - off) % 8 != 0 || (body - off) / 8 != d[0])
        return mlp__fail(ctx, MLP_ERR_FORMAT,
                         "%s: the dataset's order has %zu bytes for %llu samples", fn, body - off,
                         (unsigned long long)d[0]);
    /* batches 0..next-1 done: seen is exactly their rows (none between
     * epochs), hits at most that; next * batch_size <= n + batch_size
     * cannot overflow once next is within the epoch */
    if (d[1] > (uint64_t)INT64_MAX || d[2] > (uint64_t)INT64_MAX || d[3] > (uint64_t)INT64_MAX
        || d[5] > (uint64_t)INT64_MAX || d[7] > d[6]
        || (d[4] == 0 && (d[6] != 0 || ps->sum_loss != 0.0))
        || (d[4] > 0
            && (d[5] < 1 || d[4] > (d[0] + d[5] - 1) / d[5]
                || d[6] != (d[4] * d[5] > d[0] ? d[0] : d[4] * d[5]))))
        return bad(ctx, fn, "the dataset's cursor is out of range");
    ps->order_off = off;
    return MLP_OK;
}

/* ds, when given, must hold as many samples of the same sizes. */
static mlp_status check_dataset(mlp_ctx *ctx, const char *fn, const parsed *ps,
                                const mlp_dataset *ds)
{
    if (ds
        && (ps->ds[0] != (uint64_t)ds->n || ps->ds[1] != (uint64_t)ds->xrow
            || ps->ds[2] != (uint64_t)ds->yrow))
        return mlp__fail(ctx, MLP_ERR_SHAPE,
                         "%s: the checkpoint was made on %llu samples of %llu and %llu floats, "
                         "ds has %lld samples of %lld and %lld",
                         fn, (unsigned long long)ps->ds[0], (unsigned long long)ps->ds[1],
                         (unsigned long long)ps->ds[2], (long long)ds->n, (long long)ds->xrow,
                         (long long)ds->yrow);
    return MLP_OK;
}

/* The order must be a permutation of 0..n-1 (uses n bytes of scratch). */
static mlp_status check_order(mlp_ctx *ctx, const char *fn, const unsigned char *b, parsed *ps)
{
    size_t n = (size_t)ps->ds[0], i;
    unsigned char *seen = (unsigned char *)mlp__calloc(ctx, fn, n ? n : 1, 1);
    if (!seen)
        return MLP_ERR_NOMEM;
    for (i = 0; i < n; i++) {
        uint64_t v = mlp__get_u64(b + ps->order_off + 8 * i);
        if (v >= (uint64_t)n || seen[v]) {
            mlp__free(ctx, seen);
            return mlp__fail(ctx, MLP_ERR_FORMAT,
                             "%s: the dataset's order is not a permutation (entry %zu is %llu)", fn,
                             i, (unsigned long long)v);
        }
        seen[v] = 1;
    }
    mlp__free(ctx, seen);
    return MLP_OK;
}

/* A failure of a call made for the load, named after fn (the code kept,
 * MLP_ERR_ARG from a setting turned into MLP_ERR_FORMAT). */
static mlp_status rename_failure(mlp_ctx *ctx, const char *fn, const char *part)
{
    char prev[MLP__ERRMSG_CAP];
    mlp_status code = ctx->err.code == MLP_ERR_ARG ? MLP_ERR_FORMAT : ctx->err.code;
    memcpy(prev, ctx->err.msg, sizeof prev);
    return mlp__fail(ctx, code != MLP_OK ? code : MLP_ERR_FORMAT, "%s: %s: %.400s", fn, part, prev);
}

static float *get_floats(mlp_ctx *ctx, const char *fn, const unsigned char *p, int64_t n)
{
    float *v = (float *)mlp__alloc_aligned(ctx, fn, (size_t)(n > 0 ? n : 1) * sizeof(float));
    int64_t k;
    if (v)
        for (k = 0; k < n; k++)
            v[k] = mlp__get_f32(p + 4 * k);
    return v;
}

/* A new optimizer over m's parameters with the saved settings and state. */
static mlp_optim *build_optim(mlp_ctx *ctx, const char *fn, const unsigned char *b,
                              const parsed *ps, mlp_model *m)
{
    static const mlp_optim_opt sgd[4] = {MLP_OPT_WEIGHT_DECAY, MLP_OPT_MOMENTUM, MLP_OPT_DAMPENING,
                                         MLP_OPT_NESTEROV};
    static const mlp_optim_opt adam[5] = {MLP_OPT_WEIGHT_DECAY, MLP_OPT_BETA1, MLP_OPT_BETA2,
                                          MLP_OPT_EPS, MLP_OPT_AMSGRAD};
    /* each setting's value: set[] holds lr, momentum, dampening, wd, beta1, beta2, eps */
    const double sgd_v[4] = {ps->set[3], ps->set[1], ps->set[2], (double)ps->nesterov};
    const double adam_v[5] = {ps->set[3], ps->set[4], ps->set[5], ps->set[6], (double)ps->amsgrad};
    mlp_optim *o = mlp_optim_new(ctx, (mlp_optim_kind)ps->kind, m->params, (int)m->nparams, 0.0f);
    size_t off = ps->params_off;
    int i, nset = ps->kind == MLP_OPTIM_SGD ? 4 : 5;
    if (!o || mlp_optim_set(o, MLP_OPT_LR, ps->set[0]) != MLP_OK)
        goto fail;
    for (i = 0; i < nset; i++) /* the setters check every value */
        if (mlp_optim_set(o, ps->kind == MLP_OPTIM_SGD ? sgd[i] : adam[i],
                          ps->kind == MLP_OPTIM_SGD ? sgd_v[i] : adam_v[i])
            != MLP_OK)
            goto fail;
    /* the settings the kind does not have are kept as saved, unused */
    o->momentum = ps->set[1];
    o->dampening = ps->set[2];
    o->beta1 = ps->set[4];
    o->beta2 = ps->set[5];
    o->eps = ps->set[6];
    o->steps = (int64_t)ps->steps;
    for (i = 0; i < o->n; i++) {
        mlp__pstate *s = &o->st[i];
        int64_t pn = m->params[i]->numel;
        uint32_t bits = mlp__get_u32(b + off + 16);
        float **bufs[3];
        int k;
        bufs[0] = &s->buf1;
        bufs[1] = &s->buf2;
        bufs[2] = &s->buf3;
        s->numel = (int64_t)mlp__get_u64(b + off);
        s->step = (int64_t)mlp__get_u64(b + off + 8);
        s->mom_init = (bits & ST_MOM_INIT) != 0;
        off += PARAM_BYTES;
        for (k = 0; k < 3; k++) {
            if (!(bits & (1u << k)))
                continue;
            if (!(*bufs[k] = get_floats(ctx, fn, b + off, pn))) {
                mlp_optim_free(o);
                mlp__fail(ctx, MLP_ERR_NOMEM, "%s: out of memory for optimizer state %d", fn, i);
                return NULL;
            }
            off += (size_t)pn * 4;
        }
    }
    return o;
fail:
    if (o)
        rename_failure(ctx, fn, "optimizer");
    mlp_optim_free(o);
    return NULL;
}

static void restore(mlp_ctx *ctx, const unsigned char *b, const parsed *ps, mlp_dataset *ds)
{
    int k;
    int64_t i;
    for (k = 0; k < 4; k++)
        ctx->rng.s[k] = ps->gen[k];
    ctx->rng.have_spare = (int)ps->have_spare;
    ctx->rng.spare = ps->spare;
    if (!ds)
        return;
    for (i = 0; i < ds->n; i++)
        ds->order[i] = (int64_t)mlp__get_u64(b + ps->order_off + 8 * (size_t)i);
    ds->cur.epoch = (int64_t)ps->ds[3];
    ds->cur.next = (int64_t)ps->ds[4];
    ds->cur.batch_size = (int64_t)ps->ds[5];
    ds->cur.seen = (int64_t)ps->ds[6];
    ds->cur.hits = (int64_t)ps->ds[7];
    ds->cur.sum_loss = ps->sum_loss;
}

/* What the loaders pass through mlp__load_mem / mlp__load_path. */
typedef struct load_into {
    mlp_dataset *ds;
    mlp_optim **out_opt;
} load_into;

/* The parser: the new model, or NULL with the failure recorded. */
static void *parse(mlp_ctx *ctx, const char *fn, const unsigned char *b, size_t size,
                   const void *arg)
{
    const load_into *into = (const load_into *)arg;
    parsed ps;
    mlp_model *m;
    mlp_optim *o = NULL;
    size_t off;
    memset(&ps, 0, sizeof ps);
    if (check_header(ctx, fn, b, size, &ps) != MLP_OK)
        return NULL;
    if (!(m = mlp_model_load_mem(ctx, b + ps.model_off, ps.model_size))) {
        rename_failure(ctx, fn, "model");
        return NULL;
    }
    off = ps.model_off + ps.model_size;
    if (check_optim(ctx, fn, b, size - 4, &off, m, &ps) != MLP_OK
        || check_rest(ctx, fn, b, size - 4, off, &ps) != MLP_OK
        || check_dataset(ctx, fn, &ps, into->ds) != MLP_OK || check_order(ctx, fn, b, &ps) != MLP_OK
        || !(o = build_optim(ctx, fn, b, &ps, m))) {
        mlp_model_free(m);
        return NULL;
    }
    /* everything is read and made: only now change ds and ctx */
    if (into->ds || into->out_opt)
        restore(ctx, b, &ps, into->ds);
    if (into->out_opt)
        *into->out_opt = o;
    else
        mlp_optim_free(o);
    return m;
}

/* Checks shared by both loaders; clears the outputs. */
static mlp_status load_args(mlp_ctx *ctx, const char *fn, load_into *into, mlp_dataset *ds,
                            mlp_model **out_model, mlp_optim **out_opt)
{
    into->ds = ds;
    into->out_opt = out_opt;
    if (out_opt)
        *out_opt = NULL;
    if (!out_model)
        return mlp__fail(ctx, MLP_ERR_NULL, "%s: out_model is NULL", fn);
    *out_model = NULL;
    if (ds && ds->ctx != ctx)
        return mlp__fail(ctx, MLP_ERR_CONTEXT, "%s: ds belongs to another context", fn);
    return MLP_OK;
}

static mlp_status loaded(mlp_ctx *ctx, mlp_model *m, mlp_model **out_model)
{
    *out_model = m;
    if (m)
        return MLP_OK;
    return ctx->err.code != MLP_OK ? ctx->err.code : MLP_ERR_FORMAT;
}

mlp_status mlp_checkpoint_load_mem(mlp_ctx *ctx, const void *buf, size_t size, mlp_dataset *ds,
                                   mlp_model **out_model, mlp_optim **out_opt)
{
    load_into into;
    mlp_status s;
    if (!ctx)
        return MLP_ERR_NULL;
    if ((s = load_args(ctx, __func__, &into, ds, out_model, out_opt)) != MLP_OK)
        return s;
    return loaded(ctx, (mlp_model *)mlp__load_mem(ctx, __func__, buf, size, parse, &into),
                  out_model);
}

mlp_status mlp_checkpoint_load(mlp_ctx *ctx, const char *path, mlp_dataset *ds,
                               mlp_model **out_model, mlp_optim **out_opt)
{
    load_into into;
    mlp_status s;
    if (!ctx)
        return MLP_ERR_NULL;
    if ((s = load_args(ctx, __func__, &into, ds, out_model, out_opt)) != MLP_OK)
        return s;
    return loaded(ctx,
                  (mlp_model *)mlp__load_path(ctx, __func__, path, MAX_FILE_BYTES, parse, &into),
                  out_model);
}
