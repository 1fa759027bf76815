# mk/bench.mk - peer benchmarks, included by the Makefile:
#   make bench-compare   bench/train and bench/infer beside PyTorch (python3
#                        with torch) and FANN (libfann-dev) on the same data
#                        in one run, with the ratios (bench/compare.py)
# The peers are benchmark-only dependencies; the library never links them.

.PHONY: bench-compare bench-fann

FANN_BIN := $(BUILD)/bench/peers/fann_bench

# FANN's header is not C99-pedantic clean: plain flags here
$(FANN_BIN): bench/peers/fann_bench.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g $< -lfloatfann -lm -o $@

bench-fann:
	@if [ -f /usr/include/floatfann.h ]; then $(MAKE) --no-print-directory $(FANN_BIN); \
	else echo "bench: libfann-dev not installed, FANN skipped"; fi

bench-compare: all $(BUILD)/bench/train $(BUILD)/bench/infer data bench-fann
	python3 bench/compare.py $(BUILD)/bench $(COMPARE_ARGS)
