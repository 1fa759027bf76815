#!/bin/sh
# tools/deps.sh - what the build needs from the system, installed with
# apt-get when run as root, or the exact command printed otherwise.
#   check            cmocka and pkg-config (for `make check`), and the
#                    de_DE.UTF-8 and fr_FR.UTF-8 locales the locale test
#                    uses (generated when root; the test skips without them)
#   locales          only those locales
#   fuzzer           clang's libFuzzer runtime (make fuzz)
#   cmake            cmake (the CMake package's consumer test)
#   valgrind         valgrind (make check-valgrind)
#   mpi              Open MPI's mpicc and mpirun (libmlp_mpi, make check-mpi)
#   data             Fashion-MNIST unpacked into .cache/fashion-mnist
#   cross ARCH       for make check-cross: the cross compiler, qemu-user and
#                    cmocka of ARCH (aarch64 or s390x) through multiarch
#   abi              libabigail's abidw / abidiff (make check-abi)
#   openblas-cflags  compiler flags for the OpenBLAS comparison (benchmarks only)
#   openblas-libs    linker flags for it
#   torch            PyTorch, NumPy and the onnx package for python3, and
#                    FANN and OpenBLAS: make bench-compare's peers
#                    (benchmarks only; the library and make check never
#                    use them)
#   ort, onnxrt      ONNX Runtime from npm (onnxruntime-node) into .cache/npm,
#                    with Node.js: make bench-compare's inference peer, and
#                    the ONNX Runtime check of make check (tools/ort_run.js)
set -e

need_pkgs() {
    # $@: Debian packages to install
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "deps: installing $* with apt-get" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
    else
        echo "deps: missing $*. Install with:" >&2
        echo "    sudo apt-get install -y $*" >&2
        exit 1
    fi
}

# multiarch DEBARCH PKGS...: packages of another architecture (dpkg's
# foreign architectures), e.g. libcmocka-dev:arm64 for cross tests
need_multiarch() {
    debarch=$1
    shift
    if [ "$(id -u)" = 0 ] && command -v dpkg >/dev/null 2>&1; then
        dpkg --print-foreign-architectures | grep -qx "$debarch" || dpkg --add-architecture "$debarch"
    else
        echo "deps: $* need the foreign architecture first: sudo dpkg --add-architecture $debarch" >&2
    fi
    need_pkgs "$@"
}

has_cmocka() {
    [ -f /usr/include/cmocka.h ] || [ -f /usr/local/include/cmocka.h ] ||
        pkg-config --exists cmocka 2>/dev/null
}

# Locales with a comma as decimal point, for tests/test_numbers.c: made
# with localedef when root, else left to the test, which then skips.
want_locales() {
    [ "$(id -u)" = 0 ] || return 0
    for l in de_DE fr_FR; do
        locale -a 2>/dev/null | grep -qi "^$l\.utf-\?8$" && continue
        if [ ! -f /usr/share/i18n/locales/$l ]; then
            need_pkgs locales
        fi
        echo "deps: generating the $l.UTF-8 locale" >&2
        localedef -i $l -f UTF-8 $l.UTF-8 >&2 || echo "deps: could not generate $l.UTF-8" >&2
    done
}

case "$1" in
check)
    missing=""
    has_cmocka || missing="$missing libcmocka-dev"
    command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
    [ -z "$missing" ] || need_pkgs $missing
    want_locales
    ;;
mpi)
    { command -v mpicc && command -v mpirun; } >/dev/null 2>&1 || need_pkgs libopenmpi-dev openmpi-bin
    ;;
locales)
    want_locales
    ;;
data)
    src=/usr/share/datasets/fashion-mnist
    dst=.cache/fashion-mnist
    if [ ! -f "$src/t10k-labels-idx1-ubyte.gz" ]; then
        need_pkgs dataset-fashion-mnist
    fi
    mkdir -p "$dst"
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        if [ ! -s "$dst/$f" ]; then
            echo "data: unpacking $f" >&2
            gzip -dc "$src/$f.gz" > "$dst/$f.tmp" && mv "$dst/$f.tmp" "$dst/$f"
        fi
    done
    ;;
fuzzer)
    # clang and its libFuzzer runtime, for make fuzz / fuzz-short
    command -v clang >/dev/null 2>&1 || need_pkgs clang libclang-rt-dev
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' > /tmp/mlp-fuzz-probe.$$.c
    if ! clang -fsanitize=fuzzer,address,undefined /tmp/mlp-fuzz-probe.$$.c -o /tmp/mlp-fuzz-probe.$$ 2>/dev/null; then
        rm -f /tmp/mlp-fuzz-probe.$$.c
        need_pkgs libclang-rt-dev
    fi
    rm -f /tmp/mlp-fuzz-probe.$$ /tmp/mlp-fuzz-probe.$$.c
    ;;
cmake)
    # the CMake consumer test (tests/check_cmake.sh)
    command -v cmake >/dev/null 2>&1 || need_pkgs cmake
    ;;
cross)
    case "$2" in
    aarch64) triplet=aarch64-linux-gnu debarch=arm64 ;;
    s390x) triplet=s390x-linux-gnu debarch=s390x ;;
    *)
        echo "deps: cross ARCH: aarch64 or s390x" >&2
        exit 2
        ;;
    esac
    missing=""
    command -v "$triplet-gcc" >/dev/null 2>&1 || missing="$missing gcc-$triplet"
    command -v "qemu-$2" >/dev/null 2>&1 || missing="$missing qemu-user"
    [ -z "$missing" ] || need_pkgs $missing
    # the C library and cmocka of that architecture, where qemu-user finds
    # them with QEMU_LD_PREFIX=/ (the cross toolchain's own C library under
    # /usr/$triplet does not run under qemu-s390x)
    [ -f "/usr/lib/$triplet/libcmocka.so" ] || need_multiarch "$debarch" "libcmocka-dev:$debarch"
    ;;
abi)
    { command -v abidw && command -v abidiff; } >/dev/null 2>&1 || need_pkgs abigail-tools
    ;;
valgrind)
    command -v valgrind >/dev/null 2>&1 || need_pkgs valgrind
    ;;
openblas-cflags)
    for d in /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas /usr/include; do
        if [ -f "$d/cblas.h" ] && [ -n "$(ls /usr/lib/*/libopenblas.so /usr/lib/libopenblas.so 2>/dev/null)" ]; then
            echo "-DMLP_HAVE_OPENBLAS -I$d"
            exit 0
        fi
    done
    ;;
openblas-libs)
    if [ -n "$(sh "$0" openblas-cflags)" ]; then echo "-lopenblas"; fi
    ;;
torch)
    # make bench-compare's peers: PyTorch (with NumPy, and onnx to write
    # the ONNX Runtime model), FANN and OpenBLAS; Debian's python3 packages
    # serve /usr/bin/python3, the one bench/compare.py runs under
    missing=""
    /usr/bin/python3 -c 'import numpy, torch' >/dev/null 2>&1 || missing="$missing python3-torch python3-numpy"
    /usr/bin/python3 -c 'import onnx' >/dev/null 2>&1 || missing="$missing python3-onnx"
    [ -f /usr/include/floatfann.h ] || missing="$missing libfann-dev"
    [ -n "$(sh "$0" openblas-cflags)" ] || missing="$missing libopenblas-dev"
    [ -z "$missing" ] || need_pkgs $missing
    ;;
ort | onnxrt)
    # ONNX Runtime's CPU library from the npm package: the inference peer
    # of make bench-compare, and (through Node.js) the ONNX Runtime check
    # of make check; the library never links it
    dir=.cache/npm
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || need_pkgs nodejs npm
    ls $dir/node_modules/onnxruntime-node/bin/napi-v*/linux/x64/libonnxruntime.so.1 >/dev/null 2>&1 && exit 0
    if [ "$(id -u)" = 0 ]; then
        echo "deps: installing onnxruntime-node@1.30.0 into $dir with npm" >&2
        mkdir -p "$dir"
        # --ignore-scripts: the install script only fetches GPU parts
        npm install --prefix "$dir" --ignore-scripts --no-audit --no-fund onnxruntime-node@1.30.0 >&2
    else
        echo "deps: ONNX Runtime missing. Install with:" >&2
        echo "    npm install --prefix $dir --ignore-scripts onnxruntime-node@1.30.0" >&2
        exit 1
    fi
    ;;
*)
    echo "usage: $0 check|data|fuzzer|valgrind|mpi|cross ARCH|abi|openblas-cflags|openblas-libs|torch|ort|onnxrt" >&2
    exit 2
    ;;
esac
