/*
 * bench/infer.c - inference time of mlp_model_predict (no tape) on the
 * 784-256-10 and 2-4-1 ReLU nets, at batch 1 and 256, with 1 and 2
 * threads in the context; one line each, the time per sample with the
 * weights packed once (mlp_model_pack: a served model, as ONNX Runtime's
 * session prepacks them) and without, and the time one core takes to
 * read the model's weights and biases once from cache (read_us, per call:
 * at batch 1 every weight is used once, so no engine can take less on one
 * core):
 *   infer net=784-256-10 threads=1 batch=256 us_per_sample=... unpacked_us=...
 *         read_us=... cpu="..." kernel=...
 * Each figure is the best of 7 timed loops of about 20 ms (other processes
 * on the machine only ever make a loop slower), packed and unpacked loops
 * taken in turn.
 * Usage: infer [net|all [batch [threads]]]: batch 0 or absent runs 1 and
 * 256, threads 0 or absent 1 and 2, any other value that one.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>

#include "bench.h"
#include "mlp.h"

/* One timed loop of iters calls: seconds per call; < 0 on failure. */
static double loop(mlp_model *m, float *x, int64_t batch, float *y, long iters, double *sink)
{
    double t0 = bench_now();
    long it;
    for (it = 0; it < iters; it++) {
        x[0] = (float)(it & 7);
        if (mlp_model_predict(m, x, batch, y) != MLP_OK)
            return -1.0;
        *sink += y[0];
    }
    return (bench_now() - t0) / (double)iters;
}

static int bench(const char *name, const int64_t *sizes, int nsizes, int64_t batch, int threads)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = ctx ? mlp_model_new(ctx) : NULL;
    int64_t in = sizes[0], out = sizes[nsizes - 1], i;
    float *x = (float *)malloc((size_t)(batch * in) * sizeof(float));
    float *y = (float *)malloc((size_t)(batch * out) * sizeof(float));
    double best[2] = {1e30, 1e30}, sink = 0.0, dt;
    long iters = 1;
    int r, rc = 1;
    if (!m || !x || !y)
        goto done;
    if (mlp_ctx_set_threads(ctx, threads) != MLP_OK)
        goto done;
    for (i = 0; i + 1 < nsizes; i++)
        if (mlp_model_add_linear(m, sizes[i], sizes[i + 1]) != MLP_OK
            || (i + 2 < nsizes && mlp_model_add_act(m, MLP_ACT_RELU) != MLP_OK))
            goto done;
    for (i = 0; i < batch * in; i++)
        x[i] = (float)(i % 17) / 17.0f;
    /* calibrate: iterations for about 20 ms */
    while ((dt = loop(m, x, batch, y, iters, &sink)) * (double)iters <= 0.005
           && iters <= (1L << 26))
        if (dt < 0.0)
            goto done;
        else
            iters *= 2;
    iters *= 4;
    for (r = 0; r < 14; r++) { /* even r: packed, odd: unpacked */
        if (mlp_model_pack(m, !(r & 1)) != MLP_OK
            || (dt = loop(m, x, batch, y, iters, &sink)) < 0.0)
            goto done;
        if (dt < best[r & 1])
            best[r & 1] = dt;
    }
    printf("infer net=%s threads=%d batch=%lld us_per_sample=%.4f unpacked_us=%.4f read_us=%.4f "
           "cpu=\"%s\" kernel=%s\n",
           name, threads, (long long)batch, best[0] * 1e6 / (double)batch,
           best[1] * 1e6 / (double)batch, bench_read_floor((long)mlp_model_param_numel(m)) * 1e6,
           bench_cpu_model(), mlp_ctx_gemm_kernel(ctx));
    if (sink == 12345.678)
        printf("\n");
    fflush(stdout);
    rc = 0;
done:
    if (rc && ctx)
        fprintf(stderr, "infer: %s: %s\n", name, mlp_ctx_errmsg(ctx));
    free(x);
    free(y);
    mlp_model_free(m);
    mlp_ctx_free(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    static const int64_t big[] = {784, 256, 10}, tiny[] = {2, 4, 1};
    const char *which = argc > 1 ? argv[1] : "all";
    int64_t bonly = argc > 2 ? atoll(argv[2]) : 0, batches[2] = {1, 256};
    int tonly = argc > 3 ? atoi(argv[3]) : 0, n, b, t, nb = 2, rc = 0, found = 0;
    const int t_lo = tonly ? tonly : 1, t_hi = tonly ? tonly : 2; /* 0: 1 and 2 */
    if (bonly < 0 || tonly < 0) {
        fprintf(stderr, "infer: batch %lld and threads %d must be 0 (the defaults) or counts\n",
                (long long)bonly, tonly);
        return 2;
    }
    if (bonly) {
        batches[0] = bonly;
        nb = 1;
    }
    for (n = 0; n < 2; n++) {
        const char *name = n ? "2-4-1" : "784-256-10";
        if (strcmp(which, "all") != 0 && strcmp(which, name) != 0)
            continue;
        found = 1;
        for (b = 0; b < nb; b++)
            for (t = t_lo; t <= t_hi; t++)
                rc |= bench(name, n ? tiny : big, 3, batches[b], t);
    }
    if (!found) {
        fprintf(stderr, "infer: unknown net %s (784-256-10, 2-4-1 or all)\n", which);
        return 2;
    }
    return rc;
}
