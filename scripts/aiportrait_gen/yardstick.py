"""The sharp-generator yardstick (issue "Default generator 1.0"): how sharp a portrait P is against
its pixel-aligned original O (the 256-px aligned face, strength 0), and KID of portraits against
real faces. Same formulas as the issue, so numbers from different people agree:

- luma Y = 0.299 R + 0.587 G + 0.114 B (0-255); face ellipse centred in the crop, semi-axes
  0.35 W and 0.425 H; G_s = Gaussian blur of sigma s px (reflect-101, OpenCV's default border).
- E_hf = mean over the ellipse of (Y - G_1.5 * Y)^2;                    R_hf = E_hf(P) / E_hf(O).
- g = Sobel_3(G_1 * Y) / 8, J = G_3 * (g g^T), C = mean over the ellipse of
  sqrt((J11 - J22)^2 + 4 J12^2);                                         R_coh = C(P) / C(O).
  Noise raises R_hf but not R_coh.
- blur-equivalent sigma: blur O with each of BLUR_SIGMAS and find the sigma whose ratio equals the
  portrait's, by log-linear interpolation (log ratio linear in sigma; ratio 1 at sigma 0). Sharp =
  both <= 2 px.
- KID: unbiased MMD^2 with the kernel (x.y / d + 1)^3 on d-dimensional features.
"""
import math

import cv2
import numpy as np

BLUR_SIGMAS = (0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0)
SHARP_SIGMA = 2.0


def luma(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 RGB (uint8 or float, 0-255) -> float64 luma."""
    rgb = rgb.astype(np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def ellipse_mask(h: int, w: int) -> np.ndarray:
    # pixel centres relative to the crop's centre ((w - 1) / 2, (h - 1) / 2)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    return ((x - (w - 1) / 2) / (0.35 * w)) ** 2 + ((y - (h - 1) / 2) / (0.425 * h)) ** 2 <= 1.0


def blur(y: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(y, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)


def hf_energy(y: np.ndarray, mask: np.ndarray) -> float:
    return float(((y - blur(y, 1.5)) ** 2)[mask].mean())


def coherence_energy(y: np.ndarray, mask: np.ndarray) -> float:
    s = blur(y, 1.0)
    gx = cv2.Sobel(s, cv2.CV_64F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT_101) / 8.0
    gy = cv2.Sobel(s, cv2.CV_64F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT_101) / 8.0
    j11, j22, j12 = blur(gx * gx, 3.0), blur(gy * gy, 3.0), blur(gx * gy, 3.0)
    return float(np.sqrt((j11 - j22) ** 2 + 4.0 * j12 ** 2)[mask].mean())


def ratios(original: np.ndarray, portrait: np.ndarray) -> tuple:
    """(R_hf, R_coh) of a portrait against its original (RGB arrays of one size)."""
    yo, yp = luma(original), luma(portrait)
    mask = ellipse_mask(*yo.shape)
    eo, co = hf_energy(yo, mask), coherence_energy(yo, mask)
    return hf_energy(yp, mask) / max(eo, 1e-12), coherence_energy(yp, mask) / max(co, 1e-12)


def blur_curve(original: np.ndarray) -> np.ndarray:
    """BLUR_SIGMAS.size x 2: (R_hf, R_coh) of the original blurred by each sigma."""
    yo = luma(original)
    mask = ellipse_mask(*yo.shape)
    eo, co = hf_energy(yo, mask), coherence_energy(yo, mask)
    rows = []
    for s in BLUR_SIGMAS:
        yb = blur(yo, s)
        rows.append((hf_energy(yb, mask) / max(eo, 1e-12), coherence_energy(yb, mask) / max(co, 1e-12)))
    return np.array(rows)


def equivalent_sigma(ratio: float, curve: np.ndarray) -> float:
    """The blur sigma whose ratio equals `ratio` on a falling curve over BLUR_SIGMAS (with ratio 1
    at sigma 0): log ratio interpolated linearly in sigma; 0 at or above 1, the largest sigma
    below the curve's end."""
    if ratio >= 1.0:
        return 0.0
    sig = (0.0,) + BLUR_SIGMAS
    logs = [0.0] + [math.log(max(r, 1e-12)) for r in curve]
    lr = math.log(max(ratio, 1e-12))
    for i in range(1, len(sig)):
        if lr >= logs[i]:
            a, b = logs[i - 1], logs[i]
            t = 0.0 if a == b else (a - lr) / (a - b)
            return sig[i - 1] + t * (sig[i] - sig[i - 1])
    return sig[-1]


def blur_equivalent(original: np.ndarray, portrait: np.ndarray) -> tuple:
    """(sigma by R_hf, sigma by R_coh, R_hf, R_coh) of one portrait."""
    r_hf, r_coh = ratios(original, portrait)
    curve = blur_curve(original)
    return (equivalent_sigma(r_hf, curve[:, 0]), equivalent_sigma(r_coh, curve[:, 1]), r_hf, r_coh)


def kid(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between feature sets x (m x d) and y (n x d), kernel (a.b / d + 1)^3."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    d = x.shape[1]
    kxx, kyy, kxy = ((x @ x.T) / d + 1) ** 3, ((y @ y.T) / d + 1) ** 3, ((x @ y.T) / d + 1) ** 3
    m, n = len(x), len(y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                 + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean())


def split_kid(real_feats: np.ndarray, fake_feats: np.ndarray) -> float:
    """Portraits of one half of the faces against originals of the other half, both ways,
    averaged (so no portrait is compared with its own original). The halves interleave (even vs
    odd faces): face lists come sorted by name, and UTKFace's names start with the age, so a
    first-half/second-half split compared young with old faces and put a floor of 22-32e-3
    under every KID, the originals' own included."""
    even, odd = slice(0, None, 2), slice(1, None, 2)
    return 0.5 * (kid(fake_feats[even], real_feats[odd]) + kid(fake_feats[odd], real_feats[even]))
