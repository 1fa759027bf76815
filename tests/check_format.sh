#!/bin/sh
# tests/check_format.sh - every tracked C file is in the style of
# .clang-format (skipped with a message where clang-format is absent).
# Run from the repository root.
sh tools/format.sh check
