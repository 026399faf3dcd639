"""Serving facts beyond the chart's values: KServe objects, the canary, and monitoring
(PodMonitor, PrometheusRule groups, the Grafana dashboard), all for one model x env."""
from __future__ import annotations

from typing import Any

from generator.monitoring.dashboard import dashboard_json
from generator.monitoring.rules import MonitoringTarget, rule_groups
from generator.monitoring.runtimes import POD_LABELS, RUNTIMES
from generator.render.kserve import KSERVE_PORT, kserve_context
from generator.spec.model import ResolvedModel

__all__ = ["monitoring_target", "serving_extras"]


def _pods(resolved: ResolvedModel) -> str:
    """Pod names of the model: the chart's Deployment, or KServe's predictor."""
    suffix = "-predictor-.*" if resolved.serving and resolved.serving["target"] == "kserve" else "-.*"
    return f"{resolved.name}{suffix}"


def monitoring_target(resolved: ResolvedModel) -> MonitoringTarget:
    serving = resolved.serving
    assert serving is not None
    env = resolved.environment
    gpus = serving["gpus"]["count"] if serving.get("gpus") else 0
    return MonitoringTarget(resolved.name, env.name, env.namespace, serving["runtime"], _pods(resolved),
                            env.serving["monitoring"]["window"], serving["monitoring"]["alerts"],
                            serving["monitoring"]["quality"], gpus)


def _metrics_port(ctx: dict[str, Any]) -> int:
    serving = ctx["serving"]
    runtime = RUNTIMES[serving["runtime"]]
    if runtime.metrics_port is not None:
        return runtime.metrics_port
    if serving["runtime"] == "custom":
        return int(serving["port"])
    return KSERVE_PORT if serving["target"] == "kserve" else int(serving["port"])


def _endpoint(ctx: dict[str, Any]) -> dict[str, Any]:
    """The scrape endpoint. Knative lets a KServe predictor declare one port (8080), and pod
    discovery only finds declared ports: a metrics port beside it (Triton's 8002) is
    reached by rewriting the address of the declared port's target."""
    port = _metrics_port(ctx)
    if ctx["serving"]["target"] != "kserve" or port == KSERVE_PORT:
        return {"portNumber": port, "path": "/metrics", "interval": "30s"}
    return {"portNumber": KSERVE_PORT, "path": "/metrics", "interval": "30s",
            "relabelings": [{"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_ip"], "regex": "(.+)",
                             "targetLabel": "__address__", "replacement": f"${{1}}:{port}"}]}


def _monitoring(ctx: dict[str, Any], resolved: ResolvedModel) -> dict[str, Any]:
    env = resolved.environment
    settings = env.serving["monitoring"]
    target = monitoring_target(resolved)
    return {
        "labels": {**ctx["labels"], **settings["ruleLabels"]},
        "selector": {"modelops.dev/model": resolved.name, "modelops.dev/environment": env.name},
        "podTargetLabels": list(POD_LABELS),
        "endpoints": [_endpoint(ctx)],
        # The classic text format keeps `vllm:` names: prometheus-client (vLLM's exporter)
        # rewrites colons to underscores in its OpenMetrics output (seen with 0.26).
        "scrapeProtocols": ["PrometheusText0.0.4"],
        "groups": rule_groups(target),
        "dashboardNamespace": settings["dashboardNamespace"] or env.namespace,
        "dashboardFile": f"{env.name}-{resolved.name}.json",
        "dashboard": dashboard_json(target),
    }


def _candidate(resolved: ResolvedModel) -> dict[str, Any]:
    """The canary with every key set: what a release leaves out comes from the spec, not
    from the release it replaces (as when a release is promoted whole)."""
    if not resolved.canary:
        return {}
    env_serving = resolved.spec.data.get("environments", {}).get(resolved.environment.name, {}).get("serving", {})
    spec_serving = {**resolved.spec.data["serving"], **env_serving}
    return {"weight": resolved.canary["weight"], "modelVersion": resolved.canary.get("modelVersion"),
            "image": resolved.canary.get("image") or spec_serving["image"],
            "modelUri": resolved.canary.get("modelUri") or spec_serving["modelUri"]}


def serving_extras(ctx: dict[str, Any], resolved: ResolvedModel) -> dict[str, Any]:
    """Context keys the KServe and monitoring blueprints read."""
    canary = _candidate(resolved)
    version = (canary.get("modelVersion") if canary else None) or ctx["modelVersion"]
    pod_labels = dict(ctx["labels"])
    if version:
        pod_labels["app.kubernetes.io/version"] = version
    route = resolved.environment.serving["canary"]["route"] or {}
    out: dict[str, Any] = {"pod_labels_serving": pod_labels, "canary": canary or None,
                           "canaryRoute": {"gateway": route.get("gateway"), "gatewayNamespace": route.get("gatewayNamespace")}}
    out["monitoring"] = _monitoring(ctx, resolved)
    if ctx["serving"]["target"] == "kserve":
        out["kserve"] = kserve_context({**ctx, **out}, canary)
        out["kserveDeploymentMode"] = resolved.environment.serving["kserveDeploymentMode"]
    return out
