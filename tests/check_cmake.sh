#!/bin/sh
# tests/check_cmake.sh - install into a temporary prefix and build a
# consumer project with CMake the way a user does:
#   find_package(mlp CONFIG REQUIRED); target_link_libraries(app PRIVATE mlp::mlp)
# Skipped with a message when cmake is not installed (tools/deps.sh cmake).
set -e
[ -z "${SAN:-}" ] || exit 0
command -v cmake >/dev/null 2>&1 || { echo "check_cmake: cmake not installed, skipped"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make -s install PREFIX="$tmp/prefix" >/dev/null
mkdir "$tmp/app"
cat > "$tmp/app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.13)
project(mlp_consumer C)
find_package(mlp 0.1 CONFIG REQUIRED)
add_executable(app app.c)
set_property(TARGET app PROPERTY C_STANDARD 99)
target_link_libraries(app PRIVATE mlp::mlp)
CM
cat > "$tmp/app/app.c" <<'APP'
#include <stdio.h>
#include <mlp.h>
int main(void)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    mlp_model *m = mlp_model_new(ctx);
    float x[3] = {1, 2, 3}, y[2];
    int ok = m && mlp_model_add_linear(m, 3, 2) == MLP_OK && mlp_ctx_set_threads(ctx, 2) == MLP_OK
             && mlp_model_predict(m, x, 1, y) == MLP_OK && mlp_model_param_numel(m) == 8;
    printf("libmlp %s through CMake: %s\n", mlp_version(), ok ? "ok" : "broken");
    mlp_model_free(m);
    mlp_ctx_free(ctx);
    return ok ? 0 : 1;
}
APP
cmake -S "$tmp/app" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/log" 2>&1 ||
    { cat "$tmp/log"; exit 1; }
cmake --build "$tmp/build" >>"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
"$tmp/build/app"
# a newer major version than the installed one is refused
sed -i 's/find_package(mlp 0.1 /find_package(mlp 99.0 /' "$tmp/app/CMakeLists.txt"
if cmake -S "$tmp/app" -B "$tmp/build2" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/log" 2>&1; then
    echo "check_cmake: find_package(mlp 99.0) accepted version $(sed -n 's/^Version: //p' lib/mlp.pc)"
    exit 1
fi
make -s uninstall PREFIX="$tmp/prefix" >/dev/null
[ ! -e "$tmp/prefix/lib/cmake/mlp/mlpConfig.cmake" ] && [ ! -e "$tmp/prefix/bin/mlp" ]
echo "check_cmake: installed, found by find_package, built with mlp::mlp, ran, uninstalled"
