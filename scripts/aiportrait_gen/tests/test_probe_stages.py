"""aiportrait_gen.probe_stages: the U-Net's column is what the portrait is built on."""
import unittest

import torch

from aiportrait_gen.model import Portrait
from aiportrait_gen.probe_stages import sheet, stage_columns


def faces(n=2):
    g = torch.Generator().manual_seed(5)
    return torch.rand(n, 3, 256, 256, generator=g) * 2 - 1


class StageColumns(unittest.TestCase):
    def test_a_fresh_detail_head_adds_nothing_so_the_difference_is_black(self):
        model = Portrait(colour_cell=0).eval()  # the head's last conv starts at zero
        x, unet, portrait, diff = stage_columns(model, faces(), 0.6)
        torch.testing.assert_close(portrait, unet)
        self.assertEqual(float(diff.max()), -1.0)

    def test_what_the_head_draws_shows_in_the_difference(self):
        model = Portrait(colour_cell=0).eval()
        with torch.no_grad():
            model.detail.out.bias.fill_(0.05)
        *_, diff = stage_columns(model, faces(), 0.6)
        self.assertGreater(float(diff.mean()), -0.9)

    def test_with_the_chroma_lock_a_fresh_head_still_adds_nothing(self):
        model = Portrait(colour_cell=32).eval()
        _, unet, portrait, _ = stage_columns(model, faces(), 0.6)
        torch.testing.assert_close(portrait, unet)

    def test_the_sheet_has_a_row_per_face_and_four_columns(self):
        img = sheet(stage_columns(Portrait().eval(), faces(3), 0.6))
        self.assertEqual(img.shape, (3 * 256, 4 * 256, 3))


if __name__ == "__main__":
    unittest.main()
