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
/* ReLU's backward in place: g[i] = 0 + (v[i] <= 0 ? 0 : g[i]), v the
 * output (mlp__relu_bwd's set, with dy and dx one array). */
void mlp__relu_mask(float *g, const float *v, int64_t n);
/* The constants of one SGD update with momentum or weight decay. */
typedef struct mlp__sgd_k {
    float lr, wd, mu; /* learning rate, weight decay, momentum (0: none) */
    float damp;       /* 1 - dampening */
    int nesterov;
    int first; /* the momentum buffer starts as this step's direction */
} mlp__sgd_k;
/* Elements i < n of an SGD update with PyTorch's formulas: buf the
 * momentum buffer (unused when mu is 0; no two arrays overlap). */
void mlp__sgd(float *p, const float *g, float *buf, int64_t n, const mlp__sgd_k *k);
/* The constants of one Adam or AdamW update (optim.c computes them from
 * the optimizer's settings and step). */
typedef struct mlp__adam_k {
    int decoupled;       /* AdamW: p *= decay first; else d = g + wd p */
    int amsgrad;         /* vmax keeps the largest second moment */
    float decay, wd;     /* decay = 1 - lr wd (AdamW) */
    float b1, omb1;      /* beta1 and 1 - beta1 */
    float b2, omb2;      /* beta2 and 1 - beta2 */
    float bc2_sqrt, eps; /* sqrt(1 - beta2^t), epsilon */
    float step_size;     /* lr / (1 - beta1^t) */
} mlp__adam_k;
/* Elements i < n of an Adam update, with PyTorch's formulas: m1, m2 the
 * moments, vmax the largest second moment (amsgrad only, else unused;
 * no two arrays overlap). */
void mlp__adam(float *p, const float *g, float *m1, float *m2, float *vmax, int64_t n,
               const mlp__adam_k *k);
/* 1 when every x[i], i < n, is zero (either sign), else 0. */
int mlp__vec_all_zero(const float *x, int64_t n);

/* The passes above as one copy of their loops: each function of a table
 * has the contract of the one it is named after, and every table gives
 * the same bits. mlp__vec_passes_best is the widest this CPU runs (the
 * functions above call it); the x86 tables exist on x86 only. */
typedef struct mlp__vec_passes {
    const char *name; /* "base", "avx2", "avx512" */
    void (*sub_scaled)(float *y, float a, const float *x, int64_t n);
    void (*acc)(float *y, const float *x, int64_t n);
    void (*col_sums_acc)(float *db, const float *g, int64_t rows, int64_t cols, int64_t ld);
    void (*sgd)(float *p, const float *g, float *buf, int64_t n, const mlp__sgd_k *k);
    void (*adam)(float *p, const float *g, float *m1, float *m2, float *vmax, int64_t n,
                 const mlp__adam_k *k);
    int (*all_zero)(const float *x, int64_t n);
    void (*relu_bwd)(float *dx, const float *dy, const float *v, int64_t n, int set);
    void (*relu_mask)(float *g, const float *v, int64_t n);
} mlp__vec_passes;
extern const mlp__vec_passes mlp__vec_passes_base;
extern const mlp__vec_passes mlp__vec_passes_avx2;
extern const mlp__vec_passes mlp__vec_passes_avx512;
const mlp__vec_passes *mlp__vec_passes_best(void);

#endif
