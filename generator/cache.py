"""A small content-addressed cache under `<repo>/.modelops-cache/` (git-ignored).

Keys are hashes of everything an entry depends on, so a stale entry can never be read:
it is simply not found. The files are JSON (never pickle: a cache must not be able to
run code), written atomically; a damaged cache file is ignored and rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from generator import __version__

__all__ = ["CacheFile", "digest", "tree_digest", "CACHE_DIR"]

CACHE_DIR = ".modelops-cache"
FORMAT = 2  # 2: spec positions stored as one JSON string


def digest(*parts: bytes | str) -> str:
    h = hashlib.sha256(f"modelops {__version__} cache {FORMAT}".encode())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
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
    """One JSON object of entries; `get`/`put`, then `save` writes what was used this run."""

    def __init__(self, repo_root: Path, name: str):
        self.path = Path(repo_root) / CACHE_DIR / f"{name}-v{FORMAT}.json"
        try:
            self._old: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(self._old, dict):
                self._old = {}
        except (OSError, ValueError):
            self._old = {}
        self._new: dict[str, Any] = {}
        self._enabled = True

    @classmethod
    def disabled(cls) -> "CacheFile":
        """A cache that never hits and never writes (`--no-cache`)."""
        cache = cls.__new__(cls)
        cache.path, cache._old, cache._new, cache._enabled = Path(), {}, {}, False
        return cache

    def get(self, key: str) -> Any:
        if key in self._old:
            self._new[key] = self._old[key]
            return self._old[key]
        return None

    def put(self, key: str, value: Any) -> None:
        self._new[key] = value

    def save(self) -> None:
        """Keep only the entries of this run, so the file never grows without bound."""
        if not self._enabled or self._new.keys() == self._old.keys():
            return  # disabled, or every entry was a hit: nothing to write
        text = json.dumps(self._new, separators=(",", ":"))  # the C encoder; json.dump streams in Python
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            ignore = self.path.parent / ".gitignore"
            if not ignore.exists():
                ignore.write_text("*\n")
            fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temp, self.path)
            for older in self.path.parent.glob(f"{self.path.name.rsplit('-v', 1)[0]}-v*.json"):
                if older != self.path:  # an earlier cache format: never read again
                    older.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only checkout still checks; it only loses the speed-up
