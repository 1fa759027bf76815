/*
 * run.c - the commands that use a trained model: `eval` (accuracy and a
 * confusion matrix, or RMSE and MAE), `predict` (one line per row),
 * `info` (the summary and the file's format) and `convert` (between the
 * libmlp format and ONNX).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct run_opts {
    data_opts data;
    int confusion, proba;
    long long threads;
} run_opts;

/* The model's outputs for every row of t: a new array of n*k floats. */
static float *outputs(mlp_ctx *ctx, mlp_model *m, const table *t, int64_t *k)
{
    float *out;
    *k = mlp_model_out_features(m);
    if (t->n > 0 && (size_t)t->n > (size_t)-1 / sizeof(float) / (size_t)*k) {
        fprintf(stderr, "mlp: %s: too many rows\n", t->source);
        return NULL;
    }
    if (!(out = malloc((size_t)(t->n ? t->n : 1) * (size_t)*k * sizeof *out))) {
        fprintf(stderr, "mlp: out of memory for %lld outputs\n", (long long)t->n * *k);
        return NULL;
    }
    if (mlp_model_predict(m, mlp_tensor_cdata(t->x), t->n, out) != MLP_OK) {
        cli_fail(ctx, t->source);
        free(out);
        return NULL;
    }
    return out;
}

static int64_t argmax(const float *row, int64_t k)
{
    int64_t c, best = 0;
    for (c = 1; c < k; c++)
        if (row[c] > row[best])
            best = c;
    return best;
}

static void print_confusion(const int64_t *cm, int64_t k)
{
    int64_t i, j;
    printf("confusion (rows: true class, columns: predicted)\n%6s", "");
    for (j = 0; j < k; j++)
        printf(" %6lld", (long long)j);
    printf("\n");
    for (i = 0; i < k; i++) {
        printf("%6lld", (long long)i);
        for (j = 0; j < k; j++)
            printf(" %6lld", (long long)cm[i * k + j]);
        printf("\n");
    }
}

static int eval_classes(const table *t, const float *out, int64_t k, int confusion)
{
    const float *y = mlp_tensor_cdata(t->y);
    int64_t *cm = NULL, i, hits = 0;
    if (cli_check_labels(t, k))
        return 1;
    if (confusion && !(cm = calloc((size_t)(k * k), sizeof *cm))) {
        fprintf(stderr, "mlp: out of memory for a %lld x %lld confusion matrix\n", (long long)k,
                (long long)k);
        return 1;
    }
    for (i = 0; i < t->n; i++) {
        int64_t p = argmax(out + i * k, k), truth = (int64_t)y[i];
        hits += p == truth;
        if (cm)
            cm[truth * k + p]++;
    }
    printf("accuracy=%.4f n=%lld\n", t->n ? (double)hits / (double)t->n : 0.0, (long long)t->n);
    if (cm)
        print_confusion(cm, k);
    free(cm);
    return 0;
}

static int eval_values(const table *t, const float *out)
{
    const float *y = mlp_tensor_cdata(t->y);
    double se = 0, ae = 0;
    int64_t i;
    for (i = 0; i < t->n; i++) {
        double d = (double)out[i] - (double)y[i];
        se += d * d;
        ae += fabs(d);
    }
    printf("rmse=%.6g mae=%.6g n=%lld\n", t->n ? sqrt(se / (double)t->n) : 0.0,
           t->n ? ae / (double)t->n : 0.0, (long long)t->n);
    return 0;
}

typedef int (*model_cmd)(mlp_ctx *ctx, mlp_model *m, const run_opts *o, const char *data,
                         const char *labels);

/* The common part of eval and predict: options, context, model, then cmd. */
static int with_model(const char *name, int argc, char **argv, int need_data, model_cmd cmd)
{
    run_opts o;
    const char *pos[CLI_MAX_POS];
    int npos, rc = 1;
    mlp_ctx *ctx;
    mlp_model *m;
    const opt opts[] = {
        {"header", OPT_FLAG, &o.data.header, 0, 0, 0, NULL},
        {"target", OPT_INT, &o.data.target, 1, 1e9, 0, NULL},
        {"scale", OPT_REAL, &o.data.scale, -1e30, 1e30, 0, NULL},
        {"confusion", OPT_FLAG, &o.confusion, 0, 0, 0, NULL},
        {"proba", OPT_FLAG, &o.proba, 0, 0, 0, NULL},
        {"threads", OPT_INT, &o.threads, 1, 256, 0, NULL},
    };
    memset(&o, 0, sizeof o);
    o.threads = 1;
    if (cli_parse(name, argc, argv, 2, opts, (int)(sizeof opts / sizeof opts[0]), pos, &npos))
        return 2;
    if (npos < 1 + need_data || npos > 1 + 2 * need_data) {
        fprintf(stderr, "usage: mlp %s MODEL%s [options]  (see mlp help)\n", name,
                need_data ? " DATA [LABELS]" : "");
        return 2;
    }
    if (!(ctx = mlp_ctx_new(NULL))) {
        fprintf(stderr, "mlp: out of memory\n");
        return 1;
    }
    if (mlp_ctx_set_threads(ctx, (int)o.threads) != MLP_OK)
        rc = cli_fail(ctx, "--threads");
    else if ((m = cli_model_load(ctx, pos[0])) != NULL) {
        rc = cmd(ctx, m, &o, need_data ? pos[1] : pos[0], npos > 2 ? pos[2] : NULL);
        mlp_model_free(m);
    }
    mlp_ctx_free(ctx);
    return rc;
}

static int eval_cmd(mlp_ctx *ctx, mlp_model *m, const run_opts *o, const char *data,
                    const char *labels)
{
    table t;
    float *out;
    int64_t k;
    int rc;
    if (cli_load(ctx, data, labels, &o->data, mlp_model_in_features(m), 1, &t))
        return 1;
    if (!(out = outputs(ctx, m, &t, &k))) {
        cli_table_free(&t);
        return 1;
    }
    rc = cli_model_classifies(m) ? eval_classes(&t, out, k, o->confusion) : eval_values(&t, out);
    free(out);
    cli_table_free(&t);
    return rc;
}

static int predict_cmd(mlp_ctx *ctx, mlp_model *m, const run_opts *o, const char *data,
                       const char *labels)
{
    table t;
    float *out;
    int64_t k, i, c;
    if (cli_load(ctx, data, labels, &o->data, mlp_model_in_features(m), 0, &t))
        return 1;
    if (!(out = outputs(ctx, m, &t, &k))) {
        cli_table_free(&t);
        return 1;
    }
    if (cli_model_classifies(m) && o->proba)
        cli_probabilities(m, out, t.n, k);
    for (i = 0; i < t.n; i++) {
        const float *row = out + i * k;
        if (!cli_model_classifies(m))
            printf("%.9g\n", (double)row[0]);
        else if (!o->proba)
            printf("%lld\n", (long long)argmax(row, k));
        else
            for (c = 0; c < k; c++)
                printf("%.6f%c", (double)row[c], c + 1 < k ? ',' : '\n');
    }
    free(out);
    cli_table_free(&t);
    return fflush(stdout) == 0 ? 0 : 1;
}

static int info_cmd(mlp_ctx *ctx, mlp_model *m, const run_opts *o, const char *path,
                    const char *labels)
{
    char summary[4096];
    unsigned char h[12];
    FILE *f;
    (void)ctx;
    (void)o;
    (void)labels;
    if (cli_is_onnx(path))
        printf("format: ONNX\n");
    else if ((f = fopen(path, "rb")) != NULL) {
        if (fread(h, 1, sizeof h, f) == sizeof h && !memcmp(h, "MLPMODEL", 8))
            printf("format: libmlp model file, version %lu\n",
                   (unsigned long)h[8] | (unsigned long)h[9] << 8 | (unsigned long)h[10] << 16
                       | (unsigned long)h[11] << 24);
        fclose(f);
    }
    mlp_model_summary(m, summary, sizeof summary);
    printf("%s", summary);
    if (summary[0] && summary[strlen(summary) - 1] != '\n')
        printf("\n");
    printf("inputs: %lld\noutputs: %lld (%s)\nparameters: %lld\nlibmlp: %s\n",
           (long long)mlp_model_in_features(m), (long long)mlp_model_out_features(m),
           cli_model_classifies(m) ? "a classifier: one score per class" : "a regressor",
           (long long)mlp_model_param_numel(m), mlp_version());
    return 0;
}

int cli_eval(int argc, char **argv)
{
    return with_model("eval", argc, argv, 1, eval_cmd);
}

int cli_predict(int argc, char **argv)
{
    return with_model("predict", argc, argv, 1, predict_cmd);
}

int cli_info(int argc, char **argv)
{
    return with_model("info", argc, argv, 0, info_cmd);
}

int cli_convert(int argc, char **argv)
{
    const char *pos[CLI_MAX_POS];
    int npos, rc = 1;
    mlp_ctx *ctx;
    mlp_model *m;
    if (cli_parse("convert", argc, argv, 2, NULL, 0, pos, &npos))
        return 2;
    if (npos != 2) {
        fprintf(stderr, "usage: mlp convert IN OUT  (.onnx for ONNX, anything else for the "
                        "libmlp format)\n");
        return 2;
    }
    if (!(ctx = mlp_ctx_new(NULL))) {
        fprintf(stderr, "mlp: out of memory\n");
        return 1;
    }
    if ((m = cli_model_load(ctx, pos[0])) != NULL) {
        rc = cli_model_save(ctx, m, pos[1]);
        if (rc == 0)
            printf("wrote %s\n", pos[1]);
        mlp_model_free(m);
    }
    mlp_ctx_free(ctx);
    return rc;
}
