"""The generator contract's metadata: aiportrait.json inside a TorchScript generator (README
"Generator contract"). The one place the Python side writes, reads and defaults it; the C++
reader is src/models/generator.cpp (parse_metadata), and tests/test_contract.py pins the
defaults below against it, so a missing field means the same thing on both sides.
"""
import json
import os

FILE = "aiportrait.json"
FORMAT_VERSION = 1
# What the C++ reader assumes when "default_strength" is absent.
DEFAULT_STRENGTH_WITH_DIAL = 0.5
DEFAULT_STRENGTH_WITHOUT = 1.0


def metadata(name: str, version: str, license: str, template, accepts_strength: bool,
             description: str, default_strength=None, input_size: int = 256, margin: float = 0.0,
             **extra) -> dict:
    """Every field the C++ reader requires, plus `extra` (e.g. "training")."""
    meta = {"format_version": FORMAT_VERSION, "name": name, "version": version, "license": license,
            "input_size": input_size, "template": template, "margin": margin,
            "accepts_strength": accepts_strength, "description": description}
    if default_strength is not None:
        if not 0.0 <= default_strength <= 1.0:
            raise ValueError(f"default_strength {default_strength} is outside [0, 1]")
        meta["default_strength"] = default_strength
    meta.update(extra)
    return meta


def default_strength(meta: dict) -> float:
    """The strength the CLI uses when the user gives none."""
    fallback = DEFAULT_STRENGTH_WITH_DIAL if meta.get("accepts_strength") else DEFAULT_STRENGTH_WITHOUT
    return float(meta.get("default_strength", fallback))


def save(module, path: str, meta) -> None:
    """Scripts `module` (if it is not already) and writes it with `meta` (a dict, or None for a
    deliberately broken test model without metadata), atomically."""
    import torch
    scripted = module if isinstance(module, torch.jit.ScriptModule) else torch.jit.script(module)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    files = {FILE: json.dumps(meta, indent=2)} if meta is not None else {}
    tmp = path + ".tmp"
    torch.jit.save(scripted, tmp, _extra_files=files)
    os.replace(tmp, path)


def load(path: str, device: str = "cpu"):
    """(TorchScript module, its metadata dict); ValueError naming the path when it has none."""
    import torch
    extra = {FILE: ""}
    module = torch.jit.load(path, map_location=device, _extra_files=extra)
    if not extra[FILE]:
        raise ValueError(f"{path}: no {FILE} inside (not an aiportrait generator)")
    return module, json.loads(extra[FILE])


def read(path: str) -> dict:
    return load(path)[1]
