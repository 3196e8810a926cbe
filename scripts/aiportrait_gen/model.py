"""The generator: a 128-px U-Net that re-creates a face from an information bottleneck, and a
256-px head that draws the detail above the U-Net's resolution. `Portrait` is the exact module
that training optimises and that export_generator scripts, so what is measured in training is
what ships.

Where the identity change comes from (generator 1.0): at strength s the generator sees the face
only at a resolution r(s) (Bottleneck: 64 px of the 128-px face at s = 0 down to 10 px at 1,
geometric) and invents everything finer from the face prior it learned from thousands of others:
face hallucination used on purpose. No recognition net is in its training (0.3-0.7 pushed
face-api's distance up, which made adversarial scars); the dial is the bottleneck.
Upsample + conv only (no ConvTranspose2d: LibTorch 1.13 runs it on a slow CPU path).
"""
import functools
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from .landmarks import CHAINS, LandmarkMap

TRAIN_SIZE = 128
BOTTLENECK_MAX = 64.0  # r(0): px across the 128-px face
BOTTLENECK_MIN = 10.0  # r(1)


# ----------------------------------------------------------------------------------- model ----

CELL_UPSAMPLES = ("bilinear", "bicubic")


class Bottleneck(nn.Module):
    """Face x (N,3,H,W in [-1,1]) and strength s (N,) -> the face at resolution r(s) =
    r_max (r_min / r_max)^s px, back to H x W by `upsample` (CELL_UPSAMPLES). A non-integer r
    blends the two integer resolutions around it, so the dial is continuous and nothing finer than
    ceil(r) px passes.

    Why bicubic (2026-12-07): bilinear upsampling of 10-25 px cells is continuous, but its slope
    jumps at every cell, so the bottleneck image's gradient is a grid of cell-sized blocks and a
    jaw's or a cheek's outline bends at each cell (a disc's outline wobbles 2x as much as with
    bicubic: tests/test_model.py); 1.0-F drew jagged jaw outlines. Bicubic keeps the slope
    continuous from the same cells: the same information, a smoother picture of it (it rings a
    little at edges sharper than a cell). Bilinear stays for the weights trained with it.

    The same function is the generator's input, the conditional discriminators' condition and
    the consistency loss's target (losses.consistency_l1): a portrait reproduces its own
    condition exactly when it agrees with the photo at r(s), so a discriminator conditioned on it
    judges realism, not the deviation from the photo that makes the new identity."""

    def __init__(self, r_min: float = BOTTLENECK_MIN, r_max: float = BOTTLENECK_MAX,
                 upsample: str = "bilinear"):
        super().__init__()
        if not 1.0 <= r_min <= r_max:
            raise ValueError(f"bottleneck: need 1 <= r_min ({r_min}) <= r_max ({r_max})")
        if upsample not in CELL_UPSAMPLES:
            raise ValueError(f"cell upsampling: '{upsample}' is none of {', '.join(CELL_UPSAMPLES)}")
        self.r_min = r_min
        self.r_max = r_max
        self.upsample = upsample

    def resolution(self, s: torch.Tensor) -> torch.Tensor:
        return self.r_max * (self.r_min / self.r_max) ** s.clamp(0.0, 1.0)

    def at(self, x: torch.Tensor, size: int) -> torch.Tensor:
        if size >= x.shape[2]:
            return x
        small = F.adaptive_avg_pool2d(x, [size, size])
        return F.interpolate(small, size=[x.shape[2], x.shape[3]], mode=self.upsample,
                             align_corners=False)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        r = self.resolution(s.to(x.dtype))
        out = []
        for i in range(x.shape[0]):
            ri = float(r[i])
            lo = int(math.floor(ri))
            w = ri - float(lo)
            xi = x[i:i + 1]
            a = self.at(xi, lo)
            if w > 1e-6:
                a = a + w * (self.at(xi, lo + 1) - a)
            out.append(a)
        return torch.cat(out, 0)


PLANES = ("sobel", "none", "landmarks", "features")


class Conditioning(nn.Module):
    """What the U-Net sees (N,5,H,W): the bottleneck image (3), a line plane (1) and the
    strength (1). The line plane (`plane`, the trainer's --edge-plane) is one of
    - "sobel": the Sobel edges of the bottleneck image's luma, the plane 0.3-0.7's U-Net was
      trained with (so their weights are a start). The Sobel magnitude of a bilinearly upsampled
      10-25 px image, amplified by tanh(8x), is a grid of ridges along the pooling cells' borders
      and rings round every blob, and the U-Net drew them as dark crease lines on cheeks and
      foreheads (2026-12-06, seventh session: the same generator with the plane blanked draws
      fewer creases);
    - "none": a constant -1 ("no line"; the layout stays, so the same weights load);
    - "landmarks": the photo's 68 landmarks drawn as lines (landmarks.LandmarkMap, at 64 px):
      where the eyelids, lips, brows, nose and jaw run, which the bottleneck blurs away;
    - "features": only the eyes', brows' and lips' lines (landmarks.CHAINS says why)."""

    def __init__(self, r_min: float = BOTTLENECK_MIN, r_max: float = BOTTLENECK_MAX,
                 plane: str = "sobel", upsample: str = "bilinear"):
        super().__init__()
        if plane not in PLANES:
            raise ValueError(f"line plane: '{plane}' is none of {', '.join(PLANES)}")
        self.bottleneck = Bottleneck(r_min, r_max, upsample)
        self.plane = plane
        self.landmarks = LandmarkMap(0.75, CHAINS[plane]) if plane in CHAINS else None
        sx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 4.0
        self.register_buffer("sobel", torch.stack([sx, sx.t()]).unsqueeze(1))
        self.register_buffer("luma", torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1))

    def edges(self, gray: torch.Tensor) -> torch.Tensor:
        g = F.pad(gray, (1, 1, 1, 1), mode="replicate")
        d = F.conv2d(g, self.sobel)
        mag = torch.sqrt(d[:, 0:1] ** 2 + d[:, 1:2] ** 2 + 1e-6)
        return torch.tanh(mag * 8.0) * 2.0 - 1.0

    def line_plane(self, x: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if self.plane == "sobel":
            return self.edges((b * self.luma).sum(dim=1, keepdim=True))
        if self.landmarks is not None:
            return self.landmarks(x)
        return torch.full_like(b[:, 0:1], -1.0)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        b = self.bottleneck(x, s)
        e = self.line_plane(x, b)
        s4 = s.view(-1, 1, 1, 1).clamp(0.0, 1.0).to(x.dtype)
        smap = s4.expand(x.shape[0], 1, x.shape[2], x.shape[3]) * 2.0 - 1.0
        return torch.cat([b, e, smap], dim=1)


def conv(cin: int, cout: int, stride: int = 1, norm: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, 3, stride, 1)]
    if norm:
        layers.append(nn.GroupNorm(8, cout))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


class ResBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.a = conv(c, c)
        self.b = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.GroupNorm(8, c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x + self.b(self.a(x)), 0.2)


class Up(nn.Module):
    """Bilinear 2x upsample, concatenate the skip, two 3x3 convs."""

    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.c1 = conv(cin + cskip, cout)
        self.c2 = conv(cout, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.c2(self.c1(torch.cat([x, skip], dim=1)))


class NoiseInjection(nn.Module):
    """x + w * noise, one learned w per channel, starting at zero: a generator given it starts as
    it was, and weights without it load (load_generator_state). While training the noise is
    drawn afresh; in eval mode (export, evaluation) it is one fixed field drawn from a fixed
    seed, so a portrait is the same on every run (StyleGAN's "const" noise).

    Why (2026-12-07): the 1.0 portraits' skin is crinkled and mottled. A generator without a
    noise input has to make pseudo-random detail (pores, hair) out of its own activations, which
    shows as repeated patterns (Karras et al. 2019, StyleGAN, section 3.2); the issue's recipe
    lists it for hair and skin texture."""

    def __init__(self, channels: int, size: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))
        field = torch.randn(1, 1, size, size, generator=torch.Generator().manual_seed(size))
        self.register_buffer("fixed", field, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            n = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], dtype=x.dtype, device=x.device)
        else:
            n = self.fixed[:, :, :x.shape[2], :x.shape[3]].to(x.dtype)
        return x + self.weight * n


def noise_or_identity(on: bool, channels: int, size: int) -> nn.Module:
    return NoiseInjection(channels, size) if on else nn.Identity()


class UNet(nn.Module):
    """Light U-Net, 128 -> 8 px, upsample + conv decoder. Input 5 channels, output RGB (tanh).
    With `noise`, the two finest decoder blocks (64 and 128 px) get a noise input."""

    def __init__(self, cin: int = 5, ch=(16, 32, 64, 128, 192), nres: int = 2, noise: bool = False):
        super().__init__()
        c0, c1, c2, c3, c4 = ch
        self.e0 = nn.Sequential(conv(cin, c0, norm=False), conv(c0, c0))
        self.e1 = nn.Sequential(conv(c0, c1, 2), conv(c1, c1))
        self.e2 = nn.Sequential(conv(c1, c2, 2), conv(c2, c2))
        self.e3 = nn.Sequential(conv(c2, c3, 2), conv(c3, c3))
        self.e4 = nn.Sequential(conv(c3, c4, 2), *[ResBlock(c4) for _ in range(nres)])
        self.d3 = Up(c4, c3, c3)
        self.d2 = Up(c3, c2, c2)
        self.d1 = Up(c2, c1, c1)
        self.d0 = Up(c1, c0, c0)
        self.n1 = noise_or_identity(noise, c1, TRAIN_SIZE // 2)
        self.n0 = noise_or_identity(noise, c0, TRAIN_SIZE)
        self.out = nn.Conv2d(c0, 3, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = self.e0(x)
        x1 = self.e1(x0)
        x2 = self.e2(x1)
        x3 = self.e3(x2)
        x4 = self.e4(x3)
        y = self.d3(x4, x3)
        y = self.d2(y, x2)
        y = self.n1(self.d1(y, x1))
        y = self.n0(self.d0(y, x0))
        return torch.tanh(self.out(y))


class Generator(nn.Module):
    """Face (N,3,128,128 in [-1,1]) + strength (N,) -> re-created face at 128 px."""

    def __init__(self, r_min: float = BOTTLENECK_MIN, r_max: float = BOTTLENECK_MAX,
                 plane: str = "sobel", noise: bool = False, upsample: str = "bilinear"):
        super().__init__()
        self.conditioning = Conditioning(r_min, r_max, plane, upsample)
        self.unet = UNet(noise=noise)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return self.unet(self.conditioning(x, s))


class Detail256(nn.Module):
    """Draws the octave above the U-Net's 128 px: a residual on the bilinear upsample of its
    output. It sees the U-Net's 128-px face, the photo's own top octave scaled by the fidelity
    gate (1 at strength 0, 0 from `fidelity_until` up: above it nothing of the photo passes but
    the bottleneck, so the head must invent the texture) and the strength. It works at 128 px on
    space-to-depth planes and pixel-shuffles its 12 output planes to 256 px: a third of the cost
    of the same convs at 256 px. The last conv starts at zero, so a fresh head adds nothing."""

    def __init__(self, ch: int = 24, noise: bool = False):
        super().__init__()
        self.c1 = nn.Conv2d(3 + 12 + 1, ch, 3, 1, 1)
        self.noise = noise_or_identity(noise, ch, TRAIN_SIZE)
        self.out = nn.Conv2d(ch, 12, 3, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, face128: torch.Tensor, top: torch.Tensor, s: torch.Tensor,
                fidelity_until: float) -> torch.Tensor:
        s4 = s.view(-1, 1, 1, 1)
        smap = s4.expand(face128.shape[0], 1, face128.shape[2], face128.shape[3]) * 2.0 - 1.0
        gate = (1.0 - s4 / fidelity_until).clamp(0.0, 1.0)
        h = torch.cat([face128, F.pixel_unshuffle(top * gate, 2), smap], dim=1)
        h = self.noise(F.leaky_relu(self.c1(h), 0.2))
        up = F.interpolate(face128, scale_factor=2.0, mode="bilinear", align_corners=False)
        return up + F.pixel_shuffle(self.out(h), 2)


def _cells(x: torch.Tensor, cell: int, upsample: str) -> torch.Tensor:
    """x averaged over cell x cell squares, back to full size by `upsample` (CELL_UPSAMPLES)."""
    return F.interpolate(F.avg_pool2d(x, cell), size=[x.shape[2], x.shape[3]], mode=upsample,
                         align_corners=False)


def lock_chroma(out: torch.Tensor, x: torch.Tensor, cell: int,
                upsample: str = "bilinear") -> torch.Tensor:
    """`out` with its chroma (YCbCr Cb, Cr) averaged over `cell`-px cells replaced by that of the
    photo `x`; luma and the finer chroma stay the generator's. Why: the portraits drifted in tint
    (grayscale photos came out cyan, some skins mustard) although the generator is given the
    photo's colours at that scale; the lock makes that a guarantee instead of a loss term's hope.
    At cells no finer than the colour map of the abstraction it gives back no detail the
    generator was not given. The correction is upsampled as the bottleneck's cells are
    (Bottleneck says why bicubic)."""
    cb = torch.tensor([-0.168736, -0.331264, 0.5], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    cr = torch.tensor([0.5, -0.418688, -0.081312], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    d = _cells(x - out, cell, upsample)
    dcb, dcr = (d * cb).sum(1, keepdim=True), (d * cr).sum(1, keepdim=True)
    # YCbCr -> RGB for a pure chroma change (luma unchanged)
    return out + torch.cat([1.402 * dcr, -0.344136 * dcb - 0.714136 * dcr, 1.772 * dcb], 1)


class Portrait(nn.Module):
    """README "Generator contract": forward(x, strength), x N x 3 x 256 x 256 RGB in [-1, 1] (the
    aligned face), strength an N-vector in [0, 1].

    1. x is area-downsampled to 128 px and the U-Net re-creates the face from its bottleneck;
    2. Detail256 upsamples that to 256 px and draws the top octave;
    3. the chroma on `colour_cell`-px cells is locked to the photo's (no finer than r(1));
    4. below strength `ramp` the output is blended towards x linearly, so strength 0 returns the
       aligned face exactly (forward only: training optimises `generate`).
    With `noise` (the trainer's --noise), the U-Net's 64- and 128-px decoder blocks and the
    detail head get a noise input (NoiseInjection: a fixed field once exported). `cell_upsample`
    (the trainer's --cell-upsample) brings the bottleneck's and the chroma lock's cells back to
    full size."""

    def __init__(self, r_min: float = BOTTLENECK_MIN, r_max: float = BOTTLENECK_MAX,
                 ramp: float = 0.25, colour_cell: int = 32, plane: str = "sobel",
                 noise: bool = False, cell_upsample: str = "bilinear"):
        super().__init__()
        self.g = Generator(r_min, r_max, plane, noise, cell_upsample)
        self.cell_upsample = cell_upsample
        self.detail = Detail256(noise=noise)
        self.noise = noise
        self.ramp = ramp
        self.colour_cell = colour_cell
        # the photo's top octave reaches the detail head only below this strength (the blend
        # ramp's end at export's default): fixed, so training and every export agree
        self.fidelity_until = 0.25

    def generate(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        small = F.avg_pool2d(x, 2)
        top = x - F.interpolate(small, scale_factor=2.0, mode="bilinear", align_corners=False)
        out = self.detail(self.g(small, s), top, s, self.fidelity_until)
        if self.colour_cell > 0:
            out = lock_chroma(out, x, self.colour_cell, self.cell_upsample)
        return out

    def forward(self, x: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
        s = strength.to(x.dtype).clamp(0.0, 1.0)
        out = self.generate(x, s)
        if self.ramp > 0.0:
            w = (s.view(-1, 1, 1, 1) / self.ramp).clamp(0.0, 1.0)
            out = x + w * (out - x)
        return out.clamp(-1.0, 1.0)


def portrait_for(args: dict, ramp: float = 0.25) -> Portrait:
    """The Portrait a checkpoint's trainer arguments describe."""
    return Portrait(float(args.get("bottleneck_min", BOTTLENECK_MIN)),
                    float(args.get("bottleneck_max", BOTTLENECK_MAX)), ramp,
                    int(args.get("colour_cell", 32)), args.get("edge_plane") or "sobel",
                    args.get("noise") in (True, "on"), args.get("cell_upsample") or "bilinear")


_LANDMARK_PREFIX = "g.conditioning.landmarks."
FACE_API_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "weights",
                            "face-api")


def load_generator_state(model: Portrait, state: dict, kind: str, path: str) -> str:
    """`state` (from `path`, a `kind` of file) into `model`. A 0.3-0.7 export (abstraction in
    front of the same U-Net) loads too: its conditioning buffers are the same Sobel and luma taps.
    Returns a description for the log."""
    if any(k.startswith("g.abstraction.") for k in state):
        state = {k.replace("g.abstraction.", "g.conditioning."): v for k, v in state.items()}
        kind += " of the abstraction era (0.3-0.7: its U-Net and head, a new input)"
    # buffers a module derives from its options (non-persistent: the landmark map's segment
    # tables) are not weights; a TorchScript export lists them in its state dict all the same
    derived = {n for n, _ in model.named_buffers()} - set(model.state_dict())
    state = {k: v for k, v in state.items() if k not in derived}
    lm_keys = [k for k in state if k.startswith(_LANDMARK_PREFIX)]
    if model.g.conditioning.landmarks is not None and not lm_keys:
        kind += f"; landmark net from {load_landmark_net(model)}"
        state = {**{k: v for k, v in model.state_dict().items() if k.startswith(_LANDMARK_PREFIX)},
                 **state}
    elif model.g.conditioning.landmarks is None and lm_keys:
        state = {k: v for k, v in state.items() if k not in lm_keys}
        kind += "; its landmark net left out (this run has no landmark plane)"
    state, note = match_noise(model, state)
    kind += note
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise ValueError(f"{path}: not an aiportrait generator of this layout ({e})") from None
    return kind


@functools.lru_cache(maxsize=None)
def noise_keys() -> frozenset:
    """The state-dict keys of the noise inputs' weights (the same for every plane; built once:
    it takes two whole Portraits)."""
    return frozenset(Portrait(noise=True).state_dict()) - frozenset(Portrait().state_dict())


def match_noise(model: Portrait, state: dict):
    """(state, note): noise weights added at zero for a generator given noise inputs (it starts
    exactly as the weights were), or left out for one without them (said: nonzero ones changed
    the portrait)."""
    keys = noise_keys()
    given = keys & set(state)
    if model.noise and not given:
        return {**{k: torch.zeros_like(v) for k, v in model.state_dict().items() if k in keys},
                **state}, "; noise inputs added at zero"
    if not model.noise and given:
        largest = max(float(state[k].abs().max()) for k in given)
        return ({k: v for k, v in state.items() if k not in keys},
                f"; its noise inputs left out (largest weight {largest:.3g})")
    return state, ""


def load_landmark_net(model: Portrait, model_dir: str = FACE_API_DIR) -> str:
    """Fills a landmark-plane generator's landmark net from face-api's files (a fresh run, or one
    started from a generator without the plane). Returns the folder, for the log."""
    lm = model.g.conditioning.landmarks
    if lm is None:
        raise ValueError("this generator has no landmark plane")
    lm.net.load_tfjs(model_dir)
    return os.path.normpath(model_dir)
