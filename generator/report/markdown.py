"""A pull-request comment: status, per-environment counts, then the findings table.

The hidden marker lets a CI job find and update its previous comment instead of adding
a new one; the body always stays under GitHub's 65,536-character comment limit.
"""
from __future__ import annotations

from collections import Counter

from generator.findings import Finding, sort_findings
from generator.report.model import ReportInput, location, pairs, summarize

__all__ = ["COLLAPSE_OVER", "MARKER", "MAX_CHARS", "render"]

MARKER = "<!-- modelops:check -->"
MAX_CHARS = 65_000
COLLAPSE_OVER = 50
MAX_ERROR_CHARS = 2_000
MAX_ERRORS = 20
_TRUNCATED = ("\n_Truncated: showing {shown} of {total} findings to stay under GitHub's comment limit."
              " Run `modelops check` or read the SARIF/JSON report for the rest._\n")
_RESERVE = 600  # room for the closing details tag and the truncation note


def cell(text: str) -> str:
    """Escape a value for one GFM table cell: pipes, newlines and raw HTML."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def code(text: str) -> str:
    """A code span in a table cell; entities render literally there, so only pipes are escaped."""
    if not text:
        return ""
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def _level(finding: Finding) -> str:
    return "waived" if finding.waived else finding.level


def _row(finding: Finding) -> str:
    message = finding.message
    resource = "/".join(p for p in (finding.resource_kind, finding.resource_name) if p)
    if resource:
        message += f" ({resource})"
    if finding.waived:
        message += (f"\nwaived: {finding.waiver_reason} ({finding.waiver_owner},"
                    f" expires {finding.waiver_expires})")
    cells = (_level(finding), code(finding.rule), cell(finding.model), cell(finding.environment),
             code(location(finding)), cell(message))
    return "| " + " | ".join(cells) + " |\n"


def _summary_table(report: ReportInput) -> str:
    models: Counter[str] = Counter(env for _, env in pairs(report))
    counts: dict[str, Counter[str]] = {env: Counter() for env in models}
    for finding in report.findings:
        counts.setdefault(finding.environment, Counter())[_level(finding)] += 1
    lines = ["| Environment | Models | Deny | Warn | Info | Waived |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for env in sorted(counts):
        c = counts[env]
        lines.append(f"| {cell(env) or '(repository)'} | {models[env]} | {c['deny']} | {c['warn']}"
                     f" | {c['info']} | {c['waived']} |")
    return "\n".join(lines) + "\n"


def _head(report: ReportInput) -> str:
    summary = summarize(report)
    status = "passed" if summary.passed else "failed"
    engine = f", {report.engine}" if report.engine else ""
    totals = (f"**{cell(summary.line())}** (fail on {summary.fail_on},"
              f" {summary.documents_checked} documents checked{cell(engine)})")
    parts = [MARKER, f"## Policy check: {status}", "", totals, "", _summary_table(report)]
    if report.errors:
        parts.append("### Checker errors\n")
        for error in report.errors[:MAX_ERRORS]:
            clipped = error if len(error) <= MAX_ERROR_CHARS else error[:MAX_ERROR_CHARS] + " ..."
            parts.append(f"- {cell(clipped)}")
        if len(report.errors) > MAX_ERRORS:
            parts.append(f"- ... and {len(report.errors) - MAX_ERRORS} more")
        parts.append("")
    return "\n".join(parts)


def _findings_section(findings: list[Finding], budget: int) -> str:
    header = "| Level | Rule | Model | Environment | Location | Message |\n| --- | --- | --- | --- | --- | --- |\n"
    collapse = len(findings) > COLLAPSE_OVER
    opening = f"<details><summary>{len(findings)} findings</summary>\n\n" if collapse else ""
    body = "### Findings\n\n" + opening + header
    shown = 0
    for finding in findings:
        row = _row(finding)
        if len(body) + len(row) > budget - _RESERVE:
            break
        body += row
        shown += 1
    if collapse:
        body += "\n</details>\n"
    if shown < len(findings):
        body += _TRUNCATED.format(shown=shown, total=len(findings))
    return body


def render(report: ReportInput) -> str:
    head = _head(report)
    findings = sort_findings(report.findings)
    text = head + "\n" + _findings_section(findings, MAX_CHARS - len(head) - 1) if findings else head
    if len(text) >= MAX_CHARS:  # only when the head alone is huge: thousands of environments
        note = _TRUNCATED.format(shown=0, total=len(findings))
        text = text[: MAX_CHARS - len(note) - 1] + note
    return text
