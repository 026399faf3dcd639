"""Blueprint context: everything a template needs for one model in one environment.

Decisions that need logic (torchrun arguments, GPU placement, names) are made here in
Python, so the templates stay declarative layouts and a team overriding a blueprint gets
the same facts.
"""
from __future__ import annotations

from typing import Any

from generator.render.training_context import (
    CHECKPOINT_MOUNT,
    DATA_CACHE_MOUNT,
    METRICS_PATH,
    RDZV_PORT,
    RUN_NAME,
    TRAINER_MODULE,
    checkpoint_location,
    cluster_features,
    metrics_source,
    retry_expression,
    torchrun_command,
)
from generator.spec.model import Environment, ResolvedModel

__all__ = [
    "CHART_PATH",
    "CHECKPOINT_MOUNT",
    "METRICS_PATH",
    "TRAINER_MODULE",
    "environment_context",
    "model_context",
    "torchrun_command",
]

CHART_PATH = "blueprints/charts/model-serving"
GPU_RESOURCE = "nvidia.com/gpu"


def labels(resolved: ResolvedModel) -> dict[str, str]:
    meta = resolved.metadata
    return {
        "app.kubernetes.io/part-of": "modelops",
        "modelops.dev/model": resolved.name,
        "modelops.dev/environment": resolved.environment.name,
        "modelops.dev/team": meta["team"],
        "modelops.dev/cost-center": meta["costCenter"],
    }


def environment_context(env: Environment) -> dict[str, Any]:
    data = env.data
    argocd = data["argocd"]
    cluster = data.get("cluster", {"server": "https://kubernetes.default.svc"})
    return {
        "name": env.name,
        "namespace": env.namespace,
        "source": env.path,
        "argocd": {"namespace": argocd.get("namespace", "argocd"), "project": argocd["project"],
                   "repoURL": argocd["repoURL"], "targetRevision": argocd.get("targetRevision", "HEAD")},
        "destination": ({"name": cluster["name"]} if "name" in cluster
                        else {"server": cluster.get("server", "https://kubernetes.default.svc")}),
        "syncPolicy": {"automated": data["syncPolicy"]["automated"], "prune": data["syncPolicy"].get("prune", False),
                       "selfHeal": data["syncPolicy"].get("selfHeal", False)},
        # Every optional key present (None when unset): StrictUndefined then only catches typos.
        "training": {key: data.get("training", {}).get(key) for key in
                     ("serviceAccount", "priorityClassName", "queueName", "checkpointClaim",
                      "ncclSocketIfname", "ncclIbHca", "rdmaResource", "semaphore")},
    }


def _placement(env: Environment, gpu_type: str) -> dict[str, Any]:
    gpu = env.gpu_catalogue()[gpu_type]
    return {"type": gpu_type, "product": gpu.product, "memoryGiB": gpu.memory_gib,
            "nodeSelector": env.node_selector(gpu_type, gpu.product), "resource": GPU_RESOURCE}


def _shm_size(gpus_per_pod: int, memory: str | None) -> str:
    # /dev/shm counts against the memory limit; NCCL and DataLoader workers want a few GiB per GPU.
    return f"{max(1, gpus_per_pod) * 8}Gi" if memory is None else _half(memory, gpus_per_pod)


def _half(memory: str, gpus: int) -> str:
    for unit in ("Ti", "Gi", "Mi"):
        if memory.endswith(unit) and memory[:-2].isdigit():
            value = int(memory[:-2]) * (1024 if unit == "Ti" else 1)
            if unit == "Mi":
                return f"{max(64, int(memory[:-2]) // 2)}Mi"
            return f"{max(1, min(value // 2, gpus * 16))}Gi"
    return f"{max(1, gpus) * 8}Gi"


def _training_context(resolved: ResolvedModel) -> dict[str, Any] | None:
    training = resolved.training
    if training is None:
        return None
    gpus, env = training["gpus"], resolved.environment
    resources = training.get("resources", {})
    per_node = gpus["perNode"]
    location = checkpoint_location(training, env, resolved.name)
    return {
        **training,
        "gpu": _placement(env, gpus["type"]) | {"perNode": per_node, "nodes": gpus["nodes"]},
        "multiNode": gpus["nodes"] > 1,
        "command": torchrun_command(training, env, resolved.name),
        "builtinTrainer": "command" not in training,
        "cpu": str(resources.get("cpu", per_node * 8)),
        "memory": resources.get("memory", f"{per_node * 64}Gi"),
        "shmSize": _shm_size(per_node, resources.get("memory")),
        "cluster": cluster_features(env),
        "retryExpression": retry_expression(gpus["nodes"] > 1),
        # Backoff between attempts, capped; never `maxDuration`, which Argo counts from the
        # first attempt and also imposes as the retried pod's deadline.
        "backoffCap": "30m",
        "pendingTimeout": "30m",
        "metricsPath": METRICS_PATH,
        "metricsSource": metrics_source(training, env, resolved.name),
        "checkpointLocation": location,
        "checkpointMount": CHECKPOINT_MOUNT,
        "dataCacheMount": DATA_CACHE_MOUNT,
        "dataCacheSize": training.get("trainer", {}).get("dataCacheSize", "100Gi"),
        "runName": RUN_NAME,
        "rdzvPort": RDZV_PORT,
        "terminationGracePeriodSeconds": 300,
        "podFailureExitCodes": [1, 2],
    }


def _serving_context(resolved: ResolvedModel) -> dict[str, Any] | None:
    serving = resolved.serving
    if serving is None:
        return None
    gpus = serving.get("gpus")
    placement = _placement(resolved.environment, gpus["type"]) | {"count": gpus["count"]} if gpus else None
    resources = serving.get("resources", {})
    count = gpus["count"] if gpus else 0
    replicas = serving["replicas"]
    return {
        **serving,
        "gpu": placement,
        "gpuCount": count,
        "cpu": str(resources.get("cpu", 4 * max(1, count))),
        "memory": resources.get("memory", f"{16 * max(1, count)}Gi"),
        "shmSize": serving.get("shmSize", _shm_size(count, None)),
        "port": serving.get("port", 8000),
        "healthPath": serving.get("healthPath", "/health"),
        "autoscaling": replicas["max"] > replicas["min"],
        "targetCPUUtilization": serving.get("autoscaling", {}).get("targetCPUUtilization", 70),
        "pdbMinAvailable": 1 if replicas["min"] > 1 else 0,
        "startupFailureThreshold": 90 if serving["runtime"] == "vllm" else 30,
    }


def model_context(resolved: ResolvedModel) -> dict[str, Any]:
    """The whole context for one model x environment."""
    env = resolved.environment
    return {
        "source": resolved.spec.path,
        "model": {"name": resolved.name, **resolved.metadata},
        "env": environment_context(env),
        "labels": labels(resolved),
        "release": resolved.release,
        "modelVersion": resolved.release.get("modelVersion", ""),
        "chartPath": CHART_PATH,
        "chartRevision": resolved.release.get("chartRevision"),
        "training": _training_context(resolved),
        "serving": _serving_context(resolved),
        "promotion": resolved.spec.data.get("promotion", {}),
    }
