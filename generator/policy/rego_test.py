"""`opa test` on any engine: evaluate every `test_*` rule, all in one query.

A test passes when it evaluates to `true`; `false` or undefined fails; an evaluation error
is an error (never a pass). Tests run with no input, so they cannot leak input into each
other. One aggregate query answers every test (OPA prepares each distinct query once, at
about 85 ms apiece); when it fails, each test is evaluated on its own so the error is
reported against the test that raised it.
"""
from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.policy import PolicyError
from generator.policy.engine import PolicySet, load_data_paths, load_modules
from generator.policy.engines import DEFAULT_ENGINE

__all__ = ["TestCase", "TestReport", "run_tests", "is_test_rule"]


@dataclass(frozen=True)
class TestCase:
    package: str
    name: str
    file: str
    status: str  # pass | fail | error
    message: str = ""

    __test__ = False  # not a pytest class


@dataclass(frozen=True)
class TestReport:
    cases: tuple[TestCase, ...]
    engine: str = ""
    prints: tuple[str, ...] = ()

    __test__ = False

    def count(self, status: str) -> int:
        return sum(1 for case in self.cases if case.status == status)

    @property
    def ok(self) -> bool:
        return all(case.status == "pass" for case in self.cases)

    def summary(self) -> str:
        text = f"{len(self.cases)} tests, {self.count('pass')} passed, {self.count('fail')} failed"
        errors = self.count("error")
        return f"{text}, {errors} errors" if errors else text


def is_test_rule(name: str) -> bool:
    return name.startswith("test_")


def _selected(package: str, patterns: Sequence[str]) -> bool:
    """conftest's `--namespace`, wildcards included (`main.*`)."""
    return not patterns or any(fnmatch.fnmatchcase(package, pattern) for pattern in patterns)


def _verdict(package: str, rule: str, file: str, defined: bool, value: Any) -> TestCase:
    if defined and value is True:
        return TestCase(package, rule, file, "pass")
    return TestCase(package, rule, file, "fail", "undefined" if not defined else f"evaluated to {json.dumps(value)}")


def _one_by_one(policies: PolicySet, tests: Sequence[tuple[str, str, str]]) -> list[TestCase]:
    cases = []
    for package, rule, file in tests:
        try:
            defined, value = policies.query(package, rule)
        except PolicyError as error:
            cases.append(TestCase(package, rule, file, "error", str(error).removeprefix(f"data.{package}.{rule}: ")))
            continue
        cases.append(_verdict(package, rule, file, defined, value))
    return cases


def run_tests(paths: Sequence[str | Path], *, engine: str = DEFAULT_ENGINE, data_paths: Sequence[str | Path] = (),
              namespaces: Sequence[str] = (), allow_network: bool = False, capabilities: set[str] | None = None,
              engine_options: Mapping[str, Any] | None = None) -> TestReport:
    """Run every `test_*` rule of the packages under `paths` (including *_test.rego)."""
    modules, data = load_modules(paths, include_tests=True)
    data = load_data_paths(data_paths, into=data)
    policies = PolicySet(modules, data, engine=engine, rule_filter=is_test_rule, allow_network=allow_network,
                         engine_options=engine_options, capabilities=capabilities)
    tests = [(package, rule, policies.policy_file(package, rule)) for package in policies.namespaces
             if _selected(package, namespaces) for rule in policies.rules[package]]
    try:
        values = policies.aggregate()
        cases = [_verdict(package, rule, file, f"{package}/{rule}" in values, values.get(f"{package}/{rule}"))
                 for package, rule, file in tests]
    except PolicyError:
        cases = _one_by_one(policies, tests)
    return TestReport(tuple(cases), engine=policies.engine_label, prints=tuple(policies.take_prints()))
