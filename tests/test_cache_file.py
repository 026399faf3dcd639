"""The content-addressed cache files: what survives a run, and what a run rewrites."""
from __future__ import annotations

from pathlib import Path

from generator.cache import CACHE_DIR, CacheFile, digest


def _fill(root: Path, keys: list[str], shards: int) -> None:
    cache = CacheFile(root, "things", shards=shards)
    for key in keys:
        cache.put(key, {"value": key})
    cache.save()


def test_entries_survive_and_unused_ones_are_dropped(tmp_path: Path) -> None:
    keys = [digest(str(i)) for i in range(40)]
    _fill(tmp_path, keys, shards=4)
    cache = CacheFile(tmp_path, "things", shards=4)
    assert all(cache.get(key) == {"value": key} for key in keys[:30])
    cache.save()  # the last ten were not used this run
    again = CacheFile(tmp_path, "things", shards=4)
    assert [again.has(key) for key in keys] == [True] * 30 + [False] * 10


def test_one_changed_entry_rewrites_only_its_shard(tmp_path: Path) -> None:
    keys = [digest(str(i)) for i in range(64)]
    _fill(tmp_path, keys, shards=16)
    folder = tmp_path / CACHE_DIR
    before = {path.name: path.read_bytes() for path in folder.glob("things-*.json")}
    assert len(before) == 16
    cache = CacheFile(tmp_path, "things", shards=16)
    for key in keys[1:]:
        cache.get(key)
    cache.put(digest("new"), {"value": "new"})  # replaces keys[0]
    cache.save()
    after = {path.name: path.read_bytes() for path in folder.glob("things-*.json")}
    changed = sorted(name for name in before if before[name] != after[name])
    expected = sorted({cache._path(cache._shard(keys[0])).name, cache._path(cache._shard(digest("new"))).name})
    assert changed == expected


def test_other_formats_and_shard_counts_are_removed_and_damage_is_ignored(tmp_path: Path) -> None:
    folder = tmp_path / CACHE_DIR
    folder.mkdir()
    (folder / "things-v1.json").write_text("{}")
    (folder / "things-v2-07.json").write_text("{}")  # from a sharded layout
    current = CacheFile(tmp_path, "things")._path(0)
    current.write_text("not json")
    assert not CacheFile(tmp_path, "things").has(digest("a"))  # damaged: read as empty
    _fill(tmp_path, [digest("a")], shards=1)
    assert sorted(path.name for path in folder.glob("things-*.json")) == [CacheFile(tmp_path, "things")._path(0).name]
    assert CacheFile(tmp_path, "things").has(digest("a"))
