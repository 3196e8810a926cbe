"""A small, exact pack of the training data, for a machine that has no ../shared (the GPU lent to
some sessions: its working tree may carry 64 MiB in all).

    /usr/bin/python3 -m aiportrait_gen.pack pack WORK PACK.npz --max-mb 42   # here
    python3 -m aiportrait_gen.pack unpack PACK.npz WORK2                     # there

The 256-px crops themselves are 196 KB each (4.6 GB for the 23k faces) and lossy re-encoding
would teach the texture discriminator the codec's artefacts. So the pack holds what the crops are
made of: each face's own UTKFace JPEG (bytes as in the archive, ~5.8 KB) and the 2 x 3 alignment
matrix of its sidecar, and `unpack` warps them again as src/face/align.cpp does (bicubic,
reflect-101). A seeded random subset of the training split fits the size; a few held-out faces
come along for the trainer's sample grid only. `unpack` writes WORK2/aligned256.npy, names.txt,
heldout.txt and template.json, i.e. what aiportrait_gen.data.load reads.
"""
import argparse
import json
import os
import sys

import cv2
import numpy as np

from . import data as D

CROP = 256


def warp(jpeg: bytes, matrix: np.ndarray) -> np.ndarray:
    """The aligned 256-px RGB crop of one photo, as src/face/align.cpp makes it (no shrink >2x
    path: UTKFace faces are enlarged ~1.3x)."""
    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("undecodable JPEG")
    crop = cv2.warpAffine(bgr, matrix.astype(np.float64), (CROP, CROP), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REFLECT_101)
    return np.ascontiguousarray(crop[:, :, ::-1])


def source_of(work: str, name: str):
    """(JPEG bytes, 2 x 3 matrix) of a face that prepare_training_data.sh aligned."""
    with open(os.path.join(work, "aligned", name + ".json")) as f:
        side = json.load(f)
    face = next(f for f in side["faces"] if f.get("used", True))
    with open(side["input"]["path"], "rb") as f:
        return f.read(), np.array(face["alignment_matrix"], np.float64)


def lines(path: str) -> list:
    with open(path) as f:
        return [l.strip() for l in f if l.strip()]


def pack(work: str, out: str, max_mb: float, n_held: int, seed: int) -> None:
    names = lines(os.path.join(work, "names.txt"))
    held = set(lines(os.path.join(work, "heldout.txt")))
    rng = np.random.default_rng(seed)
    train_names = [n for n in names if n not in held]
    order = [train_names[i] for i in rng.permutation(len(train_names))]
    held_names = sorted(n for n in names if n in held)[:n_held]
    blobs, mats, picked, kinds, size = [], [], [], [], 0
    for kind, group in ((1, held_names), (0, order)):
        for name in group:
            jpeg, m = source_of(work, name)
            if kind == 0 and size + len(jpeg) + 48 > max_mb * 1e6:
                break
            blobs.append(np.frombuffer(jpeg, np.uint8))
            mats.append(m)
            picked.append(name)
            kinds.append(kind)
            size += len(jpeg) + 48
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    with open(os.path.join(work, "template.json")) as f:
        template = json.load(f)
    tmp = out + ".tmp.npz"
    np.savez(tmp, jpeg=np.concatenate(blobs), offsets=offsets, matrices=np.stack(mats),
             held=np.array(kinds, np.uint8), names=np.array(picked),
             template=np.array(json.dumps(template)))
    os.replace(tmp, out)
    n_train = len(picked) - sum(kinds)
    print(f"{out}: {n_train} training faces of {len(train_names)} and {sum(kinds)} held-out ones, "
          f"{os.path.getsize(out) / 1e6:.1f} MB")


def unpack(path: str, work: str) -> None:
    p = np.load(path)
    offsets, jpeg = p["offsets"], p["jpeg"]
    n = len(offsets) - 1
    os.makedirs(work, exist_ok=True)
    crops = np.lib.format.open_memmap(os.path.join(work, "aligned256.npy.tmp"), mode="w+",
                                      dtype=np.uint8, shape=(n, CROP, CROP, 3))
    for i in range(n):
        crops[i] = warp(jpeg[offsets[i]:offsets[i + 1]].tobytes(), p["matrices"][i])
    crops.flush()
    del crops
    os.replace(os.path.join(work, "aligned256.npy.tmp"), os.path.join(work, "aligned256.npy"))
    names = [str(s) for s in p["names"]]
    with open(os.path.join(work, "names.txt"), "w") as f:
        f.write("".join(n + "\n" for n in names))
    with open(os.path.join(work, "heldout.txt"), "w") as f:
        f.write("".join(n + "\n" for n, h in zip(names, p["held"]) if h))
    with open(os.path.join(work, "template.json"), "w") as f:
        f.write(str(p["template"]))
    print(f"{work}: {n} faces ({int(p['held'].sum())} held out)")


def check(path: str, work: str, n: int) -> None:
    """Compares the first n unpacked crops with prepare_training_data.sh's own."""
    p = np.load(path)
    names = lines(os.path.join(work, "names.txt"))
    index = {name: i for i, name in enumerate(names)}
    full = np.load(os.path.join(work, "aligned256.npy"), mmap_mode="r")
    worst = 0
    for i in range(min(n, len(p["names"]))):
        crop = warp(p["jpeg"][p["offsets"][i]:p["offsets"][i + 1]].tobytes(), p["matrices"][i])
        diff = np.abs(crop.astype(int) - full[index[str(p["names"][i])]].astype(int))
        worst = max(worst, int(diff.max()))
        print(f"{p['names'][i]}: max |diff| {diff.max()}, mean {diff.mean():.4f}")
    print(f"worst {worst}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("pack")
    a.add_argument("work")
    a.add_argument("out")
    a.add_argument("--max-mb", type=float, default=42.0)
    a.add_argument("--held", type=int, default=32, help="held-out faces for the sample grid")
    a.add_argument("--seed", type=int, default=1234)
    b = sub.add_parser("unpack")
    b.add_argument("pack")
    b.add_argument("work")
    c = sub.add_parser("check")
    c.add_argument("pack")
    c.add_argument("work")
    c.add_argument("--n", type=int, default=50)
    args = ap.parse_args(argv)
    if args.cmd == "pack":
        pack(args.work, args.out, args.max_mb, args.held, args.seed)
    elif args.cmd == "unpack":
        unpack(args.pack, args.work)
    else:
        check(args.pack, args.work, args.n)


if __name__ == "__main__":
    sys.exit(main())
