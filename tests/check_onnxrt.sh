#!/bin/sh
# check_onnxrt.sh - ONNX Runtime, the engine ONNX models are deployed with,
# runs what libmlp wrote and gives libmlp's outputs (1e-5 absolute + 1e-4
# relative): every $BUILD/onnx-export/NAME.onnx that tests/test_onnx.c left
# with its input and libmlp's output. The PyTorch fixtures run too, against
# torch's outputs. Needs Node.js and onnxruntime-node (tools/deps.sh onnxrt
# installs them into .cache/npm); without them it says so in one line and
# passes. Run from the repository root after the tests.
exports="${BUILD:-build}/onnx-export"
if ! command -v node >/dev/null 2>&1 ||
    ! node -e "try { require('./.cache/npm/node_modules/onnxruntime-node') } catch (e) { require('onnxruntime-node') }" >/dev/null 2>&1; then
    echo "check_onnxrt: skipped: Node.js with onnxruntime-node not found (sh tools/deps.sh onnxrt)"
    exit 0
fi
if [ ! -d "$exports" ]; then
    echo "check_onnxrt: $exports is missing: run the tests first (make check)"
    exit 1
fi
node tools/ort_run.js --check "$exports" tests/fixtures/onnx
