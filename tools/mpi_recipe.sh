#!/bin/sh
# tools/mpi_recipe.sh BUILD [--full] - the Fashion-MNIST recipe (784-256-10
# ReLU, SGD lr 0.1, global batch 256, seed 42) for 2 epochs, once as one
# process (fashion_mnist) and under MPI with 1, 2 and 4 ranks
# (fashion_mnist_mpi); each final test accuracy must be within 0.003 of
# the single-process one. Without --full on the first 4000 training and
# test images (make check); with --full on all of them (CI, .ci/run).
BUILD=${1:-build}
EX=$BUILD/examples
DATA=${DATA:-.cache/fashion-mnist}
limit="--limit 4000"
[ "$2" = --full ] && limit=""
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mlp-mpi-recipe.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
args="--data $DATA $limit --epochs 2 --batch 256 --lr 0.1 --seed 42 --out $tmp --model $tmp/f.mlp"

acc() { sed -n 's/^final test accuracy \([0-9.]*\)$/\1/p' "$1" | tail -n 1; }

"$EX/fashion_mnist" $args > "$tmp/one.log" 2>&1
ref=$(acc "$tmp/one.log")
[ -n "$ref" ] || { tail -n 20 "$tmp/one.log"; echo "mpi_recipe: one process failed"; exit 1; }
echo "mpi_recipe: one process: final test accuracy $ref"
status=0
for np in 1 2 4; do
    sh tools/mpirun.sh "$np" "$EX/fashion_mnist_mpi" $args > "$tmp/np$np.log" 2>&1
    a=$(acc "$tmp/np$np.log")
    if [ -z "$a" ]; then
        tail -n 20 "$tmp/np$np.log"
        echo "mpi_recipe: $np ranks: FAILED"
        status=1
    elif awk -v a="$a" -v r="$ref" 'BEGIN { d = a - r; if (d < 0) d = -d; exit !(d <= 0.003) }'; then
        echo "mpi_recipe: $np ranks: final test accuracy $a (within 0.003)"
    else
        echo "mpi_recipe: $np ranks: final test accuracy $a, more than 0.003 from $ref: FAILED"
        status=1
    fi
done
exit $status
