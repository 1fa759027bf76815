/*
 * onnx.c - the messages of an ONNX file, read in place with the
 * wire-format reader (pb.c): the ModelProto's opset and graph, the
 * graph's nodes, initializers, input and output, NodeProto attributes
 * and TensorProto data. Nothing is copied but a table of the nodes and a
 * sorted table of the constants (initializers and Constant nodes), each
 * entry standing for at least two bytes of the file; a constant's floats
 * are decoded only when a layer reads it, at most once, within a budget
 * tied to the file's size. Malformed bytes fail with MLP_ERR_FORMAT. The
 * chain of nodes and the layers come next (onnx_chain.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/onnx_read.h"

/* oldest and newest default-domain opset whose MLP operators we know */
#define MIN_OPSET 7
#define MAX_OPSET 23

/* ---- messages ---- */

const char *mlp__ostr_show(mlp__ostr s, char *buf, size_t cap)
{
    size_t i, n = s.n < cap - 4 ? s.n : cap - 4;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        buf[i] = c >= 32 && c < 127 ? (char)c : '?';
    }
    if (n < s.n)
        buf[n++] = '.', buf[n++] = '.', buf[n++] = '.';
    buf[n] = '\0';
    return buf;
}

mlp_status mlp__onnx_bad(mlp__onnx_in *st, const char *what)
{
    return mlp__fail(st->ctx, MLP_ERR_FORMAT, "%s: malformed ONNX file: %s", st->fn, what);
}

mlp_status mlp__onnx_unsupported(mlp__onnx_in *st, const mlp__onode *n, const char *why)
{
    char name[72], op[40];
    return mlp__fail(st->ctx, MLP_ERR_UNSUPPORTED, "%s: node %zu '%s' (%s) %s", st->fn, n->index,
                     mlp__ostr_show(n->name, name, sizeof name),
                     mlp__ostr_show(n->op, op, sizeof op), why);
}

int mlp__ostr_eq(mlp__ostr a, mlp__ostr b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

int mlp__ostr_is(mlp__ostr a, const char *s)
{
    size_t n = strlen(s);
    return a.n == n && memcmp(a.p, s, n) == 0;
}

static mlp__ostr fstr(const mlp__pb_field *f)
{
    mlp__ostr s;
    s.p = (const char *)f->data;
    s.n = f->len;
    return s;
}

/* ---- tensors ---- */

/* Add the dims of one dims field (a single varint or a packed run). */
static int tensor_dims(mlp__otensor *t, const mlp__pb_field *f)
{
    const unsigned char *p = f->data, *end = f->data + f->len;
    uint64_t v = f->v;
    for (;;) {
        if (f->wire == MLP__PB_LEN) {
            if (p == end)
                return 1;
            if (!mlp__pb_varint(&p, end, &v))
                return 0;
        } else if (f->wire != MLP__PB_VARINT) {
            return 0;
        }
        /* dims are int64 >= 0; a dimension past 2^40 is nothing we can hold */
        if (v > ((uint64_t)1 << 40))
            return 0;
        if (t->ndim < MLP__ONNX_MAX_DIMS)
            t->dims[t->ndim] = (int64_t)v;
        t->ndim++;
        if (t->ndim > 64)
            return 0;
        if (f->wire == MLP__PB_VARINT)
            return 1;
    }
}

mlp_status mlp__otensor_parse(mlp__onnx_in *st, const unsigned char *msg, size_t len,
                              mlp__otensor *t)
{
    mlp__pb r;
    mlp__pb_field f;
    int rc, d;
    memset(t, 0, sizeof *t);
    t->msg = msg;
    t->len = len;
    mlp__pb_init(&r, msg, len);
    while ((rc = mlp__pb_next(&r, &f)) == 1) {
        switch (f.num) {
        case ONNX_TENSOR_DIMS:
            if (!tensor_dims(t, &f))
                return mlp__onnx_bad(st, "tensor dimensions");
            break;
        case ONNX_TENSOR_DATA_TYPE: t->dtype = (int32_t)f.v; break;
        case ONNX_TENSOR_NAME:
            if (f.wire != MLP__PB_LEN)
                return mlp__onnx_bad(st, "tensor name");
            t->name = fstr(&f);
            break;
        case ONNX_TENSOR_RAW_DATA:
            if (f.wire != MLP__PB_LEN)
                return mlp__onnx_bad(st, "tensor raw_data");
            t->raw = f.data;
            t->raw_len = f.len;
            t->has_raw = 1;
            break;
        case ONNX_TENSOR_FLOAT_DATA:
            if (f.wire == MLP__PB_FIXED32) {
                t->nfloat++;
            } else if (f.wire == MLP__PB_LEN && f.len % 4 == 0) {
                t->nfloat += (int64_t)(f.len / 4);
            } else {
                return mlp__onnx_bad(st, "tensor float_data");
            }
            break;
        case ONNX_TENSOR_DATA_LOCATION: t->external = f.v != 0; break;
        case ONNX_TENSOR_SEGMENT: t->external = 1; break;
        default: break;
        }
    }
    if (rc < 0)
        return mlp__onnx_bad(st, "a tensor's fields");
    t->numel = 1;
    for (d = 0; d < t->ndim && d < MLP__ONNX_MAX_DIMS; d++) {
        if (t->dims[d] && t->numel > ((int64_t)1 << 40) / t->dims[d])
            return mlp__onnx_bad(st, "tensor too large");
        t->numel *= t->dims[d];
    }
    return MLP_OK;
}

/* ---- nodes and attributes ---- */

mlp_status mlp__onode_parse(mlp__onnx_in *st, size_t index, mlp__onode *n)
{
    mlp__pb r;
    mlp__pb_field f;
    int rc;
    memset(n, 0, sizeof *n);
    n->index = index;
    n->p = (const unsigned char *)st->nodes[index].p;
    n->len = st->nodes[index].n;
    mlp__pb_init(&r, n->p, n->len);
    while ((rc = mlp__pb_next(&r, &f)) == 1) {
        if (f.num != ONNX_NODE_ATTRIBUTE && f.num <= ONNX_NODE_DOMAIN && f.num != 6
            && f.wire != MLP__PB_LEN)
            return mlp__onnx_bad(st, "a node's fields");
        switch (f.num) {
        case ONNX_NODE_INPUT:
            if (n->nin < MLP__ONODE_MAX_IO)
                n->in[n->nin] = fstr(&f);
            n->nin++;
            break;
        case ONNX_NODE_OUTPUT:
            if (n->nout < MLP__ONODE_MAX_IO)
                n->out[n->nout] = fstr(&f);
            n->nout++;
            break;
        case ONNX_NODE_NAME: n->name = fstr(&f); break;
        case ONNX_NODE_OP_TYPE: n->op = fstr(&f); break;
        case ONNX_NODE_DOMAIN: n->domain = fstr(&f); break;
        default: break;
        }
    }
    if (rc < 0)
        return mlp__onnx_bad(st, "a node's fields");
    return MLP_OK;
}

mlp_status mlp__onode_attr(mlp__onnx_in *st, const mlp__onode *n, const char *name, mlp__oattr *a)
{
    mlp__pb r, ra;
    mlp__pb_field f, g;
    int rc;
    memset(a, 0, sizeof *a);
    mlp__pb_init(&r, n->p, n->len);
    while ((rc = mlp__pb_next(&r, &f)) == 1) {
        int match = 0;
        if (f.num != ONNX_NODE_ATTRIBUTE)
            continue;
        if (f.wire != MLP__PB_LEN)
            return mlp__onnx_bad(st, "a node attribute");
        mlp__pb_init(&ra, f.data, f.len);
        while ((rc = mlp__pb_next(&ra, &g)) == 1)
            if (g.num == ONNX_ATTR_NAME && mlp__pb_is_str(&g, name))
                match = 1;
        if (rc < 0)
            return mlp__onnx_bad(st, "a node attribute");
        if (!match)
            continue;
        a->found = 1;
        a->msg = f.data;
        a->msglen = f.len;
        mlp__pb_init(&ra, f.data, f.len);
        while (mlp__pb_next(&ra, &g) == 1) {
            switch (g.num) {
            case ONNX_ATTR_TYPE: a->type = (int)g.v; break;
            case ONNX_ATTR_F:
                if (g.wire == MLP__PB_FIXED32) {
                    unsigned char b[4];
                    b[0] = (unsigned char)(g.v & 0xff);
                    b[1] = (unsigned char)((g.v >> 8) & 0xff);
                    b[2] = (unsigned char)((g.v >> 16) & 0xff);
                    b[3] = (unsigned char)((g.v >> 24) & 0xff);
                    a->f = mlp__pb_f32(b);
                    a->has_f = 1;
                }
                break;
            case ONNX_ATTR_I:
                a->i = (int64_t)g.v;
                a->has_i = 1;
                break;
            case ONNX_ATTR_S:
                if (g.wire == MLP__PB_LEN)
                    a->s = fstr(&g), a->has_s = 1;
                break;
            case ONNX_ATTR_T:
                if (g.wire == MLP__PB_LEN)
                    a->t = g.data, a->tlen = g.len, a->has_t = 1;
                break;
            case ONNX_ATTR_INTS: a->has_ints = 1; break;
            default: break;
            }
        }
    }
    if (rc < 0)
        return mlp__onnx_bad(st, "a node's fields");
    return MLP_OK;
}

int64_t mlp__oattr_ints(const mlp__oattr *a, int64_t *out, int64_t cap)
{
    mlp__pb r;
    mlp__pb_field g;
    int64_t n = 0;
    int rc;
    mlp__pb_init(&r, a->msg, a->msglen);
    while ((rc = mlp__pb_next(&r, &g)) == 1) {
        const unsigned char *p = g.data, *end = g.data + g.len;
        uint64_t v = g.v;
        if (g.num != ONNX_ATTR_INTS)
            continue;
        if (g.wire != MLP__PB_VARINT && g.wire != MLP__PB_LEN)
            return -1;
        while (g.wire == MLP__PB_VARINT || p < end) {
            if (g.wire == MLP__PB_LEN && !mlp__pb_varint(&p, end, &v))
                return -1;
            if (n < cap)
                out[n] = (int64_t)v;
            n++;
            if (g.wire == MLP__PB_VARINT)
                break;
        }
    }
    return rc < 0 ? -1 : n;
}

/* ---- constants: initializers and Constant nodes, sorted by name ---- */

int mlp__ostr_cmp(mlp__ostr a, mlp__ostr b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c)
        return c;
    return a.n < b.n ? -1 : a.n > b.n;
}

static int cmp_const(const void *a, const void *b)
{
    return mlp__ostr_cmp(((const mlp__oconst *)a)->name, ((const mlp__oconst *)b)->name);
}

int64_t mlp__onnx_const_find(const mlp__onnx_in *st, mlp__ostr name)
{
    size_t lo = 0, hi = st->nsorted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = mlp__ostr_cmp(name, st->consts[mid].name);
        if (c == 0)
            return (int64_t)mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

/* Emit values in file order, element k to dst[k]. */
static void tensor_read(const mlp__otensor *t, float *dst)
{
    int64_t k = 0;
    if (t->has_raw) {
        for (k = 0; k < t->numel; k++)
            dst[k] = mlp__pb_f32(t->raw + 4 * k);
    } else {
        mlp__pb r;
        mlp__pb_field f;
        mlp__pb_init(&r, t->msg, t->len);
        while (mlp__pb_next(&r, &f) == 1 && k < t->numel) {
            if (f.num != ONNX_TENSOR_FLOAT_DATA)
                continue;
            if (f.wire == MLP__PB_FIXED32) {
                uint32_t u = (uint32_t)f.v;
                memcpy(&dst[k++], &u, 4);
            } else {
                size_t i;
                for (i = 0; i + 4 <= f.len && k < t->numel; i += 4)
                    dst[k++] = mlp__pb_f32(f.data + i);
            }
        }
    }
}

static mlp_status cannot_read(mlp__onnx_in *st, const mlp__onode *user, const mlp__otensor *t,
                              const char *why)
{
    char name[72], what[160];
    snprintf(what, sizeof what, "reads constant '%s', which %s",
             mlp__ostr_show(t->name, name, sizeof name), why);
    return mlp__onnx_unsupported(st, user, what);
}

mlp_status mlp__onnx_const_decode(mlp__onnx_in *st, size_t i, const mlp__onode *user)
{
    mlp__oconst *c = &st->consts[i];
    mlp__otensor t;
    mlp_status s;
    if (c->data)
        return MLP_OK;
    if (c->is_attr_float) {
        memset(&t, 0, sizeof t);
        t.numel = 1;
    } else {
        if ((s = mlp__otensor_parse(st, c->p, c->n, &t)) != MLP_OK)
            return s;
        t.name = c->name;
        if (t.external)
            return cannot_read(st, user, &t, "keeps its data outside the file");
        if (t.dtype != ONNX_DTYPE_FLOAT)
            return cannot_read(st, user, &t, "is not of type float");
        if (t.ndim > 2)
            return cannot_read(st, user, &t, "has more than 2 dimensions");
        if (t.has_raw ? (uint64_t)t.raw_len != (uint64_t)t.numel * 4 : t.nfloat != t.numel) {
            char name[72];
            return mlp__fail(st->ctx, MLP_ERR_FORMAT,
                             "%s: malformed ONNX file: tensor '%s' holds %lld values, its shape "
                             "needs %lld",
                             st->fn, mlp__ostr_show(t.name, name, sizeof name),
                             (long long)(t.has_raw ? (int64_t)(t.raw_len / 4) : t.nfloat),
                             (long long)t.numel);
        }
    }
    if (t.numel > st->budget)
        return mlp__fail(st->ctx, MLP_ERR_FORMAT,
                         "%s: malformed ONNX file: its constants need more memory than a file of "
                         "%zu bytes can describe",
                         st->fn, st->size);
    st->budget -= t.numel;
    c->data = (float *)mlp__alloc(st->ctx, st->fn, (size_t)(t.numel ? t.numel : 1) * sizeof(float));
    if (!c->data)
        return st->ctx->err.code;
    if (c->is_attr_float)
        c->data[0] = c->attr_float;
    else
        tensor_read(&t, c->data);
    c->ndim = t.ndim;
    c->dims[0] = t.ndim > 0 ? t.dims[0] : 1;
    c->dims[1] = t.ndim > 1 ? t.dims[1] : 1;
    return MLP_OK;
}

/* A Constant node's value: attribute value (a tensor) or value_float. */
static mlp_status constant_node(mlp__onnx_in *st, const mlp__onode *n, mlp__oconst *c)
{
    mlp__oattr a;
    mlp_status s;
    if (n->nout != 1 || n->nin != 0)
        return mlp__onnx_unsupported(st, n, "has inputs or more than one output");
    memset(c, 0, sizeof *c);
    c->name = n->out[0];
    c->from_node = 1;
    if ((s = mlp__onode_attr(st, n, "value", &a)) != MLP_OK)
        return s;
    if (a.found && a.has_t) {
        c->p = a.t;
        c->n = a.tlen;
        return MLP_OK;
    }
    if ((s = mlp__onode_attr(st, n, "value_float", &a)) != MLP_OK)
        return s;
    if (a.found && a.has_f) {
        c->is_attr_float = 1;
        c->attr_float = a.f;
        return MLP_OK;
    }
    return mlp__onnx_unsupported(st, n, "holds neither a tensor nor a float value");
}

/* ---- the graph ---- */

static mlp_status count_graph(mlp__onnx_in *st, const unsigned char *g, size_t len, size_t *nnodes,
                              size_t *ninits)
{
    mlp__pb r;
    mlp__pb_field f;
    int rc;
    *nnodes = *ninits = 0;
    mlp__pb_init(&r, g, len);
    while ((rc = mlp__pb_next(&r, &f)) == 1) {
        if ((f.num == ONNX_GRAPH_NODE || f.num == ONNX_GRAPH_INITIALIZER
             || f.num == ONNX_GRAPH_INPUT || f.num == ONNX_GRAPH_OUTPUT)
            && f.wire != MLP__PB_LEN)
            return mlp__onnx_bad(st, "graph fields");
        if (f.num == ONNX_GRAPH_NODE)
            (*nnodes)++;
        else if (f.num == ONNX_GRAPH_INITIALIZER)
            (*ninits)++;
    }
    return rc < 0 ? mlp__onnx_bad(st, "graph fields") : MLP_OK;
}

/* The rank and dims of a ValueInfoProto's tensor type (-1 unknown). */
static mlp_status value_shape(mlp__onnx_in *st, const mlp__pb_field *vi, int *rank, int64_t *dims,
                              int32_t *elem)
{
    mlp__pb r1, r2, r3, r4, r5;
    mlp__pb_field f, g, h, k, d;
    *rank = -1;
    *elem = 0;
    mlp__pb_init(&r1, vi->data, vi->len);
    while (mlp__pb_next(&r1, &f) == 1) {
        if (f.num != ONNX_VALUE_TYPE || f.wire != MLP__PB_LEN)
            continue;
        mlp__pb_init(&r2, f.data, f.len);
        while (mlp__pb_next(&r2, &g) == 1) {
            if (g.num != ONNX_TYPE_TENSOR || g.wire != MLP__PB_LEN)
                continue;
            mlp__pb_init(&r3, g.data, g.len);
            while (mlp__pb_next(&r3, &h) == 1) {
                if (h.num == ONNX_TTYPE_ELEM_TYPE)
                    *elem = (int32_t)h.v;
                if (h.num != ONNX_TTYPE_SHAPE || h.wire != MLP__PB_LEN)
                    continue;
                *rank = 0;
                mlp__pb_init(&r4, h.data, h.len);
                while (mlp__pb_next(&r4, &k) == 1) {
                    if (k.num != ONNX_SHAPE_DIM || k.wire != MLP__PB_LEN)
                        continue;
                    if (*rank < MLP__ONNX_MAX_DIMS)
                        dims[*rank] = -1;
                    mlp__pb_init(&r5, k.data, k.len);
                    while (mlp__pb_next(&r5, &d) == 1)
                        if (d.num == ONNX_DIM_VALUE && d.wire == MLP__PB_VARINT
                            && d.v <= ((uint64_t)1 << 40) && *rank < MLP__ONNX_MAX_DIMS)
                            dims[*rank] = (int64_t)d.v;
                    if (++*rank > 64)
                        return mlp__onnx_bad(st, "input shape");
                }
            }
        }
    }
    return MLP_OK;
}

static mlp__ostr value_name(const mlp__pb_field *vi)
{
    mlp__pb r;
    mlp__pb_field f;
    mlp__ostr s = {NULL, 0};
    mlp__pb_init(&r, vi->data, vi->len);
    while (mlp__pb_next(&r, &f) == 1)
        if (f.num == ONNX_VALUE_NAME && f.wire == MLP__PB_LEN)
            s = fstr(&f);
    return s;
}

/* The graph's nodes (kept as byte ranges) and its named constants: the
 * initializers and the Constant nodes, sorted by name, no name twice.
 * st->nodes and st->consts have room for them (count_graph). */
static mlp_status read_constants(mlp__onnx_in *st, const unsigned char *g, size_t len)
{
    mlp__pb r;
    mlp__pb_field f;
    mlp__onode n;
    mlp_status s;
    size_t i;
    mlp__pb_init(&r, g, len);
    while (mlp__pb_next(&r, &f) == 1) {
        if (f.num == ONNX_GRAPH_NODE) {
            st->nodes[st->nnodes++] = fstr(&f);
        } else if (f.num == ONNX_GRAPH_INITIALIZER) {
            mlp__otensor t;
            if ((s = mlp__otensor_parse(st, f.data, f.len, &t)) != MLP_OK)
                return s;
            if (t.name.n == 0)
                continue; /* nothing can refer to it */
            st->consts[st->nconsts].name = t.name;
            st->consts[st->nconsts].p = f.data;
            st->consts[st->nconsts++].n = f.len;
        }
    }
    for (i = 0; i < st->nnodes; i++) {
        if ((s = mlp__onode_parse(st, i, &n)) != MLP_OK)
            return s;
        if (mlp__ostr_is(n.op, "Constant") && n.domain.n == 0) {
            if ((s = constant_node(st, &n, &st->consts[st->nconsts])) != MLP_OK)
                return s;
            st->nconsts++;
        }
    }
    qsort(st->consts, st->nconsts, sizeof *st->consts, cmp_const);
    st->nsorted = st->nconsts;
    for (i = 1; i < st->nconsts; i++)
        if (cmp_const(&st->consts[i - 1], &st->consts[i]) == 0) {
            char name[72];
            return mlp__fail(st->ctx, MLP_ERR_FORMAT,
                             "%s: malformed ONNX file: two constants are named '%s'", st->fn,
                             mlp__ostr_show(st->consts[i].name, name, sizeof name));
        }
    return MLP_OK;
}

/* The graph's one input that is not a constant (keep_initializers_as_inputs
 * lists those too), its shape and type, and its one output. */
static mlp_status read_io(mlp__onnx_in *st, const unsigned char *g, size_t len)
{
    mlp__pb r;
    mlp__pb_field f;
    size_t ninputs = 0, noutputs = 0;
    mlp_status s;
    mlp__pb_init(&r, g, len);
    while (mlp__pb_next(&r, &f) == 1) {
        if (f.num == ONNX_GRAPH_INPUT) {
            mlp__ostr name = value_name(&f);
            int32_t elem;
            if (mlp__onnx_const_find(st, name) >= 0)
                continue;
            if (ninputs++ == 0) {
                st->input = name;
                if ((s = value_shape(st, &f, &st->in_rank, st->in_dims, &elem)) != MLP_OK)
                    return s;
                if (elem != 0 && elem != ONNX_DTYPE_FLOAT)
                    return mlp__fail(st->ctx, MLP_ERR_UNSUPPORTED,
                                     "%s: the graph input has data type %d; libmlp reads float",
                                     st->fn, (int)elem);
            }
        } else if (f.num == ONNX_GRAPH_OUTPUT) {
            if (noutputs++ == 0)
                st->output = value_name(&f);
        }
    }
    if (ninputs != 1 || noutputs != 1)
        return mlp__fail(st->ctx, MLP_ERR_UNSUPPORTED,
                         "%s: the graph has %zu inputs (besides initializers) and %zu outputs; "
                         "libmlp runs graphs with one of each",
                         st->fn, ninputs, noutputs);
    if (st->input.n == 0 || st->output.n == 0)
        return mlp__onnx_bad(st, "a graph input or output without a name");
    return MLP_OK;
}

/* Fill the node and constant tables, find the data input and the output. */
static mlp_status read_graph(mlp__onnx_in *st, const unsigned char *g, size_t len)
{
    size_t nnodes, ninits;
    mlp_status s;

    if ((s = count_graph(st, g, len, &nnodes, &ninits)) != MLP_OK)
        return s;
    if (nnodes == 0)
        return mlp__fail(st->ctx, MLP_ERR_UNSUPPORTED, "%s: the graph has no nodes", st->fn);
    /* each entry stands for at least two bytes of the file; the constants
     * leave room for the Constant and Transpose nodes */
    st->nodes = (mlp__ostr *)mlp__calloc(st->ctx, st->fn, nnodes, sizeof *st->nodes);
    st->consts = (mlp__oconst *)mlp__calloc(st->ctx, st->fn, nnodes + ninits, sizeof *st->consts);
    if (!st->nodes || !st->consts)
        return st->ctx->err.code;
    if ((s = read_constants(st, g, len)) != MLP_OK)
        return s;
    return read_io(st, g, len);
}

/* ModelProto: the default domain's opset and the graph. */
mlp_status mlp__onnx_read_model(mlp__onnx_in *st)
{
    mlp__pb r, ro;
    mlp__pb_field f, g;
    const unsigned char *graph = NULL;
    size_t glen = 0;
    int rc, have_opset = 0;
    mlp__pb_init(&r, st->buf, st->size);
    while ((rc = mlp__pb_next(&r, &f)) == 1) {
        if (f.num == ONNX_MODEL_GRAPH) {
            if (f.wire != MLP__PB_LEN)
                return mlp__onnx_bad(st, "the graph field");
            graph = f.data;
            glen = f.len;
        } else if (f.num == ONNX_MODEL_OPSET_IMPORT) {
            mlp__ostr domain = {"", 0};
            int64_t version = 0;
            if (f.wire != MLP__PB_LEN)
                return mlp__onnx_bad(st, "an opset_import field");
            mlp__pb_init(&ro, f.data, f.len);
            while ((rc = mlp__pb_next(&ro, &g)) == 1) {
                if (g.num == ONNX_OPSET_DOMAIN && g.wire == MLP__PB_LEN)
                    domain = fstr(&g);
                else if (g.num == ONNX_OPSET_VERSION && g.wire == MLP__PB_VARINT)
                    version = (int64_t)g.v;
            }
            if (rc < 0)
                return mlp__onnx_bad(st, "an opset_import field");
            if (domain.n == 0 || mlp__ostr_is(domain, "ai.onnx")) {
                st->opset = version;
                have_opset = 1;
            }
        }
    }
    if (rc < 0)
        return mlp__onnx_bad(st, "the model's fields (not an ONNX file?)");
    if (!graph || !have_opset)
        return mlp__fail(st->ctx, MLP_ERR_FORMAT,
                         "%s: not an ONNX model (no graph or no opset for the default domain)",
                         st->fn);
    if (st->opset < MIN_OPSET || st->opset > MAX_OPSET)
        return mlp__fail(st->ctx, MLP_ERR_UNSUPPORTED,
                         "%s: opset %lld of the default domain; libmlp reads opsets %d to %d",
                         st->fn, (long long)st->opset, MIN_OPSET, MAX_OPSET);
    return read_graph(st, graph, glen);
}
