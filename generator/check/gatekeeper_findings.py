"""Gatekeeper ConstraintTemplates and Constraints as part of `check`.

The same admission policies a cluster enforces, evaluated in CI against every object
Argo CD would apply in an environment (Helm output, workflows, the JobSets they create,
Applications). Each environment is one cluster: its objects form the inventory that
referential constraints see. Findings point at the model spec like every other finding.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from generator.check.documents import CheckDocument
from generator.check.locate import locate_in_spec
from generator.findings import Finding
from generator.policy.engines import DEFAULT_ENGINE
from generator.policy.gatekeeper import load_gatekeeper

__all__ = ["gatekeeper_check"]


def _key(kind: str, name: str, namespace: str) -> tuple[str, str, str]:
    return (kind, name, namespace)


def gatekeeper_check(directories: Sequence[Path], *, engine: str = DEFAULT_ENGINE,
                     engine_options: Mapping[str, Any] | None = None) -> Callable[[list[CheckDocument]], list[Finding]]:
    """A check over the collected documents; templates are loaded (and compiled) once, now."""
    constraints = load_gatekeeper([str(d) for d in directories], engine=engine, engine_options=engine_options)

    def check(documents: list[CheckDocument]) -> list[Finding]:
        by_environment: dict[str, list[CheckDocument]] = defaultdict(list)
        for doc in documents:
            if doc.has_schema:
                by_environment[doc.environment].append(doc)
        findings: list[Finding] = []
        for environment, docs in sorted(by_environment.items()):
            namespace = next((d.resolved.environment.namespace for d in docs if d.resolved), None)
            index = {_key(d.kind, d.name, (d.document.get("metadata") or {}).get("namespace") or namespace or ""): d
                     for d in docs}
            for violation in constraints.evaluate([d.document for d in docs], default_namespace=namespace):
                doc = index.get(_key(violation.kind, violation.name, violation.namespace or ""))
                findings.append(_finding(violation, doc, environment))
        return findings

    return check


def _finding(violation, doc: CheckDocument | None, environment: str) -> Finding:  # noqa: ANN001
    finding = violation.to_finding()
    if doc is None:
        return finding.with_changes(environment=environment)
    where = locate_in_spec(doc.resolved, doc.kind, doc.file, f"{finding.rule} {finding.message}") \
        if doc.resolved else None
    level = finding.level
    if doc.resolved is not None and doc.resolved.environment.enforcement == "warn" and level == "deny":
        level = "warn"
    return finding.with_changes(model=doc.model, environment=environment, level=level,
                                file=where.file if where else doc.file, line=where.line if where else 0,
                                column=where.column if where else 0, rendered_file=doc.file)
