"""Trains aiportrait's default generator (model.Portrait) on the aligned UTKFace crops.

    AIPORTRAIT_TRAIN_DIR=WORK nohup nice -n 10 /usr/bin/python3 scripts/train_generator.py \
        --threads 1 --init weights/generator/aiportrait-default.pt > WORK/train.out 2>&1 &
    ... later, or in a new session on the same machine:
    ... scripts/train_generator.py --threads 1 --resume

`--init` takes a checkpoint or an exported TorchScript generator (the committed default), so a
fresh machine continues from what is in git. Checkpoints: WORK/ckpt/last.pt every --ckpt-minutes
(atomic) and WORK/ckpt/step_NNNNNNN.pt every --keep-minutes; losses in WORK/train.log; a sample
grid of held-out faces in WORK/samples/last.png. The weights are averaged (EMA) for export.
Losses and why: aiportrait_gen.losses.
"""
import argparse
import copy
import json
import os
import signal
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import data as D
from .losses import (ComponentCrops, IdentityLoss, PerceptualLoss, PopulationLoss, SharpnessLoss, band_loss, d_loss,
                     eye_discriminator, g_losses, lowpass_l1, mouth_discriminator, nose_discriminator, random_crop_pair,
                     structure_discriminator, structure_is_conditional,
                     texture_discriminator)
from .model import EDGE_LEVELS, load_portrait_weights, portrait_for
from .template import TIGHT_TEMPLATE

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", default=os.environ.get(
        "AIPORTRAIT_TRAIN_DIR", os.path.join(REPO, "..", "aiportrait-train")))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr-g", type=float, default=1e-4)
    ap.add_argument("--lr-d", type=float, default=2e-4)
    ap.add_argument("--ema", type=float, default=0.999, help="decay of the exported weights' EMA")
    ap.add_argument("--lowpass-l1", type=float, default=10.0,
                    help="L1 on --lowpass-cell averages (colour, layout), x (1 - 0.7 s)")
    ap.add_argument("--lowpass-cell", type=int, default=16)
    ap.add_argument("--full-l1", type=float, default=20.0,
                    help="full-resolution L1, x (1 - s)^2: fidelity at low strength only")
    ap.add_argument("--edge-l1", type=float, default=10.0,
                    help="L1 between Sobel edge maps at 128 px, x (1 - 0.7 s)")
    ap.add_argument("--perceptual", type=float, default=0.0,
                    help="L1 on face-api's early activations at 256 px (losses.PerceptualLoss), "
                         "x (1 - 0.7 s); 0 = off (tried at 2 on 2026-12-02: no gain in 14k images)")
    ap.add_argument("--population", type=float, default=5.0,
                    help="weight of the common drift of the portraits' face-api features "
                         "(losses.PopulationLoss; 0 = off, as 0.3.0; 5 = 0.4.0)")
    ap.add_argument("--sharpness", type=float, default=2.0,
                    help="weight of the one-sided detail floor (losses.SharpnessLoss: the yardstick's "
                         "R_hf and R_coh may not fall below --sharpness-floor); 0 = off, as 0.4.0; 2 = 0.5.0")
    ap.add_argument("--sharpness-floor", type=float, default=0.8, help="0.5.0: 0.9; 0.6.0: 0.8")
    ap.add_argument("--adv", type=float, default=1.0, help="weight of each adversarial term")
    ap.add_argument("--fm", type=float, default=3.0, help="feature-matching weight per D")
    ap.add_argument("--component", type=float, default=1.0,
                    help="weight of the eye and mouth discriminators' adversarial terms (losses.ComponentCrops; "
                         "their feature matching gets --fm x this / --adv); 0 = off, as 0.5.0")
    ap.add_argument("--nose", type=float, default=0.0,
                    help="weight of a nose-window discriminator beside them (as --component); 0 = off, as 0.7.0")
    ap.add_argument("--structure-cond", choices=("abstraction", "none"), default="abstraction",
                    help="what the 128-px structure discriminator sees beside the image "
                         "(losses.structure_discriminator); changing it starts that D fresh")
    ap.add_argument("--identity", type=float, default=25.0, help="identity band weight (0 = off; 0.3.0: 10)")
    ap.add_argument("--identity-band", type=float, default=0.58,
                    help="face-api distance at strength s is pulled into BAND * s +- TOL")
    ap.add_argument("--identity-tol", type=float, default=0.05)
    ap.add_argument("--identity-open-from", type=float, default=2.0,
                    help="from this strength up the identity band is open above (losses.band_loss): "
                         "a face further than BAND * s is not pulled back; 2 = never, as 0.6.0")
    ap.add_argument("--identity-pull", type=float, default=0.0,
                    help="weight of the distance to a goal on the way to another face of the batch, "
                         "BAND * s from the real one (losses.IdentityLoss; 0 = off, as 0.3.0; tried at 2: no gain in 10k images)")
    ap.add_argument("--identity-blur", type=float, default=1.0,
                    help="Gaussian sigma (px at 128) of the low-pass both faces get before the "
                         "identity net sees them (0 = none; see losses.IdentityLoss)")
    ap.add_argument("--edge-levels", type=int, default=EDGE_LEVELS)
    ap.add_argument("--abstraction-cap", type=float, default=0.9,
                    help="strengths above this abstract the face no further (model.Abstraction); "
                         "0.9 = 0.7.0; 1 = off, as 0.6.0")
    ap.add_argument("--colour-cell", type=int, default=32,
                    help="lock the portrait's chroma averaged over cells of this many px at 256 "
                         "to the photo's (model.lock_chroma); 32 = 0.7.0; 0 = off, as 0.6.0")
    ap.add_argument("--face-api", default=os.path.join(REPO, "weights", "face-api"))
    ap.add_argument("--resume", action="store_true", help="continue from WORK/ckpt/last.pt")
    ap.add_argument("--init", default=None,
                    help="start from these weights: a checkpoint, an exported generator, or a portable "
                         ".npz (--portable-out: its EMA generator, discriminators and drift)")
    ap.add_argument("--portable-out", default=None,
                    help="also write each checkpoint's EMA generator, discriminators (float16) and drift "
                         "here as a torch-version-free .npz (aiportrait_gen.data.save_portable, ~13 MB)")
    ap.add_argument("--steps", type=int, default=10 ** 9, help="stop after this many steps of this run")
    ap.add_argument("--hours", type=float, default=1e9,
                    help="stop after this much training time of this run (SIGSTOP pauses not counted)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--keep-minutes", type=float, default=30.0)
    ap.add_argument("--log-every", type=int, default=50)
    args = ap.parse_args(argv)
    if args.nose > 0 and args.component <= 0:
        ap.error("--nose needs the component crops: give --component > 0 too")
    return args


class StepClock:
    """Training time per step, without the pauses of SIGSTOP / SIGCONT (the developers' guide asks
    to pause training while benchmarking; that wall time is not training). SIGSTOP cannot be
    caught, but SIGCONT can: the step it lands in counts as long as the one before it."""

    def __init__(self):
        self.last, self.paused, self.t0 = 0.0, False, time.time()
        signal.signal(signal.SIGCONT, self._resumed)

    def _resumed(self, signum, frame):
        self.paused = True

    def start(self):
        self.t0 = time.time()

    def lap(self) -> float:
        dt = time.time() - self.t0
        if self.paused:
            dt, self.paused = self.last, False
        self.last = dt
        return dt


def init_counters(path: str) -> dict:
    """step / images / seconds of the run that made `path`, so the model card reports the whole
    lineage: from a checkpoint, a portable .npz, or an export's aiportrait.json."""
    if path.endswith(".npz"):
        meta = D.load_portable(path)[1]
        return {k: meta.get(k, 0) for k in ("step", "images", "train_seconds")}
    try:
        extra = {"aiportrait.json": ""}
        torch.jit.load(path, map_location="cpu", _extra_files=extra)
        t = json.loads(extra["aiportrait.json"]).get("training", {})
        return {"step": t.get("step", 0), "images": t.get("images", 0),
                "train_seconds": t.get("hours", 0.0) * 3600}
    except RuntimeError:
        ck = torch.load(path, map_location="cpu")
        return {k: ck.get(k, 0) for k in ("step", "images", "train_seconds")}


def write_samples(G, held: np.ndarray, path: str, device) -> None:
    """Grid: columns = 6 held-out faces; rows = input, then strengths 0.5, 0.75, 0.9, 1."""
    import cv2
    with torch.no_grad():
        x = D.to_tensor(held[:6], device)
        rows = [x] + [G(x, torch.full((x.shape[0],), s, device=device))
                      for s in (0.5, 0.75, 0.9, 1.0)]
    grid = np.concatenate([np.concatenate(list(D.to_uint8(r)), axis=1) for r in rows], axis=0)
    cv2.imwrite(path, grid[:, :, ::-1])


THP = "/sys/kernel/mm/transparent_hugepage/enabled"


def huge_page_warning(path: str = THP):
    """A line to log when the kernel gives huge pages only on request. LibTorch 1.13 does not
    ask for them, so each step's large activations (glibc mmaps everything over 32 MB) fault in
    4-KB pages: on 2026-12-05's VM a third of the CPU time went to the kernel and training ran
    2.3x slower (9k vs 20k img/h on 2 threads) until `always` was set."""
    try:
        mode = open(path).read()
    except OSError:
        return None
    if "[always]" in mode:
        return None
    return (f"note: transparent huge pages are not 'always' ({mode.strip()}): CPU training may run "
            f"~2x slower; as root: echo always > {path}")


def main(argv=None):
    args = parse_args(argv)
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

    if args.device == "cpu" and (warning := huge_page_warning()):
        log(warning)
    torch.manual_seed(args.seed)
    train, held, _, template = D.load(args.work)
    template = template or TIGHT_TEMPLATE
    log(f"data: {len(train)} training faces, {len(held)} held out; device {device}, "
        f"threads {args.threads}, batch {args.batch}; args {vars(args)}")

    G = portrait_for(vars(args)).to(device)  # what export and the probe rebuild from these args
    conditional_ds = args.structure_cond == "abstraction"
    Ds = structure_discriminator(conditional_ds).to(device)
    Dt = texture_discriminator().to(device)

    def load_ds(state) -> bool:
        """Ds's weights unless the checkpoint's D saw another condition (then it starts fresh)."""
        if structure_is_conditional(state) != conditional_ds:
            log(f"the structure discriminator starts fresh (--structure-cond {args.structure_cond})")
            return False
        Ds.load_state_dict(state)
        return True

    counters = {"step": 0, "images": 0, "train_seconds": 0.0}
    gen = torch.Generator().manual_seed(args.seed)
    last = os.path.join(ckdir, "last.pt")
    ck = None
    if args.resume and os.path.exists(last):
        ck = torch.load(last, map_location=device)
        G.load_state_dict(ck["G"])
        if not load_ds(ck["Ds"]):  # Adam's state covers Ds and Dt together
            ck.pop("optD")
        Dt.load_state_dict(ck["Dt"])
        counters = {k: ck[k] for k in counters}
        gen.set_state(ck["gen_state"])
        torch.set_rng_state(ck["torch_rng"])
        log(f"resumed from {last}: {counters}")
        if args.component > 0 and "Deye" not in ck:
            log("the checkpoint has no eye/mouth discriminators: they start fresh")
    elif args.init:
        log(f"initialised from {args.init}: {load_portrait_weights(G, args.init)}; "
            f"{init_counters(args.init)}")
        counters = init_counters(args.init)
        if args.init.endswith(".npz"):  # its discriminators and drift too (Adam starts fresh)
            portable, meta = D.load_portable(args.init)
            was = meta.get("args", {}).get("edge_levels", EDGE_LEVELS)
            if was != args.edge_levels:
                log(f"note: {args.init} was trained with --edge-levels {was}, this run uses {args.edge_levels}")
            ck = {"G": G.state_dict(), "G_ema": G.state_dict()}
            for key in ("Ds", "Dt", "Deye", "Dmouth", "Dnose"):
                if key in portable:
                    ck[key] = portable[key]
            if "population" in portable:
                ck["population_shift"] = portable["population"]["shift"]
                ck["population_mass"] = portable["population"]["mass"]
            if "Ds" in ck:
                load_ds(ck["Ds"])
                Dt.load_state_dict(ck["Dt"])
            log(f"discriminators from {args.init}: {[k for k in ck if k.startswith('D')] or 'none'}")
        else:
            log("fresh discriminators")
    elif args.resume:
        log("no checkpoint to resume from; starting fresh")
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    if ck is not None and "G_ema" in ck:
        G_ema.load_state_dict(ck["G_ema"])
    optG = torch.optim.Adam(G.parameters(), lr=args.lr_g, betas=(0.5, 0.999))
    optD = torch.optim.Adam(list(Ds.parameters()) + list(Dt.parameters()), lr=args.lr_d,
                            betas=(0.5, 0.999))
    if ck is not None and "optG" in ck:
        optG.load_state_dict(ck["optG"])
        if "optD" in ck:
            optD.load_state_dict(ck["optD"])
    components = ComponentCrops(template, 256).to(device) if args.component > 0 else None
    De, Dm = eye_discriminator().to(device), mouth_discriminator().to(device)
    # their own Adam, so that checkpoints from before them resume with optD's state intact
    optC = torch.optim.Adam(list(De.parameters()) + list(Dm.parameters()), lr=args.lr_d,
                            betas=(0.5, 0.999))
    if ck is not None and "Deye" in ck:
        De.load_state_dict(ck["Deye"])
        Dm.load_state_dict(ck["Dmouth"])
        if "optC" in ck:
            optC.load_state_dict(ck["optC"])
    Dn = nose_discriminator().to(device) if components is not None and args.nose > 0 else None
    optN = torch.optim.Adam(Dn.parameters(), lr=args.lr_d, betas=(0.5, 0.999)) if Dn is not None else None
    if Dn is not None and ck is not None and "Dnose" in ck:
        Dn.load_state_dict(ck["Dnose"])
        if "optN" in ck:
            optN.load_state_dict(ck["optN"])
    elif Dn is not None:
        log("the nose discriminator starts fresh")
    identity = IdentityLoss(args.face_api, template, 128,
                            args.identity_blur).to(device) if args.identity > 0 else None
    perceptual = PerceptualLoss(args.face_api, template, 256).to(device) \
        if args.perceptual > 0 else None
    population = PopulationLoss(args.face_api, template, 256).to(device) \
        if args.population > 0 else None
    if population is not None and ck is not None and "population_shift" in ck:
        if ck["population_shift"].shape == population.shift.shape:  # 0.4's was one vector
            population.shift.copy_(ck["population_shift"])
            population.mass.copy_(ck["population_mass"])
    sharpness = SharpnessLoss(256, args.sharpness_floor).to(device) if args.sharpness > 0 else None
    log(f"generator {sum(p.numel() for p in G.parameters()) / 1e6:.2f} M parameters")

    def checkpoint(keep: bool):
        state = {"G": G.state_dict(), "G_ema": G_ema.state_dict(), "Ds": Ds.state_dict(),
                 "Dt": Dt.state_dict(), "optG": optG.state_dict(), "optD": optD.state_dict(),
                 **counters, "gen_state": gen.get_state(), "torch_rng": torch.get_rng_state(),
                 "args": vars(args), "template": template}
        if components is not None:
            state.update(Deye=De.state_dict(), Dmouth=Dm.state_dict(), optC=optC.state_dict())
        if Dn is not None:
            state.update(Dnose=Dn.state_dict(), optN=optN.state_dict())
        if population is not None:
            state["population_shift"] = population.shift.clone()
            state["population_mass"] = population.mass.clone()
        D.save_atomic(state, last)
        if keep:
            D.save_atomic({"G_ema": G_ema.state_dict(), **counters, "args": vars(args),
                           "template": template},
                          os.path.join(ckdir, f"step_{counters['step']:07d}.pt"))
        if args.portable_out:
            states = {"G_ema": G_ema.state_dict(), "Ds": Ds.state_dict(), "Dt": Dt.state_dict()}
            if components is not None:
                states.update(Deye=De.state_dict(), Dmouth=Dm.state_dict())
            if Dn is not None:
                states["Dnose"] = Dn.state_dict()
            if population is not None:
                states["population"] = {"shift": population.shift, "mass": population.mass}
            D.save_portable(args.portable_out, states,
                            {**counters, "args": vars(args), "template": template},
                            half=("Ds", "Dt", "Deye", "Dmouth", "Dnose"))
        write_samples(G_ema, held, os.path.join(args.work, "samples", "last.png"), device)
        log(f"checkpoint at {counters}" + (" [kept]" if keep else ""))

    stop = False

    def handle_term(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, handle_term)
    signal.signal(signal.SIGINT, handle_term)
    n, first_step, run_seconds, clock = len(train), counters["step"], 0.0, StepClock()
    t_ck = t_keep = time.time()
    sums, luma = {}, G.g.abstraction.luma
    edges = G.g.abstraction.edges
    while not stop and counters["step"] - first_step < args.steps and run_seconds < args.hours * 3600:
        clock.start()
        epoch, pos = divmod(counters["images"], n)  # seeded permutation per epoch
        perm = np.random.default_rng(args.seed + epoch).permutation(n)
        idx = np.sort(perm[pos:pos + args.batch])
        real = D.to_tensor(train[idx], device)
        flip = (torch.rand(len(idx), generator=gen) < 0.5).view(-1, 1, 1, 1).to(device)
        real = torch.where(flip, real.flip(3), real)
        s = D.sample_strength(len(idx), gen).to(device)

        fake = G.generate(real, s)
        real128, fake128 = F.avg_pool2d(real, 2), F.avg_pool2d(fake, 2)
        if conditional_ds:
            with torch.no_grad():
                cond = G.g.abstraction(real128, s)
            ds_real, ds_fake = torch.cat([cond, real128], 1), torch.cat([cond, fake128], 1)
        else:
            ds_real, ds_fake = real128, fake128
        crop_r, crop_f = random_crop_pair(real, fake, 128, gen)

        optD.zero_grad(set_to_none=True)
        lossD_s = d_loss(Ds, ds_real, ds_fake)
        lossD_t = d_loss(Dt, crop_r, crop_f)
        (lossD_s + lossD_t).backward()
        optD.step()
        if components is not None:
            off = components.offsets(gen)
            eyes_r, mouth_r = components(real, off)
            eyes_f, mouth_f = components(fake, off)
            optC.zero_grad(set_to_none=True)
            lossD_c = d_loss(De, eyes_r, eyes_f) + d_loss(Dm, mouth_r, mouth_f)
            lossD_c.backward()
            optC.step()
            if Dn is not None:
                nose_r, nose_f = components.nose(real, off), components.nose(fake, off)
                optN.zero_grad(set_to_none=True)
                lossD_n = d_loss(Dn, nose_r, nose_f)
                lossD_n.backward()
                optN.step()
                lossD_c = lossD_c + lossD_n.detach()
        else:
            lossD_c = torch.zeros((), device=device)

        optG.zero_grad(set_to_none=True)
        w = 1.0 - 0.7 * s
        l_low = (lowpass_l1(fake, real, args.lowpass_cell) * w).mean()
        l_full = ((fake - real).abs().mean((1, 2, 3)) * (1.0 - s) ** 2).mean()
        ef = edges((fake128 * luma).sum(1, keepdim=True))
        er = edges((real128 * luma).sum(1, keepdim=True))
        l_edge = ((ef - er).abs().mean((1, 2, 3)) * w).mean()
        adv_s, fm_s = g_losses(Ds, ds_real, ds_fake)
        adv_t, fm_t = g_losses(Dt, crop_r, crop_f)
        if components is not None:
            adv_e, fm_e = g_losses(De, eyes_r, eyes_f)
            adv_m, fm_m = g_losses(Dm, mouth_r, mouth_f)
            adv_c, fm_c = adv_e + adv_m, fm_e + fm_m
            if Dn is not None:  # weighted relative to --component, which scales the sum below
                adv_n, fm_n = g_losses(Dn, nose_r, nose_f)
                r = args.nose / max(args.component, 1e-6)
                adv_c, fm_c = adv_c + r * adv_n, fm_c + r * fm_n
        else:
            adv_c = fm_c = torch.zeros((), device=device)
        if identity is not None:
            dist, pull = identity(fake128, real128, args.identity_band if args.identity_pull > 0 else 0.0, s)
            l_id = band_loss(dist, s, args.identity_band, args.identity_tol, args.identity_open_from)
            if pull is not None:
                l_id = l_id + args.identity_pull / args.identity * (pull * (s >= 0.25)).mean()
        else:
            dist = l_id = torch.zeros((), device=device)
        l_perc = (perceptual(fake, real) * w).mean() if perceptual is not None \
            else torch.zeros((), device=device)
        l_pop = population(fake, real, s) if population is not None \
            else torch.zeros((), device=device)
        l_sharp = sharpness(fake, real).mean() if sharpness is not None \
            else torch.zeros((), device=device)
        lossG = (args.sharpness * l_sharp + args.lowpass_l1 * l_low + args.full_l1 * l_full + args.edge_l1 * l_edge
                 + args.perceptual * l_perc + args.population * l_pop
                 + args.adv * (adv_s + adv_t) + args.fm * (fm_s + fm_t) + args.identity * l_id
                 + args.component * adv_c + args.fm * args.component / max(args.adv, 1e-6) * fm_c)
        lossG.backward()
        optG.step()
        with torch.no_grad():
            for pe, p in zip(G_ema.parameters(), G.parameters()):
                pe.mul_(args.ema).add_(p.detach(), alpha=1.0 - args.ema)

        counters["step"] += 1
        counters["images"] += len(idx)
        dt = clock.lap()
        counters["train_seconds"] += dt
        run_seconds += dt
        for k, v in (("low", l_low), ("full", l_full), ("edge", l_edge), ("perc", l_perc), ("adv_s", adv_s),
                     ("adv_t", adv_t), ("fm_s", fm_s), ("fm_t", fm_t), ("D_s", lossD_s),
                     ("D_t", lossD_t), ("adv_c", adv_c), ("fm_c", fm_c), ("D_c", lossD_c), ("id", l_id), ("dist", dist.mean()), ("pop", l_pop), ("sharp", l_sharp),
                     ("drift", population.drift_norm() if population is not None else l_pop)):
            sums[k] = sums.get(k, 0.0) + v.detach()
        if counters["step"] % args.log_every == 0:
            avg = " ".join(f"{k} {float(v) / args.log_every:.4f}" for k, v in sums.items())
            rate = (counters["step"] - first_step) * args.batch / max(run_seconds, 1e-6) * 3600
            log(f"step {counters['step']} images {counters['images']} "
                f"epoch {counters['images'] / n:.2f} {avg} ({rate:.0f} img/h this run)")
            sums = {}
        now = time.time()
        if now - t_ck >= args.ckpt_minutes * 60:
            keep = now - t_keep >= args.keep_minutes * 60
            checkpoint(keep)
            t_ck = now
            t_keep = now if keep else t_keep
    checkpoint(True)
    log("stopped")


if __name__ == "__main__":
    main()
