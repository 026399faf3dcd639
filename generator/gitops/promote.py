"""Changes to an environment's release, as a pull request: promotion from the previous
environment, a new release (from flags, a training run or the model registry), or a
rollback to a release found in the spec's history.

Safety comes from where the work happens: in a temporary, detached git worktree of the
remote base branch. The user's working tree, index and local branches are never touched
(with `--commit`, the current branch is only fast-forwarded to the finished commit);
a failure at any step removes the worktree and reports what was and was not done.
The remote branch `<kind>/<model>/<env>` (a canary step adds `/<step>`) is only ever overwritten when every commit on it
was made by modelops (bot committer plus a `Modelops-Promotion` trailer), and then with
`--force-with-lease` against the tip we inspected.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import git

from generator.errors import ModelopsError
from generator.gitops.git import (
    BOT_EMAIL,
    current_branch,
    open_repo,
    redact,
    remote_url,
    require_clean,
)
from generator.gitops.pull_request import ForgePlan, plan_forge, push_auth
from generator.spec.load import Repository, load_repository

if TYPE_CHECKING:
    from generator.gitops.rollout import RolloutStep

__all__ = ["KINDS", "TRAILER", "PromotionFailed", "PromotionRequest", "PromotionResult", "branch_name", "promote"]

TRAILER = "Modelops-Promotion"
KINDS = ("promote", "release", "rollback", "rollout")


class PromotionFailed(ModelopsError):
    """A step failed; the message says which, what was done and what was not."""


@dataclass
class PromotionRequest:
    model: str
    target: str
    source: str | None = None
    force: bool = False
    rebase: bool = False
    dry_run: bool = False
    remote: str = "origin"
    forge: str | None = None
    forge_url: str | None = None
    repo_slug: str | None = None
    metrics_file: Path | None = None
    live: bool = False
    live_check: Callable[[Repository, str, str, str], tuple[bool, str]] | None = None
    open_pull_request: bool = True
    kind: str = "promote"  # promote | release | rollback | rollout
    release: dict[str, Any] | None = None  # the release to write (release, rollback)
    release_source: str = ""  # where `release` came from, for people (models:/x/3, history@abc)
    metrics: dict[str, float] | None = None  # candidate metrics from a training run (--metrics-from-workflow)
    metrics_label: str = ""
    commit_here: bool = False  # commit on the current branch instead of a pull request
    bot_author: bool = False
    override_freeze: bool = False
    reason: str | None = None
    now: datetime | None = None
    step: RolloutStep | None = None  # the canary step (rollout), planned by generator.gitops.rollout


@dataclass
class PromotionResult:
    model: str
    source: str
    target: str
    # unchanged | up-to-date | planned | created | updated | pushed | committed | refused | frozen
    status: str
    kind: str = "promote"
    branch: str = ""
    commit: str = ""
    pull_request: str = ""
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    report: str = ""
    messages: list[str] = field(default_factory=list)
    trailers: list[str] = field(default_factory=list)


def branch_name(model: str, env: str, kind: str = "promote", step: str = "") -> str:
    return f"{kind}/{model}/{env}" + (f"/{step}" if step else "")


class Steps:
    """Record of what happened, so a failure can say exactly what was and was not done."""

    PLAN = ("fetch", "worktree", "edit spec", "render", "policy gate", "commit", "push", "pull request")

    def __init__(self, commit_here: bool = False, kind: str = "promote") -> None:
        self.label = {"promote": "promotion"}.get(kind, kind)
        self.done: list[str] = []
        self.plan = ("worktree", "edit spec", "render", "policy gate", "commit", "fast-forward") if commit_here \
            else self.PLAN

    def fail(self, step: str, error: Exception | str) -> PromotionFailed:
        not_done = [s for s in self.plan if s not in self.done]
        done = ", ".join(self.done) or "nothing"
        message = redact(str(error))
        return PromotionFailed(f"{self.label} failed at '{step}': {message}. Done: {done}; not done: {', '.join(not_done)}. "
                               "Your working tree and local branches are unchanged.")


def source_for(repo: Repository, request: PromotionRequest) -> str:
    """The environment promoted from (promote), or a label for where the release came from."""
    target = repo.environment(request.target)
    if request.kind != "promote":
        return request.release_source or request.kind
    source = request.source or target.promotes_from
    if source is None:
        raise ModelopsError(f"environment '{request.target}' promotes from nothing: cut a release into it with "
                            f"`modelops release MODEL --env {request.target}`, or pass --from ENV")
    repo.environment(source)
    if target.promotes_from != source and not request.force:
        chain = " -> ".join(repo.chain(request.target))
        raise ModelopsError(f"'{request.target}' promotes from '{target.promotes_from}', not '{source}' "
                            f"(chain: {chain}); refusing to skip an environment (use --force to override)")
    return source


def run_git(repo: git.Repo, *args: str, env: dict[str, str] | None = None) -> str:
    extra = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k.startswith("GIT_CONFIG")}
    return repo.git.execute(["git", *args], env={**extra, **(env or {})}, with_extended_output=False)


def _remote_tip(repo: git.Repo, remote: str, branch: str, auth: list[str]) -> str | None:
    out = run_git(repo, *auth, "ls-remote", "--heads", remote, f"refs/heads/{branch}")
    return out.split()[0] if out.strip() else None


def is_ours(commit: git.Commit, model: str, env: str) -> bool:
    trailer = f"{TRAILER}: {model}/{env}"
    return commit.committer.email == BOT_EMAIL and trailer in commit.message


@contextmanager
def _worktree(repo: git.Repo, commit: str) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="modelops-promote-"))
    path = folder / "tree"
    run_git(repo, "worktree", "add", "--detach", "--quiet", str(path), commit)
    try:
        yield path
    finally:
        try:
            run_git(repo, "worktree", "remove", "--force", str(path))
        except git.GitCommandError:
            pass
        shutil.rmtree(folder, ignore_errors=True)
        run_git(repo, "worktree", "prune")


@dataclass
class Context:
    """Everything the steps after the worktree need, in one place."""

    request: PromotionRequest
    git_repo: git.Repo
    repo_root: Path
    source: str
    base: str
    base_ref: str
    branch: str
    tip: str | None
    start: str
    auth: list[str]
    forge: ForgePlan
    steps: Steps
    trailers: list[str] = field(default_factory=list)


def _freeze_check(local: Repository, request: PromotionRequest, result: PromotionResult) -> list[str]:
    """Trailers recording an override, or the result marked frozen (nothing is done)."""
    from generator.gitops.freeze import active_window, freeze_windows

    windows = freeze_windows(local.environment(request.target))
    if request.override_freeze and not (request.reason or "").strip():
        raise ModelopsError("--override-freeze needs --reason TEXT (it is recorded in the commit)")
    window = active_window(windows, request.now or datetime.now(UTC))
    if window is None:
        return []
    if not request.override_freeze:
        result.status = "frozen"
        result.messages.append(f"'{request.target}' is inside freeze window {window.describe()}; nothing was "
                               "changed (override with --override-freeze --reason TEXT)")
        return []
    from generator.gitops.identity import actor

    reason = " ".join((request.reason or "").split())
    result.messages.append(f"freeze window {window.describe()} overridden: {reason}")
    return [f"Modelops-Freeze-Override: {window.name}", f"Modelops-Override-By: {actor(open_repo(local.root))}",
            f"Modelops-Override-Reason: {reason}"]


def promote(request: PromotionRequest, repo_root: Path) -> PromotionResult:
    """Promote, release or roll back one model in one environment (see the module docstring)."""
    if request.kind not in KINDS or (request.kind == "rollout") != (request.step is not None):
        raise ModelopsError(f"unknown change kind {request.kind!r}" + (" (a rollout needs its step)"
                                                                       if request.kind == "rollout" else ""))
    repo_root = repo_root.resolve()
    local = load_repository(repo_root)
    local.model(request.model)
    source = source_for(local, request)
    branch = branch_name(request.model, request.target, request.kind, request.step.label if request.step else "")
    frozen = PromotionResult(request.model, source, request.target, "planned", request.kind, branch)
    override = _freeze_check(local, request, frozen)
    if frozen.status == "frozen":
        return frozen
    git_repo = open_repo(repo_root)
    base = current_branch(git_repo)
    require_clean(git_repo)
    if request.commit_here:
        return _run(Context(request, git_repo, repo_root, source, base, base, branch, None,
                            git_repo.head.commit.hexsha, [], ForgePlan(None, "--commit"),
                            Steps(True, request.kind), override))
    return _run(_remote_context(request, git_repo, repo_root, source, base, branch, override))


def _remote_context(request: PromotionRequest, git_repo: git.Repo, repo_root: Path, source: str, base: str,
                    branch: str, override: list[str]) -> Context:
    """Fetch the base branch and inspect the remote branch: the context of a pull-request change."""
    url = remote_url(git_repo, request.remote)
    auth = push_auth(request.forge, url)
    forge = plan_forge(request, url)
    steps = Steps(kind=request.kind)
    try:
        run_git(git_repo, *auth, "fetch", "--quiet", request.remote,
                f"+refs/heads/{base}:refs/remotes/{request.remote}/{base}")
    except git.GitCommandError as error:
        raise steps.fail("fetch", f"cannot fetch {base} from {request.remote} ({redact(url)}): "
                         f"{redact(error.stderr.strip() or str(error))}") from None
    steps.done.append("fetch")
    base_ref = f"{request.remote}/{base}"
    tip = _remote_tip(git_repo, request.remote, branch, auth)
    start = _start(git_repo, request, base_ref, branch, tip, auth)
    return Context(request, git_repo, repo_root, source, base, base_ref, branch, tip, start, auth, forge, steps,
                   override)


def _start(git_repo: git.Repo, request: PromotionRequest, base_ref: str, branch: str, tip: str | None,
           auth: list[str]) -> str:
    """The commit to build on: the base branch, or foreign commits on the branch with --rebase."""
    start = git_repo.commit(base_ref).hexsha
    if tip is None:
        return start
    run_git(git_repo, *auth, "fetch", "--quiet", request.remote,
            f"+refs/heads/{branch}:refs/remotes/{request.remote}/{branch}")
    foreign = [c for c in git_repo.iter_commits(f"{base_ref}..{tip}") if not is_ours(c, request.model, request.target)]
    if foreign and not request.rebase:
        first = foreign[-1]
        raise ModelopsError(f"remote branch {branch} has commit {first.hexsha[:12]} by {first.author.name} "
                            f"<{first.author.email}> that modelops did not make; refusing to overwrite it "
                            "(use --rebase to build on top of it)")
    return tip if foreign else start


def _run(ctx: Context) -> PromotionResult:
    from generator.gitops.apply import apply_in_worktree

    with _worktree(ctx.git_repo, ctx.start) as tree:
        ctx.steps.done.append("worktree")
        return apply_in_worktree(ctx, tree)
