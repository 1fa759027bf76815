/*
 * summary.c - the human-readable model summary: one line per layer (what
 * its kind says it is, its output shape, its parameter count), then the
 * totals, written like snprintf (the full length is returned even when
 * buf is too small).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/num.h"
#include "nn/layers.h"

typedef struct sbuf {
    char *buf;
    size_t size, len;
} sbuf;

static void put(sbuf *s, const char *fmt, ...) MLP__PRINTF(2, 3);

static void put(sbuf *s, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *dst = NULL;
    size_t room = 0;
    if (s->buf && s->len < s->size) {
        dst = s->buf + s->len;
        room = s->size - s->len;
    }
    va_start(ap, fmt);
    n = mlp__vsnprintf(dst, room, fmt, ap); /* '.' as the decimal point in every locale */
    va_end(ap);
    if (n > 0)
        s->len += (size_t)n;
}

size_t mlp_model_summary(const mlp_model *m, char *buf, size_t size)
{
    sbuf s;
    size_t i;
    int64_t width;
    char what[64];
    if (!m) {
        if (buf && size)
            buf[0] = '\0';
        return 0;
    }
    s.buf = buf;
    s.size = buf ? size : 0;
    s.len = 0;
    if (buf && size)
        buf[0] = '\0';
    width = mlp_model_in_features(m);
    put(&s, "%-5s %-24s %-14s %s\n", "#", "layer", "output", "params");
    for (i = 0; i < m->nlayers; i++) {
        const mlp__layer *L = &m->layers[i];
        int64_t np = 0;
        char shape[40];
        mlp__tshape ts[MLP__LAYER_TENSORS];
        int j, nt = L->k->tensors(L, ts);
        mlp__layer_describe(L, what, sizeof what);
        if (L->out)
            width = L->out;
        for (j = 0; j < nt; j++)
            if (ts[j].learnable && L->t[j])
                np += L->t[j]->numel;
        snprintf(shape, sizeof shape, "[n,%lld]", (long long)width);
        put(&s, "%-5d %-24s %-14s %lld\n", (int)i, what, shape, (long long)np);
    }
    put(&s, "total parameters: %lld in %d tensors\n", (long long)mlp_model_param_numel(m),
        (int)m->nparams);
    return s.len;
}
