"""losses.PopulationLoss on real face crops (examples/photos/sample1.jpg) with face-api's net:
no displacement means no drift and no loss; the same change applied to every face builds up a
drift, a positive loss, and a gradient that undoes the common change.

    /usr/bin/python3 -m unittest discover -s scripts/aiportrait_gen/tests -t scripts
"""
import os
import unittest

import torch

from aiportrait_gen import data as D
from aiportrait_gen.losses import PopulationLoss
from aiportrait_gen.template import TIGHT_TEMPLATE

from .test_yardstick import PHOTO, face_crop

FACE_API = os.path.join(os.path.dirname(__file__), "..", "..", "..", "weights", "face-api")


@unittest.skipUnless(os.path.exists(PHOTO) and os.path.isdir(FACE_API),
                     f"{PHOTO} or {FACE_API} is absent: run scripts/setup.sh")
class Population(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.manual_seed(0)
        face = D.to_tensor(face_crop()[None], "cpu")
        # Four "people": the crop, mirrored, and both slightly shifted.
        cls.real = torch.cat([face, face.flip(3), face.roll(6, 3), face.flip(3).roll(-6, 2)])
        cls.s = torch.full((4,), 0.8)

    def test_no_displacement_no_drift(self):
        pop = PopulationLoss(FACE_API, TIGHT_TEMPLATE, 256)
        for _ in range(3):
            loss = pop(self.real.clone(), self.real, self.s)
        self.assertEqual(float(pop.shift.norm()), 0.0)
        self.assertEqual(float(loss), 0.0)

    def test_common_change_builds_drift_and_its_gradient_undoes_it(self):
        pop = PopulationLoss(FACE_API, TIGHT_TEMPLATE, 256, decay=0.5)
        cast = torch.tensor([0.25, -0.1, -0.2]).view(1, 3, 1, 1)  # every face warmer
        fake = (self.real + cast).clamp(-1, 1)
        for _ in range(4):
            pop(fake, self.real, self.s)
        self.assertGreater(float(pop.shift.norm()), 0.5)
        x = fake.clone().requires_grad_(True)
        loss = pop(x, self.real, self.s)
        self.assertGreater(float(loss), 0.0)
        loss.backward()
        step = (x - 0.05 * x.grad / x.grad.abs().max()).detach()
        drift = (pop.knot_weights(self.s[:1]) @ pop.shift)[0]

        def along_drift(images):
            with torch.no_grad():
                disp = pop.net.features(pop.net_input(images)) - pop.net.features(pop.net_input(self.real))
            return float((disp @ drift).mean())

        self.assertLess(along_drift(step), along_drift(fake))

    def test_opposite_drifts_at_two_strengths_do_not_cancel(self):
        # 0.4.0's single drift per unit strength averaged these to nearly nothing.
        pop = PopulationLoss(FACE_API, TIGHT_TEMPLATE, 256, decay=0.5)
        cast = torch.tensor([0.25, -0.1, -0.2]).view(1, 3, 1, 1)
        s = torch.tensor([0.5, 0.5, 1.0, 1.0])
        fake = torch.cat([(self.real[:2] + cast), (self.real[2:] - cast)]).clamp(-1, 1)
        for _ in range(4):
            pop(fake, self.real, s)
        with torch.no_grad():
            disp = pop.net.features(pop.net_input(fake)) - pop.net.features(pop.net_input(self.real))
        # Each knot holds the mean displacement of its own strength, not a blend of both.
        self.assertGreater(float(disp[:2].mean(0).norm()), 0.5)
        self.assertGreater(float(disp[2:].mean(0).norm()), 0.5)
        self.assertTrue(torch.allclose(pop.shift[1], disp[:2].mean(0), atol=1e-4))
        self.assertTrue(torch.allclose(pop.shift[3], disp[2:].mean(0), atol=1e-4))

    def test_knot_weights_interpolate_linearly(self):
        pop = PopulationLoss(FACE_API, TIGHT_TEMPLATE, 256)
        w = pop.knot_weights(torch.tensor([0.25, 0.6, 1.0, 0.75]))
        expected = torch.tensor([[1, 0, 0, 0], [0, 0.6, 0.4, 0], [0, 0, 0, 1], [0, 0, 1, 0]])
        self.assertTrue(torch.allclose(w, expected.float(), atol=1e-5), w)

    def test_strengths_below_a_quarter_are_left_alone(self):
        pop = PopulationLoss(FACE_API, TIGHT_TEMPLATE, 256)
        loss = pop(self.real + 0.2, self.real, torch.full((4,), 0.1))
        self.assertEqual(float(loss), 0.0)
        self.assertEqual(float(pop.shift.norm()), 0.0)


if __name__ == "__main__":
    unittest.main()
