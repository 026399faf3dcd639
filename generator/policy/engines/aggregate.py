"""One query for many rules: a generated module whose `results` holds every rule's value.

For engines where each query has a fixed cost (OPA prepares each distinct query, and the
in-process binding and the server both encode the input once per query), answering every
decision rule of a document in one query is several times faster than a query per rule.
Each entry is an object comprehension, empty when its rule is undefined, so an undefined
rule leaves its key out instead of making the whole object undefined; `results` is a
complete rule, which every engine evaluates as a rule.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from generator.policy.engines.base import Outcome

__all__ = ["aggregate_module", "aggregate_package", "split_results"]


def aggregate_package(paths: Sequence[str]) -> str:
    """A package name of its own for each set of rules (a set is loaded once)."""
    return "modelops_internal_aggregate_" + hashlib.sha256("\n".join(paths).encode()).hexdigest()[:16]


def _reference(path: str) -> str:
    parts = path.split(".")
    if all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part) for part in parts):
        return "data." + path
    return "data" + "".join(f'["{part}"]' for part in parts)


def aggregate_module(package: str, paths: Sequence[str]) -> str:
    lines = [f"package {package}", "", "results := object.union_n(["]
    lines += [f'\t{{"{path}": value | value := {_reference(path)}}},' for path in paths]
    lines.append("])")
    return "\n".join(lines) + "\n"


def split_results(paths: Sequence[str], outcome: Outcome) -> dict[str, Outcome]:
    """Each rule's own outcome from the aggregate's `results` (a missing key: undefined)."""
    values = outcome.value if outcome.defined and isinstance(outcome.value, dict) else {}
    return {path: Outcome(True, values[path]) if path in values else Outcome(False) for path in paths}
