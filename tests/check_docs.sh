#!/bin/sh
# tests/check_docs.sh - the API reference must keep up with the header:
# every MLP_API function declared in include/mlp.h must be named in
# docs/api.md (as `name(`, its entry), and every document the README links
# to must exist. Prints what is missing and fails if anything is.
# Run from the repository root.
header=include/mlp.h
doc=docs/api.md
[ -f "$header" ] || { echo "check_docs: run from the repository root"; exit 1; }
[ -f "$doc" ] || { echo "check_docs: $doc is missing"; exit 1; }
names=$(sh tests/api_names.sh "$header")
total=0
missing=""
for n in $names; do
    total=$((total + 1))
    grep -q "\`$n(" "$doc" || missing="$missing $n"
done
if [ "$total" -lt 10 ]; then
    echo "check_docs: found only $total MLP_API functions in $header; the pattern is out of date"
    exit 1
fi
status=0
if [ -n "$missing" ]; then
    echo "check_docs: MLP_API functions without an entry in $doc:$missing"
    status=1
fi
for f in $(sed -n 's/.*](\(docs\/[A-Za-z0-9_.-]*\.md\)).*/\1/p' README.md | sort -u); do
    [ -f "$f" ] || { echo "check_docs: README.md links to missing $f"; status=1; }
done
[ "$status" -eq 0 ] && echo "check_docs: all $total MLP_API functions are in $doc"
exit $status
