#!/usr/bin/python3
"""Exports a checkpoint of scripts/train_generator.py as an aiportrait TorchScript generator.

    /usr/bin/python3 scripts/export_generator.py /work/aiportrait-train/ckpt/last.pt \
        weights/generator/aiportrait-default.pt [--default-strength 0.5] [--bench]

The module follows README "Generator contract": forward(x, strength) with x float32 N x 3 x 256 x
256 RGB in [-1, 1] (the aligned face; the training data's template, margin 0) and strength an
N-vector in [0, 1].
Inside it:
  1. x is area-downsampled to 128 px (the training resolution);
  2. the generator sees only the abstraction of that face at this strength (see
     train_generator.py) and re-creates a face at 128 px;
  3. the result is upsampled bilinearly to 256 px, and the original's high frequencies
     (x - up(down(x))) are added back scaled by (1 - strength)^detail_power;
  4. below strength `ramp` the output is blended towards x linearly (strength 0 = the aligned face
     itself, exactly); at and above it the output is the generated face alone.
The metadata file aiportrait.json goes into the archive.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portrait_template import FFHQ_TEMPLATE  # noqa: E402
from train_generator import Generator  # noqa: E402



class Portrait(nn.Module):
    def __init__(self, g: Generator, ramp: float, detail_power: float):
        super().__init__()
        self.g = g
        self.ramp = ramp
        self.detail_power = detail_power

    def forward(self, x: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
        s = strength.to(x.dtype).clamp(0.0, 1.0)
        s4 = s.view(-1, 1, 1, 1)
        small = F.avg_pool2d(x, 2)
        gen = self.g(small, s)
        size = [x.shape[2], x.shape[3]]
        up = F.interpolate(gen, size=size, mode="bilinear", align_corners=False)
        detail = x - F.interpolate(small, size=size, mode="bilinear", align_corners=False)
        out = up + (1.0 - s4).pow(self.detail_power) * detail
        if self.ramp > 0.0:
            w = (s4 / self.ramp).clamp(0.0, 1.0)
            out = x + w * (out - x)
        return out.clamp(-1.0, 1.0)


def metadata(args, ck):
    return json.dumps({
        "format_version": 1,
        "name": args.name,
        "version": args.version,
        "license": ("Code: the aiportrait project's licence. Weights: trained on UTKFace, which is "
                    "for non-commercial research use only; so are these weights."),
        "input_size": 256,
        # the template the training crops were aligned with (checkpoints before 0.2: FFHQ)
        "template": ck.get("template") or FFHQ_TEMPLATE,
        "margin": 0.0,
        "accepts_strength": True,
        "default_strength": args.default_strength,
        "description": ("pix2pix-style U-Net (128 px inside, bilinear to 256) re-creating the "
                        "face from its edges and blurred colours; see weights/README.md"),
        "training": {"step": int(ck.get("step", 0)), "images": int(ck.get("images", 0)),
                     "hours": round(float(ck.get("train_seconds", 0.0)) / 3600, 2),
                     "edge_levels": int(ck.get("args", {}).get("edge_levels", 2)),
                     "ramp": args.ramp, "detail_power": args.detail_power},
    }, indent=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("output")
    ap.add_argument("--name", default="aiportrait-default")
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--default-strength", type=float, default=0.5)
    ap.add_argument("--ramp", type=float, default=0.25,
                    help="strengths below this blend linearly towards the input (0 = off)")
    ap.add_argument("--detail-power", type=float, default=2.0)
    ap.add_argument("--bench", action="store_true", help="time batch-1 CPU forwards, 2 threads")
    args = ap.parse_args()

    ck = torch.load(args.checkpoint, map_location="cpu")
    # runs before --edge-levels existed: steps <= 1461 used 1 level, later ones 2
    edge_levels = int(ck.get("args", {}).get("edge_levels", 2))
    g = Generator(edge_levels)
    g.load_state_dict(ck["G"])
    m = Portrait(g.eval(), args.ramp, args.detail_power).eval()
    scripted = torch.jit.script(m)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    tmp = args.output + ".tmp"
    torch.jit.save(scripted, tmp, _extra_files={"aiportrait.json": metadata(args, ck)})
    os.replace(tmp, args.output)
    print(f"wrote {args.output} ({os.path.getsize(args.output) / 1e6:.1f} MB) from step "
          f"{ck.get('step')} ({ck.get('images')} images)")

    loaded = torch.jit.load(args.output)
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        y0 = loaded(x, torch.zeros(1))
        y1 = loaded(x, torch.ones(1))
    assert y1.shape == x.shape and torch.isfinite(y1).all()
    print(f"check: |out(s=0) - x| max {float((y0 - x).abs().max()):.4f}")
    if args.bench:
        torch.set_num_threads(2)
        times = []
        with torch.no_grad():
            for i in range(12):
                t = time.time()
                loaded(x, torch.full((1,), 0.5))
                times.append(time.time() - t)
        times = sorted(times[2:])
        print(f"CPU forward, batch 1, 2 threads: median {1000 * times[len(times) // 2]:.1f} ms, "
              f"best {1000 * times[0]:.1f} ms")


if __name__ == "__main__":
    main()
