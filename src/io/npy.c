/*
 * npy.c - NumPy .npy files: read float32 ('<f4', '>f4') or float64 ('<f8')
 * arrays in C order with 0 to 4 dimensions (format versions 1.0 and 2.0),
 * parsing the header dictionary strictly; write version 1.0 '<f4' files
 * atomically.
 */
#include <stdio.h>
#include <string.h>

#include "io/file.h"

#define NPY_MAX_BYTES ((size_t)1 << (sizeof(size_t) >= 8 ? 36 : 30))

typedef struct hdr {
    const char *s, *end;
    int have_descr, have_order, have_shape;
    int elem; /* 4 or 8 bytes */
    int big;  /* '>f4' */
    int ndim;
    int64_t shape[MLP_MAX_DIMS];
} hdr;

static void skip_ws(hdr *h)
{
    while (h->s < h->end && (*h->s == ' ' || *h->s == '\t'))
        h->s++;
}

static int eat(hdr *h, const char *tok)
{
    size_t n = strlen(tok);
    skip_ws(h);
    if ((size_t)(h->end - h->s) < n || memcmp(h->s, tok, n) != 0)
        return 0;
    h->s += n;
    return 1;
}

/* a quoted string (' or ") into out */
static int quoted(hdr *h, char *out, size_t cap)
{
    char q;
    size_t n = 0;
    skip_ws(h);
    if (h->s >= h->end || (*h->s != '\'' && *h->s != '"'))
        return 0;
    q = *h->s++;
    while (h->s < h->end && *h->s != q) {
        if (n + 1 >= cap)
            return 0;
        out[n++] = *h->s++;
    }
    if (h->s >= h->end)
        return 0;
    h->s++;
    out[n] = '\0';
    return 1;
}

static int shape_tuple(hdr *h)
{
    if (!eat(h, "("))
        return 0;
    int comma = 0;
    h->ndim = 0;
    for (;;) {
        int64_t v = 0;
        int digits = 0;
        skip_ws(h);
        if (eat(h, ")"))
            break;
        if (h->ndim == MLP_MAX_DIMS)
            return 0;
        while (h->s < h->end && *h->s >= '0' && *h->s <= '9') {
            if (v > ((int64_t)1 << 40))
                return 0;
            v = v * 10 + (*h->s++ - '0');
            digits++;
        }
        if (!digits)
            return 0;
        skip_ws(h);
        if (h->s < h->end && *h->s == 'L') /* Python 2 long suffix */
            h->s++;
        h->shape[h->ndim++] = v;
        comma = eat(h, ",");
        if (comma)
            continue;
        if (eat(h, ")"))
            break;
        return 0;
    }
    /* (3) is not a tuple but a number: one dimension needs the comma, (3,) */
    return h->ndim != 1 || comma;
}

static int parse_header(hdr *h)
{
    char key[32], val[16];
    if (!eat(h, "{"))
        return 0;
    for (;;) {
        if (eat(h, "}"))
            break;
        if (!quoted(h, key, sizeof key) || !eat(h, ":"))
            return 0;
        if (strcmp(key, "descr") == 0 && !h->have_descr) {
            if (!quoted(h, val, sizeof val))
                return 0;
            if (strcmp(val, "<f4") == 0)
                h->elem = 4;
            else if (strcmp(val, ">f4") == 0) {
                h->elem = 4;
                h->big = 1;
            } else if (strcmp(val, "<f8") == 0)
                h->elem = 8;
            else
                return 0;
            h->have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !h->have_order) {
            if (!eat(h, "False"))
                return 0;
            h->have_order = 1;
        } else if (strcmp(key, "shape") == 0 && !h->have_shape) {
            if (!shape_tuple(h))
                return 0;
            h->have_shape = 1;
        } else {
            return 0;
        }
        if (eat(h, ","))
            continue;
        if (!eat(h, "}"))
            return 0;
        break;
    }
    if (!h->have_descr || !h->have_order || !h->have_shape)
        return 0;
    /* only padding spaces and the final newline may follow */
    while (h->s < h->end && *h->s == ' ')
        h->s++;
    return h->s + 1 == h->end && *h->s == '\n';
}

/* The magic and the version: *hlen the header's length and *off where
 * it starts, within size bytes; 0 with the error set when they are not a
 * .npy file's. */
static int preamble(mlp_ctx *ctx, const char *fn, const unsigned char *b, size_t size, size_t *hlen,
                    size_t *off)
{
    if (size < 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
        mlp__fail(ctx, MLP_ERR_FORMAT, "%s: not a .npy file (bad magic)", fn);
        return 0;
    }
    if (b[6] == 1 && b[7] == 0) {
        *hlen = (size_t)b[8] | ((size_t)b[9] << 8);
        *off = 10;
    } else if (b[6] == 2 && b[7] == 0) {
        if (size < 12) {
            mlp__fail(ctx, MLP_ERR_FORMAT, "%s: .npy header is cut off", fn);
            return 0;
        }
        *hlen = (size_t)mlp__get_u32(b + 8);
        *off = 12;
    } else {
        mlp__fail(ctx, MLP_ERR_FORMAT,
                  "%s: .npy format version %d.%d is not supported (1.0, 2.0 are)", fn, b[6], b[7]);
        return 0;
    }
    if (*hlen > size - *off) {
        mlp__fail(ctx, MLP_ERR_FORMAT, "%s: .npy header of %zu bytes is cut off", fn, *hlen);
        return 0;
    }
    return 1;
}

/* t's count elements from b, stored as h says (float64, or float32 big-
 * or little-endian); MLP_OK, or the first value that is not finite
 * refused unless the context allows them. */
static mlp_status decode(mlp_ctx *ctx, const char *fn, const hdr *h, const unsigned char *b,
                         size_t count, mlp_tensor *t)
{
    size_t i;
    int64_t bad;
    for (i = 0; i < count; i++) {
        if (h->elem == 8) {
            uint64_t u = mlp__get_u64(b + 8 * i);
            double d;
            memcpy(&d, &u, 8);
            t->data[i] = (float)d;
        } else if (h->big) {
            uint32_t u = mlp__get_u32_be(b + 4 * i);
            memcpy(&t->data[i], &u, 4);
        } else {
            t->data[i] = mlp__get_f32(b + 4 * i);
        }
    }
    if (!ctx->allow_nonfinite_data && (bad = mlp__first_nonfinite(t->data, (int64_t)count)) >= 0) {
        double src = t->data[bad];
        if (h->elem == 8) {
            uint64_t u = mlp__get_u64(b + 8 * (size_t)bad);
            memcpy(&src, &u, 8);
        }
        return mlp__nonfinite_data(ctx, fn, t, bad, src, 0);
    }
    return MLP_OK;
}

static void *parse(mlp_ctx *ctx, const char *fn, const unsigned char *b, size_t size,
                   const void *opt)
{
    size_t hlen, off, count = 1;
    hdr h;
    mlp_tensor *t;
    int k;
    (void)opt;
    if (!preamble(ctx, fn, b, size, &hlen, &off))
        return NULL;
    memset(&h, 0, sizeof h);
    h.s = (const char *)b + off;
    h.end = h.s + hlen;
    if (!parse_header(&h)) {
        mlp__fail(
            ctx, MLP_ERR_FORMAT,
            "%s: .npy header is not a dict of descr '<f4', '>f4' or '<f8', fortran_order False "
            "and a shape of at most %d dimensions: %.*s",
            fn, MLP_MAX_DIMS, (int)(hlen < 120 ? hlen : 120), (const char *)b + off);
        return NULL;
    }
    off += hlen;
    for (k = 0; k < h.ndim; k++) {
        if (h.shape[k] != 0 && count > (NPY_MAX_BYTES / 8) / (size_t)h.shape[k]) {
            mlp__fail(ctx, MLP_ERR_FORMAT, "%s: .npy shape is too large", fn);
            return NULL;
        }
        count *= (size_t)h.shape[k];
    }
    if (size - off != count * (size_t)h.elem) {
        mlp__fail(ctx, MLP_ERR_FORMAT, "%s: .npy data has %zu bytes, the shape needs %zu", fn,
                  size - off, count * (size_t)h.elem);
        return NULL;
    }
    if (!(t = mlp__tensor_new(ctx, fn, h.ndim, h.shape)))
        return NULL;
    if (decode(ctx, fn, &h, b + off, count, t) != MLP_OK) {
        mlp_tensor_free(t);
        return NULL;
    }
    return t;
}

mlp_tensor *mlp_npy_load_mem(mlp_ctx *ctx, const void *buf, size_t size)
{
    return (mlp_tensor *)mlp__load_mem(ctx, __func__, buf, size, parse, NULL);
}

mlp_tensor *mlp_npy_load(mlp_ctx *ctx, const char *path)
{
    return (mlp_tensor *)mlp__load_path(ctx, __func__, path, NPY_MAX_BYTES, parse, NULL);
}

mlp_status mlp_npy_save(const mlp_tensor *t, const char *path)
{
    char dict[256];
    size_t len, hlen, total, i;
    unsigned char *buf;
    mlp_status s;
    int k;
    if (!t)
        return MLP_ERR_NULL;
    if (mlp__stale(t, __func__, "t"))
        return MLP_ERR_STATE;
    if (!path)
        return mlp__fail(t->ctx, MLP_ERR_NULL, "%s: path is NULL", __func__);
    len =
        (size_t)snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (k = 0; k < t->ndim; k++)
        len += (size_t)snprintf(dict + len, sizeof dict - len, k ? " %lld," : "%lld,",
                                (long long)t->shape[k]);
    if (t->ndim > 1)
        len--; /* numpy writes (2, 3) but (3,) */
    len += (size_t)snprintf(dict + len, sizeof dict - len, "), }");
    if (t->ndim > 0) {
        /* numpy (1.24+) leaves room for the first dimension to grow to 21
           digits, so a file can be appended to in place; do the same */
        char d0[24];
        size_t nd = (size_t)snprintf(d0, sizeof d0, "%lld", (long long)t->shape[0]);
        for (; nd < 21; nd++)
            dict[len++] = ' ';
        dict[len] = '\0';
    }
    /* pad with spaces and a newline so the data starts on a 64-byte boundary */
    hlen = ((10 + len + 1 + 63) / 64) * 64 - 10;
    total = 10 + hlen + (size_t)t->numel * 4;
    buf = (unsigned char *)mlp__alloc(t->ctx, __func__, total);
    if (!buf)
        return t->ctx->err.code;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, dict, len);
    memset(buf + 10 + len, ' ', hlen - len - 1);
    buf[10 + hlen - 1] = '\n';
    for (i = 0; i < (size_t)t->numel; i++)
        mlp__put_f32(buf + 10 + hlen + 4 * i, t->data[i]);
    s = mlp__write_file_atomic(t->ctx, __func__, path, buf, total);
    mlp__free(t->ctx, buf);
    return s;
}
