/*
 * vec_fast.c - the streaming passes of a training step: the optimizers'
 * updates, adding one gradient buffer into another, column sums for a bias
 * gradient, the all-zero test on a gradient, ReLU's backward. Their loops
 * (vec_fast_t.h) are built once for any CPU and, on x86, once each for
 * AVX2 and AVX-512; a call runs the widest this CPU has. Every copy gives
 * the same bits (no contraction into FMA in this file: the Makefile), so
 * the choice is the CPU's alone, not the matrix kernel's. AVX-512 against
 * the 128-bit loops, on an Intel Xeon: ReLU's backward and the bias
 * gradients of 784-256-10 0.0059-0.0064 -> 0.0038-0.0040 s an epoch at 1
 * thread, 0.0057-0.0060 -> 0.0034-0.0040 at 2 (performance-log.md).
 */
#include "kern/vec_fast.h"

#include <math.h>

#include "kern/gemm.h"

#define VF(name) name##_base
#define VF_FN static
#include "kern/vec_fast_t.h"
#undef VF
#undef VF_FN

#if defined(MLP__GEMM_X86)
#define VF(name) name##_avx2
#define VF_FN static MLP__TARGET_AVX2
#include "kern/vec_fast_t.h"
#undef VF
#undef VF_FN
#define VF(name) name##_avx512
#define VF_FN static MLP__TARGET_AVX512
#include "kern/vec_fast_t.h"
#undef VF
#undef VF_FN
#endif

/* The table of each copy, and the widest this CPU runs. */
/* clang-format off */
#define VF_TABLE(s) {#s, sub_scaled_##s, acc_##s, col_sums_acc_##s, sgd_##s, adam_##s, \
                     all_zero_##s, relu_bwd_##s, relu_mask_##s}
/* clang-format on */
const mlp__vec_passes mlp__vec_passes_base = VF_TABLE(base);
#if defined(MLP__GEMM_X86)
const mlp__vec_passes mlp__vec_passes_avx2 = VF_TABLE(avx2);
const mlp__vec_passes mlp__vec_passes_avx512 = VF_TABLE(avx512);
#endif

const mlp__vec_passes *mlp__vec_passes_best(void)
{
#if defined(MLP__GEMM_X86)
    if (mlp__cpu_avx512())
        return &mlp__vec_passes_avx512;
    if (mlp__cpu_avx2())
        return &mlp__vec_passes_avx2;
#endif
    return &mlp__vec_passes_base;
}

void mlp__vec_sub_scaled(float *y, float a, const float *x, int64_t n)
{
    mlp__vec_passes_best()->sub_scaled(y, a, x, n);
}

void mlp__vec_acc(float *y, const float *x, int64_t n)
{
    mlp__vec_passes_best()->acc(y, x, n);
}

void mlp__col_sums_acc(float *db, const float *g, int64_t rows, int64_t cols, int64_t ld)
{
    mlp__vec_passes_best()->col_sums_acc(db, g, rows, cols, ld);
}

void mlp__sgd(float *p, const float *g, float *buf, int64_t n, const mlp__sgd_k *k)
{
    mlp__vec_passes_best()->sgd(p, g, buf, n, k);
}

void mlp__adam(float *p, const float *g, float *m1, float *m2, float *vmax, int64_t n,
               const mlp__adam_k *k)
{
    mlp__vec_passes_best()->adam(p, g, m1, m2, vmax, n, k);
}

int mlp__vec_all_zero(const float *x, int64_t n)
{
    return mlp__vec_passes_best()->all_zero(x, n);
}

void mlp__relu_bwd(float *dx, const float *dy, const float *v, int64_t n, int set)
{
    mlp__vec_passes_best()->relu_bwd(dx, dy, v, n, set);
}

void mlp__relu_mask(float *g, const float *v, int64_t n)
{
    mlp__vec_passes_best()->relu_mask(g, v, n);
}
