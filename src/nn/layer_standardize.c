/*
 * layer_standardize.c - the standardisation layer, y = (x - mean) / std
 * per feature with fixed statistics: its table entry (nn/layers.h), the
 * check and setting of its statistics, and the one private op a kind
 * records on the tape (dx = dy / std).
 */
#include <math.h>

#include "nn/layers.h"

/* uses n = in = out; t[0] = mean [n], t[1] = std [n], not learnable */

static mlp_status standardize_settle(mlp_ctx *ctx, mlp_status code, const char *where,
                                     mlp__layer *L)
{
    if (L->n < 1 || L->n > MLP__MAX_FEATURES)
        return mlp__fail(ctx, code, "%s: n = %lld features must be in 1..2^31", where,
                         (long long)L->n);
    L->in = L->out = L->n;
    return MLP_OK;
}

static int standardize_tensors(const mlp__layer *L, mlp__tshape *ts)
{
    int j;
    for (j = 0; j < 2; j++) {
        ts[j].ndim = 1;
        ts[j].shape[0] = L->n;
        ts[j].learnable = 0;
    }
    return 2;
}

static void standardize_init(mlp_ctx *ctx, const char *where, mlp__layer *L, mlp_init init)
{
    int64_t i;
    (void)ctx;
    (void)where;
    (void)init;
    for (i = 0; i < L->n; i++) {
        L->t[0]->data[i] = 0.0f;
        L->t[1]->data[i] = 1.0f;
    }
}

/* mean [n] finite, std [n] finite and > 0 */
static mlp_status standardize_check(mlp_ctx *ctx, mlp_status code, const char *where, int64_t n,
                                    const float *mean, const float *std)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        if (mean && !isfinite(mean[i]))
            return mlp__fail(ctx, code, "%s: mean[%lld] = %g is not finite", where, (long long)i,
                             (double)mean[i]);
        if (std && !(isfinite(std[i]) && std[i] > 0.0f))
            return mlp__fail(ctx, code, "%s: std[%lld] = %g must be finite and > 0", where,
                             (long long)i, (double)std[i]);
    }
    return MLP_OK;
}

static mlp_status standardize_check_values(mlp_ctx *ctx, mlp_status code, const char *where,
                                           const mlp__layer *L)
{
    return standardize_check(ctx, code, where, L->n, L->t[0]->data, L->t[1]->data);
}

mlp_status mlp__standardize_set(mlp_ctx *ctx, const char *where, mlp__layer *L, const float *mean,
                                const float *std)
{
    int64_t i;
    mlp_status s = standardize_check(ctx, MLP_ERR_ARG, where, L->n, mean, std);
    if (s != MLP_OK)
        return s;
    for (i = 0; i < L->n; i++) {
        L->t[0]->data[i] = mean ? mean[i] : 0.0f;
        L->t[1]->data[i] = std ? std[i] : 1.0f;
    }
    mlp__bump(L->t[0]);
    mlp__bump(L->t[1]);
    return MLP_OK;
}

static void standardize_rows(float *y, const float *x, const float *mean, const float *std,
                             int64_t rows, int64_t cols)
{
    int64_t r, c;
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++)
            y[r * cols + c] = (x[r * cols + c] - mean[c]) / std[c];
}

/* inputs: x, std (its values are read: a change before backward is caught) */
static void standardize_bwd(mlp_ctx *ctx, mlp__node *nd, const float *gout, float *const *gin)
{
    const float *std = nd->in[1]->data;
    int64_t cols = nd->in[1]->numel, rows = nd->out->numel / cols, r, c;
    (void)ctx;
    if (!gin[0])
        return;
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++)
            gin[0][r * cols + c] += gout[r * cols + c] / std[c];
}

static const mlp__op op_standardize = {standardize_bwd, 2u, 0, 0u};

static mlp_tensor *standardize_forward(const mlp__layer *L, const mlp__layer *next, mlp_tensor *h,
                                       int training, int *used)
{
    mlp_ctx *ctx = h->ctx;
    mlp_tensor *in[2], *y;
    (void)next;
    (void)used;
    (void)training;
    in[0] = h;
    in[1] = L->t[1];
    if (!(y = mlp__result(ctx, "mlp_model_forward", h->ndim, h->shape)))
        return NULL;
    standardize_rows(y->data, h->data, L->t[0]->data, L->t[1]->data, h->numel / L->n, L->n);
    if (mlp__should_record(ctx, in, 2)
        && !mlp__record(ctx, "mlp_model_forward", &op_standardize, y, in, 2))
        return NULL;
    return mlp__check_finite(ctx, "mlp_model_forward", y) == MLP_OK ? y : NULL;
}

static int standardize_predict(const mlp__infer *run, const mlp__layer *L, const mlp__layer *next,
                               const float *x, float *y, int64_t n, int64_t width)
{
    (void)run;
    (void)next;
    standardize_rows(y, x, L->t[0]->data, L->t[1]->data, n, width);
    return 1;
}

/* u64 n; "standardize(3)" */
static const mlp__field standardize_fields[] = {MLP__FIELD(n, MLP__FIELD_SIZE, 2, 0, "")};

const mlp__kind mlp__kind_standardize = {.kind = MLP_LAYER_STANDARDIZE,
                                         .name = "standardize",
                                         .settle = standardize_settle,
                                         .tensors = standardize_tensors,
                                         .init = standardize_init,
                                         .check_values = standardize_check_values,
                                         .forward = standardize_forward,
                                         .predict = standardize_predict,
                                         .since = 2,
                                         MLP__FIELDS(standardize_fields),
                                         .onnx_export = mlp__standardize_onnx_export,
                                         .onnx_import = mlp__standardize_onnx_import};
