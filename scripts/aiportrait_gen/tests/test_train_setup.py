"""The trainer's start-up check of the kernel's huge-page mode (train.huge_page_warning)."""
import os
import tempfile
import unittest

from aiportrait_gen.train import huge_page_warning


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


if __name__ == "__main__":
    unittest.main()
