"""OPA itself, in-process (PyPI `opa-golib-python-bindings`): the reference semantics.

conftest and Gatekeeper embed this engine. It reads Rego v1 only, so a module that OPA
rejects for v0 syntax is given the v0 -> v1 syntax upgrade (`opa fmt --v0-v1`'s edits,
same lines) and added again; nothing else is ever rewritten. The binding declares
Python >= 3.14; on 3.11-3.13 install it with `pip install --ignore-requires-python`.
"""
from __future__ import annotations

import functools
import importlib.metadata
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import opa_bindings
from opa_bindings import OpaEngine, OpaError, OpaUndefinedError

from generator.policy import PolicyError
from generator.policy.engines.aggregate import aggregate_module, aggregate_package, split_results
from generator.policy.engines.base import NO_INPUT, Outcome, plain_input, plain_value
from generator.policy.engines.opa_engine_hints import V0_HINTS
from generator.policy.engines.v0_builtins import V0_BUILTINS
from generator.policy.rego_v1 import upgrade_to_v1

if TYPE_CHECKING:
    from generator.policy.engine import PolicyModule

__all__ = ["OpaInProcessEngine"]


def _message(error: OpaError) -> str:
    lines = [line.strip() for line in error.message.splitlines() if line.strip()]
    useful = [line for line in lines if "rego_" in line] or lines[:1]
    return "; ".join(line.removeprefix("1 error occurred: ") for line in useful)


def _trace_lines(events: Any) -> list[str]:
    """OPA's trace events, one line each (`Enter data.main.deny  p.rego:3`), as `--trace`."""
    lines = []
    for event in events or []:
        lines.append(f"{event.get('op', ''):<6} {str(event.get('node', ''))[:160]}  {event.get('location', '')}".rstrip())
    return lines


@functools.lru_cache(maxsize=1)
def _opa_version() -> str:
    """OPA's own version, from the Go build information in the bridge library (`dep
    github.com/open-policy-agent/opa v1.20.2`), with the binding's version beside it."""
    try:
        binding = importlib.metadata.version("opa-golib-python-bindings")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a vendored copy
        binding = "unknown"
    library = Path(opa_bindings.__file__).parent / "libopabridge.so"
    try:
        found = re.search(rb"dep\tgithub\.com/open-policy-agent/opa\t(v[0-9][0-9A-Za-z.+-]*)", library.read_bytes())
    except OSError:
        found = None
    return f"{found.group(1).decode() if found else 'unknown'} (bindings {binding})"


class OpaInProcessEngine:
    name = "opa"

    def __init__(self, *, builtins: Mapping[str, tuple[int, Callable[..., Any]]] | None = None,
                 trace: bool = False) -> None:
        self._engine = OpaEngine()
        self._trace = trace
        self._prints: list[str] = []
        self._aggregates: set[str] = set()
        self._engine.print_handler = lambda message, location: self._prints.append(f"{location}: {message}")
        for name, (arity, function) in {**V0_BUILTINS, **(builtins or {})}.items():
            self._engine.register_function(name, function, arity=arity)

    def version(self) -> str:
        return _opa_version()

    def load(self, modules: Sequence[PolicyModule], data: Mapping[str, Any]) -> None:
        errors = [problem for module in modules if (problem := self._add(module))]
        if errors:
            raise PolicyError("policies failed to compile:\n" + "\n".join(f"  {e}" for e in errors))
        if data:
            try:
                self._engine.add_data(dict(data))
            except OpaError as error:
                raise PolicyError(f"data documents: {_message(error)}") from error

    def _add(self, module: PolicyModule) -> str:
        try:
            self._engine.add_policy(module.path, module.source)
            return ""
        except OpaError as error:
            if not any(hint in error.message for hint in V0_HINTS):
                return _message(error)
            try:
                self._engine.add_policy(module.path, upgrade_to_v1(module.source))
                return ""
            except OpaError as upgraded_error:
                return _message(upgraded_error)

    def evaluate(self, path: str, document: Any = NO_INPUT) -> Outcome:
        given = None if document is NO_INPUT else document
        try:
            try:
                value = self._engine.eval_document(path, given, trace=self._trace)
            except (TypeError, ValueError, OverflowError):  # dates and other YAML scalars as text
                value = self._engine.eval_document(path, plain_input(given), trace=self._trace)
            finally:
                self._prints += _trace_lines(self._engine.last_trace)
        except OpaUndefinedError:
            return Outcome(False)
        except OpaError as error:
            raise PolicyError(_message(error)) from error
        return Outcome(True, plain_value(value))

    def evaluate_rules(self, paths: Sequence[str], document: Any = NO_INPUT) -> dict[str, Outcome]:
        """One aggregate query (loaded once per set of rules): the input is encoded once
        and one prepared query answers every rule."""
        package = aggregate_package(paths)
        if package not in self._aggregates:
            try:
                self._engine.add_policy(f"<{package}>", aggregate_module(package, paths))
            except OpaError as error:
                raise PolicyError(_message(error)) from error
            self._aggregates.add(package)
        return split_results(paths, self.evaluate(f"{package}.results", document))

    def evaluate_batch(self, path: str, documents: Sequence[Any]) -> list[Outcome]:
        return [self.evaluate(path, document) for document in documents]

    def take_prints(self) -> list[str]:
        prints, self._prints = self._prints, []
        return prints


