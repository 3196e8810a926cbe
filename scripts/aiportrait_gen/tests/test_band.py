"""losses.band_loss: the identity band of the strength dial, two-sided by default and open above
from --identity-open-from.

    /usr/bin/python3 -m unittest discover -s scripts/aiportrait_gen/tests -t scripts
"""
import unittest

import torch

from aiportrait_gen.losses import band_loss


class Band(unittest.TestCase):
    def test_inside_costs_nothing_outside_costs_the_excess(self):
        s = torch.tensor([0.5, 0.5, 0.5])
        dist = torch.tensor([0.29, 0.45, 0.10])  # slope 0.58: centre 0.29, band +- 0.05
        cost = band_loss(dist, s, 0.58, 0.05)
        self.assertAlmostEqual(float(cost), (0.0 + 0.11 + 0.14) / 3, places=5)

    def test_below_quarter_strength_is_free(self):
        self.assertEqual(float(band_loss(torch.tensor([0.9]), torch.tensor([0.2]), 0.58, 0.05)), 0.0)

    def test_open_above_from_the_given_strength(self):
        s = torch.tensor([1.0, 1.0, 0.9])
        dist = torch.tensor([0.90, 0.30, 0.90])  # far at 1, near at 1, far at 0.9
        two_sided = band_loss(dist, s, 0.58, 0.05)
        opened = band_loss(dist, s, 0.58, 0.05, open_from=0.95)
        far_at_1, near_at_1, far_at_09 = 0.90 - 0.63, 0.53 - 0.30, 0.90 - 0.572
        self.assertAlmostEqual(float(two_sided), (far_at_1 + near_at_1 + far_at_09) / 3, places=5)
        # at 1 only being too near still costs; at 0.9 (below open_from) both sides do
        self.assertAlmostEqual(float(opened), (near_at_1 + far_at_09) / 3, places=5)


if __name__ == "__main__":
    unittest.main()
