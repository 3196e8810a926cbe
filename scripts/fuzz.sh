#!/usr/bin/env bash
# Fuzzes decode -> detect -> sidecar (fuzz/fuzz_decode_detect.cpp) with libFuzzer for a bounded
# time, under AddressSanitizer and UndefinedBehaviorSanitizer:
#
#   scripts/fuzz.sh [SECONDS]        (default 60)
#
# Builds with clang in build-fuzz/ (CMake option AIPORTRAIT_FUZZ), seeds from the awkward corpus
# in its small form (every kind of awkward file at <= 64 px, made by tests/make_awkward_corpus
# from an example photo), keeps what libFuzzer finds in build-fuzz/corpus for the next run, and
# writes crashing inputs to build-fuzz/crashes/. Exit status: 0 nothing found, else libFuzzer's.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-60}"
say() { printf 'fuzz: %s\n' "$*" >&2; }

command -v clang++ >/dev/null || { say "needs clang++ with libFuzzer (apt-get install clang libclang-rt-dev)"; exit 2; }
source "$root/scripts/model_files.sh"
yunet="$root/weights/$yunet_file"
photo="$root/examples/photos/sample3.jpg"
[[ -f "$yunet" && -f "$photo" ]] || { say "needs weights/ and examples/photos/; run scripts/setup.sh first"; exit 2; }

if [[ ! -f build-fuzz/build.ninja ]]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAIPORTRAIT_FUZZ=ON >&2
fi
cmake --build build-fuzz -j "${AIPORTRAIT_BUILD_JOBS:-$(nproc)}" --target fuzz_decode_detect make_awkward_corpus >&2

rm -rf build-fuzz/seeds
build-fuzz/tests/make_awkward_corpus "$photo" build-fuzz/seeds --small
mkdir -p build-fuzz/corpus build-fuzz/crashes

export AIPORTRAIT_FUZZ_YUNET="$yunet"
export ASAN_OPTIONS="abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:${UBSAN_OPTIONS:-}"
say "running for ${seconds}s; new inputs go to build-fuzz/corpus, crashes to build-fuzz/crashes/"
# -max_len: seeds are a few KB; 256 KB leaves room to grow without slowing every run.
# -timeout: an input that takes 20 s (a decoding-time bomb) is a finding too.
status=0
build-fuzz/fuzz_decode_detect -max_total_time="$seconds" -max_len=262144 -timeout=20 -rss_limit_mb=4096 \
  -print_final_stats=1 -artifact_prefix=build-fuzz/crashes/ build-fuzz/corpus build-fuzz/seeds || status=$?
if ((status != 0)); then
  say "found a problem (exit $status); reproduce with: AIPORTRAIT_FUZZ_YUNET=$yunet build-fuzz/fuzz_decode_detect build-fuzz/crashes/<file>"
fi
exit "$status"
