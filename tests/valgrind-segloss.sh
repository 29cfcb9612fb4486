#!/bin/sh
# segloss under valgrind memcheck, as the SEGLOSS of tests/cli/run.sh
# (`make valgrind`, part of `make check`): every memcheck error and every
# definite leak turns into exit status 99, which no CLI test expects, so
# each one fails the test that triggered it. Possible/reachable leaks
# (OpenMP's thread pool, libc buffers) are not errors.
#
#   SEGLOSS_REAL=$PWD/build/segloss SEGLOSS=tests/valgrind-segloss.sh bash tests/cli/run.sh
exec valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite -q \
    "${SEGLOSS_REAL:?set SEGLOSS_REAL to the segloss binary}" "$@"
