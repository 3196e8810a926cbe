"""aiportrait_gen.contract, the Python side's one writer and reader of a generator's
aiportrait.json: its defaults are the C++ reader's (src/models/generator.cpp), its writers give
every field the C++ reader requires, and a model without metadata is refused naming the file.

    /usr/bin/python3 -m unittest discover -s scripts/aiportrait_gen/tests -t scripts
"""
import os
import re
import tempfile
import unittest

import torch

from aiportrait_gen import contract
from aiportrait_gen.template import TIGHT_TEMPLATE

REPO = os.path.join(os.path.dirname(__file__), "..", "..", "..")
CPP_READER = os.path.join(REPO, "src", "models", "generator.cpp")


class Identity(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Contract(unittest.TestCase):
    def test_a_missing_default_strength_means_what_the_cpp_reader_assumes(self):
        src = open(CPP_READER).read()
        m = re.search(r'value\("default_strength",\s*info\.accepts_strength\s*\?\s*([0-9.]+)\s*:\s*([0-9.]+)\)', src)
        self.assertIsNotNone(m, f"{CPP_READER}: the default_strength fallback is no longer where this test looks")
        with_dial, without = float(m.group(1)), float(m.group(2))
        self.assertEqual(contract.default_strength({"accepts_strength": True}), with_dial)
        self.assertEqual(contract.default_strength({"accepts_strength": False}), without)
        self.assertEqual(contract.default_strength({"accepts_strength": True, "default_strength": 0.8}), 0.8)

    def test_every_field_the_cpp_reader_requires_is_written(self):
        required = set(re.findall(r'require\("([a-z_]+)"\)', open(CPP_READER).read()))
        self.assertIn("template", required)
        meta = contract.metadata("n", "1.0.0", "MIT", TIGHT_TEMPLATE, True, "d")
        self.assertLessEqual(required, set(meta))
        self.assertEqual(meta["format_version"],
                         int(re.search(r"kGeneratorFormatVersion\s*=\s*(\d+)",
                                       open(os.path.join(REPO, "include", "aiportrait", "generator.hpp")).read()
                                       + open(CPP_READER).read()).group(1)))

    def test_round_trip_and_a_model_without_metadata_is_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "g.pt")
            meta = contract.metadata("n", "2.0.0", "MIT", TIGHT_TEMPLATE, True, "d", default_strength=0.7,
                                     training={"step": 3})
            contract.save(Identity(), path, meta)
            module, back = contract.load(path)
            self.assertEqual(back, meta)
            x = torch.rand(1, 3, 4, 4)
            self.assertTrue(torch.equal(module(x), x))
            bare = os.path.join(tmp, "bare.pt")
            contract.save(Identity(), bare, None)
            with self.assertRaisesRegex(ValueError, "bare.pt"):
                contract.load(bare)

    def test_a_default_strength_outside_the_dial_is_refused(self):
        with self.assertRaises(ValueError):
            contract.metadata("n", "1", "MIT", TIGHT_TEMPLATE, True, "d", default_strength=1.5)


if __name__ == "__main__":
    unittest.main()
