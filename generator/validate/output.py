"""`modelops validate` output in kubeconform's formats: text, json, junit, tap.

The shapes follow kubeconform's (pkg/output): the same statuses, JSON keys and summary
line, so scripts written against kubeconform keep working. One addition everywhere: each
problem carries its own `file:line:col`.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

from generator.validate.manifests import Problem, ResourceResult
from generator.xmlsafe import make_xml_safe

__all__ = ["OUTPUTS", "OutputOptions", "render_results"]


@dataclass(frozen=True)
class OutputOptions:
    summary: bool = False
    verbose: bool = False  # also list valid and skipped resources
    stdin: bool = False


def _counts(results: list[ResourceResult]) -> dict[str, int]:
    counts = {"valid": 0, "invalid": 0, "errors": 0, "skipped": 0}
    for result in results:
        key = {"error": "errors"}.get(result.status, result.status)
        if key in counts:
            counts[key] += 1
    return counts


def _where(result: ResourceResult, problem: Problem | None = None) -> str:
    line = problem.line if problem is not None and problem.line else result.line
    column = problem.column if problem is not None and problem.line else 0
    return f"{result.file}:{line}:{max(column, 1)}" if line else result.file


def _problem_text(problem: Problem) -> str:
    return f"{problem.path}: {problem.message}" if problem.path else problem.message


def _error_text(result: ResourceResult) -> str:
    return "; ".join(_problem_text(p) for p in result.problems) if result.problems else result.message


def render_text(results: list[ResourceResult], options: OutputOptions) -> str:
    lines = []
    for result in results:
        if result.status == "invalid":
            lines += [f"{_where(result, p)} - {result.kind} {result.name} is invalid: {_problem_text(p)}"
                      for p in result.problems]
        elif result.status == "error":
            subject = f"{result.kind} {result.name} " if result.kind and result.name else ""
            lines.append(f"{_where(result)} - {subject}failed validation: {result.message}")
        elif options.verbose and result.status == "valid":
            lines.append(f"{result.file} - {result.kind} {result.name} is valid")
        elif options.verbose and result.status == "skipped":
            lines.append(f"{result.file} - {result.name} {result.kind} skipped")
    if options.summary:
        lines.append(_summary_line(results, options))
    return "".join(line + "\n" for line in lines)


def _summary_line(results: list[ResourceResult], options: OutputOptions) -> str:
    counts = _counts(results)
    resources = sum(counts.values())
    files = len({r.file for r in results})
    found = "parsing stdin" if options.stdin else f"in {files} file{'s' if files > 1 else ''}"
    return (f"Summary: {resources} resource{'s' if resources > 1 else ''} found {found} - Valid: {counts['valid']}, "
            f"Invalid: {counts['invalid']}, Errors: {counts['errors']}, Skipped: {counts['skipped']}")


def render_json(results: list[ResourceResult], options: OutputOptions) -> str:
    listed = [r for r in results if r.status in ("invalid", "error") or (options.verbose and r.status != "empty")]
    document: dict[str, object] = {"resources": [_json_result(r) for r in listed]}
    if options.summary:
        document["summary"] = _counts(results)
    return json.dumps(document, indent=2) + "\n"


def _json_result(result: ResourceResult) -> dict[str, object]:
    data: dict[str, object] = {"filename": result.file, "kind": result.kind, "name": result.name,
                               "version": result.version, "status": "status" + result.status.capitalize(),
                               "msg": _error_text(result) if result.failed else "", "line": result.line}
    if result.problems:
        data["validationErrors"] = [{"path": "/" + "/".join(map(str, p.parts)), "msg": p.message, "line": p.line,
                                     "column": p.column, "source": p.source} for p in result.problems]
    return data


def render_tap(results: list[ResourceResult], _options: OutputOptions) -> str:
    lines = ["TAP version 13"] if results else []
    for index, result in enumerate(results, start=1):
        name = f"{result.kind} {result.name}".strip()
        if result.status == "valid":
            lines.append(f"ok {index} - {result.file} ({name})")
        elif result.status == "invalid":
            lines.append(f"not ok {index} - {_where(result, result.problems[0])} ({name}): {_error_text(result)}")
        elif result.status == "empty":
            lines.append(f"ok {index} - {result.file} (empty)")
        elif result.status == "error":
            lines.append(f"not ok {index} - {_where(result)}: {result.message}")
        else:
            lines.append(f"ok {index} - {result.file} ({name}) # skip")
    lines.append(f"1..{len(results)}")
    return "".join(line + "\n" for line in lines)


def render_junit(results: list[ResourceResult], _options: OutputOptions) -> str:
    counted = [r for r in results if r.status != "empty"]
    counts = _counts(counted)
    root = ET.Element("testsuites", name="kubeconform", time="0", tests=str(len(counted)),
                      failures=str(counts["invalid"]), disabled=str(counts["skipped"]), errors=str(counts["errors"]))
    suites: dict[str, ET.Element] = {}
    for result in counted:
        if result.file not in suites:
            suites[result.file] = ET.SubElement(root, "testsuite", name=result.file, id=str(len(suites) + 1),
                                                tests="0", failures="0", errors="0", disabled="0", skipped="0")
        _junit_case(suites[result.file], result)
    make_xml_safe(root)  # a resource's name or key may hold control characters
    ET.indent(root, "  ")
    return ET.tostring(root, encoding="unicode") + "\n"


def _junit_case(suite: ET.Element, result: ResourceResult) -> None:
    name = f"{result.namespace}/{result.name}" if result.namespace else result.name
    case = ET.SubElement(suite, "testcase", name=name, classname=f"{result.kind}@{result.version}", time="0")
    suite.set("tests", str(int(suite.get("tests", "0")) + 1))
    if result.status == "invalid":
        for problem in result.problems:
            ET.SubElement(case, "failure", message=f"{_where(result, problem)}: {_problem_text(problem)}", type="")
        suite.set("failures", str(int(suite.get("failures", "0")) + 1))
    elif result.status == "error":
        ET.SubElement(case, "error", message=f"{_where(result)}: {result.message}", type="")
        suite.set("errors", str(int(suite.get("errors", "0")) + 1))
    elif result.status == "skipped":
        ET.SubElement(case, "skipped", message="")
        suite.set("skipped", str(int(suite.get("skipped", "0")) + 1))


OUTPUTS: dict[str, Callable[[list[ResourceResult], OutputOptions], str]] = {
    "text": render_text, "json": render_json, "junit": render_junit, "tap": render_tap,
}


def render_results(fmt: str, results: list[ResourceResult], options: OutputOptions) -> str:
    return OUTPUTS[fmt](results, options)
