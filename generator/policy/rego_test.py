"""`opa test` for regopy, which has no test runner: evaluate every `test_*` rule.

A test passes when it evaluates to `true`; `false` or undefined fails; an evaluation error
is an error (never a pass). Each test runs on a fresh interpreter with no input, so tests
cannot leak input into each other.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from generator.policy import PolicyError
from generator.policy.engine import PolicySet

__all__ = ["TestCase", "TestReport", "run_tests"]


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


def _is_test(name: str) -> bool:
    return name.startswith("test_")


def _run_one(policies: PolicySet, package: str, rule: str) -> TestCase:
    file = policies.policy_file(package, rule)
    try:
        defined, value = policies.query(package, rule, fresh=True)
    except PolicyError as error:
        return TestCase(package, rule, file, "error", str(error))
    if defined and value is True:
        return TestCase(package, rule, file, "pass")
    why = "undefined" if not defined else f"evaluated to {value!r}"
    return TestCase(package, rule, file, "fail", why)


def run_tests(paths: Sequence[str | Path]) -> TestReport:
    """Run every `test_*` rule in every package under `paths` (including *_test.rego)."""
    policies = PolicySet.load(paths, include_tests=True, rule_filter=_is_test)
    cases = [_run_one(policies, package, rule)
             for package in policies.namespaces for rule in policies.rules[package]]
    return TestReport(tuple(cases))
