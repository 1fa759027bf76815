#!/usr/bin/python3
"""Make the ONNX fixtures in tests/fixtures/onnx/ with PyTorch.

Each fixture is a small MLP exported by torch.onnx.export with one of the
options libmlp must read (opsets 9 to 17, with and without constant
folding, initializers as graph inputs), saved as NAME.onnx beside
NAME.x.npy (an input batch) and NAME.y.npy (torch's output for it, in
evaluation mode). A few are then edited with the onnx package to reach
forms torch 1.13 does not write itself (opset 20's Gelu, float_data
instead of raw_data). The unsupported_*.onnx files are graphs libmlp must
refuse with MLP_ERR_UNSUPPORTED. tests/test_onnx.c reads them all; make
check needs no Python.

Run from the repository root:  /usr/bin/python3 tools/gen_onnx_fixtures.py
"""
import io
import os
import sys
import warnings

import numpy as np
import onnx
import onnx.helper
import onnx.numpy_helper
import torch
import torch.nn as nn

warnings.filterwarnings("ignore")
OUT = "tests/fixtures/onnx"


class MatMulAdd(nn.Module):
    """x @ W + b written out, so the exporter emits MatMul then Add."""

    def __init__(self, i, o):
        super().__init__()
        self.w = nn.Parameter(torch.randn(i, o) * 0.5)
        self.b = nn.Parameter(torch.randn(o) * 0.1)

    def forward(self, x):
        return torch.matmul(x, self.w) + self.b


class AddMM(nn.Module):
    """beta * b + alpha * (x @ W): Gemm with alpha, beta and transB = 0."""

    def __init__(self, i, o, alpha, beta):
        super().__init__()
        self.w = nn.Parameter(torch.randn(i, o) * 0.5)
        self.b = nn.Parameter(torch.randn(o) * 0.1)
        self.alpha, self.beta = alpha, beta

    def forward(self, x):
        return torch.addmm(self.b, x, self.w, beta=self.beta, alpha=self.alpha)


class Standardise(nn.Module):
    """(x - mean) / std with fixed statistics: Sub then Div."""

    def __init__(self, n):
        super().__init__()
        self.register_buffer("mean", torch.randn(n))
        self.register_buffer("std", torch.rand(n) + 0.5)

    def forward(self, x):
        return (x - self.mean) / self.std


class Residual(nn.Module):
    """x + f(x): not a chain."""

    def __init__(self, n):
        super().__init__()
        self.f = nn.Linear(n, n)

    def forward(self, x):
        return x + torch.relu(self.f(x))


def export(model, x, opset, **kw):
    f = io.BytesIO()
    model.eval()
    torch.onnx.export(model, x, f, opset_version=opset, input_names=["input"],
                      output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, **kw)
    return onnx.load_from_string(f.getvalue())


def save(name, proto, x, y):
    with open(os.path.join(OUT, name + ".onnx"), "wb") as f:
        f.write(proto.SerializeToString())
    if x is not None:
        np.save(os.path.join(OUT, name + ".x.npy"), x.detach().numpy().astype("<f4"))
        np.save(os.path.join(OUT, name + ".y.npy"), y.detach().numpy().astype("<f4"))
    ops = [n.op_type for n in proto.graph.node]
    print("%-28s opset %-2d %s" % (name, proto.opset_import[0].version, " ".join(ops)))


def case(name, model, in_shape, opset, edit=None, **kw):
    x = torch.randn(*in_shape) * 1.5
    proto = export(model, x, opset, **kw)
    model.eval()
    with torch.no_grad():
        y = model(x)
    if edit:
        proto = edit(proto)
    save(name, proto, x, y)


def to_float_data(proto):
    """Store every initializer in float_data instead of raw_data."""
    for t in proto.graph.initializer:
        a = onnx.numpy_helper.to_array(t).astype(np.float32)
        t.ClearField("raw_data")
        t.float_data.extend(a.ravel().tolist())
    return proto


def to_opset20_gelu(proto):
    """Replace torch 1.13's Erf pattern by opset 20's Gelu node."""
    g = proto.graph
    nodes = list(g.node)
    out = []
    i = 0
    while i < len(nodes):
        n = nodes[i]
        if n.op_type == "Div":
            # Div, Erf, (Constant), Add, Mul, (Constant), Mul
            run = [m for m in nodes[i:i + 8] if m.op_type != "Constant"][:5]
            assert [m.op_type for m in run] == ["Div", "Erf", "Add", "Mul", "Mul"], run
            out.append(onnx.helper.make_node("Gelu", [n.input[0]], [run[-1].output[0]],
                                             name=n.name.replace("Div", "Gelu")))
            last = nodes.index(run[-1])
            i = last + 1
            continue
        out.append(n)
        i += 1
    used = {s for n in out for s in n.input}
    out = [n for n in out if n.op_type != "Constant" or n.output[0] in used]
    del g.node[:]
    g.node.extend(out)
    proto.opset_import[0].version = 20
    proto.ir_version = 9
    return proto


def main():
    if not os.path.isdir(OUT):
        sys.exit("run from the repository root (no %s)" % OUT)
    torch.manual_seed(20261203)
    L = nn.Linear
    case("gemm_relu_o9", nn.Sequential(L(6, 8), nn.ReLU(), L(8, 3)), (5, 6), 9)
    case("sigmoid_tanh_o11_nofold",
         nn.Sequential(L(5, 7), nn.Sigmoid(), L(7, 4), nn.Tanh(), L(4, 2)), (5, 5), 11,
         do_constant_folding=False)
    case("float_data_o12", nn.Sequential(L(4, 6), nn.Tanh(), L(6, 3)), (5, 4), 12,
         edit=to_float_data)
    case("leaky_prelu_inputs_o13",
         nn.Sequential(L(5, 6), nn.LeakyReLU(0.2), L(6, 4), nn.PReLU(), L(4, 3)), (5, 5), 13,
         keep_initializers_as_inputs=True)
    prelu = nn.PReLU(6)
    with torch.no_grad():
        prelu.weight.copy_(torch.linspace(-0.5, 0.8, 6))
    case("prelu_features_o17", nn.Sequential(L(4, 6), prelu, L(6, 3)), (5, 4), 17)
    case("gelu_nofold_o13", nn.Sequential(L(4, 8), nn.GELU(), L(8, 3)), (5, 4), 13,
         do_constant_folding=False)
    case("gelu_o17", nn.Sequential(L(4, 8), nn.GELU(), L(8, 8), nn.GELU(), L(8, 2)), (5, 4), 17)
    case("gelu_opset20", nn.Sequential(L(4, 8), nn.GELU(), L(8, 3)), (5, 4), 17,
         edit=to_opset20_gelu)
    case("nobias_nofold_o13", nn.Sequential(L(5, 6, bias=False), nn.ReLU(), L(6, 3, bias=False)),
         (5, 5), 13, do_constant_folding=False)
    case("nobias_o9", nn.Sequential(L(5, 6, bias=False), nn.ReLU(), L(6, 3)), (5, 5), 9)
    case("matmul_add_o14", nn.Sequential(MatMulAdd(5, 6), nn.ReLU(), MatMulAdd(6, 2)), (5, 5),
         14)
    case("gemm_alpha_beta_o10", nn.Sequential(AddMM(4, 5, 2.0, 0.5), nn.ReLU(),
                                              AddMM(5, 3, 0.25, 3.0)), (5, 4), 10)
    case("softmax_head_o9", nn.Sequential(L(6, 8), nn.ReLU(), L(8, 4), nn.Softmax(dim=1)),
         (5, 6), 9)
    case("log_softmax_head_o17",
         nn.Sequential(L(6, 8), nn.Tanh(), L(8, 4), nn.LogSoftmax(dim=-1)), (5, 6), 17,
         keep_initializers_as_inputs=True, do_constant_folding=False)
    case("flatten_nchw_o11", nn.Sequential(nn.Flatten(), L(12, 5), nn.ReLU(), L(5, 3)),
         (5, 3, 2, 2), 11)
    case("dropout_train_o10", nn.Sequential(L(4, 6), nn.ReLU(), nn.Dropout(0.3), L(6, 3)),
         (5, 4), 10, training=torch.onnx.TrainingMode.TRAINING)
    case("dropout_train_o13", nn.Sequential(L(4, 6), nn.ReLU(), nn.Dropout(0.3), L(6, 3)),
         (5, 4), 13, training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False)
    case("standardise_o13", nn.Sequential(Standardise(4), L(4, 6), nn.ReLU(), L(6, 3)), (5, 4),
         13)
    # refused with MLP_ERR_UNSUPPORTED: an op outside the list, a graph that is not a chain
    x = torch.randn(2, 4)
    save("unsupported_elu", export(nn.Sequential(L(4, 5), nn.ELU(), L(5, 2)), x, 13), None, None)
    save("unsupported_residual", export(Residual(4), x, 13), None, None)

    corpus()


def corpus():
    """Seeds for the ONNX fuzz target (fuzz/corpus/onnx/): a few of the
    fixtures, and hostile files that are valid protobuf but claim more
    than they hold or ask for more work than they are worth."""
    root = "fuzz/corpus/onnx"
    os.makedirs(root, exist_ok=True)
    for name in ["gemm_relu_o9", "gelu_nofold_o13", "nobias_nofold_o13", "matmul_add_o14",
                 "dropout_train_o13", "flatten_nchw_o11", "float_data_o12",
                 "leaky_prelu_inputs_o13", "gelu_opset20", "unsupported_residual"]:
        with open(os.path.join(OUT, name + ".onnx"), "rb") as f:
            data = f.read()
        with open(os.path.join(root, name + ".onnx"), "wb") as f:
            f.write(data)
    h = onnx.helper
    T = onnx.TensorProto
    x = h.make_tensor_value_info("x", T.FLOAT, ["n", 4])
    y = h.make_tensor_value_info("y", T.FLOAT, ["n", 4])

    def put(name, nodes, inits, inputs=None, outputs=None, opset=13):
        g = h.make_graph(nodes, "g", inputs or [x], outputs or [y], inits)
        m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
        with open(os.path.join(root, name + ".onnx"), "wb") as f:
            f.write(m.SerializeToString())

    w = h.make_tensor("w", T.FLOAT, [4, 4], [0.5] * 16)
    # a weight claiming 2^40 x 4 values with 16 of data
    big = T()
    big.name = "w"
    big.data_type = T.FLOAT
    big.dims.extend([1 << 40, 4])
    big.raw_data = b"\0" * 64
    put("dims_lie", [h.make_node("MatMul", ["x", "w"], ["y"])], [big])
    # a thousand Transposes of one constant: each would copy it
    nodes = [h.make_node("Transpose", ["w"], ["t%d" % i]) for i in range(1000)]
    nodes.append(h.make_node("MatMul", ["x", "t999"], ["y"]))
    put("many_transposes", nodes, [w])
    # a long chain of activations
    nodes = [h.make_node("Relu", ["x" if i == 0 else "r%d" % (i - 1)], ["r%d" % i])
             for i in range(2000)]
    nodes.append(h.make_node("MatMul", ["r1999", "w"], ["y"]))
    put("long_chain", nodes, [w])
    # one weight shared by two layers
    put("shared_weight", [h.make_node("MatMul", ["x", "w"], ["h"]),
                          h.make_node("MatMul", ["h", "w"], ["y"])], [w])
    # a node reading a value nothing defines, and one that is written twice
    put("undefined_input", [h.make_node("MatMul", ["x", "nowhere"], ["y"])], [w])
    put("written_twice", [h.make_node("Relu", ["x"], ["y"]), h.make_node("Relu", ["x"], ["y"])],
        [])
    # an opset from before torch's exports, and double weights
    put("opset_5", [h.make_node("MatMul", ["x", "w"], ["y"])], [w], opset=5)
    wd = h.make_tensor("w", T.DOUBLE, [4, 4], [0.5] * 16)
    put("double_weight", [h.make_node("MatMul", ["x", "w"], ["y"])], [wd])


if __name__ == "__main__":
    main()
