/*
 * main.c - the `mlp` command: train, evaluate, run, inspect and convert
 * multi-layer perceptrons from the shell (docs/cli.md, mlp.1).
 */
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: mlp COMMAND ...\n"
    "\n"
    "  mlp train DATA [LABELS] -o MODEL [options]   train a model on a table\n"
    "  mlp eval MODEL DATA [LABELS] [--confusion]   accuracy, or rmse and mae\n"
    "  mlp predict MODEL DATA [LABELS] [--proba]    one line per row\n"
    "  mlp info MODEL                               layers, parameters, file format\n"
    "  mlp convert IN OUT                           libmlp format <-> ONNX (.onnx)\n"
    "  mlp help | mlp version\n"
    "\n"
    "DATA is a CSV file of numbers (targets in the last column, or --target N,\n"
    "counting from 1; --header skips a header line) or an IDX image file followed\n"
    "by its IDX label file (bytes are scaled by 1/255, or by --scale S).\n"
    "\n"
    "train options:\n"
    "  --task classify|regress   default: classify when every target is a whole\n"
    "                            number from 0 to 99, regress otherwise\n"
    "  --hidden 64[,32...]       hidden layer widths (default 64)\n"
    "  --act relu|tanh|sigmoid|gelu|leaky_relu|prelu   (default relu)\n"
    "  --dropout P               dropout after each hidden layer (default 0)\n"
    "  --optim sgd|adam|adamw    (default adam)\n"
    "  --lr LR                   learning rate (default 0.001; 0.1 for sgd)\n"
    "  --epochs N  --batch N     (default 20 and 32)\n"
    "  --threads N  --seed S     (default 1 and 42)\n"
    "  --val-split F             hold out a share F of the rows, reported each epoch\n"
    "  --standardize             scale inputs by the training rows' mean and deviation,\n"
    "                            stored in the model\n"
    "  --checkpoint FILE         write a checkpoint at each epoch's end (and every\n"
    "                            --checkpoint-steps N steps)\n"
    "  --resume FILE             go on from a checkpoint, bit-identically (same data\n"
    "                            and options); SIGINT/SIGTERM stop with a checkpoint\n"
    "  --quiet                   print nothing but errors\n"
    "\n"
    "Exit status: 0 on success, 1 on an error (bad data, I/O), 2 on a usage error.\n";

int cli_fail(mlp_ctx *ctx, const char *what)
{
    fprintf(stderr, "mlp: %s: %s\n", what, mlp_ctx_errmsg(ctx));
    return 1;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "train"))
        return cli_train(argc, argv);
    if (!strcmp(cmd, "eval"))
        return cli_eval(argc, argv);
    if (!strcmp(cmd, "predict"))
        return cli_predict(argc, argv);
    if (!strcmp(cmd, "info"))
        return cli_info(argc, argv);
    if (!strcmp(cmd, "convert"))
        return cli_convert(argc, argv);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("mlp %s\n", mlp_version());
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        fputs(help, stdout);
        return 0;
    }
    fprintf(stderr, argc > 1 ? "mlp: unknown command '%s'\n\n" : "%s", cmd);
    fputs(help, stderr);
    return 2;
}
