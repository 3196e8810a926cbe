"""Checks the FaceRes port against the team's measurement on ../shared/eval/faces/master.csv.

Each photo's main face is aligned by the project's own CLI and template (a pass-through aligner
model, aiportrait_gen.template.save_aligner), so FaceRes sees exactly the crops the generator
sees. Prints the median distance of same-person and different-person pairs and the accuracy at
the threshold (team: 0.38 separates all pairs; medians ~0.20 same, ~0.59 different).

    cd scripts && /usr/bin/python3 -m aiportrait_gen.check_faceres [--faces DIR] [--aligned DIR]

Rows naming photos that are not in the folder, or whose face the CLI did not find, are skipped.
Exit status 1 when the accuracy is below --min-accuracy (default 1.0).
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

if __package__ in (None, ""):  # run as a file: make `aiportrait_gen` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cv2
import numpy as np
import torch

from aiportrait_gen.faceres import FaceRes, cosine_distance, crop_from_aligned

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def align_folder(cli: str, faces: str, aligned: str, threads: int) -> None:
    """Runs the CLI once over the folder; --skip-existing makes a second run free."""
    from aiportrait_gen.template import save_aligner

    os.makedirs(aligned, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        aligner = os.path.join(tmp, "aligner.pt")
        save_aligner(aligner)
        # Exit 1 = some photos failed (no face): those pairs are skipped below.
        rc = subprocess.call([cli, faces, "-o", aligned, "--model", aligner, "--no-identity", "-q",
                              "--threads", str(threads), "--format", "png", "--skip-existing"])
    if rc not in (0, 1):
        sys.exit(f"{cli} failed with exit status {rc}")


def read_pairs(path: str):
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            yield row["file_x"].strip(), row["file_y"].strip(), row["Decision"].strip().lower() == "yes"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--faces", default=os.path.join(REPO, "..", "shared", "eval", "faces"))
    p.add_argument("--pairs", help="CSV with file_x,file_y,Decision (default: FACES/master.csv)")
    p.add_argument("--aligned", default=os.path.join(tempfile.gettempdir(), "faceres_aligned"),
                   help="where the CLI writes the aligned crops (reused when present)")
    p.add_argument("--model-dir", default=os.path.join(REPO, "weights", "eval", "faceres"))
    p.add_argument("--cli", default=os.path.join(REPO, "build", "aiportrait"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--threshold", type=float, default=0.38)
    p.add_argument("--zoom-out", type=float, default=1.1)
    p.add_argument("--min-accuracy", type=float, default=1.0)
    args = p.parse_args(argv)
    torch.set_num_threads(1)

    listed = list(read_pairs(args.pairs or os.path.join(args.faces, "master.csv")))
    present = set(os.listdir(args.faces))
    pairs = [(x, y, same) for x, y, same in listed if x in present and y in present]
    align_folder(args.cli, args.faces, args.aligned, args.threads)

    net = FaceRes(args.model_dir)
    descriptors = {}
    for stem in sorted({os.path.splitext(n)[0] for x, y, _ in pairs for n in (x, y)}):
        bgr = cv2.imread(os.path.join(args.aligned, stem + ".png"))
        if bgr is not None:
            with torch.no_grad():
                descriptors[stem] = net(crop_from_aligned(bgr[:, :, ::-1], args.zoom_out))[0]

    same, diff, skipped = [], [], 0
    for x, y, is_same in pairs:
        a, b = descriptors.get(os.path.splitext(x)[0]), descriptors.get(os.path.splitext(y)[0])
        if a is None or b is None:
            skipped += 1
            continue
        (same if is_same else diff).append(float(cosine_distance(a, b)))
    if not same or not diff:
        sys.exit("no usable pairs of both kinds")
    same, diff = np.array(same), np.array(diff)
    correct = int((same < args.threshold).sum() + (diff >= args.threshold).sum())
    accuracy = correct / (len(same) + len(diff))
    print(f"pairs used: {len(same) + len(diff)} of {len(listed)} ({len(same)} same, "
          f"{len(diff)} different); skipped: {len(listed) - len(pairs)} name a missing photo, "
          f"{skipped} a photo without an aligned face")
    print(f"same-person distance:      median {np.median(same):.3f}  "
          f"range [{same.min():.3f}, {same.max():.3f}]")
    print(f"different-person distance: median {np.median(diff):.3f}  "
          f"range [{diff.min():.3f}, {diff.max():.3f}]")
    print(f"accuracy at {args.threshold}: {accuracy:.4f} ({correct}/{len(same) + len(diff)})")
    return 0 if accuracy >= args.min_accuracy else 1


if __name__ == "__main__":
    sys.exit(main())
