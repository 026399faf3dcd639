"""Training settings the built-in trainer cannot run with, found when the spec is loaded
(file:line, exit 2) rather than by a pod on a GPU node.

The reference trainer reads data from `s3://`, `gs://`, `file://` (a path in the image or
on a mounted volume) or `synthetic://`, and keeps checkpoints in `s3://`, `gs://` or on
the environment's shared volume (`file:///checkpoints/...`, which needs the environment's
`training.checkpointClaim`). A custom trainer (`training.command`) is not second-guessed.
"""
from __future__ import annotations

from typing import Any

from generator.errors import Problem
from generator.spec.model import ModelSpec, ResolvedModel

__all__ = ["CHECKPOINT_SCHEMES", "DATA_SCHEMES", "training_field_path", "training_problems"]

DATA_SCHEMES = ("s3", "gs", "file", "synthetic")
CHECKPOINT_SCHEMES = ("s3", "gs", "file")
CHECKPOINT_MOUNT = "/checkpoints"


def training_field_path(spec: ModelSpec, env: str, *keys: str) -> tuple[str, ...]:
    """The spec path that set `keys` for `env`: its override when there is one."""
    node: Any = spec.data.get("environments", {}).get(env, {}).get("training", {})
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return ("environments", env, "training", *keys) if node is not None else ("training", *keys)


def training_problems(spec: ModelSpec, resolved: ResolvedModel) -> list[Problem]:
    training = resolved.training
    if training is None or "command" in training:
        return []
    env = resolved.environment
    problems: list[Problem] = []

    def add(keys: tuple[str, ...], message: str) -> None:
        problems.append(spec.located.problem(training_field_path(spec, env.name, *keys), message))

    scheme = str(training.get("dataset", "")).split("://", 1)[0]
    if scheme not in DATA_SCHEMES:
        add(("dataset",), f"the built-in trainer cannot read {scheme}:// data; use one of "
                          f"{', '.join(s + '://' for s in DATA_SCHEMES)}")
    checkpoints = training.get("checkpoints")
    if checkpoints:
        scheme = checkpoints.split("://", 1)[0]
        if scheme not in CHECKPOINT_SCHEMES:
            add(("checkpoints",), f"the built-in trainer cannot write checkpoints to {scheme}://; use s3://, gs:// "
                                  f"or file://{CHECKPOINT_MOUNT}/... on the environment's volume")
        elif scheme == "file" and not checkpoints[len("file://"):].startswith(CHECKPOINT_MOUNT + "/"):
            add(("checkpoints",), f"file:// checkpoints must be under {CHECKPOINT_MOUNT}/, where the environment's "
                                  "shared volume is mounted")
        elif scheme == "file" and not env.data.get("training", {}).get("checkpointClaim"):
            add(("checkpoints",), f"file:// checkpoints need a shared volume, but environment '{env.name}' declares "
                                  "no training.checkpointClaim (a ReadWriteMany volume)")
    durable = checkpoints or env.data.get("training", {}).get("checkpointClaim")
    if training["gpus"]["nodes"] > 1 and not durable:
        add(("gpus", "nodes"), f"multi-node training in environment '{env.name}' needs training.checkpoints or the "
                               "environment's training.checkpointClaim: every node must reach the checkpoints")
    problems += _parameter_problems(spec, training, add)
    return problems


def _parameter_problems(spec: ModelSpec, training: dict[str, Any], add: Any) -> list[Problem]:
    parameters = training.get("architecture", {}).get("parameters")
    if parameters is None or "preset" in training.get("architecture", {}):
        return []
    from generator.training.config import ConfigError, config_for_parameters

    try:
        config_for_parameters(int(parameters))
    except ConfigError as error:
        add(("architecture", "parameters"), str(error))
    return []
