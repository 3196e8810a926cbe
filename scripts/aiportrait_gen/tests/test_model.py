"""model.py's two options: the abstraction cap (strengths above it abstract no further) and the
chroma lock (the portrait's coarse chroma is the photo's), and that export carries both.

    /usr/bin/python3 -m unittest discover -s scripts/aiportrait_gen/tests -t scripts
"""
import argparse
import json
import os
import tempfile
import unittest

import torch

from aiportrait_gen.export import export
from aiportrait_gen.model import Abstraction, Portrait, lock_chroma

LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
CB = torch.tensor([-0.168736, -0.331264, 0.5]).view(1, 3, 1, 1)
CR = torch.tensor([0.5, -0.418688, -0.081312]).view(1, 3, 1, 1)


def faces(n=2, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1


class AbstractionCap(unittest.TestCase):
    def test_above_the_cap_only_the_strength_plane_moves(self):
        x, a = faces(), Abstraction(cap=0.9)
        at_cap, at_one = a(x, torch.full((2,), 0.9)), a(x, torch.ones(2))
        self.assertTrue(torch.equal(at_cap[:, :4], at_one[:, :4]))  # colours and edges
        self.assertFalse(torch.equal(at_cap[:, 4:], at_one[:, 4:]))  # strength plane
        self.assertTrue(torch.allclose(at_one[:, 4:], torch.ones_like(at_one[:, 4:])))

    def test_below_the_cap_and_without_one_nothing_changes(self):
        x = faces()
        for s in (0.0, 0.5, 0.85):
            st = torch.full((2,), s)
            self.assertTrue(torch.equal(Abstraction(cap=0.9)(x, st), Abstraction()(x, st)))
        # without a cap, strength 1 abstracts further than 0.9
        plain = Abstraction()
        self.assertFalse(torch.equal(plain(x, torch.full((2,), 0.9))[:, :4],
                                     plain(x, torch.ones(2))[:, :4]))


class ChromaLock(unittest.TestCase):
    def test_luma_is_untouched(self):
        out, x = faces(seed=1), faces(seed=2)
        locked = lock_chroma(out, x, 16)
        self.assertLess(float(((locked - out) * LUMA).sum(1).abs().max()), 1e-5)

    def test_a_tinted_portrait_of_a_grey_photo_comes_back_grey(self):
        grey = faces(seed=3).mean(1, keepdim=True).expand(-1, 3, -1, -1).contiguous()
        tinted = grey + torch.tensor([-0.1, 0.05, 0.15]).view(1, 3, 1, 1)  # the cyan drift
        locked = lock_chroma(tinted, grey, 16)
        for axis in (CB, CR):
            before = float((tinted * axis).sum(1).mean().abs())
            after = float((locked * axis).sum(1).mean().abs())
            self.assertGreater(before, 0.05)
            self.assertLess(after, 1e-4)

    def test_the_photo_itself_is_a_fixed_point(self):
        x = faces(seed=4)
        self.assertLess(float((lock_chroma(x, x, 16) - x).abs().max()), 1e-6)

    def test_fine_chroma_stays_the_generators(self):
        x = faces(seed=5)
        # chroma detail finer than the cells: a per-pixel Cr checkerboard on grey
        grey = x.mean(1, keepdim=True).expand(-1, 3, -1, -1)
        checker = ((torch.arange(64).view(1, -1) + torch.arange(64).view(-1, 1)) % 2).float() * 2 - 1
        out = grey + 0.1 * checker * torch.tensor([1.402, -0.714136, 0.0]).view(1, 3, 1, 1)
        locked = lock_chroma(out, grey, 16)
        cr_out, cr_locked = (out * CR).sum(1), (locked * CR).sum(1)
        self.assertLess(float((cr_locked - cr_out).abs().max()), 1e-3)


class Export(unittest.TestCase):
    def test_the_exported_module_carries_both_options(self):
        m = Portrait(abstraction_cap=0.9, colour_cell=32)
        ck = {"G_ema": m.state_dict(), "step": 1, "images": 8,
              "args": {"edge_levels": 3, "abstraction_cap": 0.9, "colour_cell": 32}}
        args = argparse.Namespace(name="t", version="0", default_strength=0.9, ramp=0.25, raw=False)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "g.pt")
            export(ck, path, args)
            extra = {"aiportrait.json": ""}
            loaded = torch.jit.load(path, _extra_files=extra)
        meta = json.loads(extra["aiportrait.json"])["training"]
        self.assertEqual((meta["abstraction_cap"], meta["colour_cell"]), (0.9, 32))
        x = torch.rand(2, 3, 256, 256) * 2 - 1
        with torch.no_grad():
            self.assertTrue(torch.equal(loaded(x, torch.zeros(2)), x))  # strength 0 exact
            ref = m.eval()(x, torch.ones(2))
            self.assertLess(float((loaded(x, torch.ones(2)) - ref).abs().max()), 1e-5)
        self.assertEqual(loaded.g.abstraction.cap, 0.9)
        self.assertEqual(loaded.colour_cell, 32)


if __name__ == "__main__":
    unittest.main()
