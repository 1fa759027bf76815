/*
 * onnx_chain.c - from an ONNX graph to a model. The graph's nodes must
 * form a chain: each reads the running value (the graph input at first)
 * and constants, and its output becomes the running value; a layer kind
 * may take a short run of nodes that also read each other (GELU's Erf
 * form). Constant nodes, Transposes of constants (folded here), Identity
 * and Flatten of the batch are the reader's; every other node is offered
 * to the layer kinds' onnx_import slots in table order (nn/layer_onnx.h).
 * Whatever no kind takes, or that leaves the chain, fails with
 * MLP_ERR_UNSUPPORTED naming the node, its op and its position.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "io/onnx_read.h"
#include "nn/layers.h"

#define MAX_FILE_BYTES ((size_t)1 << (sizeof(size_t) >= 8 ? 34 : 30))

/* Every op some part of the reader or a layer kind knows. The chain keeps
 * these static names, so kinds compare with strcmp; any other op is "". */
static const char *const known_ops[] = {
    "Add",  "Cast",    "Constant", "Div",       "Dropout",    "Erf",      "Flatten", "Gelu",
    "Gemm", "Greater", "Identity", "LeakyRelu", "LogSoftmax", "MatMul",   "Mul",     "PRelu",
    "Relu", "Sigmoid", "Softmax",  "Sub",       "Tanh",       "Transpose"};

static const char *known_op(const mlp__onode *n)
{
    size_t i;
    if (n->domain.n && !mlp__ostr_is(n->domain, "ai.onnx"))
        return "";
    for (i = 0; i < sizeof known_ops / sizeof known_ops[0]; i++)
        if (mlp__ostr_is(n->op, known_ops[i]))
            return known_ops[i];
    return "";
}

static int cmp_value(const void *a, const void *b)
{
    return mlp__ostr_cmp(((const mlp__ovalue *)a)->name, ((const mlp__ovalue *)b)->name);
}

static const mlp__ovalue *find_value(const mlp__onnx_in *st, mlp__ostr name)
{
    mlp__ovalue key;
    key.name = name;
    return (const mlp__ovalue *)bsearch(&key, st->values, st->nvalues, sizeof key, cmp_value);
}

/* A Transpose of a 2-D constant: a new constant holding the transpose. */
static mlp_status fold_transpose(mlp__onnx_in *st, const mlp__onode *n, int64_t ci)
{
    mlp__oattr a;
    mlp__oconst *src, *dst;
    mlp_status s;
    int64_t r, c, R, C;
    if ((s = mlp__onode_attr(st, n, "perm", &a)) != MLP_OK)
        return s;
    if (a.found) { /* perm must be [1, 0] (the default for a matrix) */
        int64_t perm[2];
        if (mlp__oattr_ints(&a, perm, 2) != 2 || perm[0] != 1 || perm[1] != 0)
            return mlp__onnx_unsupported(st, n, "permutes other than a matrix transpose");
    }
    if ((s = mlp__onnx_const_decode(st, (size_t)ci, n)) != MLP_OK)
        return s;
    src = &st->consts[ci];
    if (src->ndim != 2)
        return mlp__onnx_unsupported(st, n, "transposes a constant that is not a matrix");
    R = src->dims[0];
    C = src->dims[1];
    if (R * C > st->budget)
        return mlp__onnx_bad(st, "constants larger than the file can hold");
    st->budget -= R * C;
    dst = &st->consts[st->nconsts];
    memset(dst, 0, sizeof *dst);
    dst->name = n->out[0];
    dst->data =
        (float *)mlp__alloc(st->ctx, st->fn, (size_t)(R * C > 0 ? R * C : 1) * sizeof(float));
    if (!dst->data)
        return st->ctx->err.code;
    st->nconsts++;
    src = &st->consts[ci];
    for (r = 0; r < R; r++)
        for (c = 0; c < C; c++)
            dst->data[c * R + r] = src->data[r * C + c];
    dst->ndim = 2;
    dst->dims[0] = C;
    dst->dims[1] = R;
    return MLP_OK;
}

/* The value table: every output of every chain node (first outputs by
 * position, others as FROM_OTHER) and every folded constant. */
static mlp_status add_value(mlp__onnx_in *st, mlp__ostr name, int32_t src, int32_t cref)
{
    if (name.n == 0)
        return MLP_OK;
    st->values[st->nvalues].name = name;
    st->values[st->nvalues].src = src;
    st->values[st->nvalues++].cref = cref;
    return MLP_OK;
}

/* Where each input of each chain node comes from. */
static mlp_status resolve_inputs(mlp__onnx_in *st)
{
    size_t j;
    int k;
    for (j = 0; j < st->nchain; j++) {
        mlp__olink *L = &st->chain[j];
        mlp__onode n;
        mlp_status s = mlp__onode_parse(st, L->node, &n);
        if (s != MLP_OK)
            return s;
        for (k = 0; k < n.nin && k < MLP__ONODE_MAX_IO; k++) {
            int64_t ci;
            const mlp__ovalue *v;
            L->cref[k] = -1;
            if (n.in[k].n == 0) { /* an optional input left out */
                L->src[k] = MLP__ONNX_FROM_CONST;
            } else if ((ci = mlp__onnx_const_find(st, n.in[k])) >= 0) {
                L->src[k] = MLP__ONNX_FROM_CONST;
                L->cref[k] = (int32_t)ci;
            } else if (mlp__ostr_eq(n.in[k], st->input)) {
                L->src[k] = MLP__ONNX_FROM_INPUT;
            } else if ((v = find_value(st, n.in[k])) != NULL) {
                L->src[k] = v->src;
                L->cref[k] = v->cref;
                if (v->src >= 0 && (size_t)v->src >= j)
                    return mlp__onnx_unsupported(st, &n, "reads a value made by a later node");
            } else {
                char name[72], why[128];
                snprintf(why, sizeof why, "reads '%s', which nothing in the graph defines",
                         mlp__ostr_show(n.in[k], name, sizeof name));
                return mlp__onnx_unsupported(st, &n, why);
            }
        }
    }
    return MLP_OK;
}

/* Sort the chain out of the graph's nodes: fold what is constant, list
 * the rest in order, name every value, resolve every input. */
static mlp_status build_chain(mlp__onnx_in *st)
{
    size_t i, cap = st->nnodes * 2;
    mlp_status s;
    mlp__onode n;
    st->chain = (mlp__olink *)mlp__calloc(st->ctx, st->fn, st->nnodes, sizeof *st->chain);
    st->values = (mlp__ovalue *)mlp__calloc(st->ctx, st->fn, cap, sizeof *st->values);
    if (!st->chain || !st->values)
        return st->ctx->err.code;
    for (i = 0; i < st->nnodes; i++) {
        const char *op;
        int k;
        if ((s = mlp__onode_parse(st, i, &n)) != MLP_OK)
            return s;
        op = known_op(&n);
        if (strcmp(op, "Constant") == 0)
            continue; /* in the constant table already */
        if (n.nout < 1 || n.out[0].n == 0)
            return mlp__onnx_unsupported(st, &n, "has no output");
        if (strcmp(op, "Transpose") == 0 && n.nin == 1) {
            int64_t ci = mlp__onnx_const_find(st, n.in[0]);
            if (ci >= 0) {
                if ((s = fold_transpose(st, &n, ci)) != MLP_OK)
                    return s;
                add_value(st, n.out[0], MLP__ONNX_FROM_CONST, (int32_t)(st->nconsts - 1));
                continue;
            }
        }
        st->chain[st->nchain].node = i;
        st->chain[st->nchain].op = op;
        st->chain[st->nchain].nin = n.nin;
        for (k = 0; k < n.nout && k < 2; k++)
            add_value(st, n.out[k], k == 0 ? (int32_t)st->nchain : MLP__ONNX_FROM_OTHER, -1);
        st->nchain++;
    }
    qsort(st->values, st->nvalues, sizeof *st->values, cmp_value);
    for (i = 1; i < st->nvalues; i++)
        if (cmp_value(&st->values[i - 1], &st->values[i]) == 0)
            return mlp__onnx_bad(st, "two nodes write the same value");
    for (i = 0; i < st->nvalues; i++)
        if (mlp__onnx_const_find(st, st->values[i].name) >= 0
            || mlp__ostr_eq(st->values[i].name, st->input))
            return mlp__onnx_bad(st, "a node writes a value that is a constant or the input");
    if (st->nchain == 0)
        return mlp__fail(st->ctx, MLP_ERR_UNSUPPORTED,
                         "%s: the graph computes nothing from its input", st->fn);
    return resolve_inputs(st);
}

/* ---- the reader the layer kinds see (nn/layer_onnx.h) ---- */

static const char *r_op(void *self, size_t i)
{
    mlp__onnx_in *st = (mlp__onnx_in *)self;
    return i < st->nchain ? st->chain[i].op : NULL;
}

static int r_attr(mlp__onnx_in *st, size_t i, const char *name, mlp__oattr *a)
{
    mlp__onode n;
    if (i >= st->nchain || mlp__onode_parse(st, st->chain[i].node, &n) != MLP_OK
        || mlp__onode_attr(st, &n, name, a) != MLP_OK)
        return 0;
    return a->found;
}

static int r_attr_int(void *self, size_t i, const char *name, int64_t *v)
{
    mlp__oattr a;
    if (!r_attr((mlp__onnx_in *)self, i, name, &a) || !a.has_i)
        return 0;
    *v = a.i;
    return 1;
}

static int r_attr_float(void *self, size_t i, const char *name, float *v)
{
    mlp__oattr a;
    if (!r_attr((mlp__onnx_in *)self, i, name, &a) || !a.has_f)
        return 0;
    *v = a.f;
    return 1;
}

static int r_attr_str_is(void *self, size_t i, const char *name, const char *v)
{
    mlp__oattr a;
    size_t n = strlen(v);
    return r_attr((mlp__onnx_in *)self, i, name, &a) && a.has_s && a.s.n == n
           && memcmp(a.s.p, v, n) == 0;
}

static int r_const_input(void *self, size_t i, int k, mlp__onnx_const *c)
{
    mlp__onnx_in *st = (mlp__onnx_in *)self;
    const mlp__olink *L;
    mlp__oconst *cc;
    mlp__onode n;
    if (i >= st->nchain || k < 0 || k >= st->chain[i].nin || k >= MLP__ONODE_MAX_IO)
        return 0;
    L = &st->chain[i];
    if (L->src[k] != MLP__ONNX_FROM_CONST || L->cref[k] < 0)
        return 0;
    if (mlp__onode_parse(st, L->node, &n) != MLP_OK
        || mlp__onnx_const_decode(st, (size_t)L->cref[k], &n) != MLP_OK) {
        st->read_failed = 1; /* the walk stops on it, whatever the kind does */
        return -1;
    }
    cc = &st->consts[L->cref[k]];
    memset(c, 0, sizeof *c);
    c->ndim = cc->ndim;
    c->dims[0] = cc->dims[0];
    c->dims[1] = cc->dims[1];
    c->numel = cc->ndim == 0 ? 1 : cc->ndim == 1 ? cc->dims[0] : cc->dims[0] * cc->dims[1];
    c->data = cc->data;
    return 1;
}

static int r_num_inputs(void *self, size_t i)
{
    mlp__onnx_in *st = (mlp__onnx_in *)self;
    return i < st->nchain ? st->chain[i].nin : 0;
}

static int64_t r_source(void *self, size_t i, int k)
{
    mlp__onnx_in *st = (mlp__onnx_in *)self;
    if (i >= st->nchain || k < 0 || k >= st->chain[i].nin)
        return MLP__ONNX_FROM_CONST;
    if (k >= MLP__ONODE_MAX_IO)
        return MLP__ONNX_FROM_OTHER;
    return st->chain[i].src[k];
}

static int r_fail(void *self, size_t i, const char *why)
{
    mlp__onnx_in *st = (mlp__onnx_in *)self;
    mlp__onode n;
    if (i < st->nchain && mlp__onode_parse(st, st->chain[i].node, &n) == MLP_OK)
        mlp__onnx_unsupported(st, &n, why);
    return -1;
}

/* ---- the walk ---- */

/* Nodes [at, at + used) may read constants, the running value `run` and
 * outputs of nodes before them in the run. */
static int stays_in_chain(mlp__onnx_in *st, size_t at, size_t used, int64_t run)
{
    size_t i;
    int k;
    for (i = at; i < at + used; i++)
        for (k = 0; k < st->chain[i].nin; k++) {
            int64_t s = k < MLP__ONODE_MAX_IO ? st->chain[i].src[k] : MLP__ONNX_FROM_OTHER;
            if (s == MLP__ONNX_FROM_CONST || s == run || (s >= (int64_t)at && s < (int64_t)i))
                continue;
            return r_fail(st, i, "reads a value from outside the chain of layers"), 0;
        }
    return 1;
}

/* Identity, and Flatten of [N, C, H, W] to [N, C*H*W] (rows stay rows). */
static int reader_node(mlp__onnx_in *st, size_t at, int64_t run, int *rank, int64_t *width)
{
    const char *op = st->chain[at].op;
    if (strcmp(op, "Identity") != 0 && strcmp(op, "Flatten") != 0)
        return 0;
    if (st->chain[at].src[0] != run)
        return r_fail(st, at, "does not read the running value");
    if (strcmp(op, "Flatten") == 0) {
        int64_t axis = 1;
        r_attr_int(st, at, "axis", &axis);
        if (axis < 0 && *rank > 0)
            axis += *rank;
        if (axis != 1)
            return r_fail(st, at, "flattens at an axis other than 1 (the batch)");
        *rank = 2;
    }
    (void)width;
    return 1;
}

/* The input's features, when the file gives all of them. */
static int64_t input_width(const mlp__onnx_in *st)
{
    int64_t w = 1;
    int d;
    if (st->in_rank < 2 || st->in_rank > MLP__ONNX_MAX_DIMS)
        return 0;
    for (d = 1; d < st->in_rank; d++) {
        if (st->in_dims[d] <= 0 || w > MLP__MAX_FEATURES / st->in_dims[d])
            return 0;
        w *= st->in_dims[d];
    }
    return w;
}

/* The reader the layer kinds' onnx_import read st through. */
static void reader_init(mlp__onnx_reader *r, mlp__onnx_in *st)
{
    memset(r, 0, sizeof *r);
    r->self = st;
    r->ctx = st->ctx;
    r->num_nodes = st->nchain;
    r->opset = st->opset;
    r->op = r_op;
    r->attr_int = r_attr_int;
    r->attr_float = r_attr_float;
    r->attr_str_is = r_attr_str_is;
    r->const_input = r_const_input;
    r->num_inputs = r_num_inputs;
    r->source = r_source;
    r->fail = r_fail;
}

/* The layer at node `at`, reading the running value `run` (rank
 * dimensions, width features): the first layer kind whose onnx_import
 * takes it appends it to m. The nodes it used, or -1 with the error set.
 * *params counts the model's parameters, which a file cannot hold more
 * of than its bytes allow. */
static int import_layer(mlp__onnx_in *st, mlp__onnx_reader *r, size_t at, int64_t run, int rank,
                        int64_t width, mlp_model *m, int64_t *params)
{
    size_t before = m->nlayers, l;
    const mlp__kind *k;
    int used = 0, kind, j;
    if (rank != 2)
        return r_fail(st, at, "reads a value that is not a batch of rows (Flatten first)");
    r->width = width;
    for (kind = 0; (k = mlp__kind_of(kind)) != NULL; kind++) {
        if (k->onnx_import)
            used = k->onnx_import(r, at, m, st->fn);
        if (st->read_failed)
            used = -1;
        if (used != 0)
            break;
    }
    if (used == 0)
        used = r_fail(st, at, "is not supported");
    if (used < 0 || !stays_in_chain(st, at, (size_t)used, run))
        return -1;
    for (l = before; l < m->nlayers; l++)
        for (j = 0; j < MLP__LAYER_TENSORS; j++)
            *params += m->layers[l].t[j] ? m->layers[l].t[j]->numel : 0;
    if (*params > (int64_t)(st->size / 2) + 4096) {
        mlp__onnx_bad(st, "its layers hold more parameters than the file");
        return -1;
    }
    return used;
}

mlp_model *mlp__onnx_build(mlp__onnx_in *st)
{
    mlp__onnx_reader r;
    mlp_model *m;
    size_t at = 0;
    int64_t run = MLP__ONNX_FROM_INPUT, width = input_width(st), params = 0;
    int rank = st->in_rank < 0 ? 2 : st->in_rank;
    const mlp__ovalue *out;

    if (build_chain(st) != MLP_OK)
        return NULL;
    reader_init(&r, st);
    if (rank < 2) {
        mlp__fail(st->ctx, MLP_ERR_UNSUPPORTED,
                  "%s: the graph input has %d dimensions; libmlp reads a batch [N, features]",
                  st->fn, rank);
        return NULL;
    }
    if (!(m = mlp_model_new(st->ctx)))
        return NULL;
    /* each node an Identity or Flatten the walk follows, or a layer */
    while (at < st->nchain) {
        int used = reader_node(st, at, run, &rank, &width);
        if (used == 0 && (used = import_layer(st, &r, at, run, rank, width, m, &params)) > 0)
            width = mlp__model_width(m, m->nlayers, width);
        if (used < 0)
            break;
        at += (size_t)used;
        run = (int64_t)at - 1;
    }
    out = find_value(st, st->output);
    if (at == st->nchain && (!out || out->src != run)) {
        mlp__fail(st->ctx, MLP_ERR_UNSUPPORTED,
                  "%s: the graph's output is not the end of its chain of layers", st->fn);
        at = 0;
    }
    if (at == st->nchain && m->nlayers == 0) {
        mlp__fail(st->ctx, MLP_ERR_UNSUPPORTED, "%s: the graph has no layer (only %s)", st->fn,
                  "Identity, Flatten and constants");
        at = 0;
    }
    if (at != st->nchain) {
        mlp_model_free(m);
        return NULL;
    }
    mlp_model_set_training(m, 0);
    return m;
}

void mlp__onnx_in_free(mlp__onnx_in *st)
{
    size_t i;
    for (i = 0; st->consts && i < st->nconsts; i++)
        mlp__free(st->ctx, st->consts[i].data);
    mlp__free(st->ctx, st->consts);
    mlp__free(st->ctx, st->nodes);
    mlp__free(st->ctx, st->chain);
    mlp__free(st->ctx, st->values);
}

static void *parse(mlp_ctx *ctx, const char *fn, const unsigned char *b, size_t size,
                   const void *opt)
{
    mlp__onnx_in st;
    mlp_model *m = NULL;
    (void)opt;
    memset(&st, 0, sizeof st);
    st.ctx = ctx;
    st.fn = fn;
    st.buf = b;
    st.size = size;
    st.budget = (int64_t)(size / 2) + 4096;
    if (mlp__onnx_read_model(&st) == MLP_OK)
        m = mlp__onnx_build(&st);
    mlp__onnx_in_free(&st);
    return m;
}

mlp_model *mlp_model_load_onnx_mem(mlp_ctx *ctx, const void *buf, size_t size)
{
    return (mlp_model *)mlp__load_mem(ctx, __func__, buf, size, parse, NULL);
}

mlp_model *mlp_model_load_onnx(mlp_ctx *ctx, const char *path)
{
    return (mlp_model *)mlp__load_path(ctx, __func__, path, MAX_FILE_BYTES, parse, NULL);
}
