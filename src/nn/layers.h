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

#include <stddef.h>

#include "nn/layer_onnx.h"
#include "nn/model.h"

/* Shape of one of a layer's tensors. */
typedef struct mlp__tshape {
    int ndim;
    int64_t shape[2];
    int learnable; /* a parameter (requires grad, in the parameter list) */
} mlp__tshape;

/* What a tape-free layer pass runs with: the context's kernel and one
 * thread's packing workspace (NULL for one row through small layers,
 * which the row kernel runs without packing). The pass reads the layer's
 * tensors only, so passes on many threads may run at once. Predict splits
 * large batches across threads by rows itself; for a few rows through
 * wide layers it sets ctx instead, and mlp__infer_linear splits each
 * large product by columns across the context's pool, part t packing
 * into works + t * work_floats. */
typedef struct mlp__infer {
    const mlp_model *m;
    const mlp__gemm_kernel *gemm;
    float *work;
    mlp_ctx *ctx; /* NULL: every product on the calling thread */
    float *works;
    size_t work_floats;
} mlp__infer;

/* y [n,out] = f(x [n,in] . W + b) for linear layer L in a layer pass (see
 * mlp__infer), f the activation act with param (mlp__bias_act_fwd's
 * arguments); W as mlp_model_pack packed it when it is. */
void mlp__infer_linear(const mlp__infer *run, const mlp__layer *L, int64_t n, const float *x,
                       float *y, int act, float param);
/* Linear layer L's weights as mlp_model_pack packed them, or NULL when
 * they are not packed or have changed since. */
const float *mlp__infer_packed(const mlp__infer *run, const mlp__layer *L);

/* One setting of a layer as a field of its model-file record: which
 * member of mlp__layer, its width in the file, the first format version
 * with it, and what the summary shows of it. */
typedef enum mlp__field_type {
    MLP__FIELD_SIZE, /* int64_t size, u64 in the file; above 2^31 reads as -1 */
    MLP__FIELD_ENUM, /* int 0..max, u32 in the file; above max reads as -1 */
    MLP__FIELD_F32   /* float, f32 in the file */
} mlp__field_type;

typedef struct mlp__field {
    size_t offset; /* offsetof(mlp__layer, member) */
    mlp__field_type type;
    unsigned since;   /* first format version with the field */
    uint32_t max;     /* MLP__FIELD_ENUM: the largest value */
    const char *show; /* in the summary, the text before the value ("p="); NULL: not shown */
} mlp__field;

#define MLP__FIELD(member, type, since, max, show)                                                 \
    {                                                                                              \
        offsetof(mlp__layer, member), type, since, max, show                                       \
    }
/* .fields and .nfields of a kind from a static array */
#define MLP__FIELDS(array) .fields = array, .nfields = (int)(sizeof array / sizeof array[0])

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
     * changes nothing, or NULL with ctx's error set. `next` is the layer
     * after L (or NULL); *used is 1 on entry, and a kind that applies next
     * too in one op (linear, a ReLU after it) sets it to 2. */
    mlp_tensor *(*forward)(const mlp__layer *L, const mlp__layer *next, mlp_tensor *h, int training,
                           int *used);

    /* Tape-free forward: y [n,out] = L(x [n,width]), y never aliasing x.
     * `next` is the layer after L (or NULL); a kind may apply it in the
     * same pass when next's kind has `pointwise` (linear applies an
     * element-wise activation with its bias). Returns the number of layers
     * applied (1, or 2 with next), or 0 when L is the identity at
     * inference and y was not written. Never fails or allocates. */
    int (*predict)(const mlp__infer *run, const mlp__layer *L, const mlp__layer *next,
                   const float *x, float *y, int64_t n, int64_t width);
    /* The same on activations held transposed, x [width,n] and y [out,n]
     * (a row per feature; src/nn/predict.c, narrow_net): the row layout's
     * sums and element-wise operations in the same order. NULL: the kind
     * runs only in the row layout. */
    int (*predict_t)(const mlp__infer *run, const mlp__layer *L, const mlp__layer *next,
                     const float *x, float *y, int64_t n, int64_t width);
    /* For an element-wise layer another may fold in: 1 with its mlp_act and
     * parameter; 0 when it cannot be folded. NULL: never. */
    int (*pointwise)(const mlp__layer *L, int *act, float *param);

    /* Its settings as fields (below): the record after the u32 kind in the
     * model file (io/model_file.c, docs/format.md), from format version
     * `since` on, and the summary's text, "linear(784 -> 256)". */
    unsigned since;
    const mlp__field *fields;
    int nfields;
    /* Settings a file older than some field's `since` leaves out, given
     * from the others (version 1: a pReLU has one alpha). NULL: they stay 0. */
    void (*record_older)(unsigned version, mlp__layer *L);
    /* The summary's text when the fields do not say it; NULL: the kind's
     * name, then the shown fields in parentheses. */
    void (*describe)(const mlp__layer *L, char *buf, size_t size);

    /* ONNX (layer_onnx.h); NULL when the kind has no ONNX form yet. */
    mlp__onnx_export_fn onnx_export;
    mlp__onnx_import_fn onnx_import;
} mlp__kind;

/* The standardisation layer's entry (layer_standardize.c). */
extern const mlp__kind mlp__kind_standardize;

/* Set a standardisation layer's mean and std (n floats each; NULL: 0 and
 * 1) after checking them (MLP_ERR_ARG naming `where`; nothing changes on
 * error). Bumps both tensors' versions. */
mlp_status mlp__standardize_set(mlp_ctx *ctx, const char *where, mlp__layer *L, const float *mean,
                                const float *std);

/* The model-file record of a layer of kind k after its u32 kind (record.c):
 * its size in format `version` (>= k->since), writing L's fields in that
 * version, and reading them into L's settings (checked afterwards with
 * settle, so reading never fails). */
size_t mlp__record_bytes(const mlp__kind *k, unsigned version);
void mlp__record_write(const mlp__layer *L, unsigned version, unsigned char *p);
void mlp__record_read(unsigned version, const unsigned char *p, mlp__layer *L);
/* What the summary's layer column says of L (record.c). */
void mlp__layer_describe(const mlp__layer *L, char *buf, size_t size);

/* The entry of kind `kind` (an mlp_layer_kind value), NULL when unknown:
 * walking kind = 0, 1, ... until NULL visits the whole table. */
const mlp__kind *mlp__kind_of(int kind);

#endif
