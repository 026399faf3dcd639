"""KServe objects for one model: the InferenceService predictor and, for vLLM and Triton,
a namespaced ServingRuntime that runs the spec's own pinned image.

KServe's docs recommend its Hugging Face runtime (vLLM inside) or the llm-d based
LLMInferenceService for LLMs; both run images other than the one the spec pins and
promotes. A ServingRuntime running the upstream `vllm serve` keeps the release's image
the thing that runs, works in Serverless and RawDeployment modes, and keeps the
OpenAI-compatible API and vLLM's metrics. Canaries use `canaryTrafficPercent`, which
KServe implements in Serverless mode (Knative revisions).
"""
from __future__ import annotations

from typing import Any

__all__ = ["KSERVE_PORT", "MODEL_MOUNT", "kserve_context"]

KSERVE_PORT = 8080  # the port KServe routes to (Knative's single container port)
MODEL_MOUNT = "/mnt/models"  # where KServe's storage initializer puts storageUri
_FORMATS = {"vllm": ("vllm", "1"), "triton": ("triton", "2")}


def _runtime_args(serving: dict[str, Any], model: str) -> tuple[list[str], list[str]]:
    extra = list(serving.get("args", []))
    if serving["runtime"] == "vllm":
        tp = str(max(1, serving["gpuCount"]))
        return ["vllm", "serve"], [MODEL_MOUNT, "--host", "0.0.0.0", "--port", str(KSERVE_PORT),
                                   "--served-model-name", model, "--tensor-parallel-size", tp, *extra]
    return ["tritonserver"], [f"--model-repository={MODEL_MOUNT}", f"--http-port={KSERVE_PORT}", "--grpc-port=9000",
                              "--metrics-port=8002", "--metrics-config=summary_latencies=true", *extra]


def _probes(serving: dict[str, Any], port: int) -> dict[str, Any]:
    ready, live = {"triton": ("/v2/health/ready", "/v2/health/live")}.get(
        serving["runtime"], (serving["healthPath"], serving["healthPath"]))
    def probe(path: str, **extra: int) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": port}, "timeoutSeconds": 5, **extra}
    return {"startupProbe": probe(ready, periodSeconds=10, failureThreshold=serving["startupFailureThreshold"]),
            "readinessProbe": probe(ready, periodSeconds=10, failureThreshold=3),
            "livenessProbe": probe(live, periodSeconds=15, failureThreshold=4)}


def _resources(serving: dict[str, Any]) -> dict[str, Any]:
    amounts: dict[str, str] = {"cpu": serving["cpu"], "memory": serving["memory"]}
    if serving["gpuCount"]:
        amounts[serving["gpu"]["resource"]] = str(serving["gpuCount"])
    return {"requests": dict(amounts), "limits": dict(amounts)}


_CONTAINER_SECURITY = {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}


def _container(serving: dict[str, Any], release: dict[str, Any], port: int) -> dict[str, Any]:
    container: dict[str, Any] = {**_probes(serving, port), "resources": _resources(serving),
                                 "securityContext": dict(_CONTAINER_SECURITY)}
    env = [{"name": "MODEL_URI", "value": release["modelUri"]}, *serving.get("env", [])]
    container["env"] = env
    if serving["gpuCount"]:
        container["volumeMounts"] = [{"name": "dshm", "mountPath": "/dev/shm"}]
    return container


def _predictor(ctx: dict[str, Any], release: dict[str, Any], canary_weight: int | None) -> dict[str, Any]:
    serving, model = ctx["serving"], ctx["model"]["name"]
    replicas = serving["replicas"]
    predictor: dict[str, Any] = {"minReplicas": replicas["min"], "maxReplicas": replicas["max"]}
    if canary_weight is not None:
        predictor["canaryTrafficPercent"] = canary_weight
    predictor |= {"serviceAccountName": model, "automountServiceAccountToken": False,
                  "labels": ctx["pod_labels_serving"], "annotations": {"modelops.dev/owner": ctx["model"]["owner"]},
                  "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 1000,
                                      "seccompProfile": {"type": "RuntimeDefault"}}}
    if serving["gpu"]:
        predictor["nodeSelector"] = serving["gpu"]["nodeSelector"]
        predictor["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
        predictor["volumes"] = [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": serving["shmSize"]}}]
    if serving["runtime"] == "custom":
        container = {"name": "kserve-container", "image": release["image"], "args": list(serving.get("args", [])),
                     "ports": [{"containerPort": serving["port"], "protocol": "TCP"}],
                     **_container(serving, release, serving["port"])}
        container["env"] = [{"name": "STORAGE_URI", "value": release["modelUri"]},
                            {"name": "PORT", "value": str(serving["port"])}, *container["env"]]
        predictor["containers"] = [container]
    else:
        name, version = _FORMATS[serving["runtime"]]
        predictor["model"] = {"modelFormat": {"name": name, "version": version},
                              "runtime": f"{model}-{serving['runtime']}", "storageUri": release["modelUri"],
                              **_container(serving, release, KSERVE_PORT)}
    return predictor


def _serving_runtime(ctx: dict[str, Any], image: str) -> dict[str, Any] | None:
    serving, model = ctx["serving"], ctx["model"]["name"]
    if serving["runtime"] == "custom":
        return None
    command, args = _runtime_args(serving, model)
    name, version = _FORMATS[serving["runtime"]]
    metrics_port = 8002 if serving["runtime"] == "triton" else KSERVE_PORT
    spec: dict[str, Any] = {
        "annotations": {"prometheus.kserve.io/port": str(metrics_port), "prometheus.kserve.io/path": "/metrics"},
        "supportedModelFormats": [{"name": name, "version": version, "autoSelect": False}],
        "containers": [{"name": "kserve-container", "image": image, "command": command, "args": args,
                        "ports": [{"containerPort": KSERVE_PORT, "protocol": "TCP"}],
                        "securityContext": dict(_CONTAINER_SECURITY)}],
    }
    if serving["runtime"] == "triton":
        spec["protocolVersions"] = ["v2", "grpc-v2"]
    return {"name": f"{model}-{serving['runtime']}", "spec": spec}


def kserve_context(ctx: dict[str, Any], canary: dict[str, Any]) -> dict[str, Any]:
    """What the KServe blueprints lay out. A canary renders the candidate at its weight:
    KServe keeps the last ready revision for the rest of the traffic."""
    serving = ctx["serving"]
    release = {"image": serving["image"], "modelUri": serving["modelUri"]}
    if canary:
        release = {"image": canary["image"], "modelUri": canary["modelUri"]}
    weight = canary.get("weight") if canary else None
    return {"predictor": _predictor(ctx, release, weight), "runtime": _serving_runtime(ctx, release["image"])}
