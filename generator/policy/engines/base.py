"""The protocol every Rego engine implements, and what they share.

An engine holds one set of modules and data, and answers `data.<path>` for an input.
Everything above it (decision rules, the one-query aggregate, tests, exceptions,
METADATA) is engine-neutral code in `generator.policy.engine`, so a finding never
depends on which engine produced it.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from generator.policy.engine import PolicyModule

__all__ = ["Engine", "Outcome", "NO_INPUT", "plain_value", "plain_input", "one_line"]

NO_INPUT: Any = object()  # evaluate with no `input` document at all (tests)


@dataclass(frozen=True)
class Outcome:
    """`data.<path>` for one input: defined or not, and its value as JSON-shaped data."""

    defined: bool
    value: Any = None


class Engine(Protocol):
    """Load policies and data once; evaluate inputs; report `print()` output."""

    name: str

    def version(self) -> str:
        """The engine's own version, for `--version` and every report."""
        ...

    def load(self, modules: Sequence[PolicyModule], data: Mapping[str, Any]) -> None:
        """Parse and add every module and the data; syntax errors raise PolicyError
        naming file:line. Called once per engine."""
        ...

    def evaluate(self, path: str, document: Any = NO_INPUT) -> Outcome:
        """`data.<path>` (dotted) with `document` as input; evaluation errors raise PolicyError."""
        ...

    def evaluate_batch(self, path: str, documents: Sequence[Any]) -> list[Outcome]:
        """`evaluate` for each document, in order."""
        ...

    def evaluate_rules(self, paths: Sequence[str], document: Any = NO_INPUT) -> dict[str, Outcome]:
        """Several rules for one input, each engine its fastest way (regorus: the input
        set once, then a rule at a time; OPA: one aggregate query). Any error raises."""
        ...

    def take_prints(self) -> list[str]:
        """`print()` lines since the last call, as `file:line: message`."""
        ...


def _json_default(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)  # YAML timestamps and the like, as conftest passes them: text


def plain_input(document: Any) -> Any:
    """`document` as JSON-shaped data, for when an engine cannot take it as it is: YAML
    timestamps and other scalars become text, as conftest passes them."""
    return json.loads(json.dumps(document, default=_json_default, ensure_ascii=False))


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def plain_value(value: Any) -> Any:
    """Engine values as JSON-shaped data: Rego sets become sorted lists, as OPA's API
    returns them, so every engine's results compare equal."""
    if isinstance(value, (set, frozenset)):
        return sorted((plain_value(item) for item in value), key=_sort_key)
    if isinstance(value, (list, tuple)):
        return [plain_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain_value(item) for key, item in value.items()}
    return value


_BACKTRACE = re.compile(r"\n\s*Stack backtrace:.*", re.DOTALL)


def one_line(text: str) -> str:
    """An engine message on one line: backtraces dropped, whitespace folded."""
    return " ".join(_BACKTRACE.sub("", text).split())
