"""Discriminators and losses of the generator's training (aiportrait_gen.train).

Why this balance (generator 1.0; weights/HISTORY.md has the lineage):
- The identity change is made by the bottleneck (model.Bottleneck), so no recognition net is in
  any loss: 0.3-0.7 pushed face-api's distance up and learned adversarial scars instead of a new
  face. Nothing here imports a face descriptor; measuring lives in evaluate.py.
- Pixel losses only hold what the generator was given: L1 between the portrait's and the photo's
  bottleneck images (the portrait must agree with the photo at r(s)), plus a full-resolution L1
  that fades out as (1 - s)^2 for fidelity at low strength. An L1 on detail the bottleneck does not
  determine pulls towards the average face, i.e. blur.
- Detail is left to discriminators (DISCRIMINATORS below), each seeing only what the generator can
  match: unconditional, or beside the image's own bottleneck image (computed from the image it
  judges, so a portrait's condition matches it as exactly as a photo's does).
  Non-saturating loss and feature matching (pix2pixHD). Tried and left out (2026-12-06,
  weights/HISTORY.md), because each kept the discriminators at chance on CPU-length runs:
  lazy R1 (every 16 steps through the discriminators' Adam, even at gamma 0.005: its gradients,
  the input-gradient norm of a fresh PatchGAN is ~10-500, swamped Adam's second moments), and
  DiffAugment (colour, translation, cutout: a fresh D separated a checkpoint's portraits by a
  logit gap of 0.01 after 200 steps with it, 0.69 without; with 22k faces and a few thousand
  steps the discriminators are far from overfitting, the failure DiffAugment is for).
"""
from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


class PatchDiscriminator(nn.Module):
    """PatchGAN: 4x4 stride-2 convs, then 3x3 convs, one logit per patch, no normalisation.
    `forward` returns the LeakyReLU activations (for feature matching) and the logits.

    Why no normalisation (2026-12-06): a fresh face128 D trained alone for 200 steps on the
    portraits of a checkpoint 700 steps into the 1.0 recipe separated them from the originals by
    a logit gap of 0.69 without GroupNorm and 0.09 with it; in the joint run the GroupNorm Ds sat
    at chance while the portraits still showed streaks."""

    def __init__(self, cin: int, ch: int, downs: int, convs: int):
        super().__init__()
        layers, c = [], cin
        for i in range(downs):
            cout = ch * (2 ** i)
            layers.append(nn.Sequential(nn.Conv2d(c, cout, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)))
            c = cout
        for _ in range(convs):
            layers.append(nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True)))
        self.layers = nn.ModuleList(layers)
        self.head = nn.Conv2d(c, 1, 3, 1, 1)

    def forward(self, x: torch.Tensor):
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return feats, self.head(x)


class ComponentCrops(nn.Module):
    """Fixed eye and mouth windows of the aligned 256-px face (the template puts them at known
    places), jittered together by a few pixels per batch. The right eye is mirrored so one
    discriminator sees both eyes as left eyes (GFPGAN's component discriminators).

    Why (2026-12-02): eyes and mouths are where the portraits looked wrong first; the 128-px
    discriminator sees an eye as ~16 px, the texture one only 22-px patches of it."""

    EYE = (64, 48)     # width, height: multiples of 8 (three stride-2 convs)
    MOUTH = (128, 64)
    NOSE = (64, 64)    # from mid-bridge to the upper lip: tip, nostrils and the skin below them

    def __init__(self, template, size: int = 256, jitter: int = 6):
        super().__init__()
        (lx, ly), (rx, ry), _, (mlx, mly), (mrx, mry) = [(x * size, y * size) for x, y in template]
        self.size, self.jitter = size, jitter
        self.eyes = [self._box(lx, ly, self.EYE), self._box(rx, ry, self.EYE)]
        self.mouth = self._box((mlx + mrx) / 2, (mly + mry) / 2, self.MOUTH)
        nx, ny = template[2][0] * size, template[2][1] * size
        self.nose_box = self._box(nx, ny, self.NOSE)

    def _box(self, cx: float, cy: float, wh):
        w, h = wh
        x0 = min(max(int(round(cx - w / 2)), self.jitter), self.size - w - self.jitter)
        y0 = min(max(int(round(cy - h / 2)), self.jitter), self.size - h - self.jitter)
        return x0, y0, w, h

    def offsets(self, gen: torch.Generator):
        return [int(v) for v in torch.randint(-self.jitter, self.jitter + 1, (2,), generator=gen)]

    @staticmethod
    def _cut(x: torch.Tensor, box, off):
        x0, y0, w, h = box
        return x[:, :, y0 + off[1]:y0 + off[1] + h, x0 + off[0]:x0 + off[0] + w]

    def forward(self, x: torch.Tensor, off):
        """(eyes: 2N x 3 x 48 x 64, right ones mirrored; mouths: N x 3 x 64 x 128)."""
        left = self._cut(x, self.eyes[0], off)
        right = self._cut(x, self.eyes[1], (-off[0], off[1])).flip(3)
        return torch.cat([left, right], 0), self._cut(x, self.mouth, off)

    def nose(self, x: torch.Tensor, off) -> torch.Tensor:
        """N x 3 x 64 x 64 windows on the nose tip, jittered with the eyes and mouth.

        Why (2026-12-07): the fresh critic's surest portraits of the 1.0 runs carry a dark,
        moustache-like patch between the nostrils and the upper lip (and 0.7.0 bright blobs on
        the tip); the mouth window reaches only the lip's edge of it, and the whole-face Ds see
        a nose as ~16 px. A 64-px nose discriminator took 0.7.0's nose blobs away in run N
        (weights/HISTORY.md)."""
        return self._cut(x, self.nose_box, off)


@dataclass
class Context:
    """What every discriminator's view of one step shares between the photo and its portrait:
    the bottleneck (model.Bottleneck) and the strengths, the component jitter and the texture
    window."""
    bottleneck: Callable
    s: torch.Tensor
    offsets: list
    window: tuple
    crops: ComponentCrops
    photo_cond: Optional[torch.Tensor] = None  # set: the photo's condition for both (--d-condition photo)


# Whole-face views: the image beside its *own* bottleneck image at r(s), never the photo's.
# Why (2026-12-06): conditioned on the photo's bottleneck image, a real pair always satisfies
# "condition = B(image)" exactly and a portrait only to the consistency L1's ~0.02, so the Ds
# learned that residue: on 48 held-out faces at step 42,412 of run 1.0-a, face128's logit gap
# real - portrait was 10.2 with the photo's condition and 3.6 with the portrait's own; face64's
# 6.0 and 0.7 (aiportrait_gen.probe_discriminators). Their gradient went into the residue, not
# into a realistic face. A condition computed from the image itself can never mismatch.
# The photo's condition stays selectable (--d-condition photo) for the A/B in weights/HISTORY.md:
# over 5k steps from 42,569 it kept the portraits sharper (96 % vs 82 %), at the same critic.
def _condition(img128, c: Context):
    return c.photo_cond if c.photo_cond is not None else c.bottleneck(img128, c.s)


def _face64(img, c: Context):
    img128 = F.avg_pool2d(img, 2)
    return torch.cat([F.avg_pool2d(_condition(img128, c), 2), F.avg_pool2d(img128, 2)], 1)


def _face128(img, c: Context):
    img128 = F.avg_pool2d(img, 2)
    return torch.cat([_condition(img128, c), img128], 1)


def _texture256(img, c: Context):
    y, x = c.window
    return img[:, :, y:y + 128, x:x + 128]


@dataclass(frozen=True)
class DSpec:
    """One discriminator: how to build it, what it sees of a 256-px face, which trainer option
    weighs its adversarial term."""
    name: str
    make: Callable[[], PatchDiscriminator]
    view: Callable
    weight: str


# The one table of discriminators: training, checkpoints, export of portable files and the probe
# all iterate over it. Whole-face Ds see the image beside its own bottleneck image (above);
# texture and components need no condition.
DISCRIMINATORS = (
    # ~34-px receptive field at 64 px: more than half the face, its overall shape
    DSpec("face64", lambda: PatchDiscriminator(6, 32, downs=3, convs=1), _face64, "adv"),
    # ~34 px at 128: noses, eyes and mouths in their context
    DSpec("face128", lambda: PatchDiscriminator(6, 48, downs=3, convs=1), _face128, "adv"),
    # ~22 px at 256 on a random 128-px window: skin, hair and the top octave. Its own weight
    # (--texture, default --adv's) to test whether, blind to where on the face a patch lies, it
    # drew 1.0's stubble on children's jaws: at 0.5 it did not help (2026-12-07, HISTORY.md); the
    # stubble is already in the U-Net's 128-px output, which this D never sees
    DSpec("texture256", lambda: PatchDiscriminator(3, 32, downs=2, convs=1), _texture256, "texture"),
    DSpec("eyes", lambda: PatchDiscriminator(3, 32, downs=3, convs=1),
          lambda img, c: c.crops(img, c.offsets)[0], "component"),
    DSpec("mouth", lambda: PatchDiscriminator(3, 32, downs=3, convs=1),
          lambda img, c: c.crops(img, c.offsets)[1], "component"),
    DSpec("nose", lambda: PatchDiscriminator(3, 32, downs=3, convs=1),
          lambda img, c: c.crops.nose(img, c.offsets), "nose"),
)


def active_discriminators(weights: dict) -> tuple:
    """The discriminators a run trains, in table order: those whose weight option (DSpec.weight,
    a key of the trainer's arguments) is above zero. One with weight 0 is not built, stepped or
    saved, so it costs nothing."""
    return tuple(spec for spec in DISCRIMINATORS if float(weights[spec.weight]) > 0.0)


def draw_context(bottleneck: Callable, s: torch.Tensor, crops: ComponentCrops,
                 gen: torch.Generator, photo_cond: Optional[torch.Tensor] = None) -> Context:
    y, x = (int(v) for v in torch.randint(0, 256 - 128 + 1, (2,), generator=gen))
    return Context(bottleneck, s, crops.offsets(gen), (y, x), crops, photo_cond)


# ------------------------------------------------------------------------------ the losses ----

def d_loss(d: PatchDiscriminator, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating discriminator loss."""
    _, lr = d(real)
    _, lf = d(fake.detach())
    return F.softplus(-lr).mean() + F.softplus(lf).mean()


def g_losses(d: PatchDiscriminator, real: torch.Tensor, fake: torch.Tensor):
    """(non-saturating adversarial loss, feature matching: mean L1 over the layers' activations
    of the real and the portrait)."""
    with torch.no_grad():
        fr, _ = d(real)
    ff, lf = d(fake)
    fm = sum((a - b).abs().mean() for a, b in zip(ff, fr)) / len(ff)
    return F.softplus(-lf).mean(), fm


def consistency_l1(bottleneck: nn.Module, fake128: torch.Tensor, cond: torch.Tensor,
                   s: torch.Tensor) -> torch.Tensor:
    """Per-face L1 between the portrait's bottleneck image and the photo's (`cond`): the
    portrait keeps what it was given at r(s), the only hold on the new face's likeness."""
    return (bottleneck(fake128, s) - cond).abs().mean((1, 2, 3))

