"""JUnit XML: one testsuite per environment/model pair, one testcase per finding.

Only findings at or above the check's failing level (`--fail-on`) are failures; weaker
ones are passing testcases that carry their text. The shape (testsuites > testsuite >
testcase[classname, name] > failure[message]) is
what pytest, junitparser, GitLab and Jenkins read. Pairs without findings get one
passing testcase so a CI dashboard still shows them as checked.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import groupby

from generator.findings import Finding, severity_rank, sort_findings
from generator.report.model import ReportInput, location, pairs
from generator.xmlsafe import make_xml_safe

__all__ = ["render"]

PASSING_NAME = "policy check"


def _classname(environment: str, model: str) -> str:
    return ".".join(["modelops", *(part for part in (environment, model) if part)])


def _testcase(finding: Finding, fail_on: str) -> ET.Element:
    """A finding below the failing level (a warning under --fail-on deny) passes, with its text kept."""
    failing = severity_rank(finding.level) >= severity_rank(fail_on)
    resource = finding.resource_label()
    name = " ".join(p for p in (finding.rule, resource, location(finding)) if p)
    case = ET.Element("testcase", classname=_classname(finding.environment, finding.model),
                      name=name, file=finding.file or finding.rendered_file, time="0")
    if finding.line >= 1:
        case.set("line", str(finding.line))
    details = "\n".join(p for p in (f"{location(finding)}: [{finding.level.upper()}] {finding.rule}",
                                    finding.message,
                                    f"remediation: {finding.remediation}" if finding.remediation else "") if p)
    if finding.waived:
        reason = f"waived ({finding.waiver_reason}, {finding.waiver_owner}, expires {finding.waiver_expires})"
        ET.SubElement(case, "skipped", message=reason).text = details
    elif failing:
        ET.SubElement(case, "failure", message=finding.message, type=finding.level).text = details
    else:
        ET.SubElement(case, "system-out").text = details
    return case


def _suite(name: str, cases: list[ET.Element]) -> ET.Element:
    suite = ET.Element("testsuite", name=name)
    suite.extend(cases)
    for attribute, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        suite.set(attribute, str(sum(1 for case in cases if case.find(tag) is not None)))
    suite.set("tests", str(len(cases)))
    suite.set("time", "0")
    return suite


def _suites(report: ReportInput) -> list[ET.Element]:
    grouped = {key: [_testcase(f, report.fail_on) for f in group] for key, group in
               groupby(sort_findings(report.findings), key=lambda f: (f.environment, f.model))}
    for model, environment in pairs(report):
        grouped.setdefault((environment, model), [
            ET.Element("testcase", classname=_classname(environment, model), name=PASSING_NAME, time="0")])
    errors = []
    for number, error in enumerate(report.errors, start=1):
        case = ET.Element("testcase", classname="modelops", name=f"checker error {number}", time="0")
        ET.SubElement(case, "error", message=error.splitlines()[0] if error else "", type="error").text = error
        errors.append(case)
    if errors:
        grouped[("", "")] = grouped.get(("", ""), []) + errors
    return [_suite("/".join(p for p in key if p) or "modelops", cases) for key, cases in sorted(grouped.items())]


def render(report: ReportInput) -> str:
    root = ET.Element("testsuites", name="modelops")
    suites = _suites(report)
    for suite in suites:
        properties = ET.Element("properties")
        ET.SubElement(properties, "property", name="engine", value=report.engine)
        suite.insert(0, properties)
    root.extend(suites)
    for attribute in ("tests", "failures", "errors", "skipped"):
        root.set(attribute, str(sum(int(suite.get(attribute, "0")) for suite in suites)))
    root.set("time", "0")
    make_xml_safe(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
