/*
 * exp.c - the kernels' exp loops: exp.h's function inlined into one loop
 * per instruction set, which the compiler vectorises.
 *
 * This file alone is built with -fno-trapping-math (the Makefile): without
 * it gcc turns exp.h's range selects into branches and leaves the loop
 * scalar. On every kernel file the flag changes the code of the tuned
 * tiles too (gcc 12: 600 instructions instead of 625 for the 12 x 32
 * tile; as fast on Zen 5, unmeasured elsewhere), so it stays here. No
 * kernel reads the floating-point exception flags.
 */
#include "kern/exp.h"
#include "kern/gemm.h"

#define VEXP_LOOP(name, attr)                                                                      \
    attr void name(float *y, const float *x, int64_t n)                                            \
    {                                                                                              \
        int64_t i;                                                                                 \
        for (i = 0; i < n; i++)                                                                    \
            y[i] = mlp__exp_poly(x[i]);                                                            \
    }

VEXP_LOOP(mlp__vexp_generic, )
#if defined(MLP__GEMM_X86)
VEXP_LOOP(mlp__vexp_avx2, MLP__TARGET_AVX2)
VEXP_LOOP(mlp__vexp_avx512, MLP__TARGET_AVX512)
#endif
