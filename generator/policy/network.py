"""Fail closed on network built-ins: a policy check must not reach out of the machine.

OPA, as embedded, really performs `http.send` and `net.lookup_ip_addr`; other engines
lack some of them and quietly answer undefined. Either way a policy that calls one is
refused before anything is evaluated, unless the user allows it (`--allow-network`, or
an OPA capabilities file that lists the built-in).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from generator.policy import PolicyError
from generator.policy.rego_tokens import tokenize

if TYPE_CHECKING:
    from generator.policy.engine import PolicyModule

__all__ = ["NETWORK_BUILTINS", "network_calls", "refuse_network_builtins"]

# OPA's built-ins that open connections (DNS included)
NETWORK_BUILTINS = ("http.send", "net.lookup_ip_addr")


def network_calls(source: str) -> list[tuple[int, int, str]]:
    """(line, column, built-in) of every call of a network built-in in `source`; strings
    and comments never count."""
    found: list[tuple[int, int, str]] = []
    tokens = tokenize(source)
    line, column = 1, 1
    positions: list[tuple[int, int]] = []
    for token in tokens:
        positions.append((line, column))
        newlines = token.text.count("\n")
        line, column = (line + newlines, len(token.text) - token.text.rfind("\n")) if newlines else \
            (line, column + len(token.text))
    significant = [(i, t) for i, t in enumerate(tokens) if t.significant]
    texts = [t.text for _, t in significant]
    for k, (index, token) in enumerate(significant):
        if token.kind != "ident" or (k > 0 and texts[k - 1] == "."):
            continue
        for name in NETWORK_BUILTINS:
            parts = [*name.replace(".", " . ").split(), "("]
            if texts[k:k + len(parts)] == parts:
                found.append((*positions[index], name))
    return found


def refuse_network_builtins(modules: Sequence[PolicyModule], allowed: Iterable[str] = ()) -> None:
    """Raise PolicyError naming every call of a network built-in not in `allowed`."""
    permitted = set(allowed)
    problems = [f"{module.path}:{line}:{column}: {name} is a network built-in; policies run offline "
                f"(allow it with --allow-network)"
                for module in modules for line, column, name in network_calls(module.source)
                if name not in permitted]
    if problems:
        raise PolicyError("\n".join(problems))
