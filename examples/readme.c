#include <math.h>
#include <stdio.h>
#include <mlp.h>

int main(void)
{
    float xs[8] = {0, 0, 0, 1, 1, 0, 1, 1}, ys[4] = {0, 1, 1, 0};
    int64_t xshape[2] = {4, 2}, yshape[2] = {4, 1};
    mlp_ctx *ctx = mlp_ctx_new(NULL); /* NULL: malloc/free */
    mlp_tensor *x = mlp_tensor_from(ctx, 2, xshape, xs), *y = mlp_tensor_from(ctx, 2, yshape, ys);
    mlp_model *net = mlp_model_new(ctx);
    mlp_model_add_linear(net, 2, 8);
    mlp_model_add_act(net, MLP_ACT_TANH);
    mlp_model_add_linear(net, 8, 1);
    mlp_optim *opt = mlp_adam_new(net, 0.05f);
    for (int step = 0; step < 500; step++) {
        mlp_tensor *loss = mlp_bce_with_logits(mlp_model_forward(net, x), y);
        mlp_optim_zero_grad(opt);
        if (mlp_backward(loss, NULL, 0) != MLP_OK) {
            fprintf(stderr, "%s\n", mlp_ctx_errmsg(ctx));
            return 1;
        }
        mlp_optim_step(opt);
        mlp_tape_reset(ctx); /* frees this step's intermediate tensors */
    }
    float logit[4];
    mlp_model_predict(net, xs, 4, logit); /* no tape, no allocation */
    for (int i = 0; i < 4; i++)
        printf("%g xor %g -> p = %.3f\n", xs[2 * i], xs[2 * i + 1], 1 / (1 + exp(-logit[i])));
    mlp_optim_free(opt);
    mlp_model_free(net);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    mlp_ctx_free(ctx);
    return 0;
}
