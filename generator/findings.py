"""The one record every checker produces and every report format consumes.

Findings are data: checkers collect them all, the exit code is decided once at the end.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

__all__ = ["Finding", "SEVERITIES", "severity_rank", "sort_findings", "merge_places"]

# Ordered weakest to strongest. "error" is reserved for checker failures surfaced as
# findings (a schema violation is "deny"); policy severities map onto these levels.
SEVERITIES = ("info", "warn", "deny")


def severity_rank(level: str) -> int:
    return SEVERITIES.index(level) if level in SEVERITIES else len(SEVERITIES)


@dataclass(frozen=True)
class Finding:
    """A single policy or schema result, located as precisely as we can.

    `level` is the enforced outcome after the environment's enforcement and waivers are
    applied (info|warn|deny); `severity` is the rule's own declared severity
    (low|medium|high|critical). `file`/`line` point at what a human should edit: the
    model spec line when we can map it, otherwise the rendered file.
    """

    rule: str
    level: str
    message: str
    severity: str = "medium"
    title: str = ""
    model: str = ""
    environment: str = ""
    file: str = ""
    line: int = 0
    column: int = 0
    resource_kind: str = ""
    resource_name: str = ""
    rendered_file: str = ""
    remediation: str = ""
    source: str = "policy"  # policy | schema | gatekeeper | plan
    waived: bool = False
    waiver_reason: str = ""
    waiver_owner: str = ""
    waiver_expires: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not data["extra"]:
            data.pop("extra")
        return data

    def with_changes(self, **changes: Any) -> Finding:
        return replace(self, **changes)

    def resources(self) -> list[str]:
        """Every rendered object this finding shows in ("Kind/name"), in a stable order:
        one cause seen in the Helm values and in the Deployment made from them is one finding."""
        places = self.extra.get("places") if isinstance(self.extra, dict) else None
        if places:
            return [str(place["resource"]) for place in places]
        own = "/".join(part for part in (self.resource_kind, self.resource_name) if part)
        return [own] if own else []

    def resource_label(self) -> str:
        return ", ".join(self.resources())

    def sort_key(self) -> tuple:
        return (self.environment, self.model, self.file, self.line, self.rule, self.resource_kind,
                self.resource_name, self.message)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=Finding.sort_key)


def _cause(finding: Finding) -> tuple:
    """What makes two findings one: the same rule saying the same thing about the same spec
    line of the same model in the same environment, whatever object it was seen in."""
    return (finding.rule, finding.level, finding.message, finding.model, finding.environment, finding.file,
            finding.line, finding.column, finding.source)


def _place(finding: Finding) -> dict[str, Any]:
    resource = "/".join(part for part in (finding.resource_kind, finding.resource_name) if part)
    place: dict[str, Any] = {"resource": resource, "rendered_file": finding.rendered_file}
    if finding.extra.get("path"):
        place["path"] = finding.extra["path"]
    return place


def merge_places(findings: list[Finding]) -> list[Finding]:
    """One finding per cause, listing in `extra["places"]` every object it shows in."""
    groups: dict[tuple, list[Finding]] = {}
    for finding in sort_findings(findings):
        groups.setdefault(_cause(finding), []).append(finding)
    merged = []
    for group in groups.values():
        places = []
        for finding in group:
            place = _place(finding)
            if place not in places:
                places.append(place)
        first = group[0]
        merged.append(first if len(places) == 1 else first.with_changes(extra={**first.extra, "places": places}))
    return merged
