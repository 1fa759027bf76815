#!/bin/sh
# tests/check_examples.sh - runs every example program on small settings
# into a temporary folder and checks that each exits with 0 and that the
# SVG pictures it claims to write exist and parse as XML. Then compiles
# and runs every ```c block of docs/tutorial.md, so the tutorial cannot rot.
# fashion_mnist, infer and onnx_fashion run only when the data set is unpacked in
# .cache/fashion-mnist (`make data`).
# Environment (from the Makefile): BUILD (examples in $BUILD/examples),
# LIBA (the library archive), SAN (non-empty: sanitizer build), CC, and
# RUNNER (a command the programs run under, e.g. qemu-s390x; may be empty).
BUILD=${BUILD:-build}
LIBA=${LIBA:-lib/libmlp.a}
CC=${CC:-cc}
EX=$BUILD/examples
DATA=.cache/fashion-mnist
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mlp-examples.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0

fail() {
    echo "check_examples: FAIL: $*"
    fails=$((fails + 1))
}

# run NAME ARGS...: runs $EX/NAME, keeping its output in $tmp/NAME.log
run() {
    name=$1
    shift
    if [ ! -x "$EX/$name" ]; then
        fail "$EX/$name was not built"
        return 1
    fi
    if $RUNNER "$EX/$name" "$@" >"$tmp/$name.log" 2>&1; then
        echo "check_examples: $name ok ($(tail -n 1 "$tmp/$name.log"))"
        return 0
    fi
    fail "$name $* exited with $?:"
    sed 's/^/    /' "$tmp/$name.log" | tail -n 20
    return 1
}

# svg FILE: exists, non-empty, and (with python3) well-formed XML
svg() {
    if [ ! -s "$1" ]; then
        fail "missing picture $1"
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c "import xml.dom.minidom,sys; xml.dom.minidom.parse(sys.argv[1])" "$1" ||
            fail "$1 is not well-formed XML"
    fi
}

out=$tmp/out
run readme
run autograd_tour
run xor --out "$out" --steps 400 && svg "$out/xor_boundary.svg"
run activations --out "$out" && svg "$out/activations.svg"
run spiral --out "$out" --points 60 --epochs 30 && svg "$out/spiral.svg"

# Under an emulator the data examples train on 500 images, fashion_mnist
# with a hidden layer of 32 in batches of 50 (ten steps; 2000 images in
# batches of 256 make eight): the same code paths (under qemu-s390x the
# two took 84 and 57 s at 2000 images, 300-500 times their native time).
limit=2000
hidden=256
batch=256
[ -z "$RUNNER" ] || { limit=500; hidden=32; batch=50; }
if [ -f "$DATA/train-images-idx3-ubyte" ] && [ -f "$DATA/t10k-labels-idx1-ubyte" ]; then
    if run fashion_mnist --data "$DATA" --limit $limit --hidden $hidden --batch $batch --epochs 1 \
        --out "$out" --model "$out/fashion.mlp"; then
        svg "$out/fashion_curves.svg"
        [ -s "$out/fashion.mlp" ] || fail "fashion_mnist saved no model"
        run infer --data "$DATA" --model "$out/fashion.mlp" --count 4
    fi
    # ONNX: train briefly in C, save as ONNX, read it back and classify
    if run onnx_fashion train --out "$out/fashion.onnx" --data "$DATA" --limit $limit --epochs 1 \
        --count 200; then
        run onnx_fashion classify --model "$out/fashion.onnx" --data "$DATA" --count 200
    fi
else
    echo "check_examples: note: $DATA missing (run 'make data'): fashion_mnist and infer skipped"
fi

# the tutorial: every ```c block is a whole program; compile and run each
if [ -f docs/tutorial.md ]; then
    awk -v dir="$tmp" '
        /^```c[ \t]*$/ { n++; file = sprintf("%s/tutorial_%02d.c", dir, n); inblock = 1; next }
        /^```[ \t]*$/ { if (inblock) close(file); inblock = 0; next }
        inblock { print > file }
    ' docs/tutorial.md
    sanflags=
    [ -n "$SAN" ] && sanflags="-fsanitize=address,undefined -fno-sanitize-recover=all"
    count=0
    for src in "$tmp"/tutorial_*.c; do
        [ -f "$src" ] || continue
        count=$((count + 1))
        bin=${src%.c}
        # shellcheck disable=SC2086
        if ! $CC -std=c99 -pedantic -Wall -Wextra -Werror -g $sanflags -Iinclude "$src" "$LIBA" \
            -lpthread -lm -o "$bin" 2>"$bin.err"; then
            fail "docs/tutorial.md block $(basename "$src") does not compile:"
            sed 's/^/    /' "$bin.err" | head -n 20
        elif ! (cd "$tmp" && $RUNNER "$bin" >"$bin.log" 2>&1); then
            fail "docs/tutorial.md block $(basename "$src") exited with an error:"
            sed 's/^/    /' "$bin.log" | tail -n 20
        fi
    done
    echo "check_examples: docs/tutorial.md: $count programs compiled and run"
    [ "$count" -gt 0 ] || fail "docs/tutorial.md has no \`\`\`c blocks"
else
    fail "docs/tutorial.md is missing"
fi

[ "$fails" -eq 0 ] || { echo "check_examples: $fails failures"; exit 1; }
echo "check_examples: all examples ran"
