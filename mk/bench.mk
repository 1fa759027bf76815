# mk/bench.mk - peer benchmarks, included by the Makefile:
#   make bench-compare   bench/train and bench/infer beside PyTorch (python3
#                        with torch), ONNX Runtime (inference) and FANN
#                        (libfann-dev) on the same data in one run, with
#                        the ratios (bench/compare.py)
# The peers are benchmark-only dependencies; the library never links them.
# `tools/deps.sh torch` installs PyTorch, NumPy, onnx, FANN and OpenBLAS
# when run as root, else prints the apt-get command and the run stops.
#
# ONNX Runtime through its C API: the headers from ORT_INCLUDE (default:
# shared/peers/onnxruntime beside the repository or its worktree folder),
# the runtime libonnxruntime.so.1 from ORT_LIBDIR (default: the npm package
# onnxruntime-node under .cache/npm, which `tools/deps.sh ort` installs).
# Either missing: ONNX Runtime is skipped with a message.

.PHONY: bench-compare bench-peers bench-fann bench-ort bench-ort-build

# python3 with torch: Debian's interpreter, not one earlier on PATH
PYTHON ?= $(firstword $(wildcard /usr/bin/python3) python3)

FANN_BIN := $(BUILD)/bench/peers/fann_bench
ORT_BIN  := $(BUILD)/bench/peers/ort_bench

ORT_INCLUDE ?= $(patsubst %/onnxruntime_c_api.h,%,$(firstword $(wildcard \
    ../shared/peers/onnxruntime/onnxruntime_c_api.h ../../shared/peers/onnxruntime/onnxruntime_c_api.h)))
ORT_LIBDIR ?= $(patsubst %/libonnxruntime.so.1,%,$(firstword $(wildcard \
    .cache/npm/node_modules/onnxruntime-node/bin/napi-v*/linux/x64/libonnxruntime.so.1)))

# FANN's header is not C99-pedantic clean: plain flags here
$(FANN_BIN): bench/peers/fann_bench.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g $< -lfloatfann -lm -o $@

# PyTorch, NumPy, onnx, FANN, OpenBLAS: installed as root, else the
# command is printed and the comparison stops before it starts
bench-peers:
	@sh tools/deps.sh torch

bench-fann: bench-peers
	@if [ -f /usr/include/floatfann.h ]; then $(MAKE) --no-print-directory $(FANN_BIN); \
	else echo "bench: libfann-dev not installed, FANN skipped"; fi

# ONNX Runtime's header is C, not C99-pedantic: plain flags here too
$(ORT_BIN): bench/peers/ort_bench.c bench/bench.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -I'$(ORT_INCLUDE)' $< -L'$(ORT_LIBDIR)' -l:libonnxruntime.so.1 \
	    -Wl,-rpath,'$(abspath $(ORT_LIBDIR))' -lm -o $@

bench-ort:
	@if [ -z "$(ORT_INCLUDE)" ]; then \
	    echo "bench: ONNX Runtime headers not found (set ORT_INCLUDE), ONNX Runtime skipped"; \
	else \
	    [ -n "$(ORT_LIBDIR)" ] || sh tools/deps.sh ort || true; \
	    $(MAKE) --no-print-directory bench-ort-build; \
	fi

# a second make, so that ORT_LIBDIR sees what tools/deps.sh just installed
bench-ort-build:
	@if [ -z "$(ORT_LIBDIR)" ]; then \
	    echo "bench: libonnxruntime.so.1 not found (set ORT_LIBDIR or run tools/deps.sh ort), ONNX Runtime skipped"; \
	else $(MAKE) --no-print-directory $(ORT_BIN); fi

bench-compare: all $(BUILD)/bench/train $(BUILD)/bench/infer data bench-peers bench-fann bench-ort
	$(PYTHON) bench/compare.py $(BUILD)/bench $(COMPARE_ARGS)
