#!/usr/bin/env bash
# Builds the project and its tests with AddressSanitizer + UndefinedBehaviorSanitizer in
# build-asan/ (CMake option AIPORTRAIT_SANITIZE) and runs the suite there. The acceptance tests
# on ../shared are left out (under ASan they take tens of minutes); pass ctest arguments to change
# what runs, e.g. `scripts/sanitize.sh -R Decode`.
#
# Any ASan report, UBSan report or leak fails the test that triggered it. No suppressions are
# needed: LeakSanitizer finds nothing in LibTorch 1.13, OpenMP or OpenCV 4.6 on this suite, and
# uninstrumented libraries are no problem for ASan (it intercepts malloc/free process-wide).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
[[ -d weights ]] || { echo "sanitize: no weights/ yet; run scripts/setup.sh first" >&2; exit 2; }

jobs="${AIPORTRAIT_BUILD_JOBS:-$(nproc)}"
[[ -f build-asan/build.ninja ]] ||
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIPORTRAIT_SANITIZE=ON >&2
cmake --build build-asan -j "$jobs" >&2

# halt_on_error/abort_on_error: a report ends the process with a failure the test sees, even in
# the binary the CLI tests start. detect_stack_use_after_return is cheap here and finds more.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
cd build-asan
ctest --output-on-failure -j "${AIPORTRAIT_TEST_JOBS:-2}" -LE acceptance "$@"
