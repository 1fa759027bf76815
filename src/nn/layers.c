/*
 * layers.c - every kind of layer, one table entry each (nn/layers.h): its
 * settings check, tensors, forward on the tape, tape-free predict, the
 * fields of its model-file record and summary text (nn/record.c walks
 * them) and ONNX slots. The standardisation layer, with its own op on the
 * tape, is in layer_standardize.c. The rest of the model code only walks
 * this table.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/num.h"
#include "kern/vec.h"
#include "nn/layers.h"
#include "ops/ops.h"

/* ---- linear: y [n,out] = x [n,in] · W [in,out] + b [out] ------------------
 * uses in, out, has_bias; t[0] = W, t[1] = b (NULL without bias) */

static mlp_status linear_settle(mlp_ctx *ctx, mlp_status code, const char *where, mlp__layer *L)
{
    if (L->in < 1 || L->out < 1 || L->in > MLP__MAX_FEATURES || L->out > MLP__MAX_FEATURES)
        return mlp__fail(ctx, code, "%s: in = %lld and out = %lld must be in 1..2^31", where,
                         (long long)L->in, (long long)L->out);
    if (L->has_bias != 0 && L->has_bias != 1)
        return mlp__fail(ctx, code, "%s: has_bias = %d must be 0 or 1", where, L->has_bias);
    return MLP_OK;
}

static int linear_tensors(const mlp__layer *L, mlp__tshape *ts)
{
    ts[0].ndim = 2;
    ts[0].shape[0] = L->in;
    ts[0].shape[1] = L->out;
    ts[0].learnable = 1;
    ts[1].ndim = 1;
    ts[1].shape[0] = L->out;
    ts[1].learnable = 1;
    return L->has_bias ? 2 : 1;
}

static void linear_init(mlp_ctx *ctx, const char *where, mlp__layer *L, mlp_init init)
{
    mlp__init_linear(ctx, where, init, L->t[0]->data, L->t[1] ? L->t[1]->data : NULL, L->in,
                     L->out);
}

/* 1 with next's activation in *act and *param when next is an element-wise
 * layer a linear layer can apply with its bias; 0 otherwise */
static int folds(const mlp__layer *next, int *act, float *param)
{
    return next && next->k->pointwise && next->k->pointwise(next, act, param);
}

static mlp_tensor *linear_forward(const mlp__layer *L, const mlp__layer *next, mlp_tensor *h,
                                  int training, int *used)
{
    int act = MLP_ACT_IDENTITY;
    float param = 0.0f;
    (void)training;
    /* a ReLU after it in the same op, as predict does (linear_predict) */
    if (folds(next, &act, &param) && act == MLP_ACT_RELU) {
        *used = 2;
        return mlp__linear_relu(h, L->t[0], L->t[1]);
    }
    return mlp_linear(h, L->t[0], L->t[1]);
}

static int linear_predict(const mlp__infer *run, const mlp__layer *L, const mlp__layer *next,
                          const float *x, float *y, int64_t n, int64_t width)
{
    /* y [n,out] = x [n,in] · W [in,out], then f(y + b) with next's f */
    int act = MLP_ACT_IDENTITY, used = 1;
    float param = 0.0f;
    (void)width;
    if (folds(next, &act, &param))
        used = 2;
    mlp__infer_linear(run, L, n, x, y, act, param);
    return used;
}

/* transposed: y [out,n] = Wᵀ [out,in] · x [in,n], then f(y + b[j]) along
 * row j with next's f */
static int linear_predict_t(const mlp__infer *run, const mlp__layer *L, const mlp__layer *next,
                            const float *x, float *y, int64_t n, int64_t width)
{
    int act = MLP_ACT_IDENTITY, used = 1;
    float param = 0.0f;
    (void)width;
    mlp__sgemm_range(run->gemm, 1, 0, L->in, 1.0f, L->t[0]->data, L->out, x, n, 0.0f, y, n, 0,
                     L->out, 0, n, run->work);
    if (folds(next, &act, &param))
        used = 2;
    mlp__bias_act_rows(act, y, L->t[1] ? L->t[1]->data : NULL, L->out, n, param);
    return used;
}

/* u64 in, u64 out, u32 has_bias (1 exactly when t[1] is there); "linear(784 -> 256)" */
static const mlp__field linear_fields[] = {
    MLP__FIELD(in, MLP__FIELD_SIZE, 1, 0, ""),
    MLP__FIELD(out, MLP__FIELD_SIZE, 1, 0, " -> "),
    MLP__FIELD(has_bias, MLP__FIELD_ENUM, 1, 1, NULL),
};

/* ---- activation: y = f(x) element-wise; pReLU with learnable alphas ------
 * uses act, param (the leaky-ReLU slope, 0 for the others), n (pReLU:
 * number of alphas, 1 or one per feature; 0 for the others); t[0] =
 * alpha [n] for pReLU. A per-feature pReLU fixes its width: in = out = n. */

static mlp_status act_settle(mlp_ctx *ctx, mlp_status code, const char *where, mlp__layer *L)
{
    if (L->act < MLP_ACT_IDENTITY || L->act > MLP_ACT_PRELU)
        return mlp__fail(ctx, code, "%s: act = %d is not an mlp_act", where, L->act);
    if (!isfinite(L->param) || (L->act != MLP_ACT_LEAKY_RELU && L->param != 0.0f))
        return mlp__fail(ctx, code, "%s: activation parameter %g is not allowed for %s", where,
                         (double)L->param, mlp_act_name((mlp_act)L->act));
    if (L->act == MLP_ACT_PRELU ? L->n < 1 || L->n > MLP__MAX_FEATURES : L->n != 0)
        return mlp__fail(ctx, code, "%s: %lld alphas for %s (pReLU takes 1..2^31, others 0)", where,
                         (long long)L->n, mlp_act_name((mlp_act)L->act));
    L->in = L->out = L->n > 1 ? L->n : 0;
    return MLP_OK;
}

static int act_tensors(const mlp__layer *L, mlp__tshape *ts)
{
    if (L->act != MLP_ACT_PRELU)
        return 0;
    ts[0].ndim = 1;
    ts[0].shape[0] = L->n;
    ts[0].learnable = 1;
    return 1;
}

static void act_init(mlp_ctx *ctx, const char *where, mlp__layer *L, mlp_init init)
{
    int64_t i;
    (void)ctx;
    (void)where;
    (void)init;
    if (L->t[0]) /* PyTorch's nn.PReLU default */
        for (i = 0; i < L->t[0]->numel; i++)
            L->t[0]->data[i] = 0.25f;
}

static mlp_tensor *act_forward(const mlp__layer *L, const mlp__layer *next, mlp_tensor *h,
                               int training, int *used)
{
    (void)next;
    (void)used;
    (void)training;
    if (L->act == MLP_ACT_PRELU)
        return mlp_prelu(h, L->t[0]);
    if (L->act == MLP_ACT_LEAKY_RELU)
        return mlp_leaky_relu(h, L->param);
    return mlp_activation(h, (mlp_act)L->act);
}

static int act_predict(const mlp__infer *run, const mlp__layer *L, const mlp__layer *next,
                       const float *x, float *y, int64_t n, int64_t width)
{
    (void)run;
    (void)next;
    if (L->act == MLP_ACT_PRELU)
        mlp__prelu_fwd(y, x, L->t[0]->data, L->t[0]->numel, n, width);
    else
        mlp__act_fwd(L->act, y, x, n * width, L->param);
    return 1;
}

/* transposed: element-wise as in the row layout; a pReLU's alpha per row */
static int act_predict_t(const mlp__infer *run, const mlp__layer *L, const mlp__layer *next,
                         const float *x, float *y, int64_t n, int64_t width)
{
    int64_t j;
    if (L->act != MLP_ACT_PRELU || L->t[0]->numel == 1)
        return act_predict(run, L, next, x, y, 1, n * width);
    for (j = 0; j < width; j++)
        mlp__prelu_fwd(y + j * n, x + j * n, L->t[0]->data + j, 1, 1, n);
    return 1;
}

static int act_pointwise(const mlp__layer *L, int *act, float *param)
{
    if (L->act == MLP_ACT_PRELU)
        return 0;
    *act = L->act;
    *param = L->param;
    return 1;
}

/* u32 act, f32 param; from version 2 also u64 n, the pReLU alphas */
static const mlp__field act_fields[] = {
    MLP__FIELD(act, MLP__FIELD_ENUM, 1, MLP_ACT_PRELU, NULL),
    MLP__FIELD(param, MLP__FIELD_F32, 1, 0, NULL),
    MLP__FIELD(n, MLP__FIELD_SIZE, 2, 0, NULL),
};

static void act_record_older(unsigned version, mlp__layer *L)
{
    if (version < 2) /* version 1: a pReLU has one alpha */
        L->n = L->act == MLP_ACT_PRELU ? 1 : 0;
}

static void act_describe(const mlp__layer *L, char *buf, size_t size)
{
    if (L->act == MLP_ACT_PRELU && L->n > 1)
        mlp__snprintf(buf, size, "prelu(%lld)", (long long)L->n);
    else if (L->act == MLP_ACT_LEAKY_RELU)
        mlp__snprintf(buf, size, "%s(%g)", mlp_act_name((mlp_act)L->act), (double)L->param);
    else
        snprintf(buf, size, "%s", mlp_act_name((mlp_act)L->act));
}

/* ---- dropout: zero with probability p in training, identity otherwise ----
 * uses param = p */

static mlp_status dropout_settle(mlp_ctx *ctx, mlp_status code, const char *where, mlp__layer *L)
{
    if (!(L->param >= 0.0f && L->param < 1.0f))
        return mlp__fail(ctx, code, "%s: dropout p = %g is not in [0,1)", where, (double)L->param);
    L->in = L->out = 0;
    return MLP_OK;
}

static int no_tensors(const mlp__layer *L, mlp__tshape *ts)
{
    (void)L;
    (void)ts;
    return 0;
}

static void no_init(mlp_ctx *ctx, const char *where, mlp__layer *L, mlp_init init)
{
    (void)ctx;
    (void)where;
    (void)L;
    (void)init;
}

static mlp_tensor *dropout_forward(const mlp__layer *L, const mlp__layer *next, mlp_tensor *h,
                                   int training, int *used)
{
    (void)next;
    (void)used;
    if (!training || L->param == 0.0f)
        return h;
    return mlp_dropout(h, L->param);
}

static int identity_predict(const mlp__infer *run, const mlp__layer *L, const mlp__layer *next,
                            const float *x, float *y, int64_t n, int64_t width)
{
    (void)run;
    (void)L;
    (void)next;
    (void)x;
    (void)y;
    (void)n;
    (void)width;
    return 0;
}

/* f32 p; "dropout(p=0.5)" */
static const mlp__field dropout_fields[] = {MLP__FIELD(param, MLP__FIELD_F32, 1, 0, "p=")};

/* ---- softmax and log-softmax heads: row-wise over the features ----------
 * no settings, no tensors; `head`: cross-entropy training skips them */

static mlp_status any_width(mlp_ctx *ctx, mlp_status code, const char *where, mlp__layer *L)
{
    (void)ctx;
    (void)code;
    (void)where;
    L->in = L->out = 0;
    return MLP_OK;
}

static mlp_tensor *softmax_forward(const mlp__layer *L, const mlp__layer *next, mlp_tensor *h,
                                   int training, int *used)
{
    (void)next;
    (void)used;
    (void)L;
    (void)training;
    return mlp_softmax(h);
}

static mlp_tensor *log_softmax_forward(const mlp__layer *L, const mlp__layer *next, mlp_tensor *h,
                                       int training, int *used)
{
    (void)next;
    (void)used;
    (void)L;
    (void)training;
    return mlp_log_softmax(h);
}

static int softmax_predict(const mlp__infer *run, const mlp__layer *L, const mlp__layer *next,
                           const float *x, float *y, int64_t n, int64_t width)
{
    (void)run;
    (void)L;
    (void)next;
    mlp__softmax_rows(y, x, n, width);
    return 1;
}

static int log_softmax_predict(const mlp__infer *run, const mlp__layer *L, const mlp__layer *next,
                               const float *x, float *y, int64_t n, int64_t width)
{
    (void)run;
    (void)L;
    (void)next;
    mlp__log_softmax_rows(y, x, n, width);
    return 1;
}

/* ---- the table ---------------------------------------------------------- */

static const mlp__kind kind_linear = {.kind = MLP_LAYER_LINEAR,
                                      .name = "linear",
                                      .settle = linear_settle,
                                      .tensors = linear_tensors,
                                      .init = linear_init,
                                      .forward = linear_forward,
                                      .predict = linear_predict,
                                      .predict_t = linear_predict_t,
                                      .since = 1,
                                      MLP__FIELDS(linear_fields),
                                      .onnx_export = mlp__linear_onnx_export,
                                      .onnx_import = mlp__linear_onnx_import};

static const mlp__kind kind_act = {.kind = MLP_LAYER_ACT,
                                   .name = "activation",
                                   .settle = act_settle,
                                   .tensors = act_tensors,
                                   .init = act_init,
                                   .forward = act_forward,
                                   .predict = act_predict,
                                   .predict_t = act_predict_t,
                                   .pointwise = act_pointwise,
                                   .since = 1,
                                   MLP__FIELDS(act_fields),
                                   .record_older = act_record_older,
                                   .describe = act_describe,
                                   .onnx_export = mlp__act_onnx_export,
                                   .onnx_import = mlp__act_onnx_import};

static const mlp__kind kind_dropout = {.kind = MLP_LAYER_DROPOUT,
                                       .name = "dropout",
                                       .settle = dropout_settle,
                                       .tensors = no_tensors,
                                       .init = no_init,
                                       .forward = dropout_forward,
                                       .predict = identity_predict,
                                       .predict_t = identity_predict,
                                       .since = 1,
                                       MLP__FIELDS(dropout_fields),
                                       .onnx_export = mlp__dropout_onnx_export,
                                       .onnx_import = mlp__dropout_onnx_import};

static const mlp__kind kind_softmax = {.kind = MLP_LAYER_SOFTMAX,
                                       .name = "softmax",
                                       .head = 1,
                                       .settle = any_width,
                                       .tensors = no_tensors,
                                       .init = no_init,
                                       .forward = softmax_forward,
                                       .predict = softmax_predict,
                                       .since = 2,
                                       .onnx_export = mlp__softmax_onnx_export,
                                       .onnx_import = mlp__softmax_onnx_import};

static const mlp__kind kind_log_softmax = {.kind = MLP_LAYER_LOG_SOFTMAX,
                                           .name = "log_softmax",
                                           .head = 1,
                                           .settle = any_width,
                                           .tensors = no_tensors,
                                           .init = no_init,
                                           .forward = log_softmax_forward,
                                           .predict = log_softmax_predict,
                                           .since = 2,
                                           .onnx_export = mlp__log_softmax_onnx_export,
                                           .onnx_import = mlp__log_softmax_onnx_import};

/* indexed by mlp_layer_kind */
static const mlp__kind *const kinds[] = {&kind_linear,  &kind_act,         &kind_dropout,
                                         &kind_softmax, &kind_log_softmax, &mlp__kind_standardize};

const mlp__kind *mlp__kind_of(int kind)
{
    if (kind < 0 || (size_t)kind >= sizeof kinds / sizeof kinds[0])
        return NULL;
    return kinds[kind];
}
