"""Pull requests on GitHub, GitLab and Gitea behind one small protocol (`Forge`).

Forges know nothing of rendering or policy: promotion builds title, body and labels and
hands them over.
"""
from generator.forges._http import ForgeError
from generator.forges.base import Forge, PullRequest, ensure_pull_request
from generator.forges.detect import forge_from_remote, parse_remote
from generator.forges.gitea import Gitea
from generator.forges.github import GitHub
from generator.forges.gitlab import GitLab

__all__ = [
    "Forge",
    "ForgeError",
    "GitHub",
    "GitLab",
    "Gitea",
    "PullRequest",
    "ensure_pull_request",
    "forge_from_remote",
    "parse_remote",
]
