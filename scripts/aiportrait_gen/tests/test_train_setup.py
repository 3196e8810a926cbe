"""The trainer's start-up: the kernel's huge-page check (train.huge_page_warning), pauses that do
not count as training time, a tiny real run that resumes (a discriminator the checkpoint lacks
starts fresh, the others continue), the probe of a checkpoint's discriminators, and the design
rule that no face descriptor takes part in training."""
import argparse
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
from aiportrait_gen.losses import DISCRIMINATORS
from aiportrait_gen.train import StepClock, huge_page_warning


class TextureWeight(unittest.TestCase):
    def test_the_texture_d_follows_adv_unless_weighed_on_its_own(self):
        from aiportrait_gen.losses import active_discriminators
        self.assertEqual(train.parse_args(["--adv", "2"]).texture, 2.0)
        args = train.parse_args(["--adv", "2", "--texture", "0.5"])
        self.assertEqual((args.adv, args.texture), (2.0, 0.5))
        names = [spec.name for spec in active_discriminators(vars(train.parse_args(["--texture", "0"])))]
        self.assertNotIn("texture256", names)
        self.assertIn("face128", names)


class StrengthSampling(unittest.TestCase):
    def draw(self, low):
        return D.sample_strength(20000, torch.Generator().manual_seed(7), low)

    def test_the_default_puts_a_tenth_at_zero_and_a_fifth_at_one(self):
        s = self.draw(0.0)
        self.assertAlmostEqual((s == 0).float().mean().item(), 0.10, delta=0.01)
        self.assertAlmostEqual((s == 1).float().mean().item(), 0.20, delta=0.01)

    def test_a_low_end_gives_uniform_strengths_above_it(self):
        s = self.draw(0.25)
        self.assertGreaterEqual(s.min().item(), 0.25)
        self.assertLessEqual(s.max().item(), 1.0)
        self.assertLess((s == 1).float().mean().item(), 0.001)
        self.assertAlmostEqual(s.mean().item(), 0.625, delta=0.01)
        self.assertAlmostEqual((s < 0.5).float().mean().item(), 1 / 3, delta=0.015)

    def test_both_draw_the_same_numbers_so_arms_see_the_same_batches(self):
        g0, g1 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
        D.sample_strength(8, g0, 0.0)
        D.sample_strength(8, g1, 0.4)
        self.assertTrue(torch.equal(torch.rand(4, generator=g0), torch.rand(4, generator=g1)))


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


class NoDescriptorInTraining(unittest.TestCase):
    def test_the_trainer_and_the_losses_import_no_face_descriptor(self):
        """Design rule 1 of generator 1.0: identity is measured after training, never optimised."""
        import subprocess
        scripts = os.path.join(os.path.dirname(__file__), "..", "..")
        code = ("import sys; import aiportrait_gen.train, aiportrait_gen.losses, aiportrait_gen.model; "
                "print(sorted(m for m in sys.modules if m.startswith('aiportrait_gen')))")
        out = subprocess.run([sys.executable, "-c", code], cwd=scripts, capture_output=True,
                             text=True, check=True).stdout
        for descriptor in ("faceapi", "faceres", "evaluate"):
            self.assertNotIn(f"aiportrait_gen.{descriptor}'", out)


class TinyRun(unittest.TestCase):
    """Real trainer runs of one step on 5 random faces."""

    @staticmethod
    def train_one_step(work, *extra):
        train.main(["--work", work, "--threads", "1", "--batch", "2", "--steps", "1",
                    "--log-every", "1", *extra])

    @staticmethod
    def export_for_init(ck, path):
        """`ck` exported as an --init file."""
        from aiportrait_gen.export import export
        export(ck, path, argparse.Namespace(name="t", version="0", default_strength=0.8,
                                            ramp=0.25, raw=False))

    def run_steps(self, work, *extra):
        """One training step, then its checkpoint."""
        self.train_one_step(work, *extra)
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

    def test_the_probe_reads_every_discriminator(self):
        with tempfile.TemporaryDirectory() as work:
            self.tiny_work(work)
            ck = self.run_steps(work)
            faces = D.to_tensor(np.load(os.path.join(work, "aligned256.npy"))[:2], "cpu")
            rows = probe(ck, faces, [0.5, 1.0], TIGHT_TEMPLATE)
            names = [spec.name for spec in DISCRIMINATORS if spec.name in ck["D"]]
            self.assertEqual([(r[0], r[1]) for r in rows], [(n, s) for s in (0.5, 1.0) for n in names])
            self.assertTrue(all(np.isfinite(r[2]) and np.isfinite(r[3]) for r in rows))

    def test_resume_continues_and_a_missing_discriminator_starts_fresh(self):
        with tempfile.TemporaryDirectory() as work:
            self.tiny_work(work)
            first = self.run_steps(work)
            # the default run trains every D but the nose one (--nose 0: not built)
            self.assertEqual(set(first["D"]), {spec.name for spec in DISCRIMINATORS} - {"nose"})
            del first["D"]["mouth"]  # as if the checkpoint came from before that D existed
            torch.save(first, os.path.join(work, "ckpt", "last.pt"))
            second = self.run_steps(work, "--resume")
            self.assertEqual(second["step"], 2)
            self.assertEqual(second["images"], 4)
            moved = (second["D"]["eyes"]["layers.0.0.weight"] - first["D"]["eyes"]["layers.0.0.weight"]).abs().max()
            self.assertLess(float(moved), 5e-3, "one more Adam step from the checkpoint, not a fresh start")
            self.assertIn("discriminators starting fresh: mouth", open(os.path.join(work, "train.log")).read())
            # an export of it loads as a start for a new run (a fresh machine starts from git)
            path = os.path.join(work, "g.pt")
            self.export_for_init(second, path)
            with tempfile.TemporaryDirectory() as work2:
                self.tiny_work(work2)
                third = self.run_steps(work2, "--init", path)
                self.assertEqual(third["step"], 3)
                self.assertIn("fresh discriminators", open(os.path.join(work2, "train.log")).read())

    def test_the_starting_file_is_read_once(self):
        """A checkpoint is a whole torch.load and an export a whole TorchScript load: before, the
        layout, the counters and the weights each read the file again (an export 3 times, a
        checkpoint twice)."""
        from unittest import mock

        def reads(path, work, *extra):
            """The trainer's torch.load and TorchScript loads of `path` in a one-step run."""
            with mock.patch.object(torch, "load", wraps=torch.load) as load, \
                    mock.patch.object(torch.jit, "load", wraps=torch.jit.load) as jit_load:
                self.train_one_step(work, *extra)  # not run_steps: its own torch.load would count
            return ([c for c in load.call_args_list if c.args[0] == path],
                    [c for c in jit_load.call_args_list if c.args[0] == path])

        with tempfile.TemporaryDirectory() as work:
            self.tiny_work(work)
            first = self.run_steps(work)
            last = os.path.join(work, "ckpt", "last.pt")
            loads, _ = reads(last, work, "--resume")
            self.assertEqual(len(loads), 1, "--resume: last.pt loaded once")
            path = os.path.join(work, "g.pt")
            self.export_for_init(first, path)
            with tempfile.TemporaryDirectory() as work2:
                self.tiny_work(work2)
                loads, jit_loads = reads(path, work2, "--init", path)
                self.assertEqual((len(loads), len(jit_loads)), (0, 1), "--init EXPORT: one TorchScript load")

    def test_the_nose_discriminator_joins_a_resumed_run_when_weighed(self):
        with tempfile.TemporaryDirectory() as work:
            self.tiny_work(work)
            first = self.run_steps(work)
            self.assertNotIn("nose", first["D"])
            second = self.run_steps(work, "--resume", "--nose", "1")
            self.assertIn("nose", second["D"])
            self.assertIn("discriminators starting fresh: nose", open(os.path.join(work, "train.log")).read())
            # its generator term is in the step: a nose D that never moved would have no Adam state
            self.assertEqual(second["optD"]["nose"]["state"][0]["step"], 1)
            third = self.run_steps(work, "--resume")  # and without --nose it is left out again
            self.assertNotIn("nose", third["D"])

    def test_the_edge_plane_follows_the_starting_point_unless_given(self):
        from aiportrait_gen.model import Portrait
        with tempfile.TemporaryDirectory() as work:
            self.tiny_work(work)
            path = os.path.join(work, "g.pt")
            self.export_for_init({"G_ema": Portrait(plane="none").state_dict(), "args": {"edge_plane": "none"}}, path)
            self.assertEqual(self.run_steps(work, "--init", path)["args"]["edge_plane"], "none")
            self.assertEqual(self.run_steps(work, "--resume")["args"]["edge_plane"], "none")
            self.assertNotIn("edge plane:", open(os.path.join(work, "train.log")).read())
            self.assertEqual(self.run_steps(work, "--resume", "--edge-plane", "sobel")["args"]["edge_plane"], "sobel")
            self.assertIn("was trained with 'none', this run uses 'sobel'",
                          open(os.path.join(work, "train.log")).read())
        with tempfile.TemporaryDirectory() as work:
            self.tiny_work(work)
            self.assertEqual(self.run_steps(work)["args"]["edge_plane"], "sobel")

    def test_cell_upsampling_follows_the_starting_point_unless_given(self):
        with tempfile.TemporaryDirectory() as work:
            self.tiny_work(work)
            self.assertEqual(self.run_steps(work)["args"]["cell_upsample"], "bilinear")
        with tempfile.TemporaryDirectory() as work:
            self.tiny_work(work)
            first = self.run_steps(work, "--cell-upsample", "bicubic")
            self.assertEqual(self.run_steps(work, "--resume")["args"]["cell_upsample"], "bicubic")
            path = os.path.join(work, "g.pt")
            self.export_for_init(first, path)
            with tempfile.TemporaryDirectory() as work2:
                self.tiny_work(work2)
                self.assertEqual(self.run_steps(work2, "--init", path)["args"]["cell_upsample"], "bicubic")
            self.run_steps(work, "--resume", "--cell-upsample", "bilinear")
            self.assertIn("cell upsampling: ", open(os.path.join(work, "train.log")).read())

    def test_noise_inputs_join_a_resumed_run_and_adam_keeps_the_other_moments(self):
        with tempfile.TemporaryDirectory() as work:
            self.tiny_work(work)
            first = self.run_steps(work)
            self.assertEqual(first["args"]["noise"], "off")
            second = self.run_steps(work, "--resume", "--noise", "on")
            log = open(os.path.join(work, "train.log")).read()
            self.assertIn("was trained with 'off', this run uses 'on'", log)
            self.assertIn("noise inputs added at zero", log)
            self.assertIn("g.unet.n0.weight", second["G"])
            # the first parameter kept its Adam moments (one more step: two steps' count)
            self.assertEqual(int(second["optG"]["state"][0]["step"]), 2)
            # the noise weights are trained (one step: Adam moves each by ~lr)
            self.assertGreater(float(second["G"]["g.unet.n0.weight"].abs().max()), 0.0)
            third = self.run_steps(work, "--resume")  # follows the checkpoint
            self.assertEqual(third["args"]["noise"], "on")
            self.assertEqual(int(third["optG"]["state"][0]["step"]), 3)

    @unittest.skipUnless(os.path.exists(os.path.join(
        os.path.dirname(__file__), "..", "..", "..", "weights", "face-api",
        "face_landmark_68_model-weights_manifest.json")), "run scripts/fetch_models.sh")
    def test_a_fresh_landmark_run_gets_face_apis_net_and_keeps_it(self):
        key = "g.conditioning.landmarks.net.fc_w"
        with tempfile.TemporaryDirectory() as work:
            self.tiny_work(work)
            first = self.run_steps(work, "--edge-plane", "landmarks")
            self.assertIn("landmark net from", open(os.path.join(work, "train.log")).read())
            self.assertGreater(float(first["G"][key].abs().sum()), 0.0)
            second = self.run_steps(work, "--resume")
            self.assertEqual(second["args"]["edge_plane"], "landmarks")
            torch.testing.assert_close(second["G_ema"][key], first["G"][key])  # never trained

    def test_resume_takes_the_learning_rates_of_the_command_line(self):
        """A loaded Adam state carries its old learning rate; --lr-g / --lr-d must still apply
        (to anneal a run from its checkpoint)."""
        with tempfile.TemporaryDirectory() as work:
            self.tiny_work(work)
            first = self.run_steps(work)
            self.assertEqual(first["optG"]["param_groups"][0]["lr"], 1e-4)
            second = self.run_steps(work, "--resume", "--lr-g", "2.5e-5", "--lr-d", "1e-4")
            self.assertEqual(second["optG"]["param_groups"][0]["lr"], 2.5e-5)
            self.assertEqual({o["param_groups"][0]["lr"] for o in second["optD"].values()}, {1e-4})
            self.assertIn("learning rates from the command line: D 0.0004 -> 0.0001, G 0.0001 -> 2.5e-05",
                          open(os.path.join(work, "train.log")).read())


if __name__ == "__main__":
    unittest.main()
