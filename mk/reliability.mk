# mk/reliability.mk - reliability targets (docs/reliability.md), included by
# the Makefile:
#   make fuzz            each libFuzzer target in fuzz/ for FUZZ_SECONDS (60)
#                        seconds from its corpus, JOBS targets at a time;
#                        crashes are copied into fuzz/crashes/<target>/ and
#                        the target fails
#   make fuzz-short      the same for 10 seconds each (CI)
#   make fuzz-long       each target for FUZZ_LONG_SECONDS (600) seconds,
#                        JOBS at a time, keeping the corpus it grows in
#                        .cache/fuzz/<target> across runs; FUZZ_TARGETS
#                        picks some targets; an input may take
#                        FUZZ_LONG_TIMEOUT (60) seconds
#   make check-valgrind  every test of the plain build and every example
#                        under valgrind memcheck: no error, no leak
#   make check-tsan      two contexts trained in two threads at once under
#                        ThreadSanitizer: same bits as one after the other;
#                        four threads predicting on one shared model
# The corpus replay (tests/test_fuzz_replay.c) is part of `make check`.

.PHONY: fuzz fuzz-short fuzz-long fuzz-build fuzz-probe check-valgrind valgrind-examples check-tsan

# ---- fuzzing ----------------------------------------------------------------

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build/fuzz
FUZZ_NAMES   := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_FLAGS    = -std=c99 -g -O1 -fno-omit-frame-pointer \
                -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ     := $(SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
# per input: 10 s, 2 GB; the targets' own allocator refuses blocks > 64 MB
FUZZ_RUNFLAGS ?= -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

$(FUZZ_BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

# The tuned kernels' unrolled tiles hold thousands of vector loads and
# stores: with each ASan check inline, clang took 177-203 s on
# gemm_avx512.c alone while the rest of the build took 47; with the checks
# made calls, 63 s. Every access is still checked.
$(FUZZ_BUILD)/obj/src/kern/gemm_%.o: FUZZ_FLAGS += -mllvm -asan-instrumentation-with-call-threshold=0

$(FUZZ_BUILD)/libmlp.a: $(FUZZ_OBJ)
	rm -f $@
	$(AR) rcs $@ $(FUZZ_OBJ)

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/targets.h $(FUZZ_BUILD)/libmlp.a
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer $< $(FUZZ_BUILD)/libmlp.a $(LIBS) -o $@

# libFuzzer needs clang's runtime (Debian: clang and libclang-rt-*-dev)
fuzz-probe:
	@sh tools/deps.sh fuzzer
	@mkdir -p $(FUZZ_BUILD)
	@printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
	    > $(FUZZ_BUILD)/probe.c
	@$(FUZZ_CC) -fsanitize=fuzzer,address,undefined $(FUZZ_BUILD)/probe.c -o $(FUZZ_BUILD)/probe 2>/dev/null || { \
	    echo "fuzz: '$(FUZZ_CC) -fsanitize=fuzzer' does not work. Install clang's fuzzer runtime:"; \
	    echo "    sudo apt-get install -y clang libclang-rt-dev   # or libclang-rt-14-dev"; \
	    exit 1; }

fuzz-build: fuzz-probe
	$(MAKE) -j$(JOBS) $(FUZZ_BINS)

# New inputs go to build/fuzz/corpus/<t> (the repository keeps its small
# seed corpus); crashes to build/fuzz/crashes/<t>, then into fuzz/crashes/<t>.
# The targets run JOBS at a time, each one's lines printed together.
fuzz: fuzz-build
	$(call fuzz-all,fuzz,$(FUZZ_NAMES),)

fuzz-short:
	$(MAKE) fuzz FUZZ_SECONDS=10

# A long run: every target (or those in FUZZ_TARGETS) for FUZZ_LONG_SECONDS
# each, JOBS at a time. The corpus each grows is kept in
# FUZZ_LONG_CORPUS/<t> (outside build/, so `make clean` keeps it) and the
# next run starts from it.
FUZZ_LONG_SECONDS ?= 600
FUZZ_LONG_CORPUS  ?= .cache/fuzz
FUZZ_TARGETS      ?= $(FUZZ_NAMES)
# An input may take this long (and is reported slow only past it): on a
# busy shared machine a process can stall 20 s or more, which the short
# runs' 10 s would report as a hang of an input that replays in ms.
FUZZ_LONG_TIMEOUT ?= 60

fuzz-long: fuzz-build
	$(call fuzz-all,fuzz-long,$(FUZZ_TARGETS),FUZZ_RUN_TAG=fuzz-long \
	    FUZZ_RUN_SECONDS=$(FUZZ_LONG_SECONDS) FUZZ_RUN_CORPUS=$(FUZZ_LONG_CORPUS) \
	    FUZZ_RUN_FLAGS="-timeout=$(FUZZ_LONG_TIMEOUT) -report_slow_units=$(FUZZ_LONG_TIMEOUT)")

# $(call fuzz-all,TAG,TARGETS,VARIABLES): fuzz-run-<t> for each target,
# JOBS at a time, one verdict line at the end.
define fuzz-all
	@if $(MAKE) --no-print-directory -k -j$(JOBS) --output-sync=target \
	        $(patsubst %,fuzz-run-%,$(2)) $(3); then \
	    echo "$(1): $(strip $(2)): no crash, leak or broken contract"; \
	else echo "$(1): FAILED (see above; replay with make check)"; exit 1; fi
endef

# One target's run, for `fuzz` and `fuzz-long`: FUZZ_RUN_SECONDS from
# FUZZ_RUN_CORPUS/<t> (which it grows) and the seeds. One summary line:
# seconds, inputs run, corpus entries before and after; each crash is
# copied into fuzz/crashes/<t> and fails the target.
FUZZ_RUN_TAG     ?= fuzz
FUZZ_RUN_SECONDS ?= $(FUZZ_SECONDS)
FUZZ_RUN_CORPUS  ?= $(FUZZ_BUILD)/corpus
FUZZ_RUN_FLAGS   ?=

fuzz-run-%:
	@t=$*; status=0; dir=$(FUZZ_RUN_CORPUS)/$$t; \
	log=$(FUZZ_BUILD)/$(FUZZ_RUN_TAG)-$$t.log; \
	mkdir -p $$dir $(FUZZ_BUILD)/crashes/$$t fuzz/crashes/$$t; \
	before=$$(ls $$dir | wc -l); start=$$(date +%s); \
	echo "$(FUZZ_RUN_TAG): $$t for $(FUZZ_RUN_SECONDS) s from $$dir ($$before entries)"; \
	if ! $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_RUN_SECONDS) \
	       $(FUZZ_RUN_FLAGS) $(FUZZ_RUNFLAGS) -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t/ \
	       $$dir fuzz/corpus/$$t > $$log 2>&1; then \
	    status=1; tail -n 60 $$log; \
	fi; \
	runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log); \
	echo "$(FUZZ_RUN_TAG): $$t: $$(( $$(date +%s) - start )) s, $${runs:-?} inputs, corpus $$before -> $$(ls $$dir | wc -l) entries"; \
	for c in $(FUZZ_BUILD)/crashes/$$t/*; do \
	    [ -f "$$c" ] || continue; \
	    cp "$$c" fuzz/crashes/$$t/; status=1; \
	    echo "$(FUZZ_RUN_TAG): $$t: new finding kept as fuzz/crashes/$$t/$$(basename $$c)"; \
	    rm -f "$$c"; \
	done; \
	exit $$status

# ---- valgrind ---------------------------------------------------------------

VALGRIND ?= valgrind
VALGRIND_FLAGS ?= -q --error-exitcode=1 --leak-check=full \
                  --errors-for-leak-kinds=definite,indirect \
                  --show-leak-kinds=definite,indirect --track-origins=yes
# Examples run with MLP_EXAMPLE_SMALL=1 (a few steps on little data) and
# the arguments in VALGRIND_ARGS_<name>, if set; what they write goes to
# build/valgrind-out.
VALGRIND_OUT ?= build/valgrind-out
VALGRIND_ARGS_xor ?= --out $(VALGRIND_OUT) --steps 200
VALGRIND_ARGS_activations ?= --out $(VALGRIND_OUT)
VALGRIND_ARGS_fashion_mnist ?= --out $(VALGRIND_OUT) --model $(VALGRIND_OUT)/fashion.mlp \
                               --limit 500 --epochs 1 --hidden 32
VALGRIND_ARGS_infer ?= --model $(VALGRIND_OUT)/fashion.mlp --count 5
VALGRIND_ARGS_onnx_fashion ?= train --out $(VALGRIND_OUT)/fashion.onnx --limit 500 --epochs 1 \
                              --count 50

# Test programs under valgrind JOBS at a time (valgrind runs a program's
# threads one at a time), beside the examples, which run in order (infer
# reads the model fashion_mnist writes).
check-valgrind: all $(TESTS) $(EXAMPLES) data
	@sh tools/deps.sh valgrind
	@command -v $(VALGRIND) >/dev/null 2>&1 || { \
	    echo "check-valgrind: valgrind missing. Install with:"; \
	    echo "    sudo apt-get install -y valgrind"; exit 1; }
	@mkdir -p $(VALGRIND_OUT)
	@if $(MAKE) --no-print-directory -k -j$(JOBS) valgrind-examples $(TESTS:%=%.valgrind); then \
	    echo "check-valgrind: no error, no leak"; \
	else echo "check-valgrind: FAILED"; exit 1; fi

%.valgrind: %
	@if $(VALGRIND) $(VALGRIND_FLAGS) $< > $<.valgrind.log 2>&1; then \
	    echo "check-valgrind: $<: clean"; \
	else \
	    cat $<.valgrind.log; echo "check-valgrind: $<: FAILED"; exit 1; \
	fi

valgrind-examples: $(EXAMPLES)
	@status=0; \
	$(foreach e,$(EXAMPLES),\
	if MLP_EXAMPLE_SMALL=1 $(VALGRIND) $(VALGRIND_FLAGS) $(e) $(VALGRIND_ARGS_$(notdir $(e))) \
	       > $(e).valgrind.log 2>&1; then \
	    echo "check-valgrind: $(e): clean"; \
	else \
	    status=1; tail -n 60 $(e).valgrind.log; echo "check-valgrind: $(e): FAILED"; \
	fi; ) \
	exit $$status

# ---- ThreadSanitizer ----------------------------------------------------------

TSAN_CC    ?= $(CC)
TSAN_BUILD := build/tsan
TSAN_FLAGS  = -std=c99 -pedantic -Wall -Wextra -Werror -O1 -g -fno-omit-frame-pointer \
              -fsanitize=thread
TSAN_OBJ   := $(SRC:%.c=$(TSAN_BUILD)/obj/%.o)

$(TSAN_BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(TSAN_CC) $(CPPFLAGS) $(TSAN_FLAGS) -c $< -o $@

$(TSAN_BUILD)/libmlp.a: $(TSAN_OBJ)
	rm -f $@
	$(AR) rcs $@ $(TSAN_OBJ)

$(TSAN_BUILD)/tsan_%: tests/tsan_%.c $(wildcard tests/*.h) $(TSAN_BUILD)/libmlp.a
	$(TSAN_CC) $(CPPFLAGS) $(TSAN_FLAGS) $< $(TSAN_BUILD)/libmlp.a -lpthread -lm -o $@

check-tsan: $(TSAN_BUILD)/tsan_two_contexts $(TSAN_BUILD)/tsan_shared_model
	TSAN_OPTIONS="halt_on_error=1 exitcode=66" $(TSAN_BUILD)/tsan_two_contexts
	TSAN_OPTIONS="halt_on_error=1 exitcode=66" $(TSAN_BUILD)/tsan_shared_model
