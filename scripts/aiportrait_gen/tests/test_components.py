"""losses.ComponentCrops and the table of discriminators: the eye, mouth and nose windows sit on
the template's landmarks, the right eye comes out mirrored (so a mirrored face gives the same eye
windows, swapped), the jitter moves both windows together and never leaves the crop, and every
discriminator of losses.DISCRIMINATORS takes its view of a face (the whole-face ones beside the
image's own bottleneck image).

    /usr/bin/python3 -m unittest discover -s scripts/aiportrait_gen/tests -t scripts
"""
import unittest

import torch
import torch.nn.functional as F

from aiportrait_gen.losses import DISCRIMINATORS, ComponentCrops, draw_context
from aiportrait_gen.model import Bottleneck
from aiportrait_gen.template import TIGHT_TEMPLATE


def marked_face(size: int = 256) -> torch.Tensor:
    """1 x 3 x S x S zeros with a 3x3 dot of a different colour on each of the five landmarks."""
    x = torch.zeros(1, 3, size, size)
    for i, (px, py) in enumerate(TIGHT_TEMPLATE):
        cx, cy = int(round(px * size)), int(round(py * size))
        x[0, i % 3, cy - 1:cy + 2, cx - 1:cx + 2] = 1.0 + i
    return x


def dot_centre(window: torch.Tensor):
    """(x, y) of the centre of mass of the non-zero pixels of a 3 x H x W window."""
    m = (window.abs().sum(0) > 0).float()
    ys, xs = torch.nonzero(m, as_tuple=True)
    return float(xs.float().mean()), float(ys.float().mean())


class Components(unittest.TestCase):
    def setUp(self):
        self.crops = ComponentCrops(TIGHT_TEMPLATE, 256)

    def test_windows_are_centred_on_the_landmarks(self):
        eyes, mouth = self.crops(marked_face(), (0, 0))
        w, h = ComponentCrops.EYE
        for eye in eyes:  # left, then mirrored right: one dot each, near the middle
            ex, ey = dot_centre(eye)
            self.assertLess(abs(ex - (w - 1) / 2), 2.0)
            self.assertLess(abs(ey - (h - 1) / 2), 2.0)
        mw, mh = ComponentCrops.MOUTH
        mx, my = dot_centre(mouth[0])  # the two corners' dots average to the mouth centre
        self.assertLess(abs(mx - (mw - 1) / 2), 2.0)
        self.assertLess(abs(my - (mh - 1) / 2), 2.0)

    def test_the_nose_window_holds_the_nose_tip_and_not_the_mouth(self):
        nose = self.crops.nose(marked_face(), (0, 0))[0]
        w, h = ComponentCrops.NOSE
        self.assertEqual(tuple(nose.shape), (3, h, w))
        self.assertEqual(set(torch.unique(nose).tolist()), {0.0, 3.0})  # landmark 2's dot only
        nx, ny = dot_centre(nose)
        self.assertLess(abs(nx - (w - 1) / 2), 2.0)
        self.assertLess(abs(ny - (h - 1) / 2), 2.0)

    def test_mirrored_face_swaps_the_eye_windows(self):
        x = torch.rand(2, 3, 256, 256)
        eyes, mouth = self.crops(x, (3, -2))
        eyes_m, mouth_m = self.crops(x.flip(3), (3, -2))
        # the template is symmetric: the left eye of the mirrored face is the mirrored right eye
        torch.testing.assert_close(eyes_m[:2], eyes[2:])
        torch.testing.assert_close(eyes_m[2:], eyes[:2])
        self.assertEqual(tuple(mouth.shape), (2, 3, ComponentCrops.MOUTH[1], ComponentCrops.MOUTH[0]))

    def test_jitter_moves_the_windows_and_stays_inside(self):
        x = marked_face()
        gen = torch.Generator().manual_seed(0)
        seen = set()
        for _ in range(50):
            off = self.crops.offsets(gen)
            self.assertTrue(all(abs(v) <= self.crops.jitter for v in off))
            eyes, mouth = self.crops(x, off)
            self.assertEqual(tuple(eyes.shape[2:]), (ComponentCrops.EYE[1], ComponentCrops.EYE[0]))
            ex, _ = dot_centre(eyes[0])
            seen.add(round(ex))
        self.assertGreater(len(seen), 3)

    def test_every_discriminator_takes_its_view(self):
        x = torch.rand(2, 3, 256, 256)
        ctx = draw_context(Bottleneck(), torch.tensor([0.3, 0.9]), self.crops,
                           torch.Generator().manual_seed(0))
        shapes = {}
        for spec in DISCRIMINATORS:
            _, logits = spec.make()(spec.view(x, ctx))
            shapes[spec.name] = tuple(logits.shape)
        self.assertEqual(shapes, {"face64": (2, 1, 8, 8), "face128": (2, 1, 16, 16),
                                  "texture256": (2, 1, 32, 32), "eyes": (4, 1, 6, 8),
                                  "mouth": (2, 1, 8, 16), "nose": (2, 1, 8, 8)})

    def test_whole_face_views_carry_the_images_own_bottleneck_image(self):
        # A photo and a portrait that differs from it finer than r(s) must get the same kind of
        # view: each beside its own bottleneck image, so a photo's view always "matches" and a
        # portrait's can too (losses._condition: the photo's condition was the Ds' tell).
        bottleneck, s = Bottleneck(), torch.tensor([0.8])
        ctx = draw_context(bottleneck, s, self.crops, torch.Generator().manual_seed(0))
        photo = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(1)) * 2 - 1
        portrait = photo + 0.2 * torch.randn(1, 3, 256, 256, generator=torch.Generator().manual_seed(2))
        for img in (photo, portrait):
            view = DISCRIMINATORS[1].view(img, ctx)  # face128
            img128 = F.avg_pool2d(img, 2)
            self.assertTrue(torch.allclose(view[:, :3], bottleneck(img128, s)))
            self.assertTrue(torch.equal(view[:, 3:], img128))
        for spec in DISCRIMINATORS[:2]:
            a, b = spec.view(photo, ctx), spec.view(portrait, ctx)
            own = (a[:, :3] - F.interpolate(bottleneck(F.avg_pool2d(photo, 2), s), size=a.shape[2:],
                                            mode="area")).abs().max()
            self.assertLess(float(own), 1e-5, spec.name)
            self.assertFalse(torch.equal(a[:, :3], b[:, :3]), spec.name)

    def test_photo_condition_when_asked_is_the_same_for_photo_and_portrait(self):
        # --d-condition photo (run 1.0-a's recipe, kept for the A/B): both views carry the photo's
        bottleneck, s = Bottleneck(), torch.tensor([0.5])
        photo = torch.rand(1, 3, 256, 256) * 2 - 1
        cond = bottleneck(F.avg_pool2d(photo, 2), s)
        ctx = draw_context(bottleneck, s, self.crops, torch.Generator().manual_seed(0), cond)
        portrait = torch.zeros_like(photo)
        self.assertTrue(torch.equal(DISCRIMINATORS[1].view(portrait, ctx)[:, :3], cond))

if __name__ == "__main__":
    unittest.main()
