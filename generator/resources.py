"""Where the built-in blueprints, chart and policy library live.

They are top-level folders of this repository (the design card's layout), found next to
the package; `modelops` is installed editable (`pip install -e .`), as the Makefile does.
A GitOps repository may carry its own copies, which take precedence.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["BUNDLED_ROOT", "bundled", "first_existing"]

BUNDLED_ROOT = Path(__file__).resolve().parent.parent


def bundled(relative: str) -> Path:
    return BUNDLED_ROOT / relative


def first_existing(repo_root: Path, relative: str) -> Path:
    """The repository's own copy of `relative` when it has one, else the bundled one."""
    own = repo_root / relative
    return own if own.exists() else bundled(relative)
