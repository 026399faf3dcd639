"""Typed views of specs and environments, and the per-environment resolution.

A `ModelSpec` is what the data scientist wrote; a `ResolvedModel` is that spec for one
environment: defaults applied, the environment's overrides merged, its release chosen.
Everything downstream (render, check, plan) works from `ResolvedModel` only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from generator.gpus import GpuType, gpu_catalogue
from generator.yamlio import Located

__all__ = ["Environment", "ModelSpec", "ResolvedModel", "resolve", "deep_merge", "parse_duration"]

DEFAULT_CANARY_STEPS = (10, 50, 100)
DEFAULT_ALERTS = {"p95LatencySeconds": 2, "errorRate": 0.05, "gpuUtilizationLow": 0.2, "gpuUtilizationHigh": 0.95,
                  "queueDepth": 50}
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> int:
    """Seconds in a duration such as `12h` or `1h30m` (already schema-checked)."""
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        raise ValueError(f"not a duration: {text!r}")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def deep_merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key; anything else in `override` replaces `base` whole.

    Unchanged subtrees are shared, not copied: loaded specs are never mutated (every
    consumer builds new containers), and copying dominated a thousand-model `check`.
    """
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override


@dataclass(frozen=True)
class Environment:
    name: str
    path: str  # repo-relative, e.g. environments/prod/environment.yaml
    data: dict[str, Any]
    located: Located = field(repr=False, compare=False)

    @property
    def namespace(self) -> str:
        return self.data["namespace"]

    @property
    def promotes_from(self) -> str | None:
        return self.data.get("promotesFrom")

    @property
    def enforcement(self) -> str:
        return self.data["policy"]["enforcement"]

    @property
    def kubernetes_version(self) -> str:
        return self.data.get("kubernetesVersion", "1.33")

    def gpu_catalogue(self) -> dict[str, GpuType]:
        """The GPU types this environment knows: built-in ones plus its `gpuTypes`."""
        return gpu_catalogue(self.data)

    @property
    def serving(self) -> dict[str, Any]:
        """The environment's serving settings with defaults (target, canary steps, monitoring)."""
        data = self.data.get("serving", {})
        canary = data.get("canary", {})
        return {"target": data.get("target", "chart"), "kserveDeploymentMode": data.get("kserveDeploymentMode", "Serverless"),
                "canary": {"steps": list(canary.get("steps", DEFAULT_CANARY_STEPS)), "route": canary.get("route")},
                "monitoring": {"window": "5m", "ruleLabels": {}, "prometheusUrl": None, "dashboardNamespace": None,
                               **data.get("monitoring", {})}}

    def node_selector(self, gpu_type: str, product: str) -> dict[str, str]:
        selectors = self.data["gpus"].get("nodeSelectors", {})
        return dict(selectors.get(gpu_type, {"nvidia.com/gpu.product": product}))

    def policy_view(self) -> dict[str, Any]:
        """The environment's settings as policies see them (docs/architecture.md)."""
        argocd = self.data["argocd"]
        return {
            "name": self.name,
            "namespace": self.namespace,
            "project": argocd["project"],
            "syncPolicy": {"automated": self.data["syncPolicy"]["automated"],
                           "prune": self.data["syncPolicy"].get("prune", False),
                           "selfHeal": self.data["syncPolicy"].get("selfHeal", False)},
            "promotesFrom": self.promotes_from,
            "gpus": {"allowed": list(self.data["gpus"]["allowed"]), "quota": self.data["gpus"]["quota"]},
            "registries": list(self.data["registries"]),
            "enforcement": self.enforcement,
        }


@dataclass(frozen=True)
class ModelSpec:
    name: str
    path: str  # repo-relative, e.g. models/support-chat.yaml
    data: dict[str, Any]
    located: Located = field(repr=False, compare=False)

    @property
    def team(self) -> str:
        return self.data["metadata"]["team"]

    def release(self, env: str) -> dict[str, Any]:
        return dict(self.data.get("releases", {}).get(env, {}))

    def canary(self, env: str) -> dict[str, Any]:
        """The release rolling out as a canary in `env` (with its `weight`), or {}."""
        return dict(self.data.get("canaries", {}).get(env, {}))


@dataclass(frozen=True)
class ResolvedModel:
    """One model in one environment, with every default filled in."""

    spec: ModelSpec
    environment: Environment
    training: dict[str, Any] | None
    serving: dict[str, Any] | None
    release: dict[str, Any]
    canary: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def metadata(self) -> dict[str, Any]:
        return self.spec.data["metadata"]

    def gpu_request(self) -> int:
        """GPUs this model holds in the environment at peak (training + serving at max replicas)."""
        total = 0
        if self.training:
            total += self.training["gpus"]["perNode"] * self.training["gpus"]["nodes"]
        if self.serving and self.serving.get("gpus"):
            total += self.serving["gpus"]["count"] * self.serving["replicas"]["max"]
        return total

    def policy_view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "team": self.metadata["team"],
            "costCenter": self.metadata["costCenter"],
            "owner": self.metadata["owner"],
            "training": self.training,
            "serving": self.serving,
            "release": self.release,
            "canary": self.canary,
        }


def _training_defaults(training: dict[str, Any], release: dict[str, Any]) -> dict[str, Any]:
    out = deep_merge({"strategy": "ddp", "precision": "bf16", "retries": 2, "schedule": None}, training)
    out["gpus"] = {"nodes": 1, **out["gpus"]}
    if release.get("trainingImage"):
        out["image"] = release["trainingImage"]
    out["maxDurationSeconds"] = parse_duration(out["maxDuration"])
    return out


def _serving_defaults(serving: dict[str, Any], release: dict[str, Any], environment: Environment) -> dict[str, Any]:
    out = dict(serving)
    for key in ("image", "modelUri"):
        if release.get(key):
            out[key] = release[key]
    out["target"] = serving.get("target") or environment.serving["target"]
    monitoring = serving.get("monitoring", {})
    out["monitoring"] = {"alerts": {**DEFAULT_ALERTS, **monitoring.get("alerts", {})},
                         "quality": monitoring.get("quality")}
    return out


def resolve(spec: ModelSpec, environment: Environment) -> ResolvedModel:
    overrides = spec.data.get("environments", {}).get(environment.name, {})
    release = spec.release(environment.name)
    training = serving = None
    if "training" in spec.data:
        training = _training_defaults(deep_merge(spec.data["training"], overrides.get("training", {})), release)
    if "serving" in spec.data:
        serving = _serving_defaults(deep_merge(spec.data["serving"], overrides.get("serving", {})), release,
                                    environment)
    canary = spec.canary(environment.name) if serving is not None else {}
    return ResolvedModel(spec=spec, environment=environment, training=training, serving=serving, release=release,
                         canary=canary)
