/*
 * model_file.c - the libmlp model file (docs/format.md): save to memory or
 * to a file atomically, and load with every field checked against sanity
 * limits and the bytes actually present before anything is allocated.
 *
 *   "MLPMODEL" | u32 version | u32 flags | u32 layer count
 *   per layer: u32 kind, then the kind's fields (nn/record.c)
 *   the layers' tensors: f32, layer by layer, each layer's in its order
 *   u32 CRC-32 of every byte before it
 * All integers and floats little-endian. What a record holds is its
 * kind's business (its fields, nn/layers.c); this file only frames the records.
 */
#include <stdio.h>
#include <string.h>

#include "io/file.h"
#include "nn/layers.h"

#define MAGIC "MLPMODEL"
#define FORMAT_VERSION 2u /* written; versions 1 and 2 are read */
#define FLAG_TRAINING 1u
#define HEADER_BYTES 20u
/* a model file may not exceed this (also the read cap) */
#define MAX_FILE_BYTES ((size_t)1 << (sizeof(size_t) >= 8 ? 34 : 30))

/* Floats in a layer's tensors. */
static size_t layer_floats(const mlp__layer *L)
{
    size_t n = 0;
    int j;
    for (j = 0; j < MLP__LAYER_TENSORS; j++)
        if (L->t[j])
            n += (size_t)L->t[j]->numel;
    return n;
}

/* The model's bytes into a new buffer; failures name fn (the public
 * function saving). */
static mlp_status serialise(const mlp_model *m, const char *fn, void **out_buf, size_t *out_size)
{
    size_t size = HEADER_BYTES + 4, i, np = 0, k;
    unsigned char *buf, *p;
    *out_buf = NULL;
    *out_size = 0;
    for (i = 0; i < m->nlayers; i++) {
        size += 4 + mlp__record_bytes(m->layers[i].k, FORMAT_VERSION);
        np += layer_floats(&m->layers[i]);
    }
    if (np > (MLP__MAX_BYTES - size) / 4)
        return mlp__fail(m->ctx, MLP_ERR_OVERFLOW, "%s: the model is too large to serialise", fn);
    size += np * 4;
    buf = (unsigned char *)mlp__alloc(m->ctx, fn, size);
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
        mlp__put_u32(p, (uint32_t)L->k->kind);
        mlp__record_write(L, FORMAT_VERSION, p + 4);
        p += 4 + mlp__record_bytes(L->k, FORMAT_VERSION);
    }
    for (i = 0; i < m->nlayers; i++) {
        const mlp__layer *L = &m->layers[i];
        int j;
        for (j = 0; j < MLP__LAYER_TENSORS; j++) {
            if (!L->t[j])
                continue;
            for (k = 0; k < (size_t)L->t[j]->numel; k++, p += 4)
                mlp__put_f32(p, L->t[j]->data[k]);
        }
    }
    mlp__put_u32(p, mlp__crc32(0, buf, (size_t)(p - buf)));
    *out_buf = buf;
    *out_size = size;
    return MLP_OK;
}

mlp_status mlp_model_save_mem(const mlp_model *m, void **out_buf, size_t *out_size)
{
    if (!m)
        return MLP_ERR_NULL;
    if (!out_buf || !out_size)
        return mlp__fail(m->ctx, MLP_ERR_NULL, "%s: %s is NULL", __func__,
                         !out_buf ? "out_buf" : "out_size");
    return serialise(m, __func__, out_buf, out_size);
}

void mlp_buffer_free(mlp_ctx *ctx, void *buf)
{
    if (ctx && buf)
        mlp__free(ctx, buf);
}

static mlp_status save_mem(const void *m, const char *fn, void **buf, size_t *size)
{
    return serialise((const mlp_model *)m, fn, buf, size);
}

mlp_status mlp_model_save(const mlp_model *m, const char *path)
{
    if (!m)
        return MLP_ERR_NULL;
    return mlp__save_path(m->ctx, __func__, path, save_mem, m);
}

/* ---- loading ---- */

static mlp_status bad(mlp_ctx *ctx, const char *fn, const char *what, unsigned long long a)
{
    return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: %s (%llu)", fn, what, a);
}

/* Decode the record at b[*off] (inside body) into *L, settings checked
 * by the kind, and move *off past it. Allocates nothing. */
static mlp_status read_record(mlp_ctx *ctx, const char *fn, unsigned version,
                              const unsigned char *b, size_t body, size_t *off, uint32_t i,
                              mlp__layer *L)
{
    char where[96];
    uint32_t kind;
    size_t bytes;
    memset(L, 0, sizeof *L);
    if (body - *off < 4)
        return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: layer %lu is cut off", fn, (unsigned long)i);
    kind = mlp__get_u32(b + *off);
    L->k = kind <= 0xffffu ? mlp__kind_of((int)kind) : NULL;
    if (!L->k || version < L->k->since)
        return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: layer %lu has unknown kind %lu", fn,
                         (unsigned long)i, (unsigned long)kind);
    bytes = mlp__record_bytes(L->k, version);
    if (body - *off - 4 < bytes)
        return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: layer %lu is cut off", fn, (unsigned long)i);
    mlp__record_read(version, b + *off + 4, L);
    *off += 4 + bytes;
    snprintf(where, sizeof where, "%s: layer %lu", fn, (unsigned long)i);
    return L->k->settle(ctx, MLP_ERR_FORMAT, where, L);
}

/* Check the whole file without allocating anything. On success *nlayers
 * is the layer count, *version the file's version and *pstart the offset
 * of the tensors. */
static mlp_status validate(mlp_ctx *ctx, const char *fn, const unsigned char *b, size_t size,
                           uint32_t *nlayers, unsigned *version, size_t *pstart)
{
    uint32_t flags, n, i, crc;
    size_t off = HEADER_BYTES, np = 0, body;
    int64_t width = 0;
    mlp_status s;

    if (size < 8 || memcmp(b, MAGIC, 8) != 0)
        return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: not a libmlp model file (bad magic)", fn);
    if (size < 12)
        return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: file truncated in the header (%zu bytes)", fn,
                         size);
    *version = mlp__get_u32(b + 8);
    if (*version < 1 || *version > FORMAT_VERSION)
        return mlp__fail(
            ctx, MLP_ERR_VERSION,
            "%s: file format version %lu is not supported (this library reads 1 to %u)", fn,
            (unsigned long)*version, FORMAT_VERSION);
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
        mlp__layer L;
        mlp__tshape ts[MLP__LAYER_TENSORS];
        int j, nt;
        if ((s = read_record(ctx, fn, *version, b, body, &off, i, &L)) != MLP_OK)
            return s;
        if (L.in && width && L.in != width)
            return mlp__fail(ctx, MLP_ERR_FORMAT,
                             "%s: layer %lu takes %lld features but the layers before give %lld",
                             fn, (unsigned long)i, (long long)L.in, (long long)width);
        if (L.out)
            width = L.out;
        nt = L.k->tensors(&L, ts);
        for (j = 0; j < nt; j++) {
            /* each dimension <= 2^31: compare against the bytes a file may hold */
            uint64_t cnt = (uint64_t)ts[j].shape[0];
            if (ts[j].ndim == 2) {
                if (ts[j].shape[0] > (int64_t)(MAX_FILE_BYTES / 4) / ts[j].shape[1])
                    return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: layer %lu is too large", fn,
                                     (unsigned long)i);
                cnt *= (uint64_t)ts[j].shape[1];
            }
            if (cnt > (MAX_FILE_BYTES / 4) - np)
                return mlp__fail(ctx, MLP_ERR_FORMAT, "%s: parameters are too large", fn);
            np += (size_t)cnt;
        }
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
    unsigned version = 0;
    size_t off = HEADER_BYTES, poff = 0, body = size - 4;
    mlp_model *m;
    (void)opt;
    if (validate(ctx, fn, b, size, &n, &version, &poff) != MLP_OK)
        return NULL;
    m = mlp_model_new(ctx);
    if (!m) {
        mlp__fail_in(ctx, fn);
        return NULL;
    }
    m->training = (mlp__get_u32(b + 12) & FLAG_TRAINING) != 0;
    for (i = 0; i < n; i++) {
        mlp__layer L, *dst;
        int j;
        /* validated: reading again cannot fail */
        read_record(ctx, fn, version, b, body, &off, i, &L);
        dst = mlp__model_push(m, fn, &L, MLP_INIT_ZEROS);
        if (!dst) {
            mlp_model_free(m);
            return NULL;
        }
        for (j = 0; j < MLP__LAYER_TENSORS; j++) {
            int64_t k;
            if (!dst->t[j])
                continue;
            for (k = 0; k < dst->t[j]->numel; k++, poff += 4)
                dst->t[j]->data[k] = mlp__get_f32(b + poff);
        }
        if (dst->k->check_values) {
            char where[96];
            snprintf(where, sizeof where, "%s: layer %lu", fn, (unsigned long)i);
            if (dst->k->check_values(ctx, MLP_ERR_FORMAT, where, dst) != MLP_OK) {
                mlp_model_free(m);
                return NULL;
            }
        }
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
