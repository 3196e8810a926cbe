"""Which stage of the generator draws what: the U-Net's 128-px face beside the whole portrait.

    /usr/bin/python3 -m aiportrait_gen.probe_stages CKPT OUT.png --work WORK [--idx 20,57] [--strength 0.6]

(run from scripts/; CKPT: a trainer checkpoint or a kept step_*.pt, whose EMA weights are used).
One row per held-out face: the aligned face | the U-Net's 128-px output, bilinearly to 256, with
the portrait's chroma lock | the portrait (`Portrait.generate`: detail head and chroma lock) |
|portrait - U-Net| x 4, i.e. what the detail head draws.

Why (2026-12-07): the 1.0 portraits' cracks from the nose to the chin, the stubble on children's
jaws and the mottled ring round a baby's mouth were blamed on the 256-px texture discriminator;
this sheet showed all of them already in the U-Net's 128-px face (the detail head only sharpens
them), so the lever is what the U-Net feels. The lock is applied to the U-Net's column too: it
replaces the 32-px-cell chroma, so no loss reaches the U-Net's own colour there and it drifts grey.
"""
import argparse

import numpy as np
import torch
import torch.nn.functional as F

from . import data as D
from .model import Portrait, lock_chroma, portrait_for


def stage_columns(model: Portrait, faces: torch.Tensor, strength: float) -> list:
    """[faces, U-Net output at 256 (chroma locked as the portrait's), portrait,
    |portrait - U-Net| x 4 - 1], all in [-1, 1]."""
    s = torch.full((faces.shape[0],), float(strength))
    with torch.no_grad():
        unet = F.interpolate(model.g(F.avg_pool2d(faces, 2), s), scale_factor=2.0, mode="bilinear",
                             align_corners=False)
        if model.colour_cell > 0:
            unet = lock_chroma(unet, faces, model.colour_cell, model.cell_upsample)
        portrait = model.generate(faces, s)
    return [faces, unet.clamp(-1, 1), portrait.clamp(-1, 1), ((portrait - unet).abs() * 4 - 1).clamp(-1, 1)]


def sheet(columns: list) -> np.ndarray:
    """uint8 RGB rows = faces, columns side by side."""
    n = columns[0].shape[0]
    return np.concatenate([np.concatenate([D.to_uint8(c[i:i + 1])[0] for c in columns], 1)
                           for i in range(n)], 0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("out", help="the sheet (.png)")
    ap.add_argument("--work", required=True, help="the training folder (its held-out faces are used)")
    ap.add_argument("--idx", default="3,20,23,25,57,100,200,300", help="held-out faces, by index")
    ap.add_argument("--strength", type=float, default=0.6)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    import cv2
    ck = torch.load(args.checkpoint, map_location="cpu")
    model = portrait_for(ck.get("args", {}))
    model.load_state_dict(ck["G_ema"])
    model.eval()
    _, held, _, _ = D.load(args.work)
    faces = D.to_tensor(held[[int(v) for v in args.idx.split(",")]], "cpu")
    if not cv2.imwrite(args.out, sheet(stage_columns(model, faces, args.strength))[:, :, ::-1]):
        raise SystemExit(f"{args.out}: could not write the sheet")
    print(f"{args.out}: aligned | U-Net 128 px | portrait | difference x4, strength {args.strength}")


if __name__ == "__main__":
    main()
