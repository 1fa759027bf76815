/*
 * model.c - the sequential model: appending layers of any kind (each
 * kind's settings and tensors are its table entry's, nn/layers.c; here
 * the widths are chained and the parameter list kept), train/eval mode,
 * and the recorded forward pass, a walk of the layers' forward functions.
 */
#include <string.h>

#include "nn/layers.h"

mlp_model *mlp_model_new(mlp_ctx *ctx)
{
    mlp_model *m;
    if (!ctx)
        return NULL;
    m = (mlp_model *)mlp__calloc(ctx, __func__, 1, sizeof *m);
    if (!m)
        return NULL;
    m->ctx = ctx;
    m->training = 1;
    return m;
}

static void free_tensors(mlp__layer *L)
{
    int j;
    for (j = 0; j < MLP__LAYER_TENSORS; j++) {
        mlp_tensor_free(L->t[j]);
        L->t[j] = NULL;
    }
}

void mlp_model_free(mlp_model *m)
{
    size_t i;
    mlp_ctx *ctx;
    if (!m)
        return;
    ctx = m->ctx;
    mlp__model_unpack(m);
    for (i = 0; i < m->nlayers; i++)
        free_tensors(&m->layers[i]);
    mlp__free(ctx, m->layers);
    mlp__free(ctx, m->params);
    mlp__free(ctx, m);
}

/* Room for one more layer and `np` more parameters, before anything is made. */
static mlp_status reserve(mlp_model *m, const char *fn, size_t np)
{
    if (m->nlayers >= MLP__MAX_LAYERS)
        return mlp__fail(m->ctx, MLP_ERR_ARG, "%s: the model already has %d layers", fn,
                         MLP__MAX_LAYERS);
    if (mlp__grow(m->ctx, fn, (void **)&m->layers, &m->cap_layers, m->nlayers + 1,
                  sizeof *m->layers)
        != MLP_OK)
        return m->ctx->err.code;
    if (np
        && mlp__grow(m->ctx, fn, (void **)&m->params, &m->cap_params, m->nparams + np,
                     sizeof *m->params)
               != MLP_OK)
        return m->ctx->err.code;
    return MLP_OK;
}

int64_t mlp__model_width(const mlp_model *m, size_t upto, int64_t in)
{
    size_t i;
    for (i = 0; i < upto && i < m->nlayers; i++)
        if (m->layers[i].out)
            in = m->layers[i].out;
    return in;
}

/* m->shape after a layer is added or taken back */
static void reshape(mlp_model *m)
{
    mlp__shape *s = &m->shape;
    size_t i;
    memset(s, 0, sizeof *s);
    s->all_t = 1;
    for (i = 0; i < m->nlayers; i++) {
        const mlp__layer *L = &m->layers[i];
        const int64_t p = L->in * L->out;
        if (!s->in)
            s->in = L->in;
        if (L->out)
            s->out = L->out;
        if (L->in > s->width)
            s->width = L->in;
        if (L->out > s->width)
            s->width = L->out;
        s->cost += p;
        if (p > s->widest)
            s->widest = p;
        s->all_t = s->all_t && L->k->predict_t;
    }
}

mlp__layer *mlp__model_push(mlp_model *m, const char *where, const mlp__layer *desc, mlp_init init)
{
    mlp_ctx *ctx = m->ctx;
    mlp__layer L = *desc, *dst;
    mlp__tshape ts[MLP__LAYER_TENSORS];
    int nt, j;
    size_t nlearn = 0;
    int64_t width;

    memset(L.t, 0, sizeof L.t);
    if (L.k->settle(ctx, MLP_ERR_ARG, where, &L) != MLP_OK)
        return NULL;
    width = mlp__model_width(m, m->nlayers, 0);
    if (L.in && width && L.in != width) {
        mlp__fail(ctx, MLP_ERR_SHAPE, "%s: in = %lld but the layers before give %lld features",
                  where, (long long)L.in, (long long)width);
        return NULL;
    }
    nt = L.k->tensors(&L, ts);
    for (j = 0; j < nt; j++)
        nlearn += ts[j].learnable ? 1 : 0;
    if (reserve(m, where, nlearn) != MLP_OK)
        return NULL;
    for (j = 0; j < nt; j++) {
        L.t[j] = mlp__tensor_new(ctx, where, ts[j].ndim, ts[j].shape);
        if (!L.t[j]) {
            free_tensors(&L);
            return NULL;
        }
        L.t[j]->requires_grad = ts[j].learnable != 0;
    }
    L.k->init(ctx, where, &L, init);
    dst = &m->layers[m->nlayers++];
    *dst = L;
    reshape(m);
    for (j = 0; j < nt; j++)
        if (ts[j].learnable)
            m->params[m->nparams++] = L.t[j];
    return dst;
}

static mlp_status push(mlp_model *m, const char *fn, int kind, mlp__layer *desc, mlp_init init)
{
    desc->k = mlp__kind_of(kind);
    return mlp__model_push(m, fn, desc, init) ? MLP_OK : m->ctx->err.code;
}

/* An activation layer (act, param, n as in mlp__layer), or with kind not
 * MLP_LAYER_ACT a layer without settings. */
static mlp_status add(mlp_model *m, const char *fn, int kind, int act, float param, int64_t n)
{
    mlp__layer d;
    if (!m)
        return MLP_ERR_NULL;
    memset(&d, 0, sizeof d);
    d.act = act;
    d.param = param;
    d.n = n;
    return push(m, fn, kind, &d, MLP_INIT_DEFAULT);
}

static mlp_status add_linear(mlp_model *m, const char *fn, int64_t in, int64_t out, int bias,
                             mlp_init init)
{
    mlp__layer d;
    if (!m)
        return MLP_ERR_NULL;
    if ((int)init < MLP_INIT_DEFAULT || (int)init > MLP_INIT_ZEROS)
        return mlp__fail(m->ctx, MLP_ERR_ARG, "%s: init = %d is not an mlp_init", fn, (int)init);
    memset(&d, 0, sizeof d);
    d.in = in;
    d.out = out;
    d.has_bias = bias;
    return push(m, fn, MLP_LAYER_LINEAR, &d, init);
}

mlp_status mlp_model_add_linear(mlp_model *m, int64_t in, int64_t out)
{
    return add_linear(m, __func__, in, out, 1, MLP_INIT_DEFAULT);
}

mlp_status mlp_model_add_linear_init(mlp_model *m, int64_t in, int64_t out, mlp_init init)
{
    return add_linear(m, __func__, in, out, 1, init);
}

mlp_status mlp_model_add_linear_nobias(mlp_model *m, int64_t in, int64_t out, mlp_init init)
{
    return add_linear(m, __func__, in, out, 0, init);
}

mlp_status mlp_model_add_act(mlp_model *m, mlp_act act)
{
    return add(m, __func__, MLP_LAYER_ACT, (int)act, act == MLP_ACT_LEAKY_RELU ? 0.01f : 0.0f,
               act == MLP_ACT_PRELU ? 1 : 0);
}

mlp_status mlp_model_add_leaky_relu(mlp_model *m, float slope)
{
    return add(m, __func__, MLP_LAYER_ACT, MLP_ACT_LEAKY_RELU, slope, 0);
}

mlp_status mlp_model_add_prelu(mlp_model *m, int64_t num_alpha)
{
    return add(m, __func__, MLP_LAYER_ACT, MLP_ACT_PRELU, 0.0f, num_alpha);
}

mlp_status mlp_model_add_dropout(mlp_model *m, float p)
{
    return add(m, __func__, MLP_LAYER_DROPOUT, 0, p, 0);
}

mlp_status mlp_model_add_softmax(mlp_model *m)
{
    return add(m, __func__, MLP_LAYER_SOFTMAX, 0, 0.0f, 0);
}

mlp_status mlp_model_add_log_softmax(mlp_model *m)
{
    return add(m, __func__, MLP_LAYER_LOG_SOFTMAX, 0, 0.0f, 0);
}

mlp_status mlp_model_add_standardize(mlp_model *m, int64_t n, const float *mean, const float *std)
{
    mlp__layer d, *L;
    if (!m)
        return MLP_ERR_NULL;
    memset(&d, 0, sizeof d);
    d.n = n;
    d.k = mlp__kind_of(MLP_LAYER_STANDARDIZE);
    /* settle first: the statistics are checked against a valid n */
    if (d.k->settle(m->ctx, MLP_ERR_ARG, __func__, &d) != MLP_OK)
        return m->ctx->err.code;
    L = mlp__model_push(m, __func__, &d, MLP_INIT_DEFAULT);
    if (!L)
        return m->ctx->err.code;
    if (mlp__standardize_set(m->ctx, __func__, L, mean, std) != MLP_OK) {
        /* bad statistics: take the layer back off */
        mlp_tensor_free(L->t[0]);
        mlp_tensor_free(L->t[1]);
        m->nlayers--;
        reshape(m);
        return m->ctx->err.code;
    }
    return MLP_OK;
}

mlp_status mlp_model_set_standardize(mlp_model *m, int layer, const float *mean, const float *std)
{
    if (!m)
        return MLP_ERR_NULL;
    if (layer < 0 || (size_t)layer >= m->nlayers)
        return mlp__fail(m->ctx, MLP_ERR_RANGE, "%s: layer %d is not in 0..%d", __func__, layer,
                         (int)m->nlayers - 1);
    if (m->layers[layer].k->kind != MLP_LAYER_STANDARDIZE)
        return mlp__fail(m->ctx, MLP_ERR_ARG, "%s: layer %d is a %s layer, not standardize",
                         __func__, layer, m->layers[layer].k->name);
    return mlp__standardize_set(m->ctx, __func__, &m->layers[layer], mean, std);
}

/* ---- forward ---- */

/* The first `upto` layers on x (all, or all but a head), as fn. */
static mlp_tensor *forward(mlp_model *m, mlp_tensor *x, const char *fn, int logits)
{
    mlp_tensor *h;
    int64_t in, shape[2];
    size_t i, upto;
    int used;
    if (!m)
        return NULL;
    if (!x) {
        mlp__fail_null(m->ctx, fn, "x");
        return NULL;
    }
    if (x->ctx != m->ctx) {
        mlp__fail(m->ctx, MLP_ERR_CONTEXT, "%s: x belongs to another context than the model", fn);
        return NULL;
    }
    if (m->nlayers == 0) {
        mlp__fail(m->ctx, MLP_ERR_STATE, "%s: the model has no layers", fn);
        return NULL;
    }
    in = mlp_model_in_features(m);
    if (x->ndim < 1 || x->ndim > 2 || (in && x->shape[x->ndim - 1] != in)) {
        char buf[64];
        mlp__fail(m->ctx, MLP_ERR_SHAPE, "%s: x has shape %s, expected [n,%lld] or [%lld]", fn,
                  mlp__shape_str(x, buf, sizeof buf), (long long)in, (long long)in);
        return NULL;
    }
    upto = m->nlayers;
    if (logits && m->layers[upto - 1].k->head)
        upto--;
    h = x;
    if (x->ndim == 1) {
        shape[0] = 1;
        shape[1] = x->shape[0];
        h = mlp_reshape(x, 2, shape);
    }
    for (i = 0; i < upto && h; i += (size_t)used) {
        used = 1;
        h = m->layers[i].k->forward(&m->layers[i], i + 1 < upto ? &m->layers[i + 1] : NULL, h,
                                    m->training, &used);
    }
    if (h && x->ndim == 1) {
        shape[0] = h->shape[1];
        h = mlp_reshape(h, 1, shape);
    }
    return h;
}

mlp_tensor *mlp_model_forward(mlp_model *m, mlp_tensor *x)
{
    return forward(m, x, __func__, 0);
}

mlp_tensor *mlp_model_forward_logits(mlp_model *m, mlp_tensor *x)
{
    return forward(m, x, __func__, 1);
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
    return m->layers[i].k->kind;
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
    return m ? m->shape.in : 0;
}

int64_t mlp_model_out_features(const mlp_model *m)
{
    return m ? m->shape.out : 0;
}
