"""What every report format consumes, and the summary they all agree on."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from generator import __version__
from generator.findings import Finding, severity_rank, sort_findings

__all__ = ["ReportInput", "RuleInfo", "Summary", "location", "pairs", "rule_catalogue", "summarize"]


@dataclass(frozen=True)
class RuleInfo:
    """One rule of the catalogue: what SARIF lists under tool.driver.rules.

    `level` is what the rule produces under deny enforcement (a Rego `deny` or
    `violation` rule: deny; a `warn` rule: warn); SARIF uses it as the default level.
    """

    id: str
    title: str = ""
    severity: str = "medium"
    remediation: str = ""
    help_uri: str = ""
    level: str = "deny"
    description: str = ""


@dataclass(frozen=True)
class ReportInput:
    findings: list[Finding]
    errors: list[str] = field(default_factory=list)
    checked: list[tuple[str, str]] = field(default_factory=list)  # (model, environment)
    documents_checked: int = 0
    fail_on: str = "deny"  # warn | deny: the weakest unwaived level that fails the check
    rules: dict[str, RuleInfo] = field(default_factory=dict)
    tool_version: str = __version__
    color: bool = False
    engine: str = ""  # the Rego engine and version that produced the findings, e.g. "regorus 0.13.0"


@dataclass(frozen=True)
class Summary:
    total: int
    deny: int
    warn: int
    info: int  # unwaived info-level findings
    waived: int
    errors: int
    pairs: int
    documents_checked: int
    fail_on: str
    passed: bool

    def line(self) -> str:
        info = f", {self.info} info" if self.info else ""
        noun = "finding" if self.total == 1 else "findings"
        pair_noun = "pair" if self.pairs == 1 else "pairs"
        return (f"{self.total} {noun}: {self.deny} deny, {self.warn} warn{info}, {self.waived} waived"
                f" in {self.pairs} model/environment {pair_noun}")


def pairs(report: ReportInput) -> list[tuple[str, str]]:
    """Every (model, environment) pair checked or named by a finding, sorted by environment."""
    named = {(f.model, f.environment) for f in report.findings if f.model and f.environment}
    return sorted(set(report.checked) | named, key=lambda pair: (pair[1], pair[0]))


def summarize(report: ReportInput) -> Summary:
    waived = sum(1 for f in report.findings if f.waived)
    levels = Counter(f.level for f in report.findings if not f.waived)
    threshold = severity_rank(report.fail_on if report.fail_on in ("warn", "deny") else "deny")
    failing = any(not f.waived and severity_rank(f.level) >= threshold for f in report.findings)
    return Summary(
        total=len(report.findings), deny=levels["deny"], warn=levels["warn"], info=levels["info"],
        waived=waived, errors=len(report.errors), pairs=len(pairs(report)),
        documents_checked=report.documents_checked, fail_on=report.fail_on,
        passed=not failing and not report.errors,
    )


def location(finding: Finding) -> str:
    """`file:line:col` as editors parse it; the rendered file when no spec file is known."""
    where = finding.file or finding.rendered_file
    if not where:
        return ""
    if finding.line >= 1:
        where += f":{finding.line}:{max(finding.column, 1)}"
    return where


def rule_catalogue(report: ReportInput) -> dict[str, RuleInfo]:
    """The declared rules plus any rule a finding names that the catalogue lacks, by id."""
    rules = dict(report.rules)
    for finding in sort_findings(report.findings):
        if finding.rule not in rules:
            rules[finding.rule] = RuleInfo(
                id=finding.rule, title=finding.title, severity=finding.severity,
                remediation=finding.remediation, level="deny" if finding.waived else finding.level,
            )
    return dict(sorted(rules.items()))
