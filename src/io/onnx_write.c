/*
 * onnx_write.c - writing a model as ONNX: opset 13, one graph input
 * "features" [batch, in] with a dynamic batch, one output named for what
 * it holds ("logits", "probabilities", ...), producer "libmlp" and its
 * version. Each layer kind writes its own nodes and initializers through
 * the emitter here (nn/layer_onnx.h); a first pass that only counts finds
 * the last layer that writes a node, whose output is the graph's.
 * Initializers are written after all nodes, as raw little-endian floats.
 */
#include <stdio.h>
#include <string.h>

#include "io/file.h"
#include "io/onnx.h"
#include "nn/layers.h"

#define INPUT_NAME "features"

typedef struct writer {
    mlp_ctx *ctx;
    const char *fn;
    int counting; /* first pass: count nodes, write nothing */
    size_t nodes_written;
    mlp__pbw nodes, inits;
} writer;

static mlp_status w_tensor(void *self, const char *name, int ndim, const int64_t *dims,
                           const float *data)
{
    writer *w = (writer *)self;
    size_t mark;
    int64_t n = 1;
    int d;
    if (w->counting)
        return MLP_OK;
    mark = mlp__pbw_begin(&w->inits, ONNX_GRAPH_INITIALIZER);
    for (d = 0; d < ndim; d++) {
        mlp__pbw_int64(&w->inits, ONNX_TENSOR_DIMS, dims[d]);
        n *= dims[d];
    }
    mlp__pbw_varint(&w->inits, ONNX_TENSOR_DATA_TYPE, ONNX_DTYPE_FLOAT);
    mlp__pbw_str(&w->inits, ONNX_TENSOR_NAME, name);
    mlp__pbw_floats_raw(&w->inits, ONNX_TENSOR_RAW_DATA, data, (size_t)n);
    mlp__pbw_end(&w->inits, mark);
    return w->inits.status;
}

static mlp_status w_node(void *self, const char *op_type, const char *const *in, int nin,
                         const char *out, const mlp__onnx_attr *attrs, int nattrs)
{
    writer *w = (writer *)self;
    mlp__pbw *p = &w->nodes;
    size_t mark, am;
    int i;
    w->nodes_written++;
    if (w->counting)
        return MLP_OK;
    mark = mlp__pbw_begin(p, ONNX_GRAPH_NODE);
    for (i = 0; i < nin; i++)
        mlp__pbw_str(p, ONNX_NODE_INPUT, in[i]);
    mlp__pbw_str(p, ONNX_NODE_OUTPUT, out);
    mlp__pbw_str(p, ONNX_NODE_NAME, out); /* values and nodes live in different namespaces */
    mlp__pbw_str(p, ONNX_NODE_OP_TYPE, op_type);
    for (i = 0; i < nattrs; i++) {
        am = mlp__pbw_begin(p, ONNX_NODE_ATTRIBUTE);
        mlp__pbw_str(p, ONNX_ATTR_NAME, attrs[i].name);
        if (attrs[i].type == MLP__ONNX_FLOAT) {
            mlp__pbw_float(p, ONNX_ATTR_F, attrs[i].f);
            mlp__pbw_varint(p, ONNX_ATTR_TYPE, ONNX_ATTR_TYPE_FLOAT);
        } else {
            mlp__pbw_int64(p, ONNX_ATTR_I, attrs[i].i);
            mlp__pbw_varint(p, ONNX_ATTR_TYPE, ONNX_ATTR_TYPE_INT);
        }
        mlp__pbw_end(p, am);
    }
    mlp__pbw_end(p, mark);
    return p->status;
}

/* A graph input or output: float [batch, features]. */
static void value_info(mlp__pbw *p, uint32_t field, const char *name, int64_t features)
{
    size_t vi = mlp__pbw_begin(p, field), ty, tt, sh, dim;
    mlp__pbw_str(p, ONNX_VALUE_NAME, name);
    ty = mlp__pbw_begin(p, ONNX_VALUE_TYPE);
    tt = mlp__pbw_begin(p, ONNX_TYPE_TENSOR);
    mlp__pbw_varint(p, ONNX_TTYPE_ELEM_TYPE, ONNX_DTYPE_FLOAT);
    sh = mlp__pbw_begin(p, ONNX_TTYPE_SHAPE);
    dim = mlp__pbw_begin(p, ONNX_SHAPE_DIM);
    mlp__pbw_str(p, ONNX_DIM_PARAM, "batch");
    mlp__pbw_end(p, dim);
    dim = mlp__pbw_begin(p, ONNX_SHAPE_DIM);
    mlp__pbw_int64(p, ONNX_DIM_VALUE, features);
    mlp__pbw_end(p, dim);
    mlp__pbw_end(p, sh);
    mlp__pbw_end(p, tt);
    mlp__pbw_end(p, ty);
    mlp__pbw_end(p, vi);
}

/* What the model's output holds, from the kind that writes it. */
static const char *output_name(const mlp__layer *L)
{
    if (strcmp(L->k->name, "linear") == 0)
        return "logits";
    if (strcmp(L->k->name, "softmax") == 0)
        return "probabilities";
    if (strcmp(L->k->name, "log_softmax") == 0)
        return "log_probabilities";
    return "output";
}

/* One pass over the layers; in the counting pass *last gets the index of
 * the last layer that writes a node, in the writing pass it names that
 * layer's output after the graph's. */
static mlp_status layers_pass(writer *w, const mlp_model *m, size_t *last, char *final_name,
                              size_t cap)
{
    mlp__onnx_emitter e;
    char prefix[32], proposed[48], cur[48];
    size_t i;
    e.self = w;
    e.tensor = w_tensor;
    e.node = w_node;
    snprintf(cur, sizeof cur, "%s", INPUT_NAME);
    for (i = 0; i < m->nlayers; i++) {
        const mlp__layer *L = &m->layers[i];
        const char *y = NULL;
        size_t before = w->nodes_written;
        mlp_status s;
        if (!L->k->onnx_export)
            return mlp__fail(w->ctx, MLP_ERR_UNSUPPORTED, "%s: layer %zu (%s) has no ONNX form",
                             w->fn, i, L->k->name);
        snprintf(prefix, sizeof prefix, "layer%zu.", i);
        if (!w->counting && i == *last)
            snprintf(proposed, sizeof proposed, "%s", output_name(L));
        else
            snprintf(proposed, sizeof proposed, "layer%zu.out", i);
        y = proposed;
        if ((s = L->k->onnx_export(&e, L, prefix, cur, &y)) != MLP_OK)
            return s;
        if (w->nodes_written > before)
            *last = w->counting ? i : *last;
        if (y != cur) /* a layer that writes nothing hands back x itself */
            snprintf(cur, sizeof cur, "%s", y);
    }
    snprintf(final_name, cap, "%s", cur);
    return MLP_OK;
}

static mlp_status build(const mlp_model *m, const char *fn, mlp__pbw *out)
{
    writer w;
    size_t last = 0, g;
    char final_name[48];
    mlp_status s;
    memset(&w, 0, sizeof w);
    w.ctx = m->ctx;
    w.fn = fn;
    w.counting = 1;
    if (m->nlayers == 0)
        return mlp__fail(m->ctx, MLP_ERR_STATE, "%s: the model has no layers", fn);
    if ((s = layers_pass(&w, m, &last, final_name, sizeof final_name)) != MLP_OK)
        return s;
    if (w.nodes_written == 0)
        return mlp__fail(m->ctx, MLP_ERR_STATE,
                         "%s: the model computes nothing at inference (only dropout)", fn);
    w.counting = 0;
    w.nodes_written = 0;
    mlp__pbw_init(&w.nodes, m->ctx, fn);
    mlp__pbw_init(&w.inits, m->ctx, fn);
    s = layers_pass(&w, m, &last, final_name, sizeof final_name);
    if (s == MLP_OK) {
        mlp__pbw_varint(out, ONNX_MODEL_IR_VERSION, MLP__ONNX_IR_VERSION);
        mlp__pbw_str(out, ONNX_MODEL_PRODUCER_NAME, "libmlp");
        mlp__pbw_str(out, ONNX_MODEL_PRODUCER_VERSION, mlp_version());
        g = mlp__pbw_begin(out, ONNX_MODEL_GRAPH);
        mlp__pbw_raw(out, w.nodes.buf, w.nodes.len);
        mlp__pbw_str(out, ONNX_GRAPH_NAME, "libmlp");
        mlp__pbw_raw(out, w.inits.buf, w.inits.len);
        value_info(out, ONNX_GRAPH_INPUT, INPUT_NAME, mlp_model_in_features(m));
        value_info(out, ONNX_GRAPH_OUTPUT, final_name, mlp_model_out_features(m));
        mlp__pbw_end(out, g);
        g = mlp__pbw_begin(out, ONNX_MODEL_OPSET_IMPORT);
        mlp__pbw_str(out, ONNX_OPSET_DOMAIN, "");
        mlp__pbw_varint(out, ONNX_OPSET_VERSION, MLP__ONNX_OPSET);
        mlp__pbw_end(out, g);
        s = out->status;
    }
    mlp__pbw_free(&w.nodes);
    mlp__pbw_free(&w.inits);
    return s;
}

static mlp_status save_mem(const void *obj, const char *fn, void **out_buf, size_t *out_size)
{
    const mlp_model *m = (const mlp_model *)obj;
    mlp__pbw out;
    mlp_status s;
    mlp__pbw_init(&out, m->ctx, fn);
    s = build(m, fn, &out);
    if (s != MLP_OK) {
        mlp__pbw_free(&out);
        return s;
    }
    *out_buf = out.buf;
    *out_size = out.len;
    return MLP_OK;
}

mlp_status mlp_model_save_onnx_mem(const mlp_model *m, void **out_buf, size_t *out_size)
{
    if (!m)
        return MLP_ERR_NULL;
    if (!out_buf || !out_size)
        return mlp__fail(m->ctx, MLP_ERR_NULL, "%s: %s is NULL", __func__,
                         !out_buf ? "out_buf" : "out_size");
    *out_buf = NULL;
    *out_size = 0;
    return save_mem(m, __func__, out_buf, out_size);
}

mlp_status mlp_model_save_onnx(const mlp_model *m, const char *path)
{
    if (!m)
        return MLP_ERR_NULL;
    return mlp__save_path(m->ctx, __func__, path, save_mem, m);
}
