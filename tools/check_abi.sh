#!/bin/sh
# tools/check_abi.sh - the ABI check of make check-abi (docs/abi.md), with
# libabigail's abidw and abidiff.
#   check_abi.sh --dump SHLIB
#       print SHLIB's ABI: the functions it exports and the types of
#       include/mlp.h they use (no paths, no line numbers)
#   check_abi.sh SHLIB BASELINE
#       compare SHLIB's ABI with BASELINE (an earlier --dump). Fails with
#       abidiff's report on any removed or changed function, variable or
#       type (a renumbered enum value, a new struct member, a changed
#       parameter); passes on additions, and lists them
#   check_abi.sh --old-program HEADER LIBDIR CC
#       build abi/program.c against HEADER (the baseline's mlp.h), link it
#       to LIBDIR/libmlp.so and run it: a user's program from before runs
#       unchanged against the library of now
set -e

dump() {
    abidw --no-corpus-path --no-comp-dir-path --no-show-locs --headers-dir include \
        --drop-private-types "$1"
}

case "$1" in
--dump)
    dump "$2"
    ;;
--old-program)
    header=$2 libdir=$3 cc=${4:-cc}
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/mlp-abi.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    cp "$header" "$tmp/mlp.h"
    # shellcheck disable=SC2086
    $cc -std=c99 -pedantic -Wall -Wextra -Werror -I"$tmp" abi/program.c -L"$libdir" -lmlp \
        -o "$tmp/program"
    if ! out=$(LD_LIBRARY_PATH="$libdir" "$tmp/program"); then
        printf '%s\n' "$out"
        echo "check-abi: FAILED: a program built against $header does not run against $libdir/libmlp.so"
        exit 1
    fi
    printf '%s\n' "$out"
    echo "check-abi: a program built against $header runs against $(readlink -f "$libdir/libmlp.so")"
    ;;
*)
    shlib=$1 base=$2
    [ -f "$base" ] || { echo "check-abi: no baseline $base (make abi-baseline)"; exit 1; }
    mkdir -p build/abi
    dump "$shlib" > build/abi/libmlp.abi
    rc=0
    abidiff --no-show-locs "$base" build/abi/libmlp.abi > build/abi/report.txt 2>&1 || rc=$?
    # abidiff's status: bit 1 error, 2 usage, 4 some change, 8 an
    # incompatible one. A change that is not an addition (a removed or
    # changed function or variable, which includes any change to a type
    # they use) counts as incompatible here whatever abidiff's bit says.
    removed_changed=$(sed -n 's/^\(Functions\|Variables\) changes summary: \([0-9]*\) Removed, \([0-9]*\) Changed.*/\2 \3/p' \
        build/abi/report.txt | tr ' ' '\n' | awk '{ s += $1 } END { print s + 0 }')
    if [ $((rc & 3)) -ne 0 ]; then
        cat build/abi/report.txt
        echo "check-abi: abidiff failed (status $rc)"
        exit 1
    fi
    if [ $((rc & 8)) -ne 0 ] || [ "$removed_changed" -ne 0 ]; then
        cat build/abi/report.txt
        echo "check-abi: FAILED: $shlib breaks the ABI of $base (report above)"
        exit 1
    fi
    if [ $((rc & 4)) -ne 0 ]; then
        cat build/abi/report.txt
        echo "check-abi: compatible: only additions to $base (listed above)"
    else
        echo "check-abi: $shlib has the ABI of $base"
    fi
    ;;
esac
