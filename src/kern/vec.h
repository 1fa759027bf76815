/*
 * vec.h - element-wise and row-wise kernels on raw float arrays:
 * activations and their derivatives, bias add fused with an activation,
 * softmax / log-softmax / log-sum-exp, cross-entropy rows. No handles,
 * no allocation, no errors. Backward kernels accumulate (+=) into their
 * output gradient.
 * `act` is an mlp_act value; `param` is the leaky-ReLU slope (ignored by
 * the others). MLP_ACT_PRELU is handled by the prelu kernels only.
 */
#ifndef MLP_KERN_VEC_H
#define MLP_KERN_VEC_H

#include <stdint.h>

#include "kern/gemm.h" /* mlp__vexp_fn */
#include "mlp.h"       /* mlp_act */

/* 1 / (1 + exp(-x)) without overflow: exp of a non-positive number only. */
float mlp__sigmoid(float x);
/* y[i] = f(x[i]), i < n. y may equal x (in place). */
void mlp__act_fwd(int act, float *y, const float *x, int64_t n, float param);
/* dx[i] += dy[i] * f'(x[i]), or dx[i] = 0 + that when set (dx is a fresh
 * gradient buffer; the same bits as adding into zeros). y = f(x) is given
 * too (sigmoid and tanh use it, relu may use either); x may be NULL for
 * sigmoid/tanh/relu when y is given. */
void mlp__act_bwd(int act, int set, float *dx, const float *dy, const float *x, const float *y,
                  int64_t n, float param);
/* y[r,c] = f(y[r,c] + b[c]) over rows x cols (b may be NULL): the bias add
 * fused with the activation, in place on the product x·W. */
void mlp__bias_act_fwd(int act, float *y, const float *b, int64_t rows, int64_t cols, float param);
/* Whether mlp__bias_act_fwd with act is the bias add and then ReLU (act
 * MLP_ACT_RELU) or nothing more (pReLU's alphas are a pass of their own):
 * the operations a row kernel can apply before its store. */
static inline int mlp__act_bias_relu(int act)
{
    return act == MLP_ACT_IDENTITY || act == MLP_ACT_PRELU || act == MLP_ACT_RELU;
}
/* y[r,c] = f(y[r,c] + b[r]) over rows x cols (b may be NULL): as
 * mlp__bias_act_fwd with a bias per row (activations held transposed, a
 * row per feature). */
void mlp__bias_act_rows(int act, float *y, const float *b, int64_t rows, int64_t cols, float param);
/* dst [cols,rows] = src [rows,cols] transposed (not aliasing). */
void mlp__transpose(float *dst, const float *src, int64_t rows, int64_t cols);
/* pReLU: y = x > 0 ? x : a x, a = alpha[0] (nalpha == 1) or alpha[c]
 * (nalpha == cols), over rows x cols. */
void mlp__prelu_fwd(float *y, const float *x, const float *alpha, int64_t nalpha, int64_t rows,
                    int64_t cols);
/* dx += dy * (x > 0 ? 1 : a); dalpha += sum of dy * (x > 0 ? 0 : x) per alpha.
 * dx or dalpha may be NULL. */
void mlp__prelu_bwd(float *dx, float *dalpha, const float *dy, const float *x, const float *alpha,
                    int64_t nalpha, int64_t rows, int64_t cols);
/* Row-wise softmax / log-softmax over cols, stable (max subtracted). */
void mlp__softmax_rows(float *y, const float *x, int64_t rows, int64_t cols);
void mlp__log_softmax_rows(float *y, const float *x, int64_t rows, int64_t cols);
/* Softmax cross-entropy over the rows of x [rows,k], labels[r] a class
 * index in [0, k) held as a float: ml[2r] = max of row r, ml[2r+1] =
 * log(sum(exp(x[r,c] - max))), so the row's loss is (max - x[r,y]) +
 * ml[2r+1]; with g (may be NULL), g[r,c] = (softmax(x_r)[c] - [c == y]) *
 * inv. Every exp through vexp (a kernel's, exp.h), whole rows at a time. */
void mlp__ce_rows(mlp__vexp_fn vexp, float *ml, float *g, const float *x, const float *labels,
                  int64_t rows, int64_t k, float inv);
/* log(sum(exp(x[i]))), stable. */
float mlp__logsumexp(const float *x, int64_t n);

#endif
