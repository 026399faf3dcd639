"""The serving chart, rendered offline through helm_python, for each runtime."""

from __future__ import annotations

import copy
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

from tests.chart_helpers import CHART_DIR, by_kind, render_chart, render_manifests, values_for

K8S_VERSION = "1.33"
GPU_NODE_SELECTOR = {"nvidia.com/gpu.product": "NVIDIA-L4"}

SCENARIOS: dict[str, dict[str, Any]] = {
    "vllm-multi-gpu-hpa": values_for(
        "vllm",
        args=["--max-model-len", "8192"],
        gpu={"count": 2, "resource": "nvidia.com/gpu", "nodeSelector": GPU_NODE_SELECTOR},
        shm={"sizeLimit": "8Gi"},
        autoscaling={"enabled": True, "targetCPUUtilizationPercentage": 70},
        pdb={"enabled": True, "minAvailable": 1},
        startupProbe={"failureThreshold": 90, "periodSeconds": 10},
    ),
    "triton-one-gpu-fixed": values_for(
        "triton",
        gpu={"count": 1, "resource": "nvidia.com/gpu", "nodeSelector": GPU_NODE_SELECTOR},
        shm={"sizeLimit": "4Gi"},
        replicas={"min": 2, "max": 2},
        autoscaling={"enabled": False, "targetCPUUtilizationPercentage": 70},
        pdb={"enabled": True, "minAvailable": "50%"},
    ),
    "custom-cpu": values_for(
        "custom",
        port=9000,
        healthPath="/healthz",
        env=[{"name": "LOG_LEVEL", "value": "info"}],
        args=["--workers", "2"],
        resources={"cpu": "500m", "memory": "1Gi"},
        gpu={"count": 0, "resource": "nvidia.com/gpu", "nodeSelector": GPU_NODE_SELECTOR},
    ),
}

PROBE_PATHS = {  # scenario -> (startup, readiness, liveness)
    "vllm-multi-gpu-hpa": ("/health", "/health", "/health"),
    "triton-one-gpu-fixed": ("/v2/health/ready", "/v2/health/ready", "/v2/health/live"),
    "custom-cpu": ("/healthz", "/healthz", "/healthz"),
}
PORTS = {
    "vllm-multi-gpu-hpa": {"http": 8000},
    "triton-one-gpu-fixed": {"http": 8000, "grpc": 8001, "metrics": 8002},
    "custom-cpu": {"http": 9000},
}


def _render(scenario: str) -> dict[str, dict[str, Any]]:
    return by_kind(render_chart(SCENARIOS[scenario]))


def _pod(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    pod: dict[str, Any] = objects["Deployment"]["spec"]["template"]["spec"]
    return pod


def _container(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = _pod(objects)["containers"]
    (container,) = containers
    return container


@pytest.fixture(params=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_every_object_passes_strict_kubernetes_schema(scenario: str) -> None:
    for obj in render_chart(SCENARIOS[scenario]):
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_strict_validation_rejects_unknown_fields() -> None:
    deployment = copy.deepcopy(_render("custom-cpu")["Deployment"])
    deployment["spec"]["template"]["spec"]["containers"][0]["privilegd"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_kinds_per_scenario() -> None:
    assert set(_render("vllm-multi-gpu-hpa")) == {
        "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service", "ServiceAccount",
    }
    assert set(_render("triton-one-gpu-fixed")) == {
        "Deployment", "PodDisruptionBudget", "Service", "ServiceAccount",
    }
    assert set(_render("custom-cpu")) == {"Deployment", "Service", "ServiceAccount"}


def test_names_and_labels(scenario: str) -> None:
    objects = _render(scenario)
    expected = {
        "app.kubernetes.io/name": "support-chat",
        "app.kubernetes.io/instance": "x",
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/version": "7",
        "modelops.dev/model": "support-chat",
        "modelops.dev/environment": "prod",
        "modelops.dev/team": "assistants",
        "modelops.dev/cost-center": "cc-4410",
    }
    selector = {"app.kubernetes.io/name": "support-chat", "app.kubernetes.io/instance": "x"}
    for obj in objects.values():
        assert obj["metadata"]["name"] == "support-chat"
        assert obj["metadata"]["namespace"] == "ns"
        assert obj["metadata"]["labels"] == expected
        assert obj["metadata"]["annotations"] == {"modelops.dev/owner": "ml-assist@example.com"}
    deployment = objects["Deployment"]
    assert deployment["spec"]["template"]["metadata"]["labels"] == expected
    assert deployment["spec"]["selector"] == {"matchLabels": selector}
    assert objects["Service"]["spec"]["selector"] == selector
    if "PodDisruptionBudget" in objects:
        assert objects["PodDisruptionBudget"]["spec"]["selector"] == {"matchLabels": selector}


def test_empty_version_drops_version_label() -> None:
    values = values_for("custom")
    values["model"]["version"] = ""
    for obj in render_chart(values):
        assert "app.kubernetes.io/version" not in obj["metadata"]["labels"]


def test_gpu_pods_get_gpus_shm_selector_and_toleration() -> None:
    for scenario, count in (("vllm-multi-gpu-hpa", "2"), ("triton-one-gpu-fixed", "1")):
        objects = _render(scenario)
        pod, container = _pod(objects), _container(objects)
        resources = container["resources"]
        assert resources["requests"] == resources["limits"]
        assert resources["limits"]["nvidia.com/gpu"] == count
        assert pod["nodeSelector"] == GPU_NODE_SELECTOR
        assert pod["tolerations"] == [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ]
        (volume,) = pod["volumes"]
        assert volume["emptyDir"]["medium"] == "Memory"
        assert volume["emptyDir"]["sizeLimit"] == SCENARIOS[scenario]["shm"]["sizeLimit"]
        assert container["volumeMounts"] == [{"name": volume["name"], "mountPath": "/dev/shm"}]
        assert objects["Deployment"]["spec"]["strategy"]["rollingUpdate"] == {
            "maxSurge": 0, "maxUnavailable": 1,
        }


def test_cpu_pod_has_no_gpu_anything() -> None:
    objects = _render("custom-cpu")
    pod, container = _pod(objects), _container(objects)
    assert container["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "500m", "memory": "1Gi"},
    }
    for key in ("nodeSelector", "tolerations", "volumes"):
        assert key not in pod
    assert "volumeMounts" not in container
    assert objects["Deployment"]["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == "25%"


def test_hpa_owns_replicas() -> None:
    objects = _render("vllm-multi-gpu-hpa")
    assert "replicas" not in objects["Deployment"]["spec"]
    hpa = objects["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "support-chat"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 4)
    assert hpa["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}


def test_fixed_replicas_without_hpa() -> None:
    objects = _render("triton-one-gpu-fixed")
    assert objects["Deployment"]["spec"]["replicas"] == 2
    assert objects["PodDisruptionBudget"]["spec"]["minAvailable"] == "50%"


def test_probes_per_runtime(scenario: str) -> None:
    container = _container(_render(scenario))
    paths = tuple(
        container[probe]["httpGet"]["path"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe")
    )
    assert paths == PROBE_PATHS[scenario]
    startup = container["startupProbe"]
    budget = SCENARIOS[scenario].get("startupProbe", {"failureThreshold": 60, "periodSeconds": 10})
    assert startup["failureThreshold"] == budget["failureThreshold"]
    assert startup["periodSeconds"] == budget["periodSeconds"]


def test_service_ports_match_container_ports(scenario: str) -> None:
    objects = _render(scenario)
    container_ports = {p["name"]: p["containerPort"] for p in _container(objects)["ports"]}
    service = objects["Service"]["spec"]
    assert service["type"] == "ClusterIP"
    assert container_ports == PORTS[scenario]
    assert {p["name"]: p["port"] for p in service["ports"]} == PORTS[scenario]
    assert all(p["targetPort"] == p["name"] for p in service["ports"])


def test_runtime_commands() -> None:
    vllm = _container(_render("vllm-multi-gpu-hpa"))
    assert vllm["command"] == ["vllm", "serve"]
    assert vllm["args"] == [
        "s3://models/support-chat/", "--host", "0.0.0.0", "--port", "8000",
        "--tensor-parallel-size", "2", "--max-model-len", "8192",
    ]
    triton = _container(_render("triton-one-gpu-fixed"))
    assert triton["command"] == ["tritonserver"]
    assert triton["args"] == [
        "--model-repository=s3://models/support-chat/",
        "--http-port=8000", "--grpc-port=8001", "--metrics-port=8002",
        "--metrics-config=summary_latencies=true",  # the p95 summary alerts and gates read
    ]
    custom = _container(_render("custom-cpu"))
    assert "command" not in custom
    assert custom["args"] == ["--workers", "2"]


def test_env(scenario: str) -> None:
    env = {e["name"]: e["value"] for e in _container(_render(scenario))["env"]}
    assert env["MODEL_URI"] == "s3://models/support-chat/"
    if scenario == "custom-cpu":
        assert env == {"MODEL_URI": "s3://models/support-chat/", "PORT": "9000", "LOG_LEVEL": "info"}
    else:
        assert "PORT" not in env


def test_security_and_service_account(scenario: str) -> None:
    objects = _render(scenario)
    pod, container = _pod(objects), _container(objects)
    assert pod["securityContext"] == {
        "runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 1000,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "support-chat"
    assert objects["ServiceAccount"]["automountServiceAccountToken"] is False
    assert pod["terminationGracePeriodSeconds"] == 60
    (spread,) = pod["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert spread["whenUnsatisfiable"] == "ScheduleAnyway"


def test_service_account_not_created() -> None:
    values = values_for("custom", serviceAccount={"create": False, "name": "shared-sa"})
    objects = by_kind(render_chart(values))
    assert "ServiceAccount" not in objects
    assert _pod(objects)["serviceAccountName"] == "shared-sa"


def test_service_account_name_defaults_to_model_name() -> None:
    objects = by_kind(render_chart(values_for("custom", serviceAccount={"create": True, "name": ""})))
    assert objects["ServiceAccount"]["metadata"]["name"] == "support-chat"
    assert _pod(objects)["serviceAccountName"] == "support-chat"


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(values_for("vllm", replica={"min": 1, "max": 2}), id="unknown-top-level-key"),
        pytest.param(
            values_for("vllm", gpu={"count": 1, "resource": "nvidia.com/gpu", "nodeSelector": {}, "cuont": 2}),
            id="unknown-nested-key",
        ),
        pytest.param(values_for("tgi"), id="unknown-runtime"),
        pytest.param(values_for("custom", port="8000"), id="port-as-string"),
        pytest.param(values_for("custom", env=[{"name": "PORT", "value": "1"}]), id="reserved-env"),
        pytest.param({}, id="chart-defaults-alone"),
    ],
)
def test_bad_values_fail_schema(values: dict[str, Any]) -> None:
    with pytest.raises(helm_python.HelmValuesError):
        render_manifests(values)


def test_model_name_must_be_a_service_name() -> None:
    values = values_for("custom")
    values["model"]["name"] = "3d-model"
    with pytest.raises(helm_python.HelmValuesError):
        render_manifests(values)


def test_min_replicas_above_max_fails() -> None:
    with pytest.raises(helm_python.HelmRenderError, match="replicas.min"):
        render_manifests(values_for("custom", replicas={"min": 3, "max": 2}))


def test_injected_yaml_stays_a_string() -> None:
    payload = "x\nprivileged: true"
    values = values_for(
        "custom",
        env=[{"name": "EVIL", "value": payload}],
        args=[payload, "- privileged: true"],
        modelUri="s3://m/\nsecurityContext: {privileged: true}",
    )
    values["model"]["owner"] = payload
    objects = by_kind(render_chart(values))
    container = _container(objects)
    assert container["args"] == [payload, "- privileged: true"]
    assert {e["name"]: e["value"] for e in container["env"]}["EVIL"] == payload
    assert container["env"][0]["value"] == values["modelUri"]
    assert objects["Deployment"]["metadata"]["annotations"]["modelops.dev/owner"] == payload
    assert "privileged" not in container["securityContext"]
    for obj in objects.values():
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


CONTRACT_EXAMPLE = """
model: {name: support-chat, environment: prod, team: assistants, costCenter: cc-4410,
        owner: ml-assist@example.com, version: "7"}
runtime: vllm
image: registry.example.com/vllm/vllm-openai@sha256:0123
modelUri: s3://models/support-chat/
args: []
env: []
port: 8000
healthPath: /health
replicas: {min: 1, max: 4}
autoscaling: {enabled: true, targetCPUUtilizationPercentage: 70}
resources: {cpu: "4", memory: 32Gi}
gpu:
  count: 1
  resource: nvidia.com/gpu
  nodeSelector: {nvidia.com/gpu.product: NVIDIA-L4}
shm: {sizeLimit: 8Gi}
pdb: {enabled: true, minAvailable: 1}
serviceAccount: {create: true, name: support-chat}
startupProbe: {failureThreshold: 60, periodSeconds: 10}
"""


def test_contract_example_from_architecture_doc_renders() -> None:
    objects = render_chart(yaml.safe_load(CONTRACT_EXAMPLE))
    assert sorted(o["kind"] for o in objects) == [
        "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service", "ServiceAccount",
    ]
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_helm_lint_is_clean(scenario: str) -> None:
    result = helm_python.lint(CHART_DIR, SCENARIOS[scenario], strict=True)
    assert result["errors"] == []
