"""Deterministic batches: every (step, rank) maps to one batch, so a resumed run sees
exactly the batches an uninterrupted run would have seen (given the same world size).

Two sources:
- `synthetic`: sequences `x[t+1] = (x[t] + stride) % vocab` with a random start and a
  stride in 1..4 per sequence, seeded by (seed, step, rank). The stride has to be read from
  context, so attention matters, but the pattern is learnt in a few dozen steps.
- a token file: a flat array of little-endian uint16 token ids (the nanoGPT `.bin`
  layout), memory-mapped copy-on-write, never read whole. Rank `r` at step `s` reads the
  windows `(s * world + r) * batch + i` laid end to end, wrapping around the file.
"""
from __future__ import annotations

import mmap
import sys
from pathlib import Path

import torch

from .config import ConfigError

__all__ = ["SyntheticData", "TokenFileData", "open_data"]

_MAX_STRIDE = 4


class SyntheticData:
    def __init__(self, *, vocab_size: int, seq_len: int, batch_size: int, seed: int, rank: int, world: int) -> None:
        self.vocab_size, self.seq_len, self.batch_size = vocab_size, seq_len, batch_size
        self.seed, self.rank, self.world = seed, rank, world

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        gen = torch.Generator().manual_seed(_mix(self.seed, step * self.world + self.rank))
        start = torch.randint(0, self.vocab_size, (self.batch_size, 1), generator=gen)
        stride = torch.randint(1, _MAX_STRIDE + 1, (self.batch_size, 1), generator=gen)
        seq = (start + stride * torch.arange(self.seq_len + 1)) % self.vocab_size
        return seq[:, :-1].contiguous(), seq[:, 1:].contiguous()


class TokenFileData:
    def __init__(self, path: Path, *, vocab_size: int, seq_len: int, batch_size: int, rank: int, world: int) -> None:
        self.tokens = _map_tokens(path)
        self.path, self.vocab_size, self.seq_len, self.batch_size = path, vocab_size, seq_len, batch_size
        self.rank, self.world = rank, world
        self.windows = (self.tokens.numel() - 1) // seq_len

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        first = (step * self.world + self.rank) * self.batch_size
        rows = [self._window((first + i) % self.windows) for i in range(self.batch_size)]
        seq = torch.stack(rows).to(torch.long)
        # Checked on the host copy, so it costs no device sync; an out-of-range id would
        # otherwise surface as an opaque CUDA device-side assert.
        if int(seq.max()) >= self.vocab_size:
            raise ConfigError(f"{self.path}: token id {int(seq.max())} >= vocab_size {self.vocab_size}")
        return seq[:, :-1].contiguous(), seq[:, 1:].contiguous()

    def _window(self, index: int) -> torch.Tensor:
        start = index * self.seq_len
        return self.tokens[start : start + self.seq_len + 1]


def open_data(spec: str, *, vocab_size: int, seq_len: int, batch_size: int, seed: int, rank: int,
              world: int) -> SyntheticData | TokenFileData:
    shape = {"vocab_size": vocab_size, "seq_len": seq_len, "batch_size": batch_size, "rank": rank, "world": world}
    if spec == "synthetic":
        return SyntheticData(seed=seed, **shape)
    return TokenFileData(Path(spec), **shape)


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
