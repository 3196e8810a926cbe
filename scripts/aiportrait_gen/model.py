"""The generator: a 128-px U-Net that re-creates a face from its abstraction, and a 256-px head
that draws the detail above the U-Net's resolution. `Portrait` is the exact module that training
optimises and that export_generator scripts, so what is measured in training is what ships.

The generator never sees the face itself at full strength: it sees an *abstraction* of it (a
strength-dependent blur of the colours plus a grayscale edge map whose source loses detail as
strength rises) and re-creates a whole face from what it learned from thousands of others.
Upsample + conv only (no ConvTranspose2d: LibTorch 1.13 runs it on a slow CPU path).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

TRAIN_SIZE = 128
PYRAMID_LEVELS = 4  # strength 1 -> colours averaged over 2^4 = 16-px cells (8x8 map at 128 px)
EDGE_LEVELS = 3  # strength 1 -> edges of the face downsampled 2^3 = 8x (16 px at 128 px)


# ----------------------------------------------------------------------------------- model ----

class Abstraction(nn.Module):
    """Face x (N,3,H,W in [-1,1]) and strength s (N,) -> conditioning (N,5,H,W):
    3 colour channels (a pyramid blur, detail removed as s rises), 1 edge channel, 1 strength map.
    """

    def __init__(self, levels: int = PYRAMID_LEVELS, edge_levels: int = EDGE_LEVELS,
                 cap: float = 1.0):
        super().__init__()
        self.levels = levels
        self.edge_levels = edge_levels
        # Strengths above `cap` abstract no further; only the strength plane still rises, so the
        # last stretch of the dial is made by the identity loss, not by destroying more of the face
        # (at 1 an 8x8 colour map leaves this generator too little: it scribbles).
        self.cap = cap
        sx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 4.0
        self.register_buffer("sobel", torch.stack([sx, sx.t()]).unsqueeze(1))
        self.register_buffer("luma", torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1))

    def level(self, x: torch.Tensor, k: int) -> torch.Tensor:
        if k == 0:
            return x
        f = 1 << k
        small = F.avg_pool2d(x, f)
        return F.interpolate(small, size=[x.shape[2], x.shape[3]], mode="bilinear",
                             align_corners=False)

    def edges(self, gray: torch.Tensor) -> torch.Tensor:
        g = F.pad(gray, (1, 1, 1, 1), mode="replicate")
        d = F.conv2d(g, self.sobel)
        mag = torch.sqrt(d[:, 0:1] ** 2 + d[:, 1:2] ** 2 + 1e-6)
        return torch.tanh(mag * 8.0) * 2.0 - 1.0

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        s4 = s.view(-1, 1, 1, 1).clamp(0.0, 1.0)
        sa = s4.clamp(max=self.cap)
        t = sa * float(self.levels)
        colour = torch.zeros_like(x)
        for k in range(self.levels + 1):
            w = (1.0 - (t - float(k)).abs()).clamp(min=0.0)  # piecewise-linear over the levels
            colour = colour + w * self.level(x, k)
        gray = (x * self.luma).sum(dim=1, keepdim=True)
        te = sa * float(self.edge_levels)  # edges lose fine detail as s rises
        g = torch.zeros_like(gray)
        for k in range(self.edge_levels + 1):
            w = (1.0 - (te - float(k)).abs()).clamp(min=0.0)
            g = g + w * self.level(gray, k)
        gray = g
        e = self.edges(gray)
        smap = s4.expand(x.shape[0], 1, x.shape[2], x.shape[3]) * 2.0 - 1.0
        return torch.cat([colour, e, smap], dim=1)


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


class UNet(nn.Module):
    """Light U-Net, 128 -> 8 px, upsample + conv decoder. Input 5 channels, output RGB (tanh)."""

    def __init__(self, cin: int = 5, ch=(16, 32, 64, 128, 192), nres: int = 2):
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
        self.out = nn.Conv2d(c0, 3, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0 = self.e0(x)
        x1 = self.e1(x0)
        x2 = self.e2(x1)
        x3 = self.e3(x2)
        x4 = self.e4(x3)
        y = self.d3(x4, x3)
        y = self.d2(y, x2)
        y = self.d1(y, x1)
        y = self.d0(y, x0)
        return torch.tanh(self.out(y))


class Generator(nn.Module):
    """Face (N,3,128,128 in [-1,1]) + strength (N,) -> re-created face at 128 px."""

    def __init__(self, edge_levels: int = EDGE_LEVELS, abstraction_cap: float = 1.0):
        super().__init__()
        self.abstraction = Abstraction(edge_levels=edge_levels, cap=abstraction_cap)
        self.unet = UNet()

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return self.unet(self.abstraction(x, s))



class Detail256(nn.Module):
    """Draws the octave above the U-Net's 128 px: a residual on the bilinear upsample of its
    output. It sees the U-Net's 128-px face, the photo's own top octave scaled by (1 - strength)
    (a CodeFormer-style fidelity gate: at low strength it may keep the photo's texture, at 1 it
    gets none and must invent it) and the strength. It works at 128 px on space-to-depth planes
    and pixel-shuffles its 12 output planes to 256 px: a third of the cost of the same convs at
    256 px. The last conv starts at zero, so a fresh head adds nothing and a generator without
    one (0.2) is continued from exactly."""

    def __init__(self, ch: int = 24):
        super().__init__()
        self.c1 = nn.Conv2d(3 + 12 + 1, ch, 3, 1, 1)
        self.out = nn.Conv2d(ch, 12, 3, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, face128: torch.Tensor, top: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        s4 = s.view(-1, 1, 1, 1)
        smap = s4.expand(face128.shape[0], 1, face128.shape[2], face128.shape[3]) * 2.0 - 1.0
        h = torch.cat([face128, F.pixel_unshuffle(top * (1.0 - s4), 2), smap], dim=1)
        h = F.leaky_relu(self.c1(h), 0.2)
        up = F.interpolate(face128, scale_factor=2.0, mode="bilinear", align_corners=False)
        return up + F.pixel_shuffle(self.out(h), 2)


def _cells(x: torch.Tensor, cell: int) -> torch.Tensor:
    """x averaged over cell x cell squares, bilinearly back to full size."""
    return F.interpolate(F.avg_pool2d(x, cell), size=[x.shape[2], x.shape[3]], mode="bilinear",
                         align_corners=False)


def lock_chroma(out: torch.Tensor, x: torch.Tensor, cell: int) -> torch.Tensor:
    """`out` with its chroma (YCbCr Cb, Cr) averaged over `cell`-px cells replaced by that of the
    photo `x`; luma and the finer chroma stay the generator's. Why: the portraits drifted in tint
    (grayscale photos came out cyan, some skins mustard) although the generator is given the
    photo's colours at that scale; the lock makes that a guarantee instead of a loss term's hope.
    At cells no finer than the colour map of the abstraction it gives back no detail the
    generator was not given."""
    cb = torch.tensor([-0.168736, -0.331264, 0.5], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    cr = torch.tensor([0.5, -0.418688, -0.081312], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    d = _cells(x - out, cell)
    dcb, dcr = (d * cb).sum(1, keepdim=True), (d * cr).sum(1, keepdim=True)
    # YCbCr -> RGB for a pure chroma change (luma unchanged)
    return out + torch.cat([1.402 * dcr, -0.344136 * dcb - 0.714136 * dcr, 1.772 * dcb], 1)


class Portrait(nn.Module):
    """README "Generator contract": forward(x, strength), x N x 3 x 256 x 256 RGB in [-1, 1] (the
    aligned face), strength an N-vector in [0, 1].

    1. x is area-downsampled to 128 px and the U-Net re-creates the face from its abstraction;
    2. Detail256 upsamples that to 256 px and draws the top octave;
    3. below strength `ramp` the output is blended towards x linearly, so strength 0 returns the
       aligned face exactly (forward only: training optimises `generate`)."""

    def __init__(self, edge_levels: int = EDGE_LEVELS, ramp: float = 0.25,
                 abstraction_cap: float = 1.0, colour_cell: int = 0):
        super().__init__()
        self.g = Generator(edge_levels, abstraction_cap)
        self.detail = Detail256()
        self.ramp = ramp
        self.colour_cell = colour_cell

    def generate(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        small = F.avg_pool2d(x, 2)
        top = x - F.interpolate(small, scale_factor=2.0, mode="bilinear", align_corners=False)
        out = self.detail(self.g(small, s), top, s)
        if self.colour_cell > 0:
            out = lock_chroma(out, x, self.colour_cell)
        return out

    def forward(self, x: torch.Tensor, strength: torch.Tensor) -> torch.Tensor:
        s = strength.to(x.dtype).clamp(0.0, 1.0)
        out = self.generate(x, s)
        if self.ramp > 0.0:
            w = (s.view(-1, 1, 1, 1) / self.ramp).clamp(0.0, 1.0)
            out = x + w * (out - x)
        return out.clamp(-1.0, 1.0)


def portrait_for(args: dict, ramp: float = 0.25) -> Portrait:
    """The Portrait a checkpoint's trainer arguments describe (its model options; a checkpoint from
    before an option was added gets that option's old behaviour)."""
    return Portrait(int(args.get("edge_levels", EDGE_LEVELS)), ramp,
                    float(args.get("abstraction_cap", 1.0)), int(args.get("colour_cell", 0)))


def load_portrait_weights(model: Portrait, path: str) -> str:
    """Loads a checkpoint's "G" state or an exported TorchScript generator (the committed default)
    into `model`, or the EMA generator of a portable .npz (data.save_portable). A 0.2 export has
    no Detail256: that head then stays at its zero start. Returns a description for the log."""
    if path.endswith(".npz"):
        from .data import load_portable
        model.load_state_dict(load_portable(path)[0]["G_ema"])
        return "portable EMA generator"
    try:
        state = torch.jit.load(path, map_location="cpu").state_dict()
        kind = "exported generator"
    except RuntimeError:
        ck = torch.load(path, map_location="cpu")
        state = ck["G"]
        kind = "checkpoint"
    if not any(k.startswith("detail.") for k in state):  # 0.2 layout: g.* only (or bare G)
        state = {(k if k.startswith("g.") else "g." + k): v for k, v in state.items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or any(not k.startswith("detail.") for k in missing):
            raise ValueError(f"{path}: not an aiportrait generator ({unexpected or missing})")
        return f"{kind} without a detail head (head starts at zero)"
    model.load_state_dict(state)
    return kind
