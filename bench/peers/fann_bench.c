/*
 * bench/peers/fann_bench.c - FANN (libfloatfann) on the same data as
 * bench/train, for bench/compare.py; benchmark-only, built by mk/bench.mk.
 * FANN has no mini-batches and no softmax: one epoch of its incremental
 * (per-sample) training of 784-256-10 (sigmoid hidden and output, MSE on
 * one-hot targets, learning rate 0.1), and the single-sample latency of
 * fann_run for 784-256-10 and 2-4-1.
 *   fann_bench DATADIR [EPOCHS]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <floatfann.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* IDX file: bytes after the header, count of items, item size. */
static unsigned char *idx(const char *dir, const char *name, unsigned *n, unsigned *item)
{
    char path[1024];
    FILE *f;
    unsigned char h[16];
    unsigned char *buf;
    unsigned nd, i, dims[3] = {1, 1, 1};
    size_t size;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f || fread(h, 1, 4, f) != 4)
        return NULL;
    nd = h[3];
    for (i = 0; i < nd && i < 3; i++) {
        unsigned char d[4];
        if (fread(d, 1, 4, f) != 4)
            return NULL;
        dims[i] = (unsigned)d[0] << 24 | (unsigned)d[1] << 16 | (unsigned)d[2] << 8 | d[3];
    }
    *n = dims[0];
    *item = dims[1] * dims[2];
    size = (size_t)*n * *item;
    buf = (unsigned char *)malloc(size);
    if (!buf || fread(buf, 1, size, f) != size)
        return NULL;
    fclose(f);
    return buf;
}

static struct fann_train_data *to_fann(const unsigned char *x, const unsigned char *y, unsigned n)
{
    struct fann_train_data *d = fann_create_train(n, 784, 10);
    unsigned i, j;
    for (i = 0; i < n; i++) {
        for (j = 0; j < 784; j++)
            d->input[i][j] = (float)x[(size_t)i * 784 + j] / 255.0f;
        for (j = 0; j < 10; j++)
            d->output[i][j] = y[i] == j ? 1.0f : 0.0f;
    }
    return d;
}

static void infer(const char *name, unsigned a, unsigned b, unsigned c, long iters)
{
    struct fann *net = fann_create_standard(3, a, b, c);
    fann_type x[784];
    double best = 1e30, sink = 0.0;
    unsigned i;
    int r;
    long it;
    fann_set_activation_function_hidden(net, FANN_SIGMOID);
    for (i = 0; i < a; i++)
        x[i] = (fann_type)(i % 17) / 17.0f;
    for (r = 0; r < 5; r++) {
        double t0 = now(), dt;
        for (it = 0; it < iters; it++) {
            x[0] = (fann_type)(it & 7);
            sink += fann_run(net, x)[0];
        }
        dt = (now() - t0) / (double)iters;
        if (dt < best)
            best = dt;
    }
    printf("fann_infer net=%s us_per_sample=%.4f%s\n", name, best * 1e6, sink == 1.5 ? " " : "");
    fann_destroy(net);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".cache/fashion-mnist";
    int epochs = argc > 2 ? atoi(argv[2]) : 1, e;
    unsigned ntr, nte, item, one, i, right = 0;
    unsigned char *xtr = idx(dir, "train-images-idx3-ubyte", &ntr, &item);
    unsigned char *ytr = idx(dir, "train-labels-idx1-ubyte", &ntr, &one);
    unsigned char *xte = idx(dir, "t10k-images-idx3-ubyte", &nte, &item);
    unsigned char *yte = idx(dir, "t10k-labels-idx1-ubyte", &nte, &one);
    struct fann_train_data *tr, *te;
    struct fann *net;
    double best = 1e30;
    if (!xtr || !ytr || !xte || !yte) {
        fprintf(stderr, "fann_bench: cannot read Fashion-MNIST from %s\n", dir);
        return 1;
    }
    tr = to_fann(xtr, ytr, ntr);
    te = to_fann(xte, yte, nte);
    net = fann_create_standard(3, 784, 256, 10);
    fann_set_training_algorithm(net, FANN_TRAIN_INCREMENTAL);
    fann_set_learning_rate(net, 0.1f);
    fann_set_activation_function_hidden(net, FANN_SIGMOID);
    fann_set_activation_function_output(net, FANN_SIGMOID);
    fann_randomize_weights(net, -0.05f, 0.05f);
    for (e = 0; e < (epochs < 1 ? 1 : epochs); e++) {
        double t0 = now(), dt;
        fann_shuffle_train_data(tr);
        fann_train_epoch(net, tr);
        dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    for (i = 0; i < nte; i++) {
        fann_type *o = fann_run(net, te->input[i]);
        unsigned j, arg = 0;
        for (j = 1; j < 10; j++)
            if (o[j] > o[arg])
                arg = j;
        right += arg == yte[i];
    }
    printf("fann_train net=784-256-10 incremental epoch_s=%.3f test_acc=%.4f\n", best,
           (double)right / nte);
    infer("784-256-10", 784, 256, 10, 20000);
    infer("2-4-1", 2, 4, 1, 2000000);
    fann_destroy(net);
    fann_destroy_train(tr);
    fann_destroy_train(te);
    free(xtr);
    free(ytr);
    free(xte);
    free(yte);
    return 0;
}
