"""Blueprint context: everything a template needs for one model in one environment.

Decisions that need logic (torchrun arguments, GPU placement, names) are made here in
Python, so the templates stay declarative layouts and a team overriding a blueprint gets
the same facts.
"""
from __future__ import annotations

from typing import Any

from generator.spec.model import Environment, ResolvedModel

__all__ = ["model_context", "environment_context", "CHART_PATH", "TRAINER_MODULE", "METRICS_PATH", "CHECKPOINT_MOUNT"]

CHART_PATH = "blueprints/charts/model-serving"
TRAINER_MODULE = "generator.training"
METRICS_PATH = "/tmp/outputs/metrics.json"
CHECKPOINT_MOUNT = "/checkpoints"
RDZV_PORT = 29500
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
        "destination": {"name": cluster["name"]} if "name" in cluster else {"server": cluster["server"]},
        "syncPolicy": {"automated": data["syncPolicy"]["automated"], "prune": data["syncPolicy"].get("prune", False),
                       "selfHeal": data["syncPolicy"].get("selfHeal", False)},
        # Every optional key present (None when unset): StrictUndefined then only catches typos.
        "training": {key: data.get("training", {}).get(key) for key in
                     ("serviceAccount", "priorityClassName", "queueName", "checkpointClaim",
                      "ncclSocketIfname", "semaphore")},
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


def _trainer_args(training: dict[str, Any], model: str, env: str) -> list[str]:
    trainer = training.get("trainer", {})
    arch = training.get("architecture", {})
    # bf16 in a spec means "bf16 where the GPU supports it": the trainer's `auto`.
    precision = "auto" if training["precision"] == "bf16" else training["precision"]
    args = ["--strategy", training["strategy"], "--precision", precision,
            "--model-config", arch.get("preset", "gpt-small"), "--data", _data_arg(training["dataset"]),
            "--checkpoint-dir", f"{CHECKPOINT_MOUNT}/{model}/{env}", "--metrics-out", METRICS_PATH]
    for flag, key in (("--steps", "steps"), ("--batch-size", "batchSize"), ("--seq-len", "seqLen"),
                      ("--checkpoint-every", "checkpointEvery")):
        if key in trainer:
            args += [flag, str(trainer[key])]
    if trainer.get("compile"):
        args.append("--compile")
    return args


def _data_arg(uri: str) -> str:
    if uri.startswith("synthetic://"):
        return "synthetic"
    if uri.startswith("file://"):
        return uri[len("file://"):]
    return uri


def torchrun_command(training: dict[str, Any], model: str, env: str) -> list[str]:
    """The container command: torchrun, its launcher flags, then the module and its args.

    Multi-node rendezvous values use `$(VAR)` so Kubernetes expands them per pod.
    """
    gpus = training["gpus"]
    if gpus["nodes"] == 1:
        launcher = ["torchrun", "--standalone", "--nnodes=1", f"--nproc-per-node={gpus['perNode']}"]
    else:
        launcher = ["torchrun", f"--nnodes={gpus['nodes']}", f"--nproc-per-node={gpus['perNode']}",
                    "--node-rank=$(JOB_COMPLETION_INDEX)", "--rdzv-backend=c10d",
                    f"--rdzv-endpoint=$(JOBSET_NAME)-workers-0-0.$(JOBSET_NAME):{RDZV_PORT}",
                    "--rdzv-id=$(JOBSET_NAME)", "--max-restarts=0"]
    if "command" in training:
        return launcher + list(training["command"]) + list(training.get("args", []))
    return launcher + ["-m", TRAINER_MODULE] + _trainer_args(training, model, env) + list(training.get("args", []))


def _training_context(resolved: ResolvedModel) -> dict[str, Any] | None:
    training = resolved.training
    if training is None:
        return None
    gpus = training["gpus"]
    resources = training.get("resources", {})
    per_node = gpus["perNode"]
    return {
        **training,
        "gpu": _placement(resolved.environment, gpus["type"]) | {"perNode": per_node, "nodes": gpus["nodes"]},
        "multiNode": gpus["nodes"] > 1,
        "command": torchrun_command(training, resolved.name, resolved.environment.name),
        "builtinTrainer": "command" not in training,
        "cpu": str(resources.get("cpu", per_node * 8)),
        "memory": resources.get("memory", f"{per_node * 64}Gi"),
        "shmSize": _shm_size(per_node, resources.get("memory")),
        "backoffMaxDuration": f"{max(60, training['maxDurationSeconds'] // 4)}s",
        "pendingTimeout": "30m",
        "metricsPath": METRICS_PATH,
        "checkpointMount": CHECKPOINT_MOUNT,
        "rdzvPort": RDZV_PORT,
        "terminationGracePeriodSeconds": 300,
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
