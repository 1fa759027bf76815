# mk/cli.mk - the `mlp` command (cli/), built with the library by `make`,
# installed by `make install` with its man page:
#   $(BUILD)/bin/mlp     the command, linked against the archive
# It uses the public header only, like any program.

CLI_SRC := $(wildcard cli/*.c)
CLI_BIN := $(BUILD)/bin/mlp

.PHONY: cli install-cli uninstall-cli

all: $(CLI_BIN)
cli: $(CLI_BIN)

$(CLI_BIN): $(CLI_SRC) cli/cli.h include/mlp.h $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) -Iinclude $(BASEFLAGS) $(CLI_SRC) $(LIBA) $(LIBS) -o $@

install: install-cli
install-cli: $(CLI_BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(CLI_BIN) $(DESTDIR)$(PREFIX)/bin/mlp
	install -m 644 cli/mlp.1 $(DESTDIR)$(PREFIX)/share/man/man1/mlp.1

uninstall: uninstall-cli
uninstall-cli:
	rm -f $(DESTDIR)$(PREFIX)/bin/mlp $(DESTDIR)$(PREFIX)/share/man/man1/mlp.1

# The CMake package: PREFIX/lib/cmake/mlp/mlpConfig.cmake defines mlp::mlp.
CMAKE_LIBS = $(if $(filter -lpthread,$(LIBS)),Threads::Threads;)m
CMAKE_DIR  = $(DESTDIR)$(PREFIX)/lib/cmake/mlp

.PHONY: install-cmake uninstall-cmake
install: install-cmake
install-cmake:
	install -d $(CMAKE_DIR)
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@CMAKE_LIBS@|$(CMAKE_LIBS)|g' \
	    cmake/mlpConfig.cmake.in > $(CMAKE_DIR)/mlpConfig.cmake
	sed -e 's|@VERSION@|$(VERSION)|g' cmake/mlpConfigVersion.cmake.in \
	    > $(CMAKE_DIR)/mlpConfigVersion.cmake

uninstall: uninstall-cmake
uninstall-cmake:
	rm -f $(CMAKE_DIR)/mlpConfig.cmake $(CMAKE_DIR)/mlpConfigVersion.cmake
	-rmdir $(CMAKE_DIR) 2>/dev/null
