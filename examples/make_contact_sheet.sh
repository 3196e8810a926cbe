#!/usr/bin/env bash
# Makes a contact sheet of the default generator with the CLI.
#
#   examples/make_contact_sheet.sh [MODEL] [OUT.png] [FACES] [WORKDIR] [LAYOUT]
#
# FACES (default 6) held-out UTKFace photos, spread evenly over WORKDIR/heldout.txt
# (see scripts/prepare_training_data.sh; WORKDIR defaults to $AIPORTRAIT_TRAIN_DIR, else ../aiportrait-train beside the repo).
# LAYOUT "dial" (the default): a row per face; columns: the aligned input (the model at
# strength 0), then portraits at strength 0.25, 0.5, 0.75, the model's default (what a user gets
# without --strength) and 1.0.
# LAYOUT "pairs": the aligned input beside its portrait at the default, four pairs a row, to look
# at many faces at 100 % (examples/default_sheet.png: 16 faces).
# Each picture 256x256, with a small label strip on top.
# MODEL defaults to weights/generator/aiportrait-default.pt, OUT to examples/contact_sheet.png.
# Tiling uses Debian's /usr/bin/python3 with python3-opencv (only this script needs it).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
model="$(realpath "${1:-$repo/weights/generator/aiportrait-default.pt}")"
sheet="${2:-$repo/examples/contact_sheet.png}"
rows="${3:-6}"
work="${4:-${AIPORTRAIT_TRAIN_DIR:-$repo/../aiportrait-train}}"
layout="${5:-dial}"
[[ "$layout" == dial || "$layout" == pairs ]] || { echo "make_contact_sheet: layout '$layout' is neither dial nor pairs" >&2; exit 2; }
cli="${AIPORTRAIT_BIN:-$repo/build/aiportrait}"  # tests pass the binary they built

[[ -f "$work/heldout.txt" ]] || { echo "make_contact_sheet: $work/heldout.txt: no such file (run scripts/prepare_training_data.sh first)" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

total=$(wc -l < "$work/heldout.txt")
step=$(( total / rows )); [[ $step -ge 1 ]] || step=1  # FACES > half the list: the first FACES
src="$(find "$work/utk/" -mindepth 1 -maxdepth 1 -type d | head -n1)"
[[ -n "$src" ]] || { echo "make_contact_sheet: no extracted photos under $work/utk (run scripts/prepare_training_data.sh)" >&2; exit 2; }
awk -v s="$step" -v r="$rows" '(NR - 1) % s == 0 && c < r { print; c++ }' "$work/heldout.txt" \
    | while read -r name; do ls "$src/$name".* ; done > "$tmp/inputs.txt"

# Strength 0 gives the aligned face itself, exactly (the model blends back to its input below
# its ramp), aligned with the model's own template.
"$cli" --files-from "$tmp/inputs.txt" -o "$tmp/aligned" --model "$model" --strength 0 --no-identity -q
if [[ "$layout" == dial ]]; then
    for s in 0.25 0.5 0.75 1.0; do
        "$cli" --files-from "$tmp/inputs.txt" -o "$tmp/s_$s" --model "$model" --strength "$s" -q
    done
fi
"$cli" --files-from "$tmp/inputs.txt" -o "$tmp/s_default" --model "$model" -q

/usr/bin/python3 - "$tmp" "$sheet" "$layout" <<'EOF'
import json, os, sys
import cv2
import numpy as np

tmp, sheet, layout = sys.argv[1], sys.argv[2], sys.argv[3]
names = sorted(f[:-4] for f in os.listdir(os.path.join(tmp, "aligned")) if f.endswith(".png"))
# the strength the model chose (its metadata's default), as the sidecar records it
default = json.load(open(os.path.join(tmp, "s_default", names[0] + ".json")))["faces"][0]["strength"]
if layout == "dial":
    cols = [("aligned input", "aligned")] + [(f"strength {s}", f"s_{s}") for s in ("0.25", "0.5", "0.75")] \
        + [(f"default {default:g}", "s_default"), ("strength 1.0", "s_1.0")]
    per_row = 1
else:
    cols = [("aligned input", "aligned"), (f"default {default:g}", "s_default")] * 4
    per_row = 4
S, label = 256, 28
rows = (len(names) + per_row - 1) // per_row
width = len(cols) // per_row
canvas = np.full((label + S * rows, S * len(cols), 3), 255, np.uint8)
for j, (title, _) in enumerate(cols):
    cv2.putText(canvas, title, (j * S + 8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1,
                cv2.LINE_AA)
for k, n in enumerate(names):
    i, first = k // per_row, (k % per_row) * width  # this face's row and first column
    for j, (_, d) in enumerate(cols[first:first + width], first):
        img = cv2.imread(os.path.join(tmp, d, n + ".png"))
        if img is None:
            continue
        canvas[label + i * S:label + (i + 1) * S, j * S:(j + 1) * S] = cv2.resize(img, (S, S))
        side = os.path.join(tmp, d, n + ".json")
        if d != "aligned" and os.path.exists(side):
            f = json.load(open(side))["faces"][0]
            dist = f.get("identity_distance")
            if dist is not None:
                y, x = label + (i + 1) * S - 8, j * S + 6
                cv2.putText(canvas, f"id {dist:.2f}", (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                            (0, 0, 0), 3, cv2.LINE_AA)
                cv2.putText(canvas, f"id {dist:.2f}", (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                            (255, 255, 255), 1, cv2.LINE_AA)
os.makedirs(os.path.dirname(os.path.abspath(sheet)), exist_ok=True)
cv2.imwrite(sheet, canvas, [cv2.IMWRITE_PNG_COMPRESSION, 9])
print(f"wrote {sheet}: {len(names)} faces, {rows} rows x {len(cols)} columns")
EOF
