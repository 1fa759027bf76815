#!/bin/sh
# Install into a temporary prefix and build a program outside the tree the
# way a user does: cc -std=c99 -pedantic app.c $(pkg-config --cflags --libs mlp).
set -e
[ -z "$SAN" ] || exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make -s install PREFIX="$tmp/prefix" >/dev/null
cat > "$tmp/app.c" <<'APP'
#include <stdio.h>
#include <mlp.h>
int main(void)
{
    mlp_ctx *ctx = mlp_ctx_new(NULL);
    int64_t shape[2] = {2, 3};
    mlp_tensor *t = mlp_tensor_ones(ctx, 2, shape);
    int ok = t && mlp_tensor_numel(t) == 6 && mlp_tensor_get(t, 5) == 1.0f;
    printf("libmlp %s: %s\n", mlp_version(), ok ? "ok" : "broken");
    mlp_tensor_free(t);
    mlp_ctx_free(ctx);
    return ok ? 0 : 1;
}
APP
cd "$tmp"
PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" cc -std=c99 -pedantic -Wall -Werror app.c \
    $(PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" pkg-config --cflags --libs mlp) -o app
./app
cd - >/dev/null
make -s uninstall PREFIX="$tmp/prefix" >/dev/null
[ ! -e "$tmp/prefix/include/mlp.h" ] && [ ! -e "$tmp/prefix/lib/libmlp.a" ]
echo "check_pkgconfig: installed, built out of tree, ran, uninstalled"
