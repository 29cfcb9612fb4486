#!/bin/sh
# Installs what segloss needs to build and test on Debian 12 (run as root or
# through sudo). Safe to run again: apt skips what is already installed.
set -eu
if [ "$(id -u)" -ne 0 ]; then
    exec sudo "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
    gcc make libc6-dev pkg-config binutils \
    libpng-dev zlib1g-dev libdeflate-dev \
    valgrind cmake \
    chromium fonts-dejavu-core \
    python3-numpy python3-scipy python3-torch python3-pytest \
    python3-pip python3-venv python3-setuptools python3-wheel \
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
# binutils: nm and readelf (make check inspects the libraries); cmake: the
# find_package(segloss) test of make check; chromium (headless) and a font:
# the browser tests of `segloss eval --html` (tests/cli/html.sh);
# libdeflate-dev: fast whole-buffer .nii.gz decoding (libsegloss_io).
# python3-*: the Python package and its tests (`make python-test`, in `make
# check`): numpy (the package), torch (segloss.torch and the reference
# values), scipy (the benchmark), pytest; pip, venv, setuptools and wheel for
# the README's offline install into a venv (docs/python.md).
# gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user: `make
# qemu-test` (in make check) builds the library and unit tests for aarch64
# and runs them under emulation (the NEON kernels).
# Not needed by CI: python3-pandas, for regenerating the instance references
# (tools/ref/gen_instances_ref.py runs Metrics Reloaded and the BraTS 2023
# scoring code, which use pandas):
#   apt-get install python3-pandas
# Not needed by CI: libinsighttoolkit5-dev (ITK 5.2, with g++ and cmake), for
# building EvaluateSegmentation to regenerate its reference values
# (tools/ref/build_evaluatesegmentation.sh, tools/ref/gen_evalseg_ref.py):
#   apt-get install g++ libinsighttoolkit5-dev
# Not needed by CI (`make check` builds the fuzz replay drivers with gcc);
# only for fuzzing (`make fuzz`, docs/fuzzing.md):
#   apt-get install clang libclang-rt-14-dev
