#!/bin/sh
# tests/check_mpi.sh - data-parallel training over MPI (docs/distributed.md):
# mpi/tests/test_mpi.c under mpirun with 1, 2 and 4 ranks (parameters after
# several steps equal the single-process run's, a failing rank fails every
# rank), the kill-and-resume test (tests/test_resume.c) on fashion_mnist_mpi
# at 1, 2 and 4 ranks (the whole job SIGKILLed at random moments and
# resumed from rank 0's checkpoint ends bit-identical; SIGINT and SIGTERM to
# mpirun stop every rank with a checkpoint), a checkpoint of 2 ranks
# resumed on 4, then the 2-epoch Fashion-MNIST recipe on 4000 images at 1,
# 2 and 4 ranks against one process (tools/mpi_recipe.sh; with
# MPI_RECIPE=--full, as `make check-mpi` in CI, the whole recipe). Skipped with one line where MPI is not installed, and in the
# sanitizer pass (MPI's own allocations are not ours to check).
BUILD=${BUILD:-build}
[ -z "$SAN" ] || { echo "check_mpi: runs in the plain build only"; exit 0; }
if ! command -v mpicc >/dev/null 2>&1 || ! command -v mpirun >/dev/null 2>&1; then
    echo "check_mpi: MPI not installed (sh tools/deps.sh mpi installs it): skipped"
    exit 0
fi
for f in "$BUILD/mpi/test_mpi" "$BUILD/examples/fashion_mnist_mpi" "$BUILD/tests/test_resume"; do
    [ -x "$f" ] || { echo "check_mpi: $f not built (make with mpicc on PATH)"; exit 1; }
done
status=0
# libmlp_mpi.a is linked into other people's programs too: mlp_mpi_ names only
lib=$(dirname "${LIBA:-lib/libmlp.a}")/libmlp_mpi.a
bad=$(nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' | grep -v '^mlp_mpi_' | sort -u)
if [ -n "$bad" ]; then
    echo "check_mpi: global symbols of $lib without the mlp_mpi_ prefix:" $bad
    status=1
fi
for np in 1 2 4; do
    if out=$(sh tools/mpirun.sh "$np" "$BUILD/mpi/test_mpi" 2>&1); then
        echo "check_mpi: test_mpi on $np rank(s): $(printf '%s\n' "$out" | grep -c '^\[  PASSED  \]') of $np ranks passed"
    else
        printf '%s\n' "$out" | grep -v '^\[       OK \]\|^\[ RUN ' | tail -n 40
        echo "check_mpi: test_mpi on $np rank(s): FAILED"
        status=1
    fi
done
# killed and resumed under mpirun; mpirun gives the ranks 3 s after passing
# SIGINT or SIGTERM on (1 s by default) to finish the step and write
for np in 1 2 4; do
    if out=$(BUILD=$BUILD RUNNER="sh tools/mpirun.sh $np" MLP_RESUME_EXAMPLE=fashion_mnist_mpi \
        OMPI_MCA_odls_base_sigkill_timeout=3 MPI_TIMEOUT=100 "$BUILD/tests/test_resume" 2>&1); then
        echo "check_mpi: killed and resumed on $np rank(s), bit-identical:" \
            "$(printf '%s\n' "$out" | sed -n 's/^resume: //p')"
    else
        printf '%s\n' "$out" | tail -n 40
        echo "check_mpi: kill-and-resume on $np rank(s): FAILED"
        status=1
    fi
done
# installed, a program out of the tree builds with pkg-config and runs on 2 ranks
# (linked to the installed shared libmlp: its folder on LD_LIBRARY_PATH)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mlp-mpi-pc.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
cat > "$tmp/app.c" <<'APP'
#include <stdio.h>
#include <mlp_mpi.h>
int main(int argc, char **argv)
{
    mlp_ctx *ctx;
    mlp_comm *comm;
    float x = 1;
    int ok;
    MPI_Init(&argc, &argv);
    ctx = mlp_ctx_new(NULL);
    comm = mlp_mpi_comm_new(ctx, MPI_COMM_WORLD);
    ok = comm && mlp_comm_allreduce(comm, &x, 1) == MLP_OK && x == (float)mlp_comm_size(comm);
    if (mlp_comm_rank(comm) == 0)
        printf("libmlp_mpi: sum over %d ranks %s\n", mlp_comm_size(comm), ok ? "ok" : "broken");
    mlp_comm_free(comm);
    mlp_ctx_free(ctx);
    MPI_Finalize();
    return ok ? 0 : 1;
}
APP
if make -s install PREFIX="$tmp/prefix" >/dev/null &&
    PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" && export PKG_CONFIG_PATH &&
    cc -std=c99 -pedantic -Wall -Werror "$tmp/app.c" $(pkg-config --cflags --libs mlp-mpi) \
        -o "$tmp/app" && LD_LIBRARY_PATH="$tmp/prefix/lib" sh tools/mpirun.sh 2 "$tmp/app" &&
    make -s uninstall PREFIX="$tmp/prefix" >/dev/null && [ ! -e "$tmp/prefix/include/mlp_mpi.h" ]; then
    echo "check_mpi: mlp-mpi installed, built out of tree with pkg-config, ran, uninstalled"
else
    echo "check_mpi: the installed mlp-mpi package: FAILED"
    status=1
fi
# a checkpoint holds nothing of a rank: one written by 2 ranks resumes on 4
# (the same batches in the same order; the sums in another order)
if [ -f .cache/fashion-mnist/train-images-idx3-ubyte ]; then
    ex="$BUILD/examples/fashion_mnist_mpi"
    a="--limit 1000 --hidden 32 --batch 100 --seed 7 --out $tmp/rc --model $tmp/rc.mlp --checkpoint $tmp/rc.ckpt"
    # shellcheck disable=SC2086
    if sh tools/mpirun.sh 2 "$ex" $a --epochs 1 > "$tmp/rc2.log" 2>&1 &&
        sh tools/mpirun.sh 4 "$ex" $a --epochs 2 --resume "$tmp/rc.ckpt" > "$tmp/rc4.log" 2>&1 &&
        grep -q "^resumed from $tmp/rc.ckpt: epoch 2, batch 1" "$tmp/rc4.log" &&
        grep -q "^final test accuracy" "$tmp/rc4.log"; then
        echo "check_mpi: a checkpoint of 2 ranks resumed on 4: $(grep '^final test' "$tmp/rc4.log")"
    else
        tail -n 20 "$tmp/rc2.log" "$tmp/rc4.log"
        echo "check_mpi: a checkpoint of 2 ranks resumed on 4: FAILED"
        status=1
    fi
fi
if [ -f .cache/fashion-mnist/train-images-idx3-ubyte ]; then
    sh tools/mpi_recipe.sh "$BUILD" $MPI_RECIPE || status=1
else
    echo "check_mpi: note: .cache/fashion-mnist missing (make data): the recipe skipped"
fi
exit $status
