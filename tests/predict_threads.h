/*
 * predict_threads.h - one model, many threads: four threads call
 * mlp_model_predict and mlp_model_classify on one shared model at the same
 * time, each with its own mix of batch sizes (1 row up to batches that
 * the context splits across its own worker threads), and every result
 * must equal, bit for bit, the same call made alone beforehand.
 * Shared by tests/test_threads.c (make check) and tests/tsan_shared_model.c
 * (make check-tsan, where ThreadSanitizer also fails on any data race).
 */
#ifndef MLP_TESTS_PREDICT_THREADS_H
#define MLP_TESTS_PREDICT_THREADS_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlp.h"

#define PT_IN 24
#define PT_OUT 5
#define PT_MAXN 700
#define PT_CALLERS 4
#define PT_ROUNDS 6

static const int64_t pt_sizes[] = {1, 3, 13, 64, 257, 700};
#define PT_NSIZES ((int)(sizeof pt_sizes / sizeof pt_sizes[0]))

typedef struct pt_shared {
    mlp_model *m;
    float x[PT_MAXN * PT_IN];
    float want[PT_NSIZES][PT_MAXN * PT_OUT]; /* each size alone, beforehand */
    int32_t want_cls[PT_NSIZES][PT_MAXN];
} pt_shared;

typedef struct pt_caller {
    pt_shared *sh;
    int id, ok;
    float out[PT_MAXN * PT_OUT];
    int32_t cls[PT_MAXN];
    char err[200];
} pt_caller;

static void *pt_call(void *arg)
{
    pt_caller *c = (pt_caller *)arg;
    int r, k;
    c->ok = 1;
    for (r = 0; r < PT_ROUNDS && c->ok; r++) {
        /* each caller walks the sizes in its own order */
        k = (r * 5 + c->id * 7) % PT_NSIZES;
        if (mlp_model_predict(c->sh->m, c->sh->x, pt_sizes[k], c->out) != MLP_OK
            || memcmp(c->out, c->sh->want[k], (size_t)(pt_sizes[k] * PT_OUT) * sizeof(float))
                   != 0) {
            snprintf(c->err, sizeof c->err, "caller %d: predict n = %lld differs or failed", c->id,
                     (long long)pt_sizes[k]);
            c->ok = 0;
        } else if (mlp_model_classify(c->sh->m, c->sh->x, pt_sizes[k], c->cls) != MLP_OK
                   || memcmp(c->cls, c->sh->want_cls[k], (size_t)pt_sizes[k] * sizeof(int32_t))
                          != 0) {
            snprintf(c->err, sizeof c->err, "caller %d: classify n = %lld differs or failed", c->id,
                     (long long)pt_sizes[k]);
            c->ok = 0;
        }
    }
    return NULL;
}

/* The whole check with `threads` worker threads in the model's context.
 * Returns 1 when every concurrent call agreed; otherwise 0 with err. */
static int pt_run(int threads, char *err, size_t cap)
{
    static pt_shared sh;
    static pt_caller callers[PT_CALLERS];
    pthread_t t[PT_CALLERS];
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    int i, k, ok = 1;
    uint32_t seed = 12345u;
    snprintf(err, cap, "setup failed");
    if (!ctx)
        return 0;
    mlp_ctx_seed(ctx, 7);
    if (threads > 1 && mlp_ctx_set_threads(ctx, threads) != MLP_OK) {
        mlp_ctx_free(ctx);
        return 0;
    }
    sh.m = mlp_model_new(ctx);
    if (!sh.m || mlp_model_add_linear(sh.m, PT_IN, 96) || mlp_model_add_act(sh.m, MLP_ACT_RELU)
        || mlp_model_add_dropout(sh.m, 0.2f) || mlp_model_add_linear(sh.m, 96, 80)
        || mlp_model_add_act(sh.m, MLP_ACT_PRELU) || mlp_model_add_linear(sh.m, 80, PT_OUT)) {
        mlp_model_free(sh.m);
        mlp_ctx_free(ctx);
        return 0;
    }
    for (i = 0; i < PT_MAXN * PT_IN; i++) {
        seed = seed * 1664525u + 1013904223u;
        sh.x[i] = (float)(seed >> 8) / 16777216.0f * 4.0f - 2.0f;
    }
    for (k = 0; k < PT_NSIZES; k++)
        if (mlp_model_predict(sh.m, sh.x, pt_sizes[k], sh.want[k]) != MLP_OK
            || mlp_model_classify(sh.m, sh.x, pt_sizes[k], sh.want_cls[k]) != MLP_OK)
            ok = 0;
    for (i = 0; i < PT_CALLERS && ok; i++) {
        memset(&callers[i], 0, sizeof callers[i]);
        callers[i].sh = &sh;
        callers[i].id = i;
    }
    for (i = 0; i < PT_CALLERS && ok; i++)
        if (pthread_create(&t[i], NULL, pt_call, &callers[i]) != 0) {
            snprintf(err, cap, "pthread_create failed");
            while (i-- > 0)
                pthread_join(t[i], NULL);
            ok = -1;
        }
    if (ok == 1) {
        for (i = 0; i < PT_CALLERS; i++)
            pthread_join(t[i], NULL);
        for (i = 0; i < PT_CALLERS; i++)
            if (!callers[i].ok) {
                snprintf(err, cap, "%s", callers[i].err);
                ok = 0;
            }
    }
    mlp_model_free(sh.m);
    mlp_ctx_free(ctx);
    return ok == 1;
}

#endif
