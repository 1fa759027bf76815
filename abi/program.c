/*
 * abi/program.c - a user's program as it was written against the
 * baseline's header (abi/mlp.h). make check-abi builds it against that
 * header, links it to the shared library built now and runs it: a program
 * compiled against an earlier libmlp of the same major version must run
 * unchanged. It uses the API broadly: the allocator struct, the context,
 * tensors, the tape, a model, an optimizer, the model file, status codes.
 * Keep it to what the baseline has (regenerating the baseline with make
 * abi-baseline keeps this program compiling).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mlp.h>

static long g_calls;

static void *my_alloc(void *user, size_t n)
{
    (void)user;
    g_calls++;
    return malloc(n);
}

static void *my_realloc(void *user, void *p, size_t n)
{
    (void)user;
    g_calls++;
    return realloc(p, n);
}

static void my_free(void *user, void *p)
{
    (void)user;
    free(p);
}

int main(void)
{
    float xs[8] = {0, 0, 0, 1, 1, 0, 1, 1}, ys[4] = {0, 1, 1, 0}, logit[4], again[4];
    int64_t xshape[2] = {4, 2}, yshape[2] = {4, 1};
    mlp_allocator al;
    mlp_ctx *ctx;
    mlp_tensor *x, *y;
    mlp_model *net, *back;
    mlp_optim *opt;
    void *buf = NULL;
    size_t size = 0;
    int step, i, ok = 1;

    memset(&al, 0, sizeof al);
    al.struct_size = sizeof al;
    al.alloc = my_alloc;
    al.realloc = my_realloc;
    al.free = my_free;
    ctx = mlp_ctx_new(&al);
    if (!ctx)
        return 1;
    mlp_ctx_seed(ctx, 1);
    x = mlp_tensor_from(ctx, 2, xshape, xs);
    y = mlp_tensor_from(ctx, 2, yshape, ys);
    net = mlp_model_new(ctx);
    mlp_model_add_linear(net, 2, 8);
    mlp_model_add_act(net, MLP_ACT_TANH);
    mlp_model_add_linear(net, 8, 1);
    opt = mlp_adam_new(net, 0.05f);
    for (step = 0; step < 300; step++) {
        mlp_tensor *loss = mlp_bce_with_logits(mlp_model_forward(net, x), y);
        mlp_optim_zero_grad(opt);
        if (mlp_backward(loss, NULL, 0) != MLP_OK) {
            fprintf(stderr, "%s\n", mlp_ctx_errmsg(ctx));
            return 1;
        }
        mlp_optim_step(opt);
        mlp_tape_reset(ctx);
    }
    mlp_model_predict(net, xs, 4, logit);
    for (i = 0; i < 4; i++) /* XOR learned: the right side of 0 */
        ok &= (logit[i] > 0.0f) == (ys[i] > 0.5f);
    /* the model file round trip predicts the same */
    ok &= mlp_model_save_mem(net, &buf, &size) == MLP_OK;
    back = mlp_model_load_mem(ctx, buf, size);
    ok &= back != NULL && mlp_model_predict(back, xs, 4, again) == MLP_OK
          && memcmp(logit, again, sizeof logit) == 0;
    /* status codes keep their values and meanings */
    ok &= MLP_OK == 0 && strcmp(mlp_status_str(MLP_OK), "") != 0;
    ok &= mlp_model_add_linear(NULL, 1, 1) == MLP_ERR_NULL;
    ok &= g_calls > 0; /* everything went through the allocator given */
    printf("program built against libmlp %s runs on libmlp %s: %s\n", MLP_VERSION, mlp_version(),
           ok ? "ok" : "BROKEN");
    mlp_buffer_free(ctx, buf);
    mlp_model_free(back);
    mlp_optim_free(opt);
    mlp_model_free(net);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    mlp_ctx_free(ctx);
    return ok ? 0 : 1;
}
