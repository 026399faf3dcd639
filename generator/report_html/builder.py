"""Collect everything the HTML report shows into one frozen value.

The page is a pure function of this value, so two runs over the same repository (and
the same git refs) give byte-identical HTML. Git is read locally only: promotions are
the `promote/<model>/<env>` branches already fetched, never a forge API call.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git

from generator import __version__
from generator.capacity import training_plan
from generator.check.gate import policy_gate
from generator.errors import ModelopsError
from generator.findings import Finding, severity_rank
from generator.gitops.git import open_repo
from generator.gitops.status import release_matrix
from generator.report.model import summarize
from generator.spec.load import Repository
from generator.spec.model import ResolvedModel

__all__ = ["ReportData", "MatrixRow", "MatrixCell", "ModelFindings", "GpuUse", "GpuEnvironment", "Promotion",
           "build_report", "open_promotions", "LEVELS"]

LEVELS = ("deny", "warn", "info", "waived")  # column order of the findings summary, strongest first
SEVERITY_ORDER = ("low", "medium", "high", "critical")
_TRAILER = re.compile(r"^(Modelops-[A-Za-z]+):[ \t]*(.+?)\s*$", re.MULTILINE)
_PROMOTE_REF = re.compile(r"^refs/(?:heads|remotes/[^/]+)/(?:promote|release|rollback)/(?P<model>[^/]+)/(?P<env>[^/]+)$")


@dataclass(frozen=True)
class MatrixCell:
    environment: str
    label: str
    lagging: bool
    source: str | None
    detail: str  # tooltip: the release fields, one per line


@dataclass(frozen=True)
class MatrixRow:
    model: str
    team: str
    description: str
    cells: tuple[MatrixCell, ...]


@dataclass(frozen=True)
class ModelFindings:
    model: str  # "" for findings not tied to a model
    counts: dict[str, int]  # LEVELS -> number
    findings: tuple[Finding, ...]  # strongest level first
    highest_severity: str  # of the unwaived findings, "" when all are waived


@dataclass(frozen=True)
class GpuUse:
    model: str
    environment: str
    training: int
    training_type: str
    serving: int  # at max replicas
    serving_type: str
    plan_fits: bool | None  # None: no capacity plan for this model
    memory_per_gpu_gib: float | None
    gpu_memory_gib: float | None
    recommendation: str

    @property
    def total(self) -> int:
        return self.training + self.serving


@dataclass(frozen=True)
class GpuEnvironment:
    environment: str
    quota: int
    uses: tuple[GpuUse, ...]

    @property
    def requested(self) -> int:
        return sum(u.total for u in self.uses)

    @property
    def over_quota(self) -> bool:
        return self.requested > self.quota


@dataclass(frozen=True)
class Promotion:
    refs: tuple[str, ...]  # every ref pointing at this tip (local and remote-tracking)
    model: str
    source: str
    target: str
    model_version: str
    subject: str
    commit: str  # abbreviated sha


@dataclass(frozen=True)
class ReportData:
    title: str
    tool_version: str
    generated_at: str | None
    environments: tuple[str, ...]  # in promotion order
    promotes_from: dict[str, str | None]
    models: tuple[str, ...]
    matrix: tuple[MatrixRow, ...]
    findings: tuple[ModelFindings, ...]
    finding_totals: dict[str, int]
    check_passed: bool
    check_errors: tuple[str, ...]
    fail_on: str
    gpus: tuple[GpuEnvironment, ...]
    promotions: tuple[Promotion, ...]
    promotions_note: str | None = None  # why there is no promotion list ("no git repository")

    @property
    def lagging(self) -> int:
        return sum(1 for row in self.matrix for cell in row.cells if cell.lagging)


def _release_detail(release: dict[str, object]) -> str:
    return "\n".join(f"{key}: {release[key]}" for key in sorted(release)) or "no release recorded"


def _matrix(repo: Repository) -> tuple[tuple[str, ...], tuple[MatrixRow, ...]]:
    matrix = release_matrix(repo)
    rows = []
    for model in matrix.models:
        spec = repo.models[model]
        cells = tuple(MatrixCell(env, c.label, c.lagging, c.source, _release_detail(c.release))
                      for env in matrix.environments for c in [matrix.cell(model, env)])
        rows.append(MatrixRow(model, spec.team, str(spec.data["metadata"].get("description", "")), cells))
    return matrix.environments, tuple(rows)


def _level(finding: Finding) -> str:
    return "waived" if finding.waived else finding.level


def _group_findings(findings: Iterable[Finding]) -> tuple[tuple[ModelFindings, ...], dict[str, int]]:
    by_model: dict[str, list[Finding]] = {}
    for finding in findings:
        by_model.setdefault(finding.model, []).append(finding)
    groups, totals = [], dict.fromkeys(LEVELS, 0)
    for model in sorted(by_model):
        ordered = sorted(by_model[model], key=lambda f: (f.waived, -severity_rank(f.level), *f.sort_key()))
        counts = dict.fromkeys(LEVELS, 0)
        for finding in ordered:
            counts[_level(finding)] = counts.get(_level(finding), 0) + 1
        for level in LEVELS:
            totals[level] += counts[level]
        active = [f.severity for f in ordered if not f.waived]
        highest = max(active, key=lambda s: SEVERITY_ORDER.index(s) if s in SEVERITY_ORDER else -1, default="")
        groups.append(ModelFindings(model, counts, tuple(ordered), highest))
    return tuple(groups), totals


def _gpu_use(resolved: ResolvedModel) -> GpuUse:
    training, serving = resolved.training, resolved.serving
    train_gpus = training["gpus"]["perNode"] * training["gpus"]["nodes"] if training else 0
    serve_gpus = resolved.gpu_request() - train_gpus
    serve_type = serving["gpus"]["type"] if serving and serving.get("gpus") else ""
    plan = training_plan(resolved)
    recommendation = f"{plan.recommendation[1]} x {plan.recommendation[0]}" if plan and plan.recommendation else ""
    return GpuUse(resolved.name, resolved.environment.name, train_gpus, training["gpus"]["type"] if training else "",
                  serve_gpus, serve_type, plan.fits if plan else None,
                  round(plan.plan.memory_per_gpu_gib, 1) if plan else None,
                  round(plan.plan.gpu_memory_gib, 1) if plan else None, recommendation)


def _gpus(repo: Repository, environments: tuple[str, ...]) -> tuple[GpuEnvironment, ...]:
    out = []
    for env in environments:
        uses = tuple(_gpu_use(r) for r in repo.resolved([env], list(repo.models)))
        out.append(GpuEnvironment(env, int(repo.environments[env].data["gpus"]["quota"]), uses))
    return tuple(out)


def _trailers(message: str) -> dict[str, str]:
    return {key: value for key, value in _TRAILER.findall(message)}


def _merged(repo: git.Repo, commit: git.Commit) -> bool:
    try:
        return repo.is_ancestor(commit, repo.head.commit)
    except (ValueError, git.GitCommandError):
        return False  # an unborn HEAD has merged nothing


def open_promotions(root: Path) -> tuple[tuple[Promotion, ...], str | None]:
    """Unmerged `promote/<model>/<env>` branches, local or remote-tracking, and a note when unavailable."""
    try:
        repo = open_repo(root)
    except ModelopsError:
        return (), "no git repository"
    found: dict[tuple[str, str, str], list[str]] = {}
    commits: dict[str, git.Commit] = {}
    for ref in repo.refs:
        match = _PROMOTE_REF.match(ref.path)
        if not match or ref.path.endswith("/HEAD"):
            continue
        commit = ref.commit
        if _merged(repo, commit):
            continue
        found.setdefault((match["model"], match["env"], commit.hexsha), []).append(ref.path)
        commits[commit.hexsha] = commit
    promotions = []
    for (model, env, sha), refs in sorted(found.items()):
        commit = commits[sha]
        message = commit.message if isinstance(commit.message, str) else commit.message.decode("utf-8", "replace")
        trailers = _trailers(message)
        promotions.append(Promotion(
            refs=tuple(sorted(r.removeprefix("refs/heads/").removeprefix("refs/remotes/") for r in refs)),
            model=trailers.get("Modelops-Model", model), source=trailers.get("Modelops-Source", ""),
            target=trailers.get("Modelops-Target", env), model_version=trailers.get("Modelops-ModelVersion", ""),
            subject=message.splitlines()[0] if message else "", commit=sha[:10]))
    return tuple(promotions), None


def promotions_from_pull_requests(changes: Iterable[Any]) -> tuple[Promotion, ...]:
    """Open promotions read from pull-request provenance blocks (`generator.gitops.open_pulls`)."""
    return tuple(Promotion(refs=(c.url,), model=c.model, source=c.source, target=c.target, model_version=c.after,
                           subject=f"#{c.number} {c.kind}: {c.before} -> {c.after}",
                           commit=str(c.record.get("commit", ""))[:10]) for c in changes)


def build_report(repo: Repository, *, generated_at: str | None = None, title: str | None = None,
                 pull_requests: Iterable[Any] | None = None) -> ReportData:
    environments, matrix = _matrix(repo)
    _passed, check = policy_gate(repo, list(repo.environments), list(repo.models))
    summary = summarize(check)
    groups, totals = _group_findings(check.findings)
    promotions, note = open_promotions(repo.root) if pull_requests is None else \
        (promotions_from_pull_requests(pull_requests), None)
    return ReportData(
        title=title or f"modelops report: {repo.root.resolve().name}", tool_version=__version__,
        generated_at=generated_at, environments=environments,
        promotes_from={env: repo.environments[env].promotes_from for env in environments},
        models=tuple(repo.models), matrix=matrix,
        findings=groups, finding_totals=totals, check_passed=summary.passed, check_errors=tuple(check.errors),
        fail_on=check.fail_on, gpus=_gpus(repo, environments), promotions=promotions, promotions_note=note)
