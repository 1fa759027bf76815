/*
 * vec_fast_t.h - the streaming passes' loops (vec_fast.h), written once and
 * included by vec_fast.c once per instruction set: VF(name) names this
 * copy's function and VF_FN qualifies it (static, and the set's target
 * attribute). Plain restrict-qualified loops the compiler vectorises; the
 * file is built without contraction into FMA, so that every copy makes
 * each element with the same operations, in the same order, as a scalar
 * loop would: the same bits whichever copy runs.
 */
/* no include guard: included once per instruction set */

VF_FN void VF(sub_scaled)(float *restrict y, float a, const float *restrict x, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++)
        y[i] -= a * x[i];
}

VF_FN void VF(acc)(float *restrict y, const float *restrict x, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++)
        y[i] += x[i];
}

VF_FN void VF(col_sums_acc)(float *restrict db, const float *restrict g, int64_t rows, int64_t cols,
                            int64_t ld)
{
    int64_t r, c;
    for (r = 0; r < rows; r++) {
        const float *gr = g + r * ld;
        for (c = 0; c < cols; c++)
            db[c] += gr[c];
    }
}

VF_FN void VF(sgd)(float *restrict p, const float *restrict g, float *restrict buf, int64_t n,
                   const mlp__sgd_k *k)
{
    const float lr = k->lr, wd = k->wd, mu = k->mu, damp = k->damp;
    const int nesterov = k->nesterov, first = k->first;
    int64_t i;
    for (i = 0; i < n; i++) {
        float d = g[i];
        if (wd != 0.0f)
            d += wd * p[i];
        if (mu != 0.0f) {
            float b = first ? d : mu * buf[i] + damp * d;
            buf[i] = b;
            d = nesterov ? d + mu * b : b;
        }
        p[i] -= lr * d;
    }
}

VF_FN void VF(adam)(float *restrict p, const float *restrict g, float *restrict m1,
                    float *restrict m2, float *restrict vmax, int64_t n, const mlp__adam_k *k)
{
    const int decoupled = k->decoupled, amsgrad = k->amsgrad;
    const float decay = k->decay, wd = k->wd, b1 = k->b1, omb1 = k->omb1, b2 = k->b2;
    const float omb2 = k->omb2, bc2_sqrt = k->bc2_sqrt, eps = k->eps, step = k->step_size;
    int64_t i;
    /* one loop, its invariant branches taken out by the compiler; the
     * largest moment stored back whether or not it changed, so that the
     * loop has no branch on the data */
    for (i = 0; i < n; i++) {
        float d = g[i], m, v, denom;
        if (decoupled)
            p[i] *= decay;
        else if (wd != 0.0f)
            d += wd * p[i];
        m = m1[i] = b1 * m1[i] + omb1 * d;
        v = m2[i] = b2 * m2[i] + omb2 * d * d;
        if (amsgrad) {
            float top = vmax[i];
            v = v > top ? v : top;
            vmax[i] = v;
        }
        denom = sqrtf(v) / bc2_sqrt + eps;
        p[i] -= step * (m / denom);
    }
}

VF_FN int VF(all_zero)(const float *x, int64_t n)
{
    int64_t i, j;
    for (i = 0; i < n; i += 4096) { /* blocks, to stop early at a non-zero */
        int64_t e = n - i < 4096 ? n : i + 4096;
        int nz = 0;
        for (j = i; j < e; j++)
            nz |= x[j] != 0.0f;
        if (nz)
            return 0;
    }
    return 1;
}

VF_FN void VF(relu_bwd)(float *restrict dx, const float *restrict dy, const float *restrict v,
                        int64_t n, int set)
{
    /* dx[i] = base + the term, base dx[i] or (set) zero read through a
       volatile: with a literal 0 the compiler folds 0 + 0 and turns the
       select into a branch per element. Loads first, then a select: the
       loop vectorises. */
    volatile float zero_v = 0.0f;
    const float zero = zero_v;
    int64_t i;
    if (set)
        for (i = 0; i < n; i++) {
            float g = dy[i], u = v[i];
            dx[i] = zero + (u <= 0.0f ? zero : g);
        }
    else
        for (i = 0; i < n; i++) {
            float g = dy[i], u = v[i];
            dx[i] += u <= 0.0f ? 0.0f : g;
        }
}

VF_FN void VF(relu_mask)(float *restrict g, const float *restrict v, int64_t n)
{
    volatile float zero_v = 0.0f; /* as in mlp__relu_bwd */
    const float zero = zero_v;
    int64_t i;
    for (i = 0; i < n; i++) {
        float x = g[i], u = v[i];
        g[i] = zero + (u <= 0.0f ? zero : x);
    }
}
