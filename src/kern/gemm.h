/* TEMPORARY placeholder until the real kernels land; owned by the gemm work. */
#include <stddef.h>
#include <stdint.h>
typedef struct mlp__gemm_kernel mlp__gemm_kernel;
const mlp__gemm_kernel *mlp__gemm_best(void);
const mlp__gemm_kernel *mlp__gemm_find(const char *name);
const char *mlp__gemm_name(const mlp__gemm_kernel *k);
size_t mlp__gemm_workspace_floats(const mlp__gemm_kernel *k);
void mlp__sgemm(const mlp__gemm_kernel *k, int ta, int tb, int64_t M, int64_t N, int64_t K,
                float alpha, const float *A, int64_t lda, const float *B, int64_t ldb,
                float beta, float *C, int64_t ldc, float *work);
