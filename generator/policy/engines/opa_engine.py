"""OPA itself, in-process (PyPI `opa-golib-python-bindings`): the reference semantics.

conftest and Gatekeeper embed this engine. It reads Rego v1 only, so a module that OPA
rejects for v0 syntax is given the v0 -> v1 syntax upgrade (`opa fmt --v0-v1`'s edits,
same lines) and added again; nothing else is ever rewritten. The binding declares
Python >= 3.14; on 3.11-3.13 install it with `pip install --ignore-requires-python`.
"""
from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opa_bindings import OpaEngine, OpaError, OpaUndefinedError

from generator.policy import PolicyError
from generator.policy.engines.base import NO_INPUT, Outcome, plain_value
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


class OpaInProcessEngine:
    name = "opa"

    def __init__(self) -> None:
        self._engine = OpaEngine()
        self._prints: list[str] = []
        self._engine.print_handler = lambda message, location: self._prints.append(f"{location}: {message}")
        for name, (arity, function) in V0_BUILTINS.items():
            self._engine.register_function(name, function, arity=arity)

    def version(self) -> str:
        try:
            return "bindings " + importlib.metadata.version("opa-golib-python-bindings")
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover
            return "unknown"

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
        try:
            value = self._engine.eval_document(path, None if document is NO_INPUT else document)
        except OpaUndefinedError:
            return Outcome(False)
        except OpaError as error:
            raise PolicyError(_message(error)) from error
        return Outcome(True, plain_value(value))

    def evaluate_batch(self, path: str, documents: Sequence[Any]) -> list[Outcome]:
        return [self.evaluate(path, document) for document in documents]

    def take_prints(self) -> list[str]:
        prints, self._prints = self._prints, []
        return prints


