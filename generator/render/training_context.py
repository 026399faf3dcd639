"""What the training blueprints need: the container command, the storage it reaches, the
cluster features it may use, and the retry and failure policies.

Decisions that follow from platform versions are made here, once, from the environment's
`cluster` block, so that a blueprint never renders a field the cluster does not know:
`pendingTimeout` exists from Argo Workflows 4.1, `retryStrategy.backoff.cap` from 3.7,
JobSet `failurePolicy.rules` from JobSet 0.6.
"""
from __future__ import annotations

from typing import Any

from generator.spec.model import Environment

__all__ = [
    "CHECKPOINT_MOUNT",
    "DATA_CACHE_MOUNT",
    "DEFAULT_VERSIONS",
    "EXIT_INFRA",
    "EXIT_PREEMPTED",
    "LAUNCHER_MODULE",
    "METRICS_PATH",
    "RDZV_PORT",
    "RUN_NAME",
    "TRAINER_MODULE",
    "checkpoint_location",
    "cluster_features",
    "metrics_source",
    "retry_expression",
    "torchrun_command",
    "version_tuple",
    "crd_releases",
    "RELEASED_PRODUCTS",
]

TRAINER_MODULE = "generator.training"
LAUNCHER_MODULE = "generator.training.launch"
METRICS_PATH = "/tmp/outputs/metrics.json"
CHECKPOINT_MOUNT = "/checkpoints"
DATA_CACHE_MOUNT = "/data-cache"
RDZV_PORT = 29500
RUN_NAME = "{{workflow.name}}"
# The launcher's exit codes (generator/training/outcome.py); only these two are retried.
EXIT_INFRA = 75
EXIT_PREEMPTED = 143
# What an environment that declares nothing is assumed to run: the oldest versions the
# blueprints support, so nothing newer is rendered by accident.
DEFAULT_VERSIONS = {"argoWorkflows": "3.6.0", "jobset": "0.5.0", "kueue": None, "rdma": False}


def version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.lstrip("v").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts + [0] * (3 - len(parts)))


def cluster_features(env: Environment) -> dict[str, Any]:
    cluster = {**DEFAULT_VERSIONS, **{k: v for k, v in env.data.get("cluster", {}).items() if k in DEFAULT_VERSIONS}}
    argo, jobset = version_tuple(str(cluster["argoWorkflows"])), version_tuple(str(cluster["jobset"]))
    return {
        **cluster,
        "pendingTimeout": argo >= (4, 1, 0),
        "backoffCap": argo >= (3, 7, 0),
        "jobsetFailureRules": jobset >= (0, 6, 0),
    }


# The environment's `cluster` keys that name a controller whose CRDs are vendored per
# release (generator/data/crds/releases/<product>/), so `check` validates against them.
RELEASED_PRODUCTS = {"argoWorkflows": "argo-workflows", "jobset": "jobset"}


def crd_releases(env: Environment) -> dict[str, str]:
    """product -> the release the environment's cluster runs (declared or assumed)."""
    cluster = {**DEFAULT_VERSIONS, **env.data.get("cluster", {})}
    return {product: str(cluster[key]) for key, product in RELEASED_PRODUCTS.items()}


def retry_expression(multi_node: bool) -> str:
    """Retry preemption and infrastructure failures, never code or configuration errors.

    `Error` is a pod Argo lost (node gone, evicted, deleted). A multi-node step only
    watches its JobSet (argoexec exits 64 when the failureCondition matches): the JobSet's
    failurePolicy restarts the group, so Argo retries only a lost watcher, which re-applies
    the same JobSet rather than creating a second one.
    """
    if multi_node:
        return "lastRetry.status == 'Error'"
    return (f"lastRetry.status == 'Error' or (lastRetry.status == 'Failed' and "
            f"asInt(lastRetry.exitCode) in [{EXIT_INFRA}, {EXIT_PREEMPTED}])")


def checkpoint_location(training: dict[str, Any], env: Environment, model: str) -> str | None:
    """Where the run folders go: the spec's object storage, else the environment's shared
    volume, else nowhere durable (None)."""
    uri = training.get("checkpoints")
    if uri and uri.split("://", 1)[0] in ("s3", "gs"):
        return f"{uri.rstrip('/')}/{env.name}"
    if uri and uri.startswith("file://"):
        return uri[len("file://"):].rstrip("/")
    if env.data.get("training", {}).get("checkpointClaim"):
        return f"{CHECKPOINT_MOUNT}/{model}/{env.name}"
    return None


def _data_arg(uri: str) -> str:
    if uri.startswith("synthetic://"):
        return "synthetic"
    if uri.startswith("file://"):
        return uri[len("file://"):]
    return uri


def _model_config(training: dict[str, Any]) -> str:
    from generator.training.config import config_for_parameters, model_config_arg

    arch = training.get("architecture", {})
    if "preset" in arch:
        return str(arch["preset"])
    if "parameters" in arch:
        return model_config_arg(config_for_parameters(int(arch["parameters"])))
    return "gpt-small"


def _trainer_args(training: dict[str, Any], env: Environment, model: str) -> list[str]:
    trainer = training.get("trainer", {})
    # bf16 in a spec means "bf16 where the GPU supports it": the trainer's `auto`.
    precision = "auto" if training["precision"] == "bf16" else training["precision"]
    data = _data_arg(training["dataset"])
    args = ["--strategy", training["strategy"], "--precision", precision, "--model-config", _model_config(training),
            "--data", data]
    if "://" in data:
        args += ["--data-cache", DATA_CACHE_MOUNT]
    location = checkpoint_location(training, env, model)
    if location is not None:
        args += ["--checkpoint-dir", location, "--run-name", RUN_NAME]
    args += ["--metrics-out", _metrics_target(training, location)]
    for flag, key in (("--steps", "steps"), ("--batch-size", "batchSize"), ("--seq-len", "seqLen"),
                      ("--checkpoint-every", "checkpointEvery"), ("--checkpoint-interval", "checkpointInterval"),
                      ("--collective-timeout", "collectiveTimeout"), ("--init-from", "initFrom")):
        if key in trainer:
            args += [flag, str(trainer[key])]
    for flag, key in (("--compile", "compile"), ("--activation-checkpointing", "activationCheckpointing")):
        if trainer.get(key):
            args.append(flag)
    return args


def _metrics_target(training: dict[str, Any], location: str | None) -> str:
    """One node writes the metrics file in its own pod; several nodes write it next to the
    checkpoints, where the workflow's metrics step reads it (rank 0 may be on any pod)."""
    if training["gpus"]["nodes"] > 1 and location is not None:
        return f"{location}/{RUN_NAME}/metrics.json"
    return METRICS_PATH


def metrics_source(training: dict[str, Any], env: Environment, model: str) -> str:
    return _metrics_target(training, checkpoint_location(training, env, model))


def torchrun_command(training: dict[str, Any], env: Environment, model: str) -> list[str]:
    """The container command: the launcher, torchrun's flags, then the module and its args.

    Several nodes use torchrun's static rendezvous on pod 0's stable JobSet hostname with the
    node rank from the Job's completion index (c10d would ignore --node-rank); the launcher
    waits until that name resolves. `$(VAR)` is expanded by Kubernetes per pod.
    """
    gpus = training["gpus"]
    launcher = ["python", "-m", LAUNCHER_MODULE]
    if gpus["nodes"] == 1:
        launcher += ["--standalone", "--nnodes=1", f"--nproc-per-node={gpus['perNode']}"]
    else:
        launcher += [f"--nnodes={gpus['nodes']}", f"--nproc-per-node={gpus['perNode']}",
                     "--node-rank=$(JOB_COMPLETION_INDEX)", "--master-addr=$(JOBSET_NAME)-workers-0-0.$(JOBSET_NAME)",
                     f"--master-port={RDZV_PORT}", "--max-restarts=0"]
    if "command" in training:
        return launcher + list(training["command"]) + list(training.get("args", []))
    return launcher + ["-m", TRAINER_MODULE] + _trainer_args(training, env, model) + list(training.get("args", []))
