"""The one wrapper around gitpython: repository checks, fixed identity, snapshots of revisions.

Every git call modelops makes goes through here, with the ambient GIT_* variables that
could redirect it (GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE) removed.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import git

from generator.errors import ModelopsError

__all__ = ["open_repo", "require_clean", "current_branch", "remote_url", "redact", "snapshot_revision",
           "BOT_NAME", "BOT_EMAIL", "bot_env"]

BOT_NAME = "modelops"
BOT_EMAIL = "modelops-bot@users.noreply.modelops.dev"
_AMBIENT = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE")
_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@")


def redact(text: str) -> str:
    """Remove credentials embedded in URLs (https://user:token@host -> https://***@host)."""
    return _CREDENTIALS.sub(r"\g<scheme>***@", text)


def bot_env() -> dict[str, str]:
    """Identity for commits modelops makes: fixed, so its commits are recognisable."""
    return {"GIT_AUTHOR_NAME": BOT_NAME, "GIT_AUTHOR_EMAIL": BOT_EMAIL,
            "GIT_COMMITTER_NAME": BOT_NAME, "GIT_COMMITTER_EMAIL": BOT_EMAIL}


def open_repo(path: Path) -> git.Repo:
    for name in _AMBIENT:
        os.environ.pop(name, None)
    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise ModelopsError(f"{path} is not inside a git repository") from None


def current_branch(repo: git.Repo) -> str:
    if repo.head.is_detached:
        raise ModelopsError("HEAD is detached; check out the branch to promote from (e.g. `git switch main`)")
    return repo.active_branch.name


def require_clean(repo: git.Repo) -> None:
    if repo.is_dirty(untracked_files=False):
        diffs = [*repo.index.diff(None), *repo.index.diff("HEAD")]
        changed = sorted({d.a_path or d.b_path or "" for d in diffs})
        shown = ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else "")
        raise ModelopsError(f"the working tree has uncommitted changes ({shown}); commit or stash them first")


def remote_url(repo: git.Repo, remote: str) -> str:
    try:
        return repo.remote(remote).url
    except ValueError:
        known = ", ".join(r.name for r in repo.remotes) or "none"
        raise ModelopsError(f"git remote '{remote}' does not exist (remotes: {known}); add it with "
                            f"`git remote add {remote} URL`") from None


SNAPSHOT_PATHS = ("models", "environments", "blueprints", ".modelops.yaml", "waivers.yaml")


@contextmanager
def snapshot_revision(repo: git.Repo, revision: str, repo_root: Path, dest: Path) -> Iterator[Path]:
    """Materialise the inputs of `revision` (specs, environments, blueprints) under `dest`.

    `repo_root` is the GitOps repository, which may be a folder inside the git repository.
    """
    try:
        commit = repo.commit(revision)
    except (git.BadName, ValueError, git.GitCommandError):
        raise ModelopsError(f"unknown git revision '{revision}'") from None
    top = Path(repo.working_tree_dir or ".").resolve()
    inside = repo_root.resolve().relative_to(top).as_posix()
    prefix = "" if inside == "." else inside + "/"
    dest.mkdir(parents=True, exist_ok=True)
    for item in commit.tree.traverse():
        if not isinstance(item, git.Blob) or not str(item.path).startswith(prefix):
            continue
        relative = str(item.path)[len(prefix):]
        if not relative.startswith(SNAPSHOT_PATHS):
            continue
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.data_stream.read())
    yield dest
