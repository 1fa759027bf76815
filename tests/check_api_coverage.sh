#!/bin/sh
# check_api_coverage.sh - every MLP_API function declared in include/mlp.h
# must be called by name in tests/test_args.c, so the NULL-argument tests
# grow with the API. Prints the missing names and fails if there are any.
# Run from the repository root.
header=include/mlp.h
test=tests/test_args.c
[ -f "$header" ] && [ -f "$test" ] || { echo "check_api_coverage: run from the repository root"; exit 1; }
names=$(sh tests/api_names.sh "$header")
total=0
missing=""
for n in $names; do
    total=$((total + 1))
    grep -q "\\b$n[ \t]*(" "$test" || missing="$missing $n"
done
if [ "$total" -lt 10 ]; then
    echo "check_api_coverage: found only $total MLP_API functions in $header; the pattern is out of date"
    exit 1
fi
if [ -n "$missing" ]; then
    echo "check_api_coverage: MLP_API functions not called in $test:$missing"
    exit 1
fi
echo "check_api_coverage: all $total MLP_API functions are called in $test"
