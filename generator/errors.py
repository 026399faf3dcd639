"""User-facing errors.

Library code raises these and never prints or exits; `generator.cli` is the one place
that turns them into one line on stderr and exit code 2. Anything else escaping to the
CLI is a bug and exits 3 with a traceback.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Problem", "ModelopsError", "SpecError", "EXIT_OK", "EXIT_FINDINGS", "EXIT_ERROR", "EXIT_BUG"]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_BUG = 3


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in one input file, located for an editor to jump to."""

    file: str
    line: int = 0
    column: int = 0
    path: str = ""
    message: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.column or 1}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class ModelopsError(Exception):
    """An expected failure caused by input or environment; the message is the whole story."""


class SpecError(ModelopsError):
    """One or more problems in spec or environment files; nothing was written."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))
