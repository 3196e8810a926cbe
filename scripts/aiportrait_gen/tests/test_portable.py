"""What a GPU run brings back and what it is fed: data.save_portable / load_portable (a torch-
version-free checkpoint), the trainer's and the exporter's use of it, and pack.py's data pack.

    /usr/bin/python3 -m unittest discover -s scripts/aiportrait_gen/tests -t scripts
"""
import json
import os
import tempfile
import unittest

import cv2
import numpy as np
import torch

from aiportrait_gen import data as D
from aiportrait_gen import export, pack
from aiportrait_gen.model import Portrait
from aiportrait_gen.starting_point import load_portrait_weights


class Portable(unittest.TestCase):
    def test_round_trip_keeps_float32_exactly_and_float16_groups_close(self):
        torch.manual_seed(0)
        g, d = Portrait().state_dict(), torch.nn.Conv2d(3, 8, 3).state_dict()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "p.npz")
            D.save_portable(path, {"G_ema": g, "Ds": d}, {"step": 7, "args": {"edge_levels": 2}}, half=("Ds",))
            states, meta = D.load_portable(path)
        self.assertEqual(meta, {"step": 7, "args": {"edge_levels": 2}})
        self.assertEqual(set(states["G_ema"]), set(g))
        for k, v in g.items():
            self.assertTrue(torch.equal(states["G_ema"][k], v), k)
        for k, v in d.items():
            self.assertEqual(states["Ds"][k].dtype, torch.float32)
            self.assertLess(float((states["Ds"][k] - v).abs().max()), 1e-3)
            self.assertFalse(torch.equal(states["Ds"][k], v), "a half group is stored as float16")

    def test_generator_and_export_from_a_portable_file_match_the_weights(self):
        torch.manual_seed(1)
        src = Portrait()
        for p in src.parameters():  # the detail head starts at zero: give every weight a value
            p.data.normal_(0, 0.05)
        x = torch.rand(2, 3, 256, 256) * 2 - 1
        s = torch.tensor([0.5, 0.9])
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "run.npz")
            D.save_portable(path, {"G_ema": src.state_dict()},
                            {"step": 3, "images": 24, "train_seconds": 1.0, "args": {"edge_levels": 3}})
            dst = Portrait()
            self.assertIn("portable", load_portrait_weights(dst, path))
            out = os.path.join(tmp, "g.pt")
            export.main([path, out, "--version", "9.9.9", "--default-strength", "0.8"])
            scripted = torch.jit.load(out)
            extra = {"aiportrait.json": ""}
            torch.jit.load(out, _extra_files=extra)
        with torch.no_grad():
            want = src(x, s)
            self.assertTrue(torch.equal(dst(x, s), want))
            self.assertLess(float((scripted(x, s) - want).abs().max()), 1e-5)
        meta = json.loads(extra["aiportrait.json"])
        self.assertEqual((meta["version"], meta["training"]["step"], meta["training"]["weights"]), ("9.9.9", 3, "ema"))


def read_json(path: str):
    with open(path) as f:
        return json.load(f)


def write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def fake_work(root: str, n: int, held: int) -> list:
    """A prepare_training_data.sh folder in miniature: n random 200-px JPEG 'photos', their
    sidecars with an alignment matrix, names.txt, heldout.txt (the first `held`), template.json."""
    rng = np.random.default_rng(3)
    os.makedirs(os.path.join(root, "aligned"))
    names = [f"face{i:02d}" for i in range(n)]
    for i, name in enumerate(names):
        photo = os.path.join(root, name + ".jpg")
        img = cv2.GaussianBlur(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8), (0, 0), 2)
        cv2.imwrite(photo, img)
        a = 1.2 + 0.02 * i
        side = {"input": {"path": photo},
                "faces": [{"used": True, "alignment_matrix": [[a, 0.05, 3.0 - i], [-0.05, a, -8.0 + i]]}]}
        write(os.path.join(root, "aligned", name + ".json"), json.dumps(side))
    write(os.path.join(root, "names.txt"), "".join(x + "\n" for x in names))
    write(os.path.join(root, "heldout.txt"), "".join(x + "\n" for x in names[:held]))
    write(os.path.join(root, "template.json"), json.dumps([[0.3, 0.3], [0.7, 0.3], [0.5, 0.5], [0.35, 0.7], [0.65, 0.7]]))
    return names


class Pack(unittest.TestCase):
    def test_unpack_gives_the_aligned_crops_the_split_and_the_template(self):
        with tempfile.TemporaryDirectory() as tmp:
            work, out = os.path.join(tmp, "work"), os.path.join(tmp, "out")
            names = fake_work(work, 10, 2)
            pack.pack(work, os.path.join(tmp, "p.npz"), max_mb=1.0, n_held=1, seed=5)
            pack.unpack(os.path.join(tmp, "p.npz"), out)
            train, held, held_names, template = D.load(out)
            self.assertEqual((len(train), len(held), held_names), (8, 1, ["face00"]))
            # the training faces stay memory-mapped (trainers share them) and read as the rows
            self.assertIsInstance(train.data, np.memmap)
            everything = np.load(os.path.join(out, "aligned256.npy"))
            is_held = np.array([n == "face00" for n in pack.lines(os.path.join(out, "names.txt"))])
            idx = np.array([1, 4, 7])
            self.assertTrue(np.array_equal(train[idx], everything[~is_held][idx]))
            self.assertTrue(np.array_equal(held, everything[is_held]))
            self.assertEqual(template, read_json(os.path.join(work, "template.json")))
            packed = pack.lines(os.path.join(out, "names.txt"))
            self.assertEqual(sorted(packed), sorted(names[:1] + names[2:]))  # face01: held out, not packed
            crops = np.load(os.path.join(out, "aligned256.npy"))
            for name, crop in zip(packed, crops):  # each the bicubic, reflect-101 warp of its photo
                side = read_json(os.path.join(work, "aligned", name + ".json"))
                m = np.array(side["faces"][0]["alignment_matrix"])
                want = cv2.warpAffine(cv2.imread(side["input"]["path"]), m, (256, 256),
                                      flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)[:, :, ::-1]
                self.assertTrue(np.array_equal(crop, want), name)

    def test_the_size_limit_keeps_a_subset_of_the_training_faces(self):
        with tempfile.TemporaryDirectory() as tmp:
            work = os.path.join(tmp, "work")
            fake_work(work, 10, 2)
            sizes = sorted(os.path.getsize(os.path.join(work, f"face{i:02d}.jpg")) for i in range(10))
            budget = (sizes[0] + 48) * 1 + (max(sizes) + 48) * 3 + 1  # room for the held one and >= 3 more
            pack.pack(work, os.path.join(tmp, "p.npz"), max_mb=budget / 1e6, n_held=1, seed=5)
            p = np.load(os.path.join(tmp, "p.npz"))
            self.assertEqual(int(p["held"].sum()), 1)
            self.assertGreaterEqual(len(p["names"]) - 1, 3)
            self.assertLess(len(p["names"]) - 1, 8)
            self.assertLessEqual(len(p["jpeg"]) + 48 * len(p["names"]), budget)


if __name__ == "__main__":
    unittest.main()
