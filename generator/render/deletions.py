"""What deleting a rendered Application means where Argo CD does not prune.

In an environment whose root app syncs without `prune` (prod, by default), removing a
model's Application file from git does not delete the Application: Argo CD marks it
"requires pruning" on the root app and leaves it, and everything it deployed, running.
The deletion finishes when someone deletes the Application (its resources finalizer then
deletes what it deployed). `render` says so, with the command, for each such file.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from generator.errors import ModelopsError
from generator.render.writer import Change
from generator.spec.load import Repository
from generator.yamlio import load_all_fast

__all__ = ["UnprunedApplication", "unpruned_applications"]


@dataclass(frozen=True)
class UnprunedApplication:
    environment: str
    name: str
    namespace: str
    file: str

    def command(self) -> str:
        qualified = self.name if self.namespace == "argocd" else f"{self.namespace}/{self.name}"
        return f"argocd app delete {qualified} --cascade"

    def __str__(self) -> str:
        return (f"{self.environment} does not prune: Argo CD keeps Application {self.name} (from {self.file}) and "
                f"everything it deployed running after this render; to finish removing it, run `{self.command()}`")


def _prunes(repo: Repository, environment: str) -> bool:
    env = repo.environments.get(environment)
    policy = env.data["syncPolicy"] if env is not None else {}
    return bool(policy.get("automated")) and bool(policy.get("prune", False))


def _applications(path: Path, relative: str) -> list[tuple[str, str]]:
    try:
        documents = load_all_fast(path.read_text(encoding="utf-8"), relative)
    except (OSError, UnicodeDecodeError, ModelopsError):
        return []
    found = []
    for doc in documents:
        if isinstance(doc, dict) and doc.get("kind") == "Application":
            metadata = doc.get("metadata") or {}
            found.append((str(metadata.get("name", "")), str(metadata.get("namespace", "argocd"))))
    return [(name, namespace) for name, namespace in found if name]


def unpruned_applications(repo: Repository, out_root: Path, changes: Iterable[Change]) -> list[UnprunedApplication]:
    """Applications this render deletes from environments that do not prune (read before deleting)."""
    found = []
    for change in changes:
        parts = Path(change.path).parts
        if change.action != "delete" or len(parts) < 3 or _prunes(repo, parts[1]):
            continue
        for name, namespace in _applications(out_root / change.path, change.path):
            found.append(UnprunedApplication(parts[1], name, namespace, change.path))
    return found
