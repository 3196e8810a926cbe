"""Unit tests of aiportrait_gen (plain unittest; run from the repo root: /usr/bin/python3 -m unittest discover -s scripts/aiportrait_gen/tests -t scripts)."""
