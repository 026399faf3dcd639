"""conftest's `-o table` and `-o junit` for `policy eval` (stdout, json, tap and github
are in `conftest_results`)."""
from __future__ import annotations

from collections.abc import Sequence
from xml.etree import ElementTree as ET

from generator.policy.conftest_results import CheckResult

__all__ = ["render_table", "render_junit"]


def _rows(results: Sequence[CheckResult]) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    for result in results:
        where = (result.filename, result.namespace)
        rows += [("success", *where, "SUCCESS")] * result.successes
        rows += [("exception", *where, e.msg) for e in result.exceptions]
        rows += [("warning", *where, r.msg) for r in result.warnings]
        rows += [("failure", *where, r.msg) for r in result.failures]
    return rows


def render_table(results: Sequence[CheckResult]) -> str:
    """A header row and one row per result, in conftest's order; nothing when empty."""
    rows = _rows(results)
    if not rows:
        return ""
    header = ("RESULT", "FILE", "NAMESPACE", "MESSAGE")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(row: Sequence[str]) -> str:
        return "|" + "|".join(f" {cell:<{width}} " for cell, width in zip(row, widths, strict=True)) + "|"

    return "\n".join([rule, line(header), rule, *(line(row) for row in rows), rule])


def render_junit(results: Sequence[CheckResult]) -> str:
    """One testsuite, a testcase per result; failures fail, warnings only when asked."""
    suite = ET.Element("testsuite", name="conftest")
    failures = 0
    for kind, filename, namespace, message in _rows(results):
        case = ET.SubElement(suite, "testcase", classname="conftest", name=f"{filename} - {namespace} - {message}")
        if kind == "failure":
            failures += 1
            ET.SubElement(case, "failure", message=message)
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
