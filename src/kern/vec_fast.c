/*
 * vec_fast.c - the streaming passes of a training step: the SGD update,
 * adding one gradient buffer into another, column sums for a bias
 * gradient, the all-zero test on a gradient. restrict-qualified plain loops built with the kernel flags,
 * which the compiler vectorises; each element sees the same operations in
 * the same order as a scalar loop would.
 */
#include "kern/vec_fast.h"

void mlp__vec_sub_scaled(float *restrict y, float a, const float *restrict x, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++)
        y[i] -= a * x[i];
}

void mlp__vec_acc(float *restrict y, const float *restrict x, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++)
        y[i] += x[i];
}

void mlp__col_sums_acc(float *restrict db, const float *restrict g, int64_t rows, int64_t cols,
                       int64_t ld)
{
    int64_t r, c;
    for (r = 0; r < rows; r++) {
        const float *gr = g + r * ld;
        for (c = 0; c < cols; c++)
            db[c] += gr[c];
    }
}

int mlp__vec_all_zero(const float *x, int64_t n)
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

void mlp__relu_bwd(float *restrict dx, const float *restrict dy, const float *restrict v, int64_t n,
                   int set)
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
