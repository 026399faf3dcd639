"""The training loop: DDP or FSDP2 over a GPT, AdamW, checkpoints, metrics.

Hot-loop rules (the throughput bench holds the trainer to a plain hand-written loop):
no host syncs except at `log_every` boundaries, no per-step file writes, batches built
on the host and copied with non_blocking from pinned memory, the preemption vote is an
asynchronous CPU collective on a separate gloo group whose result is read one step later.
A world of one process skips DDP entirely (nothing to all-reduce).

Precision: `bf16` uses autocast for DDP (fp32 master weights and grads) and FSDP2's
MixedPrecisionPolicy (bf16 all-gather and compute, fp32 gradient reduction) on CUDA.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import logging
import math
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from . import checkpoint as ckpt
from .config import ConfigError, TrainConfig
from .data import SyntheticData, TokenShards, dataset_version, open_data
from .lock import RunLock
from .model import GPT, count_parameters

__all__ = ["Dist", "train"]

log = logging.getLogger("generator.training")


@dataclass(frozen=True)
class Dist:
    rank: int
    local_rank: int
    world: int
    device: torch.device
    ctrl: Any  # a gloo group for small CPU collectives (stop votes, broadcasts); None in a world of one


def train(cfg: TrainConfig) -> int:
    """Run (or resume) training; returns 0 when done, EXIT_PREEMPTED after a SIGTERM checkpoint."""
    stop = ckpt.StopFlag().install()
    env = _init_distributed(cfg)
    try:
        return _run(cfg, env, stop)
    finally:
        dist.destroy_process_group()


def _init_distributed(cfg: TrainConfig) -> Dist:
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(cfg.device, local_rank) if cfg.device == "cuda" else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    # An explicit collective timeout: a hung rank fails the job after it (torch's defaults
    # are 10 min for NCCL and 30 min for gloo); the launcher reports it as infrastructure.
    timeout = datetime.timedelta(seconds=cfg.collective_timeout_s)
    if "RANK" in os.environ:
        dist.init_process_group(backend, device_id=device if device.type == "cuda" else None, timeout=timeout)
    else:  # plain `python -m generator.training`: a world of one, same code path
        dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1, timeout=timeout)
    world = dist.get_world_size()
    ctrl = dist.new_group(backend="gloo", timeout=timeout) if world > 1 else None
    return Dist(rank=dist.get_rank(), local_rank=local_rank, world=world, device=device, ctrl=ctrl)


def _run(cfg: TrainConfig, env: Dist, stop: ckpt.StopFlag) -> int:
    lock = _take_lock(cfg, env)
    try:
        return _run_locked(cfg, env, stop)
    finally:
        if lock is not None:
            lock.release()


def _take_lock(cfg: TrainConfig, env: Dist) -> RunLock | None:
    """Rank 0 takes the run folder's lock and tells every rank whether it may go on."""
    if cfg.run_dir is None:
        return None
    lock, problem = None, ""
    if env.rank == 0:
        try:
            lock = RunLock(cfg.run_dir).acquire()
        except ConfigError as exc:
            problem = str(exc)
    if ckpt.broadcast_int(int(bool(problem)), env.ctrl):
        raise ConfigError(problem or f"{cfg.run_dir}: run folder is in use by another job (rank 0 says more)")
    return lock


def _run_locked(cfg: TrainConfig, env: Dist, stop: ckpt.StopFlag) -> int:
    model, optimizer = _build(cfg, env)
    if env.rank == 0:
        log.info("training %.2fM parameters, %s over %d x %s, %s%s, %d steps of %d x %d tokens per rank",
                 count_parameters(cfg.model) / 1e6, cfg.strategy, env.world, env.device.type, cfg.precision,
                 ", compiled" if cfg.compile else "", cfg.steps, cfg.batch_size, cfg.seq_len)
    start = _maybe_resume(cfg, env, model, optimizer)
    stats = _Stats(env, start=start, skip=min(5, max(1, (cfg.steps - start) // 10)) if cfg.steps - start > 1 else 0)
    data = open_data(cfg.data, vocab_size=cfg.model.vocab_size, seq_len=cfg.seq_len, batch_size=cfg.batch_size,
                     seed=cfg.seed, rank=env.rank, world=env.world, cache_dir=cfg.data_cache,
                     cache_bytes=cfg.data_cache_bytes, holdout=cfg.eval_batches * cfg.batch_size * env.world)
    vote = _StopVote(env, cfg.checkpoint_interval_s)
    try:
        step, exit_code, saved = _loop(cfg, env, model, optimizer, start, stop, vote, stats, data)
    finally:
        vote.close()
    stats.finish_timing(step)
    eval_loss = _evaluate(cfg, env, model, data) if exit_code == 0 and cfg.eval_batches else None
    if env.rank == 0:
        _write_outputs(cfg, env, stats, step, saved, eval_loss, data)
    return exit_code


def _loop(cfg: TrainConfig, env: Dist, model: nn.Module, optimizer: torch.optim.Optimizer, start: int,
          stop: ckpt.StopFlag, vote: _StopVote, stats: _Stats,
          data: SyntheticData | TokenShards) -> tuple[int, int, str | None]:
    """Steps `start`..`cfg.steps`; returns (last completed step, exit code, last checkpoint URI)."""
    autocast = _autocast(cfg, env)
    saved: str | None = None
    for step in range(start, cfg.steps):
        loss = _step(cfg, env, model, optimizer, autocast, step, data.batch(step))
        done = step + 1
        stats.after_step(done, loss, log_now=done % cfg.log_every == 0 or done == cfg.steps)
        _test_hooks(cfg, env, done)
        stop_now, save_due = vote.decide(stop.raised)
        if stop_now and done < cfg.steps:
            log.warning("rank %d: SIGTERM received, checkpointing at step %d and exiting %d",
                        env.rank, done, ckpt.EXIT_PREEMPTED)
            stats.pause(functools.partial(_save, cfg, env, done, model, optimizer))
            return done, ckpt.EXIT_PREEMPTED, _saved_uri(cfg, done)
        if done < cfg.steps and (save_due or (cfg.checkpoint_every and done % cfg.checkpoint_every == 0)):
            stats.pause(functools.partial(_save, cfg, env, done, model, optimizer))
            vote.saved()
            saved = _saved_uri(cfg, done)
    stats.pause(functools.partial(_save, cfg, env, cfg.steps, model, optimizer, final=True))
    return cfg.steps, 0, _saved_uri(cfg, cfg.steps) or saved


def _saved_uri(cfg: TrainConfig, step: int) -> str | None:
    return ckpt.step_uri(cfg.run_dir, step) if cfg.run_dir is not None else None


def _test_hooks(cfg: TrainConfig, env: Dist, done: int) -> None:
    if cfg.preempt_at_step == done and env.rank == 0:
        _simulate_preemption()
    if cfg.hang_at_step == done and env.rank == env.world - 1:
        log.warning("rank %d: simulating a hung rank (test hook)", env.rank)
        while True:
            time.sleep(3600)


@torch.no_grad()
def _evaluate(cfg: TrainConfig, env: Dist, model: nn.Module, data: SyntheticData | TokenShards) -> float:
    """Mean loss over `eval_batches` held-out batches on every rank, averaged over ranks."""
    autocast = _autocast(cfg, env)
    total = torch.zeros((), dtype=torch.float32, device=env.device)
    for index in range(cfg.eval_batches):
        batch = data.eval_batch(index)
        if env.device.type == "cuda":
            batch = tuple(t.to(env.device, non_blocking=True) for t in batch)  # type: ignore[assignment]
        with autocast:
            total += model(*batch).float()
    value = (total / cfg.eval_batches).reshape(1).cpu()
    if env.world > 1:
        dist.all_reduce(value, op=dist.ReduceOp.SUM, group=env.ctrl)
        value /= env.world
    return float(value.item())


def _write_outputs(cfg: TrainConfig, env: Dist, stats: _Stats, step: int, saved: str | None,
                   eval_loss: float | None, data: SyntheticData | TokenShards) -> None:
    """The metrics JSON of the contract (CONTRACTS.md: keys with no value are omitted) and,
    for benchmarks, the detailed statistics."""
    detail = stats.summary(cfg, step)
    metrics: dict[str, Any] = {
        "final_loss": detail["final_loss"], "eval_loss": eval_loss, "tokens_per_second": detail["tokens_per_s"],
        "steps": step, "checkpoint_uri": saved, "run": cfg.run,
        "model_uri": ckpt.storage.join(saved, "model.pt") if saved and step == cfg.steps else None,
        "dataset_uri": cfg.data if cfg.data != "synthetic" else "synthetic://",
        "dataset_version": dataset_version(data.shards) if isinstance(data, TokenShards) else None,
    }
    if cfg.metrics_out is not None:
        ckpt.write_json(cfg.metrics_out, {k: v for k, v in metrics.items() if v is not None})
    if cfg.stats_out is not None:
        ckpt.write_json(str(cfg.stats_out), {**detail, "eval_loss": eval_loss})


def _step(cfg: TrainConfig, env: Dist, model: nn.Module, optimizer: torch.optim.Optimizer,
          autocast: contextlib.AbstractContextManager[Any], step: int,
          batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    for group in optimizer.param_groups:
        group["lr"] = _lr(cfg, step)
    if env.device.type == "cuda":
        batch = tuple(t.pin_memory().to(env.device, non_blocking=True) for t in batch)  # type: ignore[assignment]
    with autocast:
        loss: torch.Tensor = model(*batch)
    loss.backward()
    if cfg.grad_clip > 0:
        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip, foreach=True)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss


def _build(cfg: TrainConfig, env: Dist) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(cfg.seed)  # identical init on every rank: FSDP shards it, DDP checks it
    model: nn.Module = GPT(cfg.model, checkpoint_activations=cfg.activation_checkpointing)
    if cfg.strategy == "fsdp":
        # Initialised on the host; fully_shard moves each block to the device as it shards
        # it, so a GPU never holds more than one unsharded block.
        model = _shard(model, cfg, env)
    else:
        model = model.to(env.device)
    if cfg.strategy == "ddp" and env.world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(model, device_ids=[env.local_rank] if env.device.type == "cuda" else None,
                    gradient_as_bucket_view=True)
    if cfg.compile and cfg.strategy == "ddp":
        model = torch.compile(model)  # type: ignore[assignment]
    torch.manual_seed(cfg.seed + env.rank)
    return model, _optimizer(model, cfg, env)


def _shard(model: nn.Module, cfg: TrainConfig, env: Dist) -> nn.Module:
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    kwargs: dict[str, Any] = {"mesh": init_device_mesh(env.device.type, (env.world,))}
    if cfg.precision == "bf16" and env.device.type == "cuda":
        kwargs["mp_policy"] = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
    for block in model.h:  # type: ignore[union-attr]
        if cfg.compile:
            block.compile()
        fully_shard(block, **kwargs)
    fully_shard(model, **kwargs)
    return model


def _optimizer(model: nn.Module, cfg: TrainConfig, env: Dist) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    fused = env.device.type == "cuda"
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95), eps=1e-8, fused=fused)


def _lr(cfg: TrainConfig, step: int) -> float:
    """Linear warmup, then cosine decay to 10% of --lr at the last step."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(1, cfg.steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def _autocast(cfg: TrainConfig, env: Dist) -> contextlib.AbstractContextManager[Any]:
    fsdp_handles_it = cfg.strategy == "fsdp" and env.device.type == "cuda"
    if cfg.precision != "bf16" or fsdp_handles_it:
        return contextlib.nullcontext()
    return torch.autocast(device_type=env.device.type, dtype=torch.bfloat16)


def _meta(cfg: TrainConfig, env: Dist) -> dict[str, Any]:
    return {
        "world_size": env.world,
        "strategy": cfg.strategy,
        "model": dataclasses.asdict(cfg.model),
        "data": {"source": cfg.data, "seed": cfg.seed, "batch_size": cfg.batch_size, "seq_len": cfg.seq_len},
    }


def _save(cfg: TrainConfig, env: Dist, step: int, model: nn.Module, optimizer: torch.optim.Optimizer, *,
          final: bool = False) -> None:
    if cfg.run_dir is None:
        return
    uri = ckpt.save_checkpoint(cfg.run_dir, step, model, optimizer, _meta(cfg, env), keep=cfg.keep_checkpoints,
                               ctrl=env.ctrl, final=final, shard=cfg.strategy == "fsdp")
    if env.rank == 0:
        log.info("checkpoint %s", uri)


def _maybe_resume(cfg: TrainConfig, env: Dist, model: nn.Module, optimizer: torch.optim.Optimizer) -> int:
    """Resume this run from its newest intact checkpoint; else warm-start from --init-from."""
    step = ckpt.choose_checkpoint(cfg.run_dir, env.ctrl) if cfg.run_dir is not None else None
    if step is None:
        if cfg.init_from is not None:
            try:
                used = ckpt.load_weights(cfg.init_from, model, env.ctrl)
            except FileNotFoundError as exc:
                raise ConfigError(str(exc)) from None
            if env.rank == 0:
                log.info("initialised weights from %s", used)
        return 0
    uri = ckpt.step_uri(cfg.run_dir, step)  # type: ignore[arg-type]
    saved = _meta(cfg, env)
    found = ckpt.read_meta(uri)
    if found["model"] != saved["model"]:
        raise ConfigError(f"{uri}: checkpoint model {found['model']} differs from --model-config {saved['model']}")
    if found["data"] != saved["data"] or found["world_size"] != env.world:
        log.warning("resuming %s with different data settings or world size: batches will not match an "
                    "uninterrupted run", uri)
    resumed = ckpt.load_checkpoint(uri, model, optimizer, env.ctrl)
    if env.rank == 0:
        log.info("resumed from %s at step %d", uri, resumed.step)
    return resumed.step


def _simulate_preemption() -> None:
    """Test hook: deliver a real SIGTERM the way Kubernetes does, to the launcher when
    there is one (torchrun forwards it to every worker), else to this process."""
    target = os.getppid() if "TORCHELASTIC_RUN_ID" in os.environ else os.getpid()
    os.kill(target, signal.SIGTERM)


class _StopVote:
    """All ranks agree on stopping (SIGTERM on any rank) and on a time-based checkpoint
    (rank 0's clock) at the same step without a per-step device sync: each step starts an
    async MAX all-reduce of the local flags on the gloo group and reads the previous
    step's result."""

    def __init__(self, env: Dist, interval_s: float) -> None:
        self.group, self.rank = env.ctrl, env.rank
        self.interval_s, self.last_save, self.pending = interval_s, time.monotonic(), False
        self.buf = torch.zeros(2, dtype=torch.int32)
        self.work: Any = None

    def decide(self, stop: bool) -> tuple[bool, bool]:
        due = (self.rank == 0 and not self.pending and self.interval_s > 0
               and time.monotonic() - self.last_save >= self.interval_s)
        self.pending = self.pending or due  # asked once; the answer arrives a step later
        if self.group is None:
            return stop, due
        decided = (False, False)
        if self.work is not None:
            self.work.wait()
            decided = (bool(self.buf[0].item()), bool(self.buf[1].item()))
        self.buf = torch.tensor([int(stop), int(due)], dtype=torch.int32)
        self.work = dist.all_reduce(self.buf, op=dist.ReduceOp.MAX, group=self.group, async_op=True)
        return decided

    def saved(self) -> None:
        self.last_save, self.pending = time.monotonic(), False

    def close(self) -> None:
        if self.work is not None:
            self.work.wait()
            self.work = None


class _Stats:
    """Loss and timing without per-step syncs: the clock is read only after a device sync
    (once after `skip` warm-up steps, at checkpoints, at the end); checkpoint time is excluded."""

    def __init__(self, env: Dist, *, start: int, skip: int) -> None:
        self.env, self.start, self.skip = env, start, skip
        self.started = time.perf_counter()
        self.t_start: float | None = self.started if skip == 0 else None
        self.timed_from = start
        self.paused = 0.0
        self.first_loss: torch.Tensor | None = None
        self.last_loss: torch.Tensor | None = None
        self.history: list[list[float]] = []

    def after_step(self, done: int, loss: torch.Tensor, *, log_now: bool) -> None:
        self.last_loss = loss.detach()
        if self.first_loss is None:
            self.first_loss = self.last_loss.clone()
        if self.t_start is None and done - self.start >= self.skip:
            self._sync()
            self.t_start, self.timed_from = time.perf_counter(), done
        if log_now:
            value = self._mean(self.last_loss)
            self.history.append([done, value])
            if self.env.rank == 0:
                log.info("step %d loss %.4f", done, value)

    def pause(self, fn: Callable[[], None]) -> None:
        self._sync()
        t = time.perf_counter()
        fn()
        self.paused += time.perf_counter() - t

    def finish_timing(self, step: int) -> None:
        self._sync()
        self.ended = time.perf_counter()
        timed = step - self.timed_from
        self.step_time = ((self.ended - self.t_start - self.paused) / timed
                          if self.t_start is not None and timed > 0 else None)
        self.final = self._mean(self.last_loss) if self.last_loss is not None else None
        self.initial = self._mean(self.first_loss) if self.first_loss is not None else None

    def summary(self, cfg: TrainConfig, step: int) -> dict[str, Any]:
        tokens = cfg.batch_size * cfg.seq_len * self.env.world
        cuda = self.env.device.type == "cuda"
        return {
            "strategy": cfg.strategy,
            "world_size": self.env.world,
            "device": torch.cuda.get_device_name(self.env.device) if cuda else "cpu",
            "precision": cfg.precision,
            "compile": cfg.compile,
            "model": dataclasses.asdict(cfg.model),
            "steps": step,
            "resumed_from_step": self.start,
            "batch_size": cfg.batch_size,
            "seq_len": cfg.seq_len,
            "tokens_per_step": tokens,
            "initial_loss": self.initial,
            "final_loss": self.final,
            "loss_history": self.history,
            "step_time_mean_s": self.step_time,
            "tokens_per_s": tokens / self.step_time if self.step_time else None,
            "peak_gpu_memory_gib": torch.cuda.max_memory_allocated(self.env.device) / 2**30 if cuda else None,
            "wall_time_s": self.ended - self.started,
        }

    def _mean(self, loss: torch.Tensor) -> float:
        value = loss.detach().float().reshape(1).clone()
        if self.env.world > 1:
            dist.all_reduce(value, op=dist.ReduceOp.SUM)
            value /= self.env.world
        return float(value.item())

    def _sync(self) -> None:
        if self.env.device.type == "cuda":
            torch.cuda.synchronize(self.env.device)
