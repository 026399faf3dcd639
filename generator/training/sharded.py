"""Sharded model and optimizer state through `torch.distributed.checkpoint` (DCP).

FSDP keeps every parameter and its optimizer state split across the ranks. Gathering them
on rank 0 to write one file costs rank 0 the whole fp32 model and optimizer in host memory
(~12 bytes per parameter) and makes one rank's bandwidth the bottleneck. DCP has every
rank write its own shards in parallel, plus a `.metadata` file that lets any world size
load them (DCP reshards on load), so a run can resume on fewer or more GPUs.

Object stores go through DCP's fsspec writer and reader, with the same credentials and
endpoint settings as the rest of the trainer (`storage.fsspec_options`); local and shared
volumes through DCP's file-system writer, which fsyncs what it writes. DCP does not make a
checkpoint atomic: the manifest written after it (see `checkpoint`) does.
"""
from __future__ import annotations

from typing import Any

import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint._fsspec_filesystem import FsspecReader, FsspecWriter

from . import storage

__all__ = ["load", "save"]


def save(uri: str, state: dict[str, Any], group: Any) -> None:
    """Every rank calls this; each writes its own shards under `uri`, rank 0 the metadata."""
    writer: dcp.StorageWriter
    if storage.is_remote(uri):
        writer = FsspecWriter(uri, sync_files=False, **storage.fsspec_options(uri))
    else:
        writer = dcp.FileSystemWriter(storage.local_path(uri), sync_files=True)
    dcp.save(state, storage_writer=writer, process_group=group)


def load(uri: str, state: dict[str, Any], group: Any) -> None:
    """Fill the tensors of `state` in place from the checkpoint at `uri`, resharding to
    this world's layout; keys missing from `state` are not read."""
    reader: dcp.StorageReader
    if storage.is_remote(uri):
        reader = FsspecReader(uri, **storage.fsspec_options(uri))
    else:
        reader = dcp.FileSystemReader(storage.local_path(uri))
    dcp.load(state, storage_reader=reader, process_group=group)
