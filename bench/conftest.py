"""Lets the benchmark's tests import its modules the way `python bench/s3.py` does: from this folder."""

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
