"""Canary rollouts: one more kind of release change (`rollout`), next to promote, release
and rollback, so a step gets everything those get from the promotion machinery
(generator.gitops.promote/apply): the detached worktree of the remote base, the branch
`rollout/<model>/<env>/<step>`, the user as author and modelops as committer with its
trailers, a push with a lease only over modelops's own commits, a forge pull request or
the printed merge command, the provenance block, freeze windows and dry runs.

What this module adds is the step itself: planned from the canary in the spec and its
live metrics (a failed gate turns the step into an abort), then written as a text edit of
`canaries.<env>` (and `releases.<env>` when it completes).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.errors import ModelopsError
from generator.gitops.canary import canary_steps, complete, next_weight, set_canary
from generator.gitops.live_metrics import live_metrics
from generator.gitops.prometheus_gate import MetricsVerdict, verdict_markdown
from generator.gitops.spec_edit import RELEASE_KEYS
from generator.spec.load import Repository

__all__ = ["RolloutStep", "plan_step"]


@dataclass(frozen=True)
class RolloutStep:
    """One step of a canary, planned from `canary` (the entry in the spec, weight included)."""

    model: str
    env: str
    action: str  # advance | complete | abort
    canary: dict[str, Any]
    weight_after: int  # 0 after an abort, 100 once complete
    verdict: MetricsVerdict | None = None
    note: str = ""

    @property
    def weight_before(self) -> int:
        return int(self.canary["weight"])

    @property
    def label(self) -> str:
        """The last part of the branch name: one branch (and pull request) per step."""
        return str(self.weight_after) if self.action == "advance" else self.action

    def after(self, release: dict[str, Any]) -> dict[str, Any]:
        """What serves the canary's share after the step: `release` (the previous one) after an abort."""
        if self.action == "abort":
            return {**release, "weight": 0}
        candidate = {k: v for k, v in self.canary.items() if k in RELEASE_KEYS}
        return {**candidate, "weight": self.weight_after}

    def edit(self, text: str, *, file: str) -> str:
        if self.action == "abort":
            return set_canary(text, self.env, None, file=file)
        if self.action == "complete":
            return complete(text, self.env, self.canary, file=file)
        return set_canary(text, self.env, {**self.canary, "weight": self.weight_after}, file=file)

    def trailers(self) -> list[str]:
        checks = self.verdict.checks if self.verdict is not None else ()
        return [*(f"Modelops-Gate: {c.describe()}" for c in checks),
                f"Modelops-Rollout: {self.action} {self.weight_after}"]

    def markdown(self) -> str:
        return verdict_markdown(self.verdict) if self.verdict else "_No live metrics gate: abort requested._"

    def record(self) -> dict[str, Any]:
        """The step in the pull request's provenance block."""
        gate = None if self.verdict is None else {
            "passed": self.verdict.passed, "soak": self.verdict.soak,
            "checks": [{"name": c.name, "value": c.value, "op": c.op, "bound": c.bound, "query": c.query}
                       for c in self.verdict.checks]}
        return {"action": self.action, "weightBefore": self.weight_before, "weightAfter": self.weight_after,
                "liveMetrics": gate}


def plan_step(repo: Repository, model: str, env: str, *, abort: bool = False,
              prometheus_url: str | None = None) -> RolloutStep:
    """What this run does: abort on request or on a failed gate, else the next step."""
    spec = repo.model(model)
    canary = spec.canary(env)
    if not canary:
        raise ModelopsError(f"{spec.path}: no canary of '{model}' is rolling out in '{env}' "
                            f"(start one with `modelops promote {model} --to {env}`)")
    steps = canary_steps(repo, model, env)
    if steps is None:
        raise ModelopsError(f"{repo.environment(env).path}: '{env}' declares no canary steps for "
                            f"'{model}' (serving.canary with a KServe target, or a route for the chart)")
    if abort:
        return RolloutStep(model, env, "abort", canary, 0, note="abort requested")
    verdict = live_metrics(repo, model, env, version=canary.get("modelVersion"), url=prometheus_url)
    if verdict is None:
        raise ModelopsError(f"no Prometheus for '{env}': set serving.monitoring.prometheusUrl or "
                            "MODELOPS_PROMETHEUS_URL (or pass --abort)")
    if not verdict.passed:
        return RolloutStep(model, env, "abort", canary, 0, verdict, f"live metrics gate failed: {verdict.reason()}")
    after = next_weight(steps, int(canary["weight"]))
    return RolloutStep(model, env, "complete" if after == 100 else "advance", canary, after, verdict,
                       f"live metrics gate: {verdict.reason()}")
