#!/bin/sh
# Install into a temporary prefix and build a program outside the tree the
# way a user does: cc -std=c99 -pedantic app.c $(pkg-config --cflags --libs mlp),
# which links the shared library (run with the prefix on LD_LIBRARY_PATH),
# and statically against libmlp.a with pkg-config --static's libraries.
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
pc() { PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" pkg-config "$@" mlp; }
cc -std=c99 -pedantic -Wall -Werror app.c $(pc --cflags --libs) -o app
readelf -d app | grep -q 'NEEDED.*libmlp\.so\.' || { echo "check_pkgconfig: app is not linked to libmlp.so"; exit 1; }
LD_LIBRARY_PATH="$tmp/prefix/lib" ./app
cc -std=c99 -pedantic -Wall -Werror app.c $(pc --cflags) -L"$tmp/prefix/lib" \
    -Wl,-Bstatic -lmlp -Wl,-Bdynamic $(pc --static --libs-only-l | sed 's/-lmlp//') -o app_static
! readelf -d app_static | grep -q 'NEEDED.*libmlp' || { echo "check_pkgconfig: app_static needs libmlp.so"; exit 1; }
./app_static
cd - >/dev/null
make -s uninstall PREFIX="$tmp/prefix" >/dev/null
[ ! -e "$tmp/prefix/include/mlp.h" ] && [ ! -e "$tmp/prefix/lib/libmlp.a" ] && [ ! -e "$tmp/prefix/lib/libmlp.so" ]
echo "check_pkgconfig: installed, built out of tree against the shared and the static library, ran, uninstalled"
