"""The trainer's command line (aiportrait_gen.train): every option, its default and why, in one
place. Loss weights are read again on every --resume (pass them again); --edge-plane, --noise and
--cell-upsample follow the starting point unless given."""
import argparse
import os

import torch

from .model import BOTTLENECK_MAX, BOTTLENECK_MIN, CELL_UPSAMPLES, PLANES

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description="Trains aiportrait's default generator (model.Portrait) on the aligned UTKFace crops.")
    ap.add_argument("--work", default=os.environ.get(
        "AIPORTRAIT_TRAIN_DIR", os.path.join(REPO, "..", "aiportrait-train")))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr-g", type=float, default=1e-4)
    ap.add_argument("--lr-d", type=float, default=4e-4, help="TTUR: the discriminators learn 4x faster")
    ap.add_argument("--ema", type=float, default=0.999, help="decay of the exported weights' EMA")
    ap.add_argument("--consistency", type=float, default=10.0,
                    help="L1 between the portrait's and the photo's bottleneck images (losses.consistency_l1)")
    ap.add_argument("--full-l1", type=float, default=20.0,
                    help="full-resolution L1, x (1 - s)^2: fidelity at low strength only")
    ap.add_argument("--adv", type=float, default=1.0, help="weight of each whole-face D")
    ap.add_argument("--texture", type=float, default=None,
                    help="weight of the 256-px texture D (default: --adv's); 0: not built")
    ap.add_argument("--component", type=float, default=1.0, help="weight of the eye and mouth Ds")
    ap.add_argument("--nose", type=float, default=0.0,
                    help="weight of the nose-window D (losses.ComponentCrops.nose); 0: not built")
    ap.add_argument("--fm", type=float, default=2.0,
                    help="feature matching per D, relative to its adversarial weight")
    ap.add_argument("--strength-low", type=float, default=0.0,
                    help="strengths uniform in [LOW, 1]; 0: 10%% at 0, 20%% at 1, the rest uniform")
    ap.add_argument("--bottleneck-min", type=float, default=BOTTLENECK_MIN,
                    help="px across the 128-px face that the generator gets at strength 1")
    ap.add_argument("--bottleneck-max", type=float, default=BOTTLENECK_MAX, help="... at strength 0")
    ap.add_argument("--d-condition", choices=("own", "photo"), default="own",
                    help="whole-face discriminators see each image beside its own bottleneck image, "
                         "or beside the photo's (run 1.0-a's recipe; its Ds learned the consistency "
                         "residue: losses._condition)")
    ap.add_argument("--edge-plane", choices=PLANES, default=None,
                    help="the U-Net's fourth input plane: the Sobel edges of the bottleneck image, "
                         "none (constant), the photo's 68 landmarks drawn as lines, or only their "
                         "eyes, brows and lips (model.Conditioning says why); default: what the "
                         "--resume checkpoint or --init file was trained with, else sobel")
    ap.add_argument("--noise", choices=("on", "off"), default=None,
                    help="noise inputs in the U-Net's finest decoder blocks and the detail head "
                         "(model.NoiseInjection, starting at zero); default: what the --resume "
                         "checkpoint or --init file was trained with, else off")
    ap.add_argument("--cell-upsample", choices=CELL_UPSAMPLES, default=None,
                    help="how the bottleneck image and the chroma lock's cells come back to full "
                         "size (model.Bottleneck says why bicubic); default: what the --resume "
                         "checkpoint or --init file was trained with, else bilinear")
    ap.add_argument("--colour-cell", type=int, default=32,
                    help="lock the portrait's chroma on cells of this many px at 256 to the photo's "
                         "(model.lock_chroma); 0 = off")
    ap.add_argument("--resume", action="store_true", help="continue from WORK/ckpt/last.pt")
    ap.add_argument("--init", default=None,
                    help="start from these weights: a checkpoint, an exported generator, or a portable "
                         ".npz (--portable-out: its EMA generator and discriminators)")
    ap.add_argument("--portable-out", default=None,
                    help="also write each checkpoint's EMA generator and discriminators (float16) "
                         "here as a torch-version-free .npz (aiportrait_gen.data.save_portable)")
    ap.add_argument("--steps", type=int, default=10 ** 9, help="stop after this many steps of this run")
    ap.add_argument("--hours", type=float, default=1e9,
                    help="stop after this much training time of this run (SIGSTOP pauses not counted)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--keep-minutes", type=float, default=30.0)
    ap.add_argument("--log-every", type=int, default=50)
    args = ap.parse_args(argv)
    args.texture = args.adv if args.texture is None else args.texture
    return args
