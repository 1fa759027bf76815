/*
 * onnx.h - the part of the ONNX schema (onnx.proto) an MLP uses, shared
 * by the reader (onnx.c, onnx_chain.c) and the writer (onnx_write.c):
 * field numbers, attribute and data types, the opset written.
 */
#ifndef MLP_IO_ONNX_H
#define MLP_IO_ONNX_H

#include "io/pb.h"
#include "nn/layer_onnx.h"

/* field numbers of onnx.proto */
enum {
    ONNX_MODEL_IR_VERSION = 1,
    ONNX_MODEL_PRODUCER_NAME = 2,
    ONNX_MODEL_PRODUCER_VERSION = 3,
    ONNX_MODEL_GRAPH = 7,
    ONNX_MODEL_OPSET_IMPORT = 8,
    ONNX_OPSET_DOMAIN = 1,
    ONNX_OPSET_VERSION = 2,
    ONNX_GRAPH_NODE = 1,
    ONNX_GRAPH_NAME = 2,
    ONNX_GRAPH_INITIALIZER = 5,
    ONNX_GRAPH_INPUT = 11,
    ONNX_GRAPH_OUTPUT = 12,
    ONNX_NODE_INPUT = 1,
    ONNX_NODE_OUTPUT = 2,
    ONNX_NODE_NAME = 3,
    ONNX_NODE_OP_TYPE = 4,
    ONNX_NODE_ATTRIBUTE = 5,
    ONNX_NODE_DOMAIN = 7,
    ONNX_ATTR_NAME = 1,
    ONNX_ATTR_F = 2,
    ONNX_ATTR_I = 3,
    ONNX_ATTR_S = 4,
    ONNX_ATTR_T = 5,
    ONNX_ATTR_FLOATS = 7,
    ONNX_ATTR_INTS = 8,
    ONNX_ATTR_TYPE = 20,
    ONNX_TENSOR_DIMS = 1,
    ONNX_TENSOR_DATA_TYPE = 2,
    ONNX_TENSOR_SEGMENT = 3,
    ONNX_TENSOR_FLOAT_DATA = 4,
    ONNX_TENSOR_NAME = 8,
    ONNX_TENSOR_RAW_DATA = 9,
    ONNX_TENSOR_DATA_LOCATION = 14,
    ONNX_VALUE_NAME = 1,
    ONNX_VALUE_TYPE = 2,
    ONNX_TYPE_TENSOR = 1,
    ONNX_TTYPE_ELEM_TYPE = 1,
    ONNX_TTYPE_SHAPE = 2,
    ONNX_SHAPE_DIM = 1,
    ONNX_DIM_VALUE = 1,
    ONNX_DIM_PARAM = 2
};

/* AttributeProto.AttributeType and TensorProto.DataType values used here */
enum { ONNX_ATTR_TYPE_FLOAT = 1, ONNX_ATTR_TYPE_INT = 2, ONNX_ATTR_TYPE_STRING = 3 };
enum { ONNX_DTYPE_FLOAT = 1, ONNX_DTYPE_BOOL = 9 };

/* What mlp_model_save_onnx writes: opset 13 and the IR version that goes
 * with it (ONNX 1.8). */
#define MLP__ONNX_OPSET 13
#define MLP__ONNX_IR_VERSION 7

#endif
