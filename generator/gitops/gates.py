"""Promotion gates: training metrics against the spec's thresholds, and the source
environment's Argo CD Application being Synced and Healthy for a soak time.

`GATES` is a plain list: a gate takes a `GateInput` and returns None (not applicable),
or (passed, reason). Adding a gate (e.g. a Prometheus query for `--live`) is one entry.
The policy gate is not in this list: it runs on the rendered result, after the edit.
"""
from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from generator.errors import ModelopsError
from generator.spec.load import Repository
from generator.spec.model import parse_duration

__all__ = [
    "GATES",
    "Gate",
    "GateFailed",
    "GateInput",
    "evaluate_metrics",
    "live_gate",
    "metrics_gate",
    "parse_threshold",
    "read_metrics_file",
    "run_gates",
]

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}
_THRESHOLD = re.compile(r"^\s*(>=|<=|>|<|==)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$")


def parse_threshold(text: str) -> tuple[str, float]:
    match = _THRESHOLD.match(text)
    if not match:
        raise ModelopsError(f"threshold {text!r} is not of the form '>= 0.92'")
    return match[1], float(match[2])


def read_metrics_file(metrics_file: Path) -> dict[str, Any]:
    try:
        metrics: Any = json.loads(metrics_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ModelopsError(f"cannot read metrics file {metrics_file}: {error}") from None
    if not isinstance(metrics, dict):
        raise ModelopsError(f"{metrics_file}: expected a JSON object of metric -> value")
    return metrics


def metrics_gate(thresholds: dict[str, str], metrics_file: Path) -> tuple[bool, str]:
    """(passed, reason): every declared metric present in the run's metrics JSON and within bounds."""
    return evaluate_metrics(thresholds, read_metrics_file(metrics_file), metrics_file.name)


def evaluate_metrics(thresholds: dict[str, str], metrics: dict[str, Any], label: str) -> tuple[bool, str]:
    """(passed, reason) of `metrics` (from `label`) against the spec's thresholds."""
    if not thresholds:
        return True, "no thresholds declared in the spec (promotion.metrics)"
    failures, passes = [], []
    for name, text in sorted(thresholds.items()):
        op, bound = parse_threshold(text)
        value = metrics.get(name)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            failures.append(f"{name} missing from {label}")
        elif not _OPS[op](value, bound):
            failures.append(f"{name} = {value} does not satisfy {op} {bound}")
        else:
            passes.append(f"{name} = {value} {op} {bound}")
    if failures:
        return False, "; ".join(failures)
    return True, "; ".join(passes)


def live_gate(repo: Repository, model: str, source: str, revision: str, *, api_client: Any = None,
              now: datetime | None = None, contains: Any = None) -> tuple[bool, str]:
    """The source environment's serving Application: Synced, Healthy, at `revision`, soaked.

    Argo CD reports the branch tip it synced, which may be newer than the commit that last
    changed the model; `contains(app_revision)` accepts a tip that includes `revision`.
    """
    from generator.cluster import application_status, soak_verdict

    spec = repo.model(model)
    soak = timedelta(seconds=parse_duration(spec.data.get("promotion", {}).get("soak", "0s") or "0s")) \
        if spec.data.get("promotion", {}).get("soak") else timedelta(0)
    namespace = repo.environments[source].data["argocd"].get("namespace", "argocd")
    name = f"{source}-{model}-serving"
    status = application_status(name, namespace, api_client=api_client)
    if contains is not None and not status.at_revision(revision):
        newer = [r for r in status.revisions if r and contains(r)]
        revision = newer[0] if newer else revision
    return soak_verdict(status, revision, soak, now or datetime.now(UTC))


class GateFailed(ModelopsError):
    """A gate refused the change."""


@dataclass
class GateInput:
    """What a gate may look at; `revision` and `contains` are only computed when a gate asks."""

    repo: Repository
    model: str
    source: str  # the environment promoted from (kind "promote"), else a label
    target: str
    kind: str
    release: dict[str, Any]
    metrics: dict[str, Any] | None = None  # --metrics FILE or --metrics-from-workflow, when given
    metrics_label: str = ""
    live: bool = False
    revision: Callable[[], str] = field(default=lambda: "")
    contains: Callable[[str], bool] | None = None
    live_check: Callable[[Repository, str, str, str], tuple[bool, str]] | None = None


Gate = Callable[[GateInput], "tuple[bool, str] | None"]


def _metrics_step(gate: GateInput) -> tuple[bool, str] | None:
    if gate.kind == "rollout":
        return None  # the candidate met them when its canary started; an abort must never wait on them
    thresholds = gate.repo.model(gate.model).data.get("promotion", {}).get("metrics", {})
    metrics, label = gate.metrics, gate.metrics_label
    if metrics is None and gate.release.get("metrics"):
        metrics, label = gate.release["metrics"], "the metrics recorded with the release"
    if metrics is None:
        return (True, "skipped (no metrics recorded with the release, none given)") if thresholds else None
    return evaluate_metrics(thresholds, metrics, label)


def _live_step(gate: GateInput) -> tuple[bool, str] | None:
    if not gate.live or gate.kind != "promote":
        return None
    revision = gate.revision()
    if gate.live_check is not None:
        return gate.live_check(gate.repo, gate.model, gate.source, revision)
    return live_gate(gate.repo, gate.model, gate.source, revision, contains=gate.contains)


def _live_metrics_step(gate: GateInput) -> tuple[bool, str] | None:
    """Prometheus over the soak window for the source environment (issue 17)."""
    if not gate.live or gate.kind != "promote":
        return None
    from generator.gitops.live_metrics import live_metrics

    version = gate.repo.model(gate.model).release(gate.source).get("modelVersion")
    verdict = live_metrics(gate.repo, gate.model, gate.source, version=version)
    if verdict is None:
        return True, "skipped (no serving, or no serving.monitoring.prometheusUrl)"
    return verdict.passed, verdict.reason()


GATES: list[tuple[str, Gate]] = [("metrics", _metrics_step), ("live", _live_step),
                                 ("live metrics", _live_metrics_step)]


def run_gates(gate: GateInput) -> list[str]:
    """Notes of the gates that ran; the first refusal raises GateFailed."""
    notes = []
    for name, step in GATES:
        outcome = step(gate)
        if outcome is None:
            continue
        passed, reason = outcome
        if not passed:
            raise GateFailed(f"{name} gate failed: {reason}")
        notes.append(f"{name} gate: {reason}")
    return notes
