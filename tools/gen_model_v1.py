#!/usr/bin/env python3
"""gen_model_v1.py - the expected outputs of the committed version-1 model
file, tests/fixtures/model_v1/small.mlp, for tests/test_io.c.

small.mlp was written by libmlp's format-1 writer (the library as of the
layer-kind table, before format 2), for the model test_io.c's
small_model() builds with mlp_ctx_seed(ctx, 7), its pReLU alpha set to
0.3: linear(3->4), tanh, dropout(0.5), linear(4->4), prelu, linear(4->2),
leaky_relu(0.01), in training mode. It stays as it is: it proves that
files of the first format still load.

This script reads the file with the layout of docs/format.md (version 1),
independently of libmlp, runs the model in evaluation mode on the five
rows of X below (test_io.c's X) in float64 with NumPy, and writes
small_x.npy and small_y.npy beside it (float32). Run from the repository
root: python3 tools/gen_model_v1.py
"""
import math
import os
import struct
import zlib

import numpy as np

DIR = os.path.join("tests", "fixtures", "model_v1")
X = np.array([[0.1, -0.2, 0.3], [1.0, 2.0, -3.0], [0.0, 0.0, 0.0], [-1.0, 0.5, 0.25],
              [4.0, -4.0, 0.01]], dtype=np.float32)
ACTS = {0: lambda x: x, 1: lambda x: np.maximum(x, 0), 2: lambda x: 1 / (1 + np.exp(-x)),
        3: np.tanh, 5: lambda x: x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))}


def main():
    b = open(os.path.join(DIR, "small.mlp"), "rb").read()
    assert b[:8] == b"MLPMODEL"
    version, flags, n = struct.unpack_from("<III", b, 8)
    assert version == 1 and struct.unpack_from("<I", b, len(b) - 4)[0] == zlib.crc32(b[:-4])
    off, layers = 20, []
    for _ in range(n):
        (kind,) = struct.unpack_from("<I", b, off)
        if kind == 0:
            i, o, hb = struct.unpack_from("<QQI", b, off + 4)
            layers.append(("linear", i, o, hb))
            off += 24
        elif kind == 1:
            act, param = struct.unpack_from("<If", b, off + 4)
            layers.append(("act", act, param))
            off += 12
        else:
            layers.append(("dropout",))
            off += 8
    h = X.astype(np.float64)
    for L in layers:
        if L[0] == "linear":
            _, i, o, hb = L
            w = np.frombuffer(b, "<f4", i * o, off).reshape(i, o).astype(np.float64)
            off += 4 * i * o
            h = h @ w
            if hb:
                h = h + np.frombuffer(b, "<f4", o, off)
                off += 4 * o
        elif L[0] == "act":
            _, act, param = L
            if act == 7:  # prelu, one alpha
                a = float(np.frombuffer(b, "<f4", 1, off)[0])
                off += 4
                h = np.where(h > 0, h, a * h)
            elif act == 4:
                h = np.where(h > 0, h, float(np.float32(param)) * h)
            else:
                h = ACTS[act](h)
    assert off == len(b) - 4
    np.save(os.path.join(DIR, "small_x.npy"), X)
    np.save(os.path.join(DIR, "small_y.npy"), h.astype("<f4"))
    print("flags %d, %d layers, outputs %s" % (flags, n, h.shape))


if __name__ == "__main__":
    main()
