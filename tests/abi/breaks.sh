#!/bin/sh
# tests/abi/breaks.sh - make check-abi fails when it should. In a scratch
# copy of the sources: unchanged, the library passes against the committed
# baseline; with one enum value renumbered, or one public function removed
# (no longer exported), it fails, and abidiff's report names the change;
# with a function added it passes and lists the addition. Scratch
# libraries are built at -O0 (the ABI does not depend on optimisation).
# Run from the repository root by make check-abi.
set -e
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mlp-abi-breaks.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp -r Makefile mk include src abi tools "$tmp/"
mkdir -p "$tmp/lib"
fails=0

# variant NAME EXPECT(pass|fail) PATTERN SED-SCRIPT [FILE]: edit the copy,
# build it, compare with the baseline; the outcome and a line of the
# report matching PATTERN must be as expected
variant() {
    name=$1 expect=$2 pattern=$3 script=$4 file=${5:-include/mlp.h}
    rm -rf "$tmp/v"
    mkdir "$tmp/v"
    (cd "$tmp" && cp -r Makefile mk include src abi tools lib v/)
    sed -i "$script" "$tmp/v/$file"
    if ! (cd "$tmp/v" && make -s shared OPT=-O0 KERNFLAGS= >build.log 2>&1); then
        cat "$tmp/v/build.log"
        echo "breaks: $name: the scratch copy does not build"
        fails=$((fails + 1))
        return
    fi
    rc=0
    (cd "$tmp/v" && sh tools/check_abi.sh lib/libmlp.so.*.*.* abi/libmlp.abi >report.txt 2>&1) || rc=$?
    got=pass
    [ "$rc" -eq 0 ] || got=fail
    if [ "$got" != "$expect" ] || ! grep -q "$pattern" "$tmp/v/report.txt"; then
        cat "$tmp/v/report.txt"
        echo "breaks: $name: expected the check to $expect with a report matching '$pattern', got $got"
        fails=$((fails + 1))
        return
    fi
    echo "breaks: $name: the check does $expect, as it must. abidiff said:"
    grep -E "summary|\[C\]|\[D\]|\[A\]|value|changed" "$tmp/v/report.txt" | head -n 12 | sed 's/^/    /'
}

variant unchanged pass "has the ABI of" 's/^$//'
variant "renumbered enum value (MLP_ERR_NOMEM 4 -> 24)" fail "MLP_ERR_NOMEM" \
    's/MLP_ERR_NOMEM = 4,/MLP_ERR_NOMEM = 24,/'
variant "removed function (mlp_version_number no longer exported)" fail "mlp_version_number" \
    's/^MLP_API int mlp_version_number(void);/int mlp_version_number(void);/'
variant "added function (mlp_abi_probe)" pass "mlp_abi_probe" \
    '$a MLP_API int mlp_abi_probe(void);\nint mlp_abi_probe(void) { return 1; }' src/base/version.c
[ "$fails" -eq 0 ] || { echo "breaks: $fails of 4 cases wrong"; exit 1; }
echo "breaks: check-abi fails on a renumbered enum value and a removed function, passes an addition"
