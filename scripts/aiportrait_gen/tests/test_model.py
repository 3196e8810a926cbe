"""model.py: the bottleneck (the dial: nothing finer than r(s) px of the photo reaches the portrait
above the blend ramp), the chroma lock, the noise inputs, and that export carries the model's
options.

    /usr/bin/python3 -m unittest discover -s scripts/aiportrait_gen/tests -t scripts
"""
import argparse
import json
import math
import os
import tempfile
import unittest

import torch
import torch.nn.functional as F

from aiportrait_gen.export import export
from aiportrait_gen.model import (CELL_UPSAMPLES, Bottleneck, Portrait, lock_chroma,
                                  noise_keys)
from aiportrait_gen.starting_point import load_portrait_weights

LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
CB = torch.tensor([-0.168736, -0.331264, 0.5]).view(1, 3, 1, 1)
CR = torch.tensor([0.5, -0.418688, -0.081312]).view(1, 3, 1, 1)


def faces(n=2, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1


def checker(size: int, cell: int) -> torch.Tensor:
    """1 x 3 x S x S: +-1 squares of `cell` px (zero mean over any 2 x 2 cells)."""
    i = torch.arange(size) // cell
    return (((i.view(-1, 1) + i.view(1, -1)) % 2).float() * 2 - 1).expand(1, 3, size, size)


class TheBottleneck(unittest.TestCase):
    def test_resolution_falls_geometrically_from_r_max_to_r_min(self):
        b = Bottleneck(10.0, 64.0)
        r = b.resolution(torch.tensor([0.0, 0.5, 1.0, 1.5, -1.0]))
        torch.testing.assert_close(r, torch.tensor([64.0, 8.0 * 10 ** 0.5, 10.0, 10.0, 64.0]))

    def test_detail_finer_than_r_does_not_pass(self):
        for upsample in CELL_UPSAMPLES:
            with self.subTest(upsample):
                b, x = Bottleneck(16.0, 64.0, upsample), faces(1, 128)
                fine = x + 0.2 * checker(128, 2)  # cancels in every 8-px cell of the 16-px face
                s = torch.ones(1)
                self.assertLess(float((b(fine, s) - b(x, s)).abs().max()), 1e-5)
                self.assertGreater(float((b(fine, torch.zeros(1)) - b(x, torch.zeros(1))).abs().max()), 0.05)

    def test_bicubic_cells_draw_an_outline_with_fewer_steps(self):
        """A soft-edged disc (a face's outline) through the 21-px face of strength 0.6: bilinear
        cells bend its outline at every cell, bicubic ones less (2026-12-07: 0.12 vs 0.05 px of
        wobble round the circle)."""
        yy, xx = torch.meshgrid(torch.arange(128.0), torch.arange(128.0), indexing="ij")
        disc = torch.tanh((40.0 - ((yy - 60.3) ** 2 + (xx - 66.7) ** 2).sqrt()) / 3.0)
        angle = torch.linspace(0, 2 * math.pi, 721)[:-1].view(-1, 1)
        radius = torch.linspace(25, 55, 3001).view(1, -1)
        rays = torch.stack([(66.7 + radius * torch.cos(angle) + 0.5) / 64 - 1,
                            (60.3 + radius * torch.sin(angle) + 0.5) / 64 - 1], -1)

        def wobble(upsample):
            img = Bottleneck(21.0, 64.0, upsample)(disc.expand(1, 3, 128, 128), torch.ones(1))
            along = F.grid_sample(img[:, :1], rays.unsqueeze(0), align_corners=False)[0, 0]
            outline = radius[0, (along < 0).float().argmax(1)]  # where each ray leaves the disc
            smooth = F.avg_pool1d(torch.cat([outline[-20:], outline, outline[:20]]).view(1, 1, -1),
                                  41, 1).view(-1)
            return float((outline - smooth).std())

        self.assertLess(wobble("bicubic"), 0.7 * wobble("bilinear"))

    def test_an_unknown_upsampling_is_refused(self):
        with self.assertRaisesRegex(ValueError, "nearest"):
            Bottleneck(upsample="nearest")

    def test_the_dial_is_continuous_between_integer_resolutions(self):
        b, x = Bottleneck(), faces(1, 128)
        s = float(torch.log(torch.tensor(64 / 20.0)) / torch.log(torch.tensor(64 / 10.0)))  # r = 20
        near = [b(x, torch.tensor([s + d])) for d in (-1e-4, 1e-4)]
        self.assertLess(float((near[0] - near[1]).abs().max()), 2e-3)

    def test_each_face_of_a_batch_gets_its_own_resolution(self):
        b, x = Bottleneck(), faces(2, 128)
        both = b(x, torch.tensor([0.2, 0.9]))
        torch.testing.assert_close(both[1:], b(x[1:], torch.tensor([0.9])))
        torch.testing.assert_close(both[:1], b(x[:1], torch.tensor([0.2])))

    def test_a_portrait_at_strength_1_depends_only_on_the_bottleneck(self):
        """Through the whole module: the 256-px detail head gets none of the photo's top octave
        and the chroma lock's cells are coarser than r(1)."""
        torch.manual_seed(0)
        m = Portrait(r_min=16.0).eval()
        for p in m.parameters():  # the detail head starts at zero: give every weight a value
            p.data.normal_(0, 0.05)
        x = faces(1, 256, seed=3)
        fine = x + 0.2 * checker(256, 4)  # 2-px squares at 128 px: cancels in 8-px cells
        with torch.no_grad():
            at1 = [m(v, torch.ones(1)) for v in (x, fine)]
            at_low = [m(v, torch.full((1,), 0.3)) for v in (x, fine)]
        self.assertLess(float((at1[0] - at1[1]).abs().max()), 1e-4)
        self.assertGreater(float((at_low[0] - at_low[1]).abs().max()), 1e-3)

    def test_strength_0_returns_the_aligned_face_exactly(self):
        x = faces(2, 256)
        with torch.no_grad():
            self.assertTrue(torch.equal(Portrait().eval()(x, torch.zeros(2)), x))

    def test_a_bottleneck_wider_than_its_range_is_refused(self):
        with self.assertRaises(ValueError):
            Bottleneck(20.0, 10.0)


class ChromaLock(unittest.TestCase):
    def test_luma_is_untouched(self):
        out, x = faces(seed=1), faces(seed=2)
        locked = lock_chroma(out, x, 16)
        self.assertLess(float(((locked - out) * LUMA).sum(1).abs().max()), 1e-5)

    def test_a_tinted_portrait_of_a_grey_photo_comes_back_grey(self):
        grey = faces(seed=3).mean(1, keepdim=True).expand(-1, 3, -1, -1).contiguous()
        tinted = grey + torch.tensor([-0.1, 0.05, 0.15]).view(1, 3, 1, 1)  # the cyan drift
        for upsample in CELL_UPSAMPLES:
            locked = lock_chroma(tinted, grey, 16, upsample)
            for axis in (CB, CR):
                before = float((tinted * axis).sum(1).mean().abs())
                after = float((locked * axis).sum(1).mean().abs())
                self.assertGreater(before, 0.05)
                self.assertLess(after, 1e-4, upsample)

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


def export_and_load(ck: dict):
    """ck exported as the CLI would get it: the loaded module and its aiportrait.json "training"."""
    args = argparse.Namespace(name="t", version="0", default_strength=0.9, ramp=0.25, raw=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "g.pt")
        export(ck, path, args)
        extra = {"aiportrait.json": ""}
        loaded = torch.jit.load(path, _extra_files=extra)
    return loaded, json.loads(extra["aiportrait.json"])["training"]


class Export(unittest.TestCase):
    def test_the_exported_module_carries_the_options(self):
        m = Portrait(r_min=12.0, r_max=48.0, colour_cell=16, cell_upsample="bicubic")
        ck = {"G_ema": m.state_dict(), "step": 1, "images": 8,
              "args": {"bottleneck_min": 12.0, "bottleneck_max": 48.0, "colour_cell": 16,
                       "cell_upsample": "bicubic"}}
        loaded, meta = export_and_load(ck)
        self.assertEqual((meta["bottleneck_min"], meta["bottleneck_max"], meta["colour_cell"],
                          meta["cell_upsample"]), (12.0, 48.0, 16, "bicubic"))
        x = torch.rand(2, 3, 256, 256) * 2 - 1
        with torch.no_grad():
            self.assertTrue(torch.equal(loaded(x, torch.zeros(2)), x))  # strength 0 exact
            ref = m.eval()(x, torch.ones(2))
            self.assertLess(float((loaded(x, torch.ones(2)) - ref).abs().max()), 1e-5)
        self.assertEqual(loaded.g.conditioning.bottleneck.r_min, 12.0)
        self.assertEqual(loaded.colour_cell, 16)
        self.assertEqual(loaded.g.conditioning.bottleneck.upsample, "bicubic")

    def test_an_export_without_the_edge_plane_keeps_it_blank(self):
        m = Portrait(plane="none")
        ck = {"G_ema": m.state_dict(), "step": 1, "images": 8, "args": {"edge_plane": "none"}}
        loaded, meta = export_and_load(ck)
        self.assertEqual(meta["edge_plane"], "none")
        x = torch.rand(2, 3, 128, 128) * 2 - 1
        with torch.no_grad():
            planes = loaded.g.conditioning(x, torch.full((2,), 0.6))
            self.assertTrue(torch.equal(planes[:, 3], torch.full_like(planes[:, 3], -1.0)))
            self.assertGreater(float(Portrait().g.conditioning(x, torch.full((2,), 0.6))[:, 3].std()), 0.1)


class Noise(unittest.TestCase):
    """model.NoiseInjection: starts at zero, is drawn afresh while training, fixed once exported,
    and weights move between generators with and without it."""

    def noisy(self):
        m = Portrait(noise=True)
        with torch.no_grad():
            for k, p in m.named_parameters():
                if k in noise_keys():
                    p.fill_(0.3)
        return m

    def test_a_generator_given_noise_starts_as_it_was(self):
        plain = Portrait().eval()
        m = Portrait(noise=True).eval()
        self.assertIn("noise inputs added at zero", load_portrait_weights_from_state(m, plain.state_dict()))
        x = torch.rand(2, 3, 256, 256) * 2 - 1
        with torch.no_grad():
            self.assertTrue(torch.equal(m.train()(x, torch.full((2,), 0.7)), plain(x, torch.full((2,), 0.7))))

    def test_noise_is_fresh_while_training_and_fixed_once_exported(self):
        m = self.noisy()
        x = torch.rand(1, 3, 256, 256) * 2 - 1
        s = torch.full((1,), 0.7)
        with torch.no_grad():
            self.assertFalse(torch.equal(m.train()(x, s), m(x, s)))
            a = m.eval()(x, s)
            self.assertTrue(torch.equal(a, m(x, s)))
            other = Portrait(noise=True).eval()  # another process: the same fixed field
            other.load_state_dict(m.state_dict())
            self.assertTrue(torch.equal(a, other(x, s)))
        loaded, meta = export_and_load({"G_ema": m.state_dict(), "args": {"noise": "on"}})
        self.assertTrue(meta["noise"])
        with torch.no_grad():
            self.assertLess(float((loaded(x, s) - a).abs().max()), 1e-5)
            self.assertTrue(torch.equal(loaded(x, torch.zeros(1)), x))  # strength 0 still exact

    def test_weights_with_noise_load_without_it_and_say_so(self):
        m = Portrait()
        note = load_portrait_weights_from_state(m, self.noisy().state_dict())
        self.assertIn("noise inputs left out (largest weight 0.3)", note)


def load_portrait_weights_from_state(model, state) -> str:
    """load_portrait_weights on a state dict (through a checkpoint file, as the trainer's)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ck.pt")
        torch.save({"G": state}, path)
        return load_portrait_weights(model, path)


if __name__ == "__main__":
    unittest.main()
