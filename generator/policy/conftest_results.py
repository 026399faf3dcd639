"""`conftest test`'s results for `policy eval`: counting, exceptions and its output formats.

One CheckResult per file (or "Combined") and namespace, counted as conftest counts; then
stdout, json, tap or github text as conftest's `output/*.go` writes it, and its exit codes.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from generator.errors import ModelopsError
from generator.policy.conftest_inputs import combined_input
from generator.policy.engine import PolicyModule, RuleResult, decision_rule_definitions, is_decision_rule
from generator.policy.exceptions import RuleException
from generator.policy.rego_tokens import tokenize
from generator.policy.rego_v1 import is_v1

__all__ = ["CheckResult", "check", "render_stdout", "render_json", "render_tap", "render_github", "exit_code",
           "reject_if_without_contains"]


@dataclass
class CheckResult:
    """conftest's per file and namespace result."""

    filename: str
    namespace: str
    successes: int = 0
    warnings: list[RuleResult] = field(default_factory=list)
    failures: list[RuleResult] = field(default_factory=list)
    exceptions: list[RuleException] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.successes + len(self.warnings) + len(self.failures) + len(self.exceptions)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"filename": "" if self.filename == "-" else self.filename,
                                "namespace": self.namespace, "successes": self.successes}
        for key, items in (("warnings", self.warnings), ("failures", self.failures)):
            if items:
                data[key] = [{"msg": r.msg, "metadata": _sorted_keys({**r.details, "query": _query(r)})}
                             for r in items]
        if self.exceptions:
            data["exceptions"] = [{"msg": e.msg} for e in self.exceptions]
        return data


def _query(result: RuleResult) -> str:
    """The query conftest adds to every result's metadata (`data.main.deny`)."""
    return f"data.{result.namespace}.{result.rule}"


def _sorted_keys(value: Any) -> Any:
    """Objects with sorted keys, as Go's encoding/json writes maps."""
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(item) for item in value]
    return value


_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def render_json(results: Sequence[CheckResult]) -> str:
    """conftest's `-o json`: tab-indented, UTF-8, and `<`, `>`, `&` escaped as Go escapes them."""
    text = json.dumps([r.to_json() for r in results], indent="\t", ensure_ascii=False, default=str)
    return re.sub("[<>&\u2028\u2029]", lambda m: _GO_ESCAPES[m.group()], text)


def check(policies: Any, configurations: dict[str, list[Any]], namespaces: Sequence[str], *,
          combine: bool = False, workers: int = 2) -> list[CheckResult]:
    """conftest's results: one CheckResult per file (or "Combined") and namespace.

    Counted as conftest counts: per document, a rule that produced nothing is one success,
    an exempted rule is its exceptions, and successes are topped up to the number of rule
    bodies in the package (two `deny` bodies are two tests). Only strings and objects are
    messages: a rule whose value is `true` (`deny if { ... }`) passes, and other values in
    a set are dropped, as conftest reads query results.
    """
    inputs = {"Combined": [combined_input(configurations)]} if combine else configurations
    flat = [(name, doc) for name, docs in inputs.items() for doc in docs]
    outcomes = policies.evaluate_many_detailed([doc for _, doc in flat], namespaces, workers=workers)
    bodies = {ns: decision_rule_definitions(policies.modules, ns) for ns in namespaces}
    results = {(name, ns): CheckResult(name, ns) for name in inputs for ns in namespaces}
    for (name, _), (found, exempted) in zip(flat, outcomes, strict=True):
        for ns in namespaces:
            mine = [r for r in found if r.namespace == ns and isinstance(r.raw, (str, dict))]
            excepted = [e for e in exempted if e.namespace == ns]
            fired = {r.rule for r in mine} | {e.rule for e in excepted}
            successes = sum(1 for rule in policies.rules.get(ns, ()) if rule not in fired)
            counted = successes + len(mine) + len(excepted)
            result = results[(name, ns)]
            result.successes += successes + max(0, bodies[ns] - counted)
            result.warnings += [r for r in mine if not r.failure]
            result.failures += [r for r in mine if r.failure]
            result.exceptions += excepted
    return list(results.values())


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def render_stdout(results: Sequence[CheckResult], *, suppress_exceptions: bool = False) -> str:
    lines = []
    for result in results:
        where = "-" if result.filename == "-" else f"- {result.filename}"
        prefix = f"{where} - {result.namespace} -"
        if not result.total:
            lines.append(f"? {prefix} no policies found")
            continue
        lines += [f"WARN {prefix} {r.msg}" for r in result.warnings]
        lines += [f"FAIL {prefix} {r.msg}" for r in result.failures]
        lines += [] if suppress_exceptions else [f"EXCP {prefix} {e.msg}" for e in result.exceptions]
    return "\n".join([*lines, "", _summary(results)])


def _summary(results: Sequence[CheckResult]) -> str:
    successes = sum(r.successes for r in results)
    warnings = sum(len(r.warnings) for r in results)
    failures = sum(len(r.failures) for r in results)
    exceptions = sum(len(r.exceptions) for r in results)
    total = successes + warnings + failures + exceptions
    return (f"{_plural(total, 'test')}, {successes} passed, {_plural(warnings, 'warning')}, "
            f"{_plural(failures, 'failure')}, {_plural(exceptions, 'exception')}")


def render_tap(results: Sequence[CheckResult]) -> str:
    """conftest's `-o tap`: a plan per file and namespace, failures, warnings, exceptions and
    successes numbered in that order (conftest stops at the first result with no tests)."""
    lines: list[str] = []
    for result in results:
        if not result.total:
            break
        where = "-" if result.filename == "-" else f"- {result.filename}"
        prefix = f"{where} - {result.namespace} -"
        items = [("not ok", r.msg, "") for r in result.failures]
        items += [("not ok", r.msg, "# warnings") for r in result.warnings]
        items += [("ok", e.msg, "# exceptions") for e in result.exceptions]
        items += [("ok", "SUCCESS", "# successes")] * result.successes
        lines.append(f"1..{result.total}")
        for number, (status, msg, heading) in enumerate(items, start=1):
            if heading and (number == 1 or items[number - 2][2] != heading):
                lines.append(heading)
            lines.append(f"{status} {number} {prefix} {msg}")
    return "\n".join(lines)


def render_github(results: Sequence[CheckResult]) -> str:
    """conftest's `-o github`: GitHub Actions workflow commands, one group per file and
    namespace, every message at line 1 of its file, then the summary line."""
    lines: list[str] = []
    for result in results:
        where = f"file={result.filename},line=1"
        lines.append(f"::group::Testing {json.dumps(result.filename, ensure_ascii=False)} against {result.total} "
                     f"policies in namespace {json.dumps(result.namespace, ensure_ascii=False)}")
        lines += [f"::error {where}::{r.msg}" for r in result.failures]
        lines += [f"::warning {where}::{r.msg}" for r in result.warnings]
        lines += [f"::notice {where}::{e.msg}" for e in result.exceptions]
        lines += [f"::notice {where}::Number of successful checks: {result.successes}", "::endgroup::"]
    return "\n".join([*lines, _summary(results)])


def exit_code(results: Sequence[CheckResult], *, fail_on_warn: bool) -> int:
    """conftest: 1 on failures; with --fail-on-warn, 2 on failures and 1 on warnings only."""
    failed = any(r.failures for r in results)
    warned = any(r.warnings for r in results)
    if fail_on_warn:
        return 2 if failed else 1 if warned else 0
    return 1 if failed else 0


def _if_without_contains(source: str) -> int:
    """Line of the first `deny[msg] if { ... }` head in a v1 module, else 0."""
    tokens = [t for t in tokenize(source) if t.kind not in ("ws", "comment")]
    line, depth, line_start = 1, 0, True
    for i, token in enumerate(tokens):
        if token.kind == "nl":
            line, line_start = line + 1, True
            continue
        if depth == 0 and line_start and is_decision_rule(token.text) and i + 1 < len(tokens) \
                and tokens[i + 1].text == "[":
            close, level = i + 1, 0
            for close in range(i + 1, len(tokens)):
                level += {"[": 1, "]": -1}.get(tokens[close].text, 0)
                if level == 0:
                    break
            after = next((t for t in tokens[close + 1:] if t.kind != "nl"), None)
            if after is not None and after.text == "if":
                return line
        depth += token.kind == "punct" and token.text in ("(", "[", "{")
        depth -= token.kind == "punct" and token.text in (")", "]", "}")
        line_start = False
    return 0


def reject_if_without_contains(modules: Sequence[PolicyModule]) -> None:
    """conftest refuses `deny[msg] if { ... }`: in Rego v1 it is an object rule
    (`deny[msg] := true`), not a set of messages, and would never report anything."""
    for module in modules:
        line = _if_without_contains(module.source) if is_v1(module.source) else 0
        if line:
            raise ModelopsError(f"{module.path}:{line}: rule is using 'if' keyword without 'contains' keyword "
                                f"(write `deny contains msg if {{ ... }}`)")
