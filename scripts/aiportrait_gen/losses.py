"""Discriminators and losses of the generator's training (aiportrait_gen.train).

Why this balance (weights/README.md has the measurements): a full-resolution L1 against a target
that the abstraction does not determine pulls the output to the average face, i.e. blur. So the
pixel losses only hold colour and layout (L1 on 16-px pools, plus a full-resolution L1 that fades
out as strength rises), and detail is left to two discriminators with feature matching
(pix2pixHD): a conditional PatchGAN at 128 px for the face's structure and a small one at 256 px
for the texture of the top octave. Identity is steered by the face-api band loss.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class PatchDiscriminator(nn.Module):
    """PatchGAN: 4x4 stride-2 convs, then 3x3 convs, one least-squares logit per patch.
    `forward` returns the LeakyReLU activations (for feature matching) and the logits."""

    def __init__(self, cin: int, ch: int, downs: int, convs: int):
        super().__init__()
        layers, c = [], cin
        for i in range(downs):
            cout = ch * (2 ** i)
            layers.append(nn.Sequential(
                nn.Conv2d(c, cout, 4, 2, 1),
                nn.GroupNorm(8, cout) if i > 0 else nn.Identity(),
                nn.LeakyReLU(0.2, inplace=True)))
            c = cout
        for _ in range(convs):
            layers.append(nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.GroupNorm(8, c),
                                        nn.LeakyReLU(0.2, inplace=True)))
        self.layers = nn.ModuleList(layers)
        self.head = nn.Conv2d(c, 1, 3, 1, 1)

    def forward(self, x: torch.Tensor):
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return feats, self.head(x)


def structure_discriminator(conditional: bool = True) -> PatchDiscriminator:
    """At 128 px on (abstraction, image), or on the image alone: ~34-px receptive field, the 0.2
    architecture.

    Why unconditional is an option (2026-12-06): the condition carries the photo itself at low
    strength and much of it up to the abstraction cap, so a conditional D can win on any deviation
    of the portrait from the photo, and the identity band demands deviation. Run N's D (the 0.7
    run's, continued) separated perfectly at every strength from 0.1 to 1 (probe_discriminators;
    its loss sat at ~0.005) and so said nothing about whether the face looks real. Without the condition it could
    only judge realism — but the one tried (run U, weights/HISTORY.md) fell to chance within ~200
    steps; neither is a working whole-face discriminator yet."""
    return PatchDiscriminator((5 if conditional else 0) + 3, 48, downs=3, convs=1)


def structure_is_conditional(state: dict) -> bool:
    """Whether a saved structure D's weights take the abstraction beside the image."""
    return state["layers.0.0.weight"].shape[1] > 3


def texture_discriminator() -> PatchDiscriminator:
    """At 256 px on image crops: ~22-px receptive field, judges the top octave."""
    return PatchDiscriminator(3, 32, downs=2, convs=1)


class ComponentCrops(nn.Module):
    """Fixed eye and mouth windows of the aligned 256-px face (the template puts them at known
    places), jittered together by a few pixels per batch. The right eye is mirrored so one
    discriminator sees both eyes as left eyes (GFPGAN's component discriminators).

    Why (2026-12-02): 0.5.0 passes every numeric check, but eyes and mouths are where it looks
    wrong (bright or greenish irises, harsh eye contours, smeared mouths). The 128-px structure
    discriminator sees an eye as ~16 px and the 256-px texture one only 22-px patches of it; a
    discriminator that looks at whole eyes and mouths at full resolution judges exactly that."""

    EYE = (64, 48)     # width, height: multiples of 8 (three stride-2 convs)
    MOUTH = (128, 64)
    NOSE = (64, 64)    # from just below the eye windows to the nostrils

    def __init__(self, template, size: int = 256, jitter: int = 6):
        super().__init__()
        (lx, ly), (rx, ry), _, (mlx, mly), (mrx, mry) = [(x * size, y * size) for x, y in template]
        self.size, self.jitter = size, jitter
        self.eyes = [self._box(lx, ly, self.EYE), self._box(rx, ry, self.EYE)]
        self.mouth = self._box((mlx + mrx) / 2, (mly + mry) / 2, self.MOUTH)
        nx, ny = template[2][0] * size, template[2][1] * size
        self.nose_box = self._box(nx, ny - 4, self.NOSE)  # the tip landmark sits low in the nose

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

    def nose(self, x: torch.Tensor, off):
        """N x 3 x 64 x 64 nose windows, jittered with the others.

        Why (2026-12-05): 0.7.0's most frequent flaw at the default strength is a bright blob and
        exaggerated dark nostrils on the nose: the identity band's push lands there, and no
        discriminator looks at a whole nose at full resolution."""
        return self._cut(x, self.nose_box, off)


def eye_discriminator() -> PatchDiscriminator:
    """On 64 x 48 eye windows: ~46-px receptive field, a whole eye with lids and brow edge."""
    return PatchDiscriminator(3, 32, downs=3, convs=1)


def nose_discriminator() -> PatchDiscriminator:
    """On 64 x 64 nose windows: bridge, tip and nostrils."""
    return PatchDiscriminator(3, 32, downs=3, convs=1)


def mouth_discriminator() -> PatchDiscriminator:
    """On 128 x 64 mouth windows: lips, teeth and the corners."""
    return PatchDiscriminator(3, 32, downs=3, convs=1)


def d_loss(d: PatchDiscriminator, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    _, lr = d(real)
    _, lf = d(fake.detach())
    return 0.5 * ((lr - 1) ** 2).mean() + 0.5 * (lf ** 2).mean()


def g_losses(d: PatchDiscriminator, real: torch.Tensor, fake: torch.Tensor):
    """(least-squares adversarial loss, feature matching: mean L1 over the layers' activations)."""
    with torch.no_grad():
        fr, _ = d(real)
    ff, lf = d(fake)
    fm = sum((a - b).abs().mean() for a, b in zip(ff, fr)) / len(ff)
    return ((lf - 1) ** 2).mean(), fm


def random_crop_pair(a: torch.Tensor, b: torch.Tensor, size: int, gen: torch.Generator):
    """The same random size x size window of two N x C x H x W batches (one per batch)."""
    h, w = a.shape[2], a.shape[3]
    y = int(torch.randint(0, h - size + 1, (1,), generator=gen))
    x = int(torch.randint(0, w - size + 1, (1,), generator=gen))
    return a[:, :, y:y + size, x:x + size], b[:, :, y:y + size, x:x + size]


def gaussian_kernel(sigma: float, radius: int) -> torch.Tensor:
    """Normalised 1-D Gaussian taps from -radius to radius."""
    k = torch.exp(-torch.arange(-radius, radius + 1, dtype=torch.float32) ** 2 / (2 * sigma ** 2))
    return k / k.sum()


def lowpass_l1(fake: torch.Tensor, real: torch.Tensor, cell: int) -> torch.Tensor:
    """Per-face L1 between cell x cell averages: colour and layout, no detail."""
    return (F.avg_pool2d(fake, cell) - F.avg_pool2d(real, cell)).abs().mean((1, 2, 3))


class IdentityLoss(nn.Module):
    """face-api.js descriptor distance (the project's identity yardstick) between re-created and
    real faces, on the crop face-api's alignDlib takes from the template's points (for the tight
    template: nearly the whole crop)."""

    def __init__(self, face_api_dir: str, template, size: int, blur_sigma: float = 0.0):
        super().__init__()
        from .faceapi import FaceRecognitionNet, INPUT_SIZE, face_crop_box
        # Training measures identity on a low-passed face: at full resolution the cheapest way
        # to move the descriptor is a high-frequency pattern (streaks across the eyes, teal
        # irises) that fools this net and no other; blurred, only the face's structure counts.
        self.blur = None
        if blur_sigma > 0:
            k = gaussian_kernel(blur_sigma, int(3 * blur_sigma + 0.5))
            self.register_buffer("kernel", (k[:, None] * k[None, :]).expand(3, 1, -1, -1).contiguous())
            self.blur = k.numel() // 2
        points = [[x * size, y * size] for x, y in template]
        self.box = face_crop_box(points, size, size)
        self.net = FaceRecognitionNet(face_api_dir).eval()
        self.input_size = INPUT_SIZE

    def net_input(self, x: torch.Tensor) -> torch.Tensor:
        """N x 3 x S x S in [-1, 1] -> face-api's 150-px input (RGB, 0-255)."""
        if self.blur is not None:
            x = F.conv2d(F.pad(x, [self.blur] * 4, mode="reflect"), self.kernel, groups=3)
        bx, by, bw, bh = self.box
        face = x[:, :, by:by + bh, bx:bx + bw]
        n = max(bw, bh)  # zero-pad to a square like face-api: the larger half after the face
        ph, pw = n - bh, n - bw
        face = F.pad(face * 127.5 + 127.5, (pw - (pw + 1) // 2, (pw + 1) // 2,
                                             ph - (ph + 1) // 2, (ph + 1) // 2))
        return F.interpolate(face, size=(self.input_size, self.input_size), mode="bilinear",
                             align_corners=False)

    def descriptors(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.net_input(x))

    def forward(self, fake: torch.Tensor, real: torch.Tensor, band: float = 0.0, s=None):
        """Distance of each re-created face from its real one; with `band` > 0 also the distance
        from a target on the way to another real face of the batch, as far from the real one as
        the band asks at strength s (band * s)."""
        with torch.no_grad():
            target = self.descriptors(real)
        out = self.descriptors(fake)
        dist = (out - target).norm(dim=1)
        if band <= 0 or fake.shape[0] < 2:
            return dist, None
        with torch.no_grad():
            # Another person: the next face of the batch. The identity moves towards a real face,
            # not in whatever direction moves the descriptor fastest (which real faces may not
            # occupy: see the KID on face-api features).
            other = target.roll(1, 0)
            gap = (other - target).norm(dim=1).clamp(min=1e-6)
            t = (band * s / gap).clamp(max=1.0).unsqueeze(1)
            goal = target + t * (other - target)
        return dist, (out - goal).norm(dim=1)


def band_loss(dist: torch.Tensor, s: torch.Tensor, slope: float, tol: float,
              open_from: float = 2.0) -> torch.Tensor:
    """Pulls the distance at strength s >= 0.25 into slope * s +- tol: the dial itself is
    trained (below 0.25 the exported module blends back to the input anyway). From strength
    open_from up the band is open above: only a distance below slope * s - tol costs.

    Why open (a hypothesis, 2026-12-05): at strength 1 the generator sees an 8x8 colour map and
    8x-pooled edges, and the two-sided band asks it to come back to 0.58 of the original from
    that, perhaps by painting the pooled edges as strokes (the scribbles since 0.3). Tested from
    0.6.0 for ~21k images at 0.95: faces at 1 moved further (median 0.571 -> 0.596) but looked
    as scribbled, and the default lost band margin (model card), so the default stays off."""
    err = dist - slope * s
    cost = torch.where(s >= open_from, -err - tol, err.abs() - tol).clamp(min=0)
    return (cost * (s >= 0.25)).mean()


class PerceptualLoss(IdentityLoss):
    """L1 between face-api's early activations (stem, the 32- and 64-channel stages) of the
    re-created and the real face at full resolution, each layer relative to the real one's mean
    magnitude. Like pix2pixHD's VGG term: it asks for the photo's kind of local detail (skin,
    eyelids, lip edges) where plain L1 only asks for its pixels, and it tolerates small shifts.
    The identity lives in the later layers, which this term leaves to the band loss."""

    LAYERS = (0, 3, 7)  # stem; after conv32_3; after conv64_3

    def __init__(self, face_api_dir: str, template, size: int):
        super().__init__(face_api_dir, template, size, 0.0)

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        upto = max(self.LAYERS)
        with torch.no_grad():
            ref = self.net.stages(self.net_input(real), upto)
        out = self.net.stages(self.net_input(fake), upto)
        terms = [(out[i] - ref[i]).abs().mean((1, 2, 3)) / (ref[i].abs().mean((1, 2, 3)) + 1e-3)
                 for i in self.LAYERS]
        return torch.stack(terms, 0).mean(0)


class PopulationLoss(IdentityLoss):
    """Keeps the portraits' population where real faces are in face-api's feature space.

    Measured on 0.3.0 (200 held-out faces at 0.85): KID 183, but 1e3 * KID after subtracting the
    portraits' mean offset from their features is -3. The band loss moves every face by ~0.5, and
    the cheapest way is the same direction for every face: all portraits drift towards one kind of
    face. Each person's own displacement is the product; the common part is the drift.

    The drift is tracked per strength, at knots 0.25, 0.5, 0.75, 1 (linear in between), as a
    weighted EMA over batches (`shift`, `mass`), and the loss is each displacement's component
    along the drift at its strength, 2 <shift(s), d>: the gradient of |drift|^2 without the
    batch-of-8 variance term that |mean(d)|^2 would add (which would pull every face back to its
    original and fight the band loss). Unblurred 256-px faces, as the yardstick sees them.

    Why per strength (2026-12-02, 0.4.0 on 200 faces): 0.4 kept one drift per unit strength, and
    its estimate read 0.2 while the true drift was ~1.0 per unit: the drift at 0.5 and at 0.9
    point in different directions (cosines -0.1 and 0.4 with the single estimate), so averaging
    d / s over all strengths cancelled most of it. KID 48 at 0.9 was still all mean offset (-2
    once it is subtracted)."""

    KNOTS = (0.25, 0.5, 0.75, 1.0)

    def __init__(self, face_api_dir: str, template, size: int, decay: float = 0.99):
        super().__init__(face_api_dir, template, size, 0.0)
        self.decay = decay
        self.register_buffer("knots", torch.tensor(self.KNOTS))
        self.register_buffer("shift", torch.zeros(len(self.KNOTS), 256))
        self.register_buffer("mass", torch.zeros(len(self.KNOTS)))

    def knot_weights(self, s: torch.Tensor) -> torch.Tensor:
        """N x K linear-interpolation weights of each strength between its two knots."""
        k = self.knots
        s = s.clamp(float(k[0]), float(k[-1]))
        j = (torch.searchsorted(k, s, right=True) - 1).clamp(0, k.numel() - 2)  # segment of each s
        t = (s - k[j]) / (k[j + 1] - k[j])
        w = torch.zeros(s.shape[0], k.numel(), device=s.device)
        rows = torch.arange(s.shape[0], device=s.device)
        w[rows, j] = 1 - t
        w[rows, j + 1] = t
        return w

    def drift_norm(self) -> torch.Tensor:
        """Mean length of the tracked drift over the knots (the training log's `drift`)."""
        return self.shift.norm(dim=1).mean()

    def forward(self, fake: torch.Tensor, real: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        use = s >= 0.25
        if not bool(use.any()):
            return fake.sum() * 0.0
        fake, real, s = fake[use], real[use], s[use]
        with torch.no_grad():
            ref = self.net.features(self.net_input(real))
        disp = self.net.features(self.net_input(fake)) - ref
        w = self.knot_weights(s)
        with torch.no_grad():
            total = self.shift * self.mass.unsqueeze(1) * self.decay + w.t() @ disp
            self.mass.mul_(self.decay).add_(w.sum(0))
            self.shift.copy_(total / self.mass.clamp(min=1e-6).unsqueeze(1))
        return 2.0 * ((w @ self.shift) * disp).sum() / use.numel()


class SharpnessLoss(nn.Module):
    """One-sided: the portrait may not have less detail than its photo. The yardstick's two
    measures (aiportrait_gen.yardstick, same formulas in torch): high-frequency energy above a
    sigma-1.5 blur, and the structure-tensor edge energy that noise does not raise, both over the
    face ellipse; the loss is how far log(R) falls below log(floor), per measure.

    Why (2026-12-02): with the per-strength population term KID at 0.9 fell 48 -> 14 (300 faces)
    but sharp faces fell 85 -> 77 %: realism in face-api's features was partly bought with
    softness (a sigma-2.5 blur of the photo has KID 17). The GAN terms alone did not push back."""

    def __init__(self, size: int = 256, floor: float = 0.9):
        super().__init__()
        self.floor = floor
        from .yardstick import ellipse_mask
        self.register_buffer("mask", torch.from_numpy(ellipse_mask(size, size)).float())
        for name, sigma in (("g1", 1.0), ("g15", 1.5), ("g3", 3.0)):
            # cv2's kernel size for float images, as the yardstick's GaussianBlur: 8 sigma + 1
            self.register_buffer(name, gaussian_kernel(sigma, int(4 * sigma + 0.5)))
        sobel = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
        self.register_buffer("sobel", torch.stack([sobel, sobel.t()]).unsqueeze(1))
        self.register_buffer("luma", torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1))

    @staticmethod
    def _blur(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        r, c = k.numel() // 2, x.shape[1]
        x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
        return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)

    def energies(self, images: torch.Tensor):
        """(E_hf, C) per image of N x 3 x S x S in [-1, 1]."""
        y = ((images * 127.5 + 127.5) * self.luma).sum(1, keepdim=True)
        m = self.mask.sum()
        hf = (((y - self._blur(y, self.g15)) ** 2) * self.mask).sum((1, 2, 3)) / m
        g = F.conv2d(F.pad(self._blur(y, self.g1), (1, 1, 1, 1), mode="reflect"), self.sobel)
        gx, gy = g[:, :1], g[:, 1:]
        j = self._blur(torch.cat([gx * gx, gy * gy, gx * gy], 1), self.g3)
        coh = torch.sqrt((j[:, :1] - j[:, 1:2]) ** 2 + 4 * j[:, 2:] ** 2 + 1e-6)
        return hf, (coh * self.mask).sum((1, 2, 3)) / m

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            hf_r, coh_r = self.energies(real)
        hf_f, coh_f = self.energies(fake)
        low = math.log(self.floor)
        return (F.relu(low - torch.log(hf_f / hf_r.clamp(min=1e-6) + 1e-6))
                + F.relu(low - torch.log(coh_f / coh_r.clamp(min=1e-6) + 1e-6)))
