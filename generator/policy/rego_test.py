"""`opa test` for regopy, which has no test runner: evaluate every `test_*` rule.

A test passes when it evaluates to `true`; `false` or undefined fails; an evaluation error
is an error (never a pass). Tests run on a fresh interpreter with no input, so they cannot
leak input into each other.

Evaluation happens in a child process: some `with` forms abort rego-cpp 1.5.2 outright
(a C++ exception, e.g. `deny[x] with input as {...}` when `deny` builds its message with
sprintf over input). A crash while compiling becomes a PolicyError (exit 2); a crash while
running one test becomes an error for that test, and the remaining tests still run.
"""
from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from generator.policy import PolicyError
from generator.policy.engine import PolicySet, load_modules

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


def _tests(paths: Sequence[str | Path]) -> list[tuple[str, str, str]]:
    """(package, rule, file) of every test, parsed without compiling (the parent never compiles)."""
    modules, _ = load_modules(paths, include_tests=True)
    seen: dict[tuple[str, str], str] = {}
    for module in modules:
        for rule in module.rules:
            if _is_test(rule):
                seen.setdefault((module.package, rule), module.path)
    return [(package, rule, file) for (package, rule), file in sorted(seen.items())]


def _run_one(policies: PolicySet, package: str, rule: str, file: str) -> TestCase:
    try:
        defined, value = policies.query(package, rule, fresh=True)
    except PolicyError as error:
        return TestCase(package, rule, file, "error", str(error).removeprefix(f"data.{package}.{rule}: "))
    if defined and value is True:
        return TestCase(package, rule, file, "pass")
    return TestCase(package, rule, file, "fail", "undefined" if not defined else f"evaluated to {json.dumps(value)}")


def _child(paths: Sequence[str | Path], start: int) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "generator.policy.rego_test", str(start), *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _last_line(text: str, default: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else default


def _run_isolated(paths: Sequence[str | Path], tests: list[tuple[str, str, str]]) -> list[TestCase]:
    cases: list[TestCase] = []
    first = True
    while first or len(cases) < len(tests):
        first = False
        start = len(cases)
        proc = _child(paths, start)
        for line in proc.stdout.splitlines():
            record: dict[str, Any] = json.loads(line) if line.startswith('{"') else {}
            if "load_error" in record:
                raise PolicyError(record["load_error"])
            if "status" in record:
                cases.append(TestCase(**record))
        if proc.returncode == 0 and len(cases) < len(tests):
            raise PolicyError(f"the test runner stopped early: {_last_line(proc.stderr, 'no output')}")
        if proc.returncode != 0 and len(cases) < len(tests):
            reason = _last_line(proc.stderr, f"exit status {proc.returncode}")
            if "compiled" not in proc.stdout:
                raise PolicyError(f"the Rego engine (regopy) crashed compiling the policies: {reason}")
            package, rule, file = tests[len(cases)]
            cases.append(TestCase(package, rule, file, "error", f"the Rego engine crashed running this test: {reason}"))
    return cases


def run_tests(paths: Sequence[str | Path]) -> TestReport:
    """Run every `test_*` rule in every package under `paths` (including *_test.rego)."""
    tests = _tests(paths)
    return TestReport(tuple(_run_isolated(paths, tests)))


def _worker(argv: Sequence[str]) -> int:
    """Child process: compile, then run tests from index argv[0] on, one JSON line each."""
    paths, start = argv[1:], int(argv[0])
    try:
        tests = _tests(paths)
        policies = PolicySet.load(paths, include_tests=True, rule_filter=_is_test)
    except PolicyError as error:
        print(json.dumps({"load_error": str(error)}), flush=True)
        return 0
    print("compiled", flush=True)
    for package, rule, file in tests[start:]:
        print(json.dumps(asdict(_run_one(policies, package, rule, file))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1:]))
