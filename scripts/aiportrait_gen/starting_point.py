"""What a training run starts from (train.Run.start): the counters and the generator layout of
an export, a checkpoint or a portable file, and Adam's state carried across a changed parameter
list."""
import torch

from . import contract
from . import data as D


def init_counters(path: str) -> dict:
    """step / images / seconds of the run that made `path`, so the model card reports the whole
    lineage: from a checkpoint, a portable .npz, or an export's aiportrait.json."""
    if path.endswith(".npz"):
        meta = D.load_portable(path)[1]
        return {k: meta.get(k, 0) for k in ("step", "images", "train_seconds")}
    try:
        t = contract.read(path).get("training", {})
        return {"step": t.get("step", 0), "images": t.get("images", 0),
                "train_seconds": t.get("hours", 0.0) * 3600}
    except RuntimeError:
        ck = torch.load(path, map_location="cpu")
        return {k: ck.get(k, 0) for k in ("step", "images", "train_seconds")}


def init_layout(path: str) -> dict:
    """The generator options an export, checkpoint or portable file was trained with that change
    what the generator is: its line plane (files from before the option: "sobel", the only plane
    there was) and its noise inputs (before: none)."""
    if path.endswith(".npz"):
        trained = D.load_portable(path)[1].get("args", {})
    else:
        try:
            trained = contract.read(path).get("training", {})
        except RuntimeError:
            trained = torch.load(path, map_location="cpu").get("args", {})
    noise = trained.get("noise", False)
    return {"edge_plane": trained.get("edge_plane", "sobel"),
            "noise": noise if isinstance(noise, str) else ("on" if noise else "off")}


def load_adam_by_name(opt: torch.optim.Optimizer, state: dict, saved_names: list, names: list):
    """Adam's saved state onto a generator whose parameter list changed (noise inputs added or
    left out): each parameter keeps its moments by name, a new one starts fresh."""
    index = {n: i for i, n in enumerate(saved_names)}
    moments = {j: state["state"][index[n]] for j, n in enumerate(names)
               if n in index and index[n] in state["state"]}
    groups = [{**saved, "params": mine["params"]}
              for saved, mine in zip(state["param_groups"], opt.state_dict()["param_groups"])]
    opt.load_state_dict({"state": moments, "param_groups": groups})
