"""Model and run configuration for the reference trainer: plain frozen dataclasses, no torch.

Kept free of torch so that `planner` (and the generator process that renders workflows)
can reason about presets without the training image's dependencies.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PARAMETER_TOLERANCE",
    "PRESETS",
    "ConfigError",
    "GPTConfig",
    "InfraError",
    "TrainConfig",
    "config_for_parameters",
    "flops_per_token",
    "gpt_parameter_count",
    "model_config_arg",
    "parse_model_config",
]

PARAMETER_TOLERANCE = 0.05


class ConfigError(ValueError):
    """A user-supplied setting the trainer cannot run with; reported as one line, exit 2."""


class InfraError(RuntimeError):
    """The platform failed the run (storage unreachable, a rank lost, a collective timed out):
    worth retrying on other nodes; exit EXIT_INFRA through the launcher."""


@dataclass(frozen=True)
class GPTConfig:
    """Shape of a GPT-2 style decoder (biases on, weights tied, no dropout)."""

    vocab_size: int = 50304
    block_size: int = 1024
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"model config {field.name}={value!r}: must be a positive integer")
        if self.n_embd % self.n_head:
            raise ConfigError(
                f"model config n_embd={self.n_embd} is not divisible by n_head={self.n_head}"
            )


# gpt-small is GPT-2 124M with the vocabulary padded to a multiple of 64 (50257 -> 50304),
# which keeps the embedding and lm-head matmuls on fast tensor-core shapes.
PRESETS: dict[str, GPTConfig] = {
    "gpt-tiny": GPTConfig(vocab_size=256, block_size=128, n_layer=2, n_head=2, n_embd=64),
    "gpt-small": GPTConfig(),
    "gpt-medium": GPTConfig(n_layer=24, n_head=16, n_embd=1024),
    "gpt-large": GPTConfig(n_layer=36, n_head=20, n_embd=1280),
    "gpt-1b": GPTConfig(block_size=2048, n_layer=24, n_head=16, n_embd=2048),
}

@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs; built and validated by `cli` before any process group."""

    strategy: str
    model: GPTConfig
    data: str = "synthetic"
    batch_size: int = 8
    seq_len: int = 128
    steps: int = 100
    lr: float = 6e-4
    warmup_steps: int = 0
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    seed: int = 1337
    checkpoint_dir: str | None = None  # a local path or URI; the run folder is checkpoint_dir/run
    run: str | None = None
    checkpoint_every: int = 0
    checkpoint_interval_s: float = 1800.0
    keep_checkpoints: int = 2
    init_from: str | None = None
    metrics_out: str | None = None
    stats_out: Path | None = None
    data_cache: Path | None = None
    data_cache_bytes: int = 20 * 2**30
    eval_batches: int = 4
    collective_timeout_s: float = 600.0
    activation_checkpointing: bool = False
    compile: bool = False
    precision: str = "fp32"  # resolved: bf16 | fp32
    device: str = "cpu"  # resolved: cuda | cpu
    log_every: int = 10
    preempt_at_step: int | None = None
    hang_at_step: int | None = None

    @property
    def run_dir(self) -> str | None:
        """Where this run's checkpoints live: one folder per workflow run."""
        if self.checkpoint_dir is None:
            return None
        return self.checkpoint_dir.rstrip("/") + "/" + self.run if self.run else self.checkpoint_dir


def flops_per_token(config: GPTConfig, seq_len: int) -> float:
    """Training FLOPs per token: 6 * N (matmuls, forward + backward) + attention scores.

    The PaLM appendix B estimate used by nanoGPT for MFU; N excludes position embeddings.
    """
    n = _params_without_wpe(config)
    return 6.0 * n + 12.0 * config.n_layer * config.n_embd * seq_len


def gpt_parameter_count(config: GPTConfig) -> int:
    """Closed form of `model.count_parameters` (tests hold the two equal)."""
    return _params_without_wpe(config) + config.block_size * config.n_embd


def _params_without_wpe(c: GPTConfig) -> int:
    d = c.n_embd
    # per block: 2 LayerNorms, qkv and output projections, MLP up (4d) and down, all with biases
    block = 2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d) + (4 * d * d + d)
    return c.vocab_size * d + c.n_layer * block + 2 * d  # tied embedding/lm head, final LayerNorm


def config_for_parameters(parameters: int) -> GPTConfig:
    """The reference GPT closest to `parameters` (within PARAMETER_TOLERANCE), so that a spec's
    `architecture.parameters` sizes the model that is trained.

    Width is a multiple of 128 (64 below 1024) with 64-dim heads up to 1024 and 128-dim
    heads above; depth keeps width / layers between 32 and 160, the range of the GPT-2/3
    families; the GPT-2 vocabulary (padded to 50304) and a 2048 context from 1B up.
    """
    if parameters <= 0:
        raise ConfigError(f"architecture.parameters {parameters}: must be positive")
    block = 2048 if parameters >= 1_000_000_000 else 1024
    target = 64.0 if parameters < 500_000_000 else 96.0 if parameters < 3_000_000_000 else 128.0
    best: tuple[float, float, GPTConfig] | None = None
    for layers in range(1, 161):
        for width in _widths_near(parameters, layers, block):
            if not 16 <= width / layers <= 256:
                continue
            cfg = GPTConfig(block_size=block, n_layer=layers, n_embd=width, n_head=width // (64 if width <= 1024 else 128))
            error = abs(gpt_parameter_count(cfg) - parameters) / parameters
            # Near enough (half the tolerance) counts as equal: then the usual shape wins.
            key = (max(error, PARAMETER_TOLERANCE / 2), abs(math.log(width / layers / target)), cfg)
            if best is None or key[:2] < best[:2]:
                best = key
    if best is None or best[0] > PARAMETER_TOLERANCE / 2 and _error(best[2], parameters) > PARAMETER_TOLERANCE:
        smallest = gpt_parameter_count(GPTConfig(block_size=1024, n_layer=1, n_embd=64, n_head=1))
        raise ConfigError(f"architecture.parameters {parameters:,}: no reference GPT within "
                          f"{PARAMETER_TOLERANCE:.0%} (the smallest has {smallest:,}); use a preset")
    return best[2]


def _error(config: GPTConfig, parameters: int) -> float:
    return abs(gpt_parameter_count(config) - parameters) / parameters


def _widths_near(parameters: int, layers: int, block: int) -> list[int]:
    """The allowed widths either side of the exact solution of parameter_count(layers, d) = parameters."""
    vocab = GPTConfig().vocab_size
    a, b = 12.0 * layers, vocab + 13.0 * layers + block + 2
    exact = (-b + math.sqrt(b * b + 4 * a * parameters)) / (2 * a)
    step = 64 if exact < 1024 else 128
    low = max(64, int(exact // step) * step)
    return [w for w in (low, low + step) if w <= 16384]


def model_config_arg(config: GPTConfig) -> str:
    """The trainer's --model-config for `config` (a preset name when it is one)."""
    for name, preset in PRESETS.items():
        if preset == config:
            return name
    fields = ",".join(f"{f}={getattr(config, f)}" for f in _FIELDS)
    return f"gpt-small,{fields}"


_FIELDS = tuple(f.name for f in dataclasses.fields(GPTConfig))


def parse_model_config(text: str) -> GPTConfig:
    """Parse `PRESET`, `key=value,...` or `PRESET,key=value,...` (overrides apply to the preset).

    Without a preset the overrides apply to gpt-tiny, so `n_layer=4` is a small model.
    """
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise ConfigError("--model-config is empty: name a preset (" + ", ".join(PRESETS) + ")")
    base = PRESETS["gpt-tiny"]
    if "=" not in parts[0]:
        name = parts.pop(0)
        if name not in PRESETS:
            raise ConfigError(f"unknown model preset {name!r}{_suggest(name, PRESETS)}; known: {', '.join(PRESETS)}")
        base = PRESETS[name]
    overrides: dict[str, int] = {}
    for part in parts:
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep or key not in _FIELDS:
            raise ConfigError(f"bad model config entry {part!r}{_suggest(key, _FIELDS)}; keys: {', '.join(_FIELDS)}")
        try:
            overrides[key] = int(raw)
        except ValueError:
            raise ConfigError(f"model config {key}={raw!r}: not an integer") from None
    return dataclasses.replace(base, **overrides)


def _suggest(word: str, choices: object) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)  # type: ignore[call-overload]
    return f" (did you mean {close[0]!r}?)" if close else ""
