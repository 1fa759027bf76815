#!/usr/bin/env python3
"""gen_parity.py - PyTorch reference fixtures for tests/test_parity.c.

Builds many seeded random cases in PyTorch (float32) and writes their inputs
and PyTorch's outputs as .npy files into tests/fixtures/parity/, plus a text
manifest (cases.txt) that tests/test_parity.c reads to know what to run:

  op <name> <op> <param> <nin> <rg> <gout> <accum>
      inputs <name>_x<i>.npy (i < nin); rg is a string of 0/1 saying which
      inputs require grad; expected output <name>_y.npy; if gout is 1 the
      output gradient is <name>_gout.npy (else backward gets NULL, meaning 1
      for a scalar); expected gradients <name>_g<i>.npy for each input that
      requires grad. accum 1: backward runs twice (retain_graph the first
      time) and the expected gradients are the accumulated sums.
  model <name> <loss> <optim> <lr> <momentum> <dampening> <nesterov> <wd>
        <beta1> <beta2> <eps> <amsgrad> <nlayers> <layer>...
      a sequential model; each layer is L:<in>:<out> (linear) or A:<act>
      (mlp_act value). Data <name>_x.npy, targets <name>_t.npy; parameter i
      (libmlp order and layout: W [in,out], b [out], pReLU alpha [1]) in
      <name>_p<i>.npy, shape [STEPS+1, numel]: row 0 the initial values,
      row k the values after optimizer step k; <name>_loss.npy [STEPS] the
      loss computed before each step.
  net <name> <same fields as model> <nlayers> <layer>...
      a model case with the other layer kinds too: N:<in>:<out> (linear
      without bias), K:<slope> (leaky ReLU with that slope), P:<n> (pReLU
      with n alphas), S (softmax head), T (log-softmax head), Z:<n>
      (standardisation, mean and std in <name>_zmean.npy, <name>_zstd.npy).
      Also <name>_y.npy, the model's full output on x before training, and
      <name>_gx.npy, the gradient of the first loss with respect to x.
      Cross-entropy on a model ending in S or T is computed on the logits
      before that head (libmlp's rule for mlp_fit; mlp_model_forward_logits).

Regenerate (from the repository root; the output is deterministic for a
given PyTorch version, this set was made with torch 1.13 on CPU):

    python3 tools/gen_parity.py

The manifest and all files are rewritten; stale files are removed first.
"""
import os
import random
import shutil

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join("tests", "fixtures", "parity")
STEPS = 5

# mlp_act values (include/mlp.h)
ACT_RELU, ACT_SIGMOID, ACT_TANH, ACT_LEAKY, ACT_GELU, ACT_STEP, ACT_PRELU = 1, 2, 3, 4, 5, 6, 7
# mlp_optim_kind / mlp_loss_kind values
OPT_SGD, OPT_ADAM, OPT_ADAMW = 0, 1, 2
LOSS_CE, LOSS_MSE, LOSS_BCE = 0, 1, 2

rng = random.Random(20240611)
torch.manual_seed(20240611)
manifest = []


def save(name, t):
    a = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    np.save(os.path.join(OUT, name + ".npy"), np.array(a, dtype="<f4", order="C"))


def randn(shape, scale=1.0, edge=False, big=False):
    """Random normal values; edge puts exact zeros in, big puts +-50 in."""
    x = torch.randn(tuple(shape)) * scale
    flat = x.view(-1)
    n = flat.numel()
    if edge and n:
        for _ in range(max(1, n // 4)):
            flat[rng.randrange(n)] = 0.0
    if big and n:
        for _ in range(max(1, n // 3)):
            flat[rng.randrange(n)] = rng.choice([-50.0, 50.0, -49.5, 48.25])
    return x


def dim():
    return rng.randint(1, 17)


# ---------------------------------------------------------------- op cases

def op_case(op, inputs, rg, fn, param=0.0, accum=None, gout=None):
    """Record one op case: forward fn(*inputs) in torch, backward with a
    random output gradient for non-scalar outputs, optionally twice."""
    name = "op%03d_%s" % (len([m for m in manifest if m.startswith("op ")]), op)
    leaves = []
    for x, r in zip(inputs, rg):
        t = x.clone().detach()
        if r:
            t.requires_grad_(True)
        leaves.append(t)
    y = fn(*leaves)
    if accum is None:
        accum = rng.random() < 0.2
    if gout is None:
        gout = y.dim() > 0 or rng.random() < 0.5
    g = torch.randn(tuple(y.shape)) if gout else None
    if any(rg):
        y.backward(g, retain_graph=bool(accum))
        if accum:
            y.backward(g)
    for i, t in enumerate(inputs):
        save("%s_x%d" % (name, i), t)
    save(name + "_y", y)
    if gout:
        save(name + "_gout", g)
    for i, t in enumerate(leaves):
        if rg[i]:
            save("%s_g%d" % (name, i), t.grad if t.grad is not None else torch.zeros_like(t))
    manifest.append("op %s %s %.9g %d %s %d %d" % (name, op, param, len(inputs),
                                                   "".join(str(int(r)) for r in rg), int(gout),
                                                   int(accum)))


def gen_ops():
    # matmul: 2-D x 2-D, vector forms, and some sizes past a GEMM tile
    for _ in range(8):
        m, k, n = dim(), dim(), dim()
        op_case("matmul", [randn([m, k]), randn([k, n])], [1, 1], torch.matmul)
    for m, k, n in [(70, 130, 33), (1, 257, 5), (33, 1, 65)]:
        op_case("matmul", [randn([m, k]), randn([k, n])], [1, 1], torch.matmul)
    for _ in range(2):
        k, n = dim(), dim()
        op_case("matmul", [randn([k]), randn([k, n])], [1, 1], torch.matmul)
        op_case("matmul", [randn([n, k]), randn([k])], [1, 1], torch.matmul)
        op_case("matmul", [randn([k]), randn([k])], [1, 1], torch.matmul)
    m, k, n = dim(), dim(), dim()
    op_case("matmul", [randn([m, k]), randn([k, n])], [0, 1], torch.matmul)
    op_case("matmul", [randn([m, k]), randn([k, n])], [1, 0], torch.matmul)

    # linear: x [n,in] . w [in,out] + b [out], with and without bias, 1-D x
    for _ in range(5):
        n, i, o = dim(), dim(), dim()
        op_case("linear", [randn([n, i]), randn([i, o]), randn([o])], [1, 1, 1],
                lambda x, w, b: x @ w + b)
    n, i, o = dim(), dim(), dim()
    op_case("linear", [randn([n, i]), randn([i, o])], [1, 1], lambda x, w: x @ w)
    op_case("linear", [randn([i]), randn([i, o]), randn([o])], [1, 1, 1],
            lambda x, w, b: x @ w + b)
    op_case("linear", [randn([n, i]), randn([i, o]), randn([o])], [0, 1, 1],
            lambda x, w, b: x @ w + b)

    # add / sub / mul with each broadcasting form
    fns = {"add": torch.add, "sub": torch.sub, "mul": torch.mul}
    for op, f in fns.items():
        r, c = dim(), dim()
        forms = [[r, c], [c], [1, c], [1], [], [1, 1]]
        for bs in forms:
            op_case(op, [randn([r, c]), randn(bs)], [1, 1], f)
        op_case(op, [randn([2, 3, c]), randn([c])], [1, 1], f)
        op_case(op, [randn([c]), randn([c])], [1, 1], f)
        op_case(op, [randn([c]), randn([1, c])], [1, 1], f)
        op_case(op, [randn([r, c]), randn([c])], [1, 0], f)

    for _ in range(3):
        s = rng.choice([-2.5, 0.0, 0.5, 3.0])
        op_case("scale", [randn([dim(), dim()])], [1], lambda x, s=s: x * s, param=s)
    for shape in ([dim()], [dim(), dim()], [2, dim(), 3], [1, 2, 3, 4]):
        op_case("sum", [randn(shape)], [1], torch.sum)
        op_case("mean", [randn(shape)], [1], torch.mean)
    op_case("reshape", [randn([6, 4])], [1], lambda x: x.reshape(3, 8))
    op_case("reshape", [randn([2, 3, 4])], [1], lambda x: x.reshape(24))
    op_case("reshape", [randn([5])], [1], lambda x: x.reshape(1, 5, 1))
    for _ in range(2):
        op_case("transpose", [randn([dim(), dim()])], [1], lambda x: x.t())

    # activations, with exact zeros and large magnitudes
    for shape in ([dim(), dim()], [dim()], [2, 3, dim()]):
        op_case("relu", [randn(shape, edge=True)], [1], torch.relu)
        op_case("sigmoid", [randn(shape, 3.0, big=True)], [1], torch.sigmoid)
        op_case("tanh", [randn(shape, 3.0, big=True)], [1], torch.tanh)
        op_case("gelu", [randn(shape, 3.0, edge=True)], [1], F.gelu)
        # the 0/1 step has a zero gradient everywhere: (x > 0) + 0 x
        op_case("step", [randn(shape, edge=True)], [1], lambda x: (x > 0).float() + 0.0 * x)
        op_case("identity", [randn(shape)], [1], lambda x: x * 1.0)
    op_case("gelu", [randn([20], 4.0, big=True)], [1], F.gelu)
    for slope in (0.01, 0.2, 0.0, -0.5, 1.5):
        op_case("leaky_relu", [randn([dim(), dim()], edge=True)], [1],
                lambda x, s=slope: F.leaky_relu(x, s), param=slope)
    for _ in range(3):
        r, c = dim(), dim()
        op_case("prelu", [randn([r, c], edge=True), torch.rand(1) * 0.5], [1, 1],
                lambda x, a: torch.where(x > 0, x, a * x))
        op_case("prelu", [randn([r, c], edge=True), torch.rand(c) - 0.25], [1, 1],
                lambda x, a: torch.where(x > 0, x, a * x))
    # PyTorch's own F.prelu, channel dim 1 == last dim for 2-D input
    r, c = dim(), dim()
    op_case("prelu", [randn([r, c], edge=True), torch.rand(c)], [1, 1], F.prelu)
    op_case("prelu", [randn([r, c], edge=True), torch.rand(1)], [1, 1], F.prelu)

    for shape in ([dim(), dim()], [dim()], [2, 3, dim()], [dim(), 1]):
        op_case("softmax", [randn(shape, 2.0, big=True)], [1], lambda x: torch.softmax(x, -1))
        op_case("log_softmax", [randn(shape, 2.0, big=True)], [1],
                lambda x: torch.log_softmax(x, -1))
    op_case("softmax", [randn([4, 9], 30.0)], [1], lambda x: torch.softmax(x, -1))
    op_case("log_softmax", [randn([4, 9], 30.0)], [1], lambda x: torch.log_softmax(x, -1))

    # losses, reduction mean
    for _ in range(4):
        shape = rng.choice([[dim(), dim()], [dim()]])
        op_case("mse", [randn(shape), randn(shape)], [1, 1], F.mse_loss)
    op_case("mse", [randn([4, 3]), randn([4, 3])], [1, 0], F.mse_loss)
    for big in (False, False, False, True, True):
        n, k = dim(), rng.randint(2, 17)
        lab = torch.tensor([rng.randrange(k) for _ in range(n)], dtype=torch.float32)
        op_case("cross_entropy", [randn([n, k], 2.0, big=big), lab], [1, 0],
                lambda x, y: F.cross_entropy(x, y.long()))
    k = rng.randint(2, 9)
    op_case("cross_entropy", [randn([k], 3.0), torch.tensor([float(rng.randrange(k))])], [1, 0],
            lambda x, y: F.cross_entropy(x.unsqueeze(0), y.long()))
    for big in (False, False, True, True):
        shape = rng.choice([[dim(), dim()], [dim()]])
        tgt = torch.rand(*shape)
        if rng.random() < 0.5:
            tgt = (tgt > 0.5).float()
        op_case("bce_with_logits", [randn(shape, 2.0, big=big, edge=True), tgt], [1, 1],
                F.binary_cross_entropy_with_logits)

    # edge shapes and values: 0-d scalars, empty tensors, -inf / +-inf
    # inputs, one class, 4-D
    op_case("relu", [randn([])], [1], torch.relu)
    op_case("add", [randn([]), randn([])], [1, 1], torch.add)
    op_case("mul", [randn([]), randn([1])], [1, 1], torch.mul)
    op_case("sub", [randn([3, 4]), randn([])], [1, 1], torch.sub)
    op_case("sum", [randn([])], [1], torch.sum)
    op_case("mean", [randn([])], [1], torch.mean)
    op_case("reshape", [randn([1])], [1], lambda x: x.reshape(()))
    op_case("reshape", [randn([])], [1], lambda x: x.reshape(1, 1))
    op_case("matmul", [randn([3, 0]), randn([0, 4])], [1, 1], torch.matmul)
    op_case("matmul", [randn([0, 3]), randn([3, 2])], [1, 1], torch.matmul)
    op_case("sum", [randn([0, 3])], [1], torch.sum)
    op_case("mean", [randn([0])], [1], torch.mean)
    op_case("relu", [randn([0, 5])], [1], torch.relu)
    op_case("softmax", [randn([0, 5])], [1], lambda x: torch.softmax(x, -1))
    inf = float("inf")
    xs = randn([3, 6])
    xs[0, 1] = -inf
    xs[1, 0] = -inf
    xs[1, 5] = -inf
    op_case("softmax", [xs], [1], lambda x: torch.softmax(x, -1))
    op_case("log_softmax", [xs], [1], lambda x: torch.log_softmax(x, -1))
    xi = randn([2, 5], 3.0)
    xi[0, 0], xi[1, 3] = inf, -inf
    op_case("sigmoid", [xi], [1], torch.sigmoid)
    op_case("tanh", [xi], [1], torch.tanh)
    op_case("relu", [xi], [1], torch.relu)
    xn = randn([2, 4])
    xn[0, 1], xn[1, 3] = float("nan"), float("nan")
    for op, f in (("relu", torch.relu), ("sigmoid", torch.sigmoid), ("tanh", torch.tanh),
                  ("gelu", F.gelu), ("leaky_relu", lambda x: F.leaky_relu(x, 0.01))):
        op_case(op, [xn], [1], f, param=0.01 if op == "leaky_relu" else 0.0)
    op_case("softmax", [xn], [1], lambda x: torch.softmax(x, -1))
    op_case("cross_entropy", [randn([4, 1]), torch.zeros(4)], [1, 0],
            lambda x, y: F.cross_entropy(x, y.long()))
    op_case("bce_with_logits", [torch.tensor([[-100.0, 100.0, 0.0], [30.0, -30.0, 1e-3]]),
                                torch.tensor([[1.0, 0.0, 0.5], [0.0, 1.0, 0.25]])], [1, 1],
            F.binary_cross_entropy_with_logits)
    op_case("softmax", [randn([2, 2, 2, 5], 2.0)], [1], lambda x: torch.softmax(x, -1))
    op_case("mul", [randn([2, 2, 3, 4]), randn([4])], [1, 1], torch.mul)
    op_case("sum", [randn([2, 2, 3, 4])], [1], torch.sum)

    # chains: gradient through several ops at once, accumulated twice
    r, i, o = dim(), dim(), dim()
    op_case("chain_mlp", [randn([r, i]), randn([i, o]), randn([o])], [1, 1, 1],
            lambda x, w, b: torch.tanh(torch.relu(x @ w + b) * 0.5).sum(), accum=True)


# ------------------------------------------------------------- model cases

def torch_act(a):
    return {ACT_RELU: torch.nn.ReLU(), ACT_SIGMOID: torch.nn.Sigmoid(), ACT_TANH: torch.nn.Tanh(),
            ACT_LEAKY: torch.nn.LeakyReLU(0.01), ACT_GELU: torch.nn.GELU(),
            ACT_PRELU: torch.nn.PReLU()}[a]


OPTIMS = [
    # name, kind, lr, momentum, dampening, nesterov, wd, beta1, beta2, eps, amsgrad
    ("sgd", OPT_SGD, 0.1, 0.0, 0.0, 0, 0.0, 0, 0, 0, 0),
    ("sgd_mom_damp", OPT_SGD, 0.05, 0.9, 0.3, 0, 0.0, 0, 0, 0, 0),
    ("sgd_nesterov", OPT_SGD, 0.07, 0.8, 0.0, 1, 0.0, 0, 0, 0, 0),
    ("sgd_wd", OPT_SGD, 0.2, 0.5, 0.0, 0, 0.05, 0, 0, 0, 0),
    ("adam", OPT_ADAM, 0.01, 0, 0, 0, 0.0, 0.9, 0.999, 1e-8, 0),
    ("adam_wd", OPT_ADAM, 0.003, 0, 0, 0, 0.1, 0.8, 0.99, 1e-6, 0),
    ("adam_amsgrad", OPT_ADAM, 0.02, 0, 0, 0, 0.0, 0.85, 0.95, 1e-7, 1),
    ("adamw", OPT_ADAMW, 0.01, 0, 0, 0, 0.05, 0.9, 0.98, 1e-8, 0),
    ("adamw_amsgrad", OPT_ADAMW, 0.005, 0, 0, 0, 0.01, 0.95, 0.999, 1e-5, 1),
]


def make_optim(params, o):
    _, kind, lr, mom, damp, nest, wd, b1, b2, eps, ams = o
    if kind == OPT_SGD:
        return torch.optim.SGD(params, lr=lr, momentum=mom, dampening=damp, nesterov=bool(nest),
                               weight_decay=wd)
    cls = torch.optim.Adam if kind == OPT_ADAM else torch.optim.AdamW
    return cls(params, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, amsgrad=bool(ams))


def train_and_record(what, name, net, step_loss, x, t, o, loss, spec):
    """Train net STEPS steps with optimizer o on step_loss(); save x, t,
    each parameter's history (libmlp's layout) and the losses, and add the
    manifest line."""
    params = list(net.parameters())

    def flat(p):  # libmlp layout: linear weights are [in,out]
        return (p.t() if p.dim() == 2 else p).reshape(-1).detach().clone()

    hist = [[flat(p)] for p in params]
    opt = make_optim(params, o)
    losses_seen = []
    for _ in range(STEPS):
        lv = step_loss()
        opt.zero_grad()
        lv.backward()
        opt.step()
        losses_seen.append(lv.item())
        for h, p in zip(hist, params):
            h.append(flat(p))
    save(name + "_x", x)
    save(name + "_t", t)
    for i, h in enumerate(hist):
        save("%s_p%d" % (name, i), torch.stack(h))
    save(name + "_loss", torch.tensor(losses_seen))
    _, kind, lr, mom, damp, nest, wd, b1, b2, eps, ams = o
    manifest.append("%s %s %d %d %.9g %.9g %.9g %d %.9g %.9g %.9g %.9g %d %d %s" % (
        what, name, loss, kind, lr, mom, damp, nest, wd, b1, b2, eps, ams, len(spec),
        " ".join(spec)))


def gen_models(rounds):
    acts = [ACT_RELU, ACT_SIGMOID, ACT_TANH, ACT_LEAKY, ACT_GELU, ACT_PRELU]
    losses = [LOSS_CE, LOSS_MSE, LOSS_BCE]
    idx = 0
    for rnd in range(rounds):
        for o in OPTIMS:
            depth = rng.randint(1, 3)
            widths = [dim() for _ in range(depth + 1)]
            loss = losses[(idx + rnd) % 3]
            if loss == LOSS_CE and widths[-1] < 2:
                widths[-1] = rng.randint(2, 9)
            layers, spec = [], []
            for d in range(depth):
                lin = torch.nn.Linear(widths[d], widths[d + 1])
                layers.append(lin)
                spec.append("L:%d:%d" % (widths[d], widths[d + 1]))
                if d < depth - 1:
                    a = rng.choice(acts)
                    layers.append(torch_act(a))
                    spec.append("A:%d" % a)
            net = torch.nn.Sequential(*layers)
            with torch.no_grad():
                for mod in net:
                    if isinstance(mod, torch.nn.PReLU):
                        mod.weight.fill_(rng.uniform(0.05, 0.4))
            n = rng.randint(1, 9)
            one = rng.random() < 0.15  # one sample as a 1-D x [in]
            rows = () if one else (n,)
            x = torch.randn(rows + (widths[0],))
            if loss == LOSS_CE:
                t = torch.tensor([float(rng.randrange(widths[-1])) for _ in range(1 if one else n)])
                if one:  # libmlp: logits [k] with labels [1]; torch: a 0-d target
                    lossfn = lambda out, t: F.cross_entropy(out, t[0].long())
                else:
                    lossfn = lambda out, t: F.cross_entropy(out, t.long())
            elif loss == LOSS_MSE:
                t = torch.randn(rows + (widths[-1],))
                lossfn = F.mse_loss
            else:
                t = (torch.rand(rows + (widths[-1],)) > 0.5).float()
                lossfn = F.binary_cross_entropy_with_logits
            name = "model%02d_%s" % (idx, o[0])
            train_and_record("model", name, net, lambda: lossfn(net(x), t), x, t, o, loss, spec)
            idx += 1


class Standardize(torch.nn.Module):
    """y = (x - mean) / std with fixed per-feature statistics."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x):
        return (x - self.mean) / self.std


def gen_nets():
    """Models with every other layer kind, trained a few steps; the spec
    tokens are described in the docstring. Each entry: loss, then layers
    as (token, width) templates filled with random sizes."""
    stacks = [
        (LOSS_MSE, ["Z", "L", "K:0.2", "N"]),
        (LOSS_CE, ["L", "P:w", "L", "S"]),
        (LOSS_CE, ["N", "P:1", "L", "T"]),
        (LOSS_BCE, ["Z", "L", "A:%d" % ACT_GELU, "L", "K:-0.3"]),
        (LOSS_MSE, ["L", "K:1.5", "P:w", "L", "S"]),
        (LOSS_CE, ["Z", "P:w", "N", "T"]),
        (LOSS_CE, ["Z", "L", "A:%d" % ACT_TANH, "N", "S"]),
        (LOSS_MSE, ["N", "P:w", "N", "T"]),
    ]
    for idx, (loss, stack) in enumerate(stacks):
        o = OPTIMS[(idx * 4) % len(OPTIMS)]
        width = dim()
        in0 = width
        layers, spec, zstats = [], [], None
        nlin = sum(1 for t in stack if t in ("L", "N"))
        seen = 0
        for tok in stack:
            if tok in ("L", "N"):
                seen += 1
                out = dim()
                if seen == nlin and loss == LOSS_CE and out < 2:
                    out = rng.randint(2, 9)
                layers.append(torch.nn.Linear(width, out, bias=(tok == "L")))
                spec.append("%s:%d:%d" % (tok, width, out))
                width = out
            elif tok == "Z":
                mean = torch.randn(width) * 2.0
                std = torch.rand(width) * 3.0 + 0.2
                zstats = (mean, std)
                layers.append(Standardize(mean, std))
                spec.append("Z:%d" % width)
            elif tok.startswith("K:"):
                slope = float(tok[2:])
                layers.append(torch.nn.LeakyReLU(slope))
                spec.append("K:%.9g" % slope)
            elif tok.startswith("P:"):
                n = width if tok == "P:w" else 1
                pr = torch.nn.PReLU(n)
                with torch.no_grad():
                    pr.weight.copy_(torch.rand(n) * 0.5 - 0.1)
                layers.append(pr)
                spec.append("P:%d" % n)
            elif tok.startswith("A:"):
                layers.append(torch_act(int(tok[2:])))
                spec.append(tok)
            elif tok == "S":
                layers.append(torch.nn.Softmax(dim=-1))
                spec.append("S")
            else:
                layers.append(torch.nn.LogSoftmax(dim=-1))
                spec.append("T")
        net = torch.nn.Sequential(*layers)
        head = stack[-1] in ("S", "T")
        n = rng.randint(1, 9)
        x = torch.randn(n, in0) * 2.0 + 0.5
        if loss == LOSS_CE:
            t = torch.tensor([float(rng.randrange(width)) for _ in range(n)])
            body = net[:-1] if head else net
            lossfn = lambda x, t, body=body: F.cross_entropy(body(x), t.long())
        elif loss == LOSS_MSE:
            t = torch.rand(n, width)
            lossfn = lambda x, t: F.mse_loss(net(x), t)
        else:
            t = (torch.rand(n, width) > 0.5).float()
            lossfn = lambda x, t: F.binary_cross_entropy_with_logits(net(x), t)
        name = "net%02d_%s" % (idx, o[0])
        with torch.no_grad():
            save(name + "_y", net(x))
        xg = x.clone().requires_grad_(True)
        gx = torch.autograd.grad(lossfn(xg, t), xg)[0]
        save(name + "_gx", gx)
        if zstats:
            save(name + "_zmean", zstats[0])
            save(name + "_zstd", zstats[1])
        train_and_record("net", name, net, lambda: lossfn(x, t), x, t, o, loss, spec)


def check_torch_raises():
    """The error cases tests/test_parity.c checks libmlp refuses: make sure
    PyTorch refuses each of them too."""
    def raises(f):
        try:
            f()
        except (RuntimeError, ValueError, IndexError):
            return True
        return False
    a = torch.randn(2, 3, requires_grad=True)
    assert raises(lambda: a @ torch.randn(4, 5))
    assert raises(lambda: a + torch.randn(4))
    assert raises(lambda: F.cross_entropy(a, torch.tensor([0, 3])))
    y = (a * 2).sum()
    y.backward()
    assert raises(lambda: y.backward())
    assert raises(lambda: (a * 2).backward())
    assert raises(lambda: torch.optim.SGD([a], lr=0.1, momentum=0.0, nesterov=True))
    assert raises(lambda: torch.optim.SGD([a], lr=0.1, momentum=0.9, dampening=0.1,
                                          nesterov=True))


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    check_torch_raises()
    gen_ops()
    gen_models(3)
    gen_nets()
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("# made by tools/gen_parity.py; see its docstring for the format\n")
        f.write("\n".join(manifest) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print("%d cases, %d files, %d bytes in %s" % (len(manifest), len(os.listdir(OUT)), total, OUT))


if __name__ == "__main__":
    main()
