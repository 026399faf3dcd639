"""The chart's canary: a second Deployment and Service beside the stable ones and a
Gateway API HTTPRoute weighting traffic between them, through the real Helm engine and
strict schemas (Kubernetes, and the vendored Gateway API v1.6.1 HTTPRoute CRD)."""
from __future__ import annotations

import copy

import pytest
import yaml

from generator.validate.schemas import SchemaRegistry
from tests.chart_helpers import render_chart
from tests.conftest import ROOT

STABLE = "registry.example.com/vllm/vllm-openai@sha256:" + "1" * 64
CANDIDATE = "registry.example.com/vllm/vllm-openai@sha256:" + "2" * 64


def _values(**canary) -> dict:
    path = ROOT / "environments/prod/support-chat/serving/values.yaml"
    values = yaml.safe_load(path.read_text())
    values = copy.deepcopy(values)
    values["image"] = STABLE
    values["canary"].update(canary)
    return values


def _objects(values: dict) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in render_chart(values, name="support-chat", namespace="ml-prod")}


def test_canary_renders_a_second_deployment_and_a_weighted_route():
    objects = _objects(_values(enabled=True, weight=10, image=CANDIDATE, modelUri="s3://models/support-chat/v8/",
                               version="8"))
    stable, canary = objects[("Deployment", "support-chat")], objects[("Deployment", "support-chat-canary")]
    assert stable["spec"]["template"]["spec"]["containers"][0]["image"] == STABLE
    assert canary["spec"]["template"]["spec"]["containers"][0]["image"] == CANDIDATE
    assert canary["spec"]["template"]["spec"]["containers"][0]["args"][0] == "s3://models/support-chat/v8/"
    assert canary["spec"]["replicas"] == 1
    canary_labels = canary["spec"]["template"]["metadata"]["labels"]
    assert canary_labels["app.kubernetes.io/version"] == "8" and canary_labels["modelops.dev/model"] == "support-chat"
    # Selectors must not overlap, or the two Deployments would fight over each other's pods.
    stable_selector = stable["spec"]["selector"]["matchLabels"]
    assert not all(canary_labels.get(k) == v for k, v in stable_selector.items())
    assert objects[("Service", "support-chat-canary")]["spec"]["selector"] == canary["spec"]["selector"]["matchLabels"]
    route = objects[("HTTPRoute", "support-chat")]
    assert route["spec"]["parentRefs"][0]["name"] == "ml-gateway"
    backends = {b["name"]: b["weight"] for b in route["spec"]["rules"][0]["backendRefs"]}
    assert backends == {"support-chat": 90, "support-chat-canary": 10}
    assert ("HorizontalPodAutoscaler", "support-chat-canary") not in objects


@pytest.mark.parametrize("canary", [{}, {"enabled": True, "weight": 50, "image": CANDIDATE, "version": "8"}])
def test_every_object_passes_strict_schemas(canary):
    registry = SchemaRegistry("1.33", strict=True)
    for obj in _objects(_values(**canary)).values():
        assert registry.validate(obj) == [], obj["kind"]


def test_without_canary_all_traffic_goes_to_stable():
    objects = _objects(_values())
    assert ("Deployment", "support-chat-canary") not in objects
    route = objects[("HTTPRoute", "support-chat")]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"group": "", "kind": "Service", "name": "support-chat",
                                                         "port": 8000, "weight": 100}]


def test_no_gateway_no_route():
    values = _values()
    values["canary"]["gateway"] = ""
    assert not any(kind == "HTTPRoute" for kind, _ in _objects(values))


def test_vendored_httproute_schema_rejects_a_typo():
    registry = SchemaRegistry("1.33", strict=True)
    route = _objects(_values())[("HTTPRoute", "support-chat")]
    route["spec"]["rules"][0]["backendRefs"][0]["wieght"] = 1
    assert any("wieght" in v.message for v in registry.validate(route))
