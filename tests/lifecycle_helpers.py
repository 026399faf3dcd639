"""Helpers for release/promote/rollback tests: a GitOps repository with a bare remote, and
merging a pull request's branch the way a forge's merge button would."""
from __future__ import annotations

import socket
import subprocess
from pathlib import Path

__all__ = ["closed_port_url", "git", "merge_branch", "remote_file", "repo_with_remote"]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def repo_with_remote(work: Path, remote: Path, *, file_url: bool = True) -> tuple[Path, Path]:
    """Commit `work` (already holding a GitOps repository) and push it to a new bare `remote`."""
    git(remote.parent, "init", "--bare", "--quiet", "-b", "main", str(remote))
    git(work, "init", "--quiet", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "initial")
    git(work, "remote", "add", "origin", remote.as_uri() if file_url else str(remote))
    git(work, "push", "--quiet", "origin", "main")
    return work, remote


def merge_branch(remote: Path, branch: str, scratch: Path) -> None:
    """Merge `branch` into main on the remote (what a reviewer's merge does), from a scratch clone."""
    clone = scratch / f"merge-{branch.replace('/', '-')}"
    git(scratch, "clone", "--quiet", remote.as_uri(), str(clone))
    git(clone, "merge", "--quiet", "--no-ff", "-m", f"Merge {branch}", f"origin/{branch}")
    git(clone, "push", "--quiet", "origin", "main")


def remote_file(remote: Path, ref: str, path: str) -> str:
    return git(remote, "show", f"{ref}:{path}")


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    return f"http://127.0.0.1:{port}"
