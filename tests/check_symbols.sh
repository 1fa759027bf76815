#!/bin/sh
# Every global symbol libmlp.a defines must start with mlp_ (public) or
# mlp__ (internal): the library is linked into other people's programs.
# (ASan builds add __odr_asan.* markers of their own; those are skipped.)
lib=${LIBA:-lib/libmlp.a}
[ -f "$lib" ] || { echo "check_symbols: $lib not built"; exit 1; }
bad=$(nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' | grep -v '^mlp_' | grep -v '^__odr_asan' | sort -u)
if [ -n "$bad" ]; then
    echo "check_symbols: global symbols without the mlp_ prefix in $lib:"
    echo "$bad"
    exit 1
fi
n=$(nm -g --defined-only "$lib" | awk 'NF == 3' | wc -l)
echo "check_symbols: $n global symbols, all prefixed mlp_"
