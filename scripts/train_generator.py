#!/usr/bin/python3
"""Trains aiportrait's default generator: a pix2pix-style conditional GAN (U-Net generator +
PatchGAN discriminator, L1 + least-squares adversarial loss, optionally an identity loss through
the project's yardstick: --identity with --identity-max or --identity-band) on UTKFace crops
aligned by the project's own detector and alignment (scripts/prepare_training_data.sh).

The generator never sees the face itself at full strength: it sees an *abstraction* of it —
a strength-dependent blur of the colours (full detail at strength 0, an 8x8 colour map at 1)
plus a grayscale edge map whose source loses detail as strength rises (--edge-levels N: edges of
the face downsampled 2^(N*strength) times) — and has to re-create a
whole face from what it learned from thousands of others. The abstraction is part of the
TorchScript module (scripts/export_generator.py), so the C++ side only passes the aligned face and
the strength.

Training runs at 128 px (the exported module area-downsamples the 256-px crop, upsamples the
result bilinearly and adds back the original's high frequencies scaled by (1 - strength)).
Upsample + conv only (no ConvTranspose2d: LibTorch 1.13 runs it on a slow CPU path).

Run with Debian's /usr/bin/python3 (python3-torch 1.13), CPU or CUDA:

    nohup nice -n 10 /usr/bin/python3 scripts/train_generator.py --threads 1 \
        > /work/aiportrait-train/train.out 2>&1 &
    ... later, in a new session:
    nohup nice -n 10 /usr/bin/python3 scripts/train_generator.py --threads 1 --resume ... &

Checkpoints: WORK/ckpt/last.pt every --ckpt-minutes (atomic) and WORK/ckpt/step_NNNNNNN.pt every
--keep-minutes; losses in WORK/train.log; sample grids of held-out faces in WORK/samples/.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

TRAIN_SIZE = 128
PYRAMID_LEVELS = 4  # strength 1 -> colours averaged over 2^4 = 16-px cells (8x8 map at 128 px)
EDGE_LEVELS = 3  # strength 1 -> edges of the face downsampled 2^3 = 8x (16 px at 128 px)


# ----------------------------------------------------------------------------------- model ----

class Abstraction(nn.Module):
    """Face x (N,3,H,W in [-1,1]) and strength s (N,) -> conditioning (N,5,H,W):
    3 colour channels (a pyramid blur, detail removed as s rises), 1 edge channel, 1 strength map.
    """

    def __init__(self, levels: int = PYRAMID_LEVELS, edge_levels: int = EDGE_LEVELS):
        super().__init__()
        self.levels = levels
        self.edge_levels = edge_levels
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
        t = s4 * float(self.levels)
        colour = torch.zeros_like(x)
        for k in range(self.levels + 1):
            w = (1.0 - (t - float(k)).abs()).clamp(min=0.0)  # piecewise-linear over the levels
            colour = colour + w * self.level(x, k)
        gray = (x * self.luma).sum(dim=1, keepdim=True)
        te = s4 * float(self.edge_levels)  # edges lose fine detail as s rises
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

    def __init__(self, edge_levels: int = EDGE_LEVELS):
        super().__init__()
        self.abstraction = Abstraction(edge_levels=edge_levels)
        self.unet = UNet()

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return self.unet(self.abstraction(x, s))


class PatchDiscriminator(nn.Module):
    """PatchGAN on (conditioning, image) pairs: 4x4 stride-2 convs, ~34-px receptive field at
    128 px, one logit per patch (least-squares GAN)."""

    def __init__(self, cin: int = 5 + 3, ch: int = 48):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(cin, ch, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ch, ch * 2, 4, 2, 1), nn.GroupNorm(8, ch * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ch * 2, ch * 4, 4, 2, 1), nn.GroupNorm(8, ch * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ch * 4, ch * 4, 3, 1, 1), nn.GroupNorm(8, ch * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ch * 4, 1, 3, 1, 1))

    def forward(self, cond: torch.Tensor, img: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([cond, img], dim=1))


# ------------------------------------------------------------------------------------ data ----

def load_data(work: str, log):
    """Returns (train uint8 N,128,128,3 array, held-out array, held-out names)."""
    names = [l.strip() for l in open(os.path.join(work, "names.txt")) if l.strip()]
    held = set(l.strip() for l in open(os.path.join(work, "heldout.txt")) if l.strip())
    cache = os.path.join(work, "aligned128.npy")
    if not os.path.exists(cache):
        log(f"building {cache} (2x2 area downsample of aligned256.npy)")
        big = np.load(os.path.join(work, "aligned256.npy"), mmap_mode="r")
        small = np.lib.format.open_memmap(cache + ".tmp.npy", mode="w+", dtype=np.uint8,
                                          shape=(big.shape[0], 128, 128, 3))
        for i in range(0, big.shape[0], 512):
            b = big[i:i + 512].astype(np.uint16)
            b = (b[:, 0::2, 0::2] + b[:, 1::2, 0::2] + b[:, 0::2, 1::2] + b[:, 1::2, 1::2] + 2) // 4
            small[i:i + 512] = b.astype(np.uint8)
        small.flush()
        del small
        os.replace(cache + ".tmp.npy", cache)
    data = np.load(cache)
    assert data.shape[0] == len(names), "aligned128.npy does not match names.txt"
    is_held = np.array([n in held for n in names])
    held_names = [n for n in names if n in held]
    return data[~is_held], data[is_held], held_names


def to_tensor(batch: np.ndarray, device) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(batch)).to(device)
    return t.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def sample_strength(n: int, gen: torch.Generator) -> torch.Tensor:
    """15% at 0, 25% at 1, the rest uniform: the ends are where the dial must behave."""
    u = torch.rand(n, generator=gen)
    s = torch.rand(n, generator=gen)
    s = torch.where(u < 0.15, torch.zeros_like(s), s)
    s = torch.where(u > 0.75, torch.ones_like(s), s)
    return s


class IdentityLoss(nn.Module):
    """Descriptor distance (face-api.js recognition net, the project's identity yardstick) between
    re-created and real faces, on the crop face-api's alignDlib takes from the template's points
    (for the tight template: the whole crop)."""

    def __init__(self, face_api_dir: str, template, size: int):
        super().__init__()
        from faceapi_identity import FaceRecognitionNet, INPUT_SIZE, face_crop_box
        from portrait_template import FFHQ_TEMPLATE
        points = [[x * size, y * size] for x, y in (template or FFHQ_TEMPLATE)]
        self.box = face_crop_box(points, size, size)
        self.net = FaceRecognitionNet(face_api_dir).eval()
        self.input_size = INPUT_SIZE

    def descriptors(self, x: torch.Tensor) -> torch.Tensor:
        bx, by, bw, bh = self.box
        face = x[:, :, by:by + bh, bx:bx + bw]
        n = max(bw, bh)  # zero-pad to a square like face-api: the larger half after the face
        ph, pw = n - bh, n - bw
        face = F.pad(face * 127.5 + 127.5, (pw - (pw + 1) // 2, (pw + 1) // 2,
                                             ph - (ph + 1) // 2, (ph + 1) // 2))
        face = F.interpolate(face, size=(self.input_size, self.input_size), mode="bilinear",
                             align_corners=False)
        return self.net(face)

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self.descriptors(real)
        return (self.descriptors(fake) - target).norm(dim=1)


# ----------------------------------------------------------------------------------- train ----

def save_atomic(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def write_samples(G, held, path, device):
    """Grid: columns = 6 held-out faces; rows = input, output at s = 0, 0.25, 0.5, 0.75, 1."""
    try:
        import cv2
    except ImportError:
        return
    G.eval()
    with torch.no_grad():
        x = to_tensor(held[:6], device)
        cols = [x]
        for s in (0.0, 0.25, 0.5, 0.75, 1.0):
            cols.append(G(x, torch.full((x.shape[0],), s, device=device)))
        grid = torch.cat([torch.cat(list(c), dim=2) for c in cols], dim=1)
    G.train()
    img = ((grid.permute(1, 2, 0).cpu().numpy() + 1.0) * 127.5).clip(0, 255).astype(np.uint8)
    cv2.imwrite(path, img[:, :, ::-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", default=os.environ.get("AIPORTRAIT_TRAIN_DIR", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "aiportrait-train")))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--l1", type=float, default=100.0, help="L1 weight (adversarial weight 1)")
    ap.add_argument("--edge-l1", type=float, default=50.0,
                    help="weight of L1 between Sobel edges of output and target")
    ap.add_argument("--recon-at-1", type=float, default=1.0,
                    help="L1 and edge weights at strength 1, as a fraction of their weight at 0 "
                         "(linear in between)")
    ap.add_argument("--adv-start", type=int, default=500,
                    help="steps of pure reconstruction before the adversarial loss switches on")
    ap.add_argument("--steps", type=int, default=10 ** 9, help="stop after this many steps")
    ap.add_argument("--hours", type=float, default=1e9, help="stop after this much wall time")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--edge-levels", type=int, default=EDGE_LEVELS,
                    help="at strength 1 the edges come from the face downsampled 2^N times "
                         "(piecewise-linear over the levels as strength rises); stored in the "
                         "checkpoint and used by the export")
    ap.add_argument("--identity", type=float, default=0.0,
                    help="weight of the identity hinge: face-api descriptor distance between the "
                         "re-created and the real face above --identity-max is penalised (0 = off)")
    ap.add_argument("--identity-max", type=float, default=0.5,
                    help="distance the identity hinge lets a portrait reach before it pulls back")
    ap.add_argument("--identity-band", type=float, default=0.0,
                    help="instead of the hinge: train the dial itself, pulling the distance at "
                         "strength s >= 0.25 into IDENTITY_BAND * s +- --identity-tol (0 = hinge)")
    ap.add_argument("--identity-tol", type=float, default=0.05)
    ap.add_argument("--face-api", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "weights", "face-api"),
                    help="face-api.js model folder (scripts/fetch_models.sh) for --identity")
    ap.add_argument("--resume", action="store_true", help="continue from WORK/ckpt/last.pt")
    ap.add_argument("--init", default=None,
                    help="start from the weights of another run's checkpoint (e.g. one trained on "
                         "another framing); its step/image/time counters carry over so the model "
                         "card can report the whole training")
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--keep-minutes", type=float, default=30.0)
    ap.add_argument("--log-every", type=int, default=50)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    ckdir = os.path.join(args.work, "ckpt")
    os.makedirs(ckdir, exist_ok=True)
    os.makedirs(os.path.join(args.work, "samples"), exist_ok=True)
    logf = open(os.path.join(args.work, "train.log"), "a")

    def log(msg):
        line = time.strftime("%Y-%m-%d %H:%M:%S ") + msg
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    train, held, _ = load_data(args.work, log)
    # the alignment template of the crops (scripts/prepare_training_data.sh); the export puts it
    # into the model's metadata so inference aligns faces exactly as the training data was aligned
    template_path = os.path.join(args.work, "template.json")
    template = json.load(open(template_path)) if os.path.exists(template_path) else None
    log(f"template: {template if template else 'FFHQ (no template.json: data aligned before 0.2)'}")
    log(f"data: {len(train)} training faces, {len(held)} held out; device {device}, "
        f"threads {args.threads}, batch {args.batch}")

    G = Generator(args.edge_levels).to(device)
    D = PatchDiscriminator().to(device)
    optG = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
    optD = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
    step, images, train_seconds = 0, 0, 0.0
    gen = torch.Generator().manual_seed(args.seed)
    last = os.path.join(ckdir, "last.pt")
    if args.resume and os.path.exists(last):
        ck = torch.load(last, map_location=device)
        G.load_state_dict(ck["G"])
        D.load_state_dict(ck["D"])
        optG.load_state_dict(ck["optG"])
        optD.load_state_dict(ck["optD"])
        step, images, train_seconds = ck["step"], ck["images"], ck["train_seconds"]
        gen.set_state(ck["gen_state"])
        torch.set_rng_state(ck["torch_rng"])
        log(f"resumed from {last}: step {step}, {images} images, {train_seconds / 3600:.2f} h")
    elif args.init:
        ck = torch.load(args.init, map_location=device)
        G.load_state_dict(ck["G"])
        if "D" in ck:
            D.load_state_dict(ck["D"])
        step, images, train_seconds = ck["step"], ck["images"], ck["train_seconds"]
        log(f"initialised from {args.init}: step {step}, {images} images, "
            f"{train_seconds / 3600:.2f} h" + ("" if "D" in ck else " (fresh discriminator)"))
    elif args.resume:
        log("no checkpoint to resume from; starting fresh")
    identity = None
    if args.identity > 0:
        identity = IdentityLoss(args.face_api, template, TRAIN_SIZE).to(device)
        log(f"identity hinge: weight {args.identity}, max distance {args.identity_max}, "
            f"face-api box {identity.box} of the {TRAIN_SIZE}-px crop")
    nG = sum(p.numel() for p in G.parameters())
    nD = sum(p.numel() for p in D.parameters())
    log(f"generator {nG / 1e6:.2f} M parameters, discriminator {nD / 1e6:.2f} M")

    def checkpoint(keep: bool):
        ck = {"G": G.state_dict(), "D": D.state_dict(), "optG": optG.state_dict(),
              "optD": optD.state_dict(), "step": step, "images": images,
              "train_seconds": train_seconds, "gen_state": gen.get_state(),
              "torch_rng": torch.get_rng_state(), "args": vars(args),
              "template": template}
        save_atomic(ck, last)
        if keep:
            save_atomic({"G": G.state_dict(), "step": step, "images": images,
                         "train_seconds": train_seconds, "args": vars(args),
                         "template": template},
                        os.path.join(ckdir, f"step_{step:07d}.pt"))
        write_samples(G, held, os.path.join(args.work, "samples", "last.png"), device)
        log(f"checkpoint at step {step} ({images} images, {train_seconds / 3600:.2f} h)"
            + (" [kept]" if keep else ""))

    n = len(train)
    t_start = time.time()
    t_ck = t_keep = time.time()
    sums = {}
    stop = False

    def handle_term(signum, frame):
        nonlocal stop
        stop = True

    import signal
    signal.signal(signal.SIGTERM, handle_term)
    signal.signal(signal.SIGINT, handle_term)

    while not stop and step < args.steps and (time.time() - t_start) < args.hours * 3600:
        t0 = time.time()
        # batches: a seeded permutation per epoch, indexed by the global image counter
        epoch, pos = divmod(images, n)
        perm = np.random.default_rng(args.seed + epoch).permutation(n)
        idx = np.sort(perm[pos:pos + args.batch])
        batch = train[idx]
        flip = torch.rand(len(idx), generator=gen) < 0.5
        real = to_tensor(batch, device)
        real = torch.where(flip.view(-1, 1, 1, 1).to(device), real.flip(3), real)
        s = sample_strength(len(idx), gen).to(device)

        cond = G.abstraction(real, s)
        fake = G.unet(cond)
        use_adv = step >= args.adv_start

        if use_adv:  # discriminator
            optD.zero_grad(set_to_none=True)
            d_real = D(cond, real)
            d_fake = D(cond, fake.detach())
            lossD = 0.5 * ((d_real - 1) ** 2).mean() + 0.5 * (d_fake ** 2).mean()
            lossD.backward()
            optD.step()
        else:
            lossD = torch.zeros(())

        optG.zero_grad(set_to_none=True)
        # Reconstruction weight per face: full at strength 0, args.recon_at_1 of it at strength 1.
        # The more abstract the input, the more faces fit it and the more an L1 pull towards
        # this one face only blurs; the adversarial loss then carries more of the work.
        w = 1.0 - s * (1.0 - args.recon_at_1)
        l1 = ((fake - real).abs().mean((1, 2, 3)) * w).mean()
        ef = G.abstraction.edges((fake * G.abstraction.luma).sum(1, keepdim=True))
        er = G.abstraction.edges((real * G.abstraction.luma).sum(1, keepdim=True))
        le = ((ef - er).abs().mean((1, 2, 3)) * w).mean()
        if use_adv:
            ladv = ((D(cond, fake) - 1) ** 2).mean()
        else:
            ladv = torch.zeros((), device=device)
        if identity is not None:
            dist = identity(fake, real)
            if args.identity_band > 0:
                # Below 0.25 the exported module blends back to the input anyway.
                target = args.identity_band * s
                lid = (((dist - target).abs() - args.identity_tol).clamp(min=0) * (s >= 0.25)).mean()
            else:
                lid = (dist - args.identity_max).clamp(min=0).mean()
        else:
            dist = lid = torch.zeros((), device=device)
        lossG = args.l1 * l1 + args.edge_l1 * le + ladv + args.identity * lid
        lossG.backward()
        optG.step()

        step += 1
        images += len(idx)
        train_seconds += time.time() - t0
        for k, v in (("l1", l1), ("edge", le), ("adv", ladv), ("D", lossD), ("id", lid),
                     ("dist", dist.mean())):
            sums[k] = sums.get(k, 0.0) + float(v)
        if step % args.log_every == 0:
            avg = " ".join(f"{k} {v / args.log_every:.4f}" for k, v in sums.items())
            rate = images / max(train_seconds, 1e-6) * 3600
            log(f"step {step} images {images} epoch {images / n:.2f} {avg} "
                f"({rate:.0f} img/h)")
            sums = {}
        now = time.time()
        if now - t_ck >= args.ckpt_minutes * 60:
            keep = now - t_keep >= args.keep_minutes * 60
            checkpoint(keep)
            t_ck = now
            if keep:
                t_keep = now
    checkpoint(True)
    log("stopped")


if __name__ == "__main__":
    main()
