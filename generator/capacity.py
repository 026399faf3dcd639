"""Capacity plans for specs: the spec's training request through the planner.

Parameter counts are exact for the built-in architectures (counted on torch's meta
device, or the closed form when torch is unavailable) or as declared in the spec
(`training.architecture.parameters`). A model with neither gets no plan.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.gpus import GPU_TYPES, GpuType
from generator.spec.model import ResolvedModel
from generator.training.planner import GPU_MEMORY_GIB, Plan, parameters_from_config, plan_capacity, recommend

__all__ = ["TrainingPlan", "training_plan", "parameter_count"]

MAX_RECOMMENDED_GPUS = 256


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
    architecture = training.get("architecture", {})
    if "parameters" in architecture:
        return int(architecture["parameters"]), "declared"
    if "command" in training and "preset" not in architecture:
        return None  # a custom trainer that declares nothing: nothing to plan
    preset = architecture.get("preset", "gpt-small")
    return parameters_from_config(preset), preset


def _memory(gpu_type: str, catalogue: dict[str, GpuType]) -> float:
    """Usable memory: the planner's measured figure for a built-in type, else the catalogue's."""
    declared = catalogue[gpu_type]
    if GPU_TYPES.get(gpu_type) == declared and gpu_type in GPU_MEMORY_GIB:
        return GPU_MEMORY_GIB[gpu_type]
    return float(declared.memory_gib)


def training_plan(resolved: ResolvedModel) -> TrainingPlan | None:
    training = resolved.training
    if training is None:
        return None
    counted = parameter_count(training)
    if counted is None:
        return None
    params, source = counted
    gpus = training["gpus"]["perNode"] * training["gpus"]["nodes"]
    gpu_type = training["gpus"]["type"]
    optimizer = training.get("trainer", {}).get("optimizer", "adamw")
    precision = training.get("precision", "bf16")
    strategy = training["strategy"]
    catalogue = resolved.environment.gpu_catalogue()
    memory = _memory(gpu_type, catalogue)
    plan = plan_capacity(params, strategy, memory, gpus, precision, optimizer)
    other = plan_capacity(params, "ddp" if strategy == "fsdp" else "fsdp", memory, gpus, precision, optimizer)
    env = resolved.environment.data["gpus"]
    allowed = {name: _memory(name, catalogue) for name in env["allowed"] if name in catalogue}
    limit = max(1, min(env["quota"] or MAX_RECOMMENDED_GPUS, MAX_RECOMMENDED_GPUS))
    recommendation = recommend(params, strategy, allowed, limit, precision, optimizer) if allowed else None
    return TrainingPlan(resolved.name, resolved.environment.name, params, source, gpu_type, gpus, plan, other,
                        recommendation, env["quota"])
