"""regorus (Microsoft's Rust Rego engine; PyPI `gordon-to-regorus`): the embedded default.

It parses Rego v0 and v1 itself, so modules load exactly as written: each is tried as
v1 and, when that does not parse, as v0 (what OPA 0.x and conftest's `--rego-version v0`
would read). Built-in errors are always raised, never turned into undefined. An engine
is bound to the thread that made it (the GIL is held while it evaluates: scale with
processes, as `check` does).
"""
from __future__ import annotations

import importlib.metadata
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import regorus

from generator.policy import PolicyError
from generator.policy.engines.base import NO_INPUT, Outcome, one_line, plain_input
from generator.policy.engines.v0_builtins import V0_BUILTINS
from generator.policy.rego_v1 import is_v1

if TYPE_CHECKING:
    from generator.policy.engine import PolicyModule

__all__ = ["RegorusEngine", "regorus_message"]

UNDEFINED = '"<undefined>"'  # what eval_rule_as_json answers for an undefined rule
NO_SUCH_RULE = "not a valid rule path"

_WHERE = re.compile(r"-->\s*(?P<file>.+?):(?P<line>\d+):(?P<col>\d+)")
_ERROR = re.compile(r"^error:\s*(?P<message>.+)$", re.MULTILINE)


def regorus_message(error: BaseException) -> str:
    """`file:line:col: message` from regorus's multi-line diagnostics."""
    text = str(error)
    where, message = _WHERE.search(text), _ERROR.search(text)
    if where and message:
        return f"{where['file']}:{where['line']}:{where['col']}: {message['message'].strip()}"
    return one_line(text)


class RegorusEngine:
    name = "regorus"

    def __init__(self, *, builtins: Mapping[str, tuple[int, Callable[..., Any]]] | None = None) -> None:
        self._engine = regorus.Engine()
        self._engine.set_gather_prints(True)
        for name, (arity, function) in {**V0_BUILTINS, **(builtins or {})}.items():
            self._engine.add_extension(name, arity, function)
        self._with_input: Any = None  # a clone that inputs are set on; `_engine` never has one

    def version(self) -> str:
        try:
            return importlib.metadata.version("gordon-to-regorus")
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - built from source
            return "unknown"

    def load(self, modules: Sequence[PolicyModule], data: Mapping[str, Any]) -> None:
        errors = [problem for module in modules if (problem := self._add(module))]
        if errors:
            raise PolicyError("policies failed to compile:\n" + "\n".join(f"  {e}" for e in errors))
        if data:
            self._engine.add_data(dict(data))

    def _add(self, module: PolicyModule) -> str:
        """Add one module as v1, else as v0; the problem text when it is neither."""
        try:
            self._engine.add_policy(module.path, module.source)
            return ""
        except RuntimeError as v1_error:
            self._engine.set_rego_v0(True)
            try:
                self._engine.add_policy(module.path, module.source)
                return ""
            except RuntimeError as v0_error:
                return regorus_message(v1_error if is_v1(module.source) else v0_error)
            finally:
                self._engine.set_rego_v0(False)

    def evaluate(self, path: str, document: Any = NO_INPUT) -> Outcome:
        engine = self._engine if document is NO_INPUT else self._set_input(document)
        return self._rule(engine, path)

    def evaluate_rules(self, paths: Sequence[str], document: Any = NO_INPUT) -> dict[str, Outcome]:
        """The input set once, then a rule at a time: faster in regorus than one aggregate
        query (0.65 against 0.92 ms for the built-in library's 27 rules)."""
        engine = self._engine if document is NO_INPUT else self._set_input(document)
        return {path: self._rule(engine, path) for path in paths}

    def _rule(self, engine: Any, path: str) -> Outcome:
        try:
            # as JSON: the binding cannot build a Python set of objects (a deny set of {"msg": ...})
            text = engine.eval_rule_as_json(f"data.{path}")
        except RuntimeError as error:
            if str(error).startswith(NO_SUCH_RULE):  # as OPA: a path with no rule is undefined
                return Outcome(False)
            raise PolicyError(regorus_message(error)) from error
        return Outcome(False) if text == UNDEFINED else Outcome(True, json.loads(text))

    def _set_input(self, document: Any) -> Any:
        """The clone that holds `document` as input (regorus cannot unset an input, and
        tests must run with none)."""
        if self._with_input is None:
            self._with_input = self._engine.clone()
        try:
            self._with_input.set_input(document)
        except (TypeError, ValueError, OverflowError, RuntimeError):
            self._with_input.set_input(plain_input(document))  # dates and other YAML scalars as text
        return self._with_input

    def evaluate_batch(self, path: str, documents: Sequence[Any]) -> list[Outcome]:
        return [self.evaluate(path, document) for document in documents]

    def take_prints(self) -> list[str]:
        engines = [self._engine] + ([self._with_input] if self._with_input is not None else [])
        return [str(line) for engine in engines for line in engine.take_prints()]
