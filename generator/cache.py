"""A small content-addressed cache under `<repo>/.modelops-cache/` (git-ignored).

Keys are hashes of everything an entry depends on, so a stale entry can never be read:
it is simply not found. The files are JSON (never pickle: a cache must not be able to
run code), written atomically; a damaged cache file is ignored and rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import zlib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from generator import __version__

__all__ = ["CacheFile", "code_digest", "digest", "tree_digest", "CACHE_DIR"]

CACHE_DIR = ".modelops-cache"
FORMAT = 3  # 2: spec positions stored as one JSON string; 3: findings merged per cause, placeholder checks


def digest(*parts: bytes | str) -> str:
    h = hashlib.sha256(f"modelops {__version__} cache {FORMAT}".encode())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


@lru_cache(maxsize=1)
def code_digest() -> str:
    """modelops's own code and data, so an answer cached by one build is never read by
    another (a version number does not change between commits)."""
    package = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if "__pycache__" in path.parts or not stat.S_ISREG(path.lstat().st_mode):
            continue
        h.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def tree_digest(paths: Iterable[Path]) -> str:
    """Hash of every file below `paths` (names and bytes), in a stable order."""
    h = hashlib.sha256()
    for root in paths:
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        for path in files:
            h.update(str(path.relative_to(root) if root.is_dir() else path.name).encode() + b"\0")
            h.update(path.read_bytes())
        h.update(b"\1")
    return h.hexdigest()


class CacheFile:
    """Entries in one JSON object per shard; `get`/`put`, then `save` writes what was used
    this run. A large cache is sharded by key, so a run that changes one entry rewrites one
    shard (the parsed-spec cache of a 1000-model repository is about 5 MB)."""

    def __init__(self, repo_root: Path, name: str, *, shards: int = 1, directory: Path | None = None):
        self.directory = Path(directory) if directory is not None else Path(repo_root) / CACHE_DIR
        self.name, self.shards = name, shards
        self._old: dict[str, Any] = {}
        for shard in range(shards):
            self._old.update(self._read(self._path(shard)))
        self._new: dict[str, Any] = {}
        self._enabled = True

    @classmethod
    def in_directory(cls, directory: Path, name: str) -> CacheFile:
        """A cache file in `directory` itself (callers that know the cache folder, not the repository)."""
        return cls(Path(), name, directory=directory)

    @classmethod
    def disabled(cls) -> CacheFile:
        """A cache that never hits and never writes (`--no-cache`)."""
        cache = cls.__new__(cls)
        cache.directory, cache.name, cache.shards = Path(), "", 1
        cache._old, cache._new, cache._enabled = {}, {}, False
        return cache

    @staticmethod
    def _read(path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _path(self, shard: int) -> Path:
        suffix = f"-{shard:02d}" if self.shards > 1 else ""
        return self.directory / f"{self.name}-v{FORMAT}{suffix}.json"

    def _shard(self, key: str) -> int:
        return zlib.crc32(key.encode()) % self.shards

    def has(self, key: str) -> bool:
        """Whether `key` is stored (without marking it used, as `get` does)."""
        return key in self._old

    def get(self, key: str) -> Any:
        if key in self._old:
            self._new[key] = self._old[key]
            return self._old[key]
        return None

    def put(self, key: str, value: Any) -> None:
        self._new[key] = value

    def save(self) -> None:
        """Keep only the entries of this run, so the files never grow without bound; write
        only the shards whose entries changed."""
        if not self._enabled or self._new.keys() == self._old.keys():
            return  # disabled, or every entry was a hit: nothing to write
        old_keys: list[set[str]] = [set() for _ in range(self.shards)]
        new: list[dict[str, Any]] = [{} for _ in range(self.shards)]
        for key in self._old:
            old_keys[self._shard(key)].add(key)
        for key, value in self._new.items():
            new[self._shard(key)][key] = value
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            ignore = self.directory / ".gitignore"
            if not ignore.exists():
                ignore.write_text("*\n")
            for shard in range(self.shards):
                if new[shard].keys() != old_keys[shard]:
                    self._write(self._path(shard), new[shard])
            current = {self._path(shard) for shard in range(self.shards)}
            for older in self.directory.glob(f"{self.name}-v*.json"):
                if older not in current:  # an earlier format or shard count: never read again
                    older.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only checkout still checks; it only loses the speed-up

    def _write(self, path: Path, entries: dict[str, Any]) -> None:
        text = json.dumps(entries, separators=(",", ":"))  # the C encoder; json.dump streams in Python
        fd, temp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temp, path)
        except OSError:
            Path(temp).unlink(missing_ok=True)
            raise
