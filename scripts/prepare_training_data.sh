#!/usr/bin/env bash
# Prepares the training data of the default generator (see weights/README.md).
#
#   scripts/prepare_training_data.sh [TAR] [WORKDIR]
#
# TAR defaults to ../shared/data/utkface-200.tar (UTKFace "in the wild" faces cropped to 200x200;
# non-commercial research use only), WORKDIR to $AIPORTRAIT_TRAIN_DIR, else ../aiportrait-train beside the repo. Steps:
#   1. extract TAR into WORKDIR/utk/
#   2. align every face with the project's own detector and alignment: run the CLI with a
#      pass-through "aligner" model that carries the default generator's template
#      (scripts/aiportrait_gen/template.py: TIGHT_TEMPLATE, 256 px, margin 0), so the training crops are
#      exactly the crops the generator sees at inference; the aligner is WORKDIR/aligner.pt and the
#      template is recorded in WORKDIR/template.json (train_generator.py copies it into each
#      checkpoint, export_generator.py into the model's metadata).
#      Outputs go to WORKDIR/aligned/NAME.png (+ sidecar). Photos without a face are skipped.
#   3. pack the crops into WORKDIR/aligned256.npy (uint8, N x 256 x 256 x 3, RGB), with
#      WORKDIR/names.txt (one file name per row) and WORKDIR/heldout.txt (the held-out split:
#      names whose sha256 is 0 mod 32, ~3%, evaluation only, never trained on).
# Every step is resumable (extraction and alignment skip what exists). Environment:
#   AIPORTRAIT_THREADS (default 1)  worker threads of the CLI
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
tar_path="${1:-$repo/../shared/data/utkface-200.tar}"
work="${2:-${AIPORTRAIT_TRAIN_DIR:-$repo/../aiportrait-train}}"
threads="${AIPORTRAIT_THREADS:-1}"
cli="$repo/build/aiportrait"
py=/usr/bin/python3

[[ -f "$tar_path" ]] || { echo "no such archive: $tar_path" >&2; exit 2; }
[[ -x "$cli" ]] || { echo "build the CLI first: $cli" >&2; exit 2; }
"$py" -c "import torch, cv2, numpy" 2>/dev/null ||
    { echo "$py lacks torch, cv2 or numpy: apt-get install python3-torch python3-opencv python3-numpy" >&2; exit 2; }
mkdir -p "$work/utk" "$work/aligned"

echo "[1/3] extracting $tar_path -> $work/utk"
if [[ ! -f "$work/utk/.done" ]]; then
    tar xf "$tar_path" -C "$work/utk"
    touch "$work/utk/.done"
fi
src="$(find "$work/utk/" -mindepth 1 -maxdepth 1 -type d | head -n1)"
[[ -n "$src" ]] || src="$work/utk"
n_in=$(find "$src" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) | wc -l)
echo "      $n_in photos in $src"

echo "[2/3] aligning with $cli (threads $threads)"
"$py" - "$repo/scripts" "$work" <<'EOF'
import json, os, sys
sys.path.insert(0, sys.argv[1])
from aiportrait_gen.template import TIGHT_TEMPLATE, save_aligner

work = sys.argv[2]
path = os.path.join(work, "template.json")
if os.path.exists(path) and json.load(open(path)) != TIGHT_TEMPLATE:
    sys.exit(f"{path} holds another template: this folder was aligned differently; "
             "use a new WORKDIR")
save_aligner(os.path.join(work, "aligner.pt"))
with open(path + ".tmp", "w") as f:
    json.dump(TIGHT_TEMPLATE, f)
os.replace(path + ".tmp", path)
EOF
set +e
"$cli" "$src" -o "$work/aligned" --model "$work/aligner.pt" --no-identity \
    --detect-max-side 0 --format png --skip-existing --threads "$threads" -q \
    2> "$work/align_errors.log"
rc=$?
set -e
if [[ $rc -ne 0 && $rc -ne 1 ]]; then
    echo "alignment failed (exit $rc), see $work/align_errors.log" >&2
    exit $rc
fi
n_skipped=$(grep -c . "$work/align_errors.log" || true)
echo "      $n_skipped photos skipped (no face or error; listed in $work/align_errors.log)"

echo "[3/3] packing -> $work/aligned256.npy"
"$py" - "$work" <<'EOF'
import hashlib, os, sys
import cv2
import numpy as np

work = sys.argv[1]
aligned = os.path.join(work, "aligned")
names = sorted(f[:-4] for f in os.listdir(aligned) if f.endswith(".png")
               and os.path.exists(os.path.join(aligned, f[:-4] + ".json")))
arr = np.lib.format.open_memmap(os.path.join(work, "aligned256.npy.tmp"), mode="w+",
                                dtype=np.uint8, shape=(len(names), 256, 256, 3))
keep = []
for i, n in enumerate(names):
    img = cv2.imread(os.path.join(aligned, n + ".png"), cv2.IMREAD_COLOR)
    if img is None or img.shape[:2] != (256, 256):
        print(f"      bad crop {n}, skipped", file=sys.stderr)
        continue
    arr[len(keep)] = img[:, :, ::-1]
    keep.append(n)
arr.flush()
del arr
if len(keep) != len(names):  # rewrite without the holes
    src = np.load(os.path.join(work, "aligned256.npy.tmp"), mmap_mode="r")
    dst = np.lib.format.open_memmap(os.path.join(work, "aligned256.npy.tmp2"), mode="w+",
                                    dtype=np.uint8, shape=(len(keep), 256, 256, 3))
    dst[:] = src[:len(keep)]
    dst.flush()
    os.replace(os.path.join(work, "aligned256.npy.tmp2"), os.path.join(work, "aligned256.npy.tmp"))
os.replace(os.path.join(work, "aligned256.npy.tmp"), os.path.join(work, "aligned256.npy"))

def held_out(name):
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % 32 == 0

with open(os.path.join(work, "names.txt"), "w") as f:
    f.writelines(n + "\n" for n in keep)
held = [n for n in keep if held_out(n)]
with open(os.path.join(work, "heldout.txt"), "w") as f:
    f.writelines(n + "\n" for n in held)
print(f"      {len(keep)} aligned faces, {len(held)} held out (sha256(name) % 32 == 0), "
      f"{len(keep) - len(held)} for training")
EOF
