"""Exports a checkpoint of aiportrait_gen.train as an aiportrait TorchScript generator.

    /usr/bin/python3 scripts/export_generator.py WORK/ckpt/last.pt \
        weights/generator/aiportrait-default.pt --version 1.0.0 --default-strength 0.8 [--bench]

The module is model.Portrait itself (README "Generator contract": forward(x, strength), x N x 3 x
256 x 256 RGB in [-1, 1], the aligned face with the training data's template, margin 0), with
the checkpoint's EMA weights (its raw weights with --raw). aiportrait.json goes into the archive.
"""
import argparse
import os
import time

import torch

from . import contract
from .model import portrait_for
from .template import TIGHT_TEMPLATE


def metadata(args, ck, model) -> dict:
    """The default generator's aiportrait.json (fields: contract.metadata)."""
    bn = model.g.conditioning.bottleneck
    return contract.metadata(
        name=args.name, version=args.version,
        license=("Code: the aiportrait project's licence. Weights: trained on UTKFace, which is "
                 "for non-commercial research use only; so are these weights."),
        template=ck.get("template") or TIGHT_TEMPLATE, accepts_strength=True,
        default_strength=args.default_strength,
        description=(f"U-Net re-creating the face at 128 px from the face at r(s) px (an "
                     f"information bottleneck: {bn.r_max:g} px at strength 0 to {bn.r_min:g} px at 1), "
                     "plus a 256-px detail head; no recognition net in training; see weights/README.md"),
        training={"step": int(ck.get("step", 0)), "images": int(ck.get("images", 0)),
                  "hours": round(float(ck.get("train_seconds", 0.0)) / 3600, 2),
                  "bottleneck_min": float(bn.r_min), "bottleneck_max": float(bn.r_max),
                  "colour_cell": int(model.colour_cell),
                  "edge_plane": model.g.conditioning.plane, "noise": model.noise,
                  "cell_upsample": model.cell_upsample,
                  "ramp": args.ramp, "weights": "raw" if args.raw else "ema"})


def export(ck: dict, output: str, args) -> None:
    m = portrait_for(ck.get("args", {}), args.ramp)
    m.load_state_dict(ck["G"] if args.raw or "G_ema" not in ck else ck["G_ema"])
    contract.save(m.eval(), output, metadata(args, ck, m))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("output")
    ap.add_argument("--name", default="aiportrait-default")
    ap.add_argument("--version", required=True, help="the model's version, e.g. 1.0.0")
    ap.add_argument("--default-strength", type=float, required=True,
                    help="the strength the CLI uses when none is given (weights/README.md's r(s) curve)")
    ap.add_argument("--ramp", type=float, default=0.25,
                    help="strengths below this blend linearly towards the input (0 = off)")
    ap.add_argument("--raw", action="store_true", help="the raw weights instead of their EMA")
    ap.add_argument("--bench", action="store_true", help="time batch-1 CPU forwards, 2 threads")
    args = ap.parse_args(argv)

    if args.checkpoint.endswith(".npz"):  # a portable file (train.py --portable-out): EMA weights only
        from .data import load_portable
        states, meta = load_portable(args.checkpoint)
        ck = {"G_ema": states["G_ema"], **meta}
    else:
        ck = torch.load(args.checkpoint, map_location="cpu")
    export(ck, args.output, args)
    print(f"wrote {args.output} ({os.path.getsize(args.output) / 1e6:.1f} MB) from step "
          f"{ck.get('step')} ({ck.get('images')} images)")
    loaded = torch.jit.load(args.output)
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        y0, y1 = loaded(x, torch.zeros(1)), loaded(x, torch.ones(1))
    assert y1.shape == x.shape and torch.isfinite(y1).all()
    assert torch.equal(y0, x.clamp(-1, 1)), "strength 0 must return the aligned face exactly"
    if args.bench:
        torch.set_num_threads(2)
        times = []
        with torch.no_grad():
            for _ in range(12):
                t = time.time()
                loaded(x, torch.full((1,), 0.5))
                times.append(time.time() - t)
        times = sorted(times[2:])
        print(f"CPU forward, batch 1, 2 threads: median {1000 * times[len(times) // 2]:.1f} ms")
