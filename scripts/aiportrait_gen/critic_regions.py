"""Where does the fresh critic's signal live? (aiportrait_gen.critic; eval_generator --critic-regions)

For each face region (placed from the alignment template, so it follows the model's framing) the
critic is trained twice more: on the portraits with that region taken back from the originals, and
on the originals with only that region taken from the portraits; the edges are feathered, and a
portrait agrees with its photo at the bottleneck's scale, so the seams carry no signal of their
own. A third probe blurs the whole portrait (Gaussian sigma 1.5): if that hides it, the tell is fine
texture; if the critic stays as sure, it is structure that a blur cannot remove.

The window critics (`window_critics`, eval_generator --critic-windows) train the same critic on
one region at full resolution instead of the whole face at 96 px. Why (2026-12-07): 1.1.0 at 0.7
passed the whole-face critic (57.8 %) while about 4 of 16 faces had smeared mouths or dissolving
eyes at 100 % zoom. On 735 held-out faces (3 runs each, 1 thread; real vs real 47.3 %):

    model @ strength   whole face      eye window      mouth window    (accuracy, tell share)
    1.0.0 @ 0.6        69.0 %, 34.9 %  74.4 %, 35.4 %  68.5 %, 35.1 %
    1.1.0 @ 0.7        58.5 %, 12.5 %  61.6 %, 20.2 %  72.8 %, 57.2 %

1.1.0's whole face and eyes are nearer a photo's than 1.0.0's, its mouths further: more than half
of them are told apart at a 5 % false-alarm rate (critic.tell_share), and the 16 surest are the
smeared, dark-lipped and blurred-teeth mouths seen at 100 % zoom.

Why (2026-12-06): the critic's 16 surest portraits show where it is surest, not where its accuracy
comes from. On run 1.0-b at step 47,438 (strength 0.6, 741 held-out faces) no region carried it:
taking back the eyes, nose, mouth or lower face each lowered it by only 3-6 points (one critic run
each, about the spread of one run), the lower face alone still gave 70 %, and the sigma-1.5 blur
raised it (83.5 vs 80.8 %). The giveaway was spread over the whole face and structural, so the
whole-face discriminators, not the component ones or the texture one, were the ones to strengthen.
"""
import cv2
import numpy as np

from . import critic as C

REGIONS = ("eyes", "nose", "mouth", "lower")
# The window critics: the fresh critic's recipe on these regions at the crop's own resolution.
WINDOWS = ("eyes", "mouth")


def region_boxes(template, size: int = 256) -> dict:
    """{region: (x0, y0, x1, y1)} in pixels of the `size` crop, in units of the template's eye
    distance e: eyes with brows; the nose between them and the mouth; the mouth with its corners;
    everything below the nose tip (mouth, chin, jaw)."""
    (lx, ly), (rx, ry), (nx, ny), (mlx, mly), (mrx, mry) = [(x * size, y * size) for x, y in template]
    e = rx - lx
    ey, my = (ly + ry) / 2, (mly + mry) / 2
    boxes = {
        "eyes": (lx - 0.3 * e, ey - 0.25 * e, rx + 0.3 * e, ey + 0.2 * e),
        "nose": (nx - 0.35 * e, ey + 0.2 * e, nx + 0.35 * e, ny + 0.12 * e),
        "mouth": (mlx - 0.2 * e, my - 0.25 * e, mrx + 0.2 * e, my + 0.25 * e),
        "lower": (0, ny + 0.15 * e, size, size),
    }
    return {k: tuple(int(round(min(max(v, 0), size))) for v in b) for k, b in boxes.items()}


def feathered_mask(box, size: int = 256, sigma: float = 6.0) -> np.ndarray:
    """float32 size x size x 1: 1 inside `box`, 0 outside, Gaussian-feathered edges."""
    m = np.zeros((size, size), np.float32)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = 1.0
    return cv2.GaussianBlur(m, (0, 0), sigma)[:, :, None]


def blend(base: np.ndarray, inset: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """uint8 images: `base` with `inset` where `mask` is 1."""
    return (base * (1.0 - mask) + inset * mask + 0.5).astype(np.uint8)


def probe(originals: np.ndarray, portraits: np.ndarray, template, regions=REGIONS,
          blur_sigma: float = 1.5, runs: int = 1, folds: int = 4, epochs: int = 30,
          portraits_critic=None) -> list:
    """[(row name, held-out critic accuracy)] for the portraits, each region swapped both ways,
    and the blurred portraits (each the mean of `runs` critics: critic.repeated_test). uint8
    N x 256 x 256 x 3 RGB, the same faces in the same order. `portraits_critic`: the portraits'
    accuracy when the caller has it already (eval_generator's default row: same critics)."""
    ref = C.prepare(originals)

    def judge(images):
        return C.repeated_test(ref, C.prepare(images), runs, folds=folds, epochs=epochs)[0]

    size = originals.shape[1]
    boxes = region_boxes(template, size)
    for name in regions:  # before minutes of critics, not after
        if name not in boxes:
            raise ValueError(f"unknown region {name!r}: one of {', '.join(REGIONS)}")
    rows = [("portraits", judge(portraits) if portraits_critic is None else portraits_critic)]
    for name in regions:
        m = feathered_mask(boxes[name], size, sigma=6.0 * size / 256)
        rows.append((f"portraits, originals' {name}", judge(blend(portraits, originals, m))))
        rows.append((f"originals, portraits' {name}", judge(blend(originals, portraits, m))))
    if blur_sigma > 0:
        blurred = np.stack([cv2.GaussianBlur(p, (0, 0), blur_sigma) for p in portraits])
        rows.append((f"portraits blurred sigma {blur_sigma:g}", judge(blurred)))
    return rows


def window_critics(originals: np.ndarray, portraits: np.ndarray, template, windows=WINDOWS,
                   runs: int = 3, **kw) -> dict:
    """{window: (mean held-out accuracy, each run's, mean probability per image)}: the fresh
    critic's recipe (critic.repeated_test) on each window of `template` at the crops' own
    resolution (critic.prepare_window). uint8 N x S x S x 3 RGB, the same faces in the same order."""
    boxes = region_boxes(template, originals.shape[1])
    unknown = [w for w in windows if w not in boxes]
    if unknown:
        raise ValueError(f"unknown window {unknown[0]!r}: one of {', '.join(REGIONS)}")
    return {w: C.repeated_test(C.prepare_window(originals, boxes[w]),
                               C.prepare_window(portraits, boxes[w]), runs, **kw) for w in windows}
