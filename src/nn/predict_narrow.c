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
 * out is 1). Each kind's predict_t (nn/layers.h) keeps the row layout's
 * sums and element-wise operations in the same order, so the results are
 * the row layout's bits wherever the kernel fuses its multiply-adds
 * explicitly (the vector kernels).
 */
#include "kern/vec.h"
#include "nn/layers.h"

/* 1 if every layer of m runs transposed (its kind has predict_t) and every
 * width is below the kernel's vector (nr / 2 floats). */
int mlp__narrow_net(const mlp_model *m, const mlp__gemm_kernel *k)
{
    const int64_t vw = k->nr / 2;
    size_t i;
    for (i = 0; i < m->nlayers; i++) {
        const mlp__layer *L = &m->layers[i];
        if (!L->k->predict_t || L->in >= vw || L->out >= vw)
            return 0;
    }
    return m->nlayers > 0;
}

/* x [n,in] through the model (mlp__narrow_net) into rows [n,out] in buf0
 * or buf1 (each at least n x the widest layer); returns the rows. */
const float *mlp__predict_narrow(const mlp__infer *run, const float *x, int64_t n, int64_t in,
                                 float *buf0, float *buf1)
{
    const mlp_model *m = run->m;
    float *cur = buf0, *other = buf1, *t;
    int64_t width = in;
    size_t i;
    mlp__transpose(cur, x, n, in);
    for (i = 0; i < m->nlayers; i++) {
        const mlp__layer *L = &m->layers[i];
        if (!L->k->predict_t(run, L, NULL, cur, other, n, width))
            continue; /* the identity at inference */
        if (L->out)
            width = L->out;
        t = cur;
        cur = other;
        other = t;
    }
    mlp__transpose(other, cur, width, n);
    return other;
}
