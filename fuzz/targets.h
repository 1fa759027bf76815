/*
 * targets.h - the bodies of the fuzz targets, shared by the libFuzzer
 * programs (fuzz/fuzz_*.c) and the corpus replay test
 * (tests/test_fuzz_replay.c). Each target feeds one input to one reader on
 * a fresh context whose allocator counts blocks and refuses single blocks
 * over FUZZ_MAX_ALLOC (a hostile header then meets MLP_ERR_NOMEM, as it
 * would on a small machine), uses what was read, frees everything, and
 * checks the library's contract:
 *   - a reader either returns an object, or NULL with an error code and a
 *     non-empty message on the context;
 *   - once everything is freed, no block is left live.
 * A target returns 0 when the contract held and a positive number naming
 * the broken rule otherwise (the fuzzer programs abort on it).
 */
#ifndef MLP_FUZZ_TARGETS_H
#define MLP_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlp.h"

#define FUZZ_MAX_ALLOC ((size_t)64 << 20)
/* largest input or output width the model target predicts with */
#define FUZZ_MAX_FEATURES ((int64_t)1 << 16)

enum {
    FUZZ_OK = 0,
    FUZZ_NO_ERROR_SET = 1, /* NULL / failure without an error on ctx */
    FUZZ_LEAK = 2,         /* blocks left after freeing everything */
    FUZZ_BAD_OBJECT = 3,   /* an object that loaded is inconsistent */
    FUZZ_NO_CTX = 4,       /* could not even make a context */
    FUZZ_TOO_MUCH = 5      /* a reader used more memory than its input justifies */
};

typedef struct fuzz_alloc {
    long live;
} fuzz_alloc;

static inline void *fuzz_alloc_fn(void *user, size_t size)
{
    fuzz_alloc *a = (fuzz_alloc *)user;
    void *p;
    if (size > FUZZ_MAX_ALLOC)
        return NULL;
    p = malloc(size);
    if (p)
        a->live++;
    return p;
}

static inline void *fuzz_realloc_fn(void *user, void *ptr, size_t size)
{
    (void)user;
    if (size > FUZZ_MAX_ALLOC)
        return NULL;
    return realloc(ptr, size);
}

static inline void fuzz_free_fn(void *user, void *ptr)
{
    fuzz_alloc *a = (fuzz_alloc *)user;
    a->live--;
    free(ptr);
}

static inline mlp_ctx *fuzz_ctx(fuzz_alloc *a)
{
    mlp_allocator al;
    a->live = 0;
    al.struct_size = sizeof al;
    al.alloc = fuzz_alloc_fn;
    al.realloc = fuzz_realloc_fn;
    al.free = fuzz_free_fn;
    al.user = a;
    return mlp_ctx_new(&al);
}

/* a failure must leave a code and a message */
static inline int fuzz_error_set(const mlp_ctx *ctx)
{
    const char *msg = mlp_ctx_errmsg(ctx);
    return mlp_ctx_errcode(ctx) != MLP_OK && msg && msg[0] != '\0';
}

static inline int fuzz_finish(mlp_ctx *ctx, fuzz_alloc *a, int rc)
{
    mlp_ctx_free(ctx);
    if (rc == FUZZ_OK && a->live != 0)
        rc = FUZZ_LEAK;
    return rc;
}

/* Read every element of a tensor a reader returned (ASan sees any
 * out-of-bounds storage), and check its shape against its element count. */
static inline int fuzz_check_tensor(const mlp_tensor *t)
{
    int64_t n = 1, i;
    int d, nd = mlp_tensor_ndim(t);
    const float *p = mlp_tensor_cdata(t);
    volatile float sink = 0.0f;
    if (nd < 0 || nd > MLP_MAX_DIMS)
        return FUZZ_BAD_OBJECT;
    for (d = 0; d < nd; d++) {
        int64_t k = mlp_tensor_dim(t, d);
        if (k < 0)
            return FUZZ_BAD_OBJECT;
        n *= k;
    }
    if (n != mlp_tensor_numel(t))
        return FUZZ_BAD_OBJECT;
    if (n > 0 && !p)
        return FUZZ_BAD_OBJECT;
    for (i = 0; i < n; i++)
        sink += p[i];
    (void)sink;
    return FUZZ_OK;
}

/* Use a model a reader returned: read every parameter, predict on zeros
 * and classify (when its widths are reasonable). */
static inline int fuzz_use_model(mlp_ctx *ctx, mlp_model *m)
{
    int64_t in = mlp_model_in_features(m), out = mlp_model_out_features(m);
    int np = mlp_model_num_params(m), i, rc = FUZZ_OK;
    for (i = 0; i < np && rc == FUZZ_OK; i++) {
        mlp_tensor *p = mlp_model_param(m, i);
        rc = p ? fuzz_check_tensor(p) : FUZZ_BAD_OBJECT;
    }
    if (rc == FUZZ_OK && in > 0 && out > 0 && in <= FUZZ_MAX_FEATURES && out <= FUZZ_MAX_FEATURES) {
        float *x = (float *)calloc((size_t)in * 2, sizeof(float));
        float *y = (float *)malloc((size_t)out * 2 * sizeof(float));
        int32_t cls[2];
        if (x && y) {
            if (mlp_model_predict(m, x, 2, y) != MLP_OK && !fuzz_error_set(ctx))
                rc = FUZZ_NO_ERROR_SET;
            if (rc == FUZZ_OK && mlp_model_classify(m, x, 2, cls) == MLP_OK
                && (cls[0] < 0 || cls[0] >= out))
                rc = FUZZ_BAD_OBJECT;
        }
        free(x);
        free(y);
    }
    return rc;
}

/* The model loader: load, then (if it loaded) predict on zeros, classify,
 * write it back to memory and load that again. */
static inline int fuzz_model_once(const uint8_t *data, size_t size)
{
    fuzz_alloc a;
    mlp_ctx *ctx = fuzz_ctx(&a);
    mlp_model *m, *m2;
    int rc;
    if (!ctx)
        return FUZZ_NO_CTX;
    m = mlp_model_load_mem(ctx, data, size);
    if (!m)
        return fuzz_finish(ctx, &a, fuzz_error_set(ctx) ? FUZZ_OK : FUZZ_NO_ERROR_SET);
    rc = fuzz_use_model(ctx, m);
    if (rc == FUZZ_OK) {
        void *buf = NULL;
        size_t n = 0;
        if (mlp_model_save_mem(m, &buf, &n) == MLP_OK) {
            m2 = mlp_model_load_mem(ctx, buf, n);
            if (!m2 || mlp_model_num_params(m2) != mlp_model_num_params(m)
                || mlp_model_num_layers(m2) != mlp_model_num_layers(m))
                rc = FUZZ_BAD_OBJECT; /* what the library wrote it must read */
            mlp_model_free(m2);
            mlp_buffer_free(ctx, buf);
        } else if (!fuzz_error_set(ctx)) {
            rc = FUZZ_NO_ERROR_SET;
        }
    }
    mlp_model_free(m);
    return fuzz_finish(ctx, &a, rc);
}

/* CRC-32 (IEEE, reflected 0xEDB88320), bit by bit: the model file ends
 * with the CRC of every byte before it (docs/format.md). */
static inline uint32_t fuzz_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        c ^= p[i];
        for (k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* The input as it is, then with its last four bytes replaced by the right
 * checksum, so mutations get past the CRC into the parser (model files
 * and checkpoints both end with one). */
static inline int fuzz_crc_fixed(int (*once)(const uint8_t *, size_t), const uint8_t *data,
                                 size_t size)
{
    uint8_t *fixed;
    uint32_t crc;
    int rc = once(data, size);
    if (rc != FUZZ_OK || size < 4)
        return rc;
    fixed = (uint8_t *)malloc(size);
    if (!fixed)
        return rc;
    memcpy(fixed, data, size);
    crc = fuzz_crc32(fixed, size - 4);
    fixed[size - 4] = (uint8_t)(crc & 0xFF);
    fixed[size - 3] = (uint8_t)((crc >> 8) & 0xFF);
    fixed[size - 2] = (uint8_t)((crc >> 16) & 0xFF);
    fixed[size - 1] = (uint8_t)((crc >> 24) & 0xFF);
    rc = once(fixed, size);
    free(fixed);
    return rc;
}

static inline int fuzz_model(const uint8_t *data, size_t size)
{
    return fuzz_crc_fixed(fuzz_model_once, data, size);
}

/* The samples checkpoints are loaded into (and the seeds were made on by
 * fuzz/seed_checkpoint.c): 4 rows of 2 features, labels 0 and 1. */
static inline mlp_dataset *fuzz_ckpt_data(mlp_ctx *ctx, mlp_tensor **x, mlp_tensor **y)
{
    static const float xs[8] = {0, 1, 1, 0, 0.5f, -1, -0.5f, 2}, ys[4] = {0, 1, 1, 0};
    const int64_t xshape[2] = {4, 2}, yshape[1] = {4};
    *x = mlp_tensor_from(ctx, 2, xshape, xs);
    *y = mlp_tensor_from(ctx, 1, yshape, ys);
    return mlp_dataset_new(*x, *y);
}

/* A progress callback that stops after the first batch. */
static inline int fuzz_stop(void *user, int epoch, int64_t batch, int64_t nbatches, float loss,
                            float acc)
{
    (void)user;
    (void)epoch;
    (void)batch;
    (void)nbatches;
    (void)loss;
    (void)acc;
    return 1;
}

/* What loaded: train on, save again, load that again. */
static inline int fuzz_use_checkpoint(mlp_ctx *ctx, mlp_model *m, mlp_optim *o, mlp_dataset *ds)
{
    void *buf = NULL;
    size_t n = 0;
    int rc = FUZZ_OK;
    if (mlp_model_in_features(m) == 2 && mlp_model_out_features(m) <= 64) {
        /* the seeds use batch 2; an epoch in progress with another one is
         * refused, with a message */
        if (mlp_fit(m, o, ds, MLP_LOSS_CROSS_ENTROPY, 1, 2, fuzz_stop, NULL) != MLP_OK
            && !fuzz_error_set(ctx))
            rc = FUZZ_NO_ERROR_SET;
    }
    mlp_ctx_clear_error(ctx);
    if (rc == FUZZ_OK && mlp_checkpoint_save_mem(m, o, ds, &buf, &n) == MLP_OK) {
        mlp_model *m2 = NULL;
        mlp_optim *o2 = NULL;
        if (mlp_checkpoint_load_mem(ctx, buf, n, ds, &m2, &o2) != MLP_OK
            || mlp_model_num_params(m2) != mlp_model_num_params(m)
            || mlp_optim_num_steps(o2) != mlp_optim_num_steps(o))
            rc = FUZZ_BAD_OBJECT; /* what the library wrote it must read */
        mlp_model_free(m2);
        mlp_optim_free(o2);
        mlp_buffer_free(ctx, buf);
    } else if (rc == FUZZ_OK && !fuzz_error_set(ctx)) {
        rc = FUZZ_NO_ERROR_SET;
    }
    return rc;
}

/* The checkpoint loader into the dataset of fuzz_ckpt_data. */
static inline int fuzz_checkpoint_once(const uint8_t *data, size_t size)
{
    fuzz_alloc a;
    mlp_ctx *ctx = fuzz_ctx(&a);
    mlp_tensor *x, *y;
    mlp_dataset *ds;
    mlp_model *m = NULL;
    mlp_optim *o = NULL;
    int rc;
    if (!ctx)
        return FUZZ_NO_CTX;
    ds = fuzz_ckpt_data(ctx, &x, &y);
    if (!ds)
        rc = FUZZ_NO_CTX;
    else if (mlp_checkpoint_load_mem(ctx, data, size, ds, &m, &o) != MLP_OK)
        rc = fuzz_error_set(ctx) && !m && !o ? FUZZ_OK : FUZZ_NO_ERROR_SET;
    else if (!m || !o)
        rc = FUZZ_BAD_OBJECT;
    else
        rc = fuzz_use_checkpoint(ctx, m, o, ds);
    mlp_optim_free(o);
    mlp_model_free(m);
    mlp_dataset_free(ds);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    return fuzz_finish(ctx, &a, rc);
}

static inline int fuzz_checkpoint(const uint8_t *data, size_t size)
{
    return fuzz_crc_fixed(fuzz_checkpoint_once, data, size);
}

/* A reader of tensors from memory (npy, idx, csv). */
static inline int fuzz_tensor_result(mlp_ctx *ctx, mlp_tensor *t)
{
    int rc;
    if (!t)
        return fuzz_error_set(ctx) ? FUZZ_OK : FUZZ_NO_ERROR_SET;
    rc = fuzz_check_tensor(t);
    mlp_tensor_free(t);
    return rc;
}

/* A value the readers refuse by default (NaN, Inf, beyond float's range)
 * is read again with mlp_ctx_set_allow_nonfinite_data on. */
static inline int fuzz_retry_nonfinite(mlp_ctx *ctx, int rc)
{
    if (rc != FUZZ_OK || mlp_ctx_errcode(ctx) != MLP_ERR_NONFINITE)
        return 0;
    mlp_ctx_clear_error(ctx);
    mlp_ctx_set_allow_nonfinite_data(ctx, 1);
    return 1;
}

static inline int fuzz_npy(const uint8_t *data, size_t size)
{
    fuzz_alloc a;
    mlp_ctx *ctx = fuzz_ctx(&a);
    int rc;
    if (!ctx)
        return FUZZ_NO_CTX;
    rc = fuzz_tensor_result(ctx, mlp_npy_load_mem(ctx, data, size));
    if (fuzz_retry_nonfinite(ctx, rc))
        rc = fuzz_tensor_result(ctx, mlp_npy_load_mem(ctx, data, size));
    return fuzz_finish(ctx, &a, rc);
}

static inline int fuzz_idx(const uint8_t *data, size_t size)
{
    fuzz_alloc a;
    mlp_ctx *ctx = fuzz_ctx(&a);
    int rc;
    if (!ctx)
        return FUZZ_NO_CTX;
    rc = fuzz_tensor_result(ctx, mlp_idx_load_mem(ctx, data, size, 1.0f / 255));
    if (fuzz_retry_nonfinite(ctx, rc))
        rc = fuzz_tensor_result(ctx, mlp_idx_load_mem(ctx, data, size, 1.0f / 255));
    return fuzz_finish(ctx, &a, rc);
}

/* CSV: the same bytes with and without a header line (the first pass
 * again with non-finite values allowed when it refused one). */
static inline int fuzz_csv(const uint8_t *data, size_t size)
{
    fuzz_alloc a;
    mlp_ctx *ctx = fuzz_ctx(&a);
    int rc;
    if (!ctx)
        return FUZZ_NO_CTX;
    rc = fuzz_tensor_result(ctx, mlp_csv_load_mem(ctx, data, size, 0));
    if (fuzz_retry_nonfinite(ctx, rc))
        rc = fuzz_tensor_result(ctx, mlp_csv_load_mem(ctx, data, size, 0));
    if (rc == FUZZ_OK) {
        mlp_ctx_clear_error(ctx);
        rc = fuzz_tensor_result(ctx, mlp_csv_load_mem(ctx, data, size, 1));
    }
    return fuzz_finish(ctx, &a, rc);
}

/* ---- ONNX ----
 * An allocator that also counts bytes, for the ONNX reader's promise:
 * while reading, live memory stays under FUZZ_ONNX_RATIO times the
 * input's size plus FUZZ_ONNX_SLACK (the smallest tables and model). */

#define FUZZ_ONNX_RATIO 32
#define FUZZ_ONNX_SLACK ((size_t)64 << 10)

typedef struct fuzz_bytes {
    fuzz_alloc blocks; /* first, so the generic checks see the block count */
    size_t live, peak;
} fuzz_bytes;

/* each block carries its size in a 16-byte header */
static inline void *fuzz_bytes_alloc(void *user, size_t size)
{
    fuzz_bytes *a = (fuzz_bytes *)user;
    unsigned char *p;
    if (size > FUZZ_MAX_ALLOC)
        return NULL;
    p = (unsigned char *)malloc(size + 16);
    if (!p)
        return NULL;
    memcpy(p, &size, sizeof size);
    a->blocks.live++;
    a->live += size;
    if (a->live > a->peak)
        a->peak = a->live;
    return p + 16;
}

static inline void *fuzz_bytes_realloc(void *user, void *ptr, size_t size)
{
    fuzz_bytes *a = (fuzz_bytes *)user;
    unsigned char *p = (unsigned char *)ptr - 16, *q;
    size_t old;
    if (size > FUZZ_MAX_ALLOC)
        return NULL;
    memcpy(&old, p, sizeof old);
    q = (unsigned char *)realloc(p, size + 16);
    if (!q)
        return NULL;
    memcpy(q, &size, sizeof size);
    a->live = a->live - old + size;
    if (a->live > a->peak)
        a->peak = a->live;
    return q + 16;
}

static inline void fuzz_bytes_free(void *user, void *ptr)
{
    fuzz_bytes *a = (fuzz_bytes *)user;
    unsigned char *p = (unsigned char *)ptr - 16;
    size_t old;
    memcpy(&old, p, sizeof old);
    a->blocks.live--;
    a->live -= old;
    free(p);
}

/* The ONNX reader: load (within the memory bound), then check the
 * parameters, predict on zeros, write the model back as ONNX and read
 * that again: what the library wrote it must read. */
static inline int fuzz_onnx(const uint8_t *data, size_t size)
{
    fuzz_bytes a;
    mlp_allocator al;
    mlp_ctx *ctx;
    mlp_model *m, *m2;
    int rc = FUZZ_OK;
    size_t base;
    memset(&a, 0, sizeof a);
    al.struct_size = sizeof al;
    al.alloc = fuzz_bytes_alloc;
    al.realloc = fuzz_bytes_realloc;
    al.free = fuzz_bytes_free;
    al.user = &a;
    if (!(ctx = mlp_ctx_new(&al)))
        return FUZZ_NO_CTX;
    base = a.peak = a.live;
    m = mlp_model_load_onnx_mem(ctx, data, size);
    if (a.peak - base > (size_t)FUZZ_ONNX_RATIO * size + FUZZ_ONNX_SLACK)
        rc = FUZZ_TOO_MUCH;
    if (!m) {
        if (rc == FUZZ_OK && !fuzz_error_set(ctx))
            rc = FUZZ_NO_ERROR_SET;
        return fuzz_finish(ctx, &a.blocks, rc);
    }
    if (rc == FUZZ_OK)
        rc = fuzz_use_model(ctx, m);
    if (rc == FUZZ_OK) {
        void *buf = NULL;
        size_t n = 0;
        if (mlp_model_save_onnx_mem(m, &buf, &n) == MLP_OK) {
            m2 = mlp_model_load_onnx_mem(ctx, buf, n);
            if (!m2 || mlp_model_in_features(m2) != mlp_model_in_features(m)
                || mlp_model_out_features(m2) != mlp_model_out_features(m))
                rc = FUZZ_BAD_OBJECT;
            mlp_model_free(m2);
            mlp_buffer_free(ctx, buf);
        } else if (!fuzz_error_set(ctx)) {
            rc = FUZZ_NO_ERROR_SET;
        }
    }
    mlp_model_free(m);
    return fuzz_finish(ctx, &a.blocks, rc);
}

#endif
