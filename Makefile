# libmlp - see README.md. `make` builds lib/libmlp.a and lib/mlp.pc,
# `make check` runs every test (plain, then under ASan+UBSan),
# `make demo` trains the Fashion-MNIST recipe, `make bench` prints figures.

CC      ?= cc
AR      ?= ar
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
OPT     ?= -O2
SAN     ?=
# THREADS=0 builds a single-threaded, pure C99 library without pthreads.
THREADS ?= 1

WARN     = -std=c99 -pedantic -Wall -Wextra -Werror
CPPFLAGS = -Iinclude -Isrc
# no FMA contraction outside the kernels: what a seed determines must be
# the same bits on every architecture (src/base/rng.c)
BASEFLAGS = $(WARN) $(OPT) -g -fvisibility=hidden -ffp-contract=off $(SANFLAGS) $(EXTRA_CFLAGS)
ifeq ($(THREADS),0)
  BASEFLAGS += -DMLP_NO_THREADS
  THREADLIB =
else
  THREADLIB = -lpthread
endif
ifneq ($(SAN),)
  SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
# kernels: let the compiler fuse a*b+c into FMA and vectorise harder (a
# square root too: no kernel reads errno). The sanitizer build keeps its
# own OPT for them: it checks their memory and arithmetic, not their speed,
# and at -O3 under ASan the AVX-512 file alone took 139 s of that build's
# 168 (49 s at -O1), every other object and test waiting on it
KERNOPT = -O3
ifneq ($(SAN),)
  KERNOPT = $(OPT)
endif
KERNFLAGS = $(KERNOPT) -ffp-contract=fast -fno-math-errno

LIBS    = $(THREADLIB) -lm
ifeq ($(BUILD),build)
  LIBA  = lib/libmlp.a
else
  LIBA  = $(BUILD)/libmlp.a
endif

SRC      := $(shell find src -name '*.c' | LC_ALL=C sort)
OBJ      := $(SRC:%.c=$(BUILD)/obj/%.o)
# The test programs that run longest first, so that JOBS at a time end
# together: under valgrind test_threads, test_gemm, test_model and
# test_numbers took 239, 160, 131 and 50 s, the other 25 at most 7 s each
# (under qemu-s390x 193, 82, 102, 8 s; natively the sanitizer build's
# 1.8, 9.0, 1.5, 2.5 s)
LONG_TESTS := threads gemm model numbers
ALL_TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_*.c))
LONG_FIRST := $(foreach t,$(LONG_TESTS),$(filter $(BUILD)/tests/test_$(t),$(ALL_TESTS)))
TESTS    := $(LONG_FIRST) $(filter-out $(LONG_FIRST),$(ALL_TESTS))
# programs over MPI are built by mk/mpi.mk, where mpicc exists
MPI_PROGRAMS := $(wildcard examples/*_mpi.c) bench/dist.c
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(filter-out $(MPI_PROGRAMS),$(wildcard examples/*.c)))
BENCHES  := $(patsubst bench/%.c,$(BUILD)/bench/%,$(filter-out $(MPI_PROGRAMS),$(wildcard bench/*.c)))
HEADERS  := include/mlp.h $(shell find src -name '*.h')

VERSION := $(shell sed -n 's/^\#define MLP_VERSION "\(.*\)"/\1/p' include/mlp.h)

.PHONY: all lib examples check test-build test-run check-asan deps data demo bench install uninstall clean \
        check-valgrind fuzz format

all: $(LIBA) lib/mlp.pc

# exp.c's loops vectorise only where the compiler may compute both sides
# of a select (no kernel reads the exception flags); the flag stays off
# the tuned kernels, whose code it changes (src/kern/exp.c)
$(BUILD)/obj/src/kern/exp.o: KERNFLAGS += -fno-trapping-math

# vec.c's loops start on a 64-byte line: its short loops over few
# columns (the transpose of a narrow input) ran 25 % slower or not with
# where the linker happened to put them (2-4-1's predict at batch 256,
# 0.0029 or 0.0037 us a row); the tuned kernels keep their own layout
$(BUILD)/obj/src/kern/vec.o: KERNFLAGS += -falign-loops=64
# the streaming passes: the same bits from every instruction set's copy
# (src/kern/vec_fast.c), so no multiply and add fused into one rounding
$(BUILD)/obj/src/kern/vec_fast.o: KERNFLAGS += -ffp-contract=off

$(BUILD)/obj/src/kern/%.o: src/kern/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(BASEFLAGS) $(KERNFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(BASEFLAGS) -c $< -o $@

$(LIBA): $(OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $(OBJ)

lib/mlp.pc: include/mlp.h Makefile
	@mkdir -p lib
	# one file for both libraries: -lmlp finds the shared one when it is
	# installed (it records its own dependencies); pkg-config --static adds
	# what the archive needs (Libs.private)
	printf 'prefix=%s\nincludedir=$${prefix}/include\nlibdir=$${prefix}/lib\n\nName: mlp\nDescription: Multi-layer perceptrons in C99: tensors, autograd, layers, optimizers\nVersion: %s\nCflags: -I$${includedir}\nLibs: -L$${libdir} -lmlp\nLibs.private: %s\n' \
	    '$(PREFIX)' '$(VERSION)' '$(LIBS)' > $@

# ---- tests -----------------------------------------------------------------

CMOCKA_LIBS = -lcmocka

$(BUILD)/tests/%: tests/%.c $(LIBA) $(wildcard tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(BASEFLAGS) -Wno-unused-parameter $< $(LIBA) $(CMOCKA_LIBS) $(LIBS) -o $@

$(BUILD)/examples/%: examples/%.c $(wildcard examples/*.h) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(BASEFLAGS) $< $(LIBA) $(LIBS) -o $@

examples: $(EXAMPLES)

# `make check`: every cmocka test, then the same built with sanitizers.
# Each build and the test programs use JOBS processes (the online CPUs);
# `make check JOBS=1` does one thing at a time.
JOBS ?= $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
# (an empty JOBS would be -j without a limit)
override JOBS := $(or $(strip $(JOBS)),1)

SAN_VARS = BUILD=build/san SAN=1 OPT=-O1

check: deps
	$(MAKE) -j$(JOBS) test-build
	$(MAKE) test-run
	$(MAKE) -j$(JOBS) $(SAN_VARS) test-build
	$(MAKE) $(SAN_VARS) test-run

test-build: all $(TESTS) $(EXAMPLES)

test-run: test-build
	BUILD=$(BUILD) LIBA=$(LIBA) SAN=$(SAN) CC="$(CC)" RUNNER="$(RUNNER)" JOBS=$(JOBS) \
	    sh tests/run.sh $(TESTS)

deps:
	@sh tools/deps.sh check

data:
	@sh tools/deps.sh data

# ---- demo and benchmarks ---------------------------------------------------

demo: deps data all examples
	sh tools/demo.sh $(BUILD)/examples

BENCH_CFLAGS := $(shell sh tools/deps.sh openblas-cflags 2>/dev/null)
BENCH_LIBS   := $(shell sh tools/deps.sh openblas-libs 2>/dev/null)

$(BUILD)/bench/%: bench/%.c $(LIBA) $(wildcard bench/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(BASEFLAGS) -O3 $(BENCH_CFLAGS) $< $(LIBA) $(BENCH_LIBS) $(LIBS) -o $@

bench: all $(BENCHES) data
	sh tools/bench.sh $(BUILD)/bench

# `make format`: apply .clang-format to every C file (make check checks it).
format:
	sh tools/format.sh apply

# ---- install ---------------------------------------------------------------

install: all shared
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/mlp.h $(DESTDIR)$(PREFIX)/include/mlp.h
	install -m 644 lib/libmlp.a $(DESTDIR)$(PREFIX)/lib/libmlp.a
	install -m 755 lib/libmlp.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libmlp.so.$(VERSION)
	ln -sf libmlp.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libmlp.so
	sed 's|^prefix=.*|prefix=$(PREFIX)|' lib/mlp.pc > $(DESTDIR)$(PREFIX)/lib/pkgconfig/mlp.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/mlp.h $(DESTDIR)$(PREFIX)/lib/libmlp.a \
	      $(DESTDIR)$(PREFIX)/lib/libmlp.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME) \
	      $(DESTDIR)$(PREFIX)/lib/libmlp.so $(DESTDIR)$(PREFIX)/lib/pkgconfig/mlp.pc

clean:
	rm -rf build lib/libmlp.a lib/mlp.pc lib/libmlp.so lib/libmlp.so.*

# Further targets kept beside the area they serve (fuzzing, valgrind,
# peer benchmarks): one fragment per area.
-include $(wildcard mk/*.mk)
