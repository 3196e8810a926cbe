"""The yardstick's functions on a real photo (examples/photos/sample1.jpg, fetched by
scripts/setup.sh): blur lowers both ratios, noise raises R_hf but not R_coh, an identical image
gives 1, and the blur-equivalent sigma of a known blur comes back.

    /usr/bin/python3 -m unittest discover -s scripts/aiportrait_gen/tests -t scripts
"""
import os
import unittest

import cv2
import numpy as np

from aiportrait_gen import yardstick as Y

PHOTO = os.path.join(os.path.dirname(__file__), "..", "..", "..", "examples", "photos",
                     "sample1.jpg")


def face_crop() -> np.ndarray:
    """A 256-px RGB crop of the photo's middle (a face fills most of sample1)."""
    bgr = cv2.imread(PHOTO)
    h, w = bgr.shape[:2]
    n = min(h, w)
    crop = bgr[(h - n) // 2:(h + n) // 2, (w - n) // 2:(w + n) // 2]
    return cv2.resize(crop, (256, 256), interpolation=cv2.INTER_AREA)[:, :, ::-1].copy()


@unittest.skipUnless(os.path.exists(PHOTO), f"{PHOTO} is absent: run scripts/setup.sh")
class Yardstick(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.o = face_crop()

    def test_identical_images_give_one(self):
        r_hf, r_coh = Y.ratios(self.o, self.o.copy())
        self.assertAlmostEqual(r_hf, 1.0, places=12)
        self.assertAlmostEqual(r_coh, 1.0, places=12)
        s_hf, s_coh, _, _ = Y.blur_equivalent(self.o, self.o)
        self.assertEqual((s_hf, s_coh), (0.0, 0.0))

    def test_blur_lowers_both_ratios_monotonically(self):
        curve = Y.blur_curve(self.o)
        self.assertTrue(np.all(curve < 1.0))
        self.assertTrue(np.all(np.diff(curve[:, 0]) < 0), curve[:, 0])
        self.assertTrue(np.all(np.diff(curve[:, 1]) < 0), curve[:, 1])

    def test_noise_raises_hf_but_not_coherence(self):
        rng = np.random.default_rng(0)
        noisy = np.clip(self.o + rng.normal(0, 12, self.o.shape), 0, 255).astype(np.uint8)
        r_hf, r_coh = Y.ratios(self.o, noisy)
        self.assertGreater(r_hf, 1.3)
        self.assertLess(abs(r_coh - 1.0), 0.06)  # sigma 1 px blur of it: 0.83

    def test_known_blur_is_recovered(self):
        for sigma in (1.25, 2.2, 4.5):
            blurred = cv2.GaussianBlur(self.o.astype(np.float64), (0, 0), sigma,
                                       borderType=cv2.BORDER_REFLECT_101)
            s_hf, s_coh, _, _ = Y.blur_equivalent(self.o, blurred)
            self.assertAlmostEqual(s_hf, sigma, delta=0.15 * sigma)
            self.assertAlmostEqual(s_coh, sigma, delta=0.15 * sigma)

    def test_split_kid_of_sorted_faces_is_near_zero_for_the_originals(self):
        # Faces sorted by a trait (UTKFace names sort by age): the originals against themselves
        # must still be one distribution; contiguous halves made it two.
        rng = np.random.default_rng(3)
        trait = np.sort(rng.uniform(0, 1, 300))[:, None]
        feats = rng.normal(size=(300, 32)) + 3 * trait * np.ones((1, 32))
        self.assertLess(abs(Y.split_kid(feats, feats)), 0.2 * Y.kid(feats[:150], feats[150:]))

    def test_kid_separates_distributions(self):
        rng = np.random.default_rng(1)
        a, b = rng.normal(0, 1, (200, 16)), rng.normal(0, 1, (200, 16))
        shifted = rng.normal(0.7, 1, (200, 16))
        self.assertLess(abs(Y.kid(a, b)), 0.05)
        self.assertGreater(Y.kid(a, shifted), 10 * abs(Y.kid(a, b)))
        self.assertLess(abs(Y.split_kid(a, a)), 0.05)


if __name__ == "__main__":
    unittest.main()
