/*
 * layer_onnx.h - the two ONNX slots of a layer kind (see nn/layers.h): the
 * contract between the kind table and the ONNX reader and writer
 * (io/onnx.c). The writer and reader own the protobuf and the graph; a
 * kind only says which nodes it is.
 *
 * Export. The writer walks the model's layers in order and, for each,
 * calls its kind's onnx_export with an emitter, the layer, a name prefix
 * unique to the layer (e.g. "l3_"), the name of the value holding the
 * layer's input x, and in *y the name the writer proposes for its output.
 * The kind adds its initializers with e->tensor and its nodes with
 * e->node, the last node writing *y (intermediate values and
 * initializers are named prefix + something). A layer that is the
 * identity at inference (dropout) writes nothing and sets *y = x. Names
 * and data are copied by the emitter before it returns. Errors are the
 * emitter's (it sets the context's message); the kind returns them.
 *
 * Import. The reader turns the graph into a chain of nodes from the
 * input to the output (constants and initializers resolved, identity
 * and flatten nodes it handles itself) and, at each position `at`, asks
 * each kind's onnx_import in table order whether the nodes starting
 * there are that kind. A kind that recognises them appends its layer to
 * m (mlp__model_push, then fills the layer's tensors) and returns how
 * many nodes it used (>= 1); it returns 0 when the nodes are not its
 * kind (leaving m unchanged), and -1 after setting ctx's error (fn names
 * the public function, e.g. "mlp_model_load_onnx") for nodes that are
 * its kind but that it cannot take (MLP_ERR_UNSUPPORTED naming the node,
 * its op and its position: r->fail does that). r->width is the feature
 * width of the running value (0 when unknown), which per-feature layers
 * need. The reader checks that the nodes a kind took read only constants,
 * the running value and each other's outputs; a kind that reads two
 * values (GELU's Mul) checks which with r->source.
 *
 * Either slot may be NULL: such a kind is neither written nor read.
 */
#ifndef MLP_NN_LAYER_ONNX_H
#define MLP_NN_LAYER_ONNX_H

#include "core.h"

struct mlp__layer;

/* One attribute of a node being written. */
typedef struct mlp__onnx_attr {
    const char *name;
    int type; /* MLP__ONNX_INT or MLP__ONNX_FLOAT */
    int64_t i;
    float f;
} mlp__onnx_attr;

#define MLP__ONNX_INT 1
#define MLP__ONNX_FLOAT 2

/* What export writes through (implemented by the writer). */
typedef struct mlp__onnx_emitter {
    void *self;
    /* An initializer: float tensor `name` of ndim dims (row-major data). */
    mlp_status (*tensor)(void *self, const char *name, int ndim, const int64_t *dims,
                         const float *data);
    /* A node: op_type reading values in[0..nin-1], writing value `out`. */
    mlp_status (*node)(void *self, const char *op_type, const char *const *in, int nin,
                       const char *out, const mlp__onnx_attr *attrs, int nattrs);
} mlp__onnx_emitter;

typedef mlp_status (*mlp__onnx_export_fn)(const mlp__onnx_emitter *e, const struct mlp__layer *L,
                                          const char *prefix, const char *x, const char **y);

/* A constant input of a node, as floats (initializer or Constant node). */
typedef struct mlp__onnx_const {
    int ndim;
    int64_t dims[MLP_MAX_DIMS];
    int64_t numel;
    const float *data; /* borrowed from the reader */
} mlp__onnx_const;

/* What import reads the chain through (implemented by the reader). */
typedef struct mlp__onnx_reader {
    void *self;
    mlp_ctx *ctx;
    size_t num_nodes; /* nodes of the chain */
    int64_t width;    /* features of the running value at the current position; 0 unknown */
    int64_t opset;    /* the default domain's opset (Softmax's default axis, Dropout's form) */
    /* op_type of node i ("Gemm"); NULL when i >= num_nodes */
    const char *(*op)(void *self, size_t i);
    /* attribute `name` of node i: 1 and *v when present, 0 when absent */
    int (*attr_int)(void *self, size_t i, const char *name, int64_t *v);
    int (*attr_float)(void *self, size_t i, const char *name, float *v);
    /* 1 when node i has a string attribute `name` equal to s */
    int (*attr_str_is)(void *self, size_t i, const char *name, const char *s);
    /* input k of node i: 1 and *c when it is a constant, 0 when it is a
     * value or absent, -1 (ctx's error set) when it is a constant libmlp
     * cannot read (not float, data outside the file, out of memory) */
    int (*const_input)(void *self, size_t i, int k, mlp__onnx_const *c);
    /* number of inputs of node i */
    int (*num_inputs)(void *self, size_t i);
    /* where input k of node i comes from: the chain position j of the node
     * whose (first) output it is, MLP__ONNX_FROM_INPUT for the graph's
     * input, MLP__ONNX_FROM_CONST for a constant or an absent input,
     * MLP__ONNX_FROM_OTHER for anything else (a node's second output) */
    int64_t (*source)(void *self, size_t i, int k);
    /* MLP_ERR_UNSUPPORTED "node <position> '<name>' (<op>) <why>"; returns -1 */
    int (*fail)(void *self, size_t i, const char *why);
} mlp__onnx_reader;

#define MLP__ONNX_FROM_INPUT (-1)
#define MLP__ONNX_FROM_CONST (-2)
#define MLP__ONNX_FROM_OTHER (-3)

typedef int (*mlp__onnx_import_fn)(const mlp__onnx_reader *r, size_t at, mlp_model *m,
                                   const char *fn);

/* The ONNX slots of the kinds (nn/layer_onnx.c). */
mlp_status mlp__linear_onnx_export(const mlp__onnx_emitter *e, const struct mlp__layer *L,
                                   const char *prefix, const char *x, const char **y);
int mlp__linear_onnx_import(const mlp__onnx_reader *r, size_t at, mlp_model *m, const char *fn);
mlp_status mlp__act_onnx_export(const mlp__onnx_emitter *e, const struct mlp__layer *L,
                                const char *prefix, const char *x, const char **y);
int mlp__act_onnx_import(const mlp__onnx_reader *r, size_t at, mlp_model *m, const char *fn);
mlp_status mlp__dropout_onnx_export(const mlp__onnx_emitter *e, const struct mlp__layer *L,
                                    const char *prefix, const char *x, const char **y);
int mlp__dropout_onnx_import(const mlp__onnx_reader *r, size_t at, mlp_model *m, const char *fn);
mlp_status mlp__softmax_onnx_export(const mlp__onnx_emitter *e, const struct mlp__layer *L,
                                    const char *prefix, const char *x, const char **y);
int mlp__softmax_onnx_import(const mlp__onnx_reader *r, size_t at, mlp_model *m, const char *fn);
mlp_status mlp__log_softmax_onnx_export(const mlp__onnx_emitter *e, const struct mlp__layer *L,
                                        const char *prefix, const char *x, const char **y);
int mlp__log_softmax_onnx_import(const mlp__onnx_reader *r, size_t at, mlp_model *m,
                                 const char *fn);
mlp_status mlp__standardize_onnx_export(const mlp__onnx_emitter *e, const struct mlp__layer *L,
                                        const char *prefix, const char *x, const char **y);
int mlp__standardize_onnx_import(const mlp__onnx_reader *r, size_t at, mlp_model *m,
                                 const char *fn);

#endif
