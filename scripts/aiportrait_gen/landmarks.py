"""face-api.js FaceLandmark68Net in PyTorch, and the landmark map the generator is conditioned on.

Why (generator 1.0, design rule 3 of the generator issue): behind the information bottleneck
the U-Net sees a 20-px face at the default strength, where an eye or a mouth is 2-3 pixels, and
has to guess their shape; it drew soft eyes and smeared blocks of teeth, the fresh critic's
surest tells (weights/HISTORY.md). The 68 landmarks of the *photo* say where the eyelids, the
lips and the brows run, so the U-Net can draw them crisp in the right place. They keep pose and
expression and only the coarse geometry of identity; the new face still comes from the
bottleneck and the learned prior. The net is an input, never a loss: nothing is optimised
against it, and it is not a recognition net.

Weights: @vladmandic/face-api 1.7.15 (MIT) model/face_landmark_68_model (tfjs, uint8), fetched
by scripts/fetch_models.sh into weights/face-api/. The forward follows face-api.js's
FaceLandmark68Net (four dense blocks of depthwise-separable convs, a 7x7 average pool, a dense
layer to 68 x (x, y) in [0, 1] of its 112-px input); TensorFlow's "same" padding at stride 2 pads
only the bottom and right, which `_same` reproduces.
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

MANIFEST = "face_landmark_68_model-weights_manifest.json"
RGB_MEAN = (122.782, 117.001, 104.298)
_WIDTHS = (32, 64, 128, 256)

# Polylines of the 68-point (iBUG) markup (closed ones repeat their first point).
JAW, NOSE = [list(range(0, 17))], [list(range(27, 36))]
BROWS = [list(range(17, 22)), list(range(22, 27))]
EYES = [list(range(36, 42)) + [36], list(range(42, 48)) + [42]]
LIPS = [list(range(48, 60)) + [48], list(range(60, 68)) + [60]]
# What each landmark plane draws (model.Conditioning): "landmarks" every line; "features" only the
# eyes, brows and lips, because a U-Net started from 0.7 draws each line of its plane as an edge:
# run 1.0-e drew the nose's lower line as a dark patch under the nose and the jaw as contour
# lines on the cheeks, and both went when those lines were left out of the map at inference
# (2026-12-06, eighth session, weights/HISTORY.md).
CHAINS = {"landmarks": JAW + BROWS + NOSE + EYES + LIPS, "features": BROWS + EYES + LIPS}


def segments(chains) -> list:
    return [(c[i], c[i + 1]) for c in chains for i in range(len(c) - 1)]


SEGMENTS = segments(CHAINS["landmarks"])


def _same(x: torch.Tensor, stride: int) -> torch.Tensor:
    # TensorFlow "same" for a 3x3 kernel: stride 1 pads 1 all round; stride 2 on an even size
    # pads only the bottom and right
    return F.pad(x, [1, 1, 1, 1]) if stride == 1 else F.pad(x, [0, 1, 0, 1])


class _Conv(nn.Module):
    """A 3x3 convolution, depthwise-separable (`cin` groups, then 1x1) or plain, + bias; the
    weights are buffers."""

    def __init__(self, cin: int, cout: int, stride: int, separable: bool):
        super().__init__()
        self.stride, self.separable = stride, separable
        if separable:
            self.register_buffer("dw", torch.zeros(cin, 1, 3, 3))
            self.register_buffer("w", torch.zeros(cout, cin, 1, 1))
        else:
            self.register_buffer("dw", torch.zeros(0))
            self.register_buffer("w", torch.zeros(cout, cin, 3, 3))
        self.register_buffer("b", torch.zeros(cout))

    def load(self, w: dict, prefix: str) -> None:
        if self.separable:  # tfjs depthwise H W C 1 -> C 1 H W, pointwise 1 1 I O -> O I 1 1
            self.dw.copy_(w[prefix + "depthwise_filter"].permute(2, 3, 0, 1))
            self.w.copy_(w[prefix + "pointwise_filter"].permute(3, 2, 0, 1))
        else:  # H W I O -> O I H W
            self.w.copy_(w[prefix + "filters"].permute(3, 2, 0, 1))
        self.b.copy_(w[prefix + "bias"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _same(x, self.stride)
        if self.separable:
            x = F.conv2d(x, self.dw, None, self.stride, 0, 1, self.dw.shape[0])
            return F.conv2d(x, self.w, self.b)
        return F.conv2d(x, self.w, self.b, self.stride)


class _DenseBlock(nn.Module):
    """face-api's denseBlock4: a stride-2 conv, then three separable convs, each fed the ReLU of
    the sum of all outputs before it."""

    def __init__(self, cin: int, cout: int, first: bool):
        super().__init__()
        self.c0 = _Conv(cin, cout, 2, not first)
        self.c1 = _Conv(cout, cout, 1, True)
        self.c2 = _Conv(cout, cout, 1, True)
        self.c3 = _Conv(cout, cout, 1, True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out1 = F.relu(self.c0(x))
        out2 = self.c1(out1)
        out3 = self.c2(F.relu(out1 + out2))
        out4 = self.c3(F.relu(out1 + out2 + out3))
        return F.relu(out1 + out2 + out3 + out4)


class Landmark68(nn.Module):
    """Aligned faces (N,3,H,W in [-1,1]) -> N x 68 x 2 landmarks, (x, y) as fractions of the
    image. The weights are buffers (saved with the generator, never trained); a fresh instance
    holds zeros until `load_tfjs` or a state dict fills them."""

    def __init__(self):
        super().__init__()
        widths = [3] + list(_WIDTHS)
        self.blocks = nn.Sequential(*[_DenseBlock(widths[i], widths[i + 1], i == 0)
                                      for i in range(len(_WIDTHS))])
        self.register_buffer("fc_w", torch.zeros(136, 256))
        self.register_buffer("fc_b", torch.zeros(136))
        self.register_buffer("mean", torch.tensor(RGB_MEAN).view(1, 3, 1, 1))

    def load_tfjs(self, model_dir: str) -> None:
        from .tfjs import load_weight_map
        if not os.path.exists(os.path.join(model_dir, MANIFEST)):
            raise FileNotFoundError(f"{model_dir}: no {MANIFEST} (run scripts/fetch_models.sh)")
        w = load_weight_map(model_dir, MANIFEST)
        with torch.no_grad():
            for b, block in enumerate(self.blocks):
                for i, conv in enumerate((block.c0, block.c1, block.c2, block.c3)):
                    conv.load(w, f"dense{b}/conv{i}/")
            self.fc_w.copy_(w["fc/weights"].t())
            self.fc_b.copy_(w["fc/bias"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rgb = (x.detach() + 1.0) * 127.5
        # the net's 112-px input (a literal: TorchScript reads no globals)
        rgb = F.interpolate(rgb, size=[112, 112], mode="bilinear", align_corners=False)
        h = self.blocks((rgb - self.mean) / 255.0)
        h = F.avg_pool2d(h, 7, 2).flatten(1)
        return F.linear(h, self.fc_w, self.fc_b).view(-1, 68, 2)


class LandmarkMap(nn.Module):
    """The U-Net's landmark plane: the photo's 68 landmarks drawn as soft polylines (jaw, brows,
    nose, eyes, lips) on the face's own grid, in [-1, 1] (-1: no line), like the edge plane the
    0.3-0.7 U-Net was trained with, so those weights read it as lines to draw along."""

    def __init__(self, sigma: float = 1.5, chains=None):
        super().__init__()
        self.net = Landmark68()
        self.sigma = sigma  # px of the map: a line ~2 sigma wide, at 128 px about 1 px at 64
        segs = segments(chains) if chains is not None else SEGMENTS
        self.register_buffer("seg_a", torch.tensor([a for a, _ in segs]), persistent=False)
        self.register_buffer("seg_b", torch.tensor([b for _, b in segs]), persistent=False)

    def render(self, pts: torch.Tensor, size: int) -> torch.Tensor:
        """pts N x 68 x 2 (fractions) -> N x 1 x size x size."""
        p = pts * size
        a, b = p[:, self.seg_a].unsqueeze(2), p[:, self.seg_b].unsqueeze(2)  # N x S x 1 x 2
        coords = (torch.arange(size, dtype=pts.dtype, device=pts.device) + 0.5)
        gy, gx = torch.meshgrid(coords, coords, indexing="ij")
        grid = torch.stack([gx.flatten(), gy.flatten()], 1).view(1, 1, -1, 2)  # 1 x 1 x P x 2
        ab = b - a
        t = (((grid - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-6)).clamp(0.0, 1.0)
        d2 = ((a + t.unsqueeze(-1) * ab - grid) ** 2).sum(-1)  # N x S x P
        line = torch.exp(-d2.min(1)[0] / (2.0 * self.sigma * self.sigma))
        return line.view(-1, 1, size, size) * 2.0 - 1.0

    def forward(self, face: torch.Tensor) -> torch.Tensor:
        """face N x 3 x H x W -> the plane N x 1 x H x W, drawn at 64 px (a third of the cost of
        128: it runs every training step) and bilinearly scaled to the face."""
        small = self.render(self.net(face), 64)
        return F.interpolate(small, size=[face.shape[2], face.shape[3]], mode="bilinear",
                             align_corners=False)
