/* TEMPORARY placeholder until the real kernels land; owned by the gemm work. */
#include "kern/gemm.h"
struct mlp__gemm_kernel { int x; };
static const mlp__gemm_kernel g = {0};
const mlp__gemm_kernel *mlp__gemm_best(void) { return &g; }
const mlp__gemm_kernel *mlp__gemm_find(const char *name) { (void)name; return &g; }
const char *mlp__gemm_name(const mlp__gemm_kernel *k) { (void)k; return "generic"; }
size_t mlp__gemm_workspace_floats(const mlp__gemm_kernel *k) { (void)k; return 16; }
void mlp__sgemm(const mlp__gemm_kernel *k, int ta, int tb, int64_t M, int64_t N, int64_t K,
                float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                float beta, float *C, int64_t ldc, float *work)
{ int64_t i,j,p; (void)k; (void)work;
  for (i=0;i<M;i++) for (j=0;j<N;j++) { float s=0; for(p=0;p<K;p++) s += (ta?A[p*lda+i]:A[i*lda+p])*(tb?B[j*ldb+p]:B[p*ldb+j]);
    C[i*ldc+j] = alpha*s + (beta==0?0:beta*C[i*ldc+j]); } }
