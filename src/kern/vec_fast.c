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

void mlp__col_sums_acc(float *restrict db, const float *restrict g, int64_t rows, int64_t cols)
{
    int64_t r, c;
    for (r = 0; r < rows; r++) {
        const float *gr = g + r * cols;
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
