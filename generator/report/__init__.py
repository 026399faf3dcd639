"""Report formats: a plain registry of format name -> the module that renders it.

Every renderer is a pure function of a `ReportInput` returning the whole document as
text (the module's `render`); the caller decides where it goes and what the exit code
is. Only the chosen format's module is imported: a `check` writes one format, and JUnit's
XML support alone was a tenth of the imports of a one-spec `check`.
"""
from __future__ import annotations

import importlib

from generator.errors import ModelopsError
from generator.report.model import ReportInput, RuleInfo, Summary, summarize

__all__ = ["FORMATS", "ReportInput", "RuleInfo", "Summary", "render_report", "summarize"]

FORMATS: dict[str, str] = {
    "text": "generator.report.text",
    "json": "generator.report.json",
    "sarif": "generator.report.sarif",
    "junit": "generator.report.junit",
    "github": "generator.report.github",
    "markdown": "generator.report.markdown",
}


def render_report(fmt: str, report_input: ReportInput) -> str:
    try:
        module = FORMATS[fmt]
    except KeyError:
        raise ModelopsError(f"unknown report format {fmt!r}; choose one of: {', '.join(FORMATS)}") from None
    return str(importlib.import_module(module).render(report_input))
