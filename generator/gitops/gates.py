"""Optional promotion gates: training metrics against the spec's thresholds, and the
source environment's Argo CD Application being Synced and Healthy for a soak time."""
from __future__ import annotations

import json
import operator
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from generator.errors import ModelopsError
from generator.spec.load import Repository
from generator.spec.model import parse_duration

__all__ = ["metrics_gate", "live_gate", "parse_threshold"]

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}
_THRESHOLD = re.compile(r"^\s*(>=|<=|>|<|==)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*$")


def parse_threshold(text: str) -> tuple[str, float]:
    match = _THRESHOLD.match(text)
    if not match:
        raise ModelopsError(f"threshold {text!r} is not of the form '>= 0.92'")
    return match[1], float(match[2])


def metrics_gate(thresholds: dict[str, str], metrics_file: Path) -> tuple[bool, str]:
    """(passed, reason): every declared metric present in the run's metrics JSON and within bounds."""
    try:
        metrics: Any = json.loads(metrics_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ModelopsError(f"cannot read metrics file {metrics_file}: {error}") from None
    if not isinstance(metrics, dict):
        raise ModelopsError(f"{metrics_file}: expected a JSON object of metric -> value")
    if not thresholds:
        return True, "no thresholds declared in the spec (promotion.metrics)"
    failures, passes = [], []
    for name, text in sorted(thresholds.items()):
        op, bound = parse_threshold(text)
        value = metrics.get(name)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            failures.append(f"{name} missing from {metrics_file.name}")
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
