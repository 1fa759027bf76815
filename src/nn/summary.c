/*
 * summary.c - the human-readable model summary: one line per layer with
 * its output shape and parameter count, then the totals, written like
 * snprintf (the full length is returned even when buf is too small).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nn/model.h"

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
    n = vsnprintf(dst, room, fmt, ap);
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
        switch (L->kind) {
        case MLP_LAYER_LINEAR:
            snprintf(what, sizeof what, "linear(%lld -> %lld)", (long long)L->in,
                     (long long)L->out);
            width = L->out;
            np = L->in * L->out + (L->b ? L->out : 0);
            break;
        case MLP_LAYER_ACT:
            if (L->act == MLP_ACT_LEAKY_RELU)
                snprintf(what, sizeof what, "%s(%g)", mlp_act_name((mlp_act)L->act),
                         (double)L->param);
            else
                snprintf(what, sizeof what, "%s", mlp_act_name((mlp_act)L->act));
            np = L->w ? L->w->numel : 0;
            break;
        default: snprintf(what, sizeof what, "dropout(p=%g)", (double)L->p); break;
        }
        snprintf(shape, sizeof shape, "[n,%lld]", (long long)width);
        put(&s, "%-5d %-24s %-14s %lld\n", (int)i, what, shape, (long long)np);
    }
    put(&s, "total parameters: %lld in %d tensors\n", (long long)mlp_model_param_numel(m),
        (int)m->nparams);
    return s.len;
}
