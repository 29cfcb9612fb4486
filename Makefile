# segloss — plain GNU make build.
#   make                      build/libsegloss.{a,so}, build/libsegloss_io.{a,so}
#                             and build/segloss
#   make test                 unit + reference + CLI tests, fuzz replays (build/)
#   make qemu-test            the unit tests built for aarch64 and run under
#                             qemu-user (NEON kernels; in check)
#   make check                what CI runs: -Werror build + tests, aarch64
#                             unit tests under qemu, valgrind,
#                             install checks (pkg-config, CMake), then the same
#                             tests under ASan+UBSan (build-san/); ends with one
#                             line "check: N passed, M failed"
#   make install PREFIX=...   header, libraries, segloss.pc, segloss-io.pc,
#                             CMake package, binary (also DESTDIR, LIBDIR, ...)
#   make bench                bench/*.c programs in build/bench/
#   make fuzz                 libFuzzer binaries (clang) in build-fuzz/
#   make valgrind             CLI tests under valgrind memcheck (in check)
#   make python               the Python package (import segloss) in
#                             build/python/ (PYTHONPATH=build/python)
#   make python-test          its pytest suite (tests/python/; in check when
#                             $(PYTHON) has numpy and pytest, skipped otherwise)
# Knobs: OPENMP=0 (no threads), SAN=1 (sanitizers), WERROR=1, BUILD=dir,
# CC=clang, CPPFLAGS/CFLAGS/LDFLAGS/LDLIBS, PKG_CONFIG.
#
# Two libraries: libsegloss (losses, metrics, .npy; needs only libm and the
# OpenMP runtime) and libsegloss_io (PNG/NIfTI readers, IO_SRC; needs
# libsegloss, libpng, zlib and libdeflate). Both are built with
# -fvisibility=hidden: the shared ones export only the functions that
# include/segloss.h marks SEGLOSS_API (checked by `make test`).

BUILD      ?= build
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR     ?= $(PREFIX)/bin
PKG_CONFIG ?= pkg-config
OPENMP     ?= 1
SAN        ?= 0
WERROR     ?= 0
OPT        ?= -O2

VERSION := $(shell sed -n 's/^\#define SEGLOSS_VERSION_STRING "\(.*\)"/\1/p' include/segloss.h)
SOVER   := 0

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wformat=2 -Wundef -Wvla
ifeq ($(WERROR),1)
WARN += -Werror
endif

CPPFLAGS_ALL := -Iinclude -Isrc -D_POSIX_C_SOURCE=200809L $(CPPFLAGS)
CFLAGS_ALL   := -std=c11 $(CPPFLAGS_ALL) $(OPT) -g -fPIC $(WARN) $(CFLAGS)
# Link flags of a program or library that uses libsegloss (LIBS_CORE) or
# libsegloss_io too (LIBS_IO: libpng, and zlib and libdeflate for .nii.gz).
LIBS_CORE := -lm
CFLAGS_ALL += $(shell $(PKG_CONFIG) --cflags libpng)
LIBS_IO   := $(shell $(PKG_CONFIG) --libs libpng zlib libdeflate)
# OMP_LIBS: what a static link of libsegloss needs for OpenMP with this
# compiler, without -fopenmp: the libraries its driver adds for -fopenmp
# (gcc: -lgomp -lpthread; clang: -lomp -lpthread). Goes into segloss.pc's
# Libs.private and the CMake package; empty with OPENMP=0. (install-check
# links the README example that way.)
ifeq ($(OPENMP),1)
CFLAGS_ALL += -fopenmp -DSEGLOSS_OPENMP=1
LIBS_CORE  += -fopenmp
drv_libs = $(shell $(CC) -\#\#\# $(1) -o /dev/null -x c /dev/null 2>&1 | grep -v '^COLLECT' | \
             tr ' ' '\n' | tr -d '"' | grep -x -- '-l.*')
OMP_LIBS  = $(filter-out $(call drv_libs,),$(call drv_libs,-fopenmp))
endif
ifeq ($(SAN),1)
CFLAGS_ALL += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LIBS_CORE  += -fsanitize=address,undefined
endif
LIBS_CORE += $(LDLIBS)
LIBS_IO   += $(LIBS_CORE)

ALL_SRC  := $(sort $(wildcard src/*/*.c))
# libsegloss_io: the readers that need libpng or zlib (a file added here
# must not be needed by libsegloss: its .so links with --no-undefined).
IO_SRC   := $(filter $(addprefix src/io/,image.c inflate.c nifti.c nifti_fields.c png.c),$(ALL_SRC))
LIB_SRC  := $(filter-out $(IO_SRC),$(ALL_SRC))
CLI_SRC  := $(sort $(wildcard cli/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
IO_OBJ   := $(IO_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
DEPS     := $(LIB_OBJ:.o=.d) $(IO_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
# Static libraries for the CLI, tests and drivers (internal names reachable).
STATIC   := $(BUILD)/libsegloss_io.a $(BUILD)/libsegloss.a
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

$(LIB_OBJ) $(IO_OBJ): CFLAGS_ALL += -fvisibility=hidden

# Per-file ISA flags of the kernel tables (x86 targets only): these two
# files alone are compiled for AVX2 / AVX-512, and their code runs only
# after src/kernels/dispatch.c has checked the CPU. No -march=native: the
# binaries run on any CPU of the target architecture. On other targets the
# files compile to a NULL table (aarch64 builds vec_neon.c as it is).
TARGET_MACHINE := $(shell $(CC) -dumpmachine)
ifneq ($(filter x86_64-% i386-% i486-% i586-% i686-%,$(TARGET_MACHINE)),)
$(BUILD)/obj/src/kernels/vec_avx2.o: CFLAGS_ALL += -mavx2 -mfma
$(BUILD)/obj/src/kernels/vec_avx512.o: CFLAGS_ALL += -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma
endif

# Test counts (tools/count.sh): every runner records "passed failed" under
# COUNTS; a runner's failure does not stop the others, the final
# `count.sh total` (or `status` inside `make check`) fails instead.
COUNTS      ?= $(BUILD)/counts
COUNT_QUIET ?= 0
TAG         := $(notdir $(BUILD))
COUNT       := bash tools/count.sh
ifeq ($(COUNT_QUIET),1)
COUNT_END    = $(COUNT) status $(COUNTS) $(1)
else
COUNT_END    = $(COUNT) total $(2) $(COUNTS) $(1)
endif

# No target is intermediate: objects built through pattern chains (the fuzz
# drivers') are kept, so a second `make test` compiles nothing.
.SECONDARY:

.PHONY: all test check clean install uninstall install-check fuzz fuzz-bins valgrind bench \
        python python-test qemu-test

# Fuzz targets (fuzz/fuzz_*.c, docs/fuzzing.md). Each also builds with the
# normal compiler as a replay driver that `make test` runs over
# fuzz/corpus/T/ and fuzz/crashes/T/. The CLI target links the CLI objects
# and cli/main.c compiled with main renamed.
FUZZ_TARGETS := npy png nifti loss loss2 metric cli
FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_OBJ     := $(FUZZ_TARGETS:%=$(BUILD)/obj/fuzz/fuzz_%.o) $(BUILD)/obj/fuzz/fuzz_util.o \
                $(BUILD)/obj/fuzz/replay_main.o $(BUILD)/obj/fuzz/cli_main.o \
                $(BUILD)/obj/fuzz/loss_common.o
CLI_CMD_OBJ  := $(filter-out $(BUILD)/obj/cli/main.o,$(CLI_OBJ))
REPLAY_BINS  := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay_%)
DEPS         += $(FUZZ_OBJ:.o=.d)

all: $(BUILD)/libsegloss.a $(BUILD)/libsegloss.so $(BUILD)/libsegloss_io.a \
     $(BUILD)/libsegloss_io.so $(BUILD)/segloss

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

$(BUILD)/libsegloss_io.a: $(IO_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/libsegloss.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libsegloss.so.$(SOVER) -Wl,--no-undefined -o $@ $^ \
	    $(LDFLAGS) $(LIBS_CORE)

$(BUILD)/libsegloss_io.so: $(IO_OBJ) $(BUILD)/libsegloss.so
	$(CC) -shared -Wl,-soname,libsegloss_io.so.$(SOVER) -Wl,--no-undefined -o $@ $(IO_OBJ) \
	    -L$(BUILD) -lsegloss $(LDFLAGS) $(LIBS_IO)

$(BUILD)/segloss: $(CLI_OBJ) $(STATIC)
	$(CC) -o $@ $(CLI_OBJ) $(STATIC) $(LDFLAGS) $(LIBS_IO)

$(BUILD)/test_runner: $(TEST_OBJ) $(STATIC)
	$(CC) -o $@ $(TEST_OBJ) $(STATIC) $(LDFLAGS) $(LIBS_IO)

# The README example, compiled as shown there: libsegloss.a alone, no
# libpng or zlib (a loss-only program needs neither).
$(BUILD)/readme_example.c: README.md
	@mkdir -p $(BUILD)
	sed -n '/<!-- example:begin -->/,/<!-- example:end -->/p' README.md | sed '1,2d;$$d' | sed '$$d' > $@

$(BUILD)/readme_example: $(BUILD)/readme_example.c $(BUILD)/libsegloss.a
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libsegloss.a $(LDFLAGS) $(LIBS_CORE)

# bench/*.c, built by `make test` so that they cannot rot (bench_kernels
# also runs once on a small size).
bench: $(BENCH_BINS)

$(BUILD)/bench/%: bench/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(STATIC) $(LDFLAGS) $(LIBS_IO)

# tests/cli/html.sh's helper (tag balance, screenshot pixels, generated
# cases): libpng only, no segloss code.
$(BUILD)/html_tool: tests/cli/html_tool.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LDFLAGS) $(LIBS_IO)

test: all $(BUILD)/test_runner $(BUILD)/readme_example $(REPLAY_BINS) $(BENCH_BINS) $(BUILD)/html_tool
	@mkdir -p $(COUNTS) && rm -f $(COUNTS)/$(TAG).*
	$(COUNT) run $(COUNTS) $(TAG).unit -- $(BUILD)/test_runner
	$(COUNT) run $(COUNTS) $(TAG).unit-scalar -- env SEGLOSS_FORCE_SCALAR=1 $(BUILD)/test_runner
	$(COUNT) run $(COUNTS) $(TAG).cli -- env SEGLOSS=$(BUILD)/segloss README_EXAMPLE=$(BUILD)/readme_example bash tests/cli/run.sh
	$(COUNT) run $(COUNTS) $(TAG).eval -- env SEGLOSS=$(BUILD)/segloss bash tests/cli/eval.sh
	$(COUNT) run $(COUNTS) $(TAG).faults -- env SEGLOSS=$(BUILD)/segloss bash tests/cli/faults.sh
	$(COUNT) run $(COUNTS) $(TAG).instances -- env SEGLOSS=$(BUILD)/segloss bash tests/cli/instances.sh
	$(COUNT) run $(COUNTS) $(TAG).scale -- env SEGLOSS=$(BUILD)/segloss bash tests/cli/scale.sh
	$(COUNT) run $(COUNTS) $(TAG).html -- env SEGLOSS=$(BUILD)/segloss HTML_TOOL=$(BUILD)/html_tool \
	    bash tests/cli/html.sh
	for t in $(FUZZ_TARGETS); do \
	    $(COUNT) run $(COUNTS) $(TAG).fuzz-$$t -- $(BUILD)/fuzz/replay_$$t fuzz/corpus/$$t fuzz/crashes/$$t; done
	$(COUNT) run $(COUNTS) $(TAG).fuzz-loss-scalar -- env SEGLOSS_FORCE_SCALAR=1 $(BUILD)/fuzz/replay_loss \
	    --name "loss (scalar kernels)" fuzz/corpus/loss fuzz/crashes/loss
	$(COUNT) one $(COUNTS) $(TAG).exports -- \
	    sh tools/api-symbols.sh check include/segloss.h $(BUILD)/libsegloss.so $(BUILD)/libsegloss_io.so
	$(COUNT) one $(COUNTS) $(TAG).core-no-png -- sh -c '! readelf -d $(BUILD)/libsegloss.so $(BUILD)/readme_example | \
	    grep -E "NEEDED.*lib(png|z)[.0-9]*so"'
	$(COUNT) one $(COUNTS) $(TAG).bench-kernels -- sh -c '$(BUILD)/bench/bench_kernels 20000 1 >/dev/null'
	@$(call COUNT_END,$(TAG).,test)

# The unit tests without the PNG/NIfTI readers (tests/test_io_*.c):
# libsegloss alone, for targets without libpng (the aarch64 cross build).
CORE_TEST_OBJ := $(filter-out $(BUILD)/obj/tests/test_io_%,$(TEST_OBJ))
$(BUILD)/test_runner_core: $(CORE_TEST_OBJ) $(BUILD)/libsegloss.a
	$(CC) -o $@ $(CORE_TEST_OBJ) $(BUILD)/libsegloss.a $(LDFLAGS) $(LIBS_CORE)

# aarch64 (the NEON kernels): the library and the unit tests cross-compiled
# with Debian's gcc-aarch64-linux-gnu and run under qemu-user, the ulp sweep
# on every 997th float (tools/setup-debian.sh installs both; without them
# the runner reports a skip). A native aarch64 build runs `make test` as is.
CROSS_CC    ?= aarch64-linux-gnu-gcc
QEMU        ?= qemu-aarch64
CROSS_BUILD ?= build-aarch64
CROSS_ROOT  ?= /usr/aarch64-linux-gnu
qemu-test:
	@mkdir -p $(COUNTS) && rm -f $(COUNTS)/$(TAG).qemu-*
	@if command -v $(CROSS_CC) >/dev/null 2>&1 && command -v $(QEMU) >/dev/null 2>&1; then \
	    $(MAKE) BUILD=$(CROSS_BUILD) CC=$(CROSS_CC) PKG_CONFIG=true $(CROSS_BUILD)/test_runner_core && \
	    $(COUNT) run $(COUNTS) $(TAG).qemu-unit -- env QEMU_LD_PREFIX=$(CROSS_ROOT) SEGLOSS_SWEEP_STRIDE=997 \
	        $(QEMU) $(CROSS_BUILD)/test_runner_core && \
	    $(call COUNT_END,$(TAG).qemu-,qemu-test); \
	else \
	    echo "SKIP: aarch64 tests under qemu ($(CROSS_CC) or $(QEMU) not installed; see tools/setup-debian.sh)"; \
	fi

$(BUILD)/obj/fuzz/cli_main.o: cli/main.c fuzz/cli_main.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_CLI) -Dmain=segloss_cli_main -include fuzz/cli_main.h -MMD -MP -c $< -o $@

$(BUILD)/fuzz/replay_%: $(BUILD)/obj/fuzz/fuzz_%.o $(BUILD)/obj/fuzz/replay_main.o $(BUILD)/obj/fuzz/fuzz_util.o $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(filter %.o,$^) $(STATIC) $(LDFLAGS) $(LIBS_IO)

# The loss targets share fuzz/loss_common.c.
$(BUILD)/fuzz/replay_loss $(BUILD)/fuzz/replay_loss2 $(BUILD)/fuzz/fuzz_loss \
    $(BUILD)/fuzz/fuzz_loss2: $(BUILD)/obj/fuzz/loss_common.o

$(BUILD)/fuzz/replay_cli: $(BUILD)/obj/fuzz/fuzz_cli.o $(BUILD)/obj/fuzz/cli_main.o $(CLI_CMD_OBJ) \
                          $(BUILD)/obj/fuzz/replay_main.o $(BUILD)/obj/fuzz/fuzz_util.o $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(filter %.o,$^) $(STATIC) $(LDFLAGS) $(LIBS_IO)

# libFuzzer binaries: everything instrumented, built by a sub-make into
# $(FUZZ_BUILD) with clang (no OpenMP: one thread per input).
fuzz:
	@mkdir -p $(FUZZ_BUILD) && echo '*' > $(FUZZ_BUILD)/.gitignore
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) OPENMP=0 SAN=0 WERROR=0 OPT=-O1 \
	    CFLAGS="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" fuzz-bins

fuzz-bins: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

$(BUILD)/fuzz/fuzz_%: $(BUILD)/obj/fuzz/fuzz_%.o $(BUILD)/obj/fuzz/fuzz_util.o $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $(filter %.o,$^) $(STATIC) $(LDFLAGS) $(LIBS_IO)

$(BUILD)/fuzz/fuzz_cli: $(BUILD)/obj/fuzz/fuzz_cli.o $(BUILD)/obj/fuzz/cli_main.o $(CLI_CMD_OBJ) \
                        $(BUILD)/obj/fuzz/fuzz_util.o $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $(filter %.o,$^) $(STATIC) $(LDFLAGS) $(LIBS_IO)

# The CLI golden tests (run.sh, eval.sh, faults.sh, html.sh) with every segloss
# run under valgrind memcheck (tests/valgrind-segloss.sh): any error or
# definite leak fails the test that triggered it.
VG := env SEGLOSS_REAL=$(abspath $(BUILD)/segloss) SEGLOSS=tests/valgrind-segloss.sh
valgrind: $(BUILD)/segloss $(BUILD)/html_tool
	@mkdir -p $(COUNTS) && rm -f $(COUNTS)/valgrind.*
	$(COUNT) run $(COUNTS) valgrind.cli -- $(VG) bash tests/cli/run.sh
	$(COUNT) run $(COUNTS) valgrind.eval -- $(VG) bash tests/cli/eval.sh
	$(COUNT) run $(COUNTS) valgrind.faults -- $(VG) bash tests/cli/faults.sh
	$(COUNT) run $(COUNTS) valgrind.instances -- $(VG) bash tests/cli/instances.sh
	$(COUNT) run $(COUNTS) valgrind.scale -- $(VG) SCALE_QUICK=1 bash tests/cli/scale.sh
	$(COUNT) run $(COUNTS) valgrind.html -- $(VG) HTML_TOOL=$(BUILD)/html_tool bash tests/cli/html.sh
	@$(call COUNT_END,valgrind.,valgrind)

# The Python package: the modules of python/segloss/ and the two shared
# libraries side by side in build/python/segloss/ (loaded by path).
# python-test runs tests/python/ with pytest; tools/pytest-count.sh turns
# pytest's summary into the "python tests: N run, M failed" line. Without
# numpy or pytest in $(PYTHON) it says so and counts nothing, so that the
# C suite runs on a machine without Python. PYTHON: Debian's interpreter
# (the one python3-numpy/python3-torch install into) when present.
PYTHON  ?= $(firstword $(wildcard /usr/bin/python3) python3)
PY_SRC  := $(wildcard python/segloss/*.py)
python: $(BUILD)/libsegloss.so $(BUILD)/libsegloss_io.so $(PY_SRC)
	@rm -rf $(BUILD)/python/segloss && mkdir -p $(BUILD)/python/segloss
	cp $(PY_SRC) $(BUILD)/libsegloss.so $(BUILD)/libsegloss_io.so $(BUILD)/python/segloss/

python-test: python $(BUILD)/segloss
	@mkdir -p $(COUNTS) && rm -f $(COUNTS)/python.*
	@if $(PYTHON) -c 'import numpy, pytest' 2>/dev/null; then \
	    $(COUNT) run $(COUNTS) python.pytest -- env PYTHON=$(PYTHON) SEGLOSS=$(BUILD)/segloss \
	        PYTHONPATH=$(BUILD)/python bash tools/pytest-count.sh tests/python; \
	else echo "python tests: skipped ($(PYTHON) lacks numpy or pytest)"; fi
	@$(call COUNT_END,python.,python)

# `make check` runs its stages in order (stopping after the first that
# fails), all recording into one COUNTS directory, and ends with the total.
CHECK_COUNTS := $(CURDIR)/build/check-counts
check:
	@rm -rf $(CHECK_COUNTS)
	@st=0; for goal in test qemu-test valgrind install-check python-test "SAN=1 BUILD=build-san test"; do \
	    $(MAKE) WERROR=1 COUNTS=$(CHECK_COUNTS) COUNT_QUIET=1 $$goal || { st=$$?; break; }; \
	done; \
	$(COUNT) total check $(CHECK_COUNTS) "" $$st

# Installs into a staging prefix and builds against it: the README example
# (libsegloss alone) and tests/install/read_image.c (libsegloss_io) through
# pkg-config, shared and static, and through the CMake package
# (tests/install/CMakeLists.txt), shared and static.
STAGE     := $(CURDIR)/$(BUILD)/stage
STAGE_PC  := env PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig $(PKG_CONFIG)
EX_OUT    := loss 0.6622 grad -0.0860 0.1465 0.1543 -0.0799
IMG_OUT   := examples/png/ref/case01.png: uint8 64x64
# $(1): a program that must not need libpng or zlib.
no_png     = ! readelf -d $(1) | grep -E "NEEDED.*lib(png|z)[.0-9]*so"
# A static link through pkg-config: the installed .a files named
# explicitly, then --static's other flags ($(1): the package).
static_pc  = $$($(STAGE_PC) --libs-only-other --libs-only-l --static $(1) | sed -E "s/-lsegloss(_io)?\b//g")
# $(1) shared|static, $(2) segloss_USE_STATIC_LIBS: the programs run, the
# README example needs no libpng/zlib, and only the shared one loads
# libsegloss.so.
cmake_check = $(COUNT) one $(COUNTS) install.cmake-$(1) -- sh -c '\
	    rm -rf $(STAGE)/cmake-$(1) && \
	    cmake -S tests/install -B $(STAGE)/cmake-$(1) -DCMAKE_PREFIX_PATH=$(STAGE) -DCMAKE_C_COMPILER=$(CC) \
	        -Dsegloss_USE_STATIC_LIBS=$(2) -DSEGLOSS_WANT_VERSION=$(VERSION) -DREADME_EXAMPLE=$(CURDIR)/$(BUILD)/readme_example.c >/dev/null && \
	    cmake --build $(STAGE)/cmake-$(1) >/dev/null && \
	    LD_LIBRARY_PATH=$(STAGE)/lib $(STAGE)/cmake-$(1)/readme_example | grep -qx "$(EX_OUT)" && \
	    $(call no_png,$(STAGE)/cmake-$(1)/readme_example) && \
	    $(if $(filter ON,$(2)),!) readelf -d $(STAGE)/cmake-$(1)/readme_example | grep -q "NEEDED.*libsegloss[.]so" && \
	    LD_LIBRARY_PATH=$(STAGE)/lib $(STAGE)/cmake-$(1)/read_image examples/png/ref/case01.png | grep -qx "$(IMG_OUT)"'
install-check: $(BUILD)/readme_example.c
	@mkdir -p $(COUNTS) && rm -f $(COUNTS)/install.*
	rm -rf $(STAGE)
	$(MAKE) install PREFIX=$(STAGE) >/dev/null
	$(COUNT) one $(COUNTS) install.files -- sh -c 'test -x $(STAGE)/bin/segloss && \
	    test -f $(STAGE)/include/segloss.h && test -f $(STAGE)/lib/libsegloss_io.a'
	$(COUNT) one $(COUNTS) install.pc-shared -- sh -c '\
	    $(CC) $(BUILD)/readme_example.c $$($(STAGE_PC) --cflags --libs segloss) -o $(STAGE)/ex-shared && \
	    LD_LIBRARY_PATH=$(STAGE)/lib $(STAGE)/ex-shared | grep -qx "$(EX_OUT)"'
	$(COUNT) one $(COUNTS) install.pc-static -- sh -c '\
	    $(CC) $(BUILD)/readme_example.c $$($(STAGE_PC) --cflags segloss) $(STAGE)/lib/libsegloss.a \
	        $(call static_pc,segloss) -o $(STAGE)/ex-static && \
	    $(STAGE)/ex-static | grep -qx "$(EX_OUT)" && $(call no_png,$(STAGE)/ex-static)'
	$(COUNT) one $(COUNTS) install.pc-io-shared -- sh -c '\
	    $(CC) tests/install/read_image.c $$($(STAGE_PC) --cflags --libs segloss-io) -o $(STAGE)/img-shared && \
	    LD_LIBRARY_PATH=$(STAGE)/lib $(STAGE)/img-shared examples/png/ref/case01.png | grep -qx "$(IMG_OUT)"'
	$(COUNT) one $(COUNTS) install.pc-io-static -- sh -c '\
	    $(CC) tests/install/read_image.c $$($(STAGE_PC) --cflags segloss-io) $(STAGE)/lib/libsegloss_io.a \
	        $(STAGE)/lib/libsegloss.a $(call static_pc,segloss-io) -o $(STAGE)/img-static && \
	    $(STAGE)/img-static examples/png/ref/case01.png | grep -qx "$(IMG_OUT)"'
	$(call cmake_check,shared,OFF)
	$(call cmake_check,static,ON)
	@$(call COUNT_END,install.,install-check)

# Paths in segloss.pc: under ${prefix} when LIBDIR/INCLUDEDIR are.
pcpath = $(if $(filter $(PREFIX)/%,$(1)),$${prefix}/$(patsubst $(PREFIX)/%,%,$(1)),$(1))
empty :=
space := $(empty) $(empty)
SUBST  = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' -e 's|@SOVER@|$(SOVER)|g' \
             -e 's|@PC_LIBDIR@|$(call pcpath,$(LIBDIR))|g' -e 's|@PC_INCLUDEDIR@|$(call pcpath,$(INCLUDEDIR))|g' \
             -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
             -e 's|@OMP_LIBS@|$(OMP_LIBS)|g' -e 's|@SIZEOF_VOID_P@|$(SIZEOF_VOID_P)|g' -e 's|@OMP_CMAKE@|$(subst $(space),;,$(strip m $(OMP_LIBS:-l%=%)))|g'
SIZEOF_VOID_P = $(shell echo __SIZEOF_POINTER__ | $(CC) -E -P -x c -)
LIB_NAMES := segloss segloss_io
CMAKEDIR  := $(LIBDIR)/cmake/segloss

install: all
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(CMAKEDIR) $(DESTDIR)$(BINDIR)
	install -m 644 include/segloss.h $(DESTDIR)$(INCLUDEDIR)/
	for l in $(LIB_NAMES); do \
	    install -m 644 $(BUILD)/lib$$l.a $(DESTDIR)$(LIBDIR)/ && \
	    install -m 755 $(BUILD)/lib$$l.so $(DESTDIR)$(LIBDIR)/lib$$l.so.$(VERSION) && \
	    ln -sf lib$$l.so.$(VERSION) $(DESTDIR)$(LIBDIR)/lib$$l.so.$(SOVER) && \
	    ln -sf lib$$l.so.$(SOVER) $(DESTDIR)$(LIBDIR)/lib$$l.so || exit 1; \
	done
	install -m 755 $(BUILD)/segloss $(DESTDIR)$(BINDIR)/
	$(SUBST) segloss.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/segloss.pc
	$(SUBST) segloss-io.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/segloss-io.pc
	$(SUBST) cmake/seglossConfig.cmake.in > $(DESTDIR)$(CMAKEDIR)/seglossConfig.cmake
	$(SUBST) cmake/seglossConfigVersion.cmake.in > $(DESTDIR)$(CMAKEDIR)/seglossConfigVersion.cmake

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/segloss.h $(DESTDIR)$(BINDIR)/segloss \
	      $(LIB_NAMES:%=$(DESTDIR)$(LIBDIR)/lib%.a) $(LIB_NAMES:%=$(DESTDIR)$(LIBDIR)/lib%.so*) \
	      $(DESTDIR)$(LIBDIR)/pkgconfig/segloss.pc $(DESTDIR)$(LIBDIR)/pkgconfig/segloss-io.pc \
	      $(DESTDIR)$(CMAKEDIR)/seglossConfig.cmake $(DESTDIR)$(CMAKEDIR)/seglossConfigVersion.cmake
	-rmdir $(DESTDIR)$(CMAKEDIR)

clean:
	rm -rf build build-san $(FUZZ_BUILD) $(CROSS_BUILD)

-include $(DEPS)
