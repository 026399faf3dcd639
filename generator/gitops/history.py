"""Releases a model had in the spec's git history: what a rollback can go back to."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import git
from ruamel.yaml import YAML

__all__ = ["PastRelease", "find_release", "previous_release", "release_history"]


@dataclass(frozen=True)
class PastRelease:
    commit: str
    environment: str
    release: dict[str, Any]


def _releases_at(commit: git.Commit, path: str) -> dict[str, Any]:
    try:
        text = (commit.tree / path).data_stream.read().decode("utf-8")
        data = YAML(typ="safe", pure=True).load(text)
    except (KeyError, UnicodeDecodeError, Exception):  # noqa: BLE001 - an unreadable old revision is skipped
        return {}
    releases = data.get("releases") if isinstance(data, dict) else None
    return releases if isinstance(releases, dict) else {}


def release_history(repo: git.Repo, ref: str, path: str) -> list[PastRelease]:
    """Every (commit, environment, release) of the spec at `path` on `ref`, newest commit first."""
    out = []
    for commit in repo.iter_commits(ref, paths=path):
        for env, release in sorted(_releases_at(commit, path).items()):
            if isinstance(release, dict) and release:
                out.append(PastRelease(commit.hexsha, str(env), dict(release)))
    return out


def _label(release: dict[str, Any]) -> str:
    return str(release.get("modelVersion") or release.get("image") or "")


def find_release(history: list[PastRelease], version: str, prefer_env: str) -> PastRelease | None:
    """The newest past release with modelVersion (or image) `version`, the target's own first."""
    matches = [p for p in history if version in (str(p.release.get("modelVersion", "")), p.release.get("image"))]
    own = [p for p in matches if p.environment == prefer_env]
    ranked = own or matches
    return ranked[0] if ranked else None


def previous_release(history: list[PastRelease], env: str, current: dict[str, Any]) -> PastRelease | None:
    """The release `env` had before its current one."""
    for past in history:
        if past.environment == env and past.release != current:
            return past
    return None
