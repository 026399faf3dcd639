"""Pick the forge and its API from a git remote URL, flags and the environment."""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from generator.errors import ModelopsError
from generator.forges.base import Forge
from generator.forges.gitea import Gitea
from generator.forges.github import GITHUB_API, GitHub
from generator.forges.gitlab import GitLab

__all__ = ["FORGES", "TOKEN_VARIABLES", "Remote", "api_url", "forge_from_remote", "guess_forge", "parse_remote"]

FORGES: dict[str, Callable[[str, str, str], Forge]] = {"github": GitHub, "gitlab": GitLab, "gitea": Gitea}
TOKEN_VARIABLES = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN", "gitea": "GITEA_TOKEN"}
_API_SUFFIX = {"github": "/api/v3", "gitlab": "/api/v4", "gitea": "/api/v1"}
# scp-like syntax git accepts for ssh: [user@]host:path (no scheme, no slash before ':').
_SCP = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")


@dataclass(frozen=True)
class Remote:
    """Where a repository lives: scheme (https for ssh remotes, since APIs speak HTTPS), host, path."""

    scheme: str
    host: str
    path: str


def parse_remote(remote_url: str) -> Remote:
    """Host and `owner/name` path of an https, http, ssh:// or scp-style (`git@host:o/n.git`) URL."""
    url = remote_url.strip()
    if "://" in url:
        parts = urlsplit(url)
        # hostname drops user:token@ and the port; a token in a remote never leaks further.
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port and parts.scheme in ("http", "https") else ""
        scheme = parts.scheme if parts.scheme in ("http", "https") else "https"
        host, path = host + port, parts.path
    elif match := _SCP.match(url):
        scheme, host, path = "https", match["host"], match["path"]
    else:
        raise ModelopsError(f"cannot parse git remote URL {_safe(url)!r}: expected https://host/owner/name.git "
                            "or git@host:owner/name.git")
    path = path.strip("/").removesuffix(".git")
    if not host or path.count("/") < 1:
        raise ModelopsError(f"git remote URL {_safe(url)!r} does not name host and owner/repository")
    return Remote(scheme, host, path)


def guess_forge(host: str) -> str | None:
    """The forge a well-known host name points at, or None when a flag must say."""
    name = host.split(":")[0].lower()
    if name == "github.com" or name.endswith(".ghe.com"):
        return "github"
    if "gitlab" in name:
        return "gitlab"
    if "gitea" in name or "forgejo" in name or name == "codeberg.org":
        return "gitea"
    return None


def api_url(forge: str, remote: Remote, forge_url: str | None) -> str:
    """API base: `forge_url` (web root or API root) or one derived from the remote's host."""
    if forge_url:
        base = forge_url.rstrip("/")
        # GitHub's own API hosts (api.github.com, api.<tenant>.ghe.com) have no /api/v3 prefix.
        if base.endswith(_API_SUFFIX[forge]) or (forge == "github" and _host(base).startswith("api.")):
            return base
        return base + _API_SUFFIX[forge]
    host = remote.host.lower()
    if forge == "github" and host == "github.com":
        return GITHUB_API
    if forge == "github" and host.endswith(".ghe.com"):
        return f"https://api.{host}"
    return f"{remote.scheme}://{remote.host}{_API_SUFFIX[forge]}"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def forge_from_remote(
    remote_url: str,
    forge: str | None = None,
    forge_url: str | None = None,
    repo: str | None = None,
    env: Mapping[str, str] = os.environ,
) -> Forge:
    """A client for the forge hosting `remote_url`; `forge`, `forge_url` and `repo` override detection."""
    remote = _remote_for(remote_url, forge, forge_url or env.get("MODELOPS_FORGE_URL"), repo)
    kind = forge or guess_forge(remote.host)
    if kind is None:
        raise ModelopsError(f"cannot tell which forge hosts {remote.host}; pass --forge github|gitlab|gitea "
                            "(and --forge-url for a self-hosted API)")
    if kind not in FORGES:
        raise ModelopsError(f"unknown forge {kind!r}; expected one of: {', '.join(sorted(FORGES))}")
    variable = TOKEN_VARIABLES[kind]
    token = env.get(variable, "").strip()
    if not token:
        raise ModelopsError(f"{variable} is not set: export a {kind} token allowed to open pull requests "
                            "(or pass --no-pr to push the branch only)")
    base = api_url(kind, remote, forge_url or env.get("MODELOPS_FORGE_URL") or None)
    return FORGES[kind](repo or remote.path, token, base)


def _remote_for(remote_url: str, forge: str | None, forge_url: str | None, repo: str | None) -> Remote:
    """The remote as the forge sees it; with --forge the git remote may be any URL git accepts
    (a path, file://, a mirror), as long as --repo and the API (--forge-url) can be told."""
    try:
        return parse_remote(remote_url)
    except ModelopsError:
        if not forge:
            raise
    if not repo:
        raise ModelopsError(f"the remote {_safe(remote_url)!r} does not name a repository on {forge}: "
                            "pass --repo OWNER/NAME") from None
    if not forge_url and forge != "github":
        raise ModelopsError(f"pass --forge-url with the {forge} address: the remote "
                            f"{_safe(remote_url)!r} does not name it") from None
    return Remote("https", "github.com" if not forge_url else "", repo)


def _safe(url: str) -> str:
    """`url` without any user:password part, for error messages."""
    from generator.gitops.git import redact

    return redact(url)
