#!/bin/sh
# tests/run.sh - runs every cmocka test executable given as arguments and
# every build test tests/check_*.sh, then prints one closing line
# "check: N passed, M failed" (N, M count individual tests).
# Environment: BUILD, LIBA, CC (from the Makefile); RUNNER, a command the
# test programs run under (qemu-user for another architecture: then only
# the cmocka tests and tests/check_examples.sh run, the other checks being
# about the sources and the host's build).
passed=0
failed=0
failed_names=""
for t in "$@"; do
    out=$($RUNNER "$t" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ "$rc" -ne 0 ]; then
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
