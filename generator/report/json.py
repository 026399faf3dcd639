"""Machine-readable report: stable key order, one document, version 1."""
from __future__ import annotations

import json
from dataclasses import asdict

from generator.findings import sort_findings
from generator.report.model import ReportInput, pairs, summarize

__all__ = ["SCHEMA_VERSION", "render"]

# Bump only on a breaking change to the document shape; additions keep version 1.
SCHEMA_VERSION = 1


def render(report: ReportInput) -> str:
    document = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "modelops", "version": report.tool_version, "engine": report.engine},
        "summary": asdict(summarize(report)),
        "checked": [{"model": model, "environment": env} for model, env in pairs(report)],
        "findings": [finding.to_dict() for finding in sort_findings(report.findings)],
        "errors": list(report.errors),
    }
    # default=str: `extra` is free-form and may carry dates or paths.
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
