"""evaluate.standardised: the random-feature KID is finite when a feature is constant on every
original (it divided by ~0 and gave 1e12 on 1.0-a's portraits at strength 0.5)."""
import unittest

import numpy as np

from aiportrait_gen.evaluate import standardised
from aiportrait_gen.yardstick import split_kid


class Standardised(unittest.TestCase):
    def test_a_feature_dead_on_every_original_is_left_out(self):
        rng = np.random.default_rng(0)
        ref = rng.normal(size=(40, 8))
        ref[:, 3] = 0.0  # a ReLU channel no original activates
        other = rng.normal(size=(40, 8))
        a, b = standardised(ref, other)
        self.assertEqual(a.shape[1], 7)
        self.assertLess(abs(split_kid(a, b)), 1.0)
        np.testing.assert_allclose(a.std(0), 1.0, rtol=1e-6)


if __name__ == "__main__":
    unittest.main()
