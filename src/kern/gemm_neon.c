/*
 * gemm_neon.c - NEON (AArch64 Advanced SIMD) kernel: 8 x 8 tile (16 q
 * accumulators, two B vectors, one broadcast of A), an M == 1 row kernel
 * with 16 accumulators (64 columns), 4 x 4 in-register transposes for
 * packing. NEON has no masked loads: edge lanes go through a small copy.
 * The tile code is the template in gemm_simd.h; this file holds the vector
 * macros for NEON and the kernel's sizes. Every AArch64 CPU has NEON, so
 * no target attribute is needed; compiles to nothing elsewhere.
 */
#include "kern/gemm.h"

#if defined(MLP__GEMM_NEON)
#include <arm_neon.h>

#define SIMD_KERNEL mlp__gemm_kernel_neon
#define SIMD_NAME "neon"
#define SIMD_TARGET
#define SIMD_VEXP mlp__vexp_generic
#define SIMD_VW 4
#define MR 8
#define NR 8
#define SIMD_MC 128
#define SIMD_KC 256
#define SIMD_NC 1024
#define SIMD_MASKED 0
#define SIMD_PREFETCH_C 0
#define SIMD_B_AHEAD 0
#define SIMD_ROW_NV 16
#define SIMD_ROWS_ACC 24

typedef float32x4_t vf;
typedef int vmask; /* the number of leading lanes */

static inline int lanes4(int64_t n)
{
    return n < 0 ? 0 : n > 4 ? 4 : (int)n;
}

static inline float32x4_t loadn4(int n, const float *p)
{
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    int i;
    if (n == 4)
        return vld1q_f32(p);
    for (i = 0; i < n; i++)
        t[i] = p[i];
    return vld1q_f32(t);
}

static inline void storen4(float *p, int n, float32x4_t v)
{
    float t[4];
    int i;
    if (n == 4) {
        vst1q_f32(p, v);
        return;
    }
    vst1q_f32(t, v);
    for (i = 0; i < n; i++)
        p[i] = t[i];
}

static inline void tr4(float32x4_t r[4])
{
    const float32x4x2_t t0 = vtrnq_f32(r[0], r[1]), t1 = vtrnq_f32(r[2], r[3]);
    r[0] = vcombine_f32(vget_low_f32(t0.val[0]), vget_low_f32(t1.val[0]));
    r[1] = vcombine_f32(vget_low_f32(t0.val[1]), vget_low_f32(t1.val[1]));
    r[2] = vcombine_f32(vget_high_f32(t0.val[0]), vget_high_f32(t1.val[0]));
    r[3] = vcombine_f32(vget_high_f32(t0.val[1]), vget_high_f32(t1.val[1]));
}

#define V_ZERO() vdupq_n_f32(0.0f)
#define V_BCAST(p) vld1q_dup_f32(p)
#define V_SET1(x) vdupq_n_f32(x)
#define V_ADD(a, b) vaddq_f32(a, b)
#define V_MUL(a, b) vmulq_f32(a, b)
#define V_FMA(a, b, c) vfmaq_f32(c, a, b)
#define V_LOAD(p) vld1q_f32(p)
#define V_LOADA(p) vld1q_f32(p)
#define V_STORE(p, v) vst1q_f32(p, v)
#define V_STOREA(p, v) vst1q_f32(p, v)
#define V_MASK(n) lanes4(n)
#define V_LOADM(m, p) loadn4(m, p)
#define V_STOREM(p, m, v) storen4(p, m, v)
#define V_STOREN(p, v, nl) storen4(p, nl, v)
#define V_TRANSPOSE(r) tr4(r)
#define V_NONZERO(v) vmaxvq_u32(vmvnq_u32(vceqq_f32(v, vdupq_n_f32(0.0f))))
#define V_RELU(v) vbslq_f32(vcleq_f32(v, vdupq_n_f32(0.0f)), vdupq_n_f32(0.0f), v)

#include "kern/gemm_simd.h"

#else
/* ISO C forbids an empty translation unit. */
typedef int mlp__gemm_neon_unused;
#endif
