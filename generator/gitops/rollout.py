"""Canary rollouts in git: each step (advance, complete, abort) is one commit on its own
branch `rollout/<model>/<env>/<step>` and one pull request, gated on the canary's live
metrics. Built on the promotion machinery (generator.gitops.promote): a detached
worktree of the remote base, render, policy gate, a modelops-only branch pushed with a
lease, the same forges. The user's working tree and branches are never touched.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import git

from generator.check.gate import policy_gate
from generator.errors import ModelopsError
from generator.gitops import promote as machinery
from generator.gitops.canary import canary_steps, complete, next_weight, set_canary
from generator.gitops.diff import diff_files, format_diff
from generator.gitops.git import bot_env, redact
from generator.gitops.live_metrics import live_metrics
from generator.gitops.prometheus_gate import MetricsVerdict, verdict_markdown
from generator.render.pipeline import render_repository
from generator.render.writer import apply_changes, plan_changes
from generator.report import render_report
from generator.spec.load import Repository, load_repository

__all__ = ["RolloutRequest", "RolloutResult", "plan_step", "rollout"]


@dataclass
class RolloutRequest:
    model: str
    env: str
    abort: bool = False
    dry_run: bool = False
    remote: str = "origin"
    forge: str | None = None
    forge_url: str | None = None
    repo_slug: str | None = None
    prometheus_url: str | None = None
    open_pull_request: bool = True


@dataclass
class RolloutResult:
    model: str
    env: str
    action: str  # advance | complete | abort
    weight_before: int
    weight_after: int  # 0 after an abort, 100 once complete
    status: str = "planned"  # planned | pushed | created | updated | up-to-date | refused
    branch: str = ""
    commit: str = ""
    pull_request: str = ""
    verdict: MetricsVerdict | None = None
    messages: list[str] = field(default_factory=list)


def plan_step(repo: Repository, request: RolloutRequest) -> RolloutResult:
    """What this run does: abort on request or on a failed gate, else the next step."""
    spec = repo.model(request.model)
    canary = spec.canary(request.env)
    if not canary:
        raise ModelopsError(f"{spec.path}: no canary of '{request.model}' is rolling out in '{request.env}' "
                            f"(start one with `modelops promote {request.model} --to {request.env}`)")
    steps = canary_steps(repo, request.model, request.env)
    if steps is None:
        raise ModelopsError(f"{repo.environment(request.env).path}: '{request.env}' declares no canary steps for "
                            f"'{request.model}' (serving.canary with a KServe target)")
    weight = int(canary["weight"])
    if request.abort:
        return RolloutResult(request.model, request.env, "abort", weight, 0, messages=["abort requested"])
    verdict = live_metrics(repo, request.model, request.env, version=canary.get("modelVersion"),
                           url=request.prometheus_url)
    if verdict is None:
        raise ModelopsError(f"no Prometheus for '{request.env}': set serving.monitoring.prometheusUrl or "
                            "MODELOPS_PROMETHEUS_URL (or pass --abort)")
    if not verdict.passed:
        return RolloutResult(request.model, request.env, "abort", weight, 0, verdict=verdict,
                             messages=[f"live metrics gate failed: {verdict.reason()}"])
    after = next_weight(steps, weight)
    return RolloutResult(request.model, request.env, "complete" if after == 100 else "advance", weight, after,
                         verdict=verdict, messages=[f"live metrics gate: {verdict.reason()}"])


def _edit(text: str, result: RolloutResult, canary: dict[str, Any], file: str) -> str:
    if result.action == "abort":
        return set_canary(text, result.env, None, file=file)
    if result.action == "complete":
        return complete(text, result.env, canary, file=file)
    return set_canary(text, result.env, {**canary, "weight": result.weight_after}, file=file)


def _title(result: RolloutResult, version: str) -> str:
    if result.action == "abort":
        return f"Abort canary of {result.model} {version} in {result.env} (back to the previous release)"
    if result.action == "complete":
        return f"Complete canary of {result.model} {version} in {result.env} (100%)"
    return f"Canary {result.model} {version} in {result.env}: {result.weight_before}% -> {result.weight_after}%"


def _message(result: RolloutResult, version: str) -> str:
    subject = (f"rollout({result.model}): {result.env} {result.action} {result.weight_before}% -> "
               f"{result.weight_after}% ({version})")
    lines = [subject, "", _title(result, version) + ".", ""]
    if result.verdict is not None:
        lines += [f"Modelops-Gate: {c.describe()}" for c in result.verdict.checks]
    lines += [f"Modelops-Model: {result.model}", f"Modelops-Target: {result.env}",
              f"Modelops-Rollout: {result.action} {result.weight_after}",
              f"{machinery.TRAILER}: {result.model}/{result.env}"]
    return "\n".join(lines) + "\n"


def _body(result: RolloutResult, version: str, diff_md: str, report_md: str) -> str:
    gate = verdict_markdown(result.verdict) if result.verdict else "_No live metrics gate: abort requested._"
    return "\n".join(["<!-- modelops:rollout -->", f"## {_title(result, version)}", "", gate, "",
                      diff_md.strip(), "", report_md.strip(), "",
                      "_Opened by `modelops rollout`; merge it, let it soak, then run `modelops rollout` again._", ""])


def rollout(request: RolloutRequest, repo_root: Path) -> RolloutResult:
    """Plan the step from the remote base branch's specs, then open its pull request."""
    repo_root = repo_root.resolve()
    promotion = machinery.PromotionRequest(model=request.model, target=request.env, remote=request.remote,
                                           forge=request.forge)
    git_repo, base, url, auth = machinery._prepare(promotion, repo_root)
    forge = None
    if request.open_pull_request and not request.dry_run:
        from generator.forges.detect import forge_from_remote

        forge = forge_from_remote(url, request.forge, request.forge_url, request.repo_slug)
    try:
        machinery._git(git_repo, *auth, "fetch", "--quiet", request.remote,
                       f"+refs/heads/{base}:refs/remotes/{request.remote}/{base}")
    except git.GitCommandError as error:
        raise ModelopsError(f"cannot fetch {base} from {request.remote} ({redact(url)}): "
                            f"{redact(error.stderr.strip() or str(error))}") from None
    base_ref = f"{request.remote}/{base}"
    with machinery._worktree(git_repo, git_repo.commit(base_ref).hexsha) as tree:
        root = tree / repo_root.relative_to(Path(git_repo.working_tree_dir or ".").resolve())
        return _step_in(request, git_repo, tree, root, base, base_ref, auth, forge)


def _step_in(request: RolloutRequest, git_repo: git.Repo, tree: Path, root: Path, base: str, base_ref: str,
             auth: list[str], forge: Any) -> RolloutResult:
    repo = load_repository(root)
    result = plan_step(repo, request)
    spec = repo.model(request.model)
    canary = spec.canary(request.env)
    version = str(canary.get("modelVersion") or canary.get("image", ""))
    result.branch = f"rollout/{request.model}/{request.env}/{result.action if result.action != 'advance' else result.weight_after}"
    spec_path = root / spec.path
    spec_path.write_text(_edit(spec_path.read_text(encoding="utf-8"), result, canary, spec.path), encoding="utf-8")
    edited = load_repository(root)
    files = render_repository(edited, [request.env], [request.model])
    changes = plan_changes(root, files, environments=[request.env], models=[request.model])
    diff_md = format_diff(diff_files(render_repository(repo, [request.env], [request.model]), files, base_ref),
                          "markdown")
    passed, report = policy_gate(edited, [request.env], [request.model], fail_on="deny")
    if not passed:
        result.status = "refused"
        result.messages.append(render_report("text", report))
        return result
    if request.dry_run:
        result.messages.append(f"dry run: would change {spec.path} and environments/{request.env}/{request.model}, "
                               f"commit and push {result.branch}")
        return result
    apply_changes(root, files, changes)
    body = _body(result, version, diff_md, render_report("markdown", report))
    return _commit_push_pr(request, git_repo, tree, root, spec.path, base, result, version, auth, forge, body)


def _commit_push_pr(request: RolloutRequest, git_repo: git.Repo, tree: Path, root: Path, spec_path: str, base: str,
                    result: RolloutResult, version: str, auth: list[str], forge: Any, body: str) -> RolloutResult:
    worktree = git.Repo(tree)
    prefix = root.relative_to(tree).as_posix()
    paths = [spec_path, f"environments/{request.env}/{request.model}"]
    machinery._git(worktree, "add", "--all", "--", *[p if prefix == "." else f"{prefix}/{p}" for p in paths])
    machinery._git(worktree, "commit", "--quiet", "--no-verify", "-m", _message(result, version), env=bot_env())
    commit = worktree.head.commit.hexsha
    tip = machinery._remote_tip(git_repo, request.remote, result.branch, auth)
    if tip is not None:
        machinery._git(git_repo, *auth, "fetch", "--quiet", request.remote, f"+refs/heads/{result.branch}")
        foreign = [c for c in git_repo.iter_commits(f"{request.remote}/{base}..{tip}")
                   if not machinery._is_ours(c, request.model, request.env)]
        if foreign:
            raise ModelopsError(f"remote branch {result.branch} has commits modelops did not make; refusing to overwrite it")
    try:
        machinery._git(worktree, *auth, "push", "--quiet", "--no-verify",
                       f"--force-with-lease=refs/heads/{result.branch}:{tip or ''}", request.remote,
                       f"{commit}:refs/heads/{result.branch}")
    except git.GitCommandError as error:
        raise ModelopsError(f"rollout failed at 'push' of {result.branch}: {redact(error.stderr.strip() or str(error))}; "
                            "nothing was pushed") from None
    result.commit, result.status = commit, "pushed"
    if forge is None:
        return result
    title = _title(result, version)
    labels = ["modelops/rollout", f"model/{request.model}", f"env/{request.env}"]
    existing = forge.find_open_pull_request(result.branch, base)
    if existing is not None:
        pr, result.status = forge.update_pull_request(existing.number, title, body, labels), "updated"
    else:
        pr, result.status = forge.create_pull_request(result.branch, base, title, body, labels), "created"
    result.pull_request = pr.url
    return result
