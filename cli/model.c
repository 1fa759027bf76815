/*
 * model.c - the command's models: load and save by file extension (the
 * libmlp format, or ONNX for *.onnx), and what a model's outputs mean.
 */
#include <math.h>
#include <string.h>

#include "cli.h"

int cli_is_onnx(const char *path)
{
    size_t n = strlen(path);
    return n >= 5 && !strcmp(path + n - 5, ".onnx");
}

mlp_model *cli_model_load(mlp_ctx *ctx, const char *path)
{
    mlp_model *m = cli_is_onnx(path) ? mlp_model_load_onnx(ctx, path) : mlp_model_load(ctx, path);
    if (!m)
        fprintf(stderr, "mlp: %s: %s\n", path, mlp_ctx_errmsg(ctx));
    return m;
}

int cli_model_save(mlp_ctx *ctx, mlp_model *m, const char *path)
{
    if ((cli_is_onnx(path) ? mlp_model_save_onnx(m, path) : mlp_model_save(m, path)) != MLP_OK) {
        fprintf(stderr, "mlp: %s: %s\n", path, mlp_ctx_errmsg(ctx));
        return 1;
    }
    return 0;
}

int cli_model_classifies(const mlp_model *m)
{
    return mlp_model_out_features(m) > 1;
}

void cli_probabilities(const mlp_model *m, float *out, int64_t n, int64_t k)
{
    int last = mlp_model_layer_kind(m, mlp_model_num_layers(m) - 1);
    int64_t r, c;
    if (last == MLP_LAYER_SOFTMAX)
        return;
    if (last == MLP_LAYER_LOG_SOFTMAX) {
        for (r = 0; r < n * k; r++)
            out[r] = expf(out[r]);
        return;
    }
    for (r = 0; r < n; r++) {
        float *row = out + r * k, top = row[0];
        double sum = 0;
        for (c = 1; c < k; c++)
            if (row[c] > top)
                top = row[c];
        for (c = 0; c < k; c++)
            sum += (double)(row[c] = expf(row[c] - top));
        for (c = 0; c < k; c++)
            row[c] = (float)(row[c] / sum);
    }
}
