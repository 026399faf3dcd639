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

from generator.gpus import GPU_TYPES
from generator.spec.model import ResolvedModel
from generator.training.config import gpt_parameter_count, parse_model_config
from generator.training.planner import GPU_MEMORY_GIB, Plan, plan_capacity, recommend

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
    return _preset_parameters(preset), preset


@lru_cache(maxsize=256)
def _preset_parameters(preset: str) -> int:
    return gpt_parameter_count(parse_model_config(preset))


def _memory(gpu_type: str) -> float:
    return GPU_MEMORY_GIB.get(gpu_type, float(GPU_TYPES[gpu_type].memory_gib))


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
    plan = plan_capacity(params, strategy, _memory(gpu_type), gpus, precision, optimizer)
    other = plan_capacity(params, "ddp" if strategy == "fsdp" else "fsdp", _memory(gpu_type), gpus, precision, optimizer)
    env = resolved.environment.data["gpus"]
    allowed = {name: _memory(name) for name in env["allowed"] if name in GPU_TYPES}
    limit = max(1, min(env["quota"] or MAX_RECOMMENDED_GPUS, MAX_RECOMMENDED_GPUS))
    recommendation = recommend(params, strategy, allowed, limit, precision, optimizer) if allowed else None
    return TrainingPlan(resolved.name, resolved.environment.name, params, source, gpu_type, gpus, plan, other,
                        recommendation, env["quota"])
