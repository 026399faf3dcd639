"""Promotion: copy a model's release from one environment to the next, as a pull request.

Safety comes from where the work happens: in a temporary, detached git worktree of the
remote base branch. The user's working tree, index and local branches are never touched;
a failure at any step removes the worktree and reports what was and was not done.
The remote branch `promote/<model>/<env>` is only ever overwritten when every commit on
it was made by modelops (fixed identity plus a `Modelops-Promotion` trailer), and then
with `--force-with-lease` against the tip we inspected.
"""
from __future__ import annotations

import base64
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import git

from generator.check.gate import policy_gate
from generator.errors import ModelopsError
from generator.gitops.diff import diff_files, format_diff
from generator.gitops.git import BOT_EMAIL, bot_env, current_branch, open_repo, redact, remote_url, require_clean
from generator.gitops.canary import edit_for_promotion
from generator.render.pipeline import render_repository
from generator.render.writer import apply_changes, plan_changes
from generator.report import render_report
from generator.spec.load import Repository, load_repository

__all__ = ["PromotionRequest", "PromotionResult", "promote", "branch_name", "PromotionFailed", "TRAILER"]

TRAILER = "Modelops-Promotion"
TOKEN_VARIABLES = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN", "gitea": "GITEA_TOKEN"}
PUSH_USERS = {"github": "x-access-token", "gitlab": "oauth2", "gitea": "modelops"}


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


@dataclass
class PromotionResult:
    model: str
    source: str
    target: str
    status: str  # up-to-date | nothing-to-promote | planned | created | updated | refused
    branch: str = ""
    commit: str = ""
    pull_request: str = ""
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    report: str = ""
    messages: list[str] = field(default_factory=list)


def branch_name(model: str, env: str) -> str:
    return f"promote/{model}/{env}"


class _Steps:
    """Record of what happened, so a failure can say exactly what was and was not done."""

    PLAN = ("fetch", "worktree", "edit spec", "render", "policy gate", "commit", "push", "pull request")

    def __init__(self) -> None:
        self.done: list[str] = []

    def fail(self, step: str, error: Exception | str) -> PromotionFailed:
        not_done = [s for s in self.PLAN if s not in self.done]
        done = ", ".join(self.done) or "nothing"
        message = redact(str(error))
        return PromotionFailed(f"promotion failed at '{step}': {message}. Done: {done}; not done: "
                               f"{', '.join(not_done)}. Your working tree and local branches are unchanged.")


def _source_for(repo: Repository, request: PromotionRequest) -> str:
    target = repo.environment(request.target)
    source = request.source or target.promotes_from
    if source is None:
        raise ModelopsError(f"environment '{request.target}' promotes from nothing; pass --from ENV")
    repo.environment(source)
    if target.promotes_from != source and not request.force:
        chain = " -> ".join(repo.chain(request.target))
        raise ModelopsError(f"'{request.target}' promotes from '{target.promotes_from}', not '{source}' "
                            f"(chain: {chain}); refusing to skip an environment (use --force to override)")
    return source


def _git(repo: git.Repo, *args: str, env: dict[str, str] | None = None) -> str:
    extra = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k.startswith("GIT_CONFIG")}
    return repo.git.execute(["git", *args], env={**extra, **(env or {})}, with_extended_output=False)


def _remote_tip(repo: git.Repo, remote: str, branch: str, auth: list[str]) -> str | None:
    out = _git(repo, *auth, "ls-remote", "--heads", remote, f"refs/heads/{branch}")
    return out.split()[0] if out.strip() else None


def _is_ours(commit: git.Commit, model: str, env: str) -> bool:
    trailer = f"{TRAILER}: {model}/{env}"
    return commit.committer.email == BOT_EMAIL and commit.author.email == BOT_EMAIL and trailer in commit.message


def _forge_kind(request: PromotionRequest, url: str) -> str | None:
    if request.forge:
        return request.forge
    from generator.forges.detect import guess_forge, parse_remote

    try:
        return guess_forge(parse_remote(url).host)
    except ModelopsError:
        return None


def _push_auth(request: PromotionRequest, url: str) -> list[str]:
    """`-c http.extraHeader=...` for HTTPS pushes: the token is never written to git config or URLs."""
    if not url.startswith(("http://", "https://")):
        return []
    kind = _forge_kind(request, url)
    token = os.environ.get(TOKEN_VARIABLES.get(kind or "", ""), "") if kind else ""
    if not token:
        return []
    basic = base64.b64encode(f"{PUSH_USERS[kind]}:{token}".encode()).decode()
    return ["-c", f"http.extraHeader=Authorization: Basic {basic}"]


@contextmanager
def _worktree(repo: git.Repo, commit: str) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="modelops-promote-"))
    path = folder / "tree"
    _git(repo, "worktree", "add", "--detach", "--quiet", str(path), commit)
    try:
        yield path
    finally:
        try:
            _git(repo, "worktree", "remove", "--force", str(path))
        except git.GitCommandError:
            pass
        shutil.rmtree(folder, ignore_errors=True)
        _git(repo, "worktree", "prune")


def _message(model: str, source: str, target: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    version = after.get("modelVersion") or after.get("image", "")
    lines = [f"promote({model}): {source} -> {target} ({version})", "",
             f"Promote {model} from {source} to {target}.", ""]
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            lines.append(f"- {key}: {before.get(key, '(none)')} -> {after.get(key, '(none)')}")
    lines += ["", f"Modelops-Model: {model}", f"Modelops-Source: {source}", f"Modelops-Target: {target}"]
    for key in ("image", "trainingImage", "modelVersion", "modelUri", "chartRevision"):
        if after.get(key):
            lines.append(f"Modelops-{key[0].upper()}{key[1:]}: {after[key]}")
    lines.append(f"{TRAILER}: {model}/{target}")
    return "\n".join(lines) + "\n"


def _pr_body(result: PromotionResult, diff_md: str, report_md: str) -> str:
    rows = [f"| `{k}` | `{result.before.get(k, '-')}` | `{result.after.get(k, '-')}` |"
            for k in sorted(set(result.before) | set(result.after)) if result.before.get(k) != result.after.get(k)]
    return "\n".join([
        "<!-- modelops:promotion -->",
        f"## Promote `{result.model}`: {result.source} -> {result.target}", "",
        "| Field | Before | After |", "| --- | --- | --- |", *rows, "",
        *[f"- {m}" for m in result.messages if " gate: " in m], "",
        diff_md.strip(), "", report_md.strip(), "",
        "_Opened by `modelops promote`. Re-running it updates this pull request._", ""])


def _check_gates(request: PromotionRequest, repo: Repository, source: str, git_repo: git.Repo,
                 base_ref: str, tree: Path) -> list[str]:
    notes = []
    spec = repo.model(request.model)
    thresholds = spec.data.get("promotion", {}).get("metrics", {})
    if request.metrics_file is not None:
        from generator.gitops.gates import metrics_gate

        passed, reason = metrics_gate(thresholds, request.metrics_file)
        if not passed:
            raise PromotionFailed(f"metrics gate failed: {reason}")
        notes.append(f"metrics gate: {reason}")
    elif thresholds:
        notes.append("metrics gate: skipped (no --metrics file given)")
    if request.live:
        revision = _last_change(git_repo, base_ref, request.model, source, tree, repo.root)
        if request.live_check is not None:
            passed, reason = request.live_check(repo, request.model, source, revision)
        else:
            from generator.gitops.gates import live_gate

            passed, reason = live_gate(repo, request.model, source, revision,
                                       contains=lambda tip: _is_ancestor(git_repo, revision, tip))
        if not passed:
            raise PromotionFailed(f"live gate failed: {reason}")
        notes.append(f"live gate: {reason}")
        from generator.gitops.live_metrics import live_metrics

        verdict = live_metrics(repo, request.model, source, version=spec.release(source).get("modelVersion"))
        if verdict is not None and not verdict.passed:
            raise PromotionFailed(f"live metrics gate failed: {verdict.reason()}")
        notes.append(f"live metrics gate: {verdict.reason()}" if verdict else
                     "live metrics gate: skipped (no serving, or no serving.monitoring.prometheusUrl)")
    return notes


def _is_ancestor(git_repo: git.Repo, ancestor: str, tip: str) -> bool:
    try:
        return git_repo.is_ancestor(ancestor, tip)
    except (git.GitCommandError, ValueError):
        return False  # the cluster reports a revision we do not have: not proof of anything


def _last_change(git_repo: git.Repo, ref: str, model: str, source: str, tree: Path, root: Path) -> str:
    """The last commit on `ref` that changed the source environment's files for `model`."""
    inside = root.relative_to(tree).as_posix()
    prefix = "" if inside == "." else inside + "/"
    out = _git(git_repo, "log", "-1", "--format=%H", ref, "--", f"{prefix}environments/{source}/{model}")
    return out.strip()


def _prepare(request: PromotionRequest, repo_root: Path) -> tuple[git.Repo, str, str, list[str]]:
    git_repo = open_repo(repo_root)
    base = current_branch(git_repo)
    require_clean(git_repo)
    url = remote_url(git_repo, request.remote)
    return git_repo, base, url, _push_auth(request, url)


def promote(request: PromotionRequest, repo_root: Path) -> PromotionResult:
    repo_root = repo_root.resolve()
    local = load_repository(repo_root)
    local.model(request.model)
    source = _source_for(local, request)
    git_repo, base, url, auth = _prepare(request, repo_root)
    forge = None
    if request.open_pull_request and not request.dry_run:
        from generator.forges.detect import forge_from_remote

        forge = forge_from_remote(url, request.forge, request.forge_url, request.repo_slug)
    steps = _Steps()
    branch = branch_name(request.model, request.target)
    try:
        _git(git_repo, *auth, "fetch", "--quiet", request.remote, f"+refs/heads/{base}:refs/remotes/{request.remote}/{base}")
    except git.GitCommandError as error:
        raise steps.fail("fetch", f"cannot fetch {base} from {request.remote} ({redact(url)}): "
                         f"{redact(error.stderr.strip() or str(error))}") from None
    steps.done.append("fetch")
    base_ref = f"{request.remote}/{base}"
    tip = _remote_tip(git_repo, request.remote, branch, auth)
    start = git_repo.commit(base_ref).hexsha
    if tip is not None:
        _git(git_repo, *auth, "fetch", "--quiet", request.remote, f"+refs/heads/{branch}:refs/remotes/{request.remote}/{branch}")
        foreign = [c for c in git_repo.iter_commits(f"{base_ref}..{tip}") if not _is_ours(c, request.model, request.target)]
        if foreign and not request.rebase:
            first = foreign[-1]
            raise ModelopsError(f"remote branch {branch} has commit {first.hexsha[:12]} by {first.author.name} "
                                f"<{first.author.email}> that modelops did not make; refusing to overwrite it "
                                "(use --rebase to build the promotion on top of it)")
        if foreign:
            start = tip
    with _worktree(git_repo, start) as tree:
        steps.done.append("worktree")
        return _promote_in(request, git_repo, tree, repo_root, source, base, base_ref, branch, tip, start, auth,
                           forge, steps)


def _promote_in(request: PromotionRequest, git_repo: git.Repo, tree: Path, repo_root: Path, source: str,
                base: str, base_ref: str, branch: str, tip: str | None, start: str, auth: list[str],
                forge: Any, steps: _Steps) -> PromotionResult:
    top = Path(git_repo.working_tree_dir or ".").resolve()
    root = tree / repo_root.relative_to(top)
    try:
        repo = load_repository(root)
    except ModelopsError as error:
        raise steps.fail("edit spec", f"the specs on {base_ref} do not load: {error}") from None
    spec = repo.model(request.model)
    before, after = spec.release(request.target), spec.release(source)
    result = PromotionResult(request.model, source, request.target, "planned", branch, before=before, after=after)
    if not after:
        raise ModelopsError(f"{spec.path}: model '{request.model}' has no release in '{source}' to promote")
    if before == after:
        result.status = "nothing-to-promote"
        result.messages.append(f"{request.model}: {request.target} already runs the {source} release")
        return result
    result.messages += _check_gates(request, repo, source, git_repo, base_ref, tree)
    spec_path = root / spec.path
    try:
        spec_path.write_text(edit_for_promotion(spec_path.read_text(encoding="utf-8"), repo, request.model,
                                                request.target, after, file=spec.path), encoding="utf-8")
        steps.done.append("edit spec")
        edited = load_repository(root)
        files = render_repository(edited, [request.target], [request.model])
        changes = plan_changes(root, files, environments=[request.target], models=[request.model])
        old_files = render_repository(repo, [request.target], [request.model])
    except ModelopsError as error:
        raise steps.fail("render", error) from None
    diff_md = format_diff(diff_files(old_files, files, base_ref), "markdown")
    passed, report = policy_gate(edited, [request.target], [request.model], fail_on="deny")
    result.report = render_report("markdown", report)
    if not passed:
        result.status = "refused"
        result.messages.append(render_report("text", report))
        return result
    if request.dry_run:
        touched = [spec.path, *(c.path for c in changes)]
        result.messages.append("dry run: would change " + ", ".join(touched) + f", commit and push {branch}")
        return result
    apply_changes(root, files, changes)
    steps.done += ["render", "policy gate"]
    return _commit_push_pr(request, git_repo, tree, spec.path, source, base, branch, tip, start, auth, forge,
                           steps, result, diff_md, root)


def _commit_push_pr(request: PromotionRequest, git_repo: git.Repo, tree: Path, spec_path: str, source: str,
                    base: str, branch: str, tip: str | None, start: str, auth: list[str], forge: Any,
                    steps: _Steps, result: PromotionResult, diff_md: str, root: Path) -> PromotionResult:
    worktree = git.Repo(tree)
    prefix = root.relative_to(tree).as_posix()
    paths = [spec_path, f"environments/{request.target}/{request.model}"]
    paths = [p if prefix == "." else f"{prefix}/{p}" for p in paths]
    _git(worktree, "add", "--all", "--", *paths)
    message = _message(request.model, source, request.target, result.before, result.after)
    message += "".join(f"Modelops-Gate: {m}\n" for m in result.messages if " gate: " in m)  # provenance
    try:
        _git(worktree, "commit", "--quiet", "--no-verify", "-m", message, env=bot_env())
    except git.GitCommandError as error:
        raise steps.fail("commit", error.stderr.strip() or error) from None
    commit = worktree.head.commit
    steps.done.append("commit")
    result.commit = commit.hexsha
    same = tip is not None and git_repo.commit(tip).tree.hexsha == commit.tree.hexsha \
        and [p.hexsha for p in git_repo.commit(tip).parents] == [start]
    if same:
        result.commit = tip or ""
        result.status = "up-to-date"
        result.messages.append(f"{branch} already holds this promotion")
    else:
        lease = f"--force-with-lease=refs/heads/{branch}:{tip or ''}"
        try:
            _git(worktree, *auth, "push", "--quiet", "--no-verify", lease, request.remote,
                 f"{commit.hexsha}:refs/heads/{branch}")
        except git.GitCommandError as error:
            raise steps.fail("push", error.stderr.strip() or error) from None
        steps.done.append("push")
    if forge is None:
        result.status = result.status if same else "pushed"
        return result
    title = f"Promote {request.model} to {request.target} ({result.after.get('modelVersion') or 'new image'})"
    labels = ["modelops/promotion", f"model/{request.model}", f"env/{request.target}"]
    body = _pr_body(result, diff_md, result.report)
    try:
        existing = forge.find_open_pull_request(branch, base)
        if existing is not None and same:
            pr = existing
        elif existing is not None:
            pr = forge.update_pull_request(existing.number, title, body, labels)
            result.status = "updated"
        else:
            pr = forge.create_pull_request(branch, base, title, body, labels)
            result.status = "created"
    except ModelopsError as error:
        raise steps.fail("pull request", error) from None
    steps.done.append("pull request")
    result.pull_request = pr.url
    return result
