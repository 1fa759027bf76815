/*
 * data.c - the command's tables: a CSV file (targets in one column) or an
 * IDX image file with its IDX label file, read with the library's readers
 * and split into inputs and targets; the class/regression guess, label
 * checks and the held-out split.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* IDX files start with two zero bytes, a type code and the dimension count. */
static int is_idx(const char *path)
{
    unsigned char h[4];
    FILE *f = fopen(path, "rb");
    size_t got;
    if (!f)
        return 0;
    got = fread(h, 1, 4, f);
    fclose(f);
    return got == 4 && h[0] == 0 && h[1] == 0
           && (h[2] == 0x08 || h[2] == 0x09 || (h[2] >= 0x0B && h[2] <= 0x0E)) && h[3] >= 1
           && h[3] <= 4;
}

static int fail_file(mlp_ctx *ctx, const char *path)
{
    fprintf(stderr, "mlp: %s: %s\n", path, mlp_ctx_errmsg(ctx));
    return 1;
}

static int load_idx(mlp_ctx *ctx, const char *path, const char *labels, const data_opts *o,
                    table *t)
{
    FILE *f = fopen(path, "rb");
    unsigned char h[3] = {0, 0, 0};
    float scale = (float)o->scale;
    int64_t shape[2];
    if (f) {
        if (fread(h, 1, 3, f) != 3)
            h[2] = 0;
        fclose(f);
    }
    if (scale == 0.0f)
        scale = h[2] == 0x08 ? 1.0f / 255.0f : 1.0f;
    if (!(t->x = mlp_idx_load(ctx, path, scale)))
        return fail_file(ctx, path);
    shape[0] = mlp_tensor_dim(t->x, 0);
    shape[1] = shape[0] ? mlp_tensor_numel(t->x) / shape[0] : 0;
    if (mlp_tensor_set_shape(t->x, 2, shape) != MLP_OK)
        return fail_file(ctx, path);
    t->n = shape[0];
    t->d = shape[1];
    if (!labels)
        return 0;
    if (!(t->y = mlp_idx_load(ctx, labels, 1.0f)))
        return fail_file(ctx, labels);
    if (mlp_tensor_numel(t->y) != t->n) {
        fprintf(stderr, "mlp: %s: %lld labels for the %lld images of %s\n", labels,
                (long long)mlp_tensor_numel(t->y), (long long)t->n, path);
        return 1;
    }
    return 0;
}

/* Split the CSV's [n, c] values into x [n, c-1] and y [n] at column tc
 * (0-based), or keep them all as x when the file has no targets. */
static int split_columns(mlp_ctx *ctx, mlp_tensor *all, int64_t tc, int has_y, table *t)
{
    int64_t n = mlp_tensor_dim(all, 0), c = mlp_tensor_dim(all, 1), r, j;
    int64_t xs[2], ys[1];
    const float *a = mlp_tensor_cdata(all);
    float *x, *y = NULL;
    if (!has_y) {
        t->x = all;
        t->n = n;
        t->d = c;
        return 0;
    }
    xs[0] = n;
    xs[1] = c - 1;
    ys[0] = n;
    t->x = mlp_tensor_zeros(ctx, 2, xs);
    t->y = mlp_tensor_zeros(ctx, 1, ys);
    if (!t->x || !t->y) {
        mlp_tensor_free(all);
        return cli_fail(ctx, "reading the table");
    }
    x = mlp_tensor_data(t->x);
    y = mlp_tensor_data(t->y);
    for (r = 0; r < n; r++) {
        const float *row = a + r * c;
        for (j = 0; j < c; j++) {
            if (j == tc)
                y[r] = row[j];
            else
                *x++ = row[j];
        }
    }
    mlp_tensor_free(all);
    t->n = n;
    t->d = c - 1;
    return 0;
}

int cli_load(mlp_ctx *ctx, const char *path, const char *labels, const data_opts *o,
             int64_t want_cols, int need_y, table *t)
{
    mlp_tensor *all;
    int64_t c, tc;
    int has_y;
    memset(t, 0, sizeof *t);
    t->source = path;
    if (is_idx(path)) {
        if (need_y && !labels) {
            fprintf(stderr, "mlp: %s is an IDX image file: give its IDX label file after it\n",
                    path);
            return 1;
        }
        return load_idx(ctx, path, labels, o, t);
    }
    if (labels) {
        fprintf(stderr,
                "mlp: %s: a label file goes with IDX images only; a CSV holds its targets "
                "in a column (--target)\n",
                labels);
        return 1;
    }
    if (!(all = mlp_csv_load(ctx, path, o->header)))
        return fail_file(ctx, path);
    c = mlp_tensor_dim(all, 1);
    has_y = want_cols < 0 || c != want_cols;
    if (has_y && c < 2) {
        fprintf(stderr, "mlp: %s: %lld column%s: need at least one input column and the target\n",
                path, (long long)c, c == 1 ? "" : "s");
        mlp_tensor_free(all);
        return 1;
    }
    if (need_y && !has_y) {
        fprintf(stderr,
                "mlp: %s: %lld columns, as many as the model's inputs: the target column "
                "is missing\n",
                path, (long long)c);
        mlp_tensor_free(all);
        return 1;
    }
    if (has_y && want_cols >= 0 && c != want_cols + 1) {
        fprintf(stderr,
                "mlp: %s: %lld columns, but the model takes %lld inputs (%lld columns "
                "with the target)\n",
                path, (long long)c, (long long)want_cols, (long long)want_cols + 1);
        mlp_tensor_free(all);
        return 1;
    }
    tc = o->target ? o->target - 1 : c - 1;
    if (has_y && tc >= c) {
        fprintf(stderr, "mlp: %s: --target %lld, but the file has %lld columns\n", path, o->target,
                (long long)c);
        mlp_tensor_free(all);
        return 1;
    }
    return split_columns(ctx, all, tc, has_y, t);
}

void cli_table_free(table *t)
{
    mlp_tensor_free(t->x);
    mlp_tensor_free(t->y);
    t->x = t->y = NULL;
}

int cli_looks_like_classes(const table *t, int64_t *k)
{
    const float *y = mlp_tensor_cdata(t->y);
    float top = 0;
    int64_t i;
    for (i = 0; i < t->n; i++) {
        if (!(y[i] >= 0 && y[i] < 100 && y[i] == floorf(y[i])))
            return 0;
        if (y[i] > top)
            top = y[i];
    }
    *k = (int64_t)top + 1;
    return *k >= 2;
}

/* The place of row r in its file, for messages: a CSV line or an IDX item. */
static void where(const table *t, int64_t r, int header, char *buf, size_t size)
{
    if (mlp_tensor_ndim(t->x) == 2 && strstr(t->source, ".csv"))
        snprintf(buf, size, "line %lld", (long long)(r + 1 + (header != 0)));
    else
        snprintf(buf, size, "row %lld", (long long)(r + 1));
}

int cli_check_labels(const table *t, int64_t k)
{
    const float *y = mlp_tensor_cdata(t->y);
    int64_t i;
    for (i = 0; i < t->n; i++)
        if (!(y[i] >= 0 && y[i] < (float)k && y[i] == floorf(y[i]))) {
            char at[64];
            where(t, i, 0, at, sizeof at);
            fprintf(stderr, "mlp: %s: %s: the class label %g is not one of 0..%lld\n", t->source,
                    at, (double)y[i], (long long)k - 1);
            return 1;
        }
    return 0;
}

/* The rows of src listed in idx[0..n) as a new tensor. */
static mlp_tensor *gather(mlp_ctx *ctx, mlp_tensor *src, const int64_t *idx, int64_t n)
{
    int64_t shape[2], w, i;
    int nd = mlp_tensor_ndim(src);
    const float *s = mlp_tensor_cdata(src);
    mlp_tensor *dst;
    float *d;
    shape[0] = n;
    shape[1] = nd == 2 ? mlp_tensor_dim(src, 1) : 1;
    w = shape[1];
    if (!(dst = mlp_tensor_zeros(ctx, nd, shape)))
        return NULL;
    d = mlp_tensor_data(dst);
    for (i = 0; i < n; i++)
        memcpy(d + i * w, s + idx[i] * w, (size_t)w * sizeof *d);
    return dst;
}

int cli_split(mlp_ctx *ctx, table *t, double frac, table *val)
{
    int64_t n = t->n, nv = (int64_t)floor((double)n * frac + 0.5), i, *idx;
    mlp_tensor *tx = NULL, *ty = NULL, *vx = NULL, *vy = NULL;
    memset(val, 0, sizeof *val);
    val->source = t->source;
    if (nv < 1 || nv >= n) {
        fprintf(stderr, "mlp: --val-split %g of %lld rows leaves %s\n", frac, (long long)n,
                nv < 1 ? "no validation row" : "no training row");
        return 1;
    }
    if (!(idx = malloc((size_t)n * sizeof *idx))) {
        fprintf(stderr, "mlp: out of memory splitting %lld rows\n", (long long)n);
        return 1;
    }
    for (i = 0; i < n; i++)
        idx[i] = i;
    for (i = n - 1; i > 0; i--) { /* Fisher-Yates with the model's generator */
        uint64_t r = ((uint64_t)mlp_ctx_rand_u32(ctx) << 32) | mlp_ctx_rand_u32(ctx);
        int64_t j = (int64_t)(r % (uint64_t)(i + 1)), tmp = idx[i];
        idx[i] = idx[j];
        idx[j] = tmp;
    }
    tx = gather(ctx, t->x, idx, n - nv);
    ty = gather(ctx, t->y, idx, n - nv);
    vx = gather(ctx, t->x, idx + (n - nv), nv);
    vy = gather(ctx, t->y, idx + (n - nv), nv);
    free(idx);
    if (!tx || !ty || !vx || !vy) {
        mlp_tensor_free(tx);
        mlp_tensor_free(ty);
        mlp_tensor_free(vx);
        mlp_tensor_free(vy);
        return cli_fail(ctx, "splitting the table");
    }
    cli_table_free(t);
    t->x = tx;
    t->y = ty;
    t->n = n - nv;
    val->x = vx;
    val->y = vy;
    val->n = nv;
    val->d = t->d;
    return 0;
}
