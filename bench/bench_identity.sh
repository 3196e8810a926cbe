#!/usr/bin/env bash
# Identity-distance cost per face on this machine (target: <= 30 ms per face on 2 cores).
#   bench/bench_identity.sh [PHOTO...]   (default: ../shared/eval/faces/*.jpg, else examples/photos)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cmake --build build --target bench_identity >&2
photos=("$@")
if ((${#photos[@]} == 0)); then
  if compgen -G "../shared/eval/faces/*.jpg" >/dev/null; then photos=(../shared/eval/faces/*.jpg); else photos=(examples/photos/*.jpg); fi
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
build/bench_identity weights "${photos[@]}" --threads "${AIPORTRAIT_THREADS:-$(nproc)}"
