"""Checkpoints that survive anything, on a local or shared volume or in object storage.

Layout under the run folder (`--checkpoint-dir`/`--run`, shared by all nodes):

    step-00000020/
      state.pt          full (unsharded) model + optimizer state dicts, written by rank 0
      rng-<rank>.pt     each rank's CPU (and CUDA) RNG state
      meta.json         step, world size, strategy, model config, data settings
      model.pt          model weights alone (the final checkpoint only): the trained model
      MANIFEST.json     sha256 and size of every file above; written last, by rank 0

A checkpoint exists only when its manifest does: object stores have no rename, so the
manifest is the commit point, and a crash at any moment leaves either a complete
checkpoint or a folder that is ignored and later removed. On resume rank 0 verifies the
newest checkpoints against their manifests (a missing file, a short write or one flipped
bit is caught by the sha256), skips a damaged one with one warning line, and broadcasts
the step it chose, so ranks reading a network filesystem cannot disagree. Prunes delete
the manifest first, so a half-deleted folder is never mistaken for a checkpoint.

Both strategies save a full state dict (`torch.distributed.checkpoint.state_dict` with
full_state_dict + cpu_offload: FSDP shards are all-gathered, only rank 0 keeps them on
the host); the file loads into any world size and tensors round-trip exactly (resume is
bit-identical, tested). The cost is that rank 0's host memory holds the full fp32 model
and optimizer (~12 bytes/param) plus its serialised copy while it is written.

Preemption: `StopFlag` turns SIGTERM into a flag. The trainer checks it at step
boundaries (all ranks agree through a small collective), writes a checkpoint and exits
with `EXIT_PREEMPTED` (143); the launcher makes that the container's exit code, which
the rendered retryStrategy retries.
"""
from __future__ import annotations

import io
import json
import logging
import re
import signal
from dataclasses import dataclass
from types import FrameType
from typing import Any

import torch
import torch.distributed as dist
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_state_dict,
    set_model_state_dict,
    set_state_dict,
)

from . import storage

__all__ = [
    "EXIT_PREEMPTED",
    "MANIFEST",
    "Resumed",
    "StopFlag",
    "choose_checkpoint",
    "load_checkpoint",
    "load_weights",
    "read_meta",
    "save_checkpoint",
    "step_uri",
    "verify",
    "write_json",
]

EXIT_PREEMPTED = 143
MANIFEST = "MANIFEST.json"
_NAME = re.compile(r"^step-(\d{8})$")
log = logging.getLogger("generator.training")


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
    uri: str
    meta: dict[str, Any]


def step_uri(root: str, step: int) -> str:
    return storage.join(root, f"step-{step:08d}")


def _steps(root: str) -> list[int]:
    return sorted((int(m.group(1)) for name in storage.listdir(root) if (m := _NAME.match(name))), reverse=True)


def verify(uri: str) -> str | None:
    """None when the checkpoint at `uri` is complete and intact, else what is wrong with it."""
    try:
        manifest = json.loads(storage.read_bytes(storage.join(uri, MANIFEST)))
    except FileNotFoundError:
        return "no manifest (an interrupted write)"
    except (OSError, ValueError) as exc:
        return f"unreadable manifest ({exc})"
    for name, want in sorted(manifest.get("files", {}).items()):
        try:
            data = storage.read_bytes(storage.join(uri, name))
        except (FileNotFoundError, OSError):
            return f"{name} is missing"
        if len(data) != want["bytes"] or storage.sha256_of(data) != want["sha256"]:
            return f"{name} does not match its sha256 in the manifest"
    return None


def choose_checkpoint(root: str, ctrl: Any) -> int | None:
    """Rank 0 picks the newest intact checkpoint under `root` and broadcasts its step."""
    chosen = -1
    if dist.get_rank() == 0:
        for step in _steps(root):
            problem = verify(step_uri(root, step))
            if problem is None:
                chosen = step
                break
            log.warning("skipping damaged checkpoint %s: %s; trying the previous one", step_uri(root, step), problem)
    step = broadcast_int(chosen, ctrl)
    return None if step < 0 else step


def broadcast_int(value: int, ctrl: Any) -> int:
    if dist.get_world_size() == 1:
        return value
    buf = torch.tensor([value], dtype=torch.int64)
    dist.broadcast(buf, src=0, group=ctrl)
    return int(buf.item())


def save_checkpoint(root: str, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    meta: dict[str, Any], *, keep: int, ctrl: Any, final: bool = False) -> str:
    """Write checkpoint `step` collectively (every rank calls this) and return its URI."""
    uri, rank = step_uri(root, step), dist.get_rank()
    done = int(rank == 0 and verify(uri) is None)
    if broadcast_int(done, ctrl):
        return uri
    if rank == 0:
        storage.remove_tree(uri)  # an interrupted earlier write of this step
    _barrier(ctrl)
    model_sd, optim_sd = get_state_dict(model, optimizer, options=StateDictOptions(full_state_dict=True,
                                                                                     cpu_offload=True))
    storage.write_bytes(storage.join(uri, f"rng-{rank}.pt"), _serialise(_rng_state()))
    files: dict[str, bytes] = {}
    if rank == 0:
        files["state.pt"] = _serialise({"model": model_sd, "optim": optim_sd})
        if final:
            files["model.pt"] = _serialise(model_sd)
        files["meta.json"] = _json_bytes({**meta, "step": step})
        for name, data in files.items():
            storage.write_bytes(storage.join(uri, name), data)
    _barrier(ctrl)
    if rank == 0:
        _commit(uri, files, dist.get_world_size())
        _prune(root, keep)
    _barrier(ctrl)
    return uri


def _commit(uri: str, files: dict[str, bytes], world: int) -> None:
    """Write the manifest, last: from here on the checkpoint exists."""
    for r in range(world):
        files[f"rng-{r}.pt"] = storage.read_bytes(storage.join(uri, f"rng-{r}.pt"))
    entries = {name: {"sha256": storage.sha256_of(data), "bytes": len(data)} for name, data in sorted(files.items())}
    storage.write_bytes(storage.join(uri, MANIFEST), _json_bytes({"files": entries}))


def load_checkpoint(uri: str, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> Resumed:
    """Restore model, optimizer and (same world size only) RNG state from the checkpoint at `uri`."""
    meta = read_meta(uri)
    state = _load(storage.join(uri, "state.pt"))
    set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"],
                   options=StateDictOptions(full_state_dict=True))
    rng = storage.join(uri, f"rng-{dist.get_rank()}.pt")
    if meta.get("world_size") == dist.get_world_size() and storage.exists(rng):
        _set_rng_state(_load(rng))
    return Resumed(step=int(meta["step"]), uri=uri, meta=meta)


def load_weights(source: str, model: torch.nn.Module, ctrl: Any) -> str:
    """Warm start: model weights only from `source`, a checkpoint or a run folder (its newest
    intact checkpoint). Returns the checkpoint used; raises FileNotFoundError if none."""
    is_checkpoint = int(dist.get_rank() == 0 and verify(source) is None)
    if broadcast_int(is_checkpoint, ctrl):
        uri = source
    else:
        step = choose_checkpoint(source, ctrl)
        if step is None:
            raise FileNotFoundError(f"--init-from {source}: no intact checkpoint there")
        uri = step_uri(source, step)
    state = _load(storage.join(uri, "state.pt"))
    set_model_state_dict(model, state["model"], options=StateDictOptions(full_state_dict=True))
    return uri


def read_meta(uri: str) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads(storage.read_bytes(storage.join(uri, "meta.json")))
    return meta


def write_json(uri: str, data: dict[str, Any]) -> None:
    storage.write_bytes(uri, _json_bytes(data))


def _json_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def _serialise(obj: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _load(uri: str) -> Any:
    fs, path = storage.filesystem(uri)
    if storage.is_local(fs):
        return torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    return torch.load(io.BytesIO(storage.read_bytes(uri)), map_location="cpu", weights_only=True)


def _barrier(ctrl: Any) -> None:
    if dist.get_world_size() > 1:
        dist.barrier(group=ctrl)


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def _prune(root: str, keep: int) -> None:
    """Keep the newest `keep` complete checkpoints (0 keeps all); remove older ones and
    incomplete folders older than the newest complete one (saves are collective, so no
    other one is in progress). The manifest goes first."""
    steps = _steps(root)
    complete = [s for s in steps if storage.exists(storage.join(step_uri(root, s), MANIFEST))]
    if not complete:
        return
    kept = set(complete[:keep]) if keep > 0 else set(complete)
    for step in steps:
        if step in kept or step > complete[0]:
            continue
        storage.remove(storage.join(step_uri(root, step), MANIFEST))
        storage.remove_tree(step_uri(root, step))
