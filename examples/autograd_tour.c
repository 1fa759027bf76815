/*
 * autograd_tour.c - the chapter's PyTorch snippets on automatic
 * differentiation, in C with libmlp, printing what each step gives:
 * requires_grad, backward of a scalar, zero_grad, backward of a sum,
 * a non-scalar output with a ones gradient, detach, and retain_graph.
 */
#include <stdio.h>

#include <mlp.h>

static void show(const char *label, const mlp_tensor *t)
{
    int64_t i;
    printf("%-34s [", label);
    if (!t) {
        printf("none]\n");
        return;
    }
    for (i = 0; i < mlp_tensor_numel(t); i++)
        printf(i ? ", %g" : "%g", (double)mlp_tensor_get(t, i));
    printf("]\n");
}

static int check(mlp_ctx *ctx, mlp_status s, const char *what)
{
    if (s != MLP_OK)
        fprintf(stderr, "%s failed: %s\n", what, mlp_ctx_errmsg(ctx));
    return s == MLP_OK;
}

int main(void)
{
    const float arange[4] = {0, 1, 2, 3};
    int64_t four = 4;
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_tensor *x, *y, *u, *z, *ones;
    mlp_status s;
    if (!ctx)
        return 1;

    /* x = torch.arange(4.0); x.requires_grad_(True) */
    x = mlp_tensor_from(ctx, 1, &four, arange);
    ones = mlp_tensor_ones(ctx, 1, &four);
    if (!x || !ones)
        return 1;
    printf("x = arange(4)                      requires_grad = %d (data defaults to no)\n",
           mlp_tensor_requires_grad(x));
    mlp_tensor_set_requires_grad(x, 1);
    printf("x.requires_grad_(True)             requires_grad = %d, x.grad is %s\n",
           mlp_tensor_requires_grad(x), mlp_tensor_grad(x) ? "set" : "None");

    /* y = 2 * torch.dot(x, x); y.backward() -> x.grad == 4 x */
    y = mlp_scale(mlp_matmul(x, x), 2.0f);
    printf("\ny = 2 * dot(x, x)                  y = %g, a scalar made by an op (leaf: %d)\n",
           (double)mlp_tensor_item(y), mlp_tensor_is_leaf(y));
    if (!check(ctx, mlp_backward(y, NULL, 0), "y.backward()"))
        return 1;
    show("y.backward(); x.grad (= 4x)", mlp_tensor_grad(x));

    /* x.grad.zero_(); y = x.sum(); y.backward() -> ones */
    mlp_tensor_zero_grad(x);
    show("x.grad.zero_()", mlp_tensor_grad(x));
    y = mlp_sum(x);
    if (!check(ctx, mlp_backward(y, NULL, 0), "x.sum().backward()"))
        return 1;
    show("y = x.sum(); y.backward(); x.grad", mlp_tensor_grad(x));
    if (!check(ctx, mlp_backward(mlp_sum(x), NULL, 0), "again"))
        return 1;
    show("without zero_grad it accumulates", mlp_tensor_grad(x));

    /* y = x * x is not a scalar: backward needs an explicit gradient */
    mlp_tensor_zero_grad(x);
    y = mlp_mul(x, x);
    s = mlp_backward(y, NULL, 0);
    printf("\ny = x * x; y.backward()            fails: %s\n", mlp_status_str(s));
    if (!check(ctx, mlp_backward(y, ones, 0), "y.backward(ones_like(y))"))
        return 1;
    show("y.backward(ones_like(y)); x.grad", mlp_tensor_grad(x));
    printf("%-34s (the gradient of y.sum(), 2x)\n", "");

    /* detach: u shares y's data but the tape does not see through it */
    mlp_tensor_zero_grad(x);
    y = mlp_mul(x, x);
    u = mlp_tensor_detach(y);
    z = mlp_mul(u, x);
    if (!check(ctx, mlp_backward(mlp_sum(z), NULL, 0), "z.sum().backward()"))
        return 1;
    printf("\n");
    show("u = y.detach(); z = u * x", z);
    show("z.sum().backward(); x.grad (= u)", mlp_tensor_grad(x));
    printf("%-34s u requires_grad = %d; same storage as y: %s\n", "", mlp_tensor_requires_grad(u),
           mlp_tensor_data(u) == mlp_tensor_data(y) ? "yes" : "no");
    mlp_tensor_free(u);

    /* retain_graph */
    mlp_tensor_zero_grad(x);
    y = mlp_sum(mlp_mul(x, x));
    if (!check(ctx, mlp_backward(y, NULL, 1), "y.backward(retain_graph=True)"))
        return 1;
    printf("\n");
    show("y.backward(retain_graph=True)", mlp_tensor_grad(x));
    if (!check(ctx, mlp_backward(y, NULL, 0), "second y.backward()"))
        return 1;
    show("y.backward() again: grads add up", mlp_tensor_grad(x));
    s = mlp_backward(y, NULL, 0);
    printf("a third y.backward()               fails (%s):\n  %s\n", mlp_status_str(s),
           mlp_ctx_errmsg(ctx));
    show("x.grad is unchanged", mlp_tensor_grad(x));

    /* no_grad */
    mlp_ctx_set_grad_enabled(ctx, 0);
    mlp_tape_reset(ctx);
    y = mlp_mul(x, x);
    printf("\nwith grad mode off (no_grad)       y.requires_grad = %d, ops on the tape: %zu\n",
           mlp_tensor_requires_grad(y), mlp_tape_size(ctx));
    mlp_ctx_set_grad_enabled(ctx, 1);

    mlp_tape_reset(ctx);
    mlp_tensor_free(ones);
    mlp_tensor_free(x);
    mlp_ctx_free(ctx);
    return 0;
}
