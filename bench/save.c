/*
 * bench/save.c - what a durable save costs: mlp_model_save and
 * mlp_checkpoint_save (temporary file, fsync of the file, rename, fsync of
 * the directory) against the same bytes written the way saves were before
 * (fopen, fwrite, fclose, rename: no sync), in one folder, alternating,
 * median of N rounds each. Models: the chapter's 784-256-10, and a
 * 784-1024-1024-10 one; checkpoints with Adam's two moments and a
 * 60000-sample order.
 *
 * Usage: save [DIR (default build)] [ROUNDS (default 20)]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mlp.h>

#include "bench.h"

/* The way saves wrote before they synced: write, close, rename. */
static int plain_save(const void *buf, size_t n, const char *path)
{
    char tmp[1100];
    FILE *f;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (!(f = fopen(tmp, "wb")) || fwrite(buf, 1, n, f) != n || fclose(f) != 0)
        return 0;
    return rename(tmp, path) == 0;
}

typedef struct job {
    mlp_model *m;
    mlp_optim *opt;
    mlp_dataset *ds; /* NULL: a model file */
} job;

static int durable(const job *j, const char *path)
{
    return (j->ds ? mlp_checkpoint_save(j->m, j->opt, j->ds, path) : mlp_model_save(j->m, path))
           == MLP_OK;
}

static void measure(const char *name, const job *j, const char *dir, int rounds)
{
    char path[1024];
    double *a = malloc((size_t)rounds * sizeof *a), *b = malloc((size_t)rounds * sizeof *b);
    void *buf;
    size_t n;
    int r;
    if (!a || !b)
        exit(1);
    if ((j->ds ? mlp_checkpoint_save_mem(j->m, j->opt, j->ds, &buf, &n)
               : mlp_model_save_mem(j->m, &buf, &n))
        != MLP_OK)
        exit(1);
    snprintf(path, sizeof path, "%s/bench_save_%s", dir, name);
    for (r = 0; r < rounds; r++) { /* alternate, so both see the same disk */
        double t = bench_now();
        if (!durable(j, path))
            exit(1);
        a[r] = bench_now() - t;
        t = bench_now();
        if (!plain_save(buf, n, path))
            exit(1);
        b[r] = bench_now() - t;
    }
    {
        double da = bench_median(a, rounds), db = bench_median(b, rounds);
        printf("save %-24s %8.2f MB  synced %8.2f ms  unsynced %7.2f ms  ratio %6.1fx\n", name,
               (double)n / 1e6, 1e3 * da, 1e3 * db, da / db);
    }
    remove(path);
    mlp_buffer_free(mlp_tensor_ctx(mlp_model_param(j->m, 0)), buf);
    free(a);
    free(b);
}

static mlp_model *net(mlp_ctx *ctx, int deep)
{
    mlp_model *m = mlp_model_new(ctx);
    mlp_model_add_linear(m, 784, deep ? 1024 : 256);
    mlp_model_add_act(m, MLP_ACT_RELU);
    if (deep) {
        mlp_model_add_linear(m, 1024, 1024);
        mlp_model_add_act(m, MLP_ACT_RELU);
    }
    mlp_model_add_linear(m, deep ? 1024 : 256, 10);
    return m;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "build";
    int rounds = argc > 2 ? atoi(argv[2]) : 20, deep;
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    int64_t xs[2] = {60000, 1};
    mlp_tensor *x = mlp_tensor_zeros(ctx, 2, xs);
    mlp_dataset *ds = mlp_dataset_new(x, x);
    if (rounds < 1 || !ds)
        return 2;
    printf("save: %d rounds each into %s, medians (noisy on a shared disk: compare the ratio)\n",
           rounds, dir);
    for (deep = 0; deep < 2; deep++) {
        job j;
        char name[64];
        j.m = net(ctx, deep);
        j.opt = mlp_adam_new(j.m, 1e-3f);
        j.ds = NULL;
        snprintf(name, sizeof name, "model %s", deep ? "784-1024-1024-10" : "784-256-10");
        measure(name, &j, dir, rounds);
        { /* one step, so Adam's two moments exist */
            int64_t bs[2] = {4, 784}, ls[1] = {4};
            mlp_tensor *bx = mlp_tensor_zeros(ctx, 2, bs), *by = mlp_tensor_zeros(ctx, 1, ls);
            if (mlp_backward(mlp_cross_entropy(mlp_model_forward(j.m, bx), by), NULL, 0) != MLP_OK
                || mlp_optim_step(j.opt) != MLP_OK)
                return 1;
            mlp_tape_reset(ctx);
            mlp_tensor_free(bx);
            mlp_tensor_free(by);
        }
        j.ds = ds;
        snprintf(name, sizeof name, "checkpoint %s", deep ? "784-1024-1024-10" : "784-256-10");
        measure(name, &j, dir, rounds);
        mlp_optim_free(j.opt);
        mlp_model_free(j.m);
    }
    mlp_dataset_free(ds);
    mlp_tensor_free(x);
    mlp_ctx_free(ctx);
    return 0;
}
