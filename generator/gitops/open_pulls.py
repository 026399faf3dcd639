"""Open modelops pull requests, read back from the forge through their provenance blocks."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.forges.base import Forge
from generator.gitops.provenance import read_provenance

__all__ = ["OpenChange", "forge_for_status", "open_changes"]


@dataclass(frozen=True)
class OpenChange:
    number: int
    url: str
    kind: str
    model: str
    source: str
    target: str
    before: str
    after: str
    policy_passed: bool | None
    record: dict[str, Any]


def _version(release: Any) -> str:
    if not isinstance(release, dict) or not release:
        return "-"
    return str(release.get("modelVersion") or release.get("image") or "-")


def open_changes(forge: Forge) -> list[OpenChange]:
    """Open pull requests that carry a modelops provenance block, by model then target."""
    out = []
    for pull in forge.list_open_pull_requests():
        record = read_provenance(pull.body)
        if record is None:
            continue
        raw_policy = record.get("policy")
        policy: dict[str, Any] = raw_policy if isinstance(raw_policy, dict) else {}
        out.append(OpenChange(pull.number, pull.url, str(record.get("kind", "promote")), str(record.get("model", "")),
                              str(record.get("source", "")), str(record.get("target", "")),
                              _version(record.get("before")), _version(record.get("after")),
                              policy.get("passed") if isinstance(policy.get("passed"), bool) else None, record))
    return sorted(out, key=lambda c: (c.model, c.target, c.number))


def forge_for_status(repo_root: Any, remote: str, forge: str | None, forge_url: str | None,
                     repo_slug: str | None) -> Forge:
    from generator.forges.detect import forge_from_remote
    from generator.gitops.git import open_repo, remote_url

    return forge_from_remote(remote_url(open_repo(repo_root), remote), forge, forge_url, repo_slug)
