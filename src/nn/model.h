/*
 * model.h - the inside of a sequential model: its layers and its
 * parameter list. Shared by the model, the layer kinds, predict, summary
 * and model-file code. What a layer does is its kind's (nn/layers.h); nothing here switches on kind.
 */
#ifndef MLP_NN_MODEL_H
#define MLP_NN_MODEL_H

#include "core.h"

#define MLP__LAYER_TENSORS 2

struct mlp__kind;

/* One layer: its kind's entry, its settings and its tensors. Which fields
 * a kind uses is written beside the kind in layers.c. */
typedef struct mlp__layer {
    const struct mlp__kind *k; /* the kind's entry in the table (layers.c) */
    int64_t in, out;           /* fixed input / output width; 0: any / the input's */
    int has_bias;              /* linear */
    int act;                   /* activation: mlp_act */
    float param;               /* leaky-ReLU slope, dropout probability */
    int64_t n;                 /* pReLU alphas; standardisation features */
    /* the layer's tensors, in file and parameter order (linear W [in,out]
     * then b [out] or NULL; pReLU alpha [n]; standardisation mean [n] and
     * std [n]); NULL when unused */
    mlp_tensor *t[MLP__LAYER_TENSORS];
} mlp__layer;

/* What a pass through the whole model needs of its layers, in one walk
 * made whenever a layer is added or taken back (model.c), so that a call
 * on one row of a small net (a few dozen nanoseconds) does not walk them
 * again. */
typedef struct mlp__shape {
    int64_t in;     /* input width: the first layer's that fixes one; 0: none does */
    int64_t out;    /* output width: the last layer's that fixes one; 0: the input's */
    int64_t width;  /* the widest fixed width of any layer's input or output */
    int64_t cost;   /* multiply-adds of a row: the layers' in x out */
    int64_t widest; /* multiply-adds of a row's largest product */
    int all_t;      /* every layer has predict_t (nn/layers.h) */
} mlp__shape;

/* A linear layer's weights packed once for predict (mlp_model_pack,
 * predict.c): used while the weight tensor has the data and version they
 * were packed from, with the kernel that packed them. */
typedef struct mlp__wpack {
    float *w; /* the kernel's pack_b panels of W [in,out]; NULL: not packed */
    const float *from;
    uint64_t version;
} mlp__wpack;

struct mlp_model {
    mlp_ctx *ctx;
    mlp__layer *layers;
    size_t nlayers, cap_layers;
    mlp__shape shape;    /* of layers[0 .. nlayers-1] */
    mlp_tensor **params; /* borrowed views of the layers' learnable tensors, in order */
    size_t nparams, cap_params;
    int training;
    mlp__wpack *wpack; /* one per layer (nwpack of them) after mlp_model_pack; else NULL */
    size_t nwpack;
    const mlp__gemm_kernel *wpack_kernel;
};

/* Drop the packed weights (mlp_model_pack(m, 0)). */
void mlp__model_unpack(mlp_model *m);

/* Initialise a linear layer's w [in,out] and b [out] (b may be NULL) with
 * ctx's generator (init.c). */
mlp_status mlp__init_linear(mlp_ctx *ctx, const char *fn, mlp_init init, float *w, float *b,
                            int64_t in, int64_t out);

/* Append a layer described by `desc` (its kind and settings; tensors NULL):
 * the kind checks the settings (MLP_ERR_ARG naming `where`), the width
 * must chain (MLP_ERR_SHAPE), then its tensors are made and initialised
 * (a linear layer's with `init`) and its learnable ones join the
 * parameter list. Returns the new layer (valid until the next push), or
 * NULL with ctx's error set and the model unchanged. */
mlp__layer *mlp__model_push(mlp_model *m, const char *where, const mlp__layer *desc, mlp_init init);

/* The feature width after the first `upto` layers, starting from `in`
 * (the width a layer with out == 0 keeps). */
int64_t mlp__model_width(const mlp_model *m, size_t upto, int64_t in);

/* Largest sanity limits the model and its files accept. */
#define MLP__MAX_LAYERS 65536
#define MLP__MAX_FEATURES ((int64_t)1 << 31)

#endif
