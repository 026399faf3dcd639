"""Atomic, resumable checkpoints and the SIGTERM stop flag.

Layout under `--checkpoint-dir` (which must be shared by all nodes in a multi-node run):

    step-00000020/          one complete checkpoint; only ever appears by rename
      state.pt              full (unsharded) model + optimizer state dicts, written by rank 0
      rng-<rank>.pt         each rank's CPU (and CUDA) RNG state
      meta.json             step, world size, strategy, model config, data settings
    .tmp-step-00000030/     a checkpoint being written; removed or replaced on the next try

All ranks write into the temporary directory, then rank 0 renames it into place with
`os.replace`, so a reader never sees a partial checkpoint and the highest `step-*` is
always loadable. Both strategies save a full state dict (`torch.distributed.checkpoint.
state_dict` with full_state_dict + cpu_offload: FSDP shards are all-gathered, only rank 0
keeps them on the host). On resume every rank memory-maps the same file and keeps its own
slices, so no object collectives are needed; those need numpy, which the training image
does not have, and that rules out DCP's sharded format here. The cost is that rank 0's host
memory must hold the full fp32 model and optimizer (~12 bytes/param). Tensors round-trip
exactly (resume is bit-identical, tested for both strategies) and the file loads into any
world size. The batch for a step is a pure function of (seed, step, rank, world size), so
the data position is the step itself.

Preemption: `StopFlag` turns SIGTERM into a flag. The trainer checks it at step
boundaries (all ranks agree through a small collective), writes a checkpoint and exits
with `EXIT_PREEMPTED` (143, the conventional 128 + SIGTERM) rather than 0, because the
run is not finished: Argo's retryStrategy must see a failure and start a retry, which
resumes from the checkpoint. torchrun gives workers `--shutdown-timeout` (default 30 s,
env TORCH_ELASTIC_SHUTDOWN_TIMEOUT) after forwarding SIGTERM before it SIGKILLs them; the
pod's terminationGracePeriodSeconds must exceed it, and it must exceed a checkpoint write.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import torch
import torch.distributed as dist
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict, set_state_dict

__all__ = [
    "EXIT_PREEMPTED", "StopFlag", "latest_checkpoint", "save_checkpoint", "load_checkpoint", "read_meta",
    "write_json_atomic",
]

EXIT_PREEMPTED = 143
_NAME = re.compile(r"^step-(\d{8})$")


class StopFlag:
    """Set by SIGTERM; the training loop polls it at step boundaries."""

    def __init__(self) -> None:
        self.raised = False

    def install(self) -> StopFlag:
        signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.raised = True


@dataclass(frozen=True)
class Resumed:
    step: int
    path: Path
    meta: dict[str, Any]


def latest_checkpoint(root: Path) -> Path | None:
    steps = sorted((int(m.group(1)), p) for p in root.iterdir() if (m := _NAME.match(p.name)) and p.is_dir())
    return steps[-1][1] if steps else None


def save_checkpoint(root: Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    meta: dict[str, Any], *, keep: int) -> Path:
    """Write checkpoint `step` collectively (every rank calls this) and return its path."""
    final = root / f"step-{step:08d}"
    if final.exists():
        return final
    tmp = root / f".tmp-step-{step:08d}"
    rank = dist.get_rank()
    if rank == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    dist.barrier()
    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    model_sd, optim_sd = get_state_dict(model, optimizer, options=options)
    _save_synced(_rng_state(), tmp / f"rng-{rank}.pt")
    if rank == 0:
        _save_synced({"model": model_sd, "optim": optim_sd}, tmp / "state.pt")
    dist.barrier()
    if rank == 0:
        write_json_atomic(tmp / "meta.json", {**meta, "step": step})
        os.replace(tmp, final)
        _fsync_dir(root)
        _prune(root, keep)
    dist.barrier()
    return final


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> Resumed:
    """Restore model, optimizer and (same world size only) RNG state from `path`."""
    meta = read_meta(path)
    state = torch.load(path / "state.pt", map_location="cpu", mmap=True, weights_only=True)
    set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"],
                   options=StateDictOptions(full_state_dict=True))
    rng = path / f"rng-{dist.get_rank()}.pt"
    if meta.get("world_size") == dist.get_world_size() and rng.exists():
        _set_rng_state(torch.load(rng, weights_only=True))
    return Resumed(step=int(meta["step"]), path=path, meta=meta)


def read_meta(path: Path) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    return meta


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def _prune(root: Path, keep: int) -> None:
    """Drop all but the newest `keep` checkpoints (0 keeps all) and leftovers of crashed saves
    (saves are collective, so no other one is in progress)."""
    done = sorted(p for p in root.iterdir() if _NAME.match(p.name))
    stale = [p for p in root.iterdir() if p.name.startswith(".tmp-step-")]
    for old in stale + (done[:-keep] if keep > 0 else []):
        shutil.rmtree(old, ignore_errors=True)


def _save_synced(obj: Any, path: Path) -> None:
    # On disk before the rename publishes it: a node crash must not leave a named, empty file.
    with open(path, "wb") as fh:
        torch.save(obj, fh)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
