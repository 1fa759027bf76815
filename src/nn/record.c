/*
 * record.c - a layer's settings as its kind's fields (nn/layers.h): the
 * record after the u32 kind in the model file (docs/format.md) and the
 * summary's text. One writer, one reader and one describer walk every
 * kind's fields, so a kind only lists them.
 */
#include <stdio.h>
#include <string.h>

#include "base/num.h"
#include "io/file.h"
#include "nn/layers.h"

static const unsigned field_bytes[] = {8, 4, 4}; /* by mlp__field_type */

#define MEMBER(L, f, type) ((type *)(void *)((char *)(L) + (f)->offset))

size_t mlp__record_bytes(const mlp__kind *k, unsigned version)
{
    size_t bytes = 0;
    int i;
    for (i = 0; i < k->nfields; i++)
        if (version >= k->fields[i].since)
            bytes += field_bytes[k->fields[i].type];
    return bytes;
}

void mlp__record_write(const mlp__layer *L, unsigned version, unsigned char *p)
{
    int i;
    for (i = 0; i < L->k->nfields; i++) {
        const mlp__field *f = &L->k->fields[i];
        if (version < f->since)
            continue;
        if (f->type == MLP__FIELD_SIZE)
            mlp__put_u64(p, (uint64_t)*MEMBER(L, f, const int64_t));
        else if (f->type == MLP__FIELD_ENUM)
            mlp__put_u32(p, (uint32_t)*MEMBER(L, f, const int));
        else
            mlp__put_f32(p, *MEMBER(L, f, const float));
        p += field_bytes[f->type];
    }
}

void mlp__record_read(unsigned version, const unsigned char *p, mlp__layer *L)
{
    int i;
    for (i = 0; i < L->k->nfields; i++) {
        const mlp__field *f = &L->k->fields[i];
        if (version < f->since)
            continue;
        if (f->type == MLP__FIELD_SIZE) {
            /* sizes above 2^31 (and so above 2^63) are refused by settle */
            uint64_t v = mlp__get_u64(p);
            *MEMBER(L, f, int64_t) = v > (uint64_t)MLP__MAX_FEATURES ? -1 : (int64_t)v;
        } else if (f->type == MLP__FIELD_ENUM) {
            uint32_t v = mlp__get_u32(p);
            *MEMBER(L, f, int) = v > f->max ? -1 : (int)v;
        } else {
            *MEMBER(L, f, float) = mlp__get_f32(p);
        }
        p += field_bytes[f->type];
    }
    if (L->k->record_older)
        L->k->record_older(version, L);
}

void mlp__layer_describe(const mlp__layer *L, char *buf, size_t size)
{
    int i, shown = 0;
    if (L->k->describe) {
        L->k->describe(L, buf, size);
        return;
    }
    if (!size)
        return;
    snprintf(buf, size, "%s", L->k->name);
    for (i = 0; i < L->k->nfields; i++) {
        const mlp__field *f = &L->k->fields[i];
        const char *open = shown ? "" : "(";
        size_t len = strlen(buf); /* < size: snprintf cuts and terminates */
        if (!f->show)
            continue;
        shown = 1;
        if (f->type == MLP__FIELD_SIZE)
            snprintf(buf + len, size - len, "%s%s%lld", open, f->show,
                     (long long)*MEMBER(L, f, const int64_t));
        else if (f->type == MLP__FIELD_ENUM)
            snprintf(buf + len, size - len, "%s%s%d", open, f->show, *MEMBER(L, f, const int));
        else /* '.' as the decimal point in every locale */
            mlp__snprintf(buf + len, size - len, "%s%s%g", open, f->show,
                          (double)*MEMBER(L, f, const float));
    }
    if (shown)
        snprintf(buf + strlen(buf), size - strlen(buf), ")");
}
