#!/usr/bin/env bash
# examples/make_contact_sheet.sh, the way the model card's sheets are made, on a held-out list laid
# out as scripts/prepare_training_data.sh lays it out (WORK/heldout.txt names photos under
# WORK/utk/<folder>/) but made of the three examples/photos: both layouts give a sheet of the
# documented size whose tiles are the real pictures (aligned input, then portraits that differ from
# it), asking for every face of the list gives every face, and a wrong layout or a missing list is
# refused before any work with exit 2 and no sheet.
# Usage: check_contact_sheet.sh SOURCE_DIR BINARY
set -euo pipefail
source="$1"
export AIPORTRAIT_BIN="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check_contact_sheet: $*" >&2; exit 1; }
sheet_script="$source/examples/make_contact_sheet.sh"

mkdir -p "$tmp/work/utk/UTKFace"
for name in sample1 sample2 sample3; do
  cp "$source/examples/photos/$name.jpg" "$tmp/work/utk/UTKFace/"
  echo "$name" >> "$tmp/work/heldout.txt"
done

# Refused before any work: exit 2, a message naming the problem, no sheet.
refused() {  # EXPECTED-MESSAGE ARGS...
  local expected="$1" rc=0; shift
  "$sheet_script" "$@" > /dev/null 2> "$tmp/err" || rc=$?
  [[ $rc -eq 2 ]] || fail "'$*' exited $rc, not 2"
  grep -q -- "$expected" "$tmp/err" || fail "'$*' said '$(cat "$tmp/err")', not '$expected'"
  [[ ! -e "$tmp/refused.png" ]] || fail "'$*' wrote a sheet"
}
refused "'grid' is neither dial nor pairs" "" "$tmp/refused.png" 3 "$tmp/work" grid
refused "prepare_training_data.sh" "" "$tmp/refused.png" 3 "$tmp/nowhere" pairs

# Every face of the list (FACES = its length), pairs layout: one row of four pairs, the last empty.
"$sheet_script" "" "$tmp/pairs.png" 3 "$tmp/work" pairs > /dev/null || fail "pairs of every face failed (above)"
# Two faces, dial layout: a row per face, six columns.
"$sheet_script" "" "$tmp/dial.png" 2 "$tmp/work" dial > /dev/null || fail "the dial of two faces failed (above)"

/usr/bin/python3 - "$tmp/pairs.png" "$tmp/dial.png" <<'EOF' || fail "the sheets are wrong (above)"
import sys
import cv2
import numpy as np

S, LABEL = 256, 28
def tile(img, row, col):
    return img[LABEL + row * S:LABEL + (row + 1) * S, col * S:(col + 1) * S].astype(np.float32)
def check(ok, what):
    if not ok:
        sys.exit(f"check_contact_sheet: {what}")
def is_picture(t):
    return t.std() > 20 and t.mean() < 240

pairs, dial = cv2.imread(sys.argv[1]), cv2.imread(sys.argv[2])
check(pairs is not None and pairs.shape == (LABEL + S, 8 * S, 3), f"pairs sheet is {None if pairs is None else pairs.shape}")
for k in range(3):
    aligned, portrait = tile(pairs, 0, 2 * k), tile(pairs, 0, 2 * k + 1)
    check(is_picture(aligned) and is_picture(portrait), f"pairs: face {k + 1}'s tiles are not pictures")
    check(np.abs(aligned - portrait).mean() > 2, f"pairs: face {k + 1}'s portrait is its aligned input")
check((tile(pairs, 0, 6) == 255).all() and (tile(pairs, 0, 7) == 255).all(), "pairs: the fourth pair is not empty")

check(dial is not None and dial.shape == (LABEL + 2 * S, 6 * S, 3), f"dial sheet is {None if dial is None else dial.shape}")
for row in range(2):
    aligned = tile(dial, row, 0)
    check(is_picture(aligned), f"dial: face {row + 1}'s aligned input is not a picture")
    # the dial rises: strength 1.0 (last column) is further from the input than 0.25 (second)
    near, far = (np.abs(tile(dial, row, c) - aligned).mean() for c in (1, 5))
    check(far > near + 2, f"dial: face {row + 1}: strength 1.0 differs by {far:.1f}, 0.25 by {near:.1f}")
print("check_contact_sheet: ok")
EOF
