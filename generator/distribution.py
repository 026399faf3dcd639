"""What `pip install` must name to get exactly this modelops, for the CI files `init` writes.

On PyPI `modelops` is an unrelated 2018 package: this project is published as
`modelops-gitops` (the command stays `modelops`, the import name `generator`). A scaffold
installs the version that wrote it; run from a git checkout with a network remote, it
installs that checkout's commit instead, since the version number may not be released.
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from generator import __version__

__all__ = ["DISTRIBUTION", "COMMAND", "IMPORT_NAME", "install_spec", "vcs_install_spec"]

DISTRIBUTION = "modelops-gitops"
COMMAND = "modelops"
IMPORT_NAME = "generator"

_CHECKOUT = Path(__file__).resolve().parent.parent
_NETWORK_URL = re.compile(r"^(https://|ssh://|git@[^:\s]+:)[^\s]+$")
_HTTPS_USERINFO = re.compile(r"^https://[^/]*@")
_SHA = re.compile(r"^[0-9a-f]{40}$")


def _git(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    try:
        done = subprocess.run(["git", "-C", str(_CHECKOUT), *args], capture_output=True, text=True, env=env,
                              timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _pip_url(remote: str) -> str:
    """A remote as pip's `git+` URL (scp-like `git@host:path` becomes `ssh://git@host/path`)."""
    if remote.startswith("git@"):
        host, _, path = remote.partition(":")
        remote = f"ssh://{host}/{path}"
    return "git+" + remote


def vcs_install_spec() -> str | None:
    """`modelops-gitops @ git+URL@COMMIT` when this code runs from a git checkout of modelops
    whose `origin` is reachable over the network; None otherwise (an installed wheel)."""
    if not (_CHECKOUT / "pyproject.toml").is_file() or not (_CHECKOUT / "generator").is_dir():
        return None
    if Path(_git("rev-parse", "--show-toplevel") or "/nonexistent").resolve() != _CHECKOUT:
        return None
    remote, commit = _git("remote", "get-url", "origin"), _git("rev-parse", "HEAD")
    if not _NETWORK_URL.match(remote) or _HTTPS_USERINFO.match(remote) or not _SHA.match(commit):
        return None  # a local path or a URL with credentials must not end up in a committed CI file
    return f"{DISTRIBUTION} @ {_pip_url(remote)}@{commit}"


def install_spec() -> str:
    """The requirement the scaffold's CI installs: this checkout's commit, else this version."""
    return vcs_install_spec() or f"{DISTRIBUTION}=={__version__}"
