#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a working build/aiportrait: installs the Debian
# packages, fetches the models (scripts/fetch_models.sh) and builds with CMake + Ninja.
# Safe to run again: installed packages, verified models and an up-to-date build are kept.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

packages=(
  build-essential cmake ninja-build pkg-config ca-certificates
  libopencv-dev libtorch-dev libcli11-dev libfmt-dev nlohmann-json3-dev libgtest-dev
  # JPEG and PNG are also decoded directly, to catch what the libraries report (decode_codecs.cpp).
  libjpeg-dev libpng-dev zlib1g-dev
  # Without OpenBLAS LibTorch falls back to reference BLAS: convolutions 10-25x slower.
  libopenblas0-openmp
  # What the tests and README's commands run beyond Debian's Essential set (a fresh Debian 12
  # lacks them; tests/check_setup_packages.sh keeps this list whole): cpack -G DEB needs file,
  # `man aiportrait` man-db, the manifest recipes jq, path_hex's `xxd -r -p` xxd.
  file man-db jq xxd
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Tools the fetch script runs; any install of them will do (e.g. npm bundled with Node.js).
for tool in npm curl; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# CI and developers keep a YuNet copy in ../shared/models; use it unless told otherwise.
source "$root/scripts/model_files.sh"
if [[ -z "${AIPORTRAIT_MODEL_MIRROR:-}" && -f "$root/../shared/models/$(basename "$yunet_file")" ]]; then
  export AIPORTRAIT_MODEL_MIRROR="$root/../shared/models"
fi
scripts/fetch_models.sh

jobs="${AIPORTRAIT_BUILD_JOBS:-$(nproc)}"
[[ -f build/build.ninja ]] || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
cmake --build build -j "$jobs" >&2
echo "setup: ready: $root/build/aiportrait" >&2
