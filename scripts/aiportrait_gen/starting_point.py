"""What a training run starts from (train.Run): an export, a checkpoint or a portable file, read
once, with its generator weights, counters and generator layout; and Adam's state carried across
a changed parameter list."""
import torch

from . import contract
from . import data as D
from .model import Portrait, load_generator_state


# The layout of a run with no starting point (options.py's --edge-plane, --noise, --cell-upsample).
FRESH_LAYOUT = {"edge_plane": "sobel", "noise": "off", "cell_upsample": "bilinear"}


class StartingPoint:
    """One file a run starts from, read once (a checkpoint is a whole torch.load, an export a
    whole TorchScript load: reading it again per question cost a start-up each time).

    The file is a portable .npz (data.save_portable: its EMA generator and discriminators), an
    export (a TorchScript generator, e.g. the committed default) or a trainer checkpoint
    (`checkpoint` then holds the whole dict, for --resume; None otherwise).
    generator: the generator's state dict; described: which of the three, for the log.
    discriminators: {name: state} (a portable file's; empty otherwise).
    counters: step / images / train_seconds of the run that made it, so the model card reports
    the whole lineage. layout: the generator options it was trained with that change what the
    generator is: its line plane (files from before the option: "sobel", the only plane there
    was), its noise inputs (before: none) and its cell upsampling (before: bilinear)."""

    def __init__(self, path: str):
        self.path, self.checkpoint, self.discriminators = path, None, {}
        if path.endswith(".npz"):
            states, meta = D.load_portable(path)
            self.described = "portable EMA generator"
            self.generator = states["G_ema"]
            self.discriminators = {k[2:]: v for k, v in states.items() if k.startswith("D_")}
            self.counters = {k: meta.get(k, 0) for k in ("step", "images", "train_seconds")}
            trained = meta.get("args", {})
        else:
            try:
                module, meta = contract.load(path)
                self.described = "exported generator"
                self.generator = module.state_dict()
                trained = meta.get("training", {})
                self.counters = {"step": trained.get("step", 0), "images": trained.get("images", 0),
                                 "train_seconds": trained.get("hours", 0.0) * 3600}
            except RuntimeError:  # not TorchScript: a trainer checkpoint
                ck = torch.load(path, map_location="cpu")
                self.described, self.checkpoint = "checkpoint", ck
                self.generator = ck["G"]
                self.counters = {k: ck.get(k, 0) for k in ("step", "images", "train_seconds")}
                trained = ck.get("args", {})
        noise = trained.get("noise", False)
        self.layout = {"edge_plane": trained.get("edge_plane", "sobel"),
                       "noise": noise if isinstance(noise, str) else ("on" if noise else "off"),
                       "cell_upsample": trained.get("cell_upsample", "bilinear")}


def load_portrait_weights(model: Portrait, path: str) -> str:
    """A checkpoint's "G" state, an exported TorchScript generator (the committed default) or the
    EMA generator of a portable .npz (data.save_portable) into `model`
    (model.load_generator_state). Returns a description for the log."""
    start = StartingPoint(path)
    return load_generator_state(model, start.generator, start.described, path)


def load_adam_by_name(opt: torch.optim.Optimizer, state: dict, saved_names: list, names: list):
    """Adam's saved state onto a generator whose parameter list changed (noise inputs added or
    left out): each parameter keeps its moments by name, a new one starts fresh."""
    index = {n: i for i, n in enumerate(saved_names)}
    moments = {j: state["state"][index[n]] for j, n in enumerate(names)
               if n in index and index[n] in state["state"]}
    groups = [{**saved, "params": mine["params"]}
              for saved, mine in zip(state["param_groups"], opt.state_dict()["param_groups"])]
    opt.load_state_dict({"state": moments, "param_groups": groups})
