/*
 * bench/infer.c - single-sample latency of mlp_model_predict (one row in,
 * one row out, no tape) for 784-256-10 and 2-4-1 ReLU nets:
 *   infer net=784-256-10 us_per_sample=...
 * The best of 5 rounds of a timed loop.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mlp.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bench(const char *name, const int64_t *sizes, int nsizes, long iters)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = ctx ? mlp_model_new(ctx) : NULL;
    float x[1024], out[1024], sink = 0.0f;
    double best = 1e30;
    long it;
    int i, r;
    if (!m)
        return 1;
    for (i = 0; i + 1 < nsizes; i++) {
        if (mlp_model_add_linear(m, sizes[i], sizes[i + 1]) != MLP_OK
            || (i + 2 < nsizes && mlp_model_add_act(m, MLP_ACT_RELU) != MLP_OK)) {
            fprintf(stderr, "infer: %s\n", mlp_ctx_errmsg(ctx));
            return 1;
        }
    }
    for (i = 0; i < 1024; i++)
        x[i] = (float)(i % 17) / 17.0f;
    for (r = 0; r < 5; r++) {
        double t0 = now(), dt;
        for (it = 0; it < iters; it++) {
            x[0] = (float)(it & 7);
            if (mlp_model_predict(m, x, 1, out) != MLP_OK) {
                fprintf(stderr, "infer: %s\n", mlp_ctx_errmsg(ctx));
                return 1;
            }
            sink += out[0];
        }
        dt = (now() - t0) / (double)iters;
        if (dt < best)
            best = dt;
    }
    printf("infer net=%s us_per_sample=%.4f\n", name, best * 1e6);
    if (sink == 12345.678f)
        printf("\n");
    mlp_model_free(m);
    mlp_ctx_free(ctx);
    return 0;
}

int main(void)
{
    static const int64_t big[] = {784, 256, 10}, tiny[] = {2, 4, 1};
    int rc = bench("784-256-10", big, 3, 20000);
    rc |= bench("2-4-1", tiny, 3, 2000000);
    return rc;
}
