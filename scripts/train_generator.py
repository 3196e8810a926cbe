#!/usr/bin/python3
"""Trains the default generator: see aiportrait_gen/train.py (usage, resume) and
weights/README.md (recipe, numbers). Run with Debian's /usr/bin/python3."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aiportrait_gen.train import main  # noqa: E402

if __name__ == "__main__":
    main()
