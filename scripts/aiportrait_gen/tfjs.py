"""Reads a TensorFlow.js graph model's weights (weights_manifest.json + .bin shards, float32 or
uint8/uint16-quantised) into float32 tensors: the face-api.js nets the project ports to PyTorch
(faceapi.py measures with the recognition net; landmarks.py conditions the generator on the
68-point landmark net)."""
import json
import os

import numpy as np
import torch


def load_weight_map(model_dir: str, manifest_name: str) -> dict:
    """Every tensor the manifest names, dequantised to float32 (value = q * scale + min)."""
    with open(os.path.join(model_dir, manifest_name)) as f:
        manifest = json.load(f)
    weights = {}
    for group in manifest:
        data = b""
        for p in group["paths"]:
            with open(os.path.join(model_dir, p), "rb") as f:
                data += f.read()
        offset = 0
        for w in group["weights"]:
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            dtype = {"uint8": np.uint8, "uint16": np.uint16, None: np.float32}[q and q["dtype"]]
            raw = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
            offset += raw.nbytes
            values = raw.astype(np.float64) * q["scale"] + q["min"] if q else raw
            weights[w["name"]] = torch.from_numpy(values.astype(np.float32).reshape(w["shape"]))
        if offset != len(data):
            raise ValueError(f"{model_dir}: weight data has {len(data)} bytes, manifest describes {offset}")
    return weights
