"""Capacity planning: does a model train on these GPUs, and what is the smallest set that does?

Model state per parameter (ZeRO paper, Rajbhandari et al. 2020, section 3.1, mixed
precision with Adam: "2 + 2 + K" bytes with K = 12):

| precision | weights | gradients | fp32 master | optimizer (AdamW m + v) | total |
| --- | --- | --- | --- | --- | --- |
| bf16 / fp16 (mixed) | 2 | 2 | 4 | 8 | 16 |
| fp32 | 4 | 4 | 0 | 8 | 16 |

Other optimizers change only the last column: SGD with momentum and Lion keep one fp32
buffer (4), Adafactor's factored second moment is counted as 0 (it is O(rows + cols)).

- DDP replicates all of it on every GPU: `state = params * bytes_per_param`.
- FSDP full-shard (ZeRO-3) divides weights, gradients, master weights and optimizer state
  by the number of GPUs: `state = params * bytes_per_param / gpus`.

On top of the model state each GPU needs room for activations, the all-gathered layer
(FSDP), NCCL buffers, the CUDA context and allocator fragmentation. For the reference
trainer the activations are computed (`activations.py`: batch, sequence length, layers,
hidden size, precision, activation checkpointing) and the rest is a runtime reserve of
2 GiB + 5% of the card: `reserve = activations + 2 + 0.05 * gpu_memory`. Activations are
per GPU whatever the strategy (sharding does not split them), so a request whose
activations alone do not fit the card is refused outright. For a custom trainer, whose
shapes the spec does not pin down, a fixed fraction of each GPU is reserved instead:
`activation_overhead` (default 0.25). Either way the plan fits when
`state_per_gpu + reserve <= gpu_memory`.

Example: 7B parameters, AdamW, bf16: 16 bytes/param = 112 GB (104.3 GiB) of model state,
so DDP fits no single 24 GB (or 80 GB) card; FSDP over 8 x 80 GiB needs 13.0 GiB + 20 GiB
reserve per GPU and fits.

This module imports no torch (the generator plans without the training image).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .config import GPTConfig, gpt_parameter_count, parse_model_config

__all__ = [
    "DEFAULT_ACTIVATION_OVERHEAD",
    "GPU_MEMORY_GIB",
    "BytesPerParam",
    "Plan",
    "bytes_per_param",
    "parameters_from_config",
    "plan_capacity",
    "recommend",
]

GIB = 2**30
DEFAULT_ACTIVATION_OVERHEAD = 0.25
RUNTIME_RESERVE_GIB = 2.0
RUNTIME_RESERVE_FRACTION = 0.05
STRATEGIES = ("ddp", "fsdp")
_OPTIMIZER_BYTES = {"adamw": 8, "adam": 8, "sgd": 4, "lion": 4, "adafactor": 0}
_PRECISION_BYTES = {"bf16": (2, 2, 4), "fp16": (2, 2, 4), "fp32": (4, 4, 0)}  # weights, grads, master

# Usable memory of common data-centre GPUs, by the GPU type names specs use.
GPU_MEMORY_GIB: dict[str, float] = {
    "nvidia-h200-141gb": 139.8,
    "nvidia-h100-80gb": 79.6,
    "nvidia-a100-80gb": 79.2,
    "nvidia-a100-40gb": 39.4,
    "nvidia-l40s": 44.4,
    "nvidia-l4": 22.0,
    "nvidia-a10g": 22.0,
    "nvidia-t4": 14.6,
}


@dataclass(frozen=True)
class BytesPerParam:
    weights: int
    gradients: int
    master_weights: int
    optimizer: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.master_weights + self.optimizer


@dataclass(frozen=True)
class Plan:
    params: int
    strategy: str
    gpus: int
    gpu_memory_gib: float
    precision: str
    optimizer: str
    bytes_per_param: BytesPerParam
    model_state_gib: float  # all of it, unsharded
    ddp_memory_per_gpu_gib: float  # model state + reserve, for either strategy
    fsdp_memory_per_gpu_gib: float
    memory_per_gpu_gib: float  # for `strategy`
    activation_reserve_gib: float
    fits: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the policy input's `context.plan`)."""
        data = asdict(self)
        data["bytes_per_param"]["total"] = self.bytes_per_param.total
        return data


def bytes_per_param(precision: str = "bf16", optimizer: str = "adamw") -> BytesPerParam:
    if precision not in _PRECISION_BYTES:
        raise ValueError(f"unknown precision {precision!r}; known: {', '.join(_PRECISION_BYTES)}")
    if optimizer not in _OPTIMIZER_BYTES:
        raise ValueError(f"unknown optimizer {optimizer!r}; known: {', '.join(_OPTIMIZER_BYTES)}")
    weights, grads, master = _PRECISION_BYTES[precision]
    return BytesPerParam(weights, grads, master, _OPTIMIZER_BYTES[optimizer])


def runtime_reserve_gib(gpu_memory_gib: float) -> float:
    """CUDA context, NCCL buffers, the all-gathered layer and allocator fragmentation."""
    return RUNTIME_RESERVE_GIB + RUNTIME_RESERVE_FRACTION * gpu_memory_gib


def plan_capacity(
    params: int,
    strategy: str,
    gpu_memory_gib: float,
    gpus: int,
    precision: str = "bf16",
    optimizer: str = "adamw",
    activation_overhead: float = DEFAULT_ACTIVATION_OVERHEAD,
    activation_gib: float | None = None,
) -> Plan:
    """Per-GPU memory for training `params` parameters with `strategy` on `gpus` GPUs.

    `activation_gib`: the computed activations per GPU (activations.py); without it a
    fraction `activation_overhead` of the card is reserved."""
    _check(params, strategy, gpu_memory_gib, gpus, activation_overhead)
    bpp = bytes_per_param(precision, optimizer)
    state = params * bpp.total / GIB
    reserve = (activation_overhead * gpu_memory_gib if activation_gib is None
               else activation_gib + runtime_reserve_gib(gpu_memory_gib))
    ddp, fsdp = state + reserve, state / gpus + reserve
    need = ddp if strategy == "ddp" else fsdp
    fits = need <= gpu_memory_gib
    if activation_gib is not None and reserve >= gpu_memory_gib:
        return _refused(params, strategy, gpus, gpu_memory_gib, precision, optimizer, bpp, state, reserve,
                        activation_gib)
    return Plan(
        params=params, strategy=strategy, gpus=gpus, gpu_memory_gib=gpu_memory_gib,
        precision=precision, optimizer=optimizer, bytes_per_param=bpp,
        model_state_gib=state, ddp_memory_per_gpu_gib=ddp, fsdp_memory_per_gpu_gib=fsdp,
        memory_per_gpu_gib=need, activation_reserve_gib=reserve, fits=fits,
        reason=_reason(strategy, fits, need, gpu_memory_gib, gpus, fsdp, state, reserve),
    )


def recommend(
    params: int,
    strategy: str,
    allowed_gpus: dict[str, float],
    max_gpus: int,
    precision: str = "bf16",
    optimizer: str = "adamw",
    activation_overhead: float = DEFAULT_ACTIVATION_OVERHEAD,
    *,
    per_node: int = 1,
    activations: dict[str, float] | None = None,
    precisions: dict[str, str] | None = None,
) -> tuple[str, int] | None:
    """Smallest fitting (gpu type, count): fewest GPUs first, then the smallest card, then name.

    Counts are whole nodes (multiples of `per_node`); `activations` and `precisions` per GPU
    type price each card as it would train (fp32 where it has no bf16). None when nothing
    up to `max_gpus` fits. DDP never needs more than one node to fit.
    """
    for count in range(per_node, max_gpus + 1, per_node):
        for memory, name in sorted((m, n) for n, m in allowed_gpus.items()):
            plan = plan_capacity(params, strategy, memory, count, (precisions or {}).get(name, precision), optimizer,
                                 activation_overhead, (activations or {}).get(name))
            if plan.fits:
                return name, count
    return None


def _refused(params: int, strategy: str, gpus: int, memory: float, precision: str, optimizer: str,
             bpp: BytesPerParam, state: float, reserve: float, activation_gib: float) -> Plan:
    reason = (f"{strategy}: activations alone need {activation_gib:.1f} GiB per GPU (+ "
              f"{reserve - activation_gib:.1f} GiB runtime reserve) on a {memory:g} GiB card; no number of GPUs "
              "helps: lower trainer.batchSize or seqLen, or set trainer.activationCheckpointing")
    per_gpu = state if strategy == "ddp" else state / gpus
    return Plan(params=params, strategy=strategy, gpus=gpus, gpu_memory_gib=memory, precision=precision,
                optimizer=optimizer, bytes_per_param=bpp, model_state_gib=state, ddp_memory_per_gpu_gib=state + reserve,
                fsdp_memory_per_gpu_gib=state / gpus + reserve, memory_per_gpu_gib=per_gpu + reserve,
                activation_reserve_gib=reserve, fits=False, reason=reason)


def parameters_from_config(config: GPTConfig | str) -> int:
    """Exact parameter count of the reference GPT (a config, preset name or override string).

    The closed form `gpt_parameter_count`, never torch: `plan` must not pay seconds of
    torch import (or its warnings) for arithmetic. tests/test_planner.py holds the formula
    equal to the parameters of the instantiated torch model.
    """
    return gpt_parameter_count(parse_model_config(config) if isinstance(config, str) else config)


def _check(params: int, strategy: str, gpu_memory_gib: float, gpus: int, overhead: float) -> None:
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    if params <= 0 or gpus <= 0 or gpu_memory_gib <= 0:
        raise ValueError("params, gpus and gpu_memory_gib must be positive")
    if not 0 <= overhead < 1:
        raise ValueError(f"activation_overhead {overhead} must be in [0, 1)")


def _reason(strategy: str, fits: bool, need: float, have: float, gpus: int, fsdp: float, state: float,
            reserve: float) -> str:
    head = (f"{strategy}: {need:.1f} GiB per GPU ({state / (1 if strategy == 'ddp' else gpus):.1f} GiB model state"
            f" + {reserve:.1f} GiB activation reserve) on {gpus} x {have:g} GiB")
    if fits:
        return head + ": fits"
    hint = ""
    if strategy == "ddp" and fsdp <= have:
        hint = f"; fsdp over {gpus} GPUs would need {fsdp:.1f} GiB and fit"
    elif strategy == "ddp":
        hint = "; ddp replicates the full state on every GPU: use fsdp or larger GPUs"
    else:
        hint = "; add GPUs or use larger ones"
    return head + ": does not fit" + hint
