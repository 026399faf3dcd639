"""Placeholders the scaffold writes must not reach a cluster that enforces policy.

`modelops init` and `modelops new model` write an all-zero image digest and a placeholder
Argo CD `repoURL` so a new repository renders at once. Neither works on a cluster (the
image cannot be pulled; Argo CD cannot clone the URL), so they are findings: warnings
where the environment only warns (dev), denials where it enforces (staging, prod).
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from generator.check.documents import CheckDocument
from generator.check.locate import locate_in_spec
from generator.findings import Finding
from generator.report.model import RuleInfo
from generator.scaffold import PLACEHOLDER_DIGEST, PLACEHOLDER_REPO_URL
from generator.spec.load import Repository

__all__ = ["PLACEHOLDER_DIGEST_RULE", "PLACEHOLDER_REPO_RULE", "PLACEHOLDER_REPO_URLS", "placeholder_findings"]

PLACEHOLDER_IMAGE = re.compile(f"@{re.escape(PLACEHOLDER_DIGEST)}$")
PLACEHOLDER_REPO_URLS = frozenset({PLACEHOLDER_REPO_URL})

PLACEHOLDER_DIGEST_RULE = RuleInfo(
    id="MO-PLACEHOLDER-001", title="Images are real images, not the scaffold's placeholder digest", severity="high",
    remediation="Replace the all-zero digest with your image's real one (`docker buildx imagetools inspect IMAGE`).")
PLACEHOLDER_REPO_RULE = RuleInfo(
    id="MO-PLACEHOLDER-002", title="Argo CD syncs from the repository's real URL", severity="high",
    remediation="Set argocd.repoURL to this repository's clone URL (or rerun `modelops init --repo-url URL`).")
RULES = {rule.id: rule for rule in (PLACEHOLDER_DIGEST_RULE, PLACEHOLDER_REPO_RULE)}


def _finding(rule: RuleInfo, doc: CheckDocument, enforcement: str, message: str, where: tuple[str, int, int],
             resource: tuple[str, str]) -> Finding:
    return Finding(rule=rule.id, level="warn" if enforcement == "warn" else "deny", message=message,
                   severity=rule.severity, title=rule.title, model=doc.model, environment=doc.environment,
                   file=where[0], line=where[1], column=where[2], resource_kind=resource[0],
                   resource_name=resource[1], rendered_file=doc.file, remediation=rule.remediation, source="policy")


def _image_findings(doc: CheckDocument) -> list[Finding]:
    resolved, found = doc.resolved, []
    assert resolved is not None
    for section, kind in (("serving", "Deployment"), ("training", "WorkflowTemplate")):
        image = (getattr(resolved, section) or {}).get("image", "")
        if isinstance(image, str) and PLACEHOLDER_IMAGE.search(image):
            place = locate_in_spec(resolved, kind, f"{section}/", "image digest")
            message = f"{section} image '{image}' has the placeholder digest; it cannot be pulled"
            found.append(_finding(PLACEHOLDER_DIGEST_RULE, doc, resolved.environment.enforcement, message,
                                  (place.file, place.line, place.column), (kind, resolved.name)))
    return found


def _repo_url_findings(doc: CheckDocument, repo: Repository) -> list[Finding]:
    env = repo.environments.get(doc.environment)
    url = env.data["argocd"]["repoURL"] if env is not None else ""
    if env is None or url not in PLACEHOLDER_REPO_URLS:
        return []
    line, column = env.located.where(("argocd", "repoURL"))
    return [_finding(PLACEHOLDER_REPO_RULE, doc, env.enforcement,
                     f"argocd.repoURL '{url}' is the scaffold's placeholder; Argo CD cannot sync from it",
                     (env.path, line, column), ("Application", doc.name))]


def placeholder_findings(documents: Iterable[CheckDocument], repo: Repository) -> list[Finding]:
    """One finding per placeholder per model and environment (not one per rendered object)."""
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for doc in documents:
        if (doc.environment, doc.model) in seen or doc.source != "rendered":
            continue
        seen.add((doc.environment, doc.model))
        findings += _image_findings(doc) if doc.resolved is not None else _repo_url_findings(doc, repo)
    return findings
