"""Known GPU types: the spec names a type, the environment decides where it lives.

The node label value is what NVIDIA GPU feature discovery publishes as
`nvidia.com/gpu.product`; an environment may override the whole node selector.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GpuType", "GPU_TYPES", "PRODUCT_LABEL"]

PRODUCT_LABEL = "nvidia.com/gpu.product"


@dataclass(frozen=True)
class GpuType:
    name: str
    product: str
    memory_gib: int
    bf16: bool
    tflops_bf16: float  # dense, per GPU; used for rough planning only


GPU_TYPES: dict[str, GpuType] = {gpu.name: gpu for gpu in (
    GpuType("nvidia-h200-141gb", "NVIDIA-H200", 141, True, 989.0),
    GpuType("nvidia-h100-80gb", "NVIDIA-H100-80GB-HBM3", 80, True, 989.0),
    GpuType("nvidia-a100-80gb", "NVIDIA-A100-SXM4-80GB", 80, True, 312.0),
    GpuType("nvidia-a100-40gb", "NVIDIA-A100-SXM4-40GB", 40, True, 312.0),
    GpuType("nvidia-l40s", "NVIDIA-L40S", 48, True, 362.0),
    GpuType("nvidia-l4", "NVIDIA-L4", 24, True, 121.0),
    GpuType("nvidia-a10g", "NVIDIA-A10G", 24, True, 70.0),
    GpuType("nvidia-t4", "Tesla-T4", 16, False, 65.0),
)}
