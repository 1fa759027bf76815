/*
 * file.c - what every reader and writer needs: reading a whole file into a
 * context buffer with a size cap, the wrapper that gives every reader its
 * path and buffer forms, byte-by-byte little-endian encoding that does not depend
 * on the host's byte order, and CRC-32.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/file.h"

mlp_status mlp__read_file(mlp_ctx *ctx, const char *fn, const char *path, size_t max_size,
                          unsigned char **out, size_t *out_size)
{
    FILE *f;
    unsigned char *buf = NULL, *nb;
    size_t len = 0, cap = 0, got;

    *out = NULL;
    *out_size = 0;
    if (max_size > MLP__MAX_BYTES - 1)
        max_size = MLP__MAX_BYTES - 1;
    if (!path)
        return mlp__fail(ctx, MLP_ERR_NULL, "%s: path is NULL", fn);
    f = fopen(path, "rb");
    if (!f)
        return mlp__fail(ctx, MLP_ERR_IO, "%s: cannot open '%s': %s", fn, path, strerror(errno));
    /* read in growing chunks: works for pipes and files alike */
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            if (cap >= max_size + 1) {
                fclose(f);
                mlp__free(ctx, buf);
                return mlp__fail(ctx, MLP_ERR_IO, "%s: '%s' is larger than %zu bytes", fn, path,
                                 max_size);
            }
            if (ncap > max_size + 1)
                ncap = max_size + 1;
            nb = (unsigned char *)mlp__realloc(ctx, fn, buf, ncap);
            if (!nb) {
                fclose(f);
                mlp__free(ctx, buf);
                return mlp__fail(ctx, MLP_ERR_NOMEM, "%s: out of memory reading '%s'", fn, path);
            }
            buf = nb;
            cap = ncap;
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        mlp__free(ctx, buf);
        return mlp__fail(ctx, MLP_ERR_IO, "%s: error reading '%s': %s", fn, path, strerror(e));
    }
    fclose(f);
    if (len > max_size) {
        mlp__free(ctx, buf);
        return mlp__fail(ctx, MLP_ERR_IO, "%s: '%s' is larger than %zu bytes", fn, path, max_size);
    }
    *out = buf;
    *out_size = len;
    return MLP_OK;
}

void *mlp__load_mem(mlp_ctx *ctx, const char *fn, const void *buf, size_t size, mlp__parse_fn parse,
                    const void *opt)
{
    if (!ctx)
        return NULL;
    if (!buf) {
        mlp__fail(ctx, MLP_ERR_NULL, "%s: buf is NULL", fn);
        return NULL;
    }
    return parse(ctx, fn, (const unsigned char *)buf, size, opt);
}

void *mlp__load_path(mlp_ctx *ctx, const char *fn, const char *path, size_t max_size,
                     mlp__parse_fn parse, const void *opt)
{
    unsigned char *buf;
    size_t size, n = strlen(fn);
    void *obj;
    if (!ctx)
        return NULL;
    if (mlp__read_file(ctx, fn, path, max_size, &buf, &size) != MLP_OK)
        return NULL;
    obj = parse(ctx, fn, buf, size, opt);
    mlp__free(ctx, buf);
    if (!obj
        && (ctx->err.code == MLP_ERR_FORMAT || ctx->err.code == MLP_ERR_VERSION
            || ctx->err.code == MLP_ERR_NONFINITE)) {
        /* "fn: what" becomes "fn: 'path': what" */
        char what[MLP__ERRMSG_CAP];
        const char *w = ctx->err.msg;
        if (strncmp(w, fn, n) == 0 && w[n] == ':' && w[n + 1] == ' ')
            w += n + 2;
        memcpy(what, w, strlen(w) + 1);
        mlp__fail(ctx, ctx->err.code, "%s: '%s': %.280s", fn, path, what);
    }
    return obj;
}

mlp_status mlp__save_path(mlp_ctx *ctx, const char *fn, const char *path, mlp__save_fn save,
                          const void *obj)
{
    void *buf;
    size_t size;
    mlp_status s;
    if (!path)
        return mlp__fail(ctx, MLP_ERR_NULL, "%s: path is NULL", fn);
    if ((s = save(obj, fn, &buf, &size)) != MLP_OK)
        return s;
    s = mlp__write_file_atomic(ctx, fn, path, buf, size);
    mlp__free(ctx, buf);
    return s;
}

int64_t mlp__first_nonfinite(const float *d, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++)
        if (!isfinite(d[i]))
            return i;
    return -1;
}

mlp_status mlp__nonfinite_data(mlp_ctx *ctx, const char *fn, const mlp_tensor *t, int64_t i,
                               double src, int scaled)
{
    char where[80];
    const char *why = !isfinite(src) ? "not a finite number"
                      : scaled       ? "beyond float's range once scaled"
                                     : "beyond float's range";
    if (t->ndim >= 2) {
        int64_t row = t->shape[0] ? t->numel / t->shape[0] : 1;
        snprintf(where, sizeof where, "row %lld, column %lld (counting from 0)",
                 (long long)(i / row), (long long)(i % row));
    } else {
        snprintf(where, sizeof where, "element %lld (counting from 0)", (long long)i);
    }
    return mlp__fail(ctx, MLP_ERR_NONFINITE,
                     "%s: the value at %s is %g, %s (mlp_ctx_set_allow_nonfinite_data accepts it)",
                     fn, where, src, why);
}

void mlp__put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
    p[2] = (unsigned char)((v >> 16) & 0xff);
    p[3] = (unsigned char)((v >> 24) & 0xff);
}

void mlp__put_u64(unsigned char *p, uint64_t v)
{
    mlp__put_u32(p, (uint32_t)(v & 0xffffffffu));
    mlp__put_u32(p + 4, (uint32_t)(v >> 32));
}

void mlp__put_f32(unsigned char *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    mlp__put_u32(p, u);
}

void mlp__put_f64(unsigned char *p, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    mlp__put_u64(p, u);
}

uint32_t mlp__get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

uint64_t mlp__get_u64(const unsigned char *p)
{
    return (uint64_t)mlp__get_u32(p) | ((uint64_t)mlp__get_u32(p + 4) << 32);
}

float mlp__get_f32(const unsigned char *p)
{
    uint32_t u = mlp__get_u32(p);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

double mlp__get_f64(const unsigned char *p)
{
    uint64_t u = mlp__get_u64(p);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

uint32_t mlp__get_u32_be(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* reflected polynomial 0xEDB88320, one nibble at a time */
static const uint32_t crc_nibble[16] = {0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu,
                                        0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
                                        0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
                                        0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};

uint32_t mlp__crc32(uint32_t crc, const void *buf, size_t n)
{
    const unsigned char *p = (const unsigned char *)buf;
    size_t i;
    crc = ~crc;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
    }
    return ~crc;
}
