"""The trainer's start-up: the kernel's huge-page check (train.huge_page_warning), and resuming a
run whose structure discriminator changes what it sees (--structure-cond), and the probe of a
checkpoint's discriminators (probe_discriminators)."""
import json
import os
import signal
import sys
import tempfile
import time
import unittest

import numpy as np
import torch

from aiportrait_gen import data as D
from aiportrait_gen import train
from aiportrait_gen.probe_discriminators import probe
from aiportrait_gen.template import TIGHT_TEMPLATE
from aiportrait_gen.train import StepClock, huge_page_warning, parse_args

FACE_API = os.path.join(os.path.dirname(__file__), "..", "..", "..", "weights", "face-api")


class HugePageWarning(unittest.TestCase):
    def mode(self, text):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "enabled")
            with open(path, "w") as f:
                f.write(text)
            return huge_page_warning(path)

    def test_always_is_quiet(self):
        self.assertIsNone(self.mode("[always] madvise never\n"))

    def test_madvise_and_never_are_said_with_the_fix(self):
        for text in ("always [madvise] never\n", "always madvise [never]\n"):
            line = self.mode(text)
            self.assertIn(text.strip(), line)
            self.assertIn("echo always >", line)

    def test_no_such_file_is_quiet(self):
        self.assertIsNone(huge_page_warning("/nonexistent/transparent_hugepage/enabled"))


class StepClockPauses(unittest.TestCase):
    def test_a_step_with_a_sigcont_counts_as_long_as_the_one_before(self):
        clock = StepClock()
        clock.start()
        time.sleep(0.02)
        first = clock.lap()
        self.assertGreaterEqual(first, 0.02)
        clock.start()
        time.sleep(0.3)  # as if stopped with SIGSTOP for a benchmark ...
        os.kill(os.getpid(), signal.SIGCONT)  # ... and continued
        self.assertEqual(clock.lap(), first)
        clock.start()
        time.sleep(0.05)
        self.assertGreaterEqual(clock.lap(), 0.05, "the next step counts normally again")


class Arguments(unittest.TestCase):
    def test_nose_without_the_component_crops_is_refused(self):
        with self.assertRaises(SystemExit), open(os.devnull, "w") as null:
            stderr, sys.stderr = sys.stderr, null
            try:
                parse_args(["--nose", "1", "--component", "0"])
            finally:
                sys.stderr = stderr
        self.assertEqual(parse_args(["--nose", "1"]).nose, 1.0)


@unittest.skipUnless(os.path.exists(os.path.join(FACE_API, "face_recognition_model.bin")),
                     "weights/face-api absent: run scripts/fetch_models.sh")
class StructureConditionSwitch(unittest.TestCase):
    """A run resumed with --structure-cond none keeps G and the other discriminators and starts
    only the structure D fresh, on the image alone (its checkpointed D saw 5 more planes)."""

    def run_steps(self, work, *extra):
        train.main(["--work", work, "--threads", "1", "--batch", "2", "--steps", "1",
                    "--face-api", FACE_API, "--log-every", "1", *extra])
        return torch.load(os.path.join(work, "ckpt", "last.pt"))

    @staticmethod
    def tiny_work(work):
        """A training folder of 5 random faces, one held out."""
        rng = np.random.default_rng(0)
        np.save(os.path.join(work, "aligned256.npy"),
                rng.integers(0, 256, (5, 256, 256, 3), dtype=np.uint8))
        with open(os.path.join(work, "names.txt"), "w") as f:
            f.write("".join(f"face{i}.jpg\n" for i in range(5)))
        with open(os.path.join(work, "heldout.txt"), "w") as f:
            f.write("face4.jpg\n")
        with open(os.path.join(work, "template.json"), "w") as f:
            json.dump(TIGHT_TEMPLATE, f)

    def test_the_probe_reads_every_discriminator_of_either_kind(self):
        with tempfile.TemporaryDirectory() as work:
            self.tiny_work(work)
            for extra in ((), ("--resume", "--structure-cond", "none", "--nose", "1")):
                ck = self.run_steps(work, *extra)
                faces = D.to_tensor(np.load(os.path.join(work, "aligned256.npy"))[:2], "cpu")
                rows = probe(ck, faces, [0.5, 1.0], TIGHT_TEMPLATE)
                names = ["structure", "texture", "eye", "mouth"] + (["nose"] if extra else [])
                self.assertEqual([(r[0], r[1]) for r in rows], [(n, s) for s in (0.5, 1.0) for n in names])
                self.assertTrue(all(np.isfinite(r[2]) and np.isfinite(r[3]) for r in rows))

    def test_resume_with_another_condition_starts_only_that_discriminator_fresh(self):
        with tempfile.TemporaryDirectory() as work:
            self.tiny_work(work)
            first = self.run_steps(work)
            self.assertEqual(first["Ds"]["layers.0.0.weight"].shape[1], 8)
            second = self.run_steps(work, "--resume", "--structure-cond", "none")
            self.assertEqual(second["Ds"]["layers.0.0.weight"].shape[1], 3)
            self.assertEqual(second["step"], 2)
            for key in ("Deye", "Dt"):  # one more Adam step from the checkpoint, not a fresh start
                moved = (second[key]["layers.0.0.weight"] - first[key]["layers.0.0.weight"]).abs().max()
                self.assertLess(float(moved), 5e-3, key)
            log = open(os.path.join(work, "train.log")).read()
            self.assertIn("structure discriminator starts fresh", log)


if __name__ == "__main__":
    unittest.main()
