/*
 * predict_narrow.c - predict through a network of narrow layers (every
 * width below the kernel's vector: 2-4-1, a few features into a few
 * units) with the activations held transposed, feature by feature
 * ([width, n]: a row per feature, the block's samples along it).
 *
 * In the row layout a layer's product C [n,out] = h [n,in] · W puts one
 * sample's few outputs in a vector of 16 lanes and runs a register tile
 * per 12 samples, most of it overhead. Transposed, the same layer is
 * C' [out,n] = Wᵀ · h' with the samples as the long side: a tile covers
 * 32 samples with every lane used (or the row kernel streams them when
 * out is 1). Every output is the same chain of multiply-adds over the
 * inputs in the same order either way, the bias is added and the
 * activation applied element by element as in the row layout, so the
 * results are the row layout's bits wherever the kernel fuses its
 * multiply-adds explicitly (the vector kernels).
 */
#include "kern/vec.h"
#include "nn/layers.h"

/* 1 if every layer of m is a linear layer with in and out below the
 * kernel's vector (nr / 2 floats), an element-wise activation that folds
 * into a linear layer (not pReLU) or dropout (the identity at inference),
 * and the model has a linear layer. */
int mlp__narrow_net(const mlp_model *m, const mlp__gemm_kernel *k)
{
    const int64_t vw = k->nr / 2;
    int act, linear = 0;
    float param;
    size_t i;
    for (i = 0; i < m->nlayers; i++) {
        const mlp__layer *L = &m->layers[i];
        if (L->k->kind == MLP_LAYER_LINEAR) {
            if (L->in >= vw || L->out >= vw)
                return 0;
            linear = 1;
        } else if (L->k->kind != MLP_LAYER_DROPOUT
                   && !(L->k->pointwise && L->k->pointwise(L, &act, &param))) {
            return 0;
        }
    }
    return linear;
}

/* x [n,in] through the model (mlp__narrow_net) into rows [n,out] in buf0
 * or buf1 (each at least n x the widest layer); returns the rows. */
const float *mlp__predict_narrow(const mlp__infer *run, const float *x, int64_t n, int64_t in,
                                 float *buf0, float *buf1)
{
    const mlp_model *m = run->m;
    float *cur = buf0, *other = buf1, *t;
    int64_t width = in;
    int act;
    float param;
    size_t l;
    mlp__transpose(cur, x, n, in);
    for (l = 0; l < m->nlayers; l++) {
        const mlp__layer *L = &m->layers[l];
        if (L->k->kind == MLP_LAYER_LINEAR) {
            /* C' [out,n] = Wᵀ [out,in] · h' [in,n] */
            mlp__sgemm_range(run->gemm, 1, 0, L->in, 1.0f, L->t[0]->data, L->out, cur, n, 0.0f,
                             other, n, 0, L->out, 0, n, run->work);
            if (L->t[1])
                mlp__bias_rows(other, L->t[1]->data, L->out, n);
            width = L->out;
            t = cur;
            cur = other;
            other = t;
        } else if (L->k->kind != MLP_LAYER_DROPOUT && L->k->pointwise(L, &act, &param)) {
            mlp__act_fwd(act, cur, cur, width * n, param);
        }
    }
    mlp__transpose(other, cur, width, n);
    return other;
}
