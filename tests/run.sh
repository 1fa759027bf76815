#!/bin/sh
# tests/run.sh - runs every cmocka test executable given as arguments and
# every build test tests/check_*.sh, then prints one closing line
# "check: N passed, M failed" (N, M count individual tests).
# Environment: BUILD, LIBA, CC (from the Makefile); RUNNER, a command the
# test programs run under (qemu-user for another architecture: then only
# the cmocka tests and tests/check_examples.sh run, the other checks being
# about the sources and the host's build); JOBS, how many test programs
# run at once (default: the online CPUs). Each program's output is kept
# and printed in the order given, whatever order they finish in. The
# check_*.sh scripts run one after another (several build and install
# into places of their own).
passed=0
failed=0
failed_names=""
jobs=${JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)}
case $jobs in '' | *[!0-9]* | 0) jobs=1 ;; esac
out_dir=$(mktemp -d "${TMPDIR:-/tmp}/mlp-check.XXXXXX") || exit 1
trap 'rm -rf "$out_dir"' EXIT
trap 'exit 130' INT TERM
export RUNNER out_dir
i=0
[ $# -eq 0 ] || for t in "$@"; do
    i=$((i + 1))
    printf '%s %s\n' "$i" "$t"
done | xargs -n 2 -P "$jobs" sh -c '$RUNNER "$2" > "$out_dir/$1.out" 2>&1; echo $? > "$out_dir/$1.rc"' sh
i=0
for t in "$@"; do
    i=$((i + 1))
    out=$(cat "$out_dir/$i.out" 2>/dev/null)
    rc=$(cat "$out_dir/$i.rc" 2>/dev/null)
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ "${rc:-1}" != 0 ]; then
        [ -n "$f" ] || failed=$((failed + 1))
        failed_names="$failed_names $t"
    fi
done
for s in tests/check_*.sh; do
    [ -f "$s" ] || continue
    if [ -n "$RUNNER" ] && [ "$s" != tests/check_examples.sh ]; then
        echo "$s: skipped under $RUNNER (checks the sources and the host build)"
        continue
    fi
    if out=$(sh "$s" 2>&1); then
        printf '%s\n%s: ok\n' "$out" "$s"
        passed=$((passed + 1))
    else
        printf '%s\n%s: FAILED\n' "$out" "$s"
        failed=$((failed + 1))
        failed_names="$failed_names $s"
    fi
done
[ -z "$failed_names" ] || echo "failing:$failed_names"
echo "check ($BUILD): $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ -z "$failed_names" ]
