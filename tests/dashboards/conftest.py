"""Dashboard tests: ``dashboards`` is a folder at the repository root (not an installed package), so the
root goes first on ``sys.path``; before anything imports it, so that ``tests/dashboards`` (a folder
without ``__init__.py``) can never be taken for it."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if sys.path[:1] != [ROOT]:
    sys.path.insert(0, ROOT)
