# mk/cross.mk - the test suite on other architectures, included by the
# Makefile:
#   make check-cross ARCH=aarch64   AArch64 (the NEON kernel)
#   make check-cross ARCH=s390x     s390x, big-endian (the generic kernel)
# Cross-compiles the library, every cmocka test and the examples with
# Debian's gcc-<triplet>, then runs them under qemu-user with the C library
# and cmocka of that architecture from multiarch (QEMU_LD_PREFIX=/; the
# cross toolchain's own C library under /usr/<triplet> aborts at start-up
# under qemu-s390x). tools/deps.sh installs what is missing. Ends with the
# usual "check (build/cross-ARCH): N passed, 0 failed" line. MPI is the
# host's only (MPICC= leaves libmlp_mpi out).

.PHONY: check-cross portable-fixtures

CROSS_TRIPLET = $(ARCH)-linux-gnu
CROSS_VARS = BUILD=build/cross-$(ARCH) CC=$(CROSS_TRIPLET)-gcc AR=$(CROSS_TRIPLET)-ar MPICC= \
             CMOCKA_LIBS="-L/usr/lib/$(CROSS_TRIPLET) -lcmocka"

check-cross:
	@case "$(ARCH)" in aarch64|s390x) ;; \
	 *) echo "check-cross: say ARCH=aarch64 or ARCH=s390x"; exit 2 ;; esac
	@sh tools/deps.sh cross $(ARCH)
	@echo "check-cross: $(ARCH) with $(CROSS_TRIPLET)-gcc, run under qemu-$(ARCH)"
	$(MAKE) --no-print-directory -j$(JOBS) $(CROSS_VARS) test-build
	QEMU_LD_PREFIX=/ $(MAKE) --no-print-directory $(CROSS_VARS) RUNNER=qemu-$(ARCH) test-run

# The libmlp-written fixtures of tests/test_portable.c, made on x86-64 (the
# numpy- and hand-written ones: /usr/bin/python3 tools/gen_portable.py).
portable-fixtures: $(BUILD)/tests/test_portable
	$(BUILD)/tests/test_portable --write
