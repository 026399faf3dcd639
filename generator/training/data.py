"""Deterministic batches: every (step, rank) maps to one batch, so a resumed run sees
exactly the batches an uninterrupted run would have seen (given the same world size).

Two sources:
- `synthetic`: sequences `x[t+1] = (x[t] + stride) % vocab` with a random start and a
  stride in 1..4 per sequence, seeded by (seed, step, rank). The stride has to be read from
  context, so attention matters, but the pattern is learnt in a few dozen steps.
- token shards: flat arrays of little-endian uint16 token ids (the nanoGPT `.bin`
  layout). `--data` names one file or a folder of `*.bin` shards, locally or in object
  storage (`s3://`, `gs://`, through fsspec). Windows of `seq_len + 1` tokens never cross a
  shard boundary; window `i` of the whole dataset is read by rank `r` at step `s` when
  `i = (s * world + r) * batch + k`, wrapping around. Consecutive steps read consecutive
  windows, so shards are needed one after another: remote shards are downloaded into a
  local cache folder (an emptyDir on the node's disk) and the least recently used ones are
  evicted past `cache_bytes`, so a dataset larger than the disk still trains. Local files
  are memory-mapped copy-on-write, never read whole.
- held out for `eval_loss`: the last `holdout` windows when the dataset has at least
  twenty times as many; synthetic data uses a separate seed stream.
"""
from __future__ import annotations

import bisect
import hashlib
import mmap
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from . import storage
from .config import ConfigError
from .shards import Shard, dataset_version, list_shards

__all__ = ["Shard", "SyntheticData", "TokenShards", "dataset_version", "list_shards", "open_data"]

_MAX_STRIDE = 4
DEFAULT_CACHE_BYTES = 20 * 2**30


class SyntheticData:
    def __init__(self, *, vocab_size: int, seq_len: int, batch_size: int, seed: int, rank: int, world: int) -> None:
        self.vocab_size, self.seq_len, self.batch_size = vocab_size, seq_len, batch_size
        self.seed, self.rank, self.world = seed, rank, world

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self._make(_mix(self.seed, step * self.world + self.rank))

    def eval_batch(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self._make(_mix(self.seed ^ 0x5EED, index * self.world + self.rank))

    def _make(self, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        gen = torch.Generator().manual_seed(seed)
        start = torch.randint(0, self.vocab_size, (self.batch_size, 1), generator=gen)
        stride = torch.randint(1, _MAX_STRIDE + 1, (self.batch_size, 1), generator=gen)
        seq = (start + stride * torch.arange(self.seq_len + 1)) % self.vocab_size
        return seq[:, :-1].contiguous(), seq[:, 1:].contiguous()


class ShardCache:
    """Remote shards copied to a local folder on demand, least recently used evicted first."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder, self.max_bytes = folder, max_bytes
        folder.mkdir(parents=True, exist_ok=True)

    def local(self, shard: Shard) -> Path:
        target = self.folder / hashlib.sha256(f"{shard.uri}:{shard.tag}".encode()).hexdigest()[:24]
        if not target.exists():
            self._evict(shard.tokens * 2)
            fs, path = storage.filesystem(shard.uri)
            tmp = target.with_name(f"{target.name}.{os.getpid()}.part")
            fs.get_file(path, str(tmp))
            os.replace(tmp, target)  # ranks on one node share the cache: last rename wins, same bytes
        os.utime(target)
        return target

    def _evict(self, incoming: int) -> None:
        files = sorted((p for p in self.folder.iterdir() if not p.name.endswith(".part")),
                       key=lambda p: p.stat().st_mtime)
        used = sum(p.stat().st_size for p in files)
        while files and used + incoming > self.max_bytes:
            oldest = files.pop(0)
            used -= oldest.stat().st_size
            oldest.unlink(missing_ok=True)  # a rank still mapping it keeps its pages


class TokenShards:
    def __init__(self, shards: list[Shard], *, vocab_size: int, seq_len: int, batch_size: int, rank: int, world: int,
                 cache: ShardCache | None = None, holdout: int = 0) -> None:
        self.shards, self.vocab_size, self.seq_len, self.batch_size = shards, vocab_size, seq_len, batch_size
        self.rank, self.world, self.cache = rank, world, cache
        counts = [max(0, (s.tokens - 1) // seq_len) for s in shards]
        self.starts = [sum(counts[:i]) for i in range(len(counts))]
        total = sum(counts)
        if total == 0:
            raise ConfigError(f"--data {shards[0].uri}: fewer than --seq-len + 1 = {seq_len + 1} tokens in every shard")
        self.holdout = holdout if total >= 20 * holdout else 0
        self.windows = total - self.holdout
        self.total = total
        self._mapped: dict[int, torch.Tensor] = {}

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        first = (step * self.world + self.rank) * self.batch_size
        return self._rows([(first + i) % self.windows for i in range(self.batch_size)])

    def eval_batch(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        first = (index * self.world + self.rank) * self.batch_size
        if self.holdout:
            return self._rows([self.windows + (first + i) % self.holdout for i in range(self.batch_size)])
        return self._rows([(first + i) % self.windows for i in range(self.batch_size)])

    def _rows(self, windows: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        seq = torch.stack([self._window(w) for w in windows]).to(torch.long)
        # Checked on the host copy, so it costs no device sync; an out-of-range id would
        # otherwise surface as an opaque CUDA device-side assert.
        if int(seq.max()) >= self.vocab_size:
            raise ConfigError(f"--data: token id {int(seq.max())} >= vocab_size {self.vocab_size}")
        return seq[:, :-1].contiguous(), seq[:, 1:].contiguous()

    def _window(self, index: int) -> torch.Tensor:
        shard = bisect.bisect_right(self.starts, index) - 1
        start = (index - self.starts[shard]) * self.seq_len
        return self._tokens(shard)[start : start + self.seq_len + 1]

    def _tokens(self, shard: int) -> torch.Tensor:
        if shard not in self._mapped:
            if len(self._mapped) >= 2:  # a batch may straddle two shards; older ones are done with
                self._mapped.pop(next(iter(self._mapped)))
            self._mapped[shard] = _map_tokens(self._local(self.shards[shard]))
        return self._mapped[shard]

    def _local(self, shard: Shard) -> Path:
        if not storage.is_remote(shard.uri):
            return Path(shard.uri.split("://", 1)[-1])
        if self.cache is None:
            raise ConfigError(f"--data {shard.uri}: remote data needs --data-cache")
        return _retry(lambda: self.cache.local(shard))  # type: ignore[union-attr]


def _retry(fetch: Any, attempts: int = 4) -> Path:
    """Object stores fail transiently; three quick retries before it becomes the run's failure."""
    for attempt in range(attempts):
        try:
            path: Path = fetch()
            return path
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(2**attempt)
    raise AssertionError("unreachable")


def open_data(spec: str, *, vocab_size: int, seq_len: int, batch_size: int, seed: int, rank: int, world: int,
              cache_dir: Path | None = None, cache_bytes: int = DEFAULT_CACHE_BYTES,
              holdout: int = 0) -> SyntheticData | TokenShards:
    shape = {"vocab_size": vocab_size, "seq_len": seq_len, "batch_size": batch_size, "rank": rank, "world": world}
    if spec == "synthetic":
        return SyntheticData(seed=seed, **shape)
    cache = ShardCache(cache_dir, cache_bytes) if cache_dir is not None and storage.is_remote(spec) else None
    return TokenShards(list_shards(spec), cache=cache, holdout=holdout, **shape)


def _map_tokens(path: Path) -> torch.Tensor:
    if sys.byteorder != "little":
        raise ConfigError(f"--data {path}: token files are little-endian; this host is not")
    with open(path, "rb") as fh:
        # ACCESS_COPY gives a writable (copy-on-write) buffer, which torch.frombuffer wants,
        # while pages are still read lazily from the file.
        buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_COPY)
    return torch.frombuffer(buf, dtype=torch.uint16)


def _mix(seed: int, index: int) -> int:
    # splitmix64-style mixing so that neighbouring (seed, index) pairs give unrelated streams.
    z = (seed * 0x9E3779B97F4A7C15 + index + 1) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (z ^ (z >> 31)) & 0x7FFFFFFFFFFFFFFF
