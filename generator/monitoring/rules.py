"""PrometheusRule groups for one model in one environment: the alerts a spec can tune.

Thresholds come from `serving.monitoring.alerts` (defaults in generator.spec.model);
a quality or drift metric the spec names gets its own alert. Every expression is built
from the runtime table, so rules, dashboards and gates read the same series.
"""
from __future__ import annotations

from typing import Any

from generator.gitops.gates import parse_threshold
from generator.monitoring.runtimes import RUNTIMES, selector

__all__ = ["MonitoringTarget", "queries_for", "rule_groups"]

_NEGATE = {">=": "<", "<=": ">", ">": "<=", "<": ">=", "==": "!="}


class MonitoringTarget:
    """The facts rules and dashboards need: who, where, which runtime, which pods."""

    def __init__(self, model: str, environment: str, namespace: str, runtime: str, pods: str,
                 window: str, alerts: dict[str, Any], quality: dict[str, str] | None, gpus: int):
        self.model, self.environment, self.namespace = model, environment, namespace
        self.runtime = RUNTIMES[runtime]
        self.pods, self.window, self.alerts, self.quality, self.gpus = pods, window, alerts, quality, gpus

    def query(self, template: str, version: str | None = None) -> str:
        sel = selector(self.model, self.environment, version)
        return self.runtime.query(template, sel, self.window, namespace=self.namespace, pods=self.pods)


def queries_for(target: MonitoringTarget, version: str | None = None) -> dict[str, str]:
    """The named PromQL the gates and the dashboard share."""
    rt = target.runtime
    out = {"error_ratio": target.query(rt.error_ratio, version), "p95_seconds": target.query(rt.p95_seconds, version),
           "request_rate": target.query(rt.request_rate, version)}
    if rt.queue_depth:
        out["queue_depth"] = target.query(rt.queue_depth, version)
    if target.gpus:
        out["gpu_utilization"] = target.query(rt.gpu_utilization, version)
    return out


def _alert(name: str, expr: str, duration: str, severity: str, summary: str, target: MonitoringTarget) -> dict[str, Any]:
    return {"alert": name, "expr": expr, "for": duration,
            "labels": {"severity": severity, "model": target.model, "environment": target.environment},
            "annotations": {"summary": summary, "value": "{{ $value }}"}}


def _alerts(target: MonitoringTarget) -> list[dict[str, Any]]:
    queries, limits = queries_for(target), target.alerts
    alerts = [
        _alert("ModelHighErrorRate", f"({queries['error_ratio']}) > {limits['errorRate']}", "5m", "critical",
               f"{target.model} in {target.environment}: more than {limits['errorRate']:.0%} of requests fail", target),
        _alert("ModelHighLatencyP95", f"({queries['p95_seconds']}) > {limits['p95LatencySeconds']}", "10m", "warning",
               f"{target.model} in {target.environment}: p95 latency above {limits['p95LatencySeconds']}s", target),
    ]
    if "queue_depth" in queries:
        alerts.append(_alert("ModelQueueBacklog", f"({queries['queue_depth']}) > {limits['queueDepth']}", "5m",
                             "warning", f"{target.model}: more than {limits['queueDepth']} requests waiting", target))
    if "gpu_utilization" in queries:
        util = queries["gpu_utilization"]
        alerts += [
            _alert("ModelGPUUnderused", f"({util}) < {limits['gpuUtilizationLow']}", "1h", "info",
                   f"{target.model}: GPUs below {limits['gpuUtilizationLow']:.0%} busy for an hour; "
                   "fewer replicas or a smaller GPU would cost less", target),
            _alert("ModelGPUSaturated", f"({util}) > {limits['gpuUtilizationHigh']}", "15m", "warning",
                   f"{target.model}: GPUs above {limits['gpuUtilizationHigh']:.0%} busy", target),
        ]
    if target.quality:
        alerts.append(_quality_alert(target))
    return alerts


def _quality_alert(target: MonitoringTarget) -> dict[str, Any]:
    assert target.quality is not None
    op, bound = parse_threshold(target.quality["threshold"])
    metric = target.quality["metric"]
    expr = f"max({metric}{{{selector(target.model, target.environment)}}}) {_NEGATE[op]} {bound:g}"
    return _alert("ModelQualityDegraded", expr, "30m", "warning",
                  f"{target.model}: {metric} no longer {op} {bound:g}", target)


def rule_groups(target: MonitoringTarget) -> list[dict[str, Any]]:
    return [{"name": f"modelops.{target.environment}.{target.model}", "rules": _alerts(target)}]
