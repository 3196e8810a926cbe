#!/usr/bin/python3
"""Evaluates a generator with the sharp-generator yardstick: see aiportrait_gen/evaluate.py.
Run with Debian's /usr/bin/python3."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aiportrait_gen.evaluate import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
