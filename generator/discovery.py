"""Find the GitOps repository's root the way git and pre-commit do: walk up from here.

The root is the nearest folder holding `.modelops.yaml`; failing that, the top level of
the git work tree we are in; failing that, the starting folder. `-C` skips the walk.
"""
from __future__ import annotations

from pathlib import Path

from generator.config import CONFIG_FILE

__all__ = ["find_root"]


def find_root(start: Path) -> Path:
    """The repository root for a command run in `start` (which it never leaves upwards
    past a git top level: a parent project's settings are not this repository's)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
        if (folder / ".git").exists():
            return folder
    return start
