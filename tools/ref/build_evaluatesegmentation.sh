#!/bin/sh
# Builds EvaluateSegmentation (github.com/Visceral-Project/EvaluateSegmentation,
# commit 4cff08d) against Debian's ITK 5.2 (libinsighttoolkit5-dev), for
# tools/ref/gen_evalseg_ref.py. Nothing of the tool is committed here.
#
#   sh tools/ref/build_evaluatesegmentation.sh CHECKOUT [WORKDIR]
#
# CHECKOUT: a clone of the tool (a work tree, or a bare git directory: then
# `git archive HEAD source` is unpacked). WORKDIR (default
# /tmp/evalseg): where the sources are unpacked and built; prints the path of
# the binary, WORKDIR/build/EvaluateSegmentation, and of WORKDIR/shim.so.
#
# Patches: none to the tool's source (it compiles with ITK 5.2 as it is, with
# warnings). Debian's ITK exports its FFTW libraries by their development
# names (-lfftw3 ...), which only libfftw3-dev provides; when the linker
# does not find them, a directory of symbolic links to the runtime libraries
# (libfftw3.so.3 ...) is put on the link path instead. The tool never calls
# FFTW.
#
# shim.so is a measuring aid loaded with LD_PRELOAD by the generator, not a
# patch: with ES_TIME=T, time() returns T (the tool seeds rand() with
# time(NULL) in its Hausdorff shuffles, HausdorffDistanceMetric.h:368),
# and with ES_DIGITS=1 the tool's sprintf("%.6f") prints "%.17g" (every
# value's full double, Outputter.h:167, 195).
set -eu
src=${1:?usage: build_evaluatesegmentation.sh CHECKOUT [WORKDIR]}
work=${2:-/tmp/evalseg}
mkdir -p "$work"
if [ -d "$src/source" ]; then
    rm -rf "$work/source"
    cp -r "$src/source" "$work/source"
else
    rm -rf "$work/source"
    git -C "$src" archive HEAD source | tar -x -C "$work"
fi
ldflags=
if ! printf 'int main(void){return 0;}\n' | cc -x c - -o /dev/null -lfftw3 2>/dev/null; then
    mkdir -p "$work/fftw"
    for l in fftw3 fftw3_threads fftw3f fftw3f_threads; do
        for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib; do
            if [ -e "$d/lib$l.so.3" ]; then
                ln -sf "$d/lib$l.so.3" "$work/fftw/lib$l.so"
                break
            fi
        done
    done
    ldflags="-L$work/fftw"
fi
mkdir -p "$work/build"
(cd "$work/build" &&
    cmake ../source -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXE_LINKER_FLAGS="$ldflags" >cmake.log &&
    make >make.log 2>&1) || { tail -20 "$work/build/make.log" >&2; exit 1; }
cat >"$work/shim.c" <<'EOF'
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
time_t time(time_t *t) {
    const char *s = getenv("ES_TIME");
    time_t v = s ? (time_t)atoll(s) : 0;
    if (t) *t = v;
    return v;
}
int sprintf(char *buf, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (strcmp(fmt, "%.6f") == 0 && getenv("ES_DIGITS")) fmt = "%.17g";
    int r = vsprintf(buf, fmt, ap);
    va_end(ap);
    return r;
}
EOF
cc -O2 -shared -fPIC -o "$work/shim.so" "$work/shim.c"
echo "$work/build/EvaluateSegmentation"
echo "$work/shim.so"
