"""losses.SharpnessLoss on a real face crop (examples/photos/sample1.jpg): its energies are the
yardstick's (same R_hf and R_coh as aiportrait_gen.yardstick), the photo itself and a sharper
version cost nothing, a blurred one costs more the more it is blurred, and the gradient on a
blurred face adds detail back.

    /usr/bin/python3 -m unittest discover -s scripts/aiportrait_gen/tests -t scripts
"""
import os
import unittest

import cv2
import numpy as np
import torch

from aiportrait_gen import data as D
from aiportrait_gen import yardstick as Y
from aiportrait_gen.losses import SharpnessLoss

from .test_yardstick import PHOTO, face_crop


def blurred(face: np.ndarray, sigma: float) -> np.ndarray:
    out = cv2.GaussianBlur(face.astype(np.float64), (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


@unittest.skipUnless(os.path.exists(PHOTO), f"{PHOTO} is absent")
class Sharpness(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.face = face_crop()
        cls.loss = SharpnessLoss(cls.face.shape[0])

    def t(self, img):
        return D.to_tensor(img[None], "cpu")

    def test_energies_are_the_yardsticks(self):
        soft = blurred(self.face, 2.0)
        r_hf, r_coh = Y.ratios(self.face, soft)
        hf_o, coh_o = self.loss.energies(self.t(self.face))
        hf_p, coh_p = self.loss.energies(self.t(soft))
        self.assertAlmostEqual(float(hf_p / hf_o), r_hf, delta=0.01 * r_hf)
        self.assertAlmostEqual(float(coh_p / coh_o), r_coh, delta=0.01 * r_coh)

    def test_the_photo_and_a_sharper_one_cost_nothing_and_blur_costs_more_with_sigma(self):
        real = self.t(self.face)
        self.assertEqual(float(self.loss(real, real)), 0.0)
        sharper = np.clip(self.face * 2.0 - blurred(self.face, 1.0), 0, 255).astype(np.uint8)
        self.assertEqual(float(self.loss(self.t(sharper), real)), 0.0)
        costs = [float(self.loss(self.t(blurred(self.face, s)), real)) for s in (1.0, 2.0, 4.0)]
        self.assertGreater(costs[0], 0.0)
        self.assertLess(costs[0], costs[1])
        self.assertLess(costs[1], costs[2])

    def test_its_gradient_adds_detail_back(self):
        real = self.t(self.face)
        x = self.t(blurred(self.face, 2.0)).requires_grad_(True)
        self.loss(x, real).sum().backward()
        step = (x - 0.02 * x.grad / x.grad.abs().max()).clamp(-1, 1).detach()
        before = self.loss.energies(x.detach())
        after = self.loss.energies(step)
        self.assertGreater(float(after[0]), float(before[0]))
        self.assertGreater(float(after[1]), float(before[1]))


if __name__ == "__main__":
    unittest.main()
