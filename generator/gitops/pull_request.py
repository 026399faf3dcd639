"""Which forge (if any) opens the pull request, and what it says.

Any git host works: with no recognised forge the branch is pushed and the exact command
to request the merge is printed; `--forge` and `--forge-url` name one for any remote
URL (a path, file://, ssh or https).
"""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from generator.errors import ModelopsError

if TYPE_CHECKING:
    from generator.forges.base import Forge
    from generator.gitops.promote import PromotionRequest

__all__ = ["ForgePlan", "forge_kind", "labels_for", "manual_hint", "plan_forge", "push_auth", "title_for"]

TOKEN_VARIABLES = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN", "gitea": "GITEA_TOKEN"}
PUSH_USERS = {"github": "x-access-token", "gitlab": "oauth2", "gitea": "modelops"}


@dataclass(frozen=True)
class ForgePlan:
    """The forge client (None when no pull request will be opened) and why not, if so."""

    forge: Forge | None
    why_not: str = ""
    kind: str | None = None

    def describe(self) -> str:
        if self.kind is None:
            return f"no pull request will be opened ({self.why_not})"
        return f"open or update a pull request on {self.kind}"


def forge_kind(forge: str | None, url: str) -> str | None:
    """The forge named by flag, or the one the remote's host is known to be."""
    if forge:
        return forge
    from generator.forges.detect import guess_forge, parse_remote

    try:
        return guess_forge(parse_remote(url).host)
    except ModelopsError:
        return None  # a path, file:// or an unknown host: a plain git remote


def plan_forge(request: PromotionRequest, url: str) -> ForgePlan:
    if not request.open_pull_request:
        return ForgePlan(None, "--no-pr")
    kind = forge_kind(request.forge, url)
    if kind is None:
        return ForgePlan(None, "no forge recognised for this remote; pass --forge and --forge-url to open one")
    if request.dry_run:
        return ForgePlan(None, "", kind)
    from generator.forges.detect import forge_from_remote

    return ForgePlan(forge_from_remote(url, kind, request.forge_url, request.repo_slug), "", kind)


def push_auth(forge: str | None, url: str) -> list[str]:
    """`-c http.extraHeader=...` for HTTPS pushes: the token is never written to git config or URLs."""
    if not url.startswith(("http://", "https://")):
        return []
    kind = forge_kind(forge, url)
    token = os.environ.get(TOKEN_VARIABLES.get(kind or "", ""), "") if kind else ""
    if not token or kind is None:
        return []
    basic = base64.b64encode(f"{PUSH_USERS[kind or '']}:{token}".encode()).decode()
    return ["-c", f"http.extraHeader=Authorization: Basic {basic}"]


def manual_hint(base: str, url: str, branch: str) -> str:
    """What to run when no forge opens the pull request: the request text, and the merge."""
    from generator.gitops.git import redact

    safe = redact(url)
    return (f"no pull request was opened: send `git request-pull {base} {safe} {branch}` to the reviewers, or "
            f"merge it with `git fetch {safe} {branch} && git merge --ff-only FETCH_HEAD`")


def _version(release: dict[str, Any]) -> str:
    return str(release.get("modelVersion") or release.get("image") or "new image")


def title_for(kind: str, model: str, target: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    if kind == "rollout":
        return _rollout_title(model, target, before, after)
    if kind == "release":
        return f"Release {model} {_version(after)} to {target}"
    if kind == "rollback":
        return f"Rollback {model} in {target} to {_version(after)} (from {_version(before)})"
    return f"Promote {model} to {target} ({after.get('modelVersion') or 'new image'})"


def _rollout_title(model: str, target: str, canary: dict[str, Any], after: dict[str, Any]) -> str:
    """A canary step: `canary` is the entry before it, `after` what serves its share after it."""
    weight = after.get("weight")
    if weight == 0:
        return f"Abort canary of {model} {_version(canary)} in {target} (back to {_version(after)})"
    if weight == 100:
        return f"Complete canary of {model} {_version(canary)} in {target} (100%)"
    return f"Canary {model} {_version(canary)} in {target}: {canary.get('weight')}% -> {weight}%"


def labels_for(kind: str, model: str, target: str) -> list[str]:
    extra = {"release": ["modelops/release"], "rollback": ["modelops/rollback"],
             "rollout": ["modelops/rollout"]}.get(kind, [])
    return ["modelops/promotion", *extra, f"model/{model}", f"env/{target}"]
