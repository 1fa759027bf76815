#!/bin/sh
# tools/onnx_demo.sh - Fashion-MNIST through ONNX both ways (docs/onnx.md):
#   1. PyTorch trains the chapter's 784-256-10 MLP and exports it to ONNX
#      (tools/train_fashion_torch.py); libmlp loads it and classifies the
#      10000 test images in C with the accuracy torch reported;
#   2. libmlp trains the same MLP in C and saves it as ONNX; ONNX Runtime
#      (tools/ort_run.js) classifies the test images with it and gets the
#      accuracy libmlp got.
# Needs `make data` and `make examples`; step 1 /usr/bin/python3 with
# torch, step 2 Node.js with onnxruntime-node (sh tools/deps.sh onnxrt).
# Usage: sh tools/onnx_demo.sh [BUILD/examples]
EX=${1:-build/examples}
DATA=${DATA:-.cache/fashion-mnist}
OUT=${OUT:-out}
set -e
[ -x "$EX/onnx_fashion" ] || { echo "onnx_demo: $EX/onnx_fashion is not built: make examples" >&2; exit 1; }
[ -f "$DATA/t10k-images-idx3-ubyte" ] || { echo "onnx_demo: $DATA is missing: make data" >&2; exit 1; }
mkdir -p "$OUT"

echo "== 1. PyTorch trains and exports; libmlp classifies in C"
/usr/bin/python3 tools/train_fashion_torch.py --data "$DATA" --out "$OUT/fashion_torch"
"$EX/onnx_fashion" classify --model "$OUT/fashion_torch.onnx" --data "$DATA" \
    --expect "$(cat "$OUT/fashion_torch.accuracy")"

echo
echo "== 2. libmlp trains in C and exports; ONNX Runtime classifies"
"$EX/onnx_fashion" train --out "$OUT/fashion_c.onnx" --data "$DATA" --epochs 10 \
    --test-npy "$OUT/fashion_test"
node tools/ort_run.js "$OUT/fashion_c.onnx" "$OUT/fashion_test.x.npy" \
    --labels "$OUT/fashion_test.labels.npy"
