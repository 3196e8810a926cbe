"""Trains aiportrait's default generator (model.Portrait) on the aligned UTKFace crops.

    AIPORTRAIT_TRAIN_DIR=WORK nohup nice -n 10 /usr/bin/python3 scripts/train_generator.py \
        --threads 2 --init weights/generator/aiportrait-default.pt > WORK/train.out 2>&1 &
    ... later, or in a new session on the same machine:
    ... scripts/train_generator.py --threads 2 --resume

`--init` takes a checkpoint, an exported TorchScript generator (the committed default) or a
portable .npz, so a fresh machine continues from what is in git. Checkpoints: WORK/ckpt/last.pt
every --ckpt-minutes (atomic) and WORK/ckpt/step_NNNNNNN.pt every --keep-minutes; losses in
WORK/train.log; a sample grid of held-out faces in WORK/samples/last.png. The weights are
averaged (EMA) for export. Losses and why: aiportrait_gen.losses; no recognition net is used.
"""
import copy
import os
import signal
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import data as D
from .losses import (ComponentCrops, active_discriminators, consistency_l1, d_loss, draw_context,
                     g_losses)
from .model import load_generator_state, load_landmark_net, match_noise, portrait_for
from .options import parse_args  # noqa: F401 (train.parse_args: the trainer's one option list)
from .starting_point import FRESH_LAYOUT, StartingPoint, load_adam_by_name
from .template import TIGHT_TEMPLATE

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


def adam(params, lr):
    # (0.5, 0.999): in a 200-step probe a fresh face discriminator separated 0.9-strength
    # portraits by a logit gap of 1.2 with these, 0.7 with SPADE's (0, 0.9)
    return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))


class Run:
    """One training run: the generator, its EMA, each discriminator of losses.DISCRIMINATORS
    that the options weigh above zero (losses.active_discriminators) with its own Adam, the
    counters and the random state. setup -> start (resume / init) -> step ... -> checkpoint."""

    def __init__(self, args, log):
        self.args, self.log = args, log
        self.device = torch.device(args.device)
        self.ckdir = os.path.join(args.work, "ckpt")
        os.makedirs(self.ckdir, exist_ok=True)
        os.makedirs(os.path.join(args.work, "samples"), exist_ok=True)
        torch.manual_seed(args.seed)
        self._choose_layout()
        self.train, self.held, _, template = D.load(args.work)
        self.template = template or TIGHT_TEMPLATE
        log(f"data: {len(self.train)} training faces, {len(self.held)} held out; device {self.device}, "
            f"threads {args.threads}, batch {args.batch}; args {vars(args)}")
        self.G = portrait_for(vars(args)).to(self.device)  # what export and the probe rebuild
        self.optG = adam(self.G.parameters(), args.lr_g)
        self.specs = active_discriminators(vars(args))
        self.Ds = {spec.name: spec.make().to(self.device) for spec in self.specs}
        self.optDs = {name: adam(d.parameters(), args.lr_d) for name, d in self.Ds.items()}
        self.crops = ComponentCrops(self.template, 256).to(self.device)
        self.counters = {"step": 0, "images": 0, "train_seconds": 0.0}
        self.gen = torch.Generator().manual_seed(args.seed)
        self.G_ema = None
        log(f"generator {sum(p.numel() for p in self.G.parameters()) / 1e6:.2f} M parameters; "
            f"discriminators {', '.join(self.Ds)}")

    def _choose_layout(self):
        """--edge-plane, --noise and --cell-upsample follow the starting point unless given:
        continuing a generator with the other plane or cell upsampling is a different input, which
        it would first have to re-learn; noise inputs join at zero (or are left out)."""
        args, last = self.args, os.path.join(self.ckdir, "last.pt")
        self.resuming = bool(args.resume and os.path.exists(last))
        start = last if self.resuming else args.init
        self.starting_point = StartingPoint(start) if start else None  # start() takes the rest
        trained = self.starting_point.layout if start else FRESH_LAYOUT
        said = {"edge_plane": "edge plane", "noise": "noise inputs", "cell_upsample": "cell upsampling"}
        for key, name in said.items():
            if getattr(args, key) is None:
                setattr(args, key, trained[key])
            elif getattr(args, key) != trained[key]:
                self.log(f"{name}: {start} was trained with '{trained[key]}', this run uses "
                         f"'{getattr(args, key)}' (the generator re-learns it)")

    # ------------------------------------------------------------------------- start ----
    def start(self):
        args, last = self.args, os.path.join(self.ckdir, "last.pt")
        begin, self.starting_point = self.starting_point, None  # read once, by _choose_layout
        ema_state = None
        if self.resuming:
            ck = begin.checkpoint
            state, note = match_noise(self.G, ck["G"])
            self.G.load_state_dict(state)
            if note:  # the parameter list changed: Adam's moments follow the names
                saved = [n for n, _ in portrait_for(ck.get("args", {})).named_parameters()]
                load_adam_by_name(self.optG, ck["optG"], saved, [n for n, _ in self.G.named_parameters()])
                self.log(f"generator from {last}{note}")
            else:
                self.optG.load_state_dict(ck["optG"])
            self._load_discriminators(ck.get("D", {}), ck.get("optD", {}))
            self.counters = {k: ck[k] for k in self.counters}
            self.gen.set_state(ck["gen_state"])
            torch.set_rng_state(ck["torch_rng"])
            ema_state = ck["G_ema"]
            self.log(f"resumed from {last}: {self.counters}")
            self._apply_learning_rates()
        elif begin is not None:  # --init FILE
            self.counters = dict(begin.counters)
            described = load_generator_state(self.G, begin.generator, begin.described, begin.path)
            self.log(f"initialised from {begin.path}: {described}; {self.counters}")
            if begin.discriminators:  # a portable file's (Adam starts fresh)
                self._load_discriminators(begin.discriminators, {})
            else:
                self.log("fresh discriminators")
        elif args.resume:
            self.log("no checkpoint to resume from; starting fresh")
        if begin is None and self.G.g.conditioning.landmarks is not None:
            self.log(f"landmark net from {load_landmark_net(self.G)}")
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        if ema_state is not None:
            self.G_ema.load_state_dict(match_noise(self.G_ema, ema_state)[0])

    def _apply_learning_rates(self):
        """The command line's --lr-g / --lr-d, also on --resume: a loaded Adam state carries the
        learning rate it was saved with, so without this a resumed run silently kept the old
        rates (and a run annealed from a checkpoint did not anneal)."""
        wanted = [(self.optG, self.args.lr_g, "G")] + [(o, self.args.lr_d, f"D {n}")
                                                       for n, o in self.optDs.items()]
        changed = set()
        for opt, lr, name in wanted:
            for group in opt.param_groups:
                if group["lr"] != lr:
                    changed.add(f"{name.split()[0]} {group['lr']:g} -> {lr:g}")
                    group["lr"] = lr
        if changed:
            self.log(f"learning rates from the command line: {', '.join(sorted(changed))}")

    def _load_discriminators(self, states: dict, opt_states: dict):
        """Each D whose saved weights fit; one that is new or changed starts fresh (said)."""
        fresh = []
        for name, d in self.Ds.items():
            try:
                d.load_state_dict(states[name])
                if name in opt_states:
                    self.optDs[name].load_state_dict(opt_states[name])
            except (KeyError, RuntimeError):
                fresh.append(name)
        if fresh:
            self.log(f"discriminators starting fresh: {', '.join(fresh)}")

    # -------------------------------------------------------------------------- step ----
    def batch(self):
        args, n = self.args, len(self.train)
        epoch, pos = divmod(self.counters["images"], n)  # a seeded permutation per epoch
        perm = np.random.default_rng(args.seed + epoch).permutation(n)
        idx = np.sort(perm[pos:pos + args.batch])
        real = D.to_tensor(self.train[idx], self.device)
        flip = (torch.rand(len(idx), generator=self.gen) < 0.5).view(-1, 1, 1, 1).to(self.device)
        real = torch.where(flip, real.flip(3), real)
        return real, D.sample_strength(len(idx), self.gen, args.strength_low).to(self.device)

    def step(self) -> dict:
        """One discriminator and one generator update; returns the losses for the log."""
        args, G, gen = self.args, self.G, self.gen
        real, s = self.batch()
        bottleneck = G.g.conditioning.bottleneck
        with torch.no_grad():
            cond = bottleneck(F.avg_pool2d(real, 2), s)
        fake = G.generate(real, s)
        ctx = draw_context(bottleneck, s, self.crops, gen,
                           cond if args.d_condition == "photo" else None)
        views_real = {spec.name: spec.view(real, ctx) for spec in self.specs}
        views_fake = {spec.name: spec.view(fake, ctx) for spec in self.specs}
        logs = {}

        for spec in self.specs:
            d, opt = self.Ds[spec.name], self.optDs[spec.name]
            opt.zero_grad(set_to_none=True)
            loss = d_loss(d, views_real[spec.name], views_fake[spec.name])
            logs[f"D_{spec.name}"] = loss.detach()
            loss.backward()
            opt.step()

        self.optG.zero_grad(set_to_none=True)
        l_cons = consistency_l1(bottleneck, F.avg_pool2d(fake, 2), cond, s).mean()
        l_full = ((fake - real).abs().mean((1, 2, 3)) * (1.0 - s) ** 2).mean()
        lossG = args.consistency * l_cons + args.full_l1 * l_full
        for spec in self.specs:
            d = self.Ds[spec.name]
            d.requires_grad_(False)
            adv, fm = g_losses(d, views_real[spec.name], views_fake[spec.name])
            d.requires_grad_(True)
            w = getattr(args, spec.weight)
            lossG = lossG + w * (adv + args.fm * fm)
            logs[f"adv_{spec.name}"], logs[f"fm_{spec.name}"] = adv.detach(), fm.detach()
        lossG.backward()
        self.optG.step()
        with torch.no_grad():
            for pe, p in zip(self.G_ema.parameters(), G.parameters()):
                pe.mul_(args.ema).add_(p.detach(), alpha=1.0 - args.ema)
        self.counters["step"] += 1
        self.counters["images"] += real.shape[0]
        logs.update(cons=l_cons.detach(), full=l_full.detach())
        return logs

    # -------------------------------------------------------------------- checkpoint ----
    def checkpoint(self, keep: bool):
        args, meta = self.args, {**self.counters, "args": vars(self.args), "template": self.template}
        state = {"G": self.G.state_dict(), "G_ema": self.G_ema.state_dict(),
                 "optG": self.optG.state_dict(),
                 "D": {k: d.state_dict() for k, d in self.Ds.items()},
                 "optD": {k: o.state_dict() for k, o in self.optDs.items()},
                 "gen_state": self.gen.get_state(), "torch_rng": torch.get_rng_state(), **meta}
        D.save_atomic(state, os.path.join(self.ckdir, "last.pt"))
        if keep:
            D.save_atomic({"G_ema": self.G_ema.state_dict(), **meta},
                          os.path.join(self.ckdir, f"step_{self.counters['step']:07d}.pt"))
        if args.portable_out:
            groups = {"G_ema": self.G_ema.state_dict(),
                      **{f"D_{k}": d.state_dict() for k, d in self.Ds.items()}}
            D.save_portable(args.portable_out, groups, meta,
                            half=tuple(g for g in groups if g.startswith("D_")))
        write_samples(self.G_ema, self.held, os.path.join(args.work, "samples", "last.png"), self.device)
        self.log(f"checkpoint at {self.counters}" + (" [kept]" if keep else ""))


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.work, exist_ok=True)
    logf = open(os.path.join(args.work, "train.log"), "a")

    def log(msg):
        line = time.strftime("%Y-%m-%d %H:%M:%S ") + msg
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    if args.device == "cpu" and (warning := huge_page_warning()):
        log(warning)
    run = Run(args, log)
    run.start()

    stop = False

    def handle_term(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, handle_term)
    signal.signal(signal.SIGINT, handle_term)
    first_step, run_seconds, clock = run.counters["step"], 0.0, StepClock()
    t_ck = t_keep = time.time()
    sums, counts = {}, {}
    while not stop and run.counters["step"] - first_step < args.steps and run_seconds < args.hours * 3600:
        clock.start()
        logs = run.step()
        dt = clock.lap()
        run.counters["train_seconds"] += dt
        run_seconds += dt
        for k, v in logs.items():
            sums[k] = sums.get(k, 0.0) + float(v)
            counts[k] = counts.get(k, 0) + 1
        if run.counters["step"] % args.log_every == 0:
            avg = " ".join(f"{k} {sums[k] / counts[k]:.4f}" for k in sorted(sums))
            rate = (run.counters["step"] - first_step) * args.batch / max(run_seconds, 1e-6) * 3600
            log(f"step {run.counters['step']} images {run.counters['images']} "
                f"epoch {run.counters['images'] / len(run.train):.2f} {avg} ({rate:.0f} img/h this run)")
            sums, counts = {}, {}
        now = time.time()
        if now - t_ck >= args.ckpt_minutes * 60:
            keep = now - t_keep >= args.keep_minutes * 60
            run.checkpoint(keep)
            t_ck = now
            t_keep = now if keep else t_keep
    run.checkpoint(True)
    log("stopped")


if __name__ == "__main__":
    main()
