#!/bin/sh
# tools/format.sh - the C style of .clang-format over every tracked C file.
#   apply   rewrite the files in place (make format)
#   check   list the files that differ and fail (make check); skipped with a
#           message when clang-format is not installed
set -e
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null 2>&1 || {
    echo "format: clang-format not installed, style check skipped (apt-get install clang-format)"
    exit 0
}
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src include tests examples bench fuzz -name '*.[ch]')
case "$1" in
apply)
    clang-format -i $files
    ;;
check)
    bad=""
    for f in $files; do
        [ -f "$f" ] || continue
        clang-format "$f" | cmp -s - "$f" || bad="$bad $f"
    done
    if [ -n "$bad" ]; then
        echo "format: not in the style of .clang-format (run make format):$bad"
        exit 1
    fi
    echo "format: every C file is formatted"
    ;;
*)
    echo "usage: $0 apply|check" >&2
    exit 2
    ;;
esac
