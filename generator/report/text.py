"""Human-readable report: grouped by environment, then model, yamllint-style lines."""
from __future__ import annotations

from itertools import groupby

from generator.findings import Finding, sort_findings
from generator.report.model import ReportInput, location, summarize

__all__ = ["render"]

_INDENT = " " * 6
_RESET = "\033[0m"
_STYLES = {"deny": "\033[1;31m", "warn": "\033[33m", "info": "\033[36m", "waived": "\033[2m",
           "heading": "\033[1m", "passed": "\033[1;32m", "failed": "\033[1;31m"}


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_STYLES[style]}{text}{_RESET}" if color else text


def _finding_lines(finding: Finding, color: bool) -> list[str]:
    style = "waived" if finding.waived else finding.level if finding.level in _STYLES else "deny"
    tag = _paint(f"[{finding.level.upper()}]", style, color)
    resource = "/".join(part for part in (finding.resource_kind, finding.resource_name) if part)
    head = f"{location(finding) or '(no file)'}: {tag} {finding.rule} {finding.message}"
    head = f"  {head} ({resource})" if resource else f"  {head}"
    # Continuation lines stay indented so the group structure survives multi-line messages.
    lines = [head.replace("\n", "\n" + _INDENT)]
    if finding.remediation:
        lines.append(f"{_INDENT}remediation: " + finding.remediation.replace("\n", "\n" + _INDENT))
    if finding.waived:
        detail = ", ".join(p for p in (finding.waiver_reason, finding.waiver_owner,
                                        f"expires {finding.waiver_expires}" if finding.waiver_expires else "") if p)
        lines.append(_INDENT + _paint(f"waived ({detail})", "waived", color))
    return lines


def _group_title(environment: str, model: str) -> str:
    if environment and model:
        return f"{environment} / {model}"
    return environment or model or "repository"


def render(report: ReportInput) -> str:
    lines: list[str] = []
    by_group = groupby(sort_findings(report.findings), key=lambda f: (f.environment, f.model))
    for (environment, model), group in by_group:
        lines.append(_paint(_group_title(environment, model), "heading", report.color))
        for finding in group:
            lines.extend(_finding_lines(finding, report.color))
        lines.append("")
    for error in report.errors:
        lines.append(_paint("error:", "deny", report.color) + f" {error}")
    if report.errors:
        lines.append("")
    summary = summarize(report)
    lines.append(summary.line())
    if summary.errors:
        lines.append(f"{summary.errors} checker error{'s' if summary.errors != 1 else ''}")
    result = "passed" if summary.passed else "failed"
    lines.append(_paint(f"Policy check {result}", result, report.color)
                 + f" (fail on {summary.fail_on}, {summary.documents_checked} documents checked"
                 + (f", {report.engine})" if report.engine else ")"))
    return "\n".join(lines) + "\n"
