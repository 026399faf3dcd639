"""`opa test` for regopy, which has no test runner: evaluate every `test_*` rule.

A test passes when it evaluates to `true`; `false` or undefined fails; an evaluation error
is an error (never a pass). Tests run on a fresh interpreter with no input, so they cannot
leak input into each other.

rego-cpp 1.5.2 aborts the process compiling `with input as <object>` when a rule it
reaches calls a built-in on input (`sprintf("%v", [input.x])`): a C++ exception. Since a
test has no input of its own, `with input as {"a": 1, "b": 2}` means exactly
`with input.a as 1 with input.b as 2`, which compiles fine, so object literals are split
that way before compiling. Anything else that crashes is contained: evaluation runs in a
child process; a crash while compiling becomes a PolicyError (exit 2), a crash while
running one test an error for that test, and the remaining tests still run.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from generator.policy import PolicyError
from generator.policy.engine import PolicySet, load_modules
from generator.policy.rego_tokens import Token, tokenize

__all__ = ["TestCase", "TestReport", "run_tests", "split_whole_input_with"]


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


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEYWORDS = {"as", "default", "else", "false", "import", "package", "not", "null", "true", "with", "some",
             "in", "if", "contains", "every"}


def _object_pairs(tokens: list[Token], open_idx: int) -> tuple[list[tuple[str, list[Token], list[Token]]], int] | None:
    """(key token text, value tokens, trivia before the key) for each top-level pair of the
    object literal opening at open_idx, and the index of its `}`; None unless every key is
    a plain string."""
    chunks: list[list[Token]] = []
    current: list[Token] = []
    depth = 0
    for j in range(open_idx, len(tokens)):
        tok = tokens[j]
        if tok.kind == "punct" and tok.text in "([{":
            depth += 1
        elif tok.kind == "punct" and tok.text in ")]}":
            depth -= 1
            if depth == 0:
                chunks.append(current)
                pairs = _pairs(chunks)
                return None if pairs is None else (pairs, j)
        if depth == 1 and tok.kind == "punct" and tok.text == ",":
            chunks.append(current)
            current = []
        elif j > open_idx:
            current.append(tok)
    return None


def _pairs(chunks: list[list[Token]]) -> list[tuple[str, list[Token], list[Token]]] | None:
    pairs: list[tuple[str, list[Token], list[Token]]] = []
    for chunk in chunks:
        sig = [i for i, t in enumerate(chunk) if t.significant]
        if not sig:
            pairs.append(("", [], chunk))  # after a trailing comma: keep its newlines
            continue
        key = chunk[sig[0]]
        if len(sig) < 3 or key.kind != "string" or not key.text.startswith('"') or chunk[sig[1]].text != ":":
            return None
        pairs.append((key.text, chunk[sig[1] + 1:], chunk[:sig[0]]))
    return pairs if any(key for key, _, _ in pairs) else None


def _with_target(key: str) -> str:
    name = key[1:-1]
    return f"input.{name}" if _IDENT.match(name) and name not in _KEYWORDS else f"input[{key}]"


def split_whole_input_with(source: str) -> str:
    """`with input as {"a": 1, "b": x}` -> `with input.a as 1 with input.b as x`.

    The same meaning in a test (which has no input of its own); newlines and comments are
    kept, so line numbers still match the file."""
    tokens = tokenize(source)
    out: list[str] = []
    i = 0
    while i < len(tokens):
        sig = [k for k in range(i, min(i + 12, len(tokens))) if tokens[k].significant][:4]
        if (tokens[i].kind == "ident" and tokens[i].text == "with" and len(sig) == 4
                and [tokens[k].text for k in sig[1:]] == ["input", "as", "{"]):
            parsed = _object_pairs(tokens, sig[3])
            if parsed is not None:
                pairs, end = parsed
                for key, value, lead in pairs:
                    out.append("".join(t.text for t in lead if t.kind != "ws"))
                    if key:
                        out.append(f"with {_with_target(key)} as " + "".join(t.text for t in value).strip(" \t") + " ")
                i = end + 1
                continue
        out.append(tokens[i].text)
        i += 1
    return "".join(out)


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
            status = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit status {proc.returncode}"
            reason = f"{_last_line(proc.stderr, 'no message')} ({status})"
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
    """Child process: compile, then run tests from index argv[0] on, one JSON line each.

    Results go to a private copy of stdout; descriptor 1 itself is pointed at stderr, so
    Rego `print()` output (written by C++) cannot interleave with the protocol lines."""
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    paths, start = argv[1:], int(argv[0])
    try:
        tests = _tests(paths)
        modules, data = load_modules(paths, include_tests=True)
        modules = [dataclasses.replace(m, source=split_whole_input_with(m.source)) for m in modules]
        policies = PolicySet(modules, data, rule_filter=_is_test)
    except PolicyError as error:
        print(json.dumps({"load_error": str(error)}), file=protocol, flush=True)
        return 0
    print("compiled", file=protocol, flush=True)
    for package, rule, file in tests[start:]:
        print(json.dumps(asdict(_run_one(policies, package, rule, file))), file=protocol, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1:]))
