"""Evaluates a TorchScript generator with the yardstick (aiportrait_gen.yardstick) and both
identity nets, at strengths 0, 0.25, 0.5, 0.75, the model's default and 1, beside Gaussian-blur
anchors of the originals, and checks the issue's targets.

    /usr/bin/python3 scripts/eval_generator.py [MODEL] [--set heldout|photos] [--n 500]

Faces: `heldout` = the first N held-out faces of the training split (WORK/aligned256.npy from
scripts/prepare_training_data.sh); `photos` = the main face of every photo in
../shared/eval/faces, aligned by the CLI with the model's own template. Identity: face-api
distance (the CLI's yardstick net; crop from the template's points) and FaceRes cosine distance
(an independent net the generator never trains against; skipped with a message when
weights/eval/faceres is absent: scripts/fetch_models.sh --eval). KID is on face-api's 256-D
pooled features and on a randomly initialised CNN's (aiportrait_gen.critic.RandomFeatures).
The fresh critic (aiportrait_gen.critic: a CNN trained from scratch to tell the originals from
each row's images, 50 % = indistinguishable; the mean of --critic-runs seeds) runs on the rows
named by --critic, with the share of each row's images it tells from the originals at a 5 %
false-alarm rate (a minority of clearly injured faces that the accuracy averages away);
--critic-windows trains it again on the eye and mouth windows at full resolution at the default;
--surest writes the 16 default portraits it is surest about (and each window's 16, beside their
originals); --critic-regions shows where its signal lives. Prints a table and writes it as JSON (--out).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import cv2
import numpy as np
import torch

from . import contract
from . import critic as C
from . import critic_regions as R
from . import data as D
from . import yardstick as Y
from .faceapi import FaceApiJudge
from .template import TIGHT_TEMPLATE

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FACEAPI_BAND, FACERES_BAND = (0.40, 0.60), (0.20, 0.38)


def eval_photo_crops(template, faces_dir: str, cli: str, threads: int) -> np.ndarray:
    """Main face of each photo, aligned by the CLI with a pass-through model of `template`."""
    from .template import save_aligner
    with tempfile.TemporaryDirectory() as tmp:
        aligner = os.path.join(tmp, "aligner.pt")
        save_aligner(aligner, template)
        out = os.path.join(tmp, "aligned")
        rc = subprocess.call([cli, faces_dir, "-o", out, "--model", aligner, "--no-identity",
                              "-q", "--threads", str(threads), "--format", "png"])
        if rc not in (0, 1):
            sys.exit(f"{cli} failed with exit status {rc}")
        names = sorted(f for f in os.listdir(out) if f.endswith(".png"))
        return np.stack([cv2.imread(os.path.join(out, f))[:, :, ::-1] for f in names])


def run_model(model, crops: np.ndarray, strength: float, batch: int = 16) -> np.ndarray:
    outs = []
    with torch.no_grad():
        for i in range(0, len(crops), batch):
            x = D.to_tensor(crops[i:i + batch], "cpu")
            outs.append(D.to_uint8(model(x, torch.full((x.shape[0],), strength))))
    return np.concatenate(outs)


class Judges:
    """The identity nets, run once per image set: face-api descriptors + pooled features, and
    FaceRes descriptors when its weights are there."""

    def __init__(self, template, faceres_dir: str):
        self.faceapi = FaceApiJudge(os.path.join(REPO, "weights", "face-api"), template, 256).eval()
        self.faceres = None
        if os.path.exists(os.path.join(faceres_dir, "faceres.json")):
            from .faceres import FaceRes
            self.faceres = FaceRes(faceres_dir).eval()
        else:
            print(f"FaceRes skipped: {faceres_dir} is absent (scripts/fetch_models.sh --eval)",
                  file=sys.stderr)

    def __call__(self, crops: np.ndarray) -> dict:
        out = {"desc": [], "feat": [], "res": [],
               "random": [torch.from_numpy(C.random_features(C.prepare(crops)))]}
        with torch.no_grad():
            for i in range(0, len(crops), 16):
                inp = self.faceapi.net_input(D.to_tensor(crops[i:i + 16], "cpu"))
                feat = self.faceapi.net.features(inp)
                out["feat"].append(feat)
                out["desc"].append(feat @ self.faceapi.net.fc)
                if self.faceres is not None:
                    from .faceres import crop_from_aligned
                    res_in = torch.cat([crop_from_aligned(c) for c in crops[i:i + 16]])
                    out["res"].append(self.faceres(res_in))
        return {k: torch.cat(v) if v else None for k, v in out.items()}


def share(values, band) -> float:
    return sum(band[0] <= v < band[1] for v in values) / len(values)


def standardised(ref: np.ndarray, other: np.ndarray):
    """Both feature sets scaled by the originals' per-dimension mean and spread. The random CNN's
    raw features are small (~0.2), so KID's cubic kernel saw almost nothing (a sigma-3 blur:
    0.4e-3); standardised, a sigma-3 blur scores ~150e-3 and a sigma-1.5 one ~6e-3 (300 faces)."""
    mu, sd = ref.mean(0), ref.std(0)
    live = sd > 1e-3 * sd.mean()  # ReLU channels dead on every original would divide by ~0
    return (ref[:, live] - mu[live]) / sd[live], (other[:, live] - mu[live]) / sd[live]


def row(name, originals, portraits, ref, judged) -> dict:
    sig = [Y.blur_equivalent(o, p) for o, p in zip(originals, portraits)]
    s_hf, s_coh = [s[0] for s in sig], [s[1] for s in sig]
    fa = (judged["desc"] - ref["desc"]).norm(dim=1).tolist()
    r = {"name": name, "faces": len(originals),
         "sigma_hf": statistics.median(s_hf), "sigma_coh": statistics.median(s_coh),
         "sharp": sum(a <= Y.SHARP_SIGMA and b <= Y.SHARP_SIGMA for a, b in zip(s_hf, s_coh))
         / len(sig),
         "kid_e3": 1e3 * Y.split_kid(ref["feat"].numpy(), judged["feat"].numpy()),
         "kid_random_e3": 1e3 * Y.split_kid(*standardised(ref["random"].numpy(), judged["random"].numpy())),
         "faceapi_median": statistics.median(fa), "faceapi_band": share(fa, FACEAPI_BAND)}
    if judged["res"] is not None:
        from .faceres import cosine_distance
        fr = cosine_distance(judged["res"], ref["res"]).tolist()
        # KID again on the independent net's descriptors: face-api's KID is also what the
        # population loss trains against, so a realism gain that FaceRes does not see is the
        # generator fooling face-api (not a target of the issue; a guard).
        r.update(faceres_median=statistics.median(fr), faceres_band=share(fr, FACERES_BAND),
                 kid_faceres_e3=1e3 * Y.split_kid(ref["res"].numpy(), judged["res"].numpy()))
    return r


def print_table(rows) -> None:
    print(f"{'':>12} {'faces':>5} {'sig_hf':>6} {'sig_coh':>7} {'sharp':>6} {'KIDe3':>6} {'KIDrnd':>6} "
          f"{'critic':>6} {'fa_med':>6} {'fa_band':>7} {'fr_med':>6} {'fr_band':>7} {'KIDfr':>6}")
    for r in rows:
        fr = (f"{r['faceres_median']:6.3f} {100 * r['faceres_band']:6.1f}% {r['kid_faceres_e3']:6.1f}"
              if "faceres_median" in r else f"{'-':>6} {'-':>7} {'-':>6}")
        crit = f"{100 * r['critic']:5.1f}%" if "critic" in r else f"{'-':>6}"
        print(f"{r['name']:>12} {r['faces']:5d} {r['sigma_hf']:6.2f} {r['sigma_coh']:7.2f} "
              f"{100 * r['sharp']:5.1f}% {r['kid_e3']:6.1f} {r['kid_random_e3']:6.1f} {crit} "
              f"{r['faceapi_median']:6.3f} {100 * r['faceapi_band']:6.1f}% {fr}")


def check_targets(rows, default_name) -> list:
    """The issue's targets that these rows can judge: the dial checks need strengths 0, 0.25,
    0.5, 0.75 and 1 (a quick run with --strengths 0.9 checks the default only)."""
    by = {r["name"]: r for r in rows}
    d = by[default_name]
    dial_names = [f"s={s}" for s in ("0", "0.25", "0.5", "0.75", "1")]
    has_dial = all(n in by for n in dial_names)
    checks = []
    if "critic" in d:
        checks.append(("fresh critic <= 65% at the default", d["critic"] <= 0.65))
    checks += [
        ("sharp: >= 80% of faces at the default", d["sharp"] >= 0.80),
        ("KID <= 25e-3 at the default (face-api features)", d["kid_e3"] <= 25),
        ("KID <= 25e-3 at the default (random CNN features)", d["kid_random_e3"] <= 25),
        ("face-api: >= 70% in [0.40, 0.60) at the default", d["faceapi_band"] >= 0.70)]
    if has_dial:
        dial = [by[n]["faceapi_median"] for n in dial_names]
        checks.append(("face-api medians rise over 0 .. 1, < 0.05 at 0",
                       all(a < b for a, b in zip(dial, dial[1:])) and dial[0] < 0.05))
    if "faceres_median" in d:
        checks.append(("FaceRes: >= 60% in [0.20, 0.38) at the default", d["faceres_band"] >= 0.60))
        if has_dial:
            fr = [by[n]["faceres_median"] for n in dial_names]
            checks.append(("FaceRes medians rise with strength", all(a < b for a, b in zip(fr, fr[1:]))))
    return checks


def window_picture(surest: str, window: str) -> str:
    """--surest's path with the window's name before the extension: where its 16 go."""
    stem, ext = os.path.splitext(surest)
    return f"{stem}_{window}{ext or '.png'}"


def anchor_images(crops: np.ndarray, name: str) -> np.ndarray:
    """The originals made worse in a known way: "blur SIGMA" (Gaussian), "jpeg Q"."""
    kind, value = name.split()
    if kind == "blur":
        return np.stack([np.clip(Y.blur(c.astype(np.float64), float(value)) + 0.5, 0, 255)
                         .astype(np.uint8) for c in crops])
    if kind == "jpeg":
        out = []
        for c in crops:
            ok, buf = cv2.imencode(".jpg", c[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(value)])
            out.append(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])
        return np.stack(out)
    raise ValueError(f"unknown anchor {name!r}: blur SIGMA or jpeg QUALITY")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", nargs="?",
                    default=os.path.join(REPO, "weights", "generator", "aiportrait-default.pt"))
    ap.add_argument("--set", choices=("heldout", "photos"), default="heldout")
    ap.add_argument("--n", type=int, default=500, help="held-out faces (0 = all)")
    ap.add_argument("--work", default=os.environ.get(
        "AIPORTRAIT_TRAIN_DIR", os.path.join(REPO, "..", "aiportrait-train")))
    ap.add_argument("--faces", default=os.path.join(REPO, "..", "shared", "eval", "faces"))
    ap.add_argument("--faceres", default=os.path.join(REPO, "weights", "eval", "faceres"))
    ap.add_argument("--cli", default=os.path.join(REPO, "build", "aiportrait"))
    ap.add_argument("--strengths", default="0,0.25,0.5,0.75,1", help="besides the default")
    ap.add_argument("--anchors", default="blur 1.5,blur 3,jpeg 20",
                    help="the originals made worse in known ways, beside the portraits")
    ap.add_argument("--critic", default="default,anchors",
                    help="rows the fresh critic judges: row names (s=0.5, ...), 'default', 'anchors', "
                         "'all' or '' (each run ~1 min per 500 faces on 2 threads); 'anchors' adds real vs real")
    ap.add_argument("--critic-runs", type=int, default=3,
                    help="critics (seeds 0 ..) per judged row; the row gets their mean (one run's spread "
                         "is +-2-4 points: aiportrait_gen.critic.repeated_test)")
    ap.add_argument("--surest", help="write the 16 default portraits the critic is surest about here (PNG)")
    ap.add_argument("--critic-windows", default=",".join(R.WINDOWS),
                    help="the critic's recipe again on these windows of the default portraits at "
                         "full resolution, where smeared mouths and dissolving eyes are a few pixels "
                         f"at 96 px (aiportrait_gen.critic_regions; one of {', '.join(R.REGIONS)}; "
                         "'' = none; --critic-runs critics each, 2-4 min per run per 735 faces)")
    ap.add_argument("--critic-regions", default="",
                    help="where the critic's signal lives at the default: these regions "
                         f"({','.join(R.REGIONS)} or 'all') swapped both ways, and the portraits "
                         "blurred (aiportrait_gen.critic_regions: 2 rows per region and 2 more, each "
                         "--critic-runs critics)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", help="write the rows and checks as JSON here")
    args = ap.parse_args(argv)
    if args.critic_runs < 1:
        ap.error("--critic-runs: at least 1")
    unknown = set(args.critic_regions.split(",")) - set(R.REGIONS) - {"all", ""}
    if unknown:
        ap.error(f"--critic-regions: unknown {', '.join(sorted(unknown))} (one of {', '.join(R.REGIONS)}, or all)")
    windows = [w.strip() for w in args.critic_windows.split(",") if w.strip()]
    unknown = set(windows) - set(R.REGIONS)
    if unknown:
        ap.error(f"--critic-windows: unknown {', '.join(sorted(unknown))} (one of {', '.join(R.REGIONS)})")
    torch.set_num_threads(args.threads)

    model, meta = contract.load(args.model)
    template = meta.get("template", TIGHT_TEMPLATE)
    if args.set == "heldout":
        _, crops, _, _ = D.load(args.work)
        crops = crops[:args.n] if args.n > 0 else crops
    else:
        crops = eval_photo_crops(template, args.faces, args.cli, args.threads)
    model.eval()
    judges = Judges(template, args.faceres)
    ref = judges(crops)
    default = contract.default_strength(meta)
    print(f"{args.model}: {meta.get('name')} {meta.get('version')}, default strength {default}; "
          f"{len(crops)} {args.set} faces", file=sys.stderr)

    judged_by_critic = set(args.critic.split(",")) if args.critic else set()
    prepared = C.prepare(crops)

    def add(name: str, images: np.ndarray, kind: str):
        r = row(name, crops, images, ref, judges(images))
        if {"all", kind, name} & judged_by_critic:
            r["critic"], r["critic_runs"], p = C.repeated_test(prepared, C.prepare(images), args.critic_runs)
            r["critic_tell"] = C.tell_share(p)
            if kind == "default" and args.surest:
                cv2.imwrite(args.surest, C.surest(images, C.second(p))[:, :, ::-1])
            if kind == "default" and windows:
                boxes = R.region_boxes(template, crops.shape[1])
                for w, (acc, runs, pw) in R.window_critics(crops, images, template, windows,
                                                           args.critic_runs).items():
                    r[f"critic_{w}"], r[f"critic_{w}_runs"] = acc, runs
                    r[f"critic_{w}_tell"] = C.tell_share(pw)
                    if args.surest:
                        x0, y0, x1, y1 = boxes[w]
                        pairs = C.surest_pairs(crops[:, y0:y1, x0:x1], images[:, y0:y1, x0:x1], C.second(pw))
                        cv2.imwrite(window_picture(args.surest, w), pairs[:, :, ::-1])
        rows.append(r)
        return r

    rows, region_rows = [], []
    strengths = [float(s) for s in args.strengths.split(",") if s.strip()]
    for s in sorted(set(strengths + [default])):
        images = run_model(model, crops, s)
        r = add(f"s={s:g}", images, "default" if s == default else "strength")
        if s == default:
            rows.append(dict(r, name=f"default {s:g}"))
            if args.critic_regions:
                regions = R.REGIONS if args.critic_regions == "all" else args.critic_regions.split(",")
                region_rows = R.probe(crops, images, template, regions, runs=args.critic_runs,
                                      portraits_critic=r.get("critic"))
    for name in (a.strip() for a in args.anchors.split(",") if a.strip()):
        add(name, anchor_images(crops, name), "anchors")
    if {"all", "anchors"} & judged_by_critic:
        add("real", crops, "anchors")  # real vs real: the critic's floor, ~50 %
    print_table(rows)
    shown = set()  # the default row is a copy of its s= row: its critics once
    for r in rows:
        if "critic" not in r or id(r["critic_runs"]) in shown:
            continue
        shown.add(id(r["critic_runs"]))
        for w in [""] + [f"_{w}" for w in windows if f"critic_{w}" in r]:
            what = f"{w[1:]} window critic" if w else "critic"
            print(f"  {what} of {r['name']}: {100 * r['critic' + w]:.1f}% ("
                  + " / ".join(f"{100 * a:.1f}%" for a in r[f"critic{w}_runs"])
                  + f"), tells {100 * r[f'critic{w}_tell']:.1f}% at {100 * C.TELL_FALSE_ALARMS:g}% false alarms")
    if region_rows:
        print(f"where the critic looks (strength {default:g}):")
        for name, acc in region_rows:
            print(f"  {name:>40} {100 * acc:5.1f}%")
    checks = check_targets(rows, f"default {default:g}")
    for text, ok in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")
    if args.out:
        with open(args.out + ".tmp", "w") as f:
            json.dump({"model": meta, "set": args.set, "rows": rows,
                       "critic_regions": [{"images": n, "critic": a} for n, a in region_rows],
                       "checks": [{"target": t, "pass": ok} for t, ok in checks]}, f, indent=2)
        os.replace(args.out + ".tmp", args.out)
    return 0 if all(ok for _, ok in checks) else 1
