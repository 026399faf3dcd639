"""The steps of a release change (promote, release, rollback, a canary's rollout step)
inside the temporary worktree: edit the spec, render, gate, commit, then push and open
the pull request (or fast-forward with `--commit`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import git

from generator import __version__
from generator.check.gate import policy_gate
from generator.errors import ModelopsError
from generator.gitops.canary import edit_for_promotion
from generator.gitops.diff import diff_files, format_diff
from generator.gitops.gates import GateFailed, GateInput, run_gates
from generator.gitops.identity import commit_identity
from generator.gitops.promote import (
    TRAILER,
    Context,
    PromotionFailed,
    PromotionResult,
    run_git,
)
from generator.gitops.provenance import fit_body, provenance_block
from generator.gitops.pull_request import labels_for, manual_hint, title_for
from generator.gitops.spec_edit import set_release
from generator.render.pipeline import render_repository
from generator.render.writer import apply_changes, plan_changes
from generator.report import render_report
from generator.report.model import ReportInput, summarize
from generator.spec.load import Repository, load_repository
from generator.spec.model import ModelSpec

__all__ = ["apply_in_worktree"]


def _root(ctx: Context, tree: Path) -> Path:
    top = Path(ctx.git_repo.working_tree_dir or ".").resolve()
    return tree / ctx.repo_root.relative_to(top)


def _candidate(ctx: Context, spec: ModelSpec) -> dict[str, Any]:
    """The release to write: the source environment's (promote), the one given (release, rollback),
    or what serves the canary's share after the step (rollout)."""
    request = ctx.request
    if request.step is not None:
        return request.step.after(spec.release(request.target))
    if request.kind == "promote":
        return spec.release(ctx.source)
    return {k: v for k, v in (request.release or {}).items() if v not in (None, "", {})}


def _before(ctx: Context, spec: ModelSpec) -> dict[str, Any]:
    """What the change replaces: the target's release, or (rollout) the canary the step was planned from,
    which must still be the one on the base branch."""
    step = ctx.request.step
    if step is None:
        return spec.release(ctx.request.target)
    if spec.canary(step.env) != step.canary:
        on_base = spec.canary(step.env)
        found = f"at {on_base['weight']}% ({on_base.get('modelVersion', '?')})" if on_base else "none"
        raise ModelopsError(f"{spec.path}: the canary of '{step.model}' in '{step.env}' on {ctx.base_ref} is {found}, "
                            f"not the {step.weight_before}% ({step.canary.get('modelVersion', '?')}) of your checkout; "
                            f"pull {ctx.base} and run `modelops rollout` again")
    return step.canary


def apply_in_worktree(ctx: Context, tree: Path) -> PromotionResult:
    request, root = ctx.request, _root(ctx, tree)
    try:
        repo = load_repository(root)
    except ModelopsError as error:
        raise ctx.steps.fail("edit spec", f"the specs on {ctx.base_ref} do not load: {error}") from None
    spec = repo.model(request.model)
    before, after = _before(ctx, spec), _candidate(ctx, spec)
    result = PromotionResult(request.model, ctx.source, request.target, "planned", request.kind, ctx.branch,
                             before=before, after=after, trailers=list(ctx.trailers))
    if request.step is not None and request.step.note:
        result.messages.append(request.step.note)
    if not after:
        raise ModelopsError(f"{spec.path}: model '{request.model}' has no release in '{ctx.source}' to promote")
    if before == after:
        result.status = "unchanged"
        result.messages.append(f"{request.model}: {request.target} already has this release; nothing to do")
        return result
    try:
        result.messages += run_gates(_gate_input(ctx, repo, tree, after))
    except GateFailed as error:
        raise PromotionFailed(str(error)) from None
    return _edit_render_gate(ctx, repo, root, spec.path, result)


def _gate_input(ctx: Context, repo: Repository, tree: Path, after: dict[str, Any]) -> GateInput:
    request = ctx.request
    metrics, label = request.metrics, request.metrics_label
    if request.metrics_file is not None:
        from generator.gitops.gates import read_metrics_file

        metrics, label = read_metrics_file(request.metrics_file), request.metrics_file.name
    return GateInput(repo=repo, model=request.model, source=ctx.source, target=request.target, kind=request.kind,
                     release=after, metrics=metrics, metrics_label=label, live=request.live,
                     revision=lambda: _last_change(ctx, tree, repo.root), contains=lambda tip: _is_ancestor(ctx, tip),
                     live_check=request.live_check)


def _is_ancestor(ctx: Context, tip: str) -> bool:
    try:
        return ctx.git_repo.is_ancestor(ctx.git_repo.commit(ctx.start), ctx.git_repo.commit(tip))
    except (git.GitCommandError, ValueError, git.BadName):
        return False  # the cluster reports a revision we do not have: not proof of anything


def _last_change(ctx: Context, tree: Path, root: Path) -> str:
    """The last commit on the base that changed the source environment's files for the model."""
    inside = root.relative_to(tree).as_posix()
    prefix = "" if inside == "." else inside + "/"
    out = run_git(ctx.git_repo, "log", "-1", "--format=%H", ctx.base_ref, "--",
                  f"{prefix}environments/{ctx.source}/{ctx.request.model}")
    return out.strip()


def _edit_and_render(ctx: Context, repo: Repository, root: Path, spec_path: str,
                     after: dict[str, Any]) -> tuple[Repository, list[Any], list[Any], str]:
    """Write the release into the spec in the worktree and render it: (edited, files, changes, diff)."""
    target, model = ctx.request.target, ctx.request.model
    path = root / spec_path
    try:
        path.write_text(_edited_spec(ctx, repo, path.read_text(encoding="utf-8"), after, spec_path), encoding="utf-8")
        ctx.steps.done.append("edit spec")
        edited = load_repository(root)
        files = render_repository(edited, [target], [model])
        changes = plan_changes(root, files, environments=[target], models=[model])
        old_files = render_repository(repo, [target], [model])
    except ModelopsError as error:
        raise ctx.steps.fail("render", error) from None
    return edited, files, changes, format_diff(diff_files(old_files, files, ctx.base_ref), "markdown")


def _edited_spec(ctx: Context, repo: Repository, text: str, after: dict[str, Any], spec_path: str) -> str:
    request = ctx.request
    if request.step is not None:
        return request.step.edit(text, file=spec_path)
    if request.kind == "promote":
        return edit_for_promotion(text, repo, request.model, request.target, after, file=spec_path)
    return set_release(text, request.target, after, file=spec_path)


def _edit_render_gate(ctx: Context, repo: Repository, root: Path, spec_path: str,
                      result: PromotionResult) -> PromotionResult:
    request = ctx.request
    edited, files, changes, diff_md = _edit_and_render(ctx, repo, root, spec_path, result.after)
    passed, report = policy_gate(edited, [request.target], [request.model], fail_on="deny")
    result.report = render_report("markdown", report)
    if not passed:
        result.status = "refused"
        result.messages.append(render_report("text", report))
        return result
    if request.dry_run:
        touched = ", ".join([spec_path, *(c.path for c in changes)])
        where = f"commit on {ctx.base} (nothing is pushed)" if request.commit_here else f"commit and push {ctx.branch}"
        result.messages.append(f"dry run: would change {touched}, {where}; {ctx.forge.describe()}")
        return result
    apply_changes(root, files, changes)
    ctx.steps.done += ["render", "policy gate"]
    _commit(ctx, root, spec_path, result)
    if request.commit_here:
        return _fast_forward(ctx, result)
    return _push_and_open(ctx, result, diff_md, _policy_record(report))


def _policy_record(report: ReportInput) -> dict[str, Any]:
    summary = summarize(report)
    engine = report.engine or _default_engine()
    return {"passed": summary.passed, "deny": summary.deny, "warn": summary.warn, "waived": summary.waived,
            "errors": summary.errors, "engine": engine}


def _default_engine() -> str:
    from generator.policy.engines import DEFAULT_ENGINE, engine_label

    return engine_label(DEFAULT_ENGINE)


def _message(ctx: Context, result: PromotionResult) -> str:
    before, after, model, step = result.before, result.after, result.model, ctx.request.step
    lines = [_subject(ctx, result), "", f"{title_for(result.kind, model, result.target, before, after)}.", ""]
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            lines.append(f"- {key}: {before.get(key, '(none)')} -> {after.get(key, '(none)')}")
    lines += ["", f"Modelops-Model: {model}", f"Modelops-Kind: {result.kind}", f"Modelops-Source: {result.source}",
              f"Modelops-Target: {result.target}"]
    for key in ("image", "trainingImage", "modelVersion", "modelUri", "chartRevision"):
        if after.get(key):
            lines.append(f"Modelops-{key[0].upper()}{key[1:]}: {after[key]}")
    # provenance of the gates: a rollout step records each live check, whichever way it went
    lines += step.trailers() if step else [f"Modelops-Gate: {m}" for m in result.messages if " gate: " in m]
    if result.kind == "rollback":
        lines.append(f"Modelops-Rollback: {before.get('modelVersion', '(none)')} -> {after.get('modelVersion', '(none)')}")
    lines += result.trailers
    lines.append(f"{TRAILER}: {model}/{result.target}")
    return "\n".join(lines) + "\n"


def _subject(ctx: Context, result: PromotionResult) -> str:
    after, step = result.after, ctx.request.step
    version = after.get("modelVersion") or after.get("image", "")
    if step is not None:
        version = step.canary.get("modelVersion") or step.canary.get("image", "")
        return (f"rollout({result.model}): {result.target} {step.action} {step.weight_before}% -> "
                f"{step.weight_after}% ({version})")
    verb = {"release": "release", "rollback": "rollback"}.get(result.kind, "promote")
    return f"{verb}({result.model}): {result.source} -> {result.target} ({version})"


def _commit(ctx: Context, root: Path, spec_path: str, result: PromotionResult) -> None:
    tree = Path(root)
    worktree = git.Repo(tree, search_parent_directories=True)
    prefix = root.relative_to(Path(worktree.working_tree_dir or ".")).as_posix()
    paths = [spec_path, f"environments/{result.target}/{result.model}"]
    paths = [p if prefix == "." else f"{prefix}/{p}" for p in paths]
    run_git(worktree, "add", "--all", "--", *paths)
    identity = commit_identity(ctx.git_repo, bot_author=ctx.request.bot_author)
    try:
        run_git(worktree, "commit", "--quiet", "--no-verify", "-m", _message(ctx, result), env=identity)
    except git.GitCommandError as error:
        raise ctx.steps.fail("commit", error.stderr.strip() or error) from None
    ctx.steps.done.append("commit")
    result.commit = worktree.head.commit.hexsha


def _fast_forward(ctx: Context, result: PromotionResult) -> PromotionResult:
    try:
        run_git(ctx.git_repo, "merge", "--ff-only", "--quiet", result.commit)
    except git.GitCommandError as error:
        raise ctx.steps.fail("fast-forward", error.stderr.strip() or error) from None
    result.status = "committed"
    result.messages.append(f"committed on {ctx.base}; nothing was pushed and no pull request will be opened")
    return result


def _push_and_open(ctx: Context, result: PromotionResult, diff_md: str, policy: dict[str, Any]) -> PromotionResult:
    commit = ctx.git_repo.commit(result.commit)
    same = ctx.tip is not None and ctx.git_repo.commit(ctx.tip).tree.hexsha == commit.tree.hexsha \
        and [p.hexsha for p in ctx.git_repo.commit(ctx.tip).parents] == [ctx.start]
    if same:
        result.commit = ctx.tip or ""
        result.status = "up-to-date"
        result.messages.append(f"{ctx.branch} already holds this change")
    else:
        lease = f"--force-with-lease=refs/heads/{ctx.branch}:{ctx.tip or ''}"
        try:
            run_git(ctx.git_repo, *ctx.auth, "push", "--quiet", "--no-verify", lease, ctx.request.remote,
                    f"{commit.hexsha}:refs/heads/{ctx.branch}")
        except git.GitCommandError as error:
            raise ctx.steps.fail("push", error.stderr.strip() or error) from None
        ctx.steps.done.append("push")
        result.status = "pushed"
    if ctx.forge.forge is None:
        from generator.gitops.git import remote_url

        result.messages.append(manual_hint(ctx.base, remote_url(ctx.git_repo, ctx.request.remote), ctx.branch))
        return result
    return _open_pull_request(ctx, result, diff_md, policy, same)


def _open_pull_request(ctx: Context, result: PromotionResult, diff_md: str, policy: dict[str, Any],
                       same: bool) -> PromotionResult:
    forge = ctx.forge.forge
    assert forge is not None
    title = title_for(result.kind, result.model, result.target, result.before, result.after)
    body = pr_body(ctx, result, diff_md, policy, forge.name)
    labels = labels_for(result.kind, result.model, result.target)
    try:
        existing = forge.find_open_pull_request(ctx.branch, ctx.base)
        if existing is not None and same:
            pr = existing
        elif existing is not None:
            pr = forge.update_pull_request(existing.number, title, body, labels)
            result.status = "updated"
        else:
            pr = forge.create_pull_request(ctx.branch, ctx.base, title, body, labels)
            result.status = "created"
    except ModelopsError as error:
        raise ctx.steps.fail("pull request", error) from None
    ctx.steps.done.append("pull request")
    result.pull_request = pr.url
    return result


def provenance(ctx: Context, result: PromotionResult, policy: dict[str, Any]) -> dict[str, Any]:
    trailers = dict(t.split(": ", 1) for t in result.trailers if ": " in t)
    return {"kind": result.kind, "model": result.model, "source": result.source, "target": result.target,
            "environments": {"source": result.source if result.kind == "promote" else None, "target": result.target},
            "before": result.before, "after": result.after, "specCommit": ctx.start, "commit": result.commit,
            "branch": ctx.branch, "metrics": result.after.get("metrics") or {}, "policy": policy,
            "modelops": {"version": __version__, "engine": policy.get("engine", "")},
            **({"freezeOverride": trailers} if trailers else {}),
            **({"rollout": ctx.request.step.record()} if ctx.request.step else {})}


def pr_body(ctx: Context, result: PromotionResult, diff_md: str, policy: dict[str, Any], forge: str) -> str:
    rows = [f"| `{k}` | `{_cell(result.before.get(k, '-'))}` | `{_cell(result.after.get(k, '-'))}` |"
            for k in sorted(set(result.before) | set(result.after)) if result.before.get(k) != result.after.get(k)]
    head = "\n".join([provenance_block(provenance(ctx, result, policy)), "<!-- modelops:promotion -->",
                      f"## {title_for(result.kind, result.model, result.target, result.before, result.after)}", "",
                      "| Field | Before | After |", "| --- | --- | --- |", *rows, "",
                      *_gates_markdown(ctx, result)])
    tail = "\n_Opened by `modelops`. Re-running the same command updates this pull request._\n"
    return fit_body([head, diff_md.strip(), "", result.report.strip(), tail], forge,
                    hint="Run `modelops diff` and `modelops check` locally for the full output.")


def _gates_markdown(ctx: Context, result: PromotionResult) -> list[str]:
    """The gates that let the change through (a rollout step: its live checks, table and queries)."""
    if ctx.request.step is not None:
        return [ctx.request.step.markdown()]
    notes = [f"- {m}" for m in result.messages if " gate: " in m]
    return [*notes, ""] if notes else []


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
    return str(value).replace("|", "\\|").replace("`", "'")
