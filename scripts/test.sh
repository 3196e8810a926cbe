#!/usr/bin/env bash
# Runs the whole test suite (unit tests per stage + CLI tests on real photos) with CTest.
# Tests that need ../shared skip with a message when it is absent.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
[[ -f build/build.ninja ]] || { echo "test: no build/ yet; run scripts/setup.sh first" >&2; exit 2; }
cmake --build build -j "${AIPORTRAIT_BUILD_JOBS:-$(nproc)}" >&2
cd build
ctest --output-on-failure -j "${AIPORTRAIT_TEST_JOBS:-2}" "$@"
