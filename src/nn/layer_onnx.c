/*
 * layer_onnx.c - the ONNX slots of the layer kinds (nn/layer_onnx.h):
 * which nodes each kind writes, and which nodes it recognises when
 * reading. The protobuf and the graph are the reader's and writer's
 * (io/onnx*.c); here each kind only speaks of ops, attributes and
 * constants. docs/onnx.md lists every mapping.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"

/* ---- shared helpers ---- */

static int is_op(const mlp__onnx_reader *r, size_t i, const char *op)
{
    const char *o = r->op(r->self, i);
    return o && strcmp(o, op) == 0;
}

/* Input k of node i is a one-element constant equal to v (to float precision). */
static int const_is(const mlp__onnx_reader *r, size_t i, int k, double v)
{
    mlp__onnx_const c;
    if (r->const_input(r->self, i, k, &c) != 1 || c.numel != 1)
        return 0;
    return fabs((double)c.data[0] - v) <= 1e-6 * (fabs(v) + 1.0);
}

/* Node i reads a value (not a constant) as input k. */
static int reads_value(const mlp__onnx_reader *r, size_t i, int k)
{
    int64_t s = r->source(r->self, i, k);
    return s != MLP__ONNX_FROM_CONST && s != MLP__ONNX_FROM_OTHER;
}

/* Node i's inputs 0 and 1 are the values from sources a and b, in either order. */
static int reads_pair(const mlp__onnx_reader *r, size_t i, int64_t a, int64_t b)
{
    int64_t s0 = r->source(r->self, i, 0), s1 = r->source(r->self, i, 1);
    return r->num_inputs(r->self, i) == 2 && ((s0 == a && s1 == b) || (s0 == b && s1 == a));
}

/* Node i's inputs are the value from source a and a scalar constant v, in either order. */
static int reads_value_and(const mlp__onnx_reader *r, size_t i, int64_t a, double v)
{
    if (r->num_inputs(r->self, i) != 2)
        return 0;
    return (r->source(r->self, i, 0) == a && const_is(r, i, 1, v))
           || (r->source(r->self, i, 1) == a && const_is(r, i, 0, v));
}

static mlp__layer *push(mlp_model *m, const char *fn, mlp__layer *d, int kind)
{
    d->k = mlp__kind_of(kind);
    return mlp__model_push(m, fn, d, MLP_INIT_ZEROS);
}

static mlp_status node1(const mlp__onnx_emitter *e, const char *op, const char *x, const char *y)
{
    return e->node(e->self, op, &x, 1, y, NULL, 0);
}

/* ---- linear: Gemm, or MatMul then an optional Add of the bias ---- */

mlp_status mlp__linear_onnx_export(const mlp__onnx_emitter *e, const mlp__layer *L,
                                   const char *prefix, const char *x, const char **y)
{
    char wname[64], bname[64];
    const char *in[3];
    int64_t dims[2];
    mlp_status s;
    snprintf(wname, sizeof wname, "%sweight", prefix);
    snprintf(bname, sizeof bname, "%sbias", prefix);
    dims[0] = L->in;
    dims[1] = L->out;
    if ((s = e->tensor(e->self, wname, 2, dims, L->t[0]->data)) != MLP_OK)
        return s;
    in[0] = x;
    in[1] = wname;
    in[2] = bname;
    if (!L->t[1]) /* y = x W */
        return e->node(e->self, "MatMul", in, 2, *y, NULL, 0);
    if ((s = e->tensor(e->self, bname, 1, &dims[1], L->t[1]->data)) != MLP_OK)
        return s;
    /* Gemm's defaults alpha = beta = 1, transA = transB = 0: y = x W + b */
    return e->node(e->self, "Gemm", in, 3, *y, NULL, 0);
}

/* A bias constant for `out` features: [out], [1,out], or one value for all. */
static int bias_fits(const mlp__onnx_const *c, int64_t out)
{
    if (c->numel == 1)
        return 1;
    return c->numel == out && (c->ndim == 1 || (c->ndim == 2 && c->dims[0] == 1));
}

/* The layer y = alpha * x op(B) + beta * C from node `at`'s constants. */
static int make_linear(const mlp__onnx_reader *r, size_t at, mlp_model *m, const char *fn,
                       const mlp__onnx_const *B, int transB, float alpha, const mlp__onnx_const *C,
                       float beta)
{
    mlp__layer d, *L;
    int64_t K, N, i, o;
    if (B->ndim != 2)
        return r->fail(r->self, at, "multiplies by a constant that is not a matrix");
    K = transB ? B->dims[1] : B->dims[0];
    N = transB ? B->dims[0] : B->dims[1];
    if (r->width && r->width != K) {
        mlp__fail(r->ctx, MLP_ERR_FORMAT,
                  "%s: malformed ONNX file: node %zu multiplies %lld features by a %lld-row "
                  "matrix",
                  fn, at, (long long)r->width, (long long)K);
        return -1;
    }
    if (C && !bias_fits(C, N))
        return r->fail(r->self, at, "adds a bias whose shape does not fit its output");
    if (!isfinite(alpha) || !isfinite(beta))
        return r->fail(r->self, at, "has a non-finite alpha or beta");
    memset(&d, 0, sizeof d);
    d.in = K;
    d.out = N;
    d.has_bias = C != NULL;
    if (!(L = push(m, fn, &d, MLP_LAYER_LINEAR)))
        return -1;
    for (i = 0; i < K; i++)
        for (o = 0; o < N; o++)
            L->t[0]->data[i * N + o] = alpha * (transB ? B->data[o * K + i] : B->data[i * N + o]);
    if (C)
        for (o = 0; o < N; o++)
            L->t[1]->data[o] = beta * C->data[C->numel == 1 ? 0 : o];
    return 1;
}

static int import_gemm(const mlp__onnx_reader *r, size_t at, mlp_model *m, const char *fn)
{
    mlp__onnx_const B, C;
    int64_t transA = 0, transB = 0;
    float alpha = 1.0f, beta = 1.0f;
    int nin = r->num_inputs(r->self, at), hasC = 0, rc;
    r->attr_int(r->self, at, "transA", &transA);
    r->attr_int(r->self, at, "transB", &transB);
    r->attr_float(r->self, at, "alpha", &alpha);
    r->attr_float(r->self, at, "beta", &beta);
    if (transA != 0)
        return r->fail(r->self, at, "transposes its input (transA = 1)");
    if (nin < 2 || nin > 3 || !reads_value(r, at, 0))
        return r->fail(r->self, at, "does not read the running value and constants");
    if ((rc = r->const_input(r->self, at, 1, &B)) != 1)
        return rc < 0 ? -1 : r->fail(r->self, at, "multiplies by a value that is not a constant");
    if (nin == 3) {
        if ((hasC = r->const_input(r->self, at, 2, &C)) < 0)
            return -1;
        if (!hasC && r->source(r->self, at, 2) != MLP__ONNX_FROM_CONST)
            return r->fail(r->self, at, "adds a value that is not a constant");
    }
    return make_linear(r, at, m, fn, &B, transB != 0, alpha, hasC ? &C : NULL, beta);
}

static int import_matmul(const mlp__onnx_reader *r, size_t at, mlp_model *m, const char *fn)
{
    mlp__onnx_const B, C;
    int rc, k, used;
    if (r->num_inputs(r->self, at) != 2 || !reads_value(r, at, 0))
        return r->fail(r->self, at, "does not multiply the running value by a constant");
    if ((rc = r->const_input(r->self, at, 1, &B)) != 1)
        return rc < 0 ? -1 : r->fail(r->self, at, "multiplies by a value that is not a constant");
    /* MatMul then Add(its output, bias): one layer with a bias */
    if (is_op(r, at + 1, "Add") && r->num_inputs(r->self, at + 1) == 2)
        for (k = 0; k < 2; k++)
            if (r->source(r->self, at + 1, k) == (int64_t)at
                && (rc = r->const_input(r->self, at + 1, 1 - k, &C)) != 0) {
                if (rc < 0)
                    return -1;
                used = make_linear(r, at, m, fn, &B, 0, 1.0f, &C, 1.0f);
                return used == 1 ? 2 : used;
            }
    return make_linear(r, at, m, fn, &B, 0, 1.0f, NULL, 1.0f);
}

int mlp__linear_onnx_import(const mlp__onnx_reader *r, size_t at, mlp_model *m, const char *fn)
{
    if (is_op(r, at, "Gemm"))
        return import_gemm(r, at, m, fn);
    if (is_op(r, at, "MatMul"))
        return import_matmul(r, at, m, fn);
    return 0;
}

/* ---- activations ---- */

/* GELU as the Erf form torch 1.13 writes and opsets before 20 can run:
 * x * (erf(x / sqrt 2) + 1) * 0.5 */
static mlp_status export_gelu(const mlp__onnx_emitter *e, const char *prefix, const char *x,
                              const char *y)
{
    static const float sqrt2 = 1.41421356237f, one = 1.0f, half = 0.5f;
    char c_sqrt2[64], c_one[64], c_half[64], v_div[64], v_erf[64], v_add[64], v_mul[64];
    const char *in[2];
    mlp_status s;
    snprintf(c_sqrt2, sizeof c_sqrt2, "%ssqrt2", prefix);
    snprintf(c_one, sizeof c_one, "%sone", prefix);
    snprintf(c_half, sizeof c_half, "%shalf", prefix);
    snprintf(v_div, sizeof v_div, "%sdiv", prefix);
    snprintf(v_erf, sizeof v_erf, "%serf", prefix);
    snprintf(v_add, sizeof v_add, "%serf_plus_one", prefix);
    snprintf(v_mul, sizeof v_mul, "%smul", prefix);
    if ((s = e->tensor(e->self, c_sqrt2, 0, NULL, &sqrt2)) != MLP_OK
        || (s = e->tensor(e->self, c_one, 0, NULL, &one)) != MLP_OK
        || (s = e->tensor(e->self, c_half, 0, NULL, &half)) != MLP_OK)
        return s;
    in[0] = x;
    in[1] = c_sqrt2;
    if ((s = e->node(e->self, "Div", in, 2, v_div, NULL, 0)) != MLP_OK
        || (s = node1(e, "Erf", v_div, v_erf)) != MLP_OK)
        return s;
    in[0] = v_erf;
    in[1] = c_one;
    if ((s = e->node(e->self, "Add", in, 2, v_add, NULL, 0)) != MLP_OK)
        return s;
    in[0] = x;
    in[1] = v_add;
    if ((s = e->node(e->self, "Mul", in, 2, v_mul, NULL, 0)) != MLP_OK)
        return s;
    in[0] = v_mul;
    in[1] = c_half;
    return e->node(e->self, "Mul", in, 2, y, NULL, 0);
}

/* The step x > 0 ? 1 : 0 as Greater then Cast to float. */
static mlp_status export_step(const mlp__onnx_emitter *e, const char *prefix, const char *x,
                              const char *y)
{
    static const float zero = 0.0f;
    char c_zero[64], v_gt[64];
    const char *in[2];
    mlp__onnx_attr to;
    mlp_status s;
    snprintf(c_zero, sizeof c_zero, "%szero", prefix);
    snprintf(v_gt, sizeof v_gt, "%sgreater", prefix);
    if ((s = e->tensor(e->self, c_zero, 0, NULL, &zero)) != MLP_OK)
        return s;
    in[0] = x;
    in[1] = c_zero;
    if ((s = e->node(e->self, "Greater", in, 2, v_gt, NULL, 0)) != MLP_OK)
        return s;
    memset(&to, 0, sizeof to);
    to.name = "to";
    to.type = MLP__ONNX_INT;
    to.i = 1; /* TensorProto.FLOAT */
    in[0] = v_gt;
    return e->node(e->self, "Cast", in, 1, y, &to, 1);
}

mlp_status mlp__act_onnx_export(const mlp__onnx_emitter *e, const mlp__layer *L, const char *prefix,
                                const char *x, const char **y)
{
    mlp__onnx_attr alpha;
    switch (L->act) {
    case MLP_ACT_IDENTITY: return node1(e, "Identity", x, *y);
    case MLP_ACT_RELU: return node1(e, "Relu", x, *y);
    case MLP_ACT_SIGMOID: return node1(e, "Sigmoid", x, *y);
    case MLP_ACT_TANH: return node1(e, "Tanh", x, *y);
    case MLP_ACT_LEAKY_RELU:
        memset(&alpha, 0, sizeof alpha);
        alpha.name = "alpha";
        alpha.type = MLP__ONNX_FLOAT;
        alpha.f = L->param;
        return e->node(e->self, "LeakyRelu", &x, 1, *y, &alpha, 1);
    case MLP_ACT_GELU: return export_gelu(e, prefix, x, *y);
    case MLP_ACT_STEP: return export_step(e, prefix, x, *y);
    default: { /* pReLU: slope [n], broadcast along the features */
        char sname[64];
        const char *in[2];
        int64_t n = L->t[0]->numel;
        mlp_status s;
        snprintf(sname, sizeof sname, "%sslope", prefix);
        if ((s = e->tensor(e->self, sname, 1, &n, L->t[0]->data)) != MLP_OK)
            return s;
        in[0] = x;
        in[1] = sname;
        return e->node(e->self, "PRelu", in, 2, *y, NULL, 0);
    }
    }
}

static int push_act(mlp_model *m, const char *fn, int act, float param)
{
    mlp__layer d;
    memset(&d, 0, sizeof d);
    d.act = act;
    d.param = param;
    return push(m, fn, &d, MLP_LAYER_ACT) ? 1 : -1;
}

/* Div(x, sqrt 2), Erf, Add 1, Mul by x, Mul by 0.5: GELU over five nodes. */
static int import_gelu_erf(const mlp__onnx_reader *r, size_t at, mlp_model *m, const char *fn)
{
    int64_t x = r->source(r->self, at, 0);
    if (!reads_value(r, at, 0) || !const_is(r, at, 1, 1.4142135623730951)
        || !is_op(r, at + 1, "Erf") || r->source(r->self, at + 1, 0) != (int64_t)at
        || !is_op(r, at + 2, "Add") || !reads_value_and(r, at + 2, (int64_t)at + 1, 1.0)
        || !is_op(r, at + 3, "Mul") || !reads_pair(r, at + 3, x, (int64_t)at + 2)
        || !is_op(r, at + 4, "Mul") || !reads_value_and(r, at + 4, (int64_t)at + 3, 0.5))
        return 0;
    return push_act(m, fn, MLP_ACT_GELU, 0.0f) == 1 ? 5 : -1;
}

static int import_prelu(const mlp__onnx_reader *r, size_t at, mlp_model *m, const char *fn)
{
    mlp__onnx_const c;
    mlp__layer d, *L;
    int64_t i;
    int rc = r->const_input(r->self, at, 1, &c);
    if (rc != 1)
        return rc < 0 ? -1 : r->fail(r->self, at, "has a slope that is not a constant");
    for (i = 0; i < c.numel; i++)
        if (!isfinite(c.data[i]))
            return r->fail(r->self, at, "has a non-finite slope");
    if (c.numel != 1 && !(c.ndim == 1 || (c.ndim == 2 && c.dims[0] == 1)))
        return r->fail(r->self, at, "has slopes that are neither one nor one per feature");
    if (c.numel != 1 && r->width && c.numel != r->width) {
        mlp__fail(r->ctx, MLP_ERR_FORMAT,
                  "%s: malformed ONNX file: node %zu has %lld slopes for %lld features", fn, at,
                  (long long)c.numel, (long long)r->width);
        return -1;
    }
    memset(&d, 0, sizeof d);
    d.act = MLP_ACT_PRELU;
    d.n = c.numel;
    if (!(L = push(m, fn, &d, MLP_LAYER_ACT)))
        return -1;
    memcpy(L->t[0]->data, c.data, (size_t)c.numel * sizeof(float));
    return 1;
}

int mlp__act_onnx_import(const mlp__onnx_reader *r, size_t at, mlp_model *m, const char *fn)
{
    float alpha = 0.01f;
    int64_t to = 0;
    const char *op = r->op(r->self, at);
    if (!op || !*op)
        return 0;
    if (strcmp(op, "Div") == 0)
        return import_gelu_erf(r, at, m, fn);
    if (!reads_value(r, at, 0))
        return 0;
    if (strcmp(op, "Relu") == 0)
        return push_act(m, fn, MLP_ACT_RELU, 0.0f);
    if (strcmp(op, "Sigmoid") == 0)
        return push_act(m, fn, MLP_ACT_SIGMOID, 0.0f);
    if (strcmp(op, "Tanh") == 0)
        return push_act(m, fn, MLP_ACT_TANH, 0.0f);
    if (strcmp(op, "LeakyRelu") == 0) {
        r->attr_float(r->self, at, "alpha", &alpha);
        if (!isfinite(alpha))
            return r->fail(r->self, at, "has a non-finite alpha");
        return push_act(m, fn, MLP_ACT_LEAKY_RELU, alpha);
    }
    if (strcmp(op, "PRelu") == 0)
        return import_prelu(r, at, m, fn);
    if (strcmp(op, "Gelu") == 0) {
        if (r->attr_str_is(r->self, at, "approximate", "tanh"))
            return r->fail(r->self, at, "is the tanh approximation, which libmlp does not have");
        return push_act(m, fn, MLP_ACT_GELU, 0.0f);
    }
    /* Greater(x, 0) then Cast to float: the 0/1 step */
    if (strcmp(op, "Greater") == 0 && r->num_inputs(r->self, at) == 2 && const_is(r, at, 1, 0.0)
        && is_op(r, at + 1, "Cast") && r->source(r->self, at + 1, 0) == (int64_t)at
        && r->attr_int(r->self, at + 1, "to", &to) && to == 1)
        return push_act(m, fn, MLP_ACT_STEP, 0.0f) == 1 ? 2 : -1;
    return 0;
}

/* ---- dropout: nothing at inference; read back as a dropout layer ---- */

mlp_status mlp__dropout_onnx_export(const mlp__onnx_emitter *e, const mlp__layer *L,
                                    const char *prefix, const char *x, const char **y)
{
    (void)e;
    (void)L;
    (void)prefix;
    *y = x;
    return MLP_OK;
}

int mlp__dropout_onnx_import(const mlp__onnx_reader *r, size_t at, mlp_model *m, const char *fn)
{
    mlp__layer d;
    mlp__onnx_const c;
    float ratio = 0.5f;
    int rc;
    if (!is_op(r, at, "Dropout"))
        return 0;
    if (!reads_value(r, at, 0))
        return r->fail(r->self, at, "does not read the running value");
    /* the ratio: an attribute up to opset 11, an input (default 0.5) after */
    r->attr_float(r->self, at, "ratio", &ratio);
    if (r->num_inputs(r->self, at) >= 2) {
        if ((rc = r->const_input(r->self, at, 1, &c)) < 0)
            return -1;
        if (rc == 1 && c.numel == 1)
            ratio = c.data[0];
        else if (r->source(r->self, at, 1) != MLP__ONNX_FROM_CONST)
            return r->fail(r->self, at, "has a ratio that is not a constant");
    }
    if (!(ratio >= 0.0f && ratio < 1.0f))
        return r->fail(r->self, at, "has a ratio outside [0, 1)");
    memset(&d, 0, sizeof d);
    d.param = ratio;
    return push(m, fn, &d, MLP_LAYER_DROPOUT) ? 1 : -1;
}

/* ---- softmax and log-softmax heads: over the features (the last axis) ---- */

static mlp_status head_export(const mlp__onnx_emitter *e, const char *op, const char *x,
                              const char *y)
{
    mlp__onnx_attr axis;
    memset(&axis, 0, sizeof axis);
    axis.name = "axis";
    axis.type = MLP__ONNX_INT;
    axis.i = -1;
    return e->node(e->self, op, &x, 1, y, &axis, 1);
}

mlp_status mlp__softmax_onnx_export(const mlp__onnx_emitter *e, const mlp__layer *L,
                                    const char *prefix, const char *x, const char **y)
{
    (void)L;
    (void)prefix;
    return head_export(e, "Softmax", x, *y);
}

mlp_status mlp__log_softmax_onnx_export(const mlp__onnx_emitter *e, const mlp__layer *L,
                                        const char *prefix, const char *x, const char **y)
{
    (void)L;
    (void)prefix;
    return head_export(e, "LogSoftmax", x, *y);
}

/* Softmax or LogSoftmax of the [batch, features] value: axis 1 or -1
 * (before opset 13 the default axis 1 flattens to 2-D first, the same
 * thing for a batch of rows). */
static int import_head(const mlp__onnx_reader *r, size_t at, mlp_model *m, const char *fn,
                       const char *op, int kind)
{
    mlp__layer d;
    int64_t axis = r->opset < 13 ? 1 : -1;
    if (!is_op(r, at, op))
        return 0;
    if (!reads_value(r, at, 0))
        return r->fail(r->self, at, "does not read the running value");
    r->attr_int(r->self, at, "axis", &axis);
    if (axis != 1 && axis != -1)
        return r->fail(r->self, at, "is not over the features (axis 1 or -1)");
    memset(&d, 0, sizeof d);
    return push(m, fn, &d, kind) ? 1 : -1;
}

int mlp__softmax_onnx_import(const mlp__onnx_reader *r, size_t at, mlp_model *m, const char *fn)
{
    return import_head(r, at, m, fn, "Softmax", MLP_LAYER_SOFTMAX);
}

int mlp__log_softmax_onnx_import(const mlp__onnx_reader *r, size_t at, mlp_model *m, const char *fn)
{
    return import_head(r, at, m, fn, "LogSoftmax", MLP_LAYER_LOG_SOFTMAX);
}

/* ---- standardize: Sub(x, mean) then Div(that, std) ---- */

mlp_status mlp__standardize_onnx_export(const mlp__onnx_emitter *e, const mlp__layer *L,
                                        const char *prefix, const char *x, const char **y)
{
    char mean[64], std[64], centred[64];
    const char *in[2];
    mlp_status s;
    snprintf(mean, sizeof mean, "%smean", prefix);
    snprintf(std, sizeof std, "%sstd", prefix);
    snprintf(centred, sizeof centred, "%scentred", prefix);
    if ((s = e->tensor(e->self, mean, 1, &L->n, L->t[0]->data)) != MLP_OK
        || (s = e->tensor(e->self, std, 1, &L->n, L->t[1]->data)) != MLP_OK)
        return s;
    in[0] = x;
    in[1] = mean;
    if ((s = e->node(e->self, "Sub", in, 2, centred, NULL, 0)) != MLP_OK)
        return s;
    in[0] = centred;
    in[1] = std;
    return e->node(e->self, "Div", in, 2, *y, NULL, 0);
}

/* A per-feature constant: [n] or [1,n]. */
static int per_feature(const mlp__onnx_const *c)
{
    return c->ndim == 1 || (c->ndim == 2 && c->dims[0] == 1);
}

int mlp__standardize_onnx_import(const mlp__onnx_reader *r, size_t at, mlp_model *m, const char *fn)
{
    mlp__onnx_const mean, std;
    mlp__layer d, *L;
    int64_t i;
    if (!is_op(r, at, "Sub") || !is_op(r, at + 1, "Div") || r->num_inputs(r->self, at) != 2
        || r->num_inputs(r->self, at + 1) != 2 || !reads_value(r, at, 0)
        || r->source(r->self, at + 1, 0) != (int64_t)at)
        return 0;
    if (r->const_input(r->self, at, 1, &mean) != 1 || r->const_input(r->self, at + 1, 1, &std) != 1
        || !per_feature(&mean) || !per_feature(&std) || mean.numel != std.numel)
        return r->fail(r->self, at, "and the Div after it are not a per-feature standardisation");
    if (r->width && mean.numel != r->width) {
        mlp__fail(r->ctx, MLP_ERR_FORMAT,
                  "%s: malformed ONNX file: node %zu subtracts %lld means from %lld features", fn,
                  at, (long long)mean.numel, (long long)r->width);
        return -1;
    }
    for (i = 0; i < mean.numel; i++)
        if (!isfinite(mean.data[i]) || !(isfinite(std.data[i]) && std.data[i] > 0.0f))
            return r->fail(r->self, at, "has a mean that is not finite or a std that is not > 0");
    memset(&d, 0, sizeof d);
    d.n = mean.numel;
    if (!(L = push(m, fn, &d, MLP_LAYER_STANDARDIZE)))
        return -1;
    return mlp__standardize_set(r->ctx, fn, L, mean.data, std.data) == MLP_OK ? 2 : -1;
}
