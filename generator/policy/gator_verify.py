"""`modelops policy verify`: gator's Suite files, run offline against the Gatekeeper engine.

A Suite (`test.gatekeeper.sh/v1alpha1`) names tests, each a ConstraintTemplate and a
Constraint, and cases: an object (or an AdmissionReview), optional inventory objects and
assertions (`violations: yes|no|N`, an optional `message` regex). Each case passes or
fails as in `gator verify`; a suite that cannot be read is an error (exit 2).
"""
from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import ModelopsError
from generator.policy.engines import DEFAULT_ENGINE
from generator.policy.engines.options import add_engine_option, engine_choice
from generator.policy.gatekeeper import (
    ConstraintSchemaError,
    GatekeeperSet,
    _bind,
    _classify,
    _where,
    _yaml_files,
    admission_request,
    is_admission_review,
    read_documents,
)
from generator.yamlio import Located

__all__ = ["SUITE_API", "Assertion", "CaseResult", "VerifyReport", "verify_suites", "render_verify", "run_verify",
           "add_verify_command"]

SUITE_API = "test.gatekeeper.sh/v1alpha1"


@dataclass(frozen=True)
class Assertion:
    """gator: `violations` yes (at least one), no (none) or N (exactly N) among results whose
    message matches the `message` regular expression (searched, not anchored)."""

    violations: str | int = "yes"
    message: str | None = None

    @classmethod
    def parse(cls, data: Any) -> Assertion:
        if not isinstance(data, dict):
            raise ModelopsError(f"an assertion must be a mapping, got {data!r}")
        want = data.get("violations", "yes")
        want = {True: "yes", False: "no"}.get(want, want) if isinstance(want, bool) else want
        if not (want in ("yes", "no") or (isinstance(want, int) and want >= 0)):
            raise ModelopsError(f'assertion.violations must be a nonnegative integer, "yes" or "no", got {want!r}')
        message = data.get("message")
        if message is not None:
            try:
                re.compile(str(message))
            except re.error as error:
                raise ModelopsError(f"assertion.message {message!r} is not a regular expression: {error}") from error
        return cls(want, None if message is None else str(message))

    def check(self, messages: Sequence[str]) -> str:
        """The empty string when satisfied, otherwise what went wrong."""
        matching = sum(1 for m in messages if self.message is None or re.search(self.message, m))
        containing = f" containing {self.message!r}" if self.message is not None else ""
        if self.violations == "yes" and matching == 0:
            problem = f"got 0 violations{containing} but want at least 1"
        elif self.violations == "no" and matching:
            problem = f"got {matching} violations{containing} but want none"
        elif isinstance(self.violations, int) and matching != self.violations:
            problem = f"got {matching} violations{containing} but want exactly {self.violations}"
        else:
            return ""
        return f"{problem}: got messages {list(messages)}"


@dataclass(frozen=True)
class CaseResult:
    suite: str
    test: str
    case: str
    status: str  # ok | fail | error | skip
    message: str = ""


@dataclass
class VerifyReport:
    results: list[CaseResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def exit_code(self) -> int:
        return 2 if self.count("error") else 1 if self.count("fail") else 0

    def summary(self) -> str:
        ran = [r for r in self.results if r.status != "skip"]
        failed = self.count("fail") + self.count("error")
        text = f"{len(ran)} tests, {self.count('ok')} passed, {failed} failed"
        return text + (f", {self.count('skip')} skipped" if self.count("skip") else "")


def _suite_files(paths: Sequence[str | Path]) -> list[tuple[Path, Located]]:
    found = []
    for given in paths:
        root = Path(given)
        explicit = root.is_file()
        for file in _yaml_files(root):
            suites = [d for d in read_documents(file) if isinstance(d.data, dict) and d.data.get("kind") == "Suite"]
            if explicit and not suites:
                raise ModelopsError(f"{file}: not a gator Suite (kind: Suite, apiVersion: {SUITE_API})")
            found += [(file, doc) for doc in suites]
    if not found:
        raise ModelopsError(f"no gator Suite files found in {', '.join(str(p) for p in paths)}")
    return found


def _relative(suite: Path, value: Any, what: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ModelopsError(f"{suite}: missing {what}")
    return suite.parent / value


def _load_pair(suite: Path, test: Mapping[str, Any], engine: str,
               engine_options: Mapping[str, Any] | None = None) -> GatekeeperSet:
    template_docs = read_documents(_relative(suite, test.get("template"), "template"))
    constraint_docs = read_documents(_relative(suite, test.get("constraint"), "constraint"))
    templates, _ = _classify(template_docs)
    _, constraints = _classify(constraint_docs)
    if len(templates) != 1 or len(constraints) != 1:
        raise ModelopsError(f"{suite}: test {test.get('name')!r}: want one ConstraintTemplate and one Constraint, "
                            f"got {len(templates)} and {len(constraints)}")
    return _bind(templates, constraints, engine, engine_options)


def _case_objects(suite: Path, case: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The object under review (the file's last document; an AdmissionReview is reviewed as
    its request, as gator does) and the inventory.

    Earlier documents of the object file (a Namespace, say) join the inventory, as the
    first gator releases did; `inventory` files add to it.
    """
    docs = [d.data for d in read_documents(_relative(suite, case.get("object"), "object"))]
    if not docs:
        raise ModelopsError(f"{suite}: case {case.get('name')!r}: {case.get('object')} defines no objects")
    inventory = docs[:-1]
    for path in case.get("inventory") or []:
        inventory += [d.data for d in read_documents(_relative(suite, path, "inventory"))]
    return docs[-1], inventory


def _run_case(suite: Path, gk: GatekeeperSet, test: str, case: Mapping[str, Any]) -> CaseResult:
    name = str(case.get("name", ""))
    try:
        raw = case.get("assertions") or []
        if not raw:
            raise ModelopsError("assertions must be non-empty")
        assertions = [Assertion.parse(a) for a in raw]
        obj, inventory = _case_objects(suite, case)
        found = gk.evaluate_request(admission_request(obj), inventory=inventory) if is_admission_review(obj) \
            else gk.evaluate([obj], inventory=inventory)
        messages = [v.msg for v in found]
    except ModelopsError as error:
        return CaseResult(str(suite), test, name, "error", str(error))
    problems = [p for p in (a.check(messages) for a in assertions) if p]
    return CaseResult(str(suite), test, name, "fail" if problems else "ok", problems[0] if problems else "")


def _run_test(suite: Path, test: Mapping[str, Any], wanted: re.Pattern[str] | None,
              engine: str, engine_options: Mapping[str, Any] | None = None) -> list[CaseResult]:
    name = str(test.get("name", ""))
    cases = [c for c in test.get("cases") or [] if isinstance(c, dict)]
    selected = [c for c in cases if wanted is None or wanted.search(name) or wanted.search(str(c.get("name", "")))]
    if test.get("skip") or (wanted is not None and not selected and not wanted.search(name)):
        return [CaseResult(str(suite), name, "", "skip")]
    try:
        gk = _load_pair(suite, test, engine, engine_options)
    except ConstraintSchemaError as error:
        if test.get("invalid"):
            return [CaseResult(str(suite), name, "", "ok")]
        return [CaseResult(str(suite), name, "", "error", str(error))]
    except ModelopsError as error:
        return [CaseResult(str(suite), name, "", "error", str(error))]
    if test.get("invalid"):
        return [CaseResult(str(suite), name, "", "fail", "the constraint is valid, but the test says invalid: true")]
    return [CaseResult(str(suite), name, str(c.get("name", "")), "skip") if c.get("skip")
            else _run_case(suite, gk, name, c) for c in selected]


def verify_suites(paths: Sequence[str | Path], *, run: str | None = None, engine: str = DEFAULT_ENGINE,
                  engine_options: Mapping[str, Any] | None = None) -> VerifyReport:
    """Run every gator Suite found in `paths` (files or directories). Suite files that cannot
    be read raise ModelopsError; problems inside a test are reported as errors."""
    wanted = re.compile(run) if run else None
    report = VerifyReport()
    for file, doc in _suite_files(paths):
        if doc.data.get("skip"):
            report.results.append(CaseResult(str(file), "", "", "skip"))
            continue
        for test in doc.data.get("tests") or []:
            if not isinstance(test, dict):
                raise ModelopsError(f"{_where(doc, ('tests',))}: each test must be a mapping")
            report.results += _run_test(file, test, wanted, engine, engine_options)
    return report


_LABELS = {"ok": "ok", "fail": "FAIL", "error": "ERROR", "skip": "SKIP"}


def render_verify(report: VerifyReport) -> str:
    lines = []
    for result in report.results:
        name = " / ".join(part for part in (result.test, result.case) if part) or "(suite)"
        line = f"{_LABELS[result.status]:<5} {result.suite}: {name}"
        lines.append(f"{line}: {result.message}" if result.message else line)
    lines.append(report.summary())
    return "\n".join(lines)


def run_verify(args: argparse.Namespace) -> int:
    """`modelops policy verify`: 0 all pass, 1 any assertion failed, 2 anything failed to load."""
    try:
        choice = engine_choice(args)
        report = verify_suites(args.suites, run=args.run, engine=choice.name, engine_options=choice.options)
    except re.error as error:
        raise ModelopsError(f"--run {args.run!r}: {error}") from error
    print(render_verify(report))
    return report.exit_code


def add_verify_command(subparsers: Any) -> None:
    """Register `policy verify SUITE...` on the `policy` subcommand's subparsers."""
    verify = subparsers.add_parser("verify", help="run gator verify suites (ConstraintTemplate tests)",
                                   description="Run Gatekeeper `gator verify` Suite files (kind: Suite): "
                                               "exit 0 all pass, 1 failures, 2 load errors.")
    verify.add_argument("suites", nargs="+", metavar="SUITE", help="Suite file or directory of suites")
    verify.add_argument("--run", metavar="REGEX", help="only tests or cases whose name matches REGEX")
    add_engine_option(verify)
    verify.set_defaults(_policy_run=run_verify)
