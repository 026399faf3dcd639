"""Command line of the reference trainer (`python -m generator.training`, under torchrun).

Every setting is checked before a process group exists: a bad one prints one line on
stderr (from local rank 0 only, so a node's log shows it once) and exits 2. Exit codes:
0 done, 2 bad configuration, 143 preempted by SIGTERM after writing a checkpoint.
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from .config import ConfigError, TrainConfig, parse_model_config

__all__ = ["main", "parse_args", "EXIT_CONFIG"]

EXIT_CONFIG = 2
PROG = "generator.training"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def _at_least_zero(parse: Callable[[str], Any], noun: str, *, zero: bool) -> Callable[[str], Any]:
    """An argparse type: `parse`, then refuse negatives (and zero unless `zero`)."""
    def check(text: str) -> Any:
        value = parse(text)
        if value < 0 or (value == 0 and not zero):
            raise argparse.ArgumentTypeError(f"must be {'zero or ' if zero else ''}a positive {noun}, got {text!r}")
        return value
    return check


_positive = _at_least_zero(_int, "integer", zero=False)
_non_negative = _at_least_zero(_int, "integer", zero=True)
_positive_float = _at_least_zero(_float, "number", zero=False)
_non_negative_float = _at_least_zero(_float, "number", zero=True)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Reference GPT trainer (DDP or FSDP2), run under torchrun.")
    p.add_argument("--strategy", required=True, choices=["ddp", "fsdp"])
    p.add_argument("--model-config", default="gpt-tiny", help="PRESET[,key=value...] or key=value,... "
                   "(presets: gpt-tiny, gpt-small, gpt-medium, gpt-large, gpt-1b)")
    p.add_argument("--data", default="synthetic", help="'synthetic' or a flat uint16 token file (.bin)")
    p.add_argument("--batch-size", type=_positive, default=8, help="sequences per rank per step")
    p.add_argument("--seq-len", type=_positive, default=None, help="default: the model's block size")
    p.add_argument("--steps", type=_positive, default=100)
    p.add_argument("--lr", type=_positive_float, default=6e-4)
    p.add_argument("--warmup-steps", type=_non_negative, default=0)
    p.add_argument("--weight-decay", type=_non_negative_float, default=0.1)
    p.add_argument("--grad-clip", type=_non_negative_float, default=1.0, help="max grad norm; 0 disables")
    p.add_argument("--seed", type=_int, default=1337)
    p.add_argument("--checkpoint-dir", type=Path, default=None)
    p.add_argument("--checkpoint-every", type=_non_negative, default=0, help="steps; 0: only at the end and on SIGTERM")
    p.add_argument("--keep-checkpoints", type=_non_negative, default=2, help="0 keeps all")
    p.add_argument("--metrics-out", type=Path, default=None)
    p.add_argument("--log-every", type=_positive, default=10)
    p.add_argument("--compile", action="store_true")
    p.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto")
    p.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    # Test hook: rank 0 sends a real SIGTERM (to torchrun, which forwards it) after step K.
    p.add_argument("--simulate-preemption-at-step", type=_positive, default=None, help=argparse.SUPPRESS)
    return p


def parse_args(argv: Sequence[str] | None = None) -> TrainConfig:
    """Parse and fully validate; raises ConfigError with a one-line message."""
    ns = build_parser().parse_args(argv)
    model = parse_model_config(ns.model_config)
    seq_len = ns.seq_len or model.block_size
    if seq_len > model.block_size:
        raise ConfigError(f"--seq-len {seq_len} exceeds the model's block_size {model.block_size}")
    if ns.data != "synthetic":
        _check_token_file(ns.data, seq_len)
    device = _resolve_device(ns.device)
    if ns.checkpoint_dir is not None:
        _check_writable(ns.checkpoint_dir, "--checkpoint-dir")
    if ns.metrics_out is not None:
        _check_writable(ns.metrics_out.parent, "--metrics-out")
    return TrainConfig(
        strategy=ns.strategy, model=model, data=ns.data, batch_size=ns.batch_size, seq_len=seq_len,
        steps=ns.steps, lr=ns.lr, warmup_steps=ns.warmup_steps, weight_decay=ns.weight_decay,
        grad_clip=ns.grad_clip, seed=ns.seed, checkpoint_dir=ns.checkpoint_dir,
        checkpoint_every=ns.checkpoint_every, keep_checkpoints=ns.keep_checkpoints,
        metrics_out=ns.metrics_out, compile=ns.compile, precision=_resolve_precision(ns.precision, device),
        device=device, log_every=ns.log_every, preempt_at_step=ns.simulate_preemption_at_step,
    )


def _resolve_device(choice: str) -> str:
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if choice == "cpu" or (choice == "auto" and gpus == 0):
        return "cpu"
    if gpus == 0:
        raise ConfigError("--device cuda but no CUDA GPU is visible (check the pod's nvidia.com/gpu request)")
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    if local > gpus:
        raise ConfigError(f"--nproc-per-node {local} but only {gpus} GPU(s) visible: one process per GPU")
    return "cuda"


def _resolve_precision(choice: str, device: str) -> str:
    import torch

    bf16_ok = device == "cpu" or torch.cuda.is_bf16_supported()
    if choice == "bf16" and not bf16_ok:
        raise ConfigError("--precision bf16 but this GPU has no bf16 support; use --precision fp32")
    if choice == "auto":
        return "bf16" if device == "cuda" and bf16_ok else "fp32"
    return choice


def _check_token_file(spec: str, seq_len: int) -> None:
    """Raise ConfigError unless `spec` names a readable uint16 token file holding one window."""
    if "://" in spec:
        raise ConfigError(f"--data {spec}: only 'synthetic' or a local token file path is supported; "
                          "mount object storage into the pod (e.g. a CSI driver) and pass the path")
    path = Path(spec)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError(f"--data {path}: {exc.strerror or exc}") from None
    if not path.is_file() or not os.access(path, os.R_OK):
        raise ConfigError(f"--data {path}: not a readable file (use 'synthetic' or a .bin of uint16 tokens)")
    if size % 2:
        raise ConfigError(f"--data {path}: size {size} is odd, not a flat uint16 token file")
    if size // 2 < seq_len + 1:
        raise ConfigError(f"--data {path}: {size // 2} tokens, fewer than --seq-len + 1 = {seq_len + 1}")


def _check_writable(path: Path, what: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise ConfigError(f"{what} {path}: not writable ({exc.strerror or exc})") from None


def main(argv: Sequence[str] | None = None) -> int:
    # torch warns on import when numpy is absent; the trainer needs no numpy.
    warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
    try:
        cfg = parse_args(argv)
    except ConfigError as exc:
        if os.environ.get("LOCAL_RANK", "0") == "0":
            print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(level=logging.INFO, format=f"[rank{os.environ.get('RANK', '0')}] %(message)s")
    from .trainer import train

    try:
        return train(cfg)
    except ConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
