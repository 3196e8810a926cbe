#!/usr/bin/python3
"""Exports a training checkpoint (its EMA weights) as an aiportrait TorchScript generator:
see aiportrait_gen/export.py. Run with Debian's /usr/bin/python3."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aiportrait_gen.export import main  # noqa: E402

if __name__ == "__main__":
    main()
