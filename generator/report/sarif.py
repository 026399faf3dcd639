"""SARIF 2.1.0 for GitHub code scanning and any other SARIF viewer."""
from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from generator.findings import Finding, sort_findings
from generator.report.model import ReportInput, RuleInfo, rule_catalogue

__all__ = ["INFORMATION_URI", "LEVELS", "SARIF_SCHEMA", "SECURITY_SEVERITY", "render", "to_sarif"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/modelops/modelops"
LEVELS = {"deny": "error", "warn": "warning", "info": "note"}
# GitHub buckets security-severity: >= 9.0 critical, >= 7.0 high, >= 4.0 medium, else low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
FINGERPRINT_KEY = "modelops/v1"


def _rule(info: RuleInfo) -> dict[str, Any]:
    title = info.title or info.id
    rule: dict[str, Any] = {
        "id": info.id,
        "name": info.id,
        "shortDescription": {"text": title},
        "fullDescription": {"text": info.description or title},
        "defaultConfiguration": {"level": LEVELS.get(info.level, "error")},
        "properties": {"tags": ["security", "modelops"], "severity": info.severity,
                       "security-severity": SECURITY_SEVERITY.get(info.severity, "5.5")},
    }
    if info.remediation:
        rule["help"] = {"text": info.remediation}
    if info.help_uri:
        rule["helpUri"] = info.help_uri
    return rule


def _uri(path: str) -> str:
    posix = path.replace("\\", "/")
    while posix.startswith("./"):
        posix = posix[2:]
    return quote(posix.lstrip("/"), safe="/")


def _locations(finding: Finding) -> list[dict[str, Any]]:
    path = finding.file or finding.rendered_file
    if not path:
        return []
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(path), "uriBaseId": "%SRCROOT%"}}
    if finding.line >= 1:
        physical["region"] = {"startLine": finding.line}
        if finding.column >= 1:
            physical["region"]["startColumn"] = finding.column
    return [{"physicalLocation": physical}]


def fingerprint(finding: Finding) -> str:
    """Stable across line moves: GitHub matches alerts between runs on it."""
    parts = (finding.rule, finding.model, finding.environment, finding.resource_kind,
             finding.resource_name, finding.message)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _result(finding: Finding, index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": LEVELS.get(finding.level, "error"),
        "message": {"text": finding.message or finding.rule},
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(finding)},
        "properties": {key: value for key, value in (
            ("model", finding.model), ("environment", finding.environment),
            ("resourceKind", finding.resource_kind), ("resourceName", finding.resource_name),
            ("source", finding.source), ("severity", finding.severity)) if value},
    }
    locations = _locations(finding)
    if locations:
        result["locations"] = locations
    if finding.waived:
        result["suppressions"] = [{
            "kind": "external", "status": "accepted", "justification": finding.waiver_reason,
            "properties": {"owner": finding.waiver_owner, "expires": finding.waiver_expires},
        }]
    return result


def to_sarif(report: ReportInput) -> dict[str, Any]:
    rules = rule_catalogue(report)
    index = {rule_id: i for i, rule_id in enumerate(rules)}
    invocation: dict[str, Any] = {"executionSuccessful": not report.errors}
    if report.errors:
        invocation["toolExecutionNotifications"] = [
            {"level": "error", "message": {"text": error}} for error in report.errors]
    run = {
        "tool": {"driver": {"name": "modelops", "informationUri": INFORMATION_URI,
                            "version": report.tool_version,
                            "properties": {"engine": report.engine},
                            "rules": [_rule(info) for info in rules.values()]}},
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, index[f.rule]) for f in sort_findings(report.findings)],
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render(report: ReportInput) -> str:
    return json.dumps(to_sarif(report), indent=2, ensure_ascii=False) + "\n"
