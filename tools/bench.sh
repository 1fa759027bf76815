#!/bin/sh
# tools/bench.sh BENCHDIR - every benchmark, one line per figure (`make bench`):
# GEMM against the reference (and OpenBLAS when built with it), training
# epochs on Fashion-MNIST, single-sample inference latency, then the side
# by side comparison with PyTorch and FANN when python3 has torch.
set -e
dir=${1:-build/bench}
for b in gemm train infer; do
    if [ -x "$dir/$b" ]; then
        "$dir/$b"
    else
        echo "bench: $dir/$b not built" >&2
    fi
done
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
if $py -c "import torch" >/dev/null 2>&1; then
    build=$(dirname "$dir")
    make --no-print-directory BUILD="$build" bench-fann >/dev/null 2>&1 || true
    $py bench/compare.py "$dir" $COMPARE_ARGS
else
    echo "bench: python3 has no torch, PyTorch comparison skipped"
fi
