"""Report formats: a plain registry of format name -> renderer.

Every renderer is a pure function of a `ReportInput` returning the whole document as
text; the caller decides where it goes and what the exit code is.
"""
from __future__ import annotations

from collections.abc import Callable

from generator.errors import ModelopsError
from generator.report import github, junit, markdown, sarif, text
from generator.report import json as json_format
from generator.report.model import ReportInput, RuleInfo, Summary, summarize

__all__ = ["FORMATS", "ReportInput", "RuleInfo", "Summary", "render_report", "summarize"]

FORMATS: dict[str, Callable[[ReportInput], str]] = {
    "text": text.render,
    "json": json_format.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "github": github.render,
    "markdown": markdown.render,
}


def render_report(fmt: str, report_input: ReportInput) -> str:
    try:
        renderer = FORMATS[fmt]
    except KeyError:
        raise ModelopsError(f"unknown report format {fmt!r}; choose one of: {', '.join(FORMATS)}") from None
    return renderer(report_input)
