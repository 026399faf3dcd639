"""A finished training run, read through the Argo Server API (`GET /api/v1/workflows/{ns}/{name}`).

The contract (issue 13): the run exports one JSON object as the output parameter
`metrics`, at workflow level (`status.outputs.parameters`) or on the training node. Only
a `Succeeded` workflow is a candidate; anything else is a one-line error.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from generator.errors import ModelopsError
from generator.releases.candidate import Candidate, numeric_metrics

__all__ = ["candidate_from_workflow", "metrics_parameter", "read_workflow"]


def read_workflow(name: str, namespace: str, *, server: str | None = None, token: str | None = None,
                  api_client: Any = None) -> dict[str, Any]:
    from generator.argo_submit import ArgoServer, connect

    client = ArgoServer(api_client or connect(server, token))
    workflow = client.call("GET", f"/api/v1/workflows/{namespace}/{name}", missing_ok=True)
    if workflow is None:
        raise ModelopsError(f"workflow {namespace}/{name} not found on the Argo Server")
    if not isinstance(workflow, dict):
        raise ModelopsError(f"workflow {namespace}/{name}: the Argo Server answered with something not a Workflow")
    return workflow


def _parameter(parameters: Any) -> str | None:
    for parameter in parameters or ():
        if isinstance(parameter, dict) and parameter.get("name") == "metrics" and parameter.get("value"):
            return str(parameter["value"])
    return None


def metrics_parameter(workflow: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The `metrics` JSON of a Succeeded workflow (workflow level first, else the newest node)."""
    status = workflow.get("status") or {}
    phase = status.get("phase") or "Pending"
    if phase != "Succeeded":
        raise ModelopsError(f"workflow {where} is {phase}, not Succeeded: only a finished, successful training run "
                            "can be released")
    text = _parameter((status.get("outputs") or {}).get("parameters"))
    if text is None:
        nodes = [n for n in (status.get("nodes") or {}).values() if isinstance(n, dict) and n.get("finishedAt")]
        for node in sorted(nodes, key=lambda n: str(n["finishedAt"]), reverse=True):
            text = _parameter((node.get("outputs") or {}).get("parameters"))
            if text is not None:
                break
    if text is None:
        raise ModelopsError(f"workflow {where} exported no 'metrics' output parameter (the reference trainer "
                            "writes it; see the Workflow's outputs)")
    try:
        metrics = json.loads(text)
    except ValueError:
        raise ModelopsError(f"workflow {where}: the 'metrics' output parameter is not JSON") from None
    if not isinstance(metrics, dict):
        raise ModelopsError(f"workflow {where}: the 'metrics' output parameter is not a JSON object")
    return metrics


def candidate_from_workflow(name: str, namespace: str, **connection: Any) -> Candidate:
    where = f"{namespace}/{name}"
    metrics = metrics_parameter(read_workflow(name, namespace, **connection), where)
    uri = metrics.get("model_uri") or metrics.get("checkpoint_uri") or ""
    return Candidate(source=f"workflow:{where}", model_uri=str(uri), version=str(metrics.get("run") or name),
                     metrics=numeric_metrics(metrics))
