/*
 * model.c - the sequential model: adding linear, activation and dropout
 * layers (checking that shapes chain), the parameter list, train/eval
 * mode, and the recorded forward pass built from the public ops
 * (mlp_linear, mlp_activation, mlp_leaky_relu, mlp_prelu, mlp_dropout).
 */
#include <math.h>
#include <string.h>

#include "nn/model.h"

mlp_model *mlp_model_new(mlp_ctx *ctx)
{
    mlp_model *m;
    if (!ctx)
        return NULL;
    m = (mlp_model *)mlp__calloc(ctx, 1, sizeof *m);
    if (!m)
        return NULL;
    m->ctx = ctx;
    m->training = 1;
    return m;
}

void mlp_model_free(mlp_model *m)
{
    size_t i;
    mlp_ctx *ctx;
    if (!m)
        return;
    ctx = m->ctx;
    for (i = 0; i < m->nlayers; i++) {
        mlp_tensor_free(m->layers[i].w);
        mlp_tensor_free(m->layers[i].b);
    }
    mlp__free(ctx, m->layers);
    mlp__free(ctx, m->params);
    mlp__free_aligned(ctx, m->work);
    mlp__free(ctx, m);
}

/* Room for one more layer and `np` more parameters, before anything is made. */
static mlp_status reserve(mlp_model *m, const char *fn, size_t np)
{
    if (m->nlayers >= MLP__MAX_LAYERS)
        return mlp__fail(m->ctx, MLP_ERR_ARG, "%s: the model already has %d layers", fn,
                         MLP__MAX_LAYERS);
    if (mlp__grow(m->ctx, (void **)&m->layers, &m->cap_layers, m->nlayers + 1, sizeof *m->layers)
        != MLP_OK)
        return m->ctx->err.code;
    if (np
        && mlp__grow(m->ctx, (void **)&m->params, &m->cap_params, m->nparams + np,
                     sizeof *m->params)
               != MLP_OK)
        return m->ctx->err.code;
    return MLP_OK;
}

static mlp_tensor *new_param(mlp_ctx *ctx, const char *fn, int ndim, const int64_t *shape)
{
    mlp_tensor *t = mlp__tensor_new(ctx, fn, ndim, shape);
    if (t)
        t->requires_grad = 1;
    return t;
}

/* The width of the output of the last linear layer (0 when none). */
static int64_t last_out(const mlp_model *m)
{
    size_t i = m->nlayers;
    while (i-- > 0)
        if (m->layers[i].kind == MLP_LAYER_LINEAR)
            return m->layers[i].out;
    return 0;
}

mlp_status mlp__model_add_linear(mlp_model *m, const char *fn, int64_t in, int64_t out,
                                 int has_bias, mlp_init init)
{
    mlp__layer *L;
    mlp_tensor *w, *b = NULL;
    int64_t shape[2], prev;
    mlp_status s;

    if (in < 1 || out < 1 || in > MLP__MAX_FEATURES || out > MLP__MAX_FEATURES)
        return mlp__fail(m->ctx, MLP_ERR_ARG, "%s: in = %lld and out = %lld must be in 1..2^31", fn,
                         (long long)in, (long long)out);
    if ((int)init < MLP_INIT_DEFAULT || (int)init > MLP_INIT_ZEROS)
        return mlp__fail(m->ctx, MLP_ERR_ARG, "%s: init = %d is not an mlp_init", fn, (int)init);
    prev = last_out(m);
    if (prev && prev != in)
        return mlp__fail(m->ctx, MLP_ERR_SHAPE,
                         "%s: in = %lld but the previous linear layer gives %lld features", fn,
                         (long long)in, (long long)prev);
    s = reserve(m, fn, has_bias ? 2 : 1);
    if (s != MLP_OK)
        return s;
    shape[0] = in;
    shape[1] = out;
    w = new_param(m->ctx, fn, 2, shape);
    if (!w)
        return m->ctx->err.code;
    if (has_bias) {
        b = new_param(m->ctx, fn, 1, &shape[1]);
        if (!b) {
            mlp_tensor_free(w);
            return m->ctx->err.code;
        }
    }
    mlp__init_linear(m->ctx, fn, init, w->data, b ? b->data : NULL, in, out);
    L = &m->layers[m->nlayers++];
    memset(L, 0, sizeof *L);
    L->kind = MLP_LAYER_LINEAR;
    L->in = in;
    L->out = out;
    L->has_bias = has_bias != 0;
    L->w = w;
    L->b = b;
    m->params[m->nparams++] = w;
    if (b)
        m->params[m->nparams++] = b;
    return MLP_OK;
}

mlp_status mlp__model_add_act(mlp_model *m, const char *fn, int act, float param)
{
    mlp__layer *L;
    mlp_tensor *alpha = NULL;
    int64_t one = 1;
    mlp_status s;
    if (act < MLP_ACT_IDENTITY || act > MLP_ACT_PRELU)
        return mlp__fail(m->ctx, MLP_ERR_ARG, "%s: act = %d is not an mlp_act", fn, act);
    if (!isfinite(param))
        return mlp__fail(m->ctx, MLP_ERR_ARG, "%s: activation parameter is not finite", fn);
    s = reserve(m, fn, act == MLP_ACT_PRELU ? 1 : 0);
    if (s != MLP_OK)
        return s;
    if (act == MLP_ACT_PRELU) {
        alpha = new_param(m->ctx, fn, 1, &one);
        if (!alpha)
            return m->ctx->err.code;
        alpha->data[0] = 0.25f;
    }
    L = &m->layers[m->nlayers++];
    memset(L, 0, sizeof *L);
    L->kind = MLP_LAYER_ACT;
    L->act = act;
    L->param = act == MLP_ACT_LEAKY_RELU ? param : 0.0f;
    L->w = alpha;
    if (alpha)
        m->params[m->nparams++] = alpha;
    return MLP_OK;
}

mlp_status mlp__model_add_dropout(mlp_model *m, const char *fn, float p)
{
    mlp__layer *L;
    mlp_status s;
    if (!(p >= 0.0f && p < 1.0f))
        return mlp__fail(m->ctx, MLP_ERR_ARG, "%s: p = %g is not in [0,1)", fn, (double)p);
    s = reserve(m, fn, 0);
    if (s != MLP_OK)
        return s;
    L = &m->layers[m->nlayers++];
    memset(L, 0, sizeof *L);
    L->kind = MLP_LAYER_DROPOUT;
    L->p = p;
    return MLP_OK;
}

mlp_status mlp_model_add_linear(mlp_model *m, int64_t in, int64_t out)
{
    if (!m)
        return MLP_ERR_NULL;
    return mlp__model_add_linear(m, __func__, in, out, 1, MLP_INIT_DEFAULT);
}

mlp_status mlp_model_add_linear_init(mlp_model *m, int64_t in, int64_t out, mlp_init init)
{
    if (!m)
        return MLP_ERR_NULL;
    return mlp__model_add_linear(m, __func__, in, out, 1, init);
}

mlp_status mlp_model_add_act(mlp_model *m, mlp_act act)
{
    if (!m)
        return MLP_ERR_NULL;
    return mlp__model_add_act(m, __func__, (int)act, 0.01f);
}

mlp_status mlp_model_add_dropout(mlp_model *m, float p)
{
    if (!m)
        return MLP_ERR_NULL;
    return mlp__model_add_dropout(m, __func__, p);
}

/* ---- forward ---- */

static mlp_tensor *layer_forward(mlp_model *m, const mlp__layer *L, mlp_tensor *h)
{
    switch (L->kind) {
    case MLP_LAYER_LINEAR: return mlp_linear(h, L->w, L->b);
    case MLP_LAYER_ACT:
        if (L->act == MLP_ACT_PRELU)
            return mlp_prelu(h, L->w);
        if (L->act == MLP_ACT_LEAKY_RELU)
            return mlp_leaky_relu(h, L->param);
        return mlp_activation(h, (mlp_act)L->act);
    default: /* dropout */
        if (!m->training || L->p == 0.0f)
            return h;
        return mlp_dropout(h, L->p);
    }
}

mlp_tensor *mlp_model_forward(mlp_model *m, mlp_tensor *x)
{
    mlp_tensor *h;
    int64_t in, shape[2];
    size_t i;
    if (!m)
        return NULL;
    if (!x) {
        mlp__fail_null(m->ctx, __func__, "x");
        return NULL;
    }
    if (x->ctx != m->ctx) {
        mlp__fail(m->ctx, MLP_ERR_CONTEXT, "%s: x belongs to another context than the model",
                  __func__);
        return NULL;
    }
    if (m->nlayers == 0) {
        mlp__fail(m->ctx, MLP_ERR_STATE, "%s: the model has no layers", __func__);
        return NULL;
    }
    in = mlp_model_in_features(m);
    if (x->ndim < 1 || x->ndim > 2 || (in && x->shape[x->ndim - 1] != in)) {
        char buf[64];
        mlp__fail(m->ctx, MLP_ERR_SHAPE, "%s: x has shape %s, expected [n,%lld] or [%lld]",
                  __func__, mlp__shape_str(x, buf, sizeof buf), (long long)in, (long long)in);
        return NULL;
    }
    h = x;
    if (x->ndim == 1) {
        shape[0] = 1;
        shape[1] = x->shape[0];
        h = mlp_reshape(x, 2, shape);
    }
    for (i = 0; i < m->nlayers && h; i++)
        h = layer_forward(m, &m->layers[i], h);
    if (h && x->ndim == 1) {
        shape[0] = h->shape[1];
        h = mlp_reshape(h, 1, shape);
    }
    return h;
}

/* ---- mode and introspection ---- */

mlp_status mlp_model_set_training(mlp_model *m, int training)
{
    if (!m)
        return MLP_ERR_NULL;
    m->training = training != 0;
    return MLP_OK;
}

int mlp_model_is_training(const mlp_model *m)
{
    return m ? m->training : 0;
}
int mlp_model_num_layers(const mlp_model *m)
{
    return m ? (int)m->nlayers : 0;
}

int mlp_model_layer_kind(const mlp_model *m, int i)
{
    if (!m || i < 0 || (size_t)i >= m->nlayers)
        return -1;
    return m->layers[i].kind;
}

int mlp_model_num_params(const mlp_model *m)
{
    return m ? (int)m->nparams : 0;
}

mlp_tensor *mlp_model_param(const mlp_model *m, int i)
{
    if (!m || i < 0 || (size_t)i >= m->nparams)
        return NULL;
    return m->params[i];
}

int64_t mlp_model_param_numel(const mlp_model *m)
{
    int64_t n = 0;
    size_t i;
    if (!m)
        return 0;
    for (i = 0; i < m->nparams; i++)
        n += m->params[i]->numel;
    return n;
}

int64_t mlp_model_in_features(const mlp_model *m)
{
    size_t i;
    if (!m)
        return 0;
    for (i = 0; i < m->nlayers; i++)
        if (m->layers[i].kind == MLP_LAYER_LINEAR)
            return m->layers[i].in;
    return 0;
}

int64_t mlp_model_out_features(const mlp_model *m)
{
    return m ? last_out(m) : 0;
}
