"""GPU types: the spec names a type, the environment decides where it lives and which exist.

The built-in catalogue below is only the default. An environment declares more (or
overrides one) under `gpuTypes` in its environment.yaml:

```yaml
gpuTypes:
  nvidia-b200:
    product: NVIDIA-B200           # the node label value (nvidia.com/gpu.product)
    memoryGiB: 180
    precisions: [fp32, bf16, fp16, fp8]
    tflops: {bf16: 2250}           # dense peak per GPU, for rough planning
```

The product is what NVIDIA GPU feature discovery publishes as `nvidia.com/gpu.product`;
an environment may still override the whole node selector (`gpus.nodeSelectors`).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GpuType", "GPU_TYPES", "PRODUCT_LABEL", "PRECISIONS", "gpu_catalogue", "known_gpu_types"]

PRODUCT_LABEL = "nvidia.com/gpu.product"
PRECISIONS = ("fp32", "tf32", "fp16", "bf16", "fp8")


@dataclass(frozen=True)
class GpuType:
    name: str
    product: str
    memory_gib: float
    precisions: tuple[str, ...] = ("fp32", "fp16")
    tflops: Mapping[str, float] = field(default_factory=dict, hash=False, compare=False)

    @property
    def bf16(self) -> bool:
        return "bf16" in self.precisions

    @property
    def tflops_bf16(self) -> float:
        """Dense bf16 peak per GPU (0 when unknown or unsupported); rough planning only."""
        return float(self.tflops.get("bf16", 0.0))


def _builtin(name: str, product: str, memory: float, bf16: bool, tflops: float) -> GpuType:
    precisions = ("fp32", "tf32", "fp16", "bf16") if bf16 else ("fp32", "fp16")
    return GpuType(name, product, memory, precisions, {"bf16" if bf16 else "fp16": tflops})


GPU_TYPES: dict[str, GpuType] = {gpu.name: gpu for gpu in (
    _builtin("nvidia-h200-141gb", "NVIDIA-H200", 141, True, 989.0),
    _builtin("nvidia-h100-80gb", "NVIDIA-H100-80GB-HBM3", 80, True, 989.0),
    _builtin("nvidia-a100-80gb", "NVIDIA-A100-SXM4-80GB", 80, True, 312.0),
    _builtin("nvidia-a100-40gb", "NVIDIA-A100-SXM4-40GB", 40, True, 312.0),
    _builtin("nvidia-l40s", "NVIDIA-L40S", 48, True, 362.0),
    _builtin("nvidia-l4", "NVIDIA-L4", 24, True, 121.0),
    _builtin("nvidia-a10g", "NVIDIA-A10G", 24, True, 70.0),
    _builtin("nvidia-t4", "Tesla-T4", 16, False, 65.0),
)}


def _declared(name: str, entry: Mapping[str, Any]) -> GpuType:
    return GpuType(name, str(entry["product"]), float(entry["memoryGiB"]),
                   tuple(entry.get("precisions", ("fp32", "fp16"))),
                   {str(k): float(v) for k, v in dict(entry.get("tflops", {})).items()})


def gpu_catalogue(environment: Mapping[str, Any] | None = None) -> dict[str, GpuType]:
    """The GPU types an environment knows: the built-in ones overlaid with its `gpuTypes`.

    `environment` is the environment file's data (already schema-checked); None gives the
    built-in catalogue. The planner and the renderer ask this, never GPU_TYPES directly."""
    catalogue = dict(GPU_TYPES)
    for name, entry in dict((environment or {}).get("gpuTypes") or {}).items():
        catalogue[name] = _declared(name, entry)
    return catalogue


def known_gpu_types(environments: Iterable[Mapping[str, Any]]) -> dict[str, GpuType]:
    """Every type some environment knows (a spec may name one that only some allow)."""
    known = dict(GPU_TYPES)
    for environment in environments:
        known.update(gpu_catalogue(environment))
    return known
