/*
 * spiral.c - multi-class classification, the chapter's softmax section:
 * three interleaved spiral arms in the plane, a softmax MLP with two
 * hidden ReLU layers (2 -> H -> H -> 3) trained with cross-entropy and
 * Adam through mlp_fit. Prints the loss and accuracy as it goes and draws
 * OUT/spiral.svg: the decision regions with the data points, and the
 * training loss and accuracy per epoch.
 *
 * Usage: spiral [--out DIR] [--points N] [--hidden H] [--epochs E]
 *               [--lr LR] [--seed S]
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mlp.h>

#include "plot.h"

#define K 3      /* classes */
#define GRID 120 /* cells per side of the region map */

typedef struct history {
    int epochs;
    float *loss, *acc;
} history;

/* mlp_fit's progress callback: keeps the end-of-epoch figures. */
static int on_progress(void *user, int epoch, int64_t batch, int64_t nbatches, float loss,
                       float acc)
{
    history *h = user;
    if (batch == nbatches && epoch < h->epochs) {
        h->loss[epoch] = loss;
        h->acc[epoch] = acc;
        if (epoch % (h->epochs / 10 > 0 ? h->epochs / 10 : 1) == 0 || epoch == h->epochs - 1)
            printf("epoch %4d  loss %.4f  accuracy %.3f\n", epoch + 1, (double)loss, (double)acc);
    }
    return 0;
}

/* n points per class: arm j turns from angle 4j to 4(j+1) as the radius
 * grows from 0 to 1, with normal noise of 0.2 on the angle. */
static void make_spiral(mlp_ctx *ctx, int n, float *x, float *y)
{
    int j, i;
    for (j = 0; j < K; j++)
        for (i = 0; i < n; i++) {
            float r = n > 1 ? (float)i / (float)(n - 1) : 1.0f;
            float t = 4.0f * (float)j + 4.0f * r + 0.2f * mlp_ctx_rand_normal(ctx);
            x[2 * (j * n + i)] = r * sinf(t);
            x[2 * (j * n + i) + 1] = r * cosf(t);
            y[j * n + i] = (float)j;
        }
}

static int draw(mlp_model *net, const float *x, const float *y, int total, const history *h,
                float acc, const char *dir)
{
    static float grid[GRID * GRID * 2];
    static int32_t cls[GRID * GRID];
    static int code[GRID * GRID];
    const double lo = -1.25, hi = 1.25;
    const char *region[K] = {"#aec7e8", "#ff9896", "#98df8a"};
    const char *dark[K] = {"#1f77b4", "#d62728", "#2ca02c"};
    const char *names[K] = {"arm 0", "arm 1", "arm 2"};
    const char *cl[2] = {"train loss", "train accuracy"};
    const char *cc[2] = {"#1f77b4", "#d62728"};
    const int dashed[2] = {0, 1};
    char path[1024], title[96];
    float *px = malloc(sizeof(float) * (size_t)total), *py = malloc(sizeof(float) * (size_t)total);
    float *ep = malloc(sizeof(float) * (size_t)(h->epochs + 1));
    double ymax = 1.0, dummy = 0;
    plot_axes a;
    FILE *f;
    int i, j, c, n;
    if (!px || !py || !ep) {
        free(px), free(py), free(ep);
        fprintf(stderr, "spiral: out of memory\n");
        return 1;
    }
    for (j = 0; j < GRID; j++)
        for (i = 0; i < GRID; i++) {
            grid[2 * (j * GRID + i)] = (float)(lo + (hi - lo) * (i + 0.5) / GRID);
            grid[2 * (j * GRID + i) + 1] = (float)(lo + (hi - lo) * (j + 0.5) / GRID);
        }
    if (mlp_model_classify(net, grid, GRID * GRID, cls) != MLP_OK) {
        fprintf(stderr, "spiral: mlp_model_classify: %s\n",
                mlp_ctx_errmsg(mlp_tensor_ctx(mlp_model_param(net, 0))));
        free(px), free(py), free(ep);
        return 1;
    }
    for (i = 0; i < GRID * GRID; i++)
        code[i] = cls[i];
    if (!(f = plot_open(dir, "spiral.svg", path, sizeof path))) {
        free(px), free(py), free(ep);
        return 1;
    }
    plot_begin(f, 1000, 500);
    sprintf(title, "decision regions (train accuracy %.3f)", (double)acc);
    a = plot_frame(f, 70, 40, 400, 400, lo, hi, lo, hi, title, "x1", "x2");
    plot_cells(f, &a, code, GRID, GRID, region, 1.0);
    for (c = 0; c < K; c++) {
        for (i = n = 0; i < total; i++)
            if ((int)y[i] == c) {
                px[n] = x[2 * i];
                py[n++] = x[2 * i + 1];
            }
        plot_points(f, &a, px, py, n, dark[c], 3.2);
    }
    plot_legend(f, &a, 0, names, dark, NULL, K);
    for (i = 0; i < h->epochs; i++) {
        ep[i] = (float)(i + 1);
        if (h->loss[i] > ymax)
            ymax = h->loss[i];
    }
    plot_nice_range(&dummy, &ymax, 0.0);
    a = plot_frame(f, 580, 40, 380, 400, 1, h->epochs > 1 ? h->epochs : 2, 0, ymax,
                   "training curves", "epoch", "loss / accuracy");
    plot_line(f, &a, ep, h->loss, h->epochs, cc[0], 0, 0);
    plot_line(f, &a, ep, h->acc, h->epochs, cc[1], 1, 0);
    plot_legend(f, &a, 1, cl, cc, dashed, 2);
    plot_end(f);
    free(px), free(py), free(ep);
    if (fclose(f) != 0) {
        fprintf(stderr, "spiral: cannot write %s\n", path);
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}

int main(int argc, char **argv)
{
    const char *out = "out";
    long points = 100, hidden = 64, epochs = 200;
    double lr = 0.01;
    unsigned long long seed = 7;
    mlp_ctx *ctx;
    mlp_tensor *x = NULL, *y = NULL;
    mlp_dataset *ds = NULL;
    mlp_model *net = NULL;
    mlp_optim *opt = NULL;
    history h = {0, NULL, NULL};
    float *xs = NULL, *ys = NULL, acc = 0;
    int64_t shape[2];
    int i, rc = 1;

    for (i = 1; i < argc; i += 2) { /* flag, value */
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--out") && v)
            out = v;
        else if (!strcmp(argv[i], "--points") && v)
            points = strtol(v, NULL, 10);
        else if (!strcmp(argv[i], "--hidden") && v)
            hidden = strtol(v, NULL, 10);
        else if (!strcmp(argv[i], "--epochs") && v)
            epochs = strtol(v, NULL, 10);
        else if (!strcmp(argv[i], "--lr") && v)
            lr = strtod(v, NULL);
        else if (!strcmp(argv[i], "--seed") && v)
            seed = strtoull(v, NULL, 10);
        else {
            fprintf(stderr, "usage: spiral [--out DIR] [--points N] [--hidden H] [--epochs E] "
                            "[--lr LR] [--seed S]\n");
            return 2;
        }
    }
    if (points < 1 || points > 100000 || epochs < 1 || epochs > 100000) {
        fprintf(stderr, "spiral: --points must be in 1..100000 and --epochs in 1..100000\n");
        return 2;
    }
    if (!(ctx = mlp_ctx_new(NULL)))
        return 1;
    mlp_ctx_seed(ctx, seed);
    xs = malloc(sizeof(float) * (size_t)(K * points * 2));
    ys = malloc(sizeof(float) * (size_t)(K * points));
    h.epochs = (int)epochs;
    h.loss = calloc((size_t)epochs, sizeof(float));
    h.acc = calloc((size_t)epochs, sizeof(float));
    if (!xs || !ys || !h.loss || !h.acc) {
        fprintf(stderr, "spiral: out of memory\n");
        goto done;
    }
    make_spiral(ctx, (int)points, xs, ys);
    shape[0] = K * points;
    shape[1] = 2;
    x = mlp_tensor_from(ctx, 2, shape, xs); /* [3n, 2] points */
    y = mlp_tensor_from(ctx, 1, shape, ys); /* [3n] labels 0, 1, 2 */
    ds = mlp_dataset_new(x, y);
    net = mlp_model_new(ctx);
    if (!ds || !net || mlp_model_add_linear(net, 2, hidden) != MLP_OK
        || mlp_model_add_act(net, MLP_ACT_RELU) != MLP_OK
        || mlp_model_add_linear(net, hidden, hidden) != MLP_OK
        || mlp_model_add_act(net, MLP_ACT_RELU) != MLP_OK
        || mlp_model_add_linear(net, hidden, K) != MLP_OK
        || !(opt = mlp_adam_new(net, (float)lr))) {
        fprintf(stderr, "spiral: building the model: %s\n", mlp_ctx_errmsg(ctx));
        goto done;
    }
    /* softmax is inside the loss: the model outputs 3 logits per point */
    if (mlp_fit(net, opt, ds, MLP_LOSS_CROSS_ENTROPY, (int)epochs, 32, on_progress, &h) != MLP_OK
        || mlp_evaluate(net, ds, MLP_LOSS_CROSS_ENTROPY, 256, NULL, &acc) != MLP_OK) {
        fprintf(stderr, "spiral: training: %s\n", mlp_ctx_errmsg(ctx));
        goto done;
    }
    printf("final train accuracy %.3f\n", (double)acc);
    rc = draw(net, xs, ys, (int)(K * points), &h, acc, out);
done:
    free(xs);
    free(ys);
    free(h.loss);
    free(h.acc);
    mlp_optim_free(opt);
    mlp_model_free(net);
    mlp_dataset_free(ds);
    mlp_tensor_free(x);
    mlp_tensor_free(y);
    mlp_ctx_free(ctx);
    return rc;
}
