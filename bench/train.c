/*
 * bench/train.c - training speed on the chapter's recipe: Fashion-MNIST,
 * softmax cross-entropy, SGD lr 0.1, batch 256, through mlp_fit exactly as
 * a user writes it. One line per setting (median epoch time of
 * MLP_BENCH_EPOCHS epochs, default 3, and the test accuracy after them):
 *   train net=784-256-10 batch=256 threads=1 epoch_s=... samples_per_s=... test_acc=...
 * Data: .cache/fashion-mnist (make data) or MLP_FASHION_DIR.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlp.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static mlp_tensor *load(mlp_ctx *ctx, const char *dir, const char *name, float scale)
{
    char path[1024];
    mlp_tensor *t;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    t = mlp_idx_load(ctx, path, scale);
    if (!t)
        fprintf(stderr, "train: %s: %s (run `make data`)\n", path, mlp_ctx_errmsg(ctx));
    return t;
}

/* An image file [n,28,28] read as [n,784] floats in [0,1], a chunk of
 * bytes at a time, straight into the tensor (no reshape copy, no whole-file
 * buffer: the peak is the 188 MB the training set needs as floats). */
static mlp_tensor *load_flat(mlp_ctx *ctx, const char *dir, const char *name)
{
    char path[1024];
    unsigned char h[16], chunk[65536];
    int64_t shape[2], i, n, done = 0;
    mlp_tensor *t;
    float *d;
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f || fread(h, 1, 16, f) != 16 || h[2] != 8 || h[3] != 3) {
        fprintf(stderr, "train: cannot read %s (run `make data`)\n", path);
        if (f)
            fclose(f);
        return NULL;
    }
    shape[0] = (int64_t)h[4] << 24 | (int64_t)h[5] << 16 | (int64_t)h[6] << 8 | h[7];
    shape[1] = 784;
    t = mlp_tensor_zeros(ctx, 2, shape);
    if (!t) {
        fclose(f);
        return NULL;
    }
    d = mlp_tensor_data(t);
    n = shape[0] * 784;
    while (done < n) {
        size_t want = (size_t)(n - done < (int64_t)sizeof chunk ? n - done : (int64_t)sizeof chunk);
        if (fread(chunk, 1, want, f) != want) {
            fprintf(stderr, "train: %s is truncated\n", path);
            mlp_tensor_free(t);
            fclose(f);
            return NULL;
        }
        for (i = 0; i < (int64_t)want; i++)
            d[done + i] = (float)chunk[i] * (1.0f / 255.0f);
        done += (int64_t)want;
    }
    fclose(f);
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run(const char *dir, const int64_t *sizes, int nsizes, int threads, int epochs,
               uint64_t seed)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_tensor *xtr, *ytr, *xte, *yte;
    mlp_dataset *train = NULL, *test = NULL;
    mlp_model *m = NULL;
    mlp_optim *opt = NULL;
    double times[64];
    float acc = 0.0f;
    int e, i, rc = 1;
    char net[128];
    size_t off = 0;
    if (!ctx)
        return 1;
    mlp_ctx_seed(ctx, seed);
    if (mlp_ctx_set_threads(ctx, threads) != MLP_OK) {
        fprintf(stderr, "train: threads=%d: %s\n", threads, mlp_ctx_errmsg(ctx));
        mlp_ctx_free(ctx);
        return 1;
    }
    xtr = load_flat(ctx, dir, "train-images-idx3-ubyte");
    ytr = load(ctx, dir, "train-labels-idx1-ubyte", 1.0f);
    xte = load_flat(ctx, dir, "t10k-images-idx3-ubyte");
    yte = load(ctx, dir, "t10k-labels-idx1-ubyte", 1.0f);
    if (!xtr || !ytr || !xte || !yte)
        goto out;
    train = mlp_dataset_new(xtr, ytr);
    test = mlp_dataset_new(xte, yte);
    m = mlp_model_new(ctx);
    if (!train || !test || !m)
        goto out;
    for (i = 0; i + 1 < nsizes; i++) {
        if (mlp_model_add_linear(m, sizes[i], sizes[i + 1]) != MLP_OK)
            goto out;
        if (i + 2 < nsizes && mlp_model_add_act(m, MLP_ACT_RELU) != MLP_OK)
            goto out;
    }
    opt = mlp_sgd_new(m, 0.1f);
    if (!opt)
        goto out;
    for (e = 0; e < epochs; e++) {
        double t0 = now();
        if (mlp_fit(m, opt, train, MLP_LOSS_CROSS_ENTROPY, 1, 256, NULL, NULL) != MLP_OK)
            goto out;
        times[e] = now() - t0;
    }
    if (mlp_evaluate(m, test, MLP_LOSS_CROSS_ENTROPY, 1000, NULL, &acc) != MLP_OK)
        goto out;
    qsort(times, (size_t)epochs, sizeof times[0], cmp_double);
    for (i = 0; i < nsizes; i++)
        off += (size_t)snprintf(net + off, sizeof net - off, i ? "-%lld" : "%lld",
                                (long long)sizes[i]);
    printf("train net=%s batch=256 threads=%d seed=%llu epoch_s=%.3f samples_per_s=%.0f "
           "test_acc=%.4f\n",
           net, threads, (unsigned long long)seed, times[epochs / 2],
           (double)mlp_dataset_size(train) / times[epochs / 2], acc);
    fflush(stdout);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "train: %s\n", mlp_ctx_errmsg(ctx));
    mlp_optim_free(opt);
    mlp_model_free(m);
    mlp_dataset_free(train);
    mlp_dataset_free(test);
    mlp_tensor_free(xtr);
    mlp_tensor_free(ytr);
    mlp_tensor_free(xte);
    mlp_tensor_free(yte);
    mlp_ctx_free(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    static const int64_t net1[] = {784, 256, 10}, net2[] = {784, 512, 256, 10};
    const char *dir = getenv("MLP_FASHION_DIR");
    const char *ep = getenv("MLP_BENCH_EPOCHS");
    int epochs = ep ? atoi(ep) : 3, t, rc = 0;
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    if (!dir)
        dir = ".cache/fashion-mnist";
    if (epochs < 1 || epochs > 64)
        epochs = 3;
    for (t = 1; t <= 2; t++)
        rc |= run(dir, net1, 3, t, epochs, seed);
    for (t = 1; t <= 2; t++)
        rc |= run(dir, net2, 4, t, epochs, seed);
    return rc;
}
