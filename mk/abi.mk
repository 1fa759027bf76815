# mk/abi.mk - the shared library and its ABI check (docs/abi.md), included
# by the Makefile:
#   make shared        lib/libmlp.so.MAJOR.MINOR.PATCH, SONAME libmlp.so.MAJOR,
#                      symlinks libmlp.so.MAJOR and libmlp.so; exports the
#                      mlp_ symbols only (abi/libmlp.map)
#   make check-abi     the ABI of that library (libabigail's abidw) against
#                      the committed baseline abi/libmlp.abi with abidiff:
#                      an incompatible change fails with abidiff's report,
#                      additions pass and are listed; then a program built
#                      against the baseline's header (abi/mlp.h) runs
#                      against the new library, and tests/abi/breaks.sh
#                      shows the check failing on a scratch copy with a
#                      renumbered enum value and one with a removed function
#   make abi-baseline  record the current ABI as the baseline (abi/libmlp.abi
#                      and abi/mlp.h): after a release, or on purpose
#                      before 1.0

.PHONY: shared check-abi abi-baseline

VERSION_MAJOR := $(shell sed -n 's/^\#define MLP_VERSION_MAJOR \([0-9]*\).*/\1/p' include/mlp.h)
SONAME  := libmlp.so.$(VERSION_MAJOR)
SHLIB   := lib/libmlp.so.$(VERSION)
PIC     := build/pic
PIC_OBJ := $(SRC:%.c=$(PIC)/obj/%.o)

# position-independent objects: the same rules in their own build folder,
# JOBS at a time when the make that asks has no -j of its own (`make
# install`, `make check-abi`: serially they took most of those commands'
# time); under `make -j` they share its job slots
ifneq ($(BUILD),$(PIC))
$(PIC)/libmlp.a: $(SRC) $(HEADERS)
	$(MAKE) --no-print-directory $(if $(findstring jobserver,$(MAKEFLAGS)),,-j$(JOBS)) \
	    BUILD=$(PIC) EXTRA_CFLAGS="$(EXTRA_CFLAGS) -fPIC" $@
endif

$(SHLIB): $(PIC)/libmlp.a abi/libmlp.map
	@mkdir -p lib
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=abi/libmlp.map -Wl,--no-undefined \
	    $(PIC_OBJ) $(LIBS) -o $@
	ln -sf libmlp.so.$(VERSION) lib/$(SONAME)
	ln -sf $(SONAME) lib/libmlp.so

shared: $(SHLIB)

check-abi: shared
	@sh tools/deps.sh abi
	sh tools/check_abi.sh $(SHLIB) abi/libmlp.abi
	sh tools/check_abi.sh --old-program abi/mlp.h lib "$(CC)"
	sh tests/abi/breaks.sh

abi-baseline: shared
	@sh tools/deps.sh abi
	sh tools/check_abi.sh --dump $(SHLIB) > abi/libmlp.abi.tmp
	mv abi/libmlp.abi.tmp abi/libmlp.abi
	cp include/mlp.h abi/mlp.h
	@echo "abi-baseline: abi/libmlp.abi and abi/mlp.h now describe $(VERSION) as built here"
