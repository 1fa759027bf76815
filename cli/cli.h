/*
 * cli.h - what the files of the `mlp` command share. The command is
 * written against the public header only, as any user program is.
 */
#ifndef MLP_CLI_H
#define MLP_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <mlp.h>

/* ---- options (opts.c) ---------------------------------------------------- */

typedef enum opt_kind { OPT_FLAG, OPT_INT, OPT_REAL, OPT_STR, OPT_LIST } opt_kind;

/* One command-line option: "--name VALUE" (or "--name" for a flag). The
 * value is parsed into *dst by kind; lo/hi bound numbers. A list is a
 * comma-separated list of positive integers into an int64_t array of
 * `max` entries, its length into *count. */
typedef struct opt {
    const char *name;
    opt_kind kind;
    void *dst;
    double lo, hi;
    int max;
    int *count;
} opt;

#define CLI_MAX_POS 3
#define CLI_MAX_HIDDEN 16

/* Parse argv[first..argc) against opts; the rest are positional arguments
 * (at most CLI_MAX_POS, into pos/npos). 0 on success; prints the error
 * and returns 2 otherwise. */
int cli_parse(const char *cmd, int argc, char **argv, int first, const opt *opts, int nopts,
              const char **pos, int *npos);

/* ---- data (data.c) ------------------------------------------------------- */

/* A table of inputs x [n, d] and, when the file has them, targets y [n]. */
typedef struct table {
    mlp_tensor *x, *y;
    int64_t n, d;
    const char *source; /* the file the rows came from, for messages */
} table;

typedef struct data_opts {
    int header;       /* CSV: skip the first line */
    long long target; /* CSV: 1-based target column; 0 = the last */
    double scale;     /* IDX: multiply the inputs (0 = 1/255 for bytes, else 1) */
} data_opts;

/* Load DATA (a CSV file, or an IDX image file followed by `labels`, an IDX
 * label file) into t. want_cols >= 0 tells how many input columns the
 * model takes: a CSV with exactly that many columns has no targets.
 * need_y: targets are required. 0 on success; prints the error naming the
 * file (and line and column) and returns 1 otherwise. */
int cli_load(mlp_ctx *ctx, const char *path, const char *labels, const data_opts *o,
             int64_t want_cols, int need_y, table *t);
void cli_table_free(table *t);

/* 1 when every target is an integer in [0, 100): the classes; *k gets the
 * largest label + 1. */
int cli_looks_like_classes(const table *t, int64_t *k);
/* Every target an integer in [0, k): 0, or prints the offending row. */
int cli_check_labels(const table *t, int64_t k);

/* Move the last `frac` share of the rows of t, in a shuffled order drawn
 * from ctx, into val. 0 on success. */
int cli_split(mlp_ctx *ctx, table *t, double frac, table *val);

/* ---- models (model.c) ---------------------------------------------------- */

/* Is the file at path an ONNX model (by its extension)? */
int cli_is_onnx(const char *path);
/* Load a libmlp or ONNX model; prints the error and returns NULL on failure. */
mlp_model *cli_model_load(mlp_ctx *ctx, const char *path);
/* Save by extension; prints the error and returns 1 on failure. */
int cli_model_save(mlp_ctx *ctx, mlp_model *m, const char *path);
/* Classifier (1) or regressor (0): a model with one output is a regressor. */
int cli_model_classifies(const mlp_model *m);
/* Turn a model's output rows [n, k] into probabilities in place, as its
 * last layer requires (softmax of logits, exp of log-probabilities). */
void cli_probabilities(const mlp_model *m, float *out, int64_t n, int64_t k);

/* ---- the commands -------------------------------------------------------- */

int cli_train(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_convert(int argc, char **argv);

/* Print "mlp: <msg>" for the context's last error. Returns 1. */
int cli_fail(mlp_ctx *ctx, const char *what);

#endif /* MLP_CLI_H */
