"""Training data of the default generator: the 256-px crops that scripts/prepare_training_data.sh
aligned with the CLI itself (so training crops are inference crops), packed as aligned256.npy with
names.txt and the held-out split heldout.txt."""
import json
import os

import numpy as np
import torch


class Rows:
    """Some rows of the packed faces, read from a memory map when indexed (`rows[idx]`, idx an
    int array: a uint8 len(idx) x 256 x 256 x 3 copy). Why (2026-12-07): each trainer held its
    own 4.4 GB copy of the training faces, so three runs and an evaluation did not fit in 24 GB;
    mapped, every process shares one copy in the page cache."""

    def __init__(self, data: np.ndarray, rows: np.ndarray):
        self.data, self.rows = data, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, idx) -> np.ndarray:
        return np.array(self.data[self.rows[idx]])


def load(work: str):
    """(training faces: Rows, uint8 N x 256 x 256 x 3 RGB when indexed; held-out array; held-out
    names; template or None)."""
    with open(os.path.join(work, "names.txt")) as f:
        names = [l.strip() for l in f if l.strip()]
    with open(os.path.join(work, "heldout.txt")) as f:
        held = set(l.strip() for l in f if l.strip())
    data = np.load(os.path.join(work, "aligned256.npy"), mmap_mode="r")
    if data.shape[0] != len(names):
        raise ValueError(f"{work}: aligned256.npy has {data.shape[0]} faces, names.txt {len(names)}")
    is_held = np.array([n in held for n in names])
    template_path = os.path.join(work, "template.json")
    template = None
    if os.path.exists(template_path):
        with open(template_path) as f:
            template = json.load(f)
    return (Rows(data, np.flatnonzero(~is_held)), np.array(data[is_held]),
            [n for n in names if n in held], template)


def to_tensor(batch: np.ndarray, device) -> torch.Tensor:
    """uint8 N x H x W x 3 -> float N x 3 x H x W in [-1, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(batch)).to(device)
    return t.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def to_uint8(t: torch.Tensor) -> np.ndarray:
    """float N x 3 x H x W in [-1, 1] -> uint8 N x H x W x 3 (rounded, as the CLI stores it)."""
    return ((t.clamp(-1, 1) + 1.0) * 127.5 + 0.5).floor().clamp(0, 255).byte() \
        .permute(0, 2, 3, 1).cpu().numpy()


def sample_strength(n: int, gen: torch.Generator, low: float = 0.0) -> torch.Tensor:
    """low 0: 10% at 0, 20% at 1, the rest uniform: the ends are where the dial must behave.
    low > 0: uniform in [low, 1] (the trainer's --strength-low). Why offered (2026-12-07): the
    export blends towards the photo below its ramp (0.25) and returns the photo itself at 0, so
    low strengths are only partly seen, and the 20% at 1 (the most invented faces) are where the
    skin crinkles; the default strength is 0.6. It ended 2-4 critic points under its control
    (weights/HISTORY.md, tenth session). The price: below `low` `generate` is never trained, so
    check the dial at 0.05-0.2 before shipping such a run (at 2,000 steps it moved 0.1-0.3 grey
    levels more than the control's there). Both branches draw the same random numbers, so arms
    that differ only in `low` see the same flips and batches."""
    u = torch.rand(n, generator=gen)
    s = torch.rand(n, generator=gen)
    if low > 0.0:
        return low + (1.0 - low) * s
    s = torch.where(u < 0.10, torch.zeros_like(s), s)
    return torch.where(u > 0.80, torch.ones_like(s), s)


def save_atomic(obj, path: str) -> None:
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_portable(path: str, states: dict, meta: dict, half=()) -> None:
    """State dicts as one .npz of plain arrays ("GROUP/param"), plus JSON metadata: readable by
    any torch (the GPU machine's 2.x writes what Debian's 1.13 reads) and by numpy alone.
    Groups in `half` are stored as float16 (discriminators: a warm start, not a product)."""
    arrays = {"__meta__": np.array(json.dumps(meta))}
    for group, state in states.items():
        for k, v in state.items():
            a = v.detach().cpu().numpy()
            arrays[f"{group}/{k}"] = a.astype(np.float16) if group in half and a.dtype == np.float32 else a
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def load_portable(path: str):
    """(states {group: {param: float32 tensor}}, metadata) of save_portable's file."""
    states, meta = {}, {}
    with np.load(path) as z:
        for key in z.files:
            if key == "__meta__":
                meta = json.loads(str(z[key]))
                continue
            group, name = key.split("/", 1)
            a = z[key]
            states.setdefault(group, {})[name] = torch.from_numpy(
                a.astype(np.float32) if a.dtype == np.float16 else a.copy())
    return states, meta
