"""Which built-ins a policy calls, found before anything runs: fail closed on the network,
and on whatever an OPA capabilities file does not list.

OPA, as embedded, really performs `http.send` and `net.lookup_ip_addr`; other engines
lack some of them and quietly answer undefined. Either way a policy that calls one is
refused before anything is evaluated, unless the user allows it (`--allow-network`, or a
capabilities file that lists the built-in). With `--capabilities FILE` (OPA's format, as
conftest takes it), every other built-in the file does not list is refused as well.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from generator.policy import PolicyError
from generator.policy.rego_tokens import Token, rule_names, tokenize

if TYPE_CHECKING:
    from generator.policy.engine import PolicyModule

__all__ = ["NETWORK_BUILTINS", "network_calls", "function_calls", "refuse_network_builtins", "load_capabilities",
           "refuse_unlisted_builtins"]

# OPA's built-ins that open connections (DNS included)
NETWORK_BUILTINS = ("http.send", "net.lookup_ip_addr")
_KEYWORDS = {"if", "not", "some", "in", "every", "with", "else", "as", "default", "import", "package", "contains"}


def _positions(tokens: Sequence[Token]) -> list[tuple[int, int]]:
    line, column, found = 1, 1, []
    for token in tokens:
        found.append((line, column))
        newlines = token.text.count("\n")
        if newlines:
            line, column = line + newlines, len(token.text) - token.text.rfind("\n")
        else:
            column += len(token.text)
    return found


def function_calls(source: str) -> Iterator[tuple[int, int, str]]:
    """(line, column, dotted name) of every call in `source` (`sprintf(`, `http.send(`,
    `data.lib.f(`); strings and comments never count."""
    tokens = tokenize(source)
    positions = _positions(tokens)
    significant = [(i, t) for i, t in enumerate(tokens) if t.significant]
    k = 0
    while k < len(significant):
        index, token = significant[k]
        if token.kind != "ident" or (k > 0 and significant[k - 1][1].text == "."):
            k += 1
            continue
        parts, j = [token.text], k + 1
        while j + 1 < len(significant) and significant[j][1].text == "." and significant[j + 1][1].kind == "ident":
            parts.append(significant[j + 1][1].text)
            j += 2
        if j < len(significant) and significant[j][1].text == "(" and parts[0] not in _KEYWORDS:
            yield (*positions[index], ".".join(parts))
        k = j


def network_calls(source: str) -> list[tuple[int, int, str]]:
    """(line, column, built-in) of every call of a network built-in in `source`."""
    return [call for call in function_calls(source) if call[2] in NETWORK_BUILTINS]


def refuse_network_builtins(modules: Sequence[PolicyModule], allowed: Iterable[str] = ()) -> None:
    """Raise PolicyError naming every call of a network built-in not in `allowed`."""
    permitted = set(allowed)
    problems = [f"{module.path}:{line}:{column}: {name} is a network built-in; policies run offline "
                f"(allow it with --allow-network)"
                for module in modules for line, column, name in network_calls(module.source)
                if name not in permitted]
    if problems:
        raise PolicyError("\n".join(problems))


def load_capabilities(path: str | Path) -> set[str]:
    """The built-in names an OPA capabilities file (JSON) allows."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        return {str(entry["name"]) for entry in document.get("builtins", [])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise PolicyError(f"{path}: not an OPA capabilities file: {error}") from error


def _user_function(name: str, module: PolicyModule, defined: dict[str, set[str]], aliases: set[str]) -> bool:
    head = name.split(".")[0]
    if head in ("data", "input") or head in aliases:
        return True
    return name in defined.get(module.package, set())


def _import_aliases(source: str) -> set[str]:
    aliases = set()
    for line in source.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "import" and not words[1].startswith(("future.", "rego.")):
            aliases.add(words[3] if len(words) >= 4 and words[2] == "as" else words[1].split(".")[-1])
    return aliases


def refuse_unlisted_builtins(modules: Sequence[PolicyModule], allowed: set[str]) -> None:
    """Raise PolicyError for every built-in a module calls that `allowed` does not list,
    as OPA's compiler does with a capabilities file (`undefined function NAME`)."""
    defined: dict[str, set[str]] = {}
    for module in modules:
        defined.setdefault(module.package, set()).update(rule_names(module.source))
    problems = [f"{module.path}:{line}:{column}: undefined function {name} (not in the capabilities file)"
                for module in modules for line, column, name in function_calls(module.source)
                if name not in allowed and not _user_function(name, module, defined, _import_aliases(module.source))]
    if problems:
        raise PolicyError("\n".join(problems))
