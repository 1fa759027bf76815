/*
 * onnx_fashion.c - Fashion-MNIST through ONNX, both ways.
 *
 *   onnx_fashion classify --model M.onnx [--data DIR] [--count N] [--expect ACC]
 *       loads a model trained elsewhere (tools/train_fashion_torch.py trains
 *       the chapter's 784-256-10 MLP in PyTorch and exports it) and
 *       classifies the first N test images in C; with --expect (torch's
 *       accuracy) it fails when libmlp's differs by more than 0.001.
 *
 *   onnx_fashion train --out M.onnx [--data DIR] [--epochs 10] [--limit N]
 *                      [--test-npy PREFIX]
 *       trains the same MLP in C (SGD lr 0.1, batch 256), saves it as ONNX
 *       for ONNX Runtime, prints its test accuracy, and with --test-npy
 *       writes PREFIX.x.npy (test images [n,784]) and PREFIX.labels.npy so
 *       `node tools/ort_run.js M.onnx PREFIX.x.npy --labels PREFIX.labels.npy`
 *       reports the accuracy ONNX Runtime gets with the same model.
 *
 * docs/onnx.md walks through both; tools/onnx_demo.sh runs them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mlp.h>

typedef struct opts {
    const char *model, *data, *test_npy;
    long count, epochs, limit;
    double expect;
} opts;

/* The test images as [n, 784] in [0,1] and the labels [n]. */
static int load_test(mlp_ctx *ctx, const opts *o, mlp_tensor **x, mlp_tensor **y)
{
    char path[1024];
    int64_t n, shape[2];
    sprintf(path, "%.900s/t10k-images-idx3-ubyte", o->data);
    *x = mlp_idx_load(ctx, path, 1.0f / 255.0f);
    sprintf(path, "%.900s/t10k-labels-idx1-ubyte", o->data);
    *y = mlp_idx_load(ctx, path, 1.0f);
    if (!*x || !*y)
        return 0;
    n = mlp_tensor_dim(*x, 0);
    if (o->count > 0 && o->count < n)
        n = o->count;
    shape[0] = mlp_tensor_dim(*x, 0);
    shape[1] = 784;
    if (mlp_tensor_set_shape(*x, 2, shape) != MLP_OK)
        return 0;
    return (int)(n > 0);
}

/* Fraction of the first n rows of x the model classifies as y says. */
static double accuracy(mlp_model *m, mlp_tensor *x, mlp_tensor *y, int64_t n)
{
    int32_t *cls = (int32_t *)malloc((size_t)n * sizeof *cls);
    int64_t i, right = 0;
    if (!cls || mlp_model_classify(m, mlp_tensor_cdata(x), n, cls) != MLP_OK) {
        free(cls);
        return -1.0;
    }
    for (i = 0; i < n; i++)
        right += cls[i] == (int32_t)mlp_tensor_get(y, i);
    free(cls);
    return (double)right / (double)n;
}

static int classify(mlp_ctx *ctx, const opts *o)
{
    mlp_model *m = mlp_model_load_onnx(ctx, o->model);
    mlp_tensor *x = NULL, *y = NULL;
    char summary[512];
    int64_t n;
    double acc;
    int rc = 1;
    if (!m) {
        fprintf(stderr, "onnx_fashion: %s\n", mlp_ctx_errmsg(ctx));
        return 1;
    }
    mlp_model_summary(m, summary, sizeof summary);
    printf("%s loaded from ONNX:\n%s", o->model, summary);
    if (!load_test(ctx, o, &x, &y)) {
        fprintf(stderr, "onnx_fashion: %s (run make data)\n", mlp_ctx_errmsg(ctx));
        goto done;
    }
    n = o->count > 0 && o->count < mlp_tensor_dim(x, 0) ? o->count : mlp_tensor_dim(x, 0);
    acc = accuracy(m, x, y, n);
    if (acc < 0) {
        fprintf(stderr, "onnx_fashion: %s\n", mlp_ctx_errmsg(ctx));
        goto done;
    }
    if (o->expect >= 0) {
        printf("libmlp test accuracy %.4f on %lld images (torch reported %.4f)\n", acc,
               (long long)n, o->expect);
        if (fabs(acc - o->expect) > 0.001) {
            fprintf(stderr, "onnx_fashion: accuracy differs from torch's by more than 0.001\n");
            goto done;
        }
    } else {
        printf("libmlp test accuracy %.4f on %lld images\n", acc, (long long)n);
    }
    rc = 0;
done:
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    mlp_model_free(m);
    return rc;
}

/* The n first rows of t as a new [n, cols] tensor. */
static mlp_tensor *head(mlp_ctx *ctx, mlp_tensor *t, int64_t n, int64_t cols)
{
    int64_t shape[2];
    shape[0] = n;
    shape[1] = cols;
    return mlp_tensor_from(ctx, cols ? 2 : 1, shape, mlp_tensor_cdata(t));
}

static int train(mlp_ctx *ctx, const opts *o)
{
    char path[1024];
    mlp_tensor *x = NULL, *y = NULL, *tx = NULL, *ty = NULL, *sx, *sy;
    mlp_model *m = mlp_model_new(ctx);
    mlp_optim *opt = NULL;
    mlp_dataset *ds = NULL;
    int64_t shape[2], n;
    int rc = 1;
    mlp_ctx_seed(ctx, 42);
    sprintf(path, "%.900s/train-images-idx3-ubyte", o->data);
    x = mlp_idx_load(ctx, path, 1.0f / 255.0f);
    sprintf(path, "%.900s/train-labels-idx1-ubyte", o->data);
    y = mlp_idx_load(ctx, path, 1.0f);
    if (!x || !y || !load_test(ctx, o, &tx, &ty)) {
        fprintf(stderr, "onnx_fashion: %s (run make data)\n", mlp_ctx_errmsg(ctx));
        goto done;
    }
    n = o->limit > 0 && o->limit < mlp_tensor_dim(x, 0) ? o->limit : mlp_tensor_dim(x, 0);
    shape[0] = mlp_tensor_dim(x, 0);
    shape[1] = 784;
    mlp_tensor_set_shape(x, 2, shape);
    sx = head(ctx, x, n, 784);
    sy = head(ctx, y, n, 0);
    ds = mlp_dataset_new(sx, sy);
    mlp_tensor_free(sx);
    mlp_tensor_free(sy);
    if (mlp_model_add_linear(m, 784, 256) != MLP_OK || mlp_model_add_act(m, MLP_ACT_RELU) != MLP_OK
        || mlp_model_add_linear(m, 256, 10) != MLP_OK || !ds || !(opt = mlp_sgd_new(m, 0.1f))
        || mlp_fit(m, opt, ds, MLP_LOSS_CROSS_ENTROPY, (int)o->epochs, 256, NULL, NULL) != MLP_OK
        || mlp_model_save_onnx(m, o->model) != MLP_OK) {
        fprintf(stderr, "onnx_fashion: %s\n", mlp_ctx_errmsg(ctx));
        goto done;
    }
    n = o->count > 0 && o->count < mlp_tensor_dim(tx, 0) ? o->count : mlp_tensor_dim(tx, 0);
    printf("trained 784-256-10 in C on %lld images for %ld epochs, saved %s\n",
           (long long)mlp_dataset_size(ds), o->epochs, o->model);
    printf("libmlp test accuracy %.4f on %lld images\n", accuracy(m, tx, ty, n), (long long)n);
    if (o->test_npy) {
        mlp_tensor *hx = head(ctx, tx, n, 784), *hy = head(ctx, ty, n, 0);
        sprintf(path, "%.900s.x.npy", o->test_npy);
        if (!hx || !hy || mlp_npy_save(hx, path) != MLP_OK) {
            fprintf(stderr, "onnx_fashion: %s\n", mlp_ctx_errmsg(ctx));
            mlp_tensor_free(hx);
            mlp_tensor_free(hy);
            goto done;
        }
        sprintf(path, "%.900s.labels.npy", o->test_npy);
        if (mlp_npy_save(hy, path) != MLP_OK) {
            fprintf(stderr, "onnx_fashion: %s\n", mlp_ctx_errmsg(ctx));
            mlp_tensor_free(hx);
            mlp_tensor_free(hy);
            goto done;
        }
        mlp_tensor_free(hx);
        mlp_tensor_free(hy);
    }
    rc = 0;
done:
    mlp_dataset_free(ds);
    mlp_optim_free(opt);
    mlp_model_free(m);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    mlp_tensor_free(tx);
    mlp_tensor_free(ty);
    return rc;
}

int main(int argc, char **argv)
{
    opts o;
    mlp_ctx *ctx;
    int a, rc;
    memset(&o, 0, sizeof o);
    o.data = ".cache/fashion-mnist";
    o.epochs = 10;
    o.expect = -1.0;
    if (argc < 2 || (strcmp(argv[1], "classify") != 0 && strcmp(argv[1], "train") != 0))
        goto usage;
    for (a = 2; a + 1 < argc; a += 2) {
        const char *f = argv[a], *v = argv[a + 1];
        if (!strcmp(f, "--model") || !strcmp(f, "--out"))
            o.model = v;
        else if (!strcmp(f, "--data"))
            o.data = v;
        else if (!strcmp(f, "--count"))
            o.count = strtol(v, NULL, 10);
        else if (!strcmp(f, "--epochs"))
            o.epochs = strtol(v, NULL, 10);
        else if (!strcmp(f, "--limit"))
            o.limit = strtol(v, NULL, 10);
        else if (!strcmp(f, "--expect"))
            o.expect = strtod(v, NULL);
        else if (!strcmp(f, "--test-npy"))
            o.test_npy = v;
        else
            goto usage;
    }
    if (a != argc || !o.model)
        goto usage;
    if (!(ctx = mlp_ctx_new(NULL)))
        return 1;
    rc = argv[1][0] == 'c' ? classify(ctx, &o) : train(ctx, &o);
    mlp_ctx_free(ctx);
    return rc;
usage:
    fprintf(stderr, "usage: onnx_fashion classify --model M.onnx [--data DIR] [--count N] "
                    "[--expect ACC]\n"
                    "       onnx_fashion train --out M.onnx [--data DIR] [--epochs N] "
                    "[--limit N] [--count N] [--test-npy PREFIX]\n");
    return 2;
}
