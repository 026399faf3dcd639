"""The live-metrics gate for one model in one environment: where its Prometheus is, how
long the soak is, which version to judge. Shared by `promote --live` and `rollout`."""
from __future__ import annotations

import os

from generator.errors import ModelopsError
from generator.gitops.prometheus_gate import MetricsVerdict, PrometheusClient, evaluate
from generator.render.serving_extras import monitoring_target
from generator.spec.load import Repository
from generator.spec.model import parse_duration, resolve

__all__ = ["DEFAULT_SOAK", "URL_VARIABLE", "live_metrics", "prometheus_url"]

URL_VARIABLE = "MODELOPS_PROMETHEUS_URL"
DEFAULT_SOAK = "10m"


def prometheus_url(repo: Repository, env: str) -> str | None:
    """MODELOPS_PROMETHEUS_URL (e.g. a port-forward) wins over the environment's serving.monitoring.prometheusUrl."""
    return os.environ.get(URL_VARIABLE) or repo.environment(env).serving["monitoring"]["prometheusUrl"]


def live_metrics(repo: Repository, model: str, env: str, *, version: str | None = None,
                 url: str | None = None) -> MetricsVerdict | None:
    """The verdict over `promotion.soak`, or None when the model is not served or no Prometheus is configured."""
    spec = repo.model(model)
    resolved = resolve(spec, repo.environment(env))
    if resolved.serving is None:
        return None
    base = url or prometheus_url(repo, env)
    if not base:
        return None
    soak = spec.data.get("promotion", {}).get("soak") or DEFAULT_SOAK
    seconds = parse_duration(soak)
    if seconds <= 0:
        raise ModelopsError(f"{spec.path}: promotion.soak must be longer than 0s for a live metrics gate")
    return evaluate(PrometheusClient(base), monitoring_target(resolved), soak=soak, soak_seconds=seconds,
                    version=version)
