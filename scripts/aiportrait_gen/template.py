"""The 5-point alignment template of the default generator, shared by training and export.

Points are [x, y] fractions of the square crop: eye left, eye right, nose, mouth left, mouth right
(README "Generator contract"). The training photos (UTKFace, 200x200 "aligned & cropped") are tight
crops: over 3,000 of them our detector puts the eyes at y = 0.29, 0.40 of the width apart, and the
mouth at y = 0.69 (medians). The FFHQ framing (eyes 0.25 apart at y = 0.47) would need ~1.6x more
context than the photos have, so most of each training crop would be BORDER_REFLECT mirror copies of
the face, and the generator would learn to paint kaleidoscope borders. This template is those
medians made left-right symmetric and zoomed in 5% about the centre, so that slightly tilted or
shifted faces still fill their crop with real pixels.
"""

_ZOOM = 1.05
_MEASURED = [[0.300, 0.288], [0.700, 0.288], [0.500, 0.518], [0.322, 0.687], [0.678, 0.687]]

TIGHT_TEMPLATE = [[round(0.5 + (x - 0.5) * _ZOOM, 4), round(0.5 + (y - 0.5) * _ZOOM, 4)]
                  for x, y in _MEASURED]

# FFHQ-style template (512-px alignment) used by generators before 0.2.0 and by the test models.
FFHQ_TEMPLATE = [[192.98 / 512, 239.95 / 512], [318.90 / 512, 240.19 / 512],
                 [256.63 / 512, 314.02 / 512], [201.26 / 512, 371.41 / 512],
                 [313.09 / 512, 371.15 / 512]]


def save_aligner(path: str, template=None) -> None:
    """Writes a pass-through "generator" with `template` (default TIGHT_TEMPLATE): running the
    CLI with it yields the aligned crops exactly as the default generator sees them
    (scripts/prepare_training_data.sh, the evaluation)."""
    import torch

    class PassThrough(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    from . import contract
    contract.save(PassThrough(), path, contract.metadata(
        name="aiportrait-aligner", version="1.0.0", license="MIT", template=template or TIGHT_TEMPLATE,
        accepts_strength=False, description="returns the aligned crop unchanged; prepares training data"))


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "aligner":
        sys.exit("usage: python3 -m aiportrait_gen.template aligner OUT.pt")
    save_aligner(sys.argv[2])
