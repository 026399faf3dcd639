"""Capacity plans for specs: the spec's training request through the planner.

Parameter counts are exact for the built-in architectures (the closed form, equal to
torch's meta-device count as tests/test_planner.py checks; once per preset, since building
the model per pair was half of a cold `check` and importing torch a second per worker) or
as declared in the spec (`training.architecture.parameters`). A model with neither gets
no plan.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from generator.gpus import GPU_TYPES, GpuType
from generator.spec.model import ResolvedModel
from generator.training.activations import activation_bytes
from generator.training.config import (
    GPTConfig,
    config_for_parameters,
    gpt_parameter_count,
    model_config_arg,
    parse_model_config,
)
from generator.training.planner import (
    GPU_MEMORY_GIB,
    Plan,
    plan_capacity,
    recommend,
)

__all__ = ["TrainingPlan", "parameter_count", "training_plan"]

MAX_RECOMMENDED_GPUS = 256
DEFAULT_BATCH = 8  # the trainer's --batch-size default: sequences per GPU


@dataclass(frozen=True)
class TrainingPlan:
    model: str
    environment: str
    parameters: int
    parameters_source: str  # preset name, or "declared"
    gpu_type: str
    gpus: int
    plan: Plan
    other: Plan  # the same request under the other strategy, for comparison
    recommendation: tuple[str, int] | None
    quota: int

    @property
    def fits(self) -> bool:
        return self.plan.fits

    def as_policy_input(self) -> dict[str, Any]:
        data = self.plan.to_dict()
        data.update({"gpu_type": self.gpu_type, "parameters_source": self.parameters_source,
                     "recommendation": list(self.recommendation) if self.recommendation else None})
        if not self.plan.fits:
            hint = (f"; smallest fitting allowed configuration: {self.recommendation[1]} x {self.recommendation[0]}"
                    if self.recommendation else "; no allowed GPU type fits within the quota")
            data["reason"] = f"{self.plan.reason}{hint}"
        return data


def parameter_count(training: dict[str, Any]) -> tuple[int, str] | None:
    """(parameters, where the number comes from). For the built-in trainer a declared count
    is the model it actually trains (the nearest reference GPT), so plan and train agree."""
    architecture = training.get("architecture", {})
    if "parameters" in architecture and "command" in training:
        return int(architecture["parameters"]), "declared"
    if "parameters" in architecture and "preset" not in architecture:
        config = config_for_parameters(int(architecture["parameters"]))
        return gpt_parameter_count(config), f"declared {int(architecture['parameters']):,}, trained as {model_config_arg(config)}"
    if "command" in training and "preset" not in architecture:
        return None  # a custom trainer that declares nothing: nothing to plan
    preset = architecture.get("preset", "gpt-small")
    return _preset_parameters(preset), preset


@lru_cache(maxsize=256)
def _preset_parameters(preset: str) -> int:
    return gpt_parameter_count(parse_model_config(preset))


def _memory(gpu_type: str, catalogue: dict[str, GpuType]) -> float:
    """Usable memory: the planner's measured figure for a built-in type, else the catalogue's."""
    declared = catalogue[gpu_type]
    if GPU_TYPES.get(gpu_type) == declared and gpu_type in GPU_MEMORY_GIB:
        return GPU_MEMORY_GIB[gpu_type]
    return float(declared.memory_gib)


def _precision(precision: str, gpu_type: str) -> str:
    """The reference trainer runs bf16 only where the card has it (`auto`), else fp32."""
    gpu = GPU_TYPES.get(gpu_type)
    return "fp32" if precision == "bf16" and gpu is not None and not gpu.bf16 else precision


def model_config(training: dict[str, Any]) -> GPTConfig | None:
    """The reference GPT the built-in trainer builds for this spec; None for a custom trainer."""
    if "command" in training:
        return None
    arch = training.get("architecture", {})
    if "parameters" in arch and "preset" not in arch:
        return config_for_parameters(int(arch["parameters"]))
    return parse_model_config(arch.get("preset", "gpt-small"))


def activations_gib(training: dict[str, Any], gpu_type: str) -> float | None:
    """Activation memory per GPU of the built-in trainer (generator/training/activations.py)."""
    config = model_config(training)
    if config is None:
        return None
    trainer = training.get("trainer", {})
    seq = min(int(trainer.get("seqLen", config.block_size)), config.block_size)
    return activation_bytes(config, batch=int(trainer.get("batchSize", DEFAULT_BATCH)), seq_len=seq,
                            precision=_precision(training.get("precision", "bf16"), gpu_type),
                            checkpointing=bool(trainer.get("activationCheckpointing"))) / 2**30


def training_plan(resolved: ResolvedModel) -> TrainingPlan | None:
    training = resolved.training
    if training is None:
        return None
    counted = parameter_count(training)
    if counted is None:
        return None
    params, source = counted
    per_node, gpu_type = training["gpus"]["perNode"], training["gpus"]["type"]
    gpus = per_node * training["gpus"]["nodes"]
    optimizer = training.get("trainer", {}).get("optimizer", "adamw")
    precision = _precision(training.get("precision", "bf16"), gpu_type)
    strategy = training["strategy"]
    catalogue = resolved.environment.gpu_catalogue()
    memory = _memory(gpu_type, catalogue)
    act = activations_gib(training, gpu_type)
    plan = plan_capacity(params, strategy, memory, gpus, precision, optimizer, activation_gib=act)
    other = plan_capacity(params, "ddp" if strategy == "fsdp" else "fsdp", memory, gpus, precision, optimizer,
                          activation_gib=act)
    env = resolved.environment.data["gpus"]
    allowed = {name: _memory(name, catalogue) for name in env["allowed"] if name in catalogue}
    limit = max(1, min(env["quota"] or MAX_RECOMMENDED_GPUS, MAX_RECOMMENDED_GPUS))
    recommendation = recommend(
        params, strategy, allowed, limit, precision, optimizer, per_node=per_node,
        activations={n: a for n in allowed if (a := activations_gib(training, n)) is not None},
        precisions={n: _precision(training.get("precision", "bf16"), n) for n in allowed},
    ) if allowed else None
    return TrainingPlan(resolved.name, resolved.environment.name, params, source, gpu_type, gpus, plan, other,
                        recommendation, env["quota"])
