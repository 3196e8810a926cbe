"""Tests of aiportrait_gen.faceres. From the repo root:

    /usr/bin/python3 -m unittest discover -s scripts/aiportrait_gen/tests -t scripts -p 'test_faceres.py' -v

Needs weights/eval/faceres/ (scripts/fetch_models.sh --eval), else the net tests skip; the
different-person test also needs ../shared/eval/faces and build/aiportrait (to align the photos
with the project's own template), else it skips.
"""
import csv
import os
import shutil
import subprocess
import tempfile
import unittest

import cv2
import numpy as np
import torch

from aiportrait_gen.faceres import FaceRes, cosine_distance, crop_from_aligned

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODEL_DIR = os.path.join(REPO, "weights", "eval", "faceres")
FACES = os.path.join(REPO, "..", "shared", "eval", "faces")
CLI = os.path.join(REPO, "build", "aiportrait")
HAVE_WEIGHTS = os.path.isfile(os.path.join(MODEL_DIR, "faceres.json"))
NO_WEIGHTS = f"{MODEL_DIR} is absent: fetch it with scripts/fetch_models.sh --eval"


def different_people():
    """The first pair master.csv calls different people whose photos are both present."""
    with open(os.path.join(FACES, "master.csv"), newline="") as f:
        for row in csv.DictReader(f):
            x, y = row["file_x"].strip(), row["file_y"].strip()
            if row["Decision"].strip().lower() == "no" and all(
                    os.path.isfile(os.path.join(FACES, n)) for n in (x, y)):
                return x, y
    return None


class HelpersTest(unittest.TestCase):
    def test_crop_is_bgr_224(self):
        rgb = np.zeros((256, 256, 3), np.uint8)
        rgb[..., 0] = 200  # red
        x = crop_from_aligned(rgb)
        self.assertEqual(tuple(x.shape), (1, 3, 224, 224))
        self.assertEqual(x.dtype, torch.float32)
        self.assertAlmostEqual(float(x[0, 2].mean()), 200.0, places=3)  # red is the last channel
        self.assertEqual(float(x[0, :2].abs().max()), 0.0)

    def test_cosine_distance_per_row(self):
        a = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
        b = torch.tensor([[2.0, 0.0], [0.0, 3.0]])
        self.assertTrue(torch.allclose(cosine_distance(a, b), torch.tensor([0.0, 1.0])))

    def test_missing_model_dir_names_the_path(self):
        with self.assertRaises(FileNotFoundError) as ctx:
            FaceRes("/nonexistent/faceres")
        self.assertIn("/nonexistent/faceres", str(ctx.exception))

    @unittest.skipUnless(HAVE_WEIGHTS, NO_WEIGHTS)
    def test_truncated_weights_are_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(os.path.join(MODEL_DIR, "faceres.json"), tmp)
            with open(os.path.join(MODEL_DIR, "faceres.bin"), "rb") as f:
                data = f.read()
            with open(os.path.join(tmp, "faceres.bin"), "wb") as f:
                f.write(data[:-2])
            with self.assertRaises(ValueError) as ctx:
                FaceRes(tmp)
            self.assertIn(tmp, str(ctx.exception))


@unittest.skipUnless(HAVE_WEIGHTS, NO_WEIGHTS)
class FaceResTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        cls.net = FaceRes(MODEL_DIR)

    def describe(self, rgb):
        with torch.no_grad():
            return self.net(crop_from_aligned(rgb))

    def test_descriptor_shape_and_frozen(self):
        rng = np.random.default_rng(0)
        d = self.describe(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8))
        self.assertEqual(tuple(d.shape), (1, 1024))
        self.assertTrue(torch.isfinite(d).all())
        self.assertFalse(any(t.requires_grad for t in self.net.state_dict().values()))

    def test_same_crop_distance_is_zero(self):
        rng = np.random.default_rng(1)
        img = cv2.GaussianBlur(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8), (9, 9), 3)
        self.assertLess(float(cosine_distance(self.describe(img), self.describe(img))), 1e-5)

    @unittest.skipUnless(os.path.isfile(os.path.join(FACES, "master.csv")), f"{FACES} is absent")
    @unittest.skipUnless(os.access(CLI, os.X_OK), f"{CLI} is not built (scripts/setup.sh)")
    def test_shifted_blurred_face_is_closer_than_another_person(self):
        from aiportrait_gen.template import save_aligner

        pair = different_people()
        if pair is None:
            self.skipTest("master.csv names no different-person pair with both photos present")
        with tempfile.TemporaryDirectory() as tmp:
            save_aligner(os.path.join(tmp, "aligner.pt"))
            subprocess.run([CLI, *(os.path.join(FACES, n) for n in pair), "-o", tmp,
                            "--model", os.path.join(tmp, "aligner.pt"), "--no-identity", "-q",
                            "--threads", "1", "--format", "png"], check=True)
            a, b = (cv2.imread(os.path.join(tmp, os.path.splitext(n)[0] + ".png"))[:, :, ::-1]
                    for n in pair)
        # Same face, 8 px to the right and blurred: what a generator at low strength might give.
        shifted = cv2.warpAffine(np.ascontiguousarray(a), np.float64([[1, 0, 8], [0, 1, 0]]),
                                 (256, 256), borderMode=cv2.BORDER_REFLECT_101)
        shifted = cv2.GaussianBlur(shifted, (5, 5), 1.5)
        da, ds, db = self.describe(a), self.describe(shifted), self.describe(b)
        near, far = float(cosine_distance(da, ds)), float(cosine_distance(da, db))
        self.assertLess(near, far, f"{pair}: shifted+blurred {near:.3f} vs other person {far:.3f}")
        self.assertLess(near, 0.38)  # the same-person threshold check_faceres.py reproduces
        self.assertGreater(far, 0.38)


if __name__ == "__main__":
    unittest.main()
