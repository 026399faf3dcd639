"""GitHub Actions workflow commands: annotations on the pull request's files."""
from __future__ import annotations

from generator.findings import Finding, sort_findings
from generator.report.model import ReportInput, summarize

__all__ = ["escape_data", "escape_property", "render"]

COMMANDS = {"deny": "error", "warn": "warning", "info": "notice"}


def escape_data(value: str) -> str:
    # Same order as @actions/core: '%' first so the escapes themselves survive.
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _message(finding: Finding) -> str:
    resource = "/".join(p for p in (finding.resource_kind, finding.resource_name) if p)
    scope = "/".join(p for p in (finding.environment, finding.model) if p)
    text = finding.message + "".join(f" ({part})" for part in (resource, scope) if part)
    if finding.remediation:
        text += f"\nRemediation: {finding.remediation}"
    if finding.waived:
        text += (f"\nWaived ({finding.waiver_reason}, {finding.waiver_owner},"
                 f" expires {finding.waiver_expires})")
    return text


def annotation(finding: Finding) -> str:
    command = "notice" if finding.waived else COMMANDS.get(finding.level, "error")
    properties = []
    path = (finding.file or finding.rendered_file).replace("\\", "/")
    if path:
        properties.append(("file", path))
        if finding.line >= 1:
            properties.append(("line", str(finding.line)))
            if finding.column >= 1:
                properties.append(("col", str(finding.column)))
    properties.append(("title", finding.rule))
    rendered = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{command} {rendered}::{escape_data(_message(finding))}"


def render(report: ReportInput) -> str:
    lines = [annotation(finding) for finding in sort_findings(report.findings)]
    lines.extend(f"::error title=modelops::{escape_data(error)}" for error in report.errors)
    summary = summarize(report)
    lines.append(summary.line() + (" - passed" if summary.passed else " - failed")
                 + (f" ({report.engine})" if report.engine else ""))
    return "\n".join(lines) + "\n"
