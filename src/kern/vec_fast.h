/*
 * vec_fast.h - the streaming passes of a training step (parameter update,
 * gradient accumulation, bias gradient) as kernels built with the kernel
 * flags, so they vectorise whatever the flags of their callers. Same
 * arithmetic, element by element, as the plain loops they replace.
 */
#ifndef MLP_KERN_VEC_FAST_H
#define MLP_KERN_VEC_FAST_H

#include <stdint.h>

/* y[i] -= a * x[i], i < n (y and x do not overlap). */
void mlp__vec_sub_scaled(float *y, float a, const float *x, int64_t n);
/* y[i] += x[i], i < n (y and x do not overlap). */
void mlp__vec_acc(float *y, const float *x, int64_t n);
/* db[c] += g[r*ld + c] for r = 0..rows-1 in order, c < cols: column sums
 * of a [rows,cols] block of a matrix with rows ld apart, added into db (db
 * and g do not overlap). */
void mlp__col_sums_acc(float *db, const float *g, int64_t rows, int64_t cols, int64_t ld);
/* ReLU's backward: dx[i] += (v[i] <= 0 ? 0 : dy[i]), v the input or the
 * output; with set, dx[i] = 0 + that (a fresh buffer: the same bits as
 * adding into zeros, without reading dx). */
void mlp__relu_bwd(float *dx, const float *dy, const float *v, int64_t n, int set);
/* 1 when every x[i], i < n, is zero (either sign), else 0. */
int mlp__vec_all_zero(const float *x, int64_t n);

#endif
