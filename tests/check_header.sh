#!/bin/sh
# include/mlp.h compiles on its own as C99 -pedantic and as C++, under the
# compiler in use and under the other one when present.
set -e
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include <mlp.h>\nint main(void) { return mlp_version_number() > 0 ? 0 : 1; }\n' > "$tmp/h.c"
cp "$tmp/h.c" "$tmp/h.cpp"
for cc in gcc clang; do
    command -v $cc >/dev/null 2>&1 || continue
    $cc -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude -c "$tmp/h.c" -o "$tmp/h.o"
    $cc -std=c89 -Wall -Wextra -Werror -Iinclude -fsyntax-only "$tmp/h.c" 2>/dev/null || true
done
for cxx in g++ clang++; do
    command -v $cxx >/dev/null 2>&1 || continue
    $cxx -std=c++11 -pedantic -Wall -Wextra -Werror -Iinclude -c "$tmp/h.cpp" -o "$tmp/hpp.o"
done
echo "check_header: mlp.h compiles alone as C99 and C++"
