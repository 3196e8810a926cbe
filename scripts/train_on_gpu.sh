#!/usr/bin/env bash
# Trains generator variants side by side on a lent GPU machine (the `device` tool), for a fixed
# wall time, and leaves each one's portable checkpoint in OUT.
#
#   scripts/train_on_gpu.sh PACK OUT MINUTES NAME="TRAINER ARGS" [NAME="..." ...]
#
# PACK: `python3 -m aiportrait_gen.pack pack` of the training data (exact source JPEGs plus
# alignment matrices; unpacked here into the same 256-px crops). Each NAME runs
# scripts/train_generator.py with its own work folder on that data, on CUDA, with `--hours`
# MINUTES/60 and `--portable-out OUT/NAME.npz`, written at every checkpoint (every 2 minutes) so
# that a run cut short still returns its last one. Without `--init` in the ARGS a run starts from
# nothing (the 1.0 recipe learns faster so: weights/README.md); with it, from the committed export
# (fresh discriminators) or an earlier OUT/NAME.npz (its discriminators too). At the end:
# OUT/logs.txt (every run's log) and OUT/samples.jpg (every run's held-out sample grid, in order).
# Continue on CPU with `scripts/train_generator.py --init OUT/NAME.npz`; export with
# `scripts/export_generator.py OUT/NAME.npz ...`.
#
# Why side by side: the model is small, so one run leaves the GPU mostly waiting on Python; four
# processes on 16 cores use it several times better than one (H200, 2026-12-04).
set -uo pipefail

[[ $# -ge 4 ]] || { sed -n 2,17p "$0" >&2; exit 2; }
repo="$(cd "$(dirname "$0")/.." && pwd)"
minutes="$3"
py="${PYTHON:-python3}"
work="${AIPORTRAIT_GPU_WORK:-/tmp/aiportrait-gpu}"
mkdir -p "$2" "$work"
pack="$(realpath "$1")" out="$(realpath "$2")" work="$(realpath "$work")"
shift 3

echo "unpacking $pack"
(cd "$repo/scripts" && "$py" -m aiportrait_gen.pack unpack "$pack" "$work/data") || exit 2
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'

threads=$(( $(nproc) / $# ))
(( threads >= 1 )) || threads=1
names=()
for spec in "$@"; do
    name="${spec%%=*}" args="${spec#*=}"
    names+=("$name")
    mkdir -p "$work/$name"
    for f in aligned256.npy names.txt heldout.txt template.json; do
        ln -sf "$work/data/$f" "$work/$name/$f"
    done
    # shellcheck disable=SC2086  # ARGS are words for the trainer
    PYTHONUNBUFFERED=1 "$py" "$repo/scripts/train_generator.py" --work "$work/$name" \
        --threads "$threads" --hours "$("$py" -c "print($minutes / 60)")" --ckpt-minutes 2 \
        --keep-minutes 100000 --portable-out "$out/$name.npz" $args \
        > "$work/$name/out.txt" 2>&1 &
    echo "started $name (pid $!): $args"
done
wait

status=0
for name in "${names[@]}"; do
    { echo "===== $name"; cat "$work/$name/out.txt"; } >> "$out/logs.txt"
    [[ -f "$out/$name.npz" ]] || { echo "$name: no checkpoint (see logs.txt)" >&2; status=1; }
    tail -n 3 "$work/$name/out.txt"
done
"$py" - "$work" "$out/samples.jpg" "${names[@]}" <<'EOF'
import sys, cv2, numpy as np
work, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
grids = [cv2.imread(f"{work}/{n}/samples/last.png") for n in names]
grids = [g for g in grids if g is not None]
if grids:
    cv2.imwrite(out, np.concatenate(grids, axis=0), [cv2.IMWRITE_JPEG_QUALITY, 88])
EOF
exit $status
