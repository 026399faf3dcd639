"""A Grafana dashboard per model, as JSON for the Grafana sidecar to load from a ConfigMap.

Panels read the same queries as the alerts and gates (generator.monitoring.rules), so
what the dashboard shows is what a promotion is judged on. Output is deterministic:
fixed uid from the model and environment, fixed panel order, no timestamps.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from generator.monitoring.rules import MonitoringTarget, queries_for
from generator.monitoring.runtimes import selector

__all__ = ["dashboard", "dashboard_json"]

_PANELS = (("request_rate", "Requests per second", "reqps"), ("error_ratio", "Error ratio (5xx / failures)", "percentunit"),
           ("p95_seconds", "p95 latency", "s"), ("queue_depth", "Queue depth", "short"),
           ("gpu_utilization", "GPU utilisation", "percentunit"))


def _panel(index: int, title: str, expr: str, unit: str) -> dict[str, Any]:
    return {"id": index + 1, "type": "timeseries", "title": title,
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"h": 8, "w": 12, "x": (index % 2) * 12, "y": (index // 2) * 8},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "targets": [{"refId": "A", "expr": expr, "legendFormat": "{{" + "app_kubernetes_io_version" + "}}"}]}


def dashboard(target: MonitoringTarget) -> dict[str, Any]:
    queries = queries_for(target)
    rows = [(key, title, unit) for key, title, unit in _PANELS if key in queries]
    if target.quality:
        metric = target.quality["metric"]
        queries["quality"] = f"max({metric}{{{selector(target.model, target.environment)}}})"
        rows.append(("quality", f"Quality: {metric}", "short"))
    uid = hashlib.sha256(f"{target.environment}/{target.model}".encode()).hexdigest()[:12]
    return {
        "uid": f"modelops-{uid}", "title": f"{target.model} ({target.environment})",
        "tags": ["modelops", target.runtime.name, target.environment],
        "timezone": "utc", "schemaVersion": 39, "version": 1, "editable": False, "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"}]},
        "panels": [_panel(i, title, queries[key], unit) for i, (key, title, unit) in enumerate(rows)],
    }


def dashboard_json(target: MonitoringTarget) -> str:
    return json.dumps(dashboard(target), indent=2, sort_keys=True) + "\n"
