# segloss — plain GNU make build.
#   make                      build/libsegloss.{a,so} and build/segloss
#   make test                 unit + reference + CLI tests (build/)
#   make check                what CI runs: -Werror build + tests, then the
#                             same suite under ASan+UBSan (build-san/)
#   make install PREFIX=...   header, libraries, segloss.pc, binary
#   make fuzz                 libFuzzer binaries (clang) in build-fuzz/
#   make valgrind             CLI tests under valgrind memcheck (in check)
# Knobs: OPENMP=0 (no threads), SAN=1 (sanitizers), WERROR=1, BUILD=dir, CC=clang.

BUILD   ?= build
PREFIX  ?= /usr/local
OPENMP  ?= 1
SAN     ?= 0
WERROR  ?= 0
OPT     ?= -O2

VERSION := $(shell sed -n 's/^\#define SEGLOSS_VERSION_STRING "\(.*\)"/\1/p' include/segloss.h)
SOVER   := 0

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wformat=2 -Wundef -Wvla
ifeq ($(WERROR),1)
WARN += -Werror
endif

CFLAGS_ALL := -std=c11 -D_POSIX_C_SOURCE=200809L $(OPT) -g -fPIC $(WARN) \
              -Iinclude -Isrc $(CFLAGS)
LDLIBS_ALL := -lm $(LDLIBS)
# Image readers (src/io/png.c, src/io/nifti.c): libpng, and zlib for .nii.gz.
CFLAGS_ALL += $(shell pkg-config --cflags libpng)
LDLIBS_ALL += $(shell pkg-config --libs libpng) -lz
ifeq ($(OPENMP),1)
CFLAGS_ALL += -fopenmp -DSEGLOSS_OPENMP=1
LDLIBS_ALL += -fopenmp
endif
ifeq ($(SAN),1)
CFLAGS_ALL += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDLIBS_ALL += -fsanitize=address,undefined
endif

LIB_SRC  := $(sort $(wildcard src/*/*.c))
CLI_SRC  := $(sort $(wildcard cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
DEPS     := $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

.PHONY: all test check clean install uninstall install-check fuzz fuzz-bins valgrind

# Fuzz targets (fuzz/fuzz_*.c, docs/fuzzing.md). Each also builds with the
# normal compiler as a replay driver that `make test` runs over
# fuzz/corpus/T/ and fuzz/crashes/T/. The CLI target links the CLI objects
# and cli/main.c compiled with main renamed.
FUZZ_TARGETS := npy png nifti loss cli
FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_OBJ     := $(FUZZ_TARGETS:%=$(BUILD)/obj/fuzz/fuzz_%.o) $(BUILD)/obj/fuzz/fuzz_util.o \
                $(BUILD)/obj/fuzz/replay_main.o $(BUILD)/obj/fuzz/cli_main.o
CLI_CMD_OBJ  := $(filter-out $(BUILD)/obj/cli/main.o,$(CLI_OBJ))
REPLAY_BINS  := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)
DEPS         += $(FUZZ_OBJ:.o=.d)

all: $(BUILD)/libsegloss.a $(BUILD)/libsegloss.so $(BUILD)/segloss

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# The CLI sees the public header only: no -Isrc.
CFLAGS_CLI := $(filter-out -Isrc,$(CFLAGS_ALL))
$(BUILD)/obj/cli/%.o: cli/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_CLI) -MMD -MP -c $< -o $@

$(BUILD)/libsegloss.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libsegloss.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libsegloss.so.$(SOVER) -o $@ $^ $(LDFLAGS) $(LDLIBS_ALL)

$(BUILD)/segloss: $(CLI_OBJ) $(BUILD)/libsegloss.a
	$(CC) -o $@ $(CLI_OBJ) $(BUILD)/libsegloss.a $(LDFLAGS) $(LDLIBS_ALL)

$(BUILD)/test_runner: $(TEST_OBJ) $(BUILD)/libsegloss.a
	$(CC) -o $@ $(TEST_OBJ) $(BUILD)/libsegloss.a $(LDFLAGS) $(LDLIBS_ALL)

# The README example, compiled exactly as shown there (extracted by the test).
$(BUILD)/readme_example: README.md $(BUILD)/libsegloss.a
	@mkdir -p $(BUILD)
	sed -n '/<!-- example:begin -->/,/<!-- example:end -->/p' README.md | sed '1,2d;$$d' | sed '$$d' > $(BUILD)/readme_example.c
	$(CC) $(CFLAGS_ALL) -o $@ $(BUILD)/readme_example.c $(BUILD)/libsegloss.a $(LDFLAGS) $(LDLIBS_ALL)

test: all $(BUILD)/test_runner $(BUILD)/readme_example $(REPLAY_BINS)
	$(BUILD)/test_runner
	SEGLOSS_FORCE_SCALAR=1 $(BUILD)/test_runner
	SEGLOSS=$(BUILD)/segloss README_EXAMPLE=$(BUILD)/readme_example bash tests/cli/run.sh
	SEGLOSS=$(BUILD)/segloss bash tests/cli/eval.sh
	SEGLOSS=$(BUILD)/segloss bash tests/cli/faults.sh
	for t in $(FUZZ_TARGETS); do $(BUILD)/fuzz/replay_$$t fuzz/corpus/$$t fuzz/crashes/$$t || exit 1; done
	SEGLOSS_FORCE_SCALAR=1 $(BUILD)/fuzz/replay_loss --name "loss (scalar kernels)" fuzz/corpus/loss fuzz/crashes/loss

$(BUILD)/obj/fuzz/cli_main.o: cli/main.c fuzz/cli_main.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_CLI) -Dmain=segloss_cli_main -include fuzz/cli_main.h -MMD -MP -c $< -o $@

$(BUILD)/fuzz/replay_%: $(BUILD)/obj/fuzz/fuzz_%.o $(BUILD)/obj/fuzz/replay_main.o $(BUILD)/obj/fuzz/fuzz_util.o $(BUILD)/libsegloss.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(filter %.o,$^) $(BUILD)/libsegloss.a $(LDFLAGS) $(LDLIBS_ALL)

$(BUILD)/fuzz/replay_cli: $(BUILD)/obj/fuzz/fuzz_cli.o $(BUILD)/obj/fuzz/cli_main.o $(CLI_CMD_OBJ) \
                          $(BUILD)/obj/fuzz/replay_main.o $(BUILD)/obj/fuzz/fuzz_util.o $(BUILD)/libsegloss.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(filter %.o,$^) $(BUILD)/libsegloss.a $(LDFLAGS) $(LDLIBS_ALL)

# libFuzzer binaries: everything instrumented, built by a sub-make into
# $(FUZZ_BUILD) with clang (no OpenMP: one thread per input).
fuzz:
	@mkdir -p $(FUZZ_BUILD) && echo '*' > $(FUZZ_BUILD)/.gitignore
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) OPENMP=0 SAN=0 WERROR=0 OPT=-O1 \
	    CFLAGS="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" fuzz-bins

fuzz-bins: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/obj/fuzz/fuzz_%.o $(BUILD)/obj/fuzz/fuzz_util.o $(BUILD)/libsegloss.a
	@mkdir -p $(dir $@)
	$(CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $(filter %.o,$^) $(BUILD)/libsegloss.a $(LDFLAGS) $(LDLIBS_ALL)

$(BUILD)/fuzz/fuzz_cli: $(BUILD)/obj/fuzz/fuzz_cli.o $(BUILD)/obj/fuzz/cli_main.o $(CLI_CMD_OBJ) \
                        $(BUILD)/obj/fuzz/fuzz_util.o $(BUILD)/libsegloss.a
	@mkdir -p $(dir $@)
	$(CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $(filter %.o,$^) $(BUILD)/libsegloss.a $(LDFLAGS) $(LDLIBS_ALL)

# The CLI golden tests (run.sh, eval.sh, faults.sh) with every segloss
# run under valgrind memcheck (tests/valgrind-segloss.sh): any error or
# definite leak fails the test that triggered it.
valgrind: $(BUILD)/segloss
	SEGLOSS_REAL=$(abspath $(BUILD)/segloss) SEGLOSS=tests/valgrind-segloss.sh bash tests/cli/run.sh
	SEGLOSS_REAL=$(abspath $(BUILD)/segloss) SEGLOSS=tests/valgrind-segloss.sh bash tests/cli/eval.sh
	SEGLOSS_REAL=$(abspath $(BUILD)/segloss) SEGLOSS=tests/valgrind-segloss.sh bash tests/cli/faults.sh

check:
	$(MAKE) WERROR=1 test
	$(MAKE) WERROR=1 valgrind
	$(MAKE) WERROR=1 install-check
	$(MAKE) WERROR=1 SAN=1 BUILD=build-san test

# Installs into a staging prefix and builds the README example against it
# through pkg-config, shared and static.
install-check: $(BUILD)/readme_example
	rm -rf $(BUILD)/stage
	$(MAKE) install PREFIX=$(CURDIR)/$(BUILD)/stage
	PKG_CONFIG_PATH=$(CURDIR)/$(BUILD)/stage/lib/pkgconfig sh -c '\
	  $(CC) $(BUILD)/readme_example.c $$(pkg-config --cflags --libs segloss) -o $(BUILD)/stage/ex-shared && \
	  $(CC) $(BUILD)/readme_example.c $$(pkg-config --cflags segloss) $(BUILD)/stage/lib/libsegloss.a $$(pkg-config --libs-only-other --libs-only-l --static segloss | sed "s/-lsegloss//") -o $(BUILD)/stage/ex-static'
	LD_LIBRARY_PATH=$(BUILD)/stage/lib $(BUILD)/stage/ex-shared | grep -qx 'loss 0.6622 grad -0.0860 0.1465 0.1543 -0.0799'
	$(BUILD)/stage/ex-static | grep -qx 'loss 0.6622 grad -0.0860 0.1465 0.1543 -0.0799'
	test -x $(BUILD)/stage/bin/segloss && test -f $(BUILD)/stage/include/segloss.h
	@echo "install check: pkg-config build (shared and static) OK"

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/segloss.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libsegloss.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libsegloss.so $(DESTDIR)$(PREFIX)/lib/libsegloss.so.$(VERSION)
	ln -sf libsegloss.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libsegloss.so.$(SOVER)
	ln -sf libsegloss.so.$(SOVER) $(DESTDIR)$(PREFIX)/lib/libsegloss.so
	install -m 755 $(BUILD)/segloss $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@OMP@|$(if $(filter 1,$(OPENMP)),-fopenmp,)|' \
	    segloss.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/segloss.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/segloss.h $(DESTDIR)$(PREFIX)/lib/libsegloss.* \
	      $(DESTDIR)$(PREFIX)/lib/pkgconfig/segloss.pc $(DESTDIR)$(PREFIX)/bin/segloss

clean:
	rm -rf build build-san $(FUZZ_BUILD)

-include $(DEPS)
