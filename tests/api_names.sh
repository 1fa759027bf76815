#!/bin/sh
# tests/api_names.sh - prints the name of every MLP_API function declared in
# include/mlp.h, one a line, sorted: "MLP_API <type> [*]name(" at the start
# of a line, the name being the last word before the first parenthesis.
# Used by check_api_coverage.sh and check_docs.sh.
sed -n 's/^MLP_API[ \t][^(]*[ \t*]\([A-Za-z_][A-Za-z0-9_]*\)[ \t]*(.*/\1/p' "${1:-include/mlp.h}" | sort -u
