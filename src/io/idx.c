/*
 * idx.c - the IDX format of MNIST and Fashion-MNIST: two zero bytes, a
 * type code, the number of dimensions, big-endian 32-bit dimensions, then
 * the elements big-endian. Every size is checked against the bytes
 * present before anything is allocated. Values become floats times scale.
 */
#include <math.h>
#include <string.h>

#include "core.h"
#include "io/file.h"

#define IDX_MAX_FILE (((size_t)1) << 34) /* 16 GiB */

static int type_size(unsigned code)
{
    switch (code) {
    case 0x08:
    case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C:
    case 0x0D: return 4;
    case 0x0E: return 8;
    }
    return 0;
}

static float element(const unsigned char *p, unsigned code)
{
    switch (code) {
    case 0x08: return (float)p[0];
    case 0x09: return (float)(signed char)p[0];
    case 0x0B: {
        unsigned v = ((unsigned)p[0] << 8) | p[1];
        return (float)(v >= 0x8000u ? (long)v - 0x10000L : (long)v);
    }
    case 0x0C: {
        uint32_t v = mlp__get_u32_be(p);
        return (float)(v >= 0x80000000u ? (double)v - 4294967296.0 : (double)v);
    }
    case 0x0D: {
        uint32_t v = mlp__get_u32_be(p);
        float f;
        memcpy(&f, &v, 4);
        return f;
    }
    default: {
        uint64_t v = ((uint64_t)mlp__get_u32_be(p) << 32) | mlp__get_u32_be(p + 4);
        double d;
        memcpy(&d, &v, 8);
        return (float)d;
    }
    }
}

/* The value as the file holds it (float64 kept as double, for messages). */
static double source(const unsigned char *p, unsigned code)
{
    if (code == 0x0E) {
        uint64_t v = ((uint64_t)mlp__get_u32_be(p) << 32) | mlp__get_u32_be(p + 4);
        double d;
        memcpy(&d, &v, 8);
        return d;
    }
    return (double)element(p, code);
}

static void *parse(mlp_ctx *ctx, const char *fn, const unsigned char *b, size_t size,
                   const void *opt)
{
    float scale = *(const float *)opt;
    int64_t shape[MLP_MAX_DIMS];
    unsigned code, ndim, i;
    int es;
    uint64_t count = 1, need;
    mlp_tensor *t;
    float *d;
    if (!isfinite(scale)) {
        mlp__fail(ctx, MLP_ERR_ARG, "%s: scale = %g is not finite", fn, (double)scale);
        return NULL;
    }
    if (size < 4 || b[0] != 0 || b[1] != 0) {
        mlp__fail(ctx, MLP_ERR_FORMAT, "%s: not an IDX file (bad magic)", fn);
        return NULL;
    }
    code = b[2];
    ndim = b[3];
    es = type_size(code);
    if (!es) {
        mlp__fail(ctx, MLP_ERR_FORMAT, "%s: unknown element type 0x%02X", fn, code);
        return NULL;
    }
    if (ndim < 1 || ndim > MLP_MAX_DIMS) {
        mlp__fail(ctx, MLP_ERR_FORMAT, "%s: %u dimensions (1 to %d supported)", fn, ndim,
                  MLP_MAX_DIMS);
        return NULL;
    }
    if (size < 4 + 4 * (size_t)ndim) {
        mlp__fail(ctx, MLP_ERR_FORMAT, "%s: truncated header (%zu bytes)", fn, size);
        return NULL;
    }
    for (i = 0; i < ndim; i++) {
        uint32_t dim = mlp__get_u32_be(b + 4 + 4 * i);
        shape[i] = (int64_t)dim;
        count *= dim; /* at most 4 factors below 2^32: checked against the size below */
        if (count > (uint64_t)size) {
            mlp__fail(ctx, MLP_ERR_FORMAT,
                      "%s: dimensions need more data than the %zu bytes present", fn, size);
            return NULL;
        }
    }
    need = 4 + 4 * (uint64_t)ndim + count * (uint64_t)es;
    if (need != (uint64_t)size) {
        mlp__fail(ctx, MLP_ERR_FORMAT, "%s: the dimensions need %llu bytes, the file has %zu", fn,
                  (unsigned long long)need, size);
        return NULL;
    }
    t = mlp__tensor_new(ctx, fn, (int)ndim, shape);
    if (!t)
        return NULL;
    d = t->data;
    b += 4 + 4 * ndim;
    {
        uint64_t k;
        if (code == 0x08)
            for (k = 0; k < count; k++)
                d[k] = (float)b[k] * scale;
        else
            for (k = 0; k < count; k++)
                d[k] = element(b + k * (uint64_t)es, code) * scale;
        if (!ctx->allow_nonfinite_data
            && (k = (uint64_t)mlp__first_nonfinite(d, t->numel)) != (uint64_t)-1) {
            double src = code == 0x08 ? (double)b[k] : source(b + k * (uint64_t)es, code);
            mlp__nonfinite_data(ctx, fn, t, (int64_t)k, src, isfinite(src) && isfinite((float)src));
            mlp_tensor_free(t);
            return NULL;
        }
    }
    return t;
}

mlp_tensor *mlp_idx_load_mem(mlp_ctx *ctx, const void *buf, size_t size, float scale)
{
    return (mlp_tensor *)mlp__load_mem(ctx, __func__, buf, size, parse, &scale);
}

mlp_tensor *mlp_idx_load(mlp_ctx *ctx, const char *path, float scale)
{
    return (mlp_tensor *)mlp__load_path(ctx, __func__, path, IDX_MAX_FILE, parse, &scale);
}
