/*
 * tsan_two_contexts.c - two contexts never meet: two models, each on its
 * own context, trained in two threads at the same time give bit-identical
 * parameters and predictions to the same two trainings run one after the
 * other. Built with -fsanitize=thread by `make check-tsan`, which fails on
 * any data race (not named test_*.c: it is not a cmocka test). A second
 * round gives each context two worker threads of its own when the build
 * has threads. Prints one line per round; exit status 0 when all agree.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlp.h"

#define NB 32
#define NIN 8
#define NHID 64
#define NOUT 4
#define STEPS 30
#define MAXP 8

typedef struct job {
    uint64_t seed;
    int threads; /* threads inside the context */
    int kind;    /* optimizer */
    float params[MAXP][NHID * NHID];
    int64_t numel[MAXP];
    int nparams;
    float pred[NB * NOUT];
    float last_loss;
    int ok;
    char err[256];
} job;

static void *train(void *arg)
{
    job *j = (job *)arg;
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = NULL;
    mlp_optim *opt = NULL;
    mlp_tensor *x = NULL, *y = NULL;
    int64_t xs[2] = {NB, NIN}, ys[1] = {NB};
    int i, k;
    j->ok = 0;
    if (!ctx) {
        snprintf(j->err, sizeof j->err, "no context");
        return NULL;
    }
    mlp_ctx_seed(ctx, j->seed);
    if (j->threads > 1 && mlp_ctx_set_threads(ctx, j->threads) != MLP_OK)
        j->threads = 1; /* a build without threads */
    x = mlp_tensor_rand_normal(ctx, 2, xs, 0.0f, 1.0f);
    y = mlp_tensor_zeros(ctx, 1, ys);
    m = mlp_model_new(ctx);
    if (!x || !y || !m)
        goto done;
    for (i = 0; i < NB; i++) /* labels from the sign pattern of two inputs */
        mlp_tensor_data(y)[i] =
            (float)((mlp_tensor_get(x, i * NIN) > 0) * 2 + (mlp_tensor_get(x, i * NIN + 1) > 0));
    if (mlp_model_add_linear(m, NIN, NHID) || mlp_model_add_act(m, MLP_ACT_RELU)
        || mlp_model_add_dropout(m, 0.1f) || mlp_model_add_linear(m, NHID, NHID)
        || mlp_model_add_act(m, MLP_ACT_PRELU) || mlp_model_add_linear(m, NHID, NOUT))
        goto done;
    opt = j->kind == MLP_OPTIM_ADAM ? mlp_adam_new(m, 0.01f) : mlp_sgd_new(m, 0.1f);
    if (!opt)
        goto done;
    if (j->kind == MLP_OPTIM_SGD && mlp_optim_set(opt, MLP_OPT_MOMENTUM, 0.9) != MLP_OK)
        goto done;
    for (k = 0; k < STEPS; k++) {
        mlp_tensor *loss = mlp_cross_entropy(mlp_model_forward(m, x), y);
        if (!loss || mlp_optim_zero_grad(opt) || mlp_backward(loss, NULL, 0) || mlp_optim_step(opt))
            goto done;
        j->last_loss = mlp_tensor_item(loss);
        mlp_tape_reset(ctx);
    }
    if (mlp_model_predict(m, mlp_tensor_cdata(x), NB, j->pred) != MLP_OK)
        goto done;
    j->nparams = mlp_model_num_params(m);
    if (j->nparams > MAXP)
        goto done;
    for (i = 0; i < j->nparams; i++) {
        mlp_tensor *p = mlp_model_param(m, i);
        j->numel[i] = mlp_tensor_numel(p);
        if (j->numel[i] > NHID * NHID)
            goto done;
        memcpy(j->params[i], mlp_tensor_cdata(p), (size_t)j->numel[i] * sizeof(float));
    }
    j->ok = 1;
done:
    if (!j->ok)
        snprintf(j->err, sizeof j->err, "%s", mlp_ctx_errmsg(ctx));
    mlp_tape_reset(ctx);
    mlp_optim_free(opt);
    mlp_model_free(m);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    mlp_ctx_free(ctx);
    return NULL;
}

static int same(const job *a, const job *b)
{
    int i;
    if (!a->ok || !b->ok || a->nparams != b->nparams)
        return 0;
    if (memcmp(a->pred, b->pred, sizeof a->pred) != 0
        || memcmp(&a->last_loss, &b->last_loss, sizeof(float)) != 0)
        return 0;
    for (i = 0; i < a->nparams; i++)
        if (a->numel[i] != b->numel[i]
            || memcmp(a->params[i], b->params[i], (size_t)a->numel[i] * sizeof(float)) != 0)
            return 0;
    return 1;
}

/* One round: jobs A and B one after the other, then both at once. */
static int round_with(int threads)
{
    static job seq[2], par[2];
    pthread_t t[2];
    int i;
    for (i = 0; i < 2; i++) {
        memset(&seq[i], 0, sizeof seq[i]);
        seq[i].seed = 1000 + (uint64_t)i;
        seq[i].threads = threads;
        seq[i].kind = i == 0 ? MLP_OPTIM_SGD : MLP_OPTIM_ADAM;
        par[i] = seq[i];
    }
    train(&seq[0]);
    train(&seq[1]);
    for (i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, train, &par[i]) != 0) {
            fprintf(stderr, "tsan_two_contexts: pthread_create failed\n");
            return 0;
        }
    for (i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (i = 0; i < 2; i++) {
        if (!seq[i].ok || !par[i].ok) {
            fprintf(stderr, "tsan_two_contexts: training %d failed: %s%s\n", i, seq[i].err,
                    par[i].err);
            return 0;
        }
        if (!same(&seq[i], &par[i])) {
            fprintf(stderr,
                    "tsan_two_contexts: training %d differs between threads and "
                    "sequence (%d thread(s) per context)\n",
                    i, threads);
            return 0;
        }
    }
    if (same(&seq[0], &seq[1])) {
        fprintf(stderr, "tsan_two_contexts: the two trainings should differ\n");
        return 0;
    }
    printf("tsan_two_contexts: %d thread(s) per context (%d asked): two at once == one "
           "after the other (losses %.6f, %.6f)\n",
           par[0].threads, threads, (double)par[0].last_loss, (double)par[1].last_loss);
    return 1;
}

int main(void)
{
    if (!round_with(1) || !round_with(2))
        return 1;
    return 0;
}
