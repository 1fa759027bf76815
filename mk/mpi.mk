# mk/mpi.mk - libmlp_mpi, libmlp's communicator over MPI (docs/distributed.md),
# included by the Makefile; everything here is active only where mpicc is
# found (Debian: libopenmpi-dev and openmpi-bin, `sh tools/deps.sh mpi`):
#   make                   also lib/libmlp_mpi.a and lib/mlp-mpi.pc
#   make install           also mlp_mpi.h, libmlp_mpi.a and mlp-mpi.pc
#   make examples          also $(BUILD)/examples/fashion_mnist_mpi
#   make check             also builds the MPI test and example that
#                          tests/check_mpi.sh runs (plain build only)
#   make check-mpi         installs MPI if needed (tools/deps.sh mpi), then
#                          tests/check_mpi.sh (kill-and-resume at 1, 2 and 4
#                          ranks among others) with the whole 2-epoch
#                          Fashion-MNIST recipe at 1, 2 and 4 ranks (CI)
#   make bench-dist        bench/dist at 1 and 2 ranks
# libmlp.a itself never sees MPI. mpicc wraps $(CC) (OMPI_CC, MPICH_CC).

MPICC    ?= $(shell command -v mpicc 2>/dev/null)
MPI_CC    = OMPI_CC="$(CC)" MPICH_CC="$(CC)" $(MPICC)
MPI_LIBA := $(dir $(LIBA))libmlp_mpi.a
# the flags mpicc adds, for users of pkg-config (Open MPI, then MPICH)
MPI_CFLAGS = $(shell $(MPICC) --showme:compile 2>/dev/null || $(MPICC) -compile_info 2>/dev/null | cut -d' ' -f2-)
MPI_LIBS   = $(shell $(MPICC) --showme:link 2>/dev/null || $(MPICC) -link_info 2>/dev/null | cut -d' ' -f2-)
MPI_EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*_mpi.c))
MPI_TESTS := $(BUILD)/mpi/test_mpi $(MPI_EXAMPLES)

.PHONY: install-mpi uninstall-mpi check-mpi bench-dist clean-mpi

ifneq ($(MPICC),)
ifeq ($(SAN),)
all: $(MPI_LIBA) lib/mlp-mpi.pc
examples: $(MPI_EXAMPLES)
test-build: $(MPI_TESTS)
install: install-mpi
uninstall: uninstall-mpi
endif
endif
clean: clean-mpi

$(BUILD)/obj/mpi/%.o: mpi/%.c include/mlp_mpi.h include/mlp.h
	@mkdir -p $(dir $@)
	$(MPI_CC) $(CPPFLAGS) $(BASEFLAGS) -c $< -o $@

$(MPI_LIBA): $(BUILD)/obj/mpi/mlp_mpi.o
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

lib/mlp-mpi.pc: include/mlp.h mk/mpi.mk
	@mkdir -p lib
	printf 'prefix=%s\nincludedir=$${prefix}/include\nlibdir=$${prefix}/lib\n\nName: mlp-mpi\nDescription: libmlp communicator over MPI: data-parallel training\nVersion: %s\nRequires: mlp\nCflags: -I$${includedir} %s\nLibs: -L$${libdir} -lmlp_mpi %s\n' \
	    '$(PREFIX)' '$(VERSION)' '$(MPI_CFLAGS)' '$(MPI_LIBS)' > $@

$(BUILD)/mpi/test_mpi: mpi/tests/test_mpi.c tests/testutil.h $(MPI_LIBA) $(LIBA)
	@mkdir -p $(dir $@)
	$(MPI_CC) $(CPPFLAGS) $(BASEFLAGS) $< $(MPI_LIBA) $(LIBA) $(CMOCKA_LIBS) $(LIBS) -o $@

$(BUILD)/examples/%_mpi: examples/%_mpi.c examples/%.c $(wildcard examples/*.h) $(MPI_LIBA) $(LIBA)
	@mkdir -p $(dir $@)
	$(MPI_CC) $(CPPFLAGS) $(BASEFLAGS) $< $(MPI_LIBA) $(LIBA) $(LIBS) -o $@

$(BUILD)/bench/dist: bench/dist.c $(MPI_LIBA) $(LIBA)
	@mkdir -p $(dir $@)
	$(MPI_CC) $(CPPFLAGS) $(BASEFLAGS) -O3 $< $(MPI_LIBA) $(LIBA) $(LIBS) -o $@

install-mpi: $(MPI_LIBA) lib/mlp-mpi.pc
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/mlp_mpi.h $(DESTDIR)$(PREFIX)/include/mlp_mpi.h
	install -m 644 $(MPI_LIBA) $(DESTDIR)$(PREFIX)/lib/libmlp_mpi.a
	sed 's|^prefix=.*|prefix=$(PREFIX)|' lib/mlp-mpi.pc > $(DESTDIR)$(PREFIX)/lib/pkgconfig/mlp-mpi.pc

uninstall-mpi:
	rm -f $(DESTDIR)$(PREFIX)/include/mlp_mpi.h $(DESTDIR)$(PREFIX)/lib/libmlp_mpi.a \
	      $(DESTDIR)$(PREFIX)/lib/pkgconfig/mlp-mpi.pc

clean-mpi:
	rm -f lib/libmlp_mpi.a lib/mlp-mpi.pc

# mpicc may only exist after deps.sh: the builds run in a new make
check-mpi: deps data
	@sh tools/deps.sh mpi
	$(MAKE) all $(MPI_TESTS) $(BUILD)/tests/test_resume
	BUILD=$(BUILD) MPI_RECIPE=--full sh tests/check_mpi.sh

bench-dist: data
	@sh tools/deps.sh mpi
	$(MAKE) all $(BUILD)/bench/dist
	sh tools/bench_dist.sh $(BUILD)/bench/dist
