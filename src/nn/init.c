/*
 * init.c - initialisation of linear layers from the context's generator:
 * PyTorch's nn.Linear default (kaiming_uniform with a = sqrt 5, which is
 * U(-1/sqrt(in), 1/sqrt(in)), and the same bound for the bias), Xavier
 * and Kaiming (uniform and normal), zeros. W is stored [in,out]; values
 * are drawn for W first (row-major), then for b.
 */
#include <math.h>
#include <string.h>

#include "nn/model.h"

static void uniform(mlp__rng *r, float *x, int64_t n, float a)
{
    int64_t i;
    for (i = 0; i < n; i++)
        x[i] = mlp__rng_uniform_in(r, -a, a); /* -a + 2a u: the same bits everywhere */
}

static void normal(mlp__rng *r, float *x, int64_t n, float std)
{
    int64_t i;
    for (i = 0; i < n; i++)
        x[i] = mlp__rng_normal_in(r, 0.0f, std);
}

mlp_status mlp__init_linear(mlp_ctx *ctx, const char *fn, mlp_init init, float *w, float *b,
                            int64_t in, int64_t out)
{
    int64_t nw = in * out;
    double fin = (double)in, fout = (double)out;
    mlp__rng *r = &ctx->rng;
    switch (init) {
    case MLP_INIT_DEFAULT: {
        float a = (float)(1.0 / sqrt(fin));
        uniform(r, w, nw, a);
        if (b)
            uniform(r, b, out, a);
        return MLP_OK;
    }
    case MLP_INIT_XAVIER_UNIFORM: uniform(r, w, nw, (float)sqrt(6.0 / (fin + fout))); break;
    case MLP_INIT_XAVIER_NORMAL: normal(r, w, nw, (float)sqrt(2.0 / (fin + fout))); break;
    case MLP_INIT_KAIMING_UNIFORM: uniform(r, w, nw, (float)sqrt(6.0 / fin)); break;
    case MLP_INIT_KAIMING_NORMAL: normal(r, w, nw, (float)sqrt(2.0 / fin)); break;
    case MLP_INIT_ZEROS:
        if (nw)
            memset(w, 0, (size_t)nw * sizeof(float));
        break;
    default: return mlp__fail(ctx, MLP_ERR_ARG, "%s: init = %d is not an mlp_init", fn, (int)init);
    }
    if (b && out)
        memset(b, 0, (size_t)out * sizeof(float));
    return MLP_OK;
}
