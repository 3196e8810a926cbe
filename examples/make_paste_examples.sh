#!/usr/bin/env bash
# Writes whole-photo --paste examples of the default generator with the CLI itself.
#
#   examples/make_paste_examples.sh [MODEL] [OUT_DIR] [PHOTO...]
#
# MODEL defaults to weights/generator/aiportrait-default.pt, OUT_DIR to examples/paste, the photos
# to four of ../shared/eval/faces (serengil/deepface test set, MIT): a couple, two portraits and a
# half-length shot. Each becomes OUT_DIR/NAME.jpg (JPEG 95, every face replaced at the model's
# default strength); the sidecars and the run manifest are removed, as they record this machine's paths.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
model="$(realpath "${1:-$repo/weights/generator/aiportrait-default.pt}")"
out="${2:-$repo/examples/paste}"
shift $(( $# > 2 ? 2 : $# ))
faces="$repo/../shared/eval/faces"
photos=("$@")
[[ ${#photos[@]} -gt 0 ]] || photos=("$faces/couple.jpg" "$faces/img20.jpg" "$faces/img6.jpg" "$faces/img53.jpg")
for p in "${photos[@]}"; do [[ -f "$p" ]] || { echo "no such photo: $p (../shared absent?)" >&2; exit 2; }; done
mkdir -p "$out"
"$repo/build/aiportrait" "${photos[@]}" -o "$out/" --paste --format jpg --model "$model" -q
for p in "${photos[@]}"; do n="$(basename "$p")"; rm -f "$out/${n%.*}.json"; done
# The run manifest (README "Run manifest") records this machine's paths and host too.
rm -f "$out"/aiportrait-run.*.json
echo "wrote ${#photos[@]} examples to $out" >&2
