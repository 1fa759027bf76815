/*
 * model.h - the inside of a sequential model: its layers, its parameter
 * list and the workspace of the tape-free predict path. Shared by the
 * model, predict, summary and model-file code.
 */
#ifndef MLP_NN_MODEL_H
#define MLP_NN_MODEL_H

#include "core.h"

typedef struct mlp__layer {
    int kind; /* mlp_layer_kind */
    /* linear: y [n,out] = x [n,in] · w [in,out] + b [out] */
    int64_t in, out;
    int has_bias;
    /* activation: act (mlp_act), param = leaky-ReLU slope (0 otherwise) */
    int act;
    float param;
    /* dropout: drop probability */
    float p;
    mlp_tensor *w; /* linear weight, or the pReLU alpha [1] */
    mlp_tensor *b; /* linear bias or NULL */
} mlp__layer;

struct mlp_model {
    mlp_ctx *ctx;
    mlp__layer *layers;
    size_t nlayers, cap_layers;
    mlp_tensor **params; /* borrowed views of the layers' tensors, in order */
    size_t nparams, cap_params;
    int training;
    /* predict workspace: two ping-pong buffers of work_rows x work_width */
    float *work;
    int64_t work_rows, work_width;
};

/* Initialise a linear layer's w [in,out] and b [out] (b may be NULL) with
 * ctx's generator (init.c). */
mlp_status mlp__init_linear(mlp_ctx *ctx, const char *fn, mlp_init init, float *w, float *b,
                            int64_t in, int64_t out);

/* Append layers with full control (model.c), for the loader. A linear
 * layer's tensors are initialised with `init`. */
mlp_status mlp__model_add_linear(mlp_model *m, const char *fn, int64_t in, int64_t out,
                                 int has_bias, mlp_init init);
mlp_status mlp__model_add_act(mlp_model *m, const char *fn, int act, float param);
mlp_status mlp__model_add_dropout(mlp_model *m, const char *fn, float p);

/* Largest sanity limits the model and its files accept. */
#define MLP__MAX_LAYERS 65536
#define MLP__MAX_FEATURES ((int64_t)1 << 31)

#endif
