/*
 * activations.c - the chapter's activation functions and their
 * derivatives: sigmoid, tanh, ReLU, pReLU (alpha 0.25) and the step. Each
 * derivative is computed by the tape, as the chapter does in PyTorch:
 * x = arange(-8, 8, 0.1) with requires_grad, y = f(x),
 * y.backward(ones_like(x)), then x.grad. Prints the facts the chapter
 * states (sigmoid' peaks at 0.25 at 0, tanh' at 1, ReLU'(0) = 0,
 * tanh(x) + 1 = 2 sigmoid(2x)) and draws every function with its
 * derivative as OUT/activations.svg.
 *
 * Usage: activations [--out DIR]
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <mlp.h>

#include "plot.h"

#define N 160 /* -8.0, -7.9, ..., 7.9: torch.arange(-8.0, 8.0, 0.1) */
#define NF 5

static const char *names[NF] = {"sigmoid", "tanh", "ReLU", "pReLU (alpha = 0.25)", "step"};

/* y = f_k(x) recorded on the tape. */
static mlp_tensor *apply(int k, mlp_tensor *x, mlp_tensor *alpha)
{
    switch (k) {
    case 0: return mlp_sigmoid(x);
    case 1: return mlp_tanh(x);
    case 2: return mlp_relu(x);
    case 3: return mlp_prelu(x, alpha);
    default: return mlp_step(x);
    }
}

/* f_k and its derivative at the N points of xs, the derivative from
 * backward with a ones gradient. */
static int curve(mlp_ctx *ctx, int k, const float *xs, float *f, float *df)
{
    const int64_t n = N, one = 1;
    const float a = 0.25f;
    mlp_tensor *x = mlp_tensor_from(ctx, 1, &n, xs), *alpha = mlp_tensor_from(ctx, 1, &one, &a);
    mlp_tensor *ones = mlp_tensor_ones(ctx, 1, &n), *y;
    int ok = 0;
    if (x && alpha && ones && mlp_tensor_set_requires_grad(x, 1) == MLP_OK
        && (y = apply(k, x, alpha)) != NULL && mlp_backward(y, ones, 0) == MLP_OK) {
        /* the step function's graph has no path to x that carries a
         * gradient; its .grad is then all zeros */
        const mlp_tensor *g = mlp_tensor_grad(x);
        int i;
        for (i = 0; i < N; i++) {
            f[i] = mlp_tensor_get(y, i);
            df[i] = g ? mlp_tensor_get(g, i) : 0.0f;
        }
        ok = 1;
    } else {
        fprintf(stderr, "activations: %s: %s\n", names[k], mlp_ctx_errmsg(ctx));
    }
    mlp_tape_reset(ctx);
    mlp_tensor_free(x);
    mlp_tensor_free(alpha);
    mlp_tensor_free(ones);
    return ok;
}

static int at(const float *xs, float v)
{
    int i, best = 0;
    for (i = 1; i < N; i++)
        if (fabsf(xs[i] - v) < fabsf(xs[best] - v))
            best = i;
    return best;
}

int main(int argc, char **argv)
{
    static float xs[N], f[NF][N], df[NF][N];
    const char *out = "out";
    const char *labels[2] = {"f(x)", "f'(x) from backward"};
    const char *colors[2] = {"#1f77b4", "#d62728"};
    const int dashed[2] = {0, 1};
    char path[1024], title[64];
    mlp_ctx *ctx;
    FILE *svg;
    float worst = 0;
    int i, k, i0;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else {
            fprintf(stderr, "usage: activations [--out DIR]\n");
            return 2;
        }
    }
    if (!(ctx = mlp_ctx_new(NULL)))
        return 1;
    for (i = 0; i < N; i++)
        xs[i] = -8.0f + 0.1f * (float)i;
    for (k = 0; k < NF; k++)
        if (!curve(ctx, k, xs, f[k], df[k])) {
            mlp_ctx_free(ctx);
            return 1;
        }
    mlp_ctx_free(ctx);

    i0 = at(xs, 0.0f);
    printf("x = %.1f: sigmoid = %.4f  sigmoid' = %.4f (its peak)\n", (double)xs[i0],
           (double)f[0][i0], (double)df[0][i0]);
    printf("x = %.1f: tanh    = %.4f  tanh'    = %.4f (its peak)\n", (double)xs[i0],
           (double)f[1][i0], (double)df[1][i0]);
    printf("x = %.1f: ReLU'   = %g (left derivative at the kink)\n", (double)xs[i0],
           (double)df[2][i0]);
    printf("x = -2.0: pReLU   = %g  pReLU' = %g (alpha)\n", (double)f[3][at(xs, -2.0f)],
           (double)df[3][at(xs, -2.0f)]);
    for (i = 0; i < N; i++)
        if (fabsf(df[4][i]) > worst)
            worst = fabsf(df[4][i]);
    printf("step' = 0 everywhere: max |step'| = %g\n", (double)worst);
    worst = 0;
    for (i = 0; i < N; i++) {
        float d = fabsf(f[1][i] + 1.0f - 2.0f / (1.0f + expf(-2.0f * xs[i])));
        if (d > worst)
            worst = d;
    }
    printf("max |tanh(x) + 1 - 2 sigmoid(2x)| over the grid = %.2g\n", (double)worst);

    if (!(svg = plot_open(out, "activations.svg", path, sizeof path)))
        return 1;
    plot_begin(svg, 1020, 640);
    for (k = 0; k < NF; k++) {
        double lo = HUGE_VAL, hi = -HUGE_VAL;
        plot_axes a;
        plot_extend(f[k], N, &lo, &hi);
        plot_extend(df[k], N, &lo, &hi);
        plot_nice_range(&lo, &hi, 0.05);
        sprintf(title, "%s", names[k]);
        a = plot_frame(svg, 70 + 330.0 * (k % 3), 40 + 310.0 * (k / 3), 250, 220, -8, 8, lo, hi,
                       title, "x", k % 3 == 0 ? "value" : NULL);
        plot_clip(svg, &a, k + 1);
        plot_line(svg, &a, xs, f[k], N, colors[0], 0, k + 1);
        plot_line(svg, &a, xs, df[k], N, colors[1], 1, k + 1);
        plot_legend(svg, &a, k == 1 ? 2 : 0, labels, colors, dashed, 2);
    }
    {
        /* the sixth panel: the three smooth derivatives side by side */
        const char *dl[3] = {"sigmoid'", "tanh'", "ReLU'"};
        const char *dc[3] = {"#1f77b4", "#2ca02c", "#ff7f0e"};
        plot_axes a = plot_frame(svg, 70 + 660, 350, 250, 220, -8, 8, 0, 1.2,
                                 "derivatives compared", "x", NULL);
        plot_line(svg, &a, xs, df[0], N, dc[0], 0, 0);
        plot_line(svg, &a, xs, df[1], N, dc[1], 0, 0);
        plot_line(svg, &a, xs, df[2], N, dc[2], 0, 0);
        plot_legend(svg, &a, 0, dl, dc, NULL, 3);
    }
    plot_end(svg);
    if (fclose(svg) != 0) {
        fprintf(stderr, "activations: cannot write %s\n", path);
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}
