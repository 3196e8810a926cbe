"""Where the critic looks (aiportrait_gen.critic_regions): a flaw confined to one region is found
there and nowhere else. Synthetic images from test_critic (nothing downloaded).

    /usr/bin/python3 -m unittest discover -s scripts/aiportrait_gen/tests -t scripts
"""
import unittest

import numpy as np

from aiportrait_gen import critic_regions as R
from aiportrait_gen.template import TIGHT_TEMPLATE
from aiportrait_gen.tests.test_critic import synthetic


class RegionBoxes(unittest.TestCase):
    def test_each_region_holds_its_landmarks_in_face_order(self):
        b = R.region_boxes(TIGHT_TEMPLATE, 256)
        pts = [(x * 256, y * 256) for x, y in TIGHT_TEMPLATE]

        def inside(box, p):
            return box[0] <= p[0] < box[2] and box[1] <= p[1] < box[3]

        self.assertTrue(inside(b["eyes"], pts[0]) and inside(b["eyes"], pts[1]))
        self.assertTrue(inside(b["nose"], pts[2]))
        self.assertTrue(inside(b["mouth"], pts[3]) and inside(b["mouth"], pts[4]))
        self.assertTrue(inside(b["lower"], pts[3]) and not inside(b["lower"], pts[0]))
        self.assertLess(b["eyes"][1], b["nose"][1])
        self.assertLess(b["nose"][1], b["mouth"][1])
        for box in b.values():
            self.assertTrue(0 <= box[0] < box[2] <= 256 and 0 <= box[1] < box[3] <= 256, box)

    def test_unknown_region_is_named(self):
        img = np.zeros((2, 256, 256, 3), np.uint8)
        with self.assertRaisesRegex(ValueError, "chin"):
            R.probe(img, img, TIGHT_TEMPLATE, regions=("chin",), blur_sigma=0)


class WhereTheCriticLooks(unittest.TestCase):
    def test_a_flaw_in_the_eyes_is_found_there_only(self):
        # The flaw: a flat grey eye band. (Pixel noise of std 40 there was not a flaw to this
        # critic at all: 53 %; like the real one, it looks at structure at 96 px.)
        originals = synthetic(240, 0)
        mask = R.feathered_mask(R.region_boxes(TIGHT_TEMPLATE, 256)["eyes"])
        portraits = R.blend(originals, np.full_like(originals, 128), mask)
        # 2 folds x 15 epochs instead of the critic's 4 x 30: ~1 min instead of ~5
        rows = dict(R.probe(originals, portraits, TIGHT_TEMPLATE, regions=("eyes", "mouth"),
                            blur_sigma=0, folds=2, epochs=15))
        self.assertGreaterEqual(rows["portraits"], 0.80, rows)
        self.assertLess(abs(rows["portraits, originals' eyes"] - 0.5), 0.15, rows)
        self.assertGreaterEqual(rows["originals, portraits' eyes"], 0.80, rows)
        self.assertGreaterEqual(rows["portraits, originals' mouth"], 0.80, rows)
        self.assertLess(abs(rows["originals, portraits' mouth"] - 0.5), 0.15, rows)


class WindowCritics(unittest.TestCase):
    def test_a_flaw_in_the_mouth_is_seen_by_its_window_only(self):
        # The flaw: the mouth window flat grey; the eye window of the same images is the
        # original's. (A sigma-3 blur of the window gave 73 % on these 240 synthetic images at
        # 2 folds x 15 epochs: the real faces' numbers are in critic_regions' docstring.)
        originals = synthetic(240, 0)
        x0, y0, x1, y1 = R.region_boxes(TIGHT_TEMPLATE, 256)["mouth"]
        portraits = originals.copy()
        portraits[:, y0:y1, x0:x1] = 128
        got = R.window_critics(originals, portraits, TIGHT_TEMPLATE, ("eyes", "mouth"), runs=1,
                               folds=2, epochs=15)
        self.assertGreaterEqual(got["mouth"][0], 0.85, got["mouth"][0])
        self.assertLess(abs(got["eyes"][0] - 0.5), 0.15, got["eyes"][0])

    def test_unknown_window_is_named(self):
        img = np.zeros((2, 256, 256, 3), np.uint8)
        with self.assertRaisesRegex(ValueError, "ears"):
            R.window_critics(img, img, TIGHT_TEMPLATE, ("ears",))


if __name__ == "__main__":
    unittest.main()
