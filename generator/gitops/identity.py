"""Who a modelops commit is by: the user as author (their review, their name on the change),
the fixed bot identity as committer (so modelops can tell its own commits apart), and
the bot as author too when asked or in CI, where no person is at the keyboard."""
from __future__ import annotations

import os
from collections.abc import Mapping

import git

from generator.gitops.git import BOT_EMAIL, BOT_NAME

__all__ = ["actor", "commit_identity", "user_identity"]

# Who triggered a CI job, as each CI system names it (the job's git identity is a bot's).
_CI_ACTORS = ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "GITEA_ACTOR", "BUILD_REQUESTEDFOR")


def user_identity(repo: git.Repo) -> tuple[str, str] | None:
    """(name, email) from git config (repository, then global), or None when unset."""
    reader = repo.config_reader()
    name = str(reader.get_value("user", "name", default="") or "").strip()
    email = str(reader.get_value("user", "email", default="") or "").strip()
    return (name, email) if name and email else None


def _in_ci(env: Mapping[str, str]) -> bool:
    return env.get("CI", "").strip().lower() in ("true", "1", "yes")


def commit_identity(repo: git.Repo, *, bot_author: bool = False,
                    env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """GIT_AUTHOR_*/GIT_COMMITTER_* for a modelops commit."""
    user = None if bot_author or _in_ci(env) else user_identity(repo)
    name, email = user or (BOT_NAME, BOT_EMAIL)
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": BOT_NAME, "GIT_COMMITTER_EMAIL": BOT_EMAIL}


def actor(repo: git.Repo, env: Mapping[str, str] = os.environ) -> str:
    """The person behind a change, for records such as a freeze override."""
    if _in_ci(env):
        for name in _CI_ACTORS:
            if env.get(name, "").strip():
                return f"{env[name].strip()} (via {name})"
    user = user_identity(repo)
    return f"{user[0]} <{user[1]}>" if user else "unknown (no git user.name/user.email)"
