"""`policy test` reports: stdout (opa test's lines and summary), json, tap, junit, github."""
from __future__ import annotations

import json
from collections.abc import Callable
from xml.etree import ElementTree as ET

from generator.policy.rego_test import TestCase, TestReport

__all__ = ["render_test_report"]

_LABELS = {"fail": "FAIL", "error": "ERROR", "pass": "PASS"}


def _name(case: TestCase) -> str:
    return f"data.{case.package}.{case.name}"


def _stdout(report: TestReport, _quiet: bool) -> str:
    """opa test's shape: a line per test that did not pass, then the summary."""
    lines = [f"{_LABELS[c.status]}: {c.file}: {_name(c)}" + (f": {c.message}" if c.message else "")
             for c in report.cases if c.status != "pass"]
    return "\n".join([*lines, report.summary()])


def _json(report: TestReport, _quiet: bool) -> str:
    cases = [{"package": c.package, "name": c.name, "file": c.file, "status": c.status, "message": c.message}
             for c in report.cases]
    return json.dumps({"engine": report.engine, "summary": report.summary(), "tests": cases}, indent=2)


def _tap(report: TestReport, _quiet: bool) -> str:
    lines = [f"1..{len(report.cases)}"]
    for number, case in enumerate(report.cases, 1):
        status = "ok" if case.status == "pass" else "not ok"
        lines.append(f"{status} {number} - {_name(case)}" + (f": {case.message}" if case.message else ""))
    return "\n".join(lines)


def _junit(report: TestReport, _quiet: bool) -> str:
    suite = ET.Element("testsuite", name="modelops policy test", tests=str(len(report.cases)),
                       failures=str(report.count("fail")), errors=str(report.count("error")))
    for case in report.cases:
        element = ET.SubElement(suite, "testcase", classname=f"data.{case.package}", name=case.name, file=case.file)
        if case.status != "pass":
            ET.SubElement(element, "failure" if case.status == "fail" else "error", message=case.message)
    return ET.tostring(suite, encoding="unicode")


def _github(report: TestReport, _quiet: bool) -> str:
    lines = [f"::error file={c.file},title={_name(c)}::{c.status}: {c.message or 'failed'}"
             for c in report.cases if c.status != "pass"]
    lines.append(report.summary())
    return "\n".join(lines)


RENDERERS: dict[str, Callable[[TestReport, bool], str]] = {
    "stdout": _stdout, "json": _json, "tap": _tap, "junit": _junit, "github": _github,
}


def render_test_report(report: TestReport, output: str) -> str:
    return RENDERERS[output](report, False)
