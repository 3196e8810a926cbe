"""check_targets judges what the rows hold: a quick run at the default strength only must not
crash on the missing dial rows (it did, with a KeyError on 's=0')."""
import unittest

import contextlib
import io

from aiportrait_gen.evaluate import check_targets, main, window_picture


def row(name, faceapi_median=0.5, faceres_median=0.29):
    return {"name": name, "faces": 10, "sharp": 0.9, "sigma_hf": 0.5, "sigma_coh": 0.2, "kid_e3": 9.0,
            "kid_random_e3": 4.0,
            "faceapi_median": faceapi_median, "faceapi_band": 0.85,
            "faceres_median": faceres_median, "faceres_band": 0.8}


class CheckTargets(unittest.TestCase):
    def test_default_only_judges_the_default(self):
        checks = dict(check_targets([row("s=0.9"), row("default 0.9")], "default 0.9"))
        self.assertEqual(len(checks), 5)  # sharp, two KIDs, two bands
        self.assertTrue(all(checks.values()))
        self.assertFalse(any("rise" in text for text in checks))

    def test_full_dial_is_judged(self):
        medians = {"0": 0.01, "0.25": 0.12, "0.5": 0.26, "0.75": 0.42, "1": 0.57}
        rows = [row(f"s={s}", m, m / 2) for s, m in medians.items()] + [row("default 0.9")]
        checks = dict(check_targets(rows, "default 0.9"))
        self.assertEqual(len(checks), 7)
        self.assertTrue(all(checks.values()))

    def test_a_dial_that_falls_fails(self):
        medians = {"0": 0.01, "0.25": 0.30, "0.5": 0.26, "0.75": 0.42, "1": 0.57}
        rows = [row(f"s={s}", m, m / 2) for s, m in medians.items()] + [row("default 0.9")]
        checks = check_targets(rows, "default 0.9")
        self.assertFalse(all(ok for _, ok in checks))


    def test_the_critic_is_judged_where_it_ran(self):
        d = dict(row("default 0.9"), critic=0.70)
        checks = dict(check_targets([row("s=0.9"), d], "default 0.9"))
        self.assertFalse(checks["fresh critic <= 65% at the default"])
        d["critic"] = 0.60
        self.assertTrue(dict(check_targets([d], "default 0.9"))["fresh critic <= 65% at the default"])


class CriticWindows(unittest.TestCase):
    def test_each_window_picture_is_named_after_the_surest_picture(self):
        self.assertEqual(window_picture("/tmp/surest.png", "mouth"), "/tmp/surest_mouth.png")
        self.assertEqual(window_picture("out/s", "eyes"), "out/s_eyes.png")

    def test_an_unknown_window_is_a_usage_error_before_any_work(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as ctx:
            main(["/nonexistent/model.pt", "--critic-windows", "eyes,ears"])
        self.assertEqual(ctx.exception.code, 2)
        self.assertIn("ears", err.getvalue())


if __name__ == "__main__":
    unittest.main()
