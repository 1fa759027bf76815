#!/usr/bin/python3
"""Train the chapter's Fashion-MNIST MLP in PyTorch and export it to ONNX,
for examples/onnx_fashion.c to classify the test images in C.

The model is D2L's: Flatten, Linear(784, 256), ReLU, Linear(256, 10),
trained with softmax cross-entropy, SGD lr 0.1, batch 256, 10 epochs. It
is exported with torch.onnx.export (opset 13, dynamic batch, input
[N, 1, 28, 28]). Writes OUT.onnx and OUT.accuracy (torch's test accuracy,
one number), and prints it.

Usage: /usr/bin/python3 tools/train_fashion_torch.py [--data .cache/fashion-mnist]
           [--out out/fashion_torch] [--epochs 10] [--seed 42]
(`make data` unpacks the data set first.)
"""
import argparse
import os
import struct
import warnings

import numpy as np
import torch
import torch.nn as nn

warnings.filterwarnings("ignore")


def idx(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=".cache/fashion-mnist")
    ap.add_argument("--out", default="out/fashion_torch")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    x = torch.tensor(idx(os.path.join(a.data, "train-images-idx3-ubyte")), dtype=torch.float32)
    x = x.div_(255).unsqueeze(1)
    y = torch.tensor(idx(os.path.join(a.data, "train-labels-idx1-ubyte")), dtype=torch.long)
    tx = torch.tensor(idx(os.path.join(a.data, "t10k-images-idx3-ubyte")), dtype=torch.float32)
    tx = tx.div_(255).unsqueeze(1)
    ty = torch.tensor(idx(os.path.join(a.data, "t10k-labels-idx1-ubyte")), dtype=torch.long)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(a.epochs):
        net.train()
        perm = torch.randperm(len(x))
        total = 0.0
        for i in range(0, len(x), 256):
            b = perm[i:i + 256]
            loss = loss_fn(net(x[b]), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
        net.eval()
        with torch.no_grad():
            acc = (net(tx).argmax(1) == ty).float().mean().item()
        print("epoch %2d  loss %.4f  test accuracy %.4f" % (epoch + 1, total / len(x), acc))
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    torch.onnx.export(net, tx[:1], a.out + ".onnx", opset_version=13, input_names=["image"],
                      output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    with open(a.out + ".accuracy", "w") as f:
        f.write("%.4f\n" % acc)
    print("torch test accuracy %.4f, model %s.onnx" % (acc, a.out))


if __name__ == "__main__":
    main()
