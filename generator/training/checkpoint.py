"""Checkpoints that survive anything, on a local or shared volume or in object storage.

Layout under the run folder (`--checkpoint-dir`/`--run`, shared by all nodes):

    step-00000020/
      dcp/              FSDP: model + optimizer shards, each rank writing its own in parallel
                        (torch.distributed.checkpoint; loads into any world size)
      state.pt          DDP: the full model + optimizer state dicts, written by rank 0
      rng-<rank>.pt     each rank's CPU (and CUDA) RNG state
      meta.json         step, world size, strategy, state format, model config, data settings
      model.pt          model weights alone (the final checkpoint only): the trained model
      MANIFEST.json     sha256 and size of every file above; written last, by rank 0

A checkpoint exists only when its manifest does: object stores have no rename, so the
manifest is the commit point, and a crash at any moment leaves either a complete
checkpoint or a folder that is ignored and later removed. Every rank hashes the files it
wrote (or, for DCP's folder, its share of them) and rank 0 gathers the hashes, so no rank
reads the whole checkpoint back. On resume rank 0 reads the manifests of the newest
checkpoints, the ranks verify their shares of its files (a missing file, a short write or
one flipped bit is caught by the sha256), a damaged one is skipped with one warning line,
and rank 0 broadcasts the step chosen, so ranks reading a network filesystem cannot
disagree. Prunes delete the manifest first, so a half-deleted folder is never mistaken
for a checkpoint.

DDP replicates the state on every rank, so rank 0 writes it whole (`state.pt`, a full
state dict); FSDP writes it sharded (`dcp/`, see `sharded`). `meta.json` names the format
and loading follows it, so a run can change strategy or world size and still resume
(DCP reshards; RNG state is restored only for the same world size). Tensors round-trip
exactly either way: resume is bit-identical, tested for both.

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
    get_model_state_dict,
    get_state_dict,
    set_model_state_dict,
    set_state_dict,
)

from . import sharded, storage

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
    "verify_together",
    "write_json",
]

EXIT_PREEMPTED = 143
MANIFEST = "MANIFEST.json"
SHARDED_DIR = "dcp"
_FULL = StateDictOptions(full_state_dict=True, cpu_offload=True)
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


def _read_manifest(uri: str) -> dict[str, Any] | str:
    """The manifest's file table, or what is wrong with the manifest."""
    try:
        manifest = json.loads(storage.read_bytes(storage.join(uri, MANIFEST)))
    except FileNotFoundError:
        return "no manifest (an interrupted write)"
    except (OSError, ValueError) as exc:
        return f"unreadable manifest ({exc})"
    files = manifest.get("files") if isinstance(manifest, dict) else None
    return files if isinstance(files, dict) else "unreadable manifest (no file table)"


def _verify_files(uri: str, files: dict[str, Any], share: tuple[int, int]) -> str | None:
    index, count = share
    for name in sorted(files)[index::count]:
        want = files[name]
        try:
            data = storage.read_bytes(storage.join(uri, name))
        except (FileNotFoundError, OSError):
            return f"{name} is missing"
        if len(data) != want["bytes"] or storage.sha256_of(data) != want["sha256"]:
            return f"{name} does not match its sha256 in the manifest"
    return None


def verify_together(uri: str, ctrl: Any) -> str | None:
    """None when the checkpoint at `uri` is complete and intact, else what is wrong with it.
    Collective: rank 0 reads the manifest, every rank checks its share of the files (no
    rank reads a whole sharded checkpoint), and all return the same answer."""
    world = dist.get_world_size()
    manifest = _read_manifest(uri) if dist.get_rank() == 0 else None
    manifest = _broadcast_object(manifest, ctrl)
    if isinstance(manifest, str):
        return manifest
    problem = _verify_files(uri, manifest, (dist.get_rank(), world))
    problems = _gather_all(problem, ctrl)
    return next((p for p in problems if p is not None), None)


def choose_checkpoint(root: str, ctrl: Any) -> int | None:
    """Pick the newest intact checkpoint under `root` (rank 0's listing, checked by every
    rank together) so that all ranks resume the same step."""
    steps = _broadcast_object(_steps(root) if dist.get_rank() == 0 else None, ctrl)
    for step in steps:
        problem = verify_together(step_uri(root, step), ctrl)
        if problem is None:
            return int(step)
        if dist.get_rank() == 0:
            log.warning("skipping damaged checkpoint %s: %s; trying the previous one", step_uri(root, step), problem)
    return None


def _broadcast_object(value: Any, ctrl: Any) -> Any:
    if dist.get_world_size() == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0, group=ctrl)
    return box[0]


def _gather_all(value: Any, ctrl: Any) -> list[Any]:
    if dist.get_world_size() == 1:
        return [value]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, value, group=ctrl)
    return out


def broadcast_int(value: int, ctrl: Any) -> int:
    if dist.get_world_size() == 1:
        return value
    buf = torch.tensor([value], dtype=torch.int64)
    dist.broadcast(buf, src=0, group=ctrl)
    return int(buf.item())


def save_checkpoint(root: str, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    meta: dict[str, Any], *, keep: int, ctrl: Any, final: bool = False,
                    shard: bool = False) -> str:
    """Write checkpoint `step` collectively (every rank calls this) and return its URI.
    `shard` writes the model and optimizer state sharded (FSDP), else whole from rank 0."""
    uri, rank = step_uri(root, step), dist.get_rank()
    if verify_together(uri, ctrl) is None:
        return uri
    if rank == 0:
        storage.remove_tree(uri)  # an interrupted earlier write of this step
    _barrier(ctrl)
    mine: dict[str, bytes] = {f"rng-{rank}.pt": _serialise(_rng_state())}
    if shard:
        model_sd, optim_sd = get_state_dict(model, optimizer)
        sharded.save(storage.join(uri, SHARDED_DIR), {"model": model_sd, "optim": optim_sd}, ctrl)
    else:
        model_sd, optim_sd = get_state_dict(model, optimizer, options=_FULL)
        if rank == 0:
            mine["state.pt"] = _serialise({"model": model_sd, "optim": optim_sd})
    if final:
        weights = get_model_state_dict(model, options=_FULL) if shard else model_sd
        if rank == 0:
            mine["model.pt"] = _serialise(weights)
    if rank == 0:
        mine["meta.json"] = _json_bytes({**meta, "step": step, "state": "sharded" if shard else "full"})
    for name, data in mine.items():
        storage.write_bytes(storage.join(uri, name), data)
    _barrier(ctrl)
    entries = {name: _entry(data) for name, data in mine.items()}
    if shard:
        entries.update(_hash_share(storage.join(uri, SHARDED_DIR), rank, dist.get_world_size()))
    everything = {name: e for part in _gather_all(entries, ctrl) for name, e in part.items()}
    if rank == 0:
        storage.write_bytes(storage.join(uri, MANIFEST), _json_bytes({"files": dict(sorted(everything.items()))}))
        _prune(root, keep)
    _barrier(ctrl)
    return uri


def _entry(data: bytes) -> dict[str, Any]:
    return {"sha256": storage.sha256_of(data), "bytes": len(data)}


def _hash_share(folder: str, rank: int, world: int) -> dict[str, dict[str, Any]]:
    """Hash every world-th file of the DCP folder, from this rank's offset: the ranks
    split the reading, whoever wrote each file."""
    names = storage.listdir(folder)
    return {f"{SHARDED_DIR}/{name}": _entry(storage.read_bytes(storage.join(folder, name)))
            for name in names[rank::world]}


def load_checkpoint(uri: str, model: torch.nn.Module, optimizer: torch.optim.Optimizer, ctrl: Any) -> Resumed:
    """Restore model, optimizer and (same world size only) RNG state from the checkpoint at
    `uri`, in whichever format it was written."""
    meta = read_meta(uri)
    if meta.get("state") == "sharded":
        model_sd, optim_sd = get_state_dict(model, optimizer)
        sharded.load(storage.join(uri, SHARDED_DIR), {"model": model_sd, "optim": optim_sd}, ctrl)  # in place
        set_state_dict(model, optimizer, model_state_dict=model_sd, optim_state_dict=optim_sd)
    else:
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
    if verify_together(source, ctrl) is None:
        uri = source
    else:
        step = choose_checkpoint(source, ctrl)
        if step is None:
            raise FileNotFoundError(f"--init-from {source}: no intact checkpoint there")
        uri = step_uri(source, step)
    if read_meta(uri).get("state") == "sharded":
        weights = get_model_state_dict(model)
        sharded.load(storage.join(uri, SHARDED_DIR), {"model": weights}, ctrl)
        set_model_state_dict(model, weights)
    else:
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
