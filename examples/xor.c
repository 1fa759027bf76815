/*
 * xor.c - the chapter's opening problem: four points, (0,0) and (1,1) of
 * one class, (0,1) and (1,0) of the other, which no straight line
 * separates. A 2-H-1 MLP with a tanh hidden layer learns it; the program
 * prints the truth table it learned and draws the probability it gives
 * over the plane, with its decision boundary (p = 0.5), as
 * OUT/xor_boundary.svg.
 *
 * Usage: xor [--out DIR] [--hidden H] [--steps N] [--lr LR] [--seed S]
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mlp.h>

#include "plot.h"

#define GRID 90        /* cells per side of the probability map */
#define LOW "#92c5de"  /* map colour for p = 0 */
#define HIGH "#f4a582" /* map colour for p = 1 */

static float sigmoidf(float z)
{
    return 1.0f / (1.0f + expf(-z));
}

static int fail(mlp_ctx *ctx, const char *what)
{
    fprintf(stderr, "xor: %s: %s\n", what, mlp_ctx_errmsg(ctx));
    return 1;
}

/* Probability map of the model over [lo,hi]^2 as an SVG picture. */
static int draw(mlp_model *net, const float *xs, const float *ys, const char *dir)
{
    static float grid_in[GRID * GRID * 2], p[GRID * GRID];
    static int code[GRID * GRID];
    const double lo = -0.5, hi = 1.5;
    const char *shade[21];
    char shades[21][8], path[1024];
    const char *labels[3] = {"class 0 (x1 = x2)", "class 1 (x1 != x2)", "boundary p = 0.5"};
    const char *colors[3] = {"#2166ac", "#b2182b", "black"};
    float px[2][2], py[2][2];
    int i, j, n0 = 0, n1 = 0;
    plot_axes a;
    FILE *f;
    for (j = 0; j < GRID; j++)
        for (i = 0; i < GRID; i++) {
            grid_in[2 * (j * GRID + i)] = (float)(lo + (hi - lo) * (i + 0.5) / GRID);
            grid_in[2 * (j * GRID + i) + 1] = (float)(lo + (hi - lo) * (j + 0.5) / GRID);
        }
    if (mlp_model_predict(net, grid_in, GRID * GRID, p) != MLP_OK)
        return fail(mlp_tensor_ctx(mlp_model_param(net, 0)), "mlp_model_predict");
    for (i = 0; i < GRID * GRID; i++) {
        p[i] = sigmoidf(p[i]);
        code[i] = (int)(p[i] * 20 + 0.5f);
    }
    /* 21 shades from light blue (p = 0) through white (0.5) to light red (1) */
    for (i = 0; i <= 20; i++) {
        plot_scale(shades[i], LOW, "#ffffff", HIGH, i / 20.0);
        shade[i] = shades[i];
    }
    for (i = 0; i < 4; i++) {
        int c = ys[i] > 0.5f;
        int k = c ? n1++ : n0++;
        px[c][k] = xs[2 * i];
        py[c][k] = xs[2 * i + 1];
    }
    if (!(f = plot_open(dir, "xor_boundary.svg", path, sizeof path)))
        return 1;
    plot_begin(f, 560, 500);
    a = plot_frame(f, 70, 40, 400, 400, lo, hi, lo, hi, "XOR: p(class 1) learned by the MLP", "x1",
                   "x2");
    plot_cells(f, &a, code, GRID, GRID, shade, 1.0);
    plot_contour(f, &a, p, GRID, GRID, 0.5f, "black");
    plot_points(f, &a, px[0], py[0], n0, colors[0], 9);
    plot_points(f, &a, px[1], py[1], n1, colors[1], 9);
    plot_legend(f, &a, 1, labels, colors, NULL, 3);
    plot_colorbar(f, &a, LOW, "#ffffff", HIGH, 0, 1, "p(class 1)");
    plot_end(f);
    if (fclose(f) != 0) {
        fprintf(stderr, "xor: cannot write %s\n", path);
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}

int main(int argc, char **argv)
{
    const float xs[8] = {0, 0, 0, 1, 1, 0, 1, 1}, ys[4] = {0, 1, 1, 0};
    const int64_t xshape[2] = {4, 2}, yshape[2] = {4, 1};
    const char *out = "out";
    long hidden = 4, steps = 1000;
    double lr = 0.05;
    unsigned long long seed = 1;
    float logits[4];
    mlp_ctx *ctx;
    mlp_tensor *x, *y;
    mlp_model *net;
    mlp_optim *opt = NULL;
    int i, rc = 1, wrong = 0;
    long step;

    for (i = 1; i < argc; i += 2) { /* flag, value */
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--out") && v)
            out = v;
        else if (!strcmp(argv[i], "--hidden") && v)
            hidden = strtol(v, NULL, 10);
        else if (!strcmp(argv[i], "--steps") && v)
            steps = strtol(v, NULL, 10);
        else if (!strcmp(argv[i], "--lr") && v)
            lr = strtod(v, NULL);
        else if (!strcmp(argv[i], "--seed") && v)
            seed = strtoull(v, NULL, 10);
        else {
            fprintf(stderr,
                    "usage: xor [--out DIR] [--hidden H] [--steps N] [--lr LR] [--seed S]\n");
            return 2;
        }
    }

    if (!(ctx = mlp_ctx_new(NULL)))
        return 1;
    mlp_ctx_seed(ctx, seed);
    x = mlp_tensor_from(ctx, 2, xshape, xs);
    y = mlp_tensor_from(ctx, 2, yshape, ys);
    net = mlp_model_new(ctx);
    /* 2 -> hidden (tanh) -> 1 logit; the loss applies the sigmoid */
    if (!x || !y || !net || mlp_model_add_linear(net, 2, hidden) != MLP_OK
        || mlp_model_add_act(net, MLP_ACT_TANH) != MLP_OK
        || mlp_model_add_linear(net, hidden, 1) != MLP_OK
        || !(opt = mlp_adam_new(net, (float)lr))) {
        rc = fail(ctx, "building the model");
        goto done;
    }
    for (step = 0; step < steps; step++) {
        mlp_tensor *loss = mlp_bce_with_logits(mlp_model_forward(net, x), y);
        if (!loss || mlp_optim_zero_grad(opt) != MLP_OK || mlp_backward(loss, NULL, 0) != MLP_OK
            || mlp_optim_step(opt) != MLP_OK) {
            rc = fail(ctx, "training step");
            goto done;
        }
        if (step % (steps / 5 > 0 ? steps / 5 : 1) == 0 || step == steps - 1)
            printf("step %5ld  loss %.5f\n", step, (double)mlp_tensor_item(loss));
        mlp_tape_reset(ctx);
    }
    if (mlp_model_predict(net, xs, 4, logits) != MLP_OK) {
        rc = fail(ctx, "mlp_model_predict");
        goto done;
    }
    printf("\n x1  x2 | xor | p(1)   learned\n---------+-----+---------------\n");
    for (i = 0; i < 4; i++) {
        float p = sigmoidf(logits[i]);
        int learned = p > 0.5f;
        wrong += learned != (int)ys[i];
        printf("  %g   %g |  %g  | %.3f  %d\n", (double)xs[2 * i], (double)xs[2 * i + 1],
               (double)ys[i], (double)p, learned);
    }
    printf("%s\n\n", wrong ? "the table is not learned yet (try more --steps)" : "all four right");
    rc = draw(net, xs, ys, out);
    if (!rc && wrong)
        rc = 3;
done:
    mlp_optim_free(opt);
    mlp_model_free(net);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    mlp_ctx_free(ctx);
    return rc;
}
