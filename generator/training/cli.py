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
import re
import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import storage
from .config import ConfigError, InfraError, TrainConfig, parse_model_config
from .outcome import (
    EXIT_BUG,
    EXIT_CONFIG,
    EXIT_INFRA,
    looks_like_infrastructure,
    record,
    under_launcher,
)
from .shards import list_shards

__all__ = ["EXIT_CONFIG", "main", "parse_args"]

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


_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


def _duration(text: str) -> float:
    """Seconds from `90`, `90s`, `10m`, `2h` or `1h30m`."""
    match = _DURATION.match(text.strip())
    if not text.strip() or not match or not any(match.groups()):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 10m, 1h30m)")
    hours, minutes, seconds = (float(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Reference GPT trainer (DDP or FSDP2), run under torchrun.")
    p.add_argument("--strategy", required=True, choices=["ddp", "fsdp"])
    p.add_argument("--model-config", default="gpt-tiny", help="PRESET[,key=value...] or key=value,... "
                   "(presets: gpt-tiny, gpt-small, gpt-medium, gpt-large, gpt-1b)")
    p.add_argument("--data", default="synthetic", help="'synthetic', or uint16 token shards: a .bin file or a "
                   "folder of them, local or s3:// gs://")
    p.add_argument("--data-cache", type=Path, default=None, help="local folder remote shards stream through")
    p.add_argument("--data-cache-gib", type=_positive_float, default=20.0)
    p.add_argument("--batch-size", type=_positive, default=8, help="sequences per rank per step")
    p.add_argument("--seq-len", type=_positive, default=None, help="default: the model's block size")
    p.add_argument("--steps", type=_positive, default=100)
    p.add_argument("--lr", type=_positive_float, default=6e-4)
    p.add_argument("--warmup-steps", type=_non_negative, default=0)
    p.add_argument("--weight-decay", type=_non_negative_float, default=0.1)
    p.add_argument("--grad-clip", type=_non_negative_float, default=1.0, help="max grad norm; 0 disables")
    p.add_argument("--seed", type=_int, default=1337)
    p.add_argument("--checkpoint-dir", default=None, help="local path, s3:// or gs:// URI")
    p.add_argument("--run-name", default=None, dest="run", help="run name (the workflow's): checkpoints go to CHECKPOINT_DIR/RUN_NAME")
    p.add_argument("--init-from", default=None, help="warm start: weights of a checkpoint or an earlier run folder")
    p.add_argument("--checkpoint-every", type=_non_negative, default=0, help="steps; 0: by time only")
    p.add_argument("--checkpoint-interval", type=_duration, default=1800.0, help="time between checkpoints "
                   "(e.g. 30m); 0 disables. Always also at the end and on SIGTERM")
    p.add_argument("--keep-checkpoints", type=_non_negative, default=2, help="0 keeps all")
    p.add_argument("--collective-timeout", type=_duration, default=600.0, help="a hung rank fails the job after this")
    p.add_argument("--eval-batches", type=_non_negative, default=4, help="held-out batches for eval_loss; 0: none")
    p.add_argument("--activation-checkpointing", action="store_true")
    p.add_argument("--metrics-out", default=None, help="metrics JSON (path or URI), written by rank 0")
    p.add_argument("--stats-out", type=Path, default=None, help="detailed run statistics JSON (benchmarks)")
    p.add_argument("--log-every", type=_positive, default=10)
    p.add_argument("--compile", action="store_true")
    p.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto")
    p.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    # Test hooks: rank 0 sends a real SIGTERM (to torchrun, which forwards it) after step K;
    # the last rank stops answering collectives after step K.
    p.add_argument("--simulate-preemption-at-step", type=_positive, default=None, help=argparse.SUPPRESS)
    p.add_argument("--simulate-hang-at-step", type=_positive, default=None, help=argparse.SUPPRESS)
    return p


def parse_args(argv: Sequence[str] | None = None, *, check_data: bool = True, resolve_device: bool = True) -> TrainConfig:
    """Parse and fully validate; raises ConfigError with a one-line message.

    `resolve_device=False` (the launcher) skips what needs torch: the device and precision
    checks then happen in the workers, which report them through the launcher."""
    ns = build_parser().parse_args(argv)
    model = parse_model_config(ns.model_config)
    seq_len = ns.seq_len or model.block_size
    if seq_len > model.block_size:
        raise ConfigError(f"--seq-len {seq_len} exceeds the model's block_size {model.block_size}")
    _check_uri("--data", ns.data, allow_synthetic=True)
    if storage.is_remote(ns.data) and ns.data_cache is None:
        raise ConfigError(f"--data {ns.data}: remote data needs --data-cache DIR (a local folder to stream through)")
    if ns.data != "synthetic" and check_data:
        list_shards(ns.data)
    device = _resolve_device(ns.device) if resolve_device else ("cpu" if ns.device == "auto" else ns.device)
    for flag in ("checkpoint_dir", "init_from", "metrics_out"):
        _check_uri("--" + flag.replace("_", "-"), getattr(ns, flag))
    if ns.run is not None and not _RUN.match(ns.run):
        raise ConfigError(f"--run-name {ns.run!r}: use letters, digits, '.', '_' and '-'")
    if ns.checkpoint_dir is not None and not storage.is_remote(ns.checkpoint_dir):
        _check_writable(Path(ns.checkpoint_dir.split("://", 1)[-1]), "--checkpoint-dir")
    if ns.metrics_out is not None and not storage.is_remote(ns.metrics_out):
        _check_writable(Path(ns.metrics_out.split("://", 1)[-1]).parent, "--metrics-out")
    if ns.data_cache is not None:
        _check_writable(ns.data_cache, "--data-cache")
    return TrainConfig(
        strategy=ns.strategy, model=model, data=ns.data, batch_size=ns.batch_size, seq_len=seq_len,
        steps=ns.steps, lr=ns.lr, warmup_steps=ns.warmup_steps, weight_decay=ns.weight_decay,
        grad_clip=ns.grad_clip, seed=ns.seed, checkpoint_dir=ns.checkpoint_dir, run=ns.run,
        checkpoint_every=ns.checkpoint_every, checkpoint_interval_s=ns.checkpoint_interval,
        keep_checkpoints=ns.keep_checkpoints, init_from=ns.init_from, metrics_out=ns.metrics_out,
        stats_out=ns.stats_out, data_cache=ns.data_cache, data_cache_bytes=int(ns.data_cache_gib * 2**30),
        eval_batches=ns.eval_batches, collective_timeout_s=ns.collective_timeout,
        activation_checkpointing=ns.activation_checkpointing, compile=ns.compile,
        precision=_resolve_precision(ns.precision, device) if resolve_device else ns.precision, device=device, log_every=ns.log_every,
        preempt_at_step=ns.simulate_preemption_at_step, hang_at_step=ns.simulate_hang_at_step,
    )


_RUN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")


def _check_uri(flag: str, value: str | None, *, allow_synthetic: bool = False) -> None:
    if value is None or (allow_synthetic and value == "synthetic"):
        return
    scheme = value.split("://", 1)[0] if "://" in value else "file"
    if scheme not in storage.SCHEMES:
        raise ConfigError(f"{flag} {value}: the reference trainer reads s3://, gs://, file:// or local paths, "
                          f"not {scheme}://")


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
    except (ConfigError, InfraError) as exc:
        code = EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_INFRA
        if not under_launcher():  # under it, the launcher prints each rank's report once
            print(f"{PROG}: error: {exc}", file=sys.stderr)
        record(code, f"{PROG}: error: {exc}")
        return code
    logging.basicConfig(level=logging.INFO, format=f"[rank{os.environ.get('RANK', '0')}] %(message)s")
    return _train(cfg)


def _train(cfg: TrainConfig) -> int:
    from .trainer import train

    try:
        code = train(cfg)
    except ConfigError as exc:
        # Under the launcher every rank reports it and the launcher prints it once, even
        # when torchrun stops the other ranks before they get to say anything.
        if not under_launcher():
            print(f"{PROG}: error: {exc}", file=sys.stderr)
        record(EXIT_CONFIG, f"{PROG}: error: {exc}")
        return EXIT_CONFIG
    except Exception as exc:
        if not looks_like_infrastructure(exc):
            record(EXIT_BUG)
            raise
        line = (f"{PROG}: infrastructure failure on rank {os.environ.get('RANK', '0')}: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        print(line, file=sys.stderr, flush=True)
        record(EXIT_INFRA, line)
        os._exit(EXIT_INFRA)  # a broken process group can hang in teardown; nothing is left to save
    record(code)
    return code
