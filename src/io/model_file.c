/*
 * model_file.c - the libmlp model file (docs/format.md): save to memory or
 * to a file atomically, and load with every field checked against sanity
 * limits and the bytes actually present before anything is allocated.
 *
 *   "MLPMODEL" | u32 version (1) | u32 flags | u32 layer count
 *   per layer: u32 kind, then linear: u64 in, u64 out, u32 has_bias
 *                              act:    u32 act, f32 param
 *                              dropout: f32 p
 *   parameters: f32 in layer order (W [in,out] row-major, b [out], alpha [1])
 *   u32 CRC-32 of every byte before it
 * All integers and floats little-endian.
 */
#include <math.h>
#include <string.h>

#include "io/file.h"
#include "nn/model.h"

#define MAGIC "MLPMODEL"
#define FORMAT_VERSION 1u
#define FLAG_TRAINING 1u
#define HEADER_BYTES 20u
/* a model file may not exceed this (also the read cap) */
#define MAX_FILE_BYTES ((size_t)1 << (sizeof(size_t) >= 8 ? 34 : 30))

static size_t layer_bytes(int kind)
{
    return kind == MLP_LAYER_LINEAR ? 4 + 8 + 8 + 4 : kind == MLP_LAYER_ACT ? 4 + 4 + 4 : 4 + 4;
}

static size_t layer_params(const mlp__layer *L)
{
    if (L->kind == MLP_LAYER_LINEAR)
        return (size_t)(L->in * L->out + (L->b ? L->out : 0));
    return L->w ? (size_t)L->w->numel : 0;
}

mlp_status mlp_model_save_mem(const mlp_model *m, void **out_buf, size_t *out_size)
{
    size_t size = HEADER_BYTES + 4, i, np = 0, k;
    unsigned char *buf, *p;
    if (!m)
        return MLP_ERR_NULL;
    if (!out_buf || !out_size)
        return mlp__fail(m->ctx, MLP_ERR_NULL, "%s: %s is NULL", __func__,
                         !out_buf ? "out_buf" : "out_size");
    *out_buf = NULL;
    *out_size = 0;
    for (i = 0; i < m->nlayers; i++) {
        size += layer_bytes(m->layers[i].kind);
        np += layer_params(&m->layers[i]);
    }
    if (np > (MLP__MAX_BYTES - size) / 4)
        return mlp__fail(m->ctx, MLP_ERR_OVERFLOW, "%s: the model is too large to serialise",
                         __func__);
    size += np * 4;
    buf = (unsigned char *)mlp__alloc(m->ctx, size);
    if (!buf)
        return m->ctx->err.code;
    p = buf;
    memcpy(p, MAGIC, 8);
    mlp__put_u32(p + 8, FORMAT_VERSION);
    mlp__put_u32(p + 12, m->training ? FLAG_TRAINING : 0u);
    mlp__put_u32(p + 16, (uint32_t)m->nlayers);
    p += HEADER_BYTES;
    for (i = 0; i < m->nlayers; i++) {
        const mlp__layer *L = &m->layers[i];
        mlp__put_u32(p, (uint32_t)L->kind);
        if (L->kind == MLP_LAYER_LINEAR) {
            mlp__put_u64(p + 4, (uint64_t)L->in);
            mlp__put_u64(p + 12, (uint64_t)L->out);
            mlp__put_u32(p + 20, L->b ? 1u : 0u);
        } else if (L->kind == MLP_LAYER_ACT) {
            mlp__put_u32(p + 4, (uint32_t)L->act);
            mlp__put_f32(p + 8, L->param);
        } else {
            mlp__put_f32(p + 4, L->p);
        }
        p += layer_bytes(L->kind);
    }
    for (i = 0; i < m->nlayers; i++) {
        const mlp__layer *L = &m->layers[i];
        const mlp_tensor *ts[2];
        int t;
        ts[0] = L->w;
        ts[1] = L->b;
        for (t = 0; t < 2; t++) {
            if (!ts[t])
                continue;
            for (k = 0; k < (size_t)ts[t]->numel; k++, p += 4)
                mlp__put_f32(p, ts[t]->data[k]);
        }
    }
    mlp__put_u32(p, mlp__crc32(0, buf, (size_t)(p - buf)));
    *out_buf = buf;
    *out_size = size;
    return MLP_OK;
}

void mlp_buffer_free(mlp_ctx *ctx, void *buf)
{
    if (ctx && buf)
        mlp__free(ctx, buf);
}

mlp_status mlp_model_save(const mlp_model *m, const char *path)
{
    void *buf;
    size_t size;
    mlp_status s;
    if (!m)
        return MLP_ERR_NULL;
    if (!path)
        return mlp__fail(m->ctx, MLP_ERR_NULL, "%s: path is NULL", __func__);
    s = mlp_model_save_mem(m, &buf, &size);
    if (s != MLP_OK)
        return s;
    s = mlp__write_file_atomic(m->ctx, __func__, path, buf, size);
    mlp__free(m->ctx, buf);
    return s;
}

/* ---- loading ---- */

static mlp_status bad(mlp_ctx *ctx, const char *fn, const char *what, unsigned long long a)
{
    return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: %s (%llu)", fn, what, a);
}

/* Check the whole file without allocating anything. On success *nlayers
 * is the layer count and *pstart the offset of the parameters. */
static mlp_status validate(mlp_ctx *ctx, const char *fn, const unsigned char *b, size_t size,
                           uint32_t *nlayers, size_t *pstart)
{
    uint32_t version, flags, n, i, crc;
    size_t off = HEADER_BYTES, np = 0, body;
    int64_t prev_out = 0;

    if (size < 8 || memcmp(b, MAGIC, 8) != 0)
        return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: not a libmlp model file (bad magic)", fn);
    if (size < 12)
        return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: file truncated in the header (%zu bytes)", fn,
                         size);
    version = mlp__get_u32(b + 8);
    if (version != FORMAT_VERSION)
        return mlp__fail(ctx, MLP_ERR_VERSION,
                         "%s: file format version %lu is not supported (this library reads %u)", fn,
                         (unsigned long)version, FORMAT_VERSION);
    if (size < HEADER_BYTES + 4)
        return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: file truncated in the header (%zu bytes)", fn,
                         size);
    body = size - 4;
    crc = mlp__crc32(0, b, body);
    if (crc != mlp__get_u32(b + body))
        return mlp__fail(ctx, MLP_ERR_FORMAT,
                         "%s: checksum mismatch (stored %08lx, computed %08lx): the file is "
                         "truncated or corrupt",
                         fn, (unsigned long)mlp__get_u32(b + body), (unsigned long)crc);
    flags = mlp__get_u32(b + 12);
    if (flags & ~FLAG_TRAINING)
        return bad(ctx, fn, "unknown flags set", flags);
    n = mlp__get_u32(b + 16);
    if (n > MLP__MAX_LAYERS)
        return bad(ctx, fn, "layer count above the limit", n);
    for (i = 0; i < n; i++) {
        uint32_t kind;
        if (body - off < 4)
            return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: layer %lu is cut off", fn, (unsigned long)i);
        kind = mlp__get_u32(b + off);
        if (kind > MLP_LAYER_DROPOUT)
            return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: layer %lu has unknown kind %lu", fn,
                             (unsigned long)i, (unsigned long)kind);
        if (body - off < layer_bytes((int)kind))
            return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: layer %lu is cut off", fn, (unsigned long)i);
        if (kind == MLP_LAYER_LINEAR) {
            uint64_t in = mlp__get_u64(b + off + 4), out = mlp__get_u64(b + off + 12);
            uint32_t hb = mlp__get_u32(b + off + 20);
            size_t cnt;
            if (in < 1 || out < 1 || in > (uint64_t)MLP__MAX_FEATURES
                || out > (uint64_t)MLP__MAX_FEATURES)
                return mlp__fail(ctx, MLP_ERR_FORMAT,
                                 "%s: layer %lu: linear sizes %llu x %llu out of range", fn,
                                 (unsigned long)i, (unsigned long long)in, (unsigned long long)out);
            if (hb > 1)
                return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: layer %lu: has_bias = %lu", fn,
                                 (unsigned long)i, (unsigned long)hb);
            if (prev_out && (uint64_t)prev_out != in)
                return mlp__fail(
                    ctx, MLP_ERR_FORMAT,
                    "%s: layer %lu takes %llu features but the previous linear layer gives %lld",
                    fn, (unsigned long)i, (unsigned long long)in, (long long)prev_out);
            prev_out = (int64_t)out;
            /* in, out < 2^31: the product fits; compare against the bytes left */
            if (in > (uint64_t)(MAX_FILE_BYTES / 4) / out)
                return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: layer %lu is too large", fn,
                                 (unsigned long)i);
            cnt = (size_t)(in * out + (hb ? out : 0));
            if (cnt > (MAX_FILE_BYTES / 4) - np)
                return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: parameters are too large", fn);
            np += cnt;
        } else if (kind == MLP_LAYER_ACT) {
            uint32_t act = mlp__get_u32(b + off + 4);
            float param = mlp__get_f32(b + off + 8);
            if (act > MLP_ACT_PRELU)
                return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: layer %lu has unknown activation %lu",
                                 fn, (unsigned long)i, (unsigned long)act);
            if (!isfinite(param) || (act != MLP_ACT_LEAKY_RELU && param != 0.0f))
                return mlp__fail(ctx, MLP_ERR_FORMAT,
                                 "%s: layer %lu has a bad activation parameter", fn,
                                 (unsigned long)i);
            if (act == MLP_ACT_PRELU)
                np += 1;
        } else {
            float p = mlp__get_f32(b + off + 4);
            if (!(p >= 0.0f && p < 1.0f))
                return mlp__fail(ctx, MLP_ERR_FORMAT,
                                 "%s: layer %lu has dropout p = %g outside [0,1)", fn,
                                 (unsigned long)i, (double)p);
        }
        off += layer_bytes((int)kind);
    }
    if ((body - off) / 4 < np || (body - off) % 4 != 0)
        return mlp__fail(ctx, MLP_ERR_FORMAT,
                         "%s: parameter data has %zu bytes, the layers need %zu", fn, body - off,
                         np * 4);
    if (body - off != np * 4)
        return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: %zu trailing bytes after the parameters", fn,
                         body - off - np * 4);
    *nlayers = n;
    *pstart = off;
    return MLP_OK;
}

static void *parse(mlp_ctx *ctx, const char *fn, const unsigned char *b, size_t size,
                   const void *opt)
{
    uint32_t n = 0, i;
    size_t off = HEADER_BYTES, poff = 0;
    mlp_model *m;
    mlp_status s = MLP_OK;
    (void)opt;
    if (validate(ctx, fn, b, size, &n, &poff) != MLP_OK)
        return NULL;
    m = mlp_model_new(ctx);
    if (!m)
        return NULL;
    m->training = (mlp__get_u32(b + 12) & FLAG_TRAINING) != 0;
    for (i = 0; i < n && s == MLP_OK; i++) {
        int kind = (int)mlp__get_u32(b + off);
        if (kind == MLP_LAYER_LINEAR)
            s = mlp__model_add_linear(m, fn, (int64_t)mlp__get_u64(b + off + 4),
                                      (int64_t)mlp__get_u64(b + off + 12),
                                      (int)mlp__get_u32(b + off + 20), MLP_INIT_ZEROS);
        else if (kind == MLP_LAYER_ACT)
            s = mlp__model_add_act(m, fn, (int)mlp__get_u32(b + off + 4),
                                   mlp__get_f32(b + off + 8));
        else
            s = mlp__model_add_dropout(m, fn, mlp__get_f32(b + off + 4));
        off += layer_bytes(kind);
    }
    if (s != MLP_OK) {
        mlp_model_free(m);
        return NULL;
    }
    for (i = 0; i < m->nparams; i++) {
        mlp_tensor *t = m->params[i];
        int64_t k;
        for (k = 0; k < t->numel; k++, poff += 4)
            t->data[k] = mlp__get_f32(b + poff);
    }
    return m;
}

mlp_model *mlp_model_load_mem(mlp_ctx *ctx, const void *buf, size_t size)
{
    return (mlp_model *)mlp__load_mem(ctx, __func__, buf, size, parse, NULL);
}

mlp_model *mlp_model_load(mlp_ctx *ctx, const char *path)
{
    return (mlp_model *)mlp__load_path(ctx, __func__, path, MAX_FILE_BYTES, parse, NULL);
}
