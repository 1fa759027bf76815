/*
 * layers.h - the table of layer kinds. Everything a kind of layer does is
 * one entry of functions in layers.c: checking its settings, the shapes
 * of its tensors and their first values, its forward pass on the tape,
 * its tape-free predict, its record in the model file, its summary line
 * and its ONNX import and export (layer_onnx.h). The model, predict,
 * summary and model-file code walk the table and never switch on a kind,
 * so a new kind is one entry in one file.
 */
#ifndef MLP_NN_LAYERS_H
#define MLP_NN_LAYERS_H

#include "nn/layer_onnx.h"
#include "nn/model.h"

/* Shape of one of a layer's tensors. */
typedef struct mlp__tshape {
    int ndim;
    int64_t shape[2];
    int learnable; /* a parameter (requires grad, in the parameter list) */
} mlp__tshape;

/* What a tape-free layer pass runs with: the context's kernel and one
 * thread's packing workspace. The pass runs on its calling thread alone
 * (predict splits rows across threads itself) and reads the layer's
 * tensors only, so passes on many threads may run at once. */
typedef struct mlp__infer {
    const mlp__gemm_kernel *gemm;
    float *work;
} mlp__infer;

typedef struct mlp__kind {
    int kind;         /* the mlp_layer_kind value, also the file's record tag */
    const char *name; /* "linear" */
    /* 1 for a normalising head (softmax, log-softmax) that the losses on
     * logits skip when it is the model's last layer (mlp_fit) */
    int head;

    /* Check L's settings (from the API or a file) and derive L->in/out.
     * Fails with `code` and a message starting with `where`. Allocates
     * nothing. */
    mlp_status (*settle)(mlp_ctx *ctx, mlp_status code, const char *where, mlp__layer *L);
    /* The shapes of L's tensors (into ts[0..]); returns how many. */
    int (*tensors)(const mlp__layer *L, mlp__tshape *ts);
    /* First values of L's freshly made tensors (a linear layer's from ctx's
     * generator with `init`, already checked by the caller). */
    void (*init)(mlp_ctx *ctx, const char *where, mlp__layer *L, mlp_init init);
    /* Check the values of L's tensors after a load (standardisation's
     * statistics); `code` and `where` as for settle. NULL: any values. */
    mlp_status (*check_values)(mlp_ctx *ctx, mlp_status code, const char *where,
                               const mlp__layer *L);

    /* Forward on the tape: L applied to h [n,width]. training is the
     * model's mode. Returns a step-owned result, h itself for a layer that
     * changes nothing, or NULL with ctx's error set. */
    mlp_tensor *(*forward)(const mlp__layer *L, mlp_tensor *h, int training);

    /* Tape-free forward: y [n,out] = L(x [n,width]), y never aliasing x.
     * `next` is the layer after L (or NULL); a kind may apply it in the
     * same pass when next's kind has `pointwise` (linear applies an
     * element-wise activation with its bias). Returns the number of layers
     * applied (1, or 2 with next), or 0 when L is the identity at
     * inference and y was not written. Never fails or allocates. */
    int (*predict)(const mlp__infer *run, const mlp__layer *L, const mlp__layer *next,
                   const float *x, float *y, int64_t n, int64_t width);
    /* For an element-wise layer another may fold in: 1 with its mlp_act and
     * parameter; 0 when it cannot be folded. NULL: never. */
    int (*pointwise)(const mlp__layer *L, int *act, float *param);

    /* The model file (io/model_file.c, docs/format.md): the first format
     * version with this kind; the size of the record's fields after the
     * u32 kind in format `version` (>= since); writing them (current
     * version); reading them into L's settings (checked afterwards with
     * settle, so reading never fails). */
    unsigned since;
    size_t (*record_bytes)(unsigned version);
    void (*record_write)(const mlp__layer *L, unsigned char *p);
    void (*record_read)(unsigned version, const unsigned char *p, mlp__layer *L);

    /* What the summary's layer column says: "linear(784 -> 256)". */
    void (*describe)(const mlp__layer *L, char *buf, size_t size);

    /* ONNX (layer_onnx.h); NULL when the kind has no ONNX form yet. */
    mlp__onnx_export_fn onnx_export;
    mlp__onnx_import_fn onnx_import;
} mlp__kind;

/* Set a standardisation layer's mean and std (n floats each; NULL: 0 and
 * 1) after checking them (MLP_ERR_ARG naming `where`; nothing changes on
 * error). Bumps both tensors' versions. */
mlp_status mlp__standardize_set(mlp_ctx *ctx, const char *where, mlp__layer *L, const float *mean,
                                const float *std);

/* The entry of kind `kind` (an mlp_layer_kind value), NULL when unknown:
 * walking kind = 0, 1, ... until NULL visits the whole table. */
const mlp__kind *mlp__kind_of(int kind);

#endif
