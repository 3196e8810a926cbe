#!/usr/bin/env bash
# Evaluates a generator on the held-out faces with the CLI's own identity distance.
#
#   scripts/eval_generator.sh [MODEL] [N] [WORKDIR]
#
# MODEL defaults to weights/generator/aiportrait-default.pt, N (how many held-out faces, 0 = all)
# to 0, WORKDIR to $AIPORTRAIT_TRAIN_DIR, else ../aiportrait-train beside the repo (needs heldout.txt and aligned/ from
# scripts/prepare_training_data.sh). Runs the CLI on the held-out aligned crops at strengths
# 0, 0.25, 0.5, 0.75, 1 and at the model's default strength (no --strength), reads
# faces[0].identity_distance from the --json records and prints, per strength, the median and
# 10th/90th percentiles, the share of faces in [0.40, 0.60], and then the issue's targets.
# Environment: AIPORTRAIT_THREADS (default 2), EVAL_OUT (default WORKDIR/eval/<model name>),
# EXTRA_STRENGTHS (more strengths to tabulate, e.g. "0.6 0.65 0.7": to choose the default).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
model="$(realpath "${1:-$repo/weights/generator/aiportrait-default.pt}")"
n="${2:-0}"
work="${3:-${AIPORTRAIT_TRAIN_DIR:-$repo/../aiportrait-train}}"
threads="${AIPORTRAIT_THREADS:-2}"
cli="$repo/build/aiportrait"
out="${EVAL_OUT:-$work/eval/$(basename "$model" .pt)}"

[[ -f "$model" ]] || { echo "no such model: $model" >&2; exit 2; }
[[ -f "$work/heldout.txt" ]] || { echo "run scripts/prepare_training_data.sh first" >&2; exit 2; }
mkdir -p "$out"
list="$out/inputs.txt"
if [[ "$n" -gt 0 ]]; then head -n "$n" "$work/heldout.txt"; else cat "$work/heldout.txt"; fi \
    | sed "s|^|$work/aligned/|; s|\$|.png|" > "$list"
echo "model $model; $(wc -l < "$list") held-out faces; results in $out" >&2

extra="${EXTRA_STRENGTHS:-}"
for s in 0 0.25 0.5 0.75 1 default $extra; do
    opt=(--strength "$s")
    [[ "$s" == default ]] && opt=()
    rm -rf "$out/s_$s"
    "$cli" --files-from "$list" -o "$out/s_$s" --model "$model" "${opt[@]}" --json \
        --threads "$threads" -q > "$out/s_$s.ndjson" || true
done

/usr/bin/python3 - "$out" $extra <<'EOF'
import json, os, statistics, sys

out = sys.argv[1]
def load(tag):
    d, nf = [], 0
    for line in open(os.path.join(out, f"s_{tag}.ndjson")):
        r = json.loads(line)
        faces = r.get("faces") or []
        if r.get("status") != "ok" or not faces or faces[0].get("identity_distance") is None:
            nf += 1
            continue
        d.append(float(faces[0]["identity_distance"]))
    return d, nf

def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]

rows, med = [], {}
default_s = None
for tag in ("0", "0.25", "0.5", "0.75", "1", "default") + tuple(sys.argv[2:]):
    d, nf = load(tag)
    if tag == "default":
        for line in open(os.path.join(out, "s_default.ndjson")):
            r = json.loads(line)
            if r.get("faces"):
                default_s = r["faces"][0].get("strength")
                break
    if not d:
        rows.append((tag, 0, nf, None, None, None, None))
        continue
    inband = sum(0.40 <= x <= 0.60 for x in d) / len(d)
    med[tag] = statistics.median(d)
    rows.append((tag, len(d), nf, pct(d, 0.1), med[tag], pct(d, 0.9), inband))

print(f"{'strength':>10} {'faces':>6} {'failed':>6} {'p10':>7} {'median':>7} {'p90':>7} {'in[.4,.6]':>10}")
for tag, k, nf, p10, m, p90, inb in rows:
    name = f"default={default_s}" if tag == "default" else tag
    if m is None:
        print(f"{name:>10} {k:>6} {nf:>6}   (no distances)")
    else:
        print(f"{name:>10} {k:>6} {nf:>6} {p10:7.3f} {m:7.3f} {p90:7.3f} {100 * inb:9.1f}%")

order = [med.get(t) for t in ("0", "0.25", "0.5", "0.75", "1")]
checks = []
d_inb = rows[5][6]
checks.append(("default strength: >= 80% of faces in [0.40, 0.60]",
                d_inb is not None and d_inb >= 0.80))
checks.append(("median rises over 0, .25, .5, .75, 1",
                None not in order and all(a < b for a, b in zip(order, order[1:]))))
checks.append(("median < 0.20 at strength 0", order[0] is not None and order[0] < 0.20))
checks.append(("median >= 0.45 at strength 1", order[4] is not None and order[4] >= 0.45))
for text, ok in checks:
    print(f"  [{'PASS' if ok else 'FAIL'}] {text}")
EOF
