"""The fresh critic (aiportrait_gen.critic): it tells a sigma-3 blur from sharp images, and two
draws of the same kind of image apart no better than chance. Synthetic faces-like images: smooth
shapes with sharp edges and fine texture, made here with a seed (nothing downloaded).

    /usr/bin/python3 -m unittest discover -s scripts/aiportrait_gen/tests -t scripts
"""
import unittest

import cv2
import numpy as np

from aiportrait_gen import critic
from aiportrait_gen.yardstick import split_kid


def synthetic(n: int, seed: int) -> np.ndarray:
    """n uint8 256 x 256 RGB images: random ellipses and lines over grain."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, 256, 256, 3), np.uint8)
    for i in range(n):
        img = np.full((256, 256, 3), rng.integers(60, 200, 3), np.float32)
        for _ in range(6):
            c = tuple(int(v) for v in rng.integers(0, 256, 3))
            cv2.ellipse(img, (int(rng.integers(40, 216)), int(rng.integers(40, 216))),
                        (int(rng.integers(10, 60)), int(rng.integers(10, 60))),
                        float(rng.uniform(0, 180)), 0, 360, c, -1)
            cv2.line(img, tuple(int(v) for v in rng.integers(0, 256, 2)),
                     tuple(int(v) for v in rng.integers(0, 256, 2)), c, int(rng.integers(1, 4)))
        img += rng.normal(0, 8, img.shape)
        out[i] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def blurred(images: np.ndarray, sigma: float) -> np.ndarray:
    return np.stack([cv2.GaussianBlur(im, (0, 0), sigma) for im in images])


class FreshCritic(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.images = synthetic(160, 0)
        cls.real = critic.prepare(cls.images, seed=1)

    def test_a_sigma_3_blur_is_told_from_sharp_images(self):
        acc, p = critic.two_sample_test(self.real, critic.prepare(blurred(self.images, 3.0), seed=1))
        self.assertGreaterEqual(acc, 0.90)
        self.assertEqual(int(np.isfinite(p).sum()), 160, "a held-out probability for every image")
        self.assertEqual(int(np.isfinite(critic.second(p)).sum()), 80, "80 of them blurred")
        self.assertGreater(np.nanmean(critic.second(p)), np.mean(p[0::2]) + 0.5)
        self.assertGreaterEqual(critic.tell_share(p), 0.8)

    def test_sharp_against_sharp_is_chance(self):
        other = critic.prepare(synthetic(160, 7), seed=2)
        acc, p = critic.two_sample_test(self.real, other)
        self.assertLess(abs(acc - 0.5), 0.15)
        self.assertLess(critic.tell_share(p), 0.2)  # 5 % expected; 80 images each

    def test_repeated_runs_are_the_seeds_mean(self):
        blur = critic.prepare(blurred(self.images, 3.0), seed=1)
        fast = dict(folds=2, epochs=3)
        mean, runs, p = critic.repeated_test(self.real, blur, 2, **fast)
        singles = [critic.two_sample_test(self.real, blur, seed=s, **fast) for s in (0, 1)]
        self.assertEqual(runs, [a for a, _ in singles])
        self.assertAlmostEqual(mean, sum(runs) / 2)
        np.testing.assert_allclose(p, (singles[0][1] + singles[1][1]) / 2)

    def test_alternation_shows_each_face_once(self):
        a, b = np.zeros((5, 3, 2, 2), np.float32), np.ones((5, 3, 2, 2), np.float32)
        x, y = critic.alternate(a, b)
        self.assertEqual(y.tolist(), [0, 1, 0, 1, 0])
        self.assertTrue(np.array_equal(x[:, 0, 0, 0], y.astype(np.float32)))

    def test_prepare_takes_the_central_192_px_at_96(self):
        img = np.zeros((1, 256, 256, 3), np.uint8)
        img[:, 32:224, 32:224] = 255  # exactly the central 192 px
        out = critic.prepare(img)
        self.assertEqual(out.shape, (1, 3, 96, 96))
        self.assertGreater(out.min(), 0.9)  # white everywhere, up to JPEG error

    def test_prepare_window_keeps_the_box_at_full_resolution(self):
        img = np.zeros((2, 256, 256, 3), np.uint8)
        img[:, 40:60, 10:50] = 255  # exactly the box
        out = critic.prepare_window(img, (10, 40, 50, 60))
        self.assertEqual(out.shape, (2, 3, 20, 40))
        self.assertGreater(out.min(), 0.9)  # white everywhere, up to JPEG error

    def test_prepare_is_the_fixed_recipe(self):
        # the window critics share prepare's JPEG step; the whole-face input must not move
        img = self.images[:3]
        rng = np.random.default_rng(5)
        for i, out in enumerate(critic.prepare(img, seed=5)):
            small = cv2.resize(np.ascontiguousarray(img[i, 32:224, 32:224]), (96, 96),
                               interpolation=cv2.INTER_AREA)
            ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 96))])
            want = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED).transpose(2, 0, 1) / 127.5 - 1.0
            np.testing.assert_allclose(out, want, atol=1e-6)

    def test_tell_share_is_the_true_positives_at_the_false_alarm_rate(self):
        real = np.linspace(0, 1, 21)[:20]  # 0, 0.05, ..., 0.95: the 95th percentile is ~0.90
        p = np.empty(40)
        p[0::2], p[1::2] = real, np.r_[np.full(15, 0.2), np.full(5, 0.99)]
        self.assertAlmostEqual(critic.tell_share(p), 5 / 20)
        self.assertAlmostEqual(critic.tell_share(p, 0.5), 5 / 20)
        self.assertAlmostEqual(critic.tell_share(p, 0.99), 1.0)

    def test_surest_pairs_put_each_original_beside_its_portrait(self):
        a = np.stack([np.full((2, 3, 3), v, np.uint8) for v in range(3)])
        b = a + 100
        col = critic.surest_pairs(a, b, np.array([np.nan, 0.2, 0.9]), count=2)
        self.assertEqual(col.shape, (4, 6, 3))
        self.assertEqual([int(col[0, 0, 0]), int(col[0, 3, 0]), int(col[2, 0, 0])], [2, 102, 1])

    def test_random_feature_kid_sees_blur_and_not_a_second_draw(self):
        sharp = critic.random_features(self.real)
        other = critic.random_features(critic.prepare(synthetic(160, 9), seed=3))
        blur = critic.random_features(critic.prepare(blurred(self.images, 3.0), seed=1))
        self.assertGreater(split_kid(sharp, blur), 5 * abs(split_kid(sharp, other)))

    def test_surest_grid_holds_the_highest_probabilities_first(self):
        imgs = np.stack([np.full((4, 4, 3), v, np.uint8) for v in range(4)])
        grid = critic.surest(imgs, np.array([np.nan, 0.2, np.nan, 0.9]), count=2, cols=2)
        self.assertEqual(grid.shape, (4, 8, 3))
        self.assertEqual(int(grid[0, 0, 0]), 3)
        self.assertEqual(int(grid[0, 4, 0]), 1)


if __name__ == "__main__":
    unittest.main()
