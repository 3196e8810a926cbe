"""face-api.js FaceRecognitionNet in PyTorch, for the generator's yardstick (aiportrait_gen.evaluate).

The same net as src/models/identity.cpp (the project's identity yardstick), read from the same files:
@vladmandic/face-api 1.7.15 model/face_recognition_model-weights_manifest.json + .bin (tfjs,
uint8/uint16-quantised), fetched by scripts/fetch_models.sh into weights/face-api/. The layer
order, padding and shortcut rules follow src/models/identity.cpp line by line; `check_against_cli()`
compares distances with `aiportrait identity` so the two cannot drift apart silently.

The net measures; it never trains the generator (generator 1.0: an identity loss through it made
0.3-0.7 learn adversarial scars). Nothing in train.py or losses.py imports this module.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .tfjs import load_weight_map

MANIFEST = "face_recognition_model-weights_manifest.json"
INPUT_SIZE = 150
RGB_MEAN = (122.782, 117.001, 104.298)
_BLOCKS = [("conv32_1", 32, 32, False), ("conv32_2", 32, 32, False), ("conv32_3", 32, 32, False),
           ("conv64_down", 32, 64, True), ("conv64_1", 64, 64, False), ("conv64_2", 64, 64, False),
           ("conv64_3", 64, 64, False), ("conv128_down", 64, 128, True),
           ("conv128_1", 128, 128, False), ("conv128_2", 128, 128, False),
           ("conv256_down", 128, 256, True), ("conv256_1", 256, 256, False),
           ("conv256_2", 256, 256, False), ("conv256_down_out", 256, 256, True)]


class FaceRecognitionNet(nn.Module):
    def __init__(self, model_dir: str):
        super().__init__()
        w = load_weight_map(model_dir, MANIFEST)

        def conv(prefix, cin, cout, k):
            # conv + bias, then the per-channel scale layer folded in; tfjs HWIO -> OIHW
            filt = w[prefix + "/conv/filters"]
            assert tuple(filt.shape) == (k, k, cin, cout), prefix
            sw, sb = w[prefix + "/scale/weights"], w[prefix + "/scale/biases"]
            return (filt.permute(3, 2, 0, 1) * sw.view(-1, 1, 1, 1)).contiguous(), \
                w[prefix + "/conv/bias"] * sw + sb

        for name, (weight, bias) in [("conv32_down", conv("conv32_down", 3, 32, 7))] + [
                (f"{b}_{i}", conv(f"{b}/conv{i}", cin if i == 1 else cout, cout, 3))
                for b, cin, cout, _ in _BLOCKS for i in (1, 2)]:
            self.register_buffer(name + "_w", weight)
            self.register_buffer(name + "_b", bias)
        self.register_buffer("fc", w["fc"])
        self.register_buffer("mean", torch.tensor(RGB_MEAN).view(1, 3, 1, 1))
        self.requires_grad_(False)

    def _conv(self, x, name, stride, same, relu):
        wt = getattr(self, name + "_w")
        pad = (wt.shape[2] - 1) // 2 if same else 0
        out = F.conv2d(x, wt, getattr(self, name + "_b"), stride=stride, padding=pad)
        return F.relu(out) if relu else out

    def forward(self, rgb255: torch.Tensor) -> torch.Tensor:
        """rgb255: N x 3 x 150 x 150, RGB in [0, 255] -> N x 128 descriptors."""
        return self.features(rgb255) @ self.fc

    def features(self, rgb255: torch.Tensor) -> torch.Tensor:
        """The 256-D pooled features (the input of the final layer): what KID is measured on."""
        return self.stages(rgb255)[-1].mean((2, 3))

    def stages(self, rgb255: torch.Tensor) -> list:
        """Activations after the stem and after each residual block, low-level texture first.
        Measuring only: no training loss reads this net (the generator issue's first rule)."""
        x = (rgb255 - self.mean) / 255.0
        x = F.max_pool2d(self._conv(x, "conv32_down", 2, False, True), 3, 2)
        out_list = [x]
        for b, _, _, down in _BLOCKS:
            out = self._conv(x, f"{b}_1", 2 if down else 1, not down, True)
            out = self._conv(out, f"{b}_2", 1, True, False)
            shortcut = x
            if down:
                shortcut = F.avg_pool2d(x, 2, 2)
                dh, dw = shortcut.shape[2] - out.shape[2], shortcut.shape[3] - out.shape[3]
                if dh > 0 or dw > 0:  # odd input: face-api pads the conv branch bottom/right
                    out = F.pad(out, (0, dw, 0, dh))
                dc = out.shape[1] - shortcut.shape[1]
                if dc > 0:  # channel-doubling blocks: zero channels on the shortcut
                    shortcut = F.pad(shortcut, (0, 0, 0, 0, 0, dc))
            x = F.relu(out + shortcut)
            out_list.append(x)
        return out_list


def face_crop_box(landmarks, width: int, height: int):
    """face-api's alignDlib box from our 5 landmarks, with its slide-in and clip (identity.cpp)."""
    eye_l, eye_r = np.array(landmarks[0], float), np.array(landmarks[1], float)
    mouth = (np.array(landmarks[3], float) + np.array(landmarks[4], float)) / 2
    eye_to_mouth = (np.linalg.norm(mouth - eye_l) + np.linalg.norm(mouth - eye_r)) / 2
    size = np.floor(eye_to_mouth / 0.45)
    ref = (eye_l + eye_r + mouth) / 3
    x = np.floor(max(0.0, ref[0] - 0.5 * size))
    y = np.floor(max(0.0, ref[1] - 0.43 * size))
    return int(x), int(y), int(min(size, width - x)), int(min(size, height - y))


def prepare_crop(rgb: np.ndarray, landmarks) -> torch.Tensor:
    """uint8 H x W x 3 RGB photo + landmarks -> 1 x 3 x 150 x 150 float tensor in [0, 255],
    exactly as IdentityNet::prepare_crop (zero pad to square, legacy bilinear resize)."""
    x, y, w, h = face_crop_box(landmarks, rgb.shape[1], rgb.shape[0])
    face = rgb[y:y + h, x:x + w]
    diff = abs(h - w)
    after = int(np.floor(diff * 0.5 + 0.5))
    before = diff - after
    pad = ((0, 0), (before, after), (0, 0)) if h > w else ((before, after), (0, 0), (0, 0))
    square = np.pad(face, pad)
    n = square.shape[0]
    if n == INPUT_SIZE:
        return torch.from_numpy(square.astype(np.float32)).permute(2, 0, 1)[None]
    pos = np.arange(INPUT_SIZE) * (n / INPUT_SIZE)  # legacy: no half-pixel offset
    i0 = np.minimum(np.floor(pos).astype(int), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    f = (pos - i0).astype(np.float32)
    s = square.astype(np.float32)
    rows = s[i0] + (s[i1] - s[i0]) * f[:, None, None]
    out = rows[:, i0] + (rows[:, i1] - rows[:, i0]) * f[None, :, None]
    # the C++ stores the resized crop as uint8 (saturate_cast rounds to nearest)
    out = np.clip(np.floor(out + 0.5), 0, 255)
    return torch.from_numpy(out.astype(np.float32)).permute(2, 0, 1)[None]


def distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).norm(dim=-1)


def check_against_cli(cli: str, model_dir: str, photo_a: str, photo_b: str) -> tuple:
    """(this port's distance, the CLI's) for two photos, from the CLI's own landmarks."""
    import subprocess
    import tempfile

    import cv2

    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    landmarks = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, photo in enumerate((photo_a, photo_b)):
            out = subprocess.run(
                [cli, photo, "-o", os.path.join(tmp, f"{i}.png"), "--json", "-q", "--no-identity",
                 "--model", os.path.join(repo, "tests", "models", "identity_256.pt")],
                capture_output=True, check=True, text=True).stdout
            face = json.loads(out.splitlines()[0])["faces"][0]["landmarks"]
            landmarks.append([face[k] for k in ("eye_left", "eye_right", "nose", "mouth_left",
                                                "mouth_right")])
    cli_line = subprocess.run([cli, "identity", photo_a, photo_b], capture_output=True, check=True,
                              text=True).stdout
    net = FaceRecognitionNet(model_dir).eval()
    with torch.no_grad():
        d = [net(prepare_crop(cv2.imread(p)[:, :, ::-1].copy(), lm))
             for p, lm in zip((photo_a, photo_b), landmarks)]
    return float(distance(d[0], d[1])), float(cli_line.split()[0])


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 5:
        sys.exit("usage: python3 -m aiportrait_gen.faceapi CLI FACE_API_DIR PHOTO_A PHOTO_B  "
                 "(prints this port's distance and the CLI's)")
    torch.set_num_threads(1)
    ours, theirs = check_against_cli(*sys.argv[1:])
    print(f"port {ours:.4f}  cli {theirs:.4f}  |diff| {abs(ours - theirs):.5f}")
    sys.exit(0 if abs(ours - theirs) < 2e-3 else 1)


class FaceApiJudge(nn.Module):
    """Descriptors and pooled features of aligned 256-px faces (N x 3 x S x S in [-1, 1]), on the
    crop face-api's alignDlib takes from the template's points (for the tight template: nearly
    the whole crop), zero-padded to a square like face-api."""

    def __init__(self, face_api_dir: str, template, size: int):
        super().__init__()
        points = [[x * size, y * size] for x, y in template]
        self.box = face_crop_box(points, size, size)
        self.net = FaceRecognitionNet(face_api_dir).eval()

    def net_input(self, x: torch.Tensor) -> torch.Tensor:
        """N x 3 x S x S in [-1, 1] -> face-api's 150-px input (RGB, 0-255)."""
        bx, by, bw, bh = self.box
        face = x[:, :, by:by + bh, bx:bx + bw]
        n = max(bw, bh)  # the larger half of the padding after the face, as face-api pads
        ph, pw = n - bh, n - bw
        face = F.pad(face * 127.5 + 127.5, (pw - (pw + 1) // 2, (pw + 1) // 2,
                                             ph - (ph + 1) // 2, (ph + 1) // 2))
        return F.interpolate(face, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear",
                             align_corners=False)
