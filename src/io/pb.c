/*
 * pb.c - the protobuf wire format by hand (see pb.h): a reader that walks
 * one message's fields in place, checking every varint and every length
 * against the end of the message it is in, and a writer that appends
 * fields to a growing buffer and prefixes nested messages with their
 * length once they are complete.
 */
#include <string.h>

#include "io/pb.h"

#define MAX_FIELD_NUM ((1u << 29) - 1)

void mlp__pb_init(mlp__pb *r, const void *buf, size_t size)
{
    r->p = (const unsigned char *)buf;
    r->end = r->p ? r->p + size : r->p;
}

int mlp__pb_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    const unsigned char *q = *p;
    uint64_t x = 0;
    int shift;
    for (shift = 0; shift < 64; shift += 7) {
        unsigned char c;
        if (q == end)
            return 0;
        c = *q++;
        /* the tenth byte may only carry the top bit of a 64-bit value */
        if (shift == 63 && (c & 0xfe))
            return 0;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *p = q;
            *v = x;
            return 1;
        }
    }
    return 0;
}

static int malformed(mlp__pb *r)
{
    r->p = r->end;
    return -1;
}

int mlp__pb_next(mlp__pb *r, mlp__pb_field *f)
{
    uint64_t tag, len;
    if (r->p == r->end)
        return 0;
    if (!mlp__pb_varint(&r->p, r->end, &tag) || tag > 0xffffffffu)
        return malformed(r);
    f->num = (uint32_t)(tag >> 3);
    f->wire = (int)(tag & 7);
    f->v = 0;
    f->data = r->p; /* never NULL, so data + len is defined for every field */
    f->len = 0;
    if (f->num == 0 || f->num > MAX_FIELD_NUM)
        return malformed(r);
    switch (f->wire) {
    case MLP__PB_VARINT:
        if (!mlp__pb_varint(&r->p, r->end, &f->v))
            return malformed(r);
        return 1;
    case MLP__PB_FIXED64:
        if (r->end - r->p < 8)
            return malformed(r);
        {
            int k;
            for (k = 7; k >= 0; k--)
                f->v = (f->v << 8) | r->p[k];
        }
        r->p += 8;
        return 1;
    case MLP__PB_LEN:
        if (!mlp__pb_varint(&r->p, r->end, &len) || len > (uint64_t)(r->end - r->p))
            return malformed(r);
        f->data = r->p;
        f->len = (size_t)len;
        r->p += len;
        return 1;
    case MLP__PB_FIXED32:
        if (r->end - r->p < 4)
            return malformed(r);
        f->v = (uint64_t)r->p[0] | ((uint64_t)r->p[1] << 8) | ((uint64_t)r->p[2] << 16)
               | ((uint64_t)r->p[3] << 24);
        r->p += 4;
        return 1;
    default: /* groups (3, 4) are not used by any schema read here; 6, 7 do not exist */
        return malformed(r);
    }
}

float mlp__pb_f32(const unsigned char *p)
{
    uint32_t u =
        (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

int mlp__pb_is_str(const mlp__pb_field *f, const char *s)
{
    size_t n = strlen(s);
    return f->wire == MLP__PB_LEN && f->len == n && (n == 0 || memcmp(f->data, s, n) == 0);
}

/* ---- writer ---- */

void mlp__pbw_init(mlp__pbw *w, mlp_ctx *ctx, const char *fn)
{
    w->ctx = ctx;
    w->fn = fn;
    w->buf = NULL;
    w->len = 0;
    w->cap = 0;
    w->status = MLP_OK;
}

void mlp__pbw_free(mlp__pbw *w)
{
    mlp__free(w->ctx, w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

/* Room for n more bytes; 0 after a failure. */
static int room(mlp__pbw *w, size_t n)
{
    size_t need, cap;
    unsigned char *nb;
    if (w->status != MLP_OK)
        return 0;
    if (n > MLP__MAX_BYTES - w->len) {
        w->status =
            mlp__fail(w->ctx, MLP_ERR_OVERFLOW, "%s: the model is too large to write", w->fn);
        return 0;
    }
    need = w->len + n;
    if (need <= w->cap)
        return 1;
    cap = w->cap ? w->cap : 256;
    while (cap < need)
        cap = cap > MLP__MAX_BYTES / 2 ? MLP__MAX_BYTES : cap * 2;
    nb = (unsigned char *)mlp__realloc(w->ctx, w->fn, w->buf, cap);
    if (!nb) {
        w->status = w->ctx->err.code; /* recorded by mlp__realloc */
        return 0;
    }
    w->buf = nb;
    w->cap = cap;
    return 1;
}

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static unsigned char *put_varint(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static void raw_varint(mlp__pbw *w, uint64_t v)
{
    if (room(w, 10))
        w->len = (size_t)(put_varint(w->buf + w->len, v) - w->buf);
}

static void tag(mlp__pbw *w, uint32_t num, int wire)
{
    raw_varint(w, ((uint64_t)num << 3) | (uint64_t)wire);
}

void mlp__pbw_varint(mlp__pbw *w, uint32_t num, uint64_t v)
{
    tag(w, num, MLP__PB_VARINT);
    raw_varint(w, v);
}

void mlp__pbw_int64(mlp__pbw *w, uint32_t num, int64_t v)
{
    mlp__pbw_varint(w, num, (uint64_t)v);
}

void mlp__pbw_fixed32(mlp__pbw *w, uint32_t num, uint32_t v)
{
    tag(w, num, MLP__PB_FIXED32);
    if (room(w, 4)) {
        unsigned char *p = w->buf + w->len;
        p[0] = (unsigned char)(v & 0xff);
        p[1] = (unsigned char)((v >> 8) & 0xff);
        p[2] = (unsigned char)((v >> 16) & 0xff);
        p[3] = (unsigned char)((v >> 24) & 0xff);
        w->len += 4;
    }
}

void mlp__pbw_float(mlp__pbw *w, uint32_t num, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    mlp__pbw_fixed32(w, num, u);
}

void mlp__pbw_bytes(mlp__pbw *w, uint32_t num, const void *data, size_t len)
{
    tag(w, num, MLP__PB_LEN);
    raw_varint(w, len);
    mlp__pbw_raw(w, data, len);
}

void mlp__pbw_raw(mlp__pbw *w, const void *data, size_t len)
{
    if (len && room(w, len)) {
        memcpy(w->buf + w->len, data, len);
        w->len += len;
    }
}

void mlp__pbw_str(mlp__pbw *w, uint32_t num, const char *s)
{
    mlp__pbw_bytes(w, num, s, strlen(s));
}

void mlp__pbw_floats_raw(mlp__pbw *w, uint32_t num, const float *v, size_t n)
{
    size_t i;
    if (n > MLP__MAX_BYTES / 8) {
        room(w, MLP__MAX_BYTES); /* records the overflow */
        return;
    }
    tag(w, num, MLP__PB_LEN);
    raw_varint(w, (uint64_t)n * 4);
    if (n && room(w, n * 4)) {
        unsigned char *p = w->buf + w->len;
        for (i = 0; i < n; i++, p += 4) {
            uint32_t u;
            memcpy(&u, &v[i], 4);
            p[0] = (unsigned char)(u & 0xff);
            p[1] = (unsigned char)((u >> 8) & 0xff);
            p[2] = (unsigned char)((u >> 16) & 0xff);
            p[3] = (unsigned char)((u >> 24) & 0xff);
        }
        w->len += n * 4;
    }
}

size_t mlp__pbw_begin(mlp__pbw *w, uint32_t num)
{
    tag(w, num, MLP__PB_LEN);
    /* one byte for the length, enough for messages under 128 bytes */
    if (room(w, 1))
        w->buf[w->len++] = 0;
    return w->len;
}

void mlp__pbw_end(mlp__pbw *w, size_t mark)
{
    size_t body, extra;
    if (w->status != MLP_OK)
        return;
    body = w->len - mark;
    extra = varint_size(body) - 1;
    if (extra) {
        if (!room(w, extra))
            return;
        memmove(w->buf + mark + extra, w->buf + mark, body);
        w->len += extra;
    }
    put_varint(w->buf + mark - 1, body);
}
