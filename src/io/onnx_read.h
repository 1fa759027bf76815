/*
 * onnx_read.h - the reader's view of an ONNX file, shared by the parsing
 * of its messages (onnx.c) and the chain of nodes the layer kinds read
 * (onnx_chain.c). Strings and tensors are views into the file's bytes;
 * only constants a layer asks for are decoded into floats.
 */
#ifndef MLP_IO_ONNX_READ_H
#define MLP_IO_ONNX_READ_H

#include "io/onnx.h"

#define MLP__ONNX_MAX_DIMS 4
#define MLP__ONODE_MAX_IO 4

typedef struct mlp__ostr {
    const char *p;
    size_t n;
} mlp__ostr;

/* A TensorProto (or a Constant's value_float) in the file. */
typedef struct mlp__otensor {
    mlp__ostr name;
    int32_t dtype;
    int ndim; /* may exceed MLP__ONNX_MAX_DIMS: then only the first dims are kept */
    int64_t dims[MLP__ONNX_MAX_DIMS];
    int64_t numel;
    const unsigned char *msg;
    size_t len;
    const unsigned char *raw;
    size_t raw_len;
    int has_raw, external;
    int64_t nfloat; /* values in float_data */
    int is_attr_float;
    float attr_float;
} mlp__otensor;

/* A named constant: an initializer, a Constant node's output, or a
 * Transpose of a 2-D constant folded by the reader. */
typedef struct mlp__oconst {
    mlp__ostr name;
    const unsigned char *p; /* the TensorProto (NULL for value_float and folds) */
    size_t n;
    float attr_float;
    unsigned char is_attr_float, from_node;
    float *data; /* decoded on first use (ctx's allocator) */
    int64_t dims[2];
    int ndim; /* of data, once decoded */
} mlp__oconst;

/* A NodeProto, parsed on demand. */
typedef struct mlp__onode {
    size_t index; /* position in the graph */
    mlp__ostr op, name, domain;
    mlp__ostr in[MLP__ONODE_MAX_IO], out[MLP__ONODE_MAX_IO];
    int nin, nout; /* the true counts (may exceed MLP__ONODE_MAX_IO) */
    const unsigned char *p;
    size_t len;
} mlp__onode;

typedef struct mlp__oattr {
    int found, type;
    int has_f, has_i, has_s, has_t, has_ints;
    float f;
    int64_t i;
    mlp__ostr s;
    const unsigned char *t; /* TensorProto bytes */
    size_t tlen;
    const unsigned char *msg; /* the AttributeProto, for its ints */
    size_t msglen;
} mlp__oattr;

/* One node of the chain the layer kinds read. */
typedef struct mlp__olink {
    size_t node;    /* index in the graph */
    const char *op; /* the op's name from the reader's list, or "" */
    int nin;
    int32_t src[MLP__ONODE_MAX_IO];  /* chain position or MLP__ONNX_FROM_* */
    int32_t cref[MLP__ONODE_MAX_IO]; /* a constant's index, -1 when absent */
} mlp__olink;

/* A value's name and where it comes from (sorted by name). */
typedef struct mlp__ovalue {
    mlp__ostr name;
    int32_t src, cref;
} mlp__ovalue;

typedef struct mlp__onnx_in {
    mlp_ctx *ctx;
    const char *fn;
    const unsigned char *buf;
    size_t size;
    int64_t opset;
    mlp__ostr *nodes; /* every NodeProto's bytes, in graph order */
    size_t nnodes;
    mlp__oconst *consts; /* sorted by name, then the folds */
    size_t nconsts, nsorted;
    mlp__olink *chain;
    size_t nchain;
    mlp__ovalue *values;
    size_t nvalues;
    mlp__ostr input, output;
    int in_rank; /* -1 when the file does not say */
    int64_t in_dims[MLP__ONNX_MAX_DIMS];
    int64_t budget;  /* floats the reader may still decode */
    int read_failed; /* a constant a kind asked for could not be read (error set) */
} mlp__onnx_in;

/* messages: MLP_ERR_FORMAT "malformed ONNX file: what"; MLP_ERR_UNSUPPORTED
 * "node i 'name' (op) why". */
mlp_status mlp__onnx_bad(mlp__onnx_in *st, const char *what);
mlp_status mlp__onnx_unsupported(mlp__onnx_in *st, const mlp__onode *n, const char *why);
/* s made printable and cut to fit cap bytes (for messages). */
const char *mlp__ostr_show(mlp__ostr s, char *buf, size_t cap);
int mlp__ostr_eq(mlp__ostr a, mlp__ostr b);
int mlp__ostr_is(mlp__ostr a, const char *s);
int mlp__ostr_cmp(mlp__ostr a, mlp__ostr b);

mlp_status mlp__otensor_parse(mlp__onnx_in *st, const unsigned char *msg, size_t len,
                              mlp__otensor *t);

mlp_status mlp__onode_parse(mlp__onnx_in *st, size_t index, mlp__onode *n);
mlp_status mlp__onode_attr(mlp__onnx_in *st, const mlp__onode *n, const char *name, mlp__oattr *a);
/* The attribute's ints (packed or not) into out[0..cap): how many there
 * are (more than cap are counted, not stored), or -1 when malformed. */
int64_t mlp__oattr_ints(const mlp__oattr *a, int64_t *out, int64_t cap);

/* The sorted constant named `name`: its index, or -1. */
int64_t mlp__onnx_const_find(const mlp__onnx_in *st, mlp__ostr name);
/* Decode constant i into floats (once; counted against st->budget).
 * MLP_ERR_UNSUPPORTED for data libmlp cannot read, naming the node. */
mlp_status mlp__onnx_const_decode(mlp__onnx_in *st, size_t i, const mlp__onode *user);

/* Parse the ModelProto: opset, nodes, constants, input and output
 * (onnx.c). Then build the chain and the model from it (onnx_chain.c). */
mlp_status mlp__onnx_read_model(mlp__onnx_in *st);
mlp_model *mlp__onnx_build(mlp__onnx_in *st);
void mlp__onnx_in_free(mlp__onnx_in *st);

#endif
