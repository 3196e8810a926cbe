"""Does each discriminator of a training checkpoint still tell real faces from portraits?

    /usr/bin/python3 -m aiportrait_gen.probe_discriminators WORK/ckpt/last.pt --work WORK [--strengths 0.1,0.5,0.9]

(run from scripts/). Prints, per discriminator of losses.DISCRIMINATORS and strength, the mean
logit on the held-out originals and on their portraits (no augmentation) and the gap.

Why (2026-12-06): the training log's D losses cannot tell a discriminator that wins for a useless
reason from one that helps. 0.7's conditional structure D sat at a loss of ~0.005 for hours: it
separated real from portrait perfectly at every strength (logits 1.02 vs 0.02) by the portrait's
deviation from the photo that its condition carried, and so gave no gradient towards a realistic
face; an unconditional one tried then sat at chance. 1.0's whole-face Ds, conditioned on the
photo's bottleneck image, did the same on the consistency L1's residue (losses._condition).
A few seconds on a checkpoint show which discriminators carry a signal before hours are spent.
"""
import argparse

import torch
import torch.nn.functional as F

from . import data as D
from .losses import DISCRIMINATORS, ComponentCrops, Context
from .model import portrait_for
from .template import TIGHT_TEMPLATE


def probe(ck: dict, faces: torch.Tensor, strengths, template, condition: str = "own") -> list:
    """[(discriminator, strength, mean logit on originals, mean logit on portraits)]."""
    G = portrait_for(ck.get("args", {}))
    G.load_state_dict(ck["G"])
    nets = {}
    for spec in DISCRIMINATORS:
        if spec.name in ck["D"]:
            net = spec.make()
            net.load_state_dict(ck["D"][spec.name])
            nets[spec.name] = (spec, net.eval())
    crops = ComponentCrops(template, 256)
    off = crops.offsets(torch.Generator().manual_seed(0))
    rows = []
    with torch.no_grad():
        for sv in strengths:
            s = torch.full((len(faces),), float(sv))
            fake = G.generate(faces, s)
            bottleneck = G.g.conditioning.bottleneck
            photo = bottleneck(F.avg_pool2d(faces, 2), s) if condition == "photo" else None
            ctx = Context(bottleneck, s, off, (64, 64), crops, photo)
            for name, (spec, net) in nets.items():
                rows.append((name, float(sv), float(net(spec.view(faces, ctx))[1].mean()),
                             float(net(spec.view(fake, ctx))[1].mean())))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint", help="a trainer checkpoint (WORK/ckpt/last.pt: it holds the discriminators)")
    ap.add_argument("--work", required=True, help="the training folder (its held-out faces are used)")
    ap.add_argument("--n", type=int, default=32, help="held-out faces")
    ap.add_argument("--strengths", default="0.1,0.5,0.9,1")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--d-condition", choices=("own", "photo"), default=None,
                    help="the whole-face Ds' condition (default: the checkpoint's, else own)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ck = torch.load(args.checkpoint, map_location="cpu")
    if "D" not in ck or "G" not in ck:
        raise SystemExit(f"{args.checkpoint}: no discriminators in it (a kept step_*.pt holds only "
                         "the EMA generator; probe WORK/ckpt/last.pt)")
    _, held, _, template = D.load(args.work)
    faces = D.to_tensor(held[:args.n], "cpu")
    print(f"{args.checkpoint}: step {ck.get('step')}, {len(faces)} held-out faces "
          "(mean logit: positive = judged real)")
    print(f"{'discriminator':>13} {'strength':>8} {'original':>9} {'portrait':>9} {'gap':>6}")
    for name, s, real, fake in probe(ck, faces, [float(v) for v in args.strengths.split(",")],
                                     template or TIGHT_TEMPLATE,
                                     args.d_condition or ck.get("args", {}).get("d_condition", "own")):
        print(f"{name:>13} {s:8.2f} {real:9.3f} {fake:9.3f} {real - fake:6.3f}")


if __name__ == "__main__":
    main()
