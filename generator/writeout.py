"""Write a report or document the user asked for (`--output FILE`), atomically; `-` is stdout."""
from __future__ import annotations

import sys
from pathlib import Path

from generator.errors import ModelopsError
from generator.render.writer import atomic_write

__all__ = ["write_output"]


def write_output(path: Path, text: str) -> None:
    if str(path) == "-":
        sys.stdout.write(text)
        return
    try:
        atomic_write(path, text.encode("utf-8"))
    except OSError as error:
        raise ModelopsError(f"cannot write {path}: {error.strerror or error}") from None
