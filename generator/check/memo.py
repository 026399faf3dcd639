"""`check` answered whole from its last run over the same bytes: CI's nothing-changed path.

The per-pair cache (`incremental`) still loads the repository to compute its keys, which
for a thousand specs is most of a warm run. This memo keys the whole result instead, on
the bytes of every spec and environment file (with their names), `.modelops.yaml`, the
tools (`incremental.tools_digest`), modelops's own files, and the arguments that select
what is checked. A hit skips loading: the same bytes passed loading before and would
again. Anything the bytes do not capture is never answered from the memo: a symbolic link
among the inputs (where it points is checked on load), `--rendered`, a remote engine,
Gatekeeper folders. Waivers are applied after, as for the pair cache, so a waiver that
expires today still fails today.
"""
from __future__ import annotations

import fnmatch
import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from generator.cache import CacheFile, code_digest, digest
from generator.check.run import CheckOptions, CheckResult
from generator.config import CONFIG_FILE
from generator.findings import Finding
from generator.report.model import RuleInfo
from generator.spec.load import ENVIRONMENTS_DIR, MODELS_DIR, SPEC_PATTERN

__all__ = ["memo_key", "recall", "remember"]

MEMO_NAME = "check-run"


def _regular_files(folder: Path, keep: Callable[[str], bool]) -> Iterator[tuple[str, Path]] | None:
    """(name, path) of the entries `keep` selects; None when one is not a plain file."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except FileNotFoundError:
        return iter(())
    found = []
    for entry in entries:
        if not keep(entry.name):
            continue
        if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
            return None
        found.append((entry.name, Path(entry.path)))
    return iter(found)


def _inputs_digest(root: Path) -> str | None:
    """Names and bytes of every spec, environment file and `.modelops.yaml`; None when an
    input is a link, not a plain file or unreadable (the loader explains those)."""
    try:
        return _hash_inputs(root)
    except OSError:
        return None


def _hash_inputs(root: Path) -> str | None:
    h = hashlib.sha256()
    environments = root / ENVIRONMENTS_DIR
    folders = [e for e in os.scandir(environments) if e.is_dir()] if environments.is_dir() else []
    for folder in sorted(folders, key=lambda e: e.name):
        env_file = Path(folder.path) / "environment.yaml"
        if folder.is_symlink() or env_file.is_symlink():
            return None
        if not env_file.exists():
            continue
        if not env_file.is_file():
            return None
        h.update(f"environment {folder.name}\0".encode() + env_file.read_bytes() + b"\1")
    models = _regular_files(root / MODELS_DIR, lambda name: fnmatch.fnmatch(name, SPEC_PATTERN))
    if models is None or (root / MODELS_DIR).is_symlink():
        return None
    for name, path in models:
        h.update(f"model {name}\0".encode() + path.read_bytes() + b"\1")
    config = root / CONFIG_FILE
    if config.is_symlink():
        return None
    h.update(b"config\0" + (config.read_bytes() if config.is_file() else b"") + b"\1")
    return h.hexdigest()


def memo_key(root: Path, options: CheckOptions, selection: Sequence[object], tools: str) -> str | None:
    """The key of this run's result, or None when it must not be answered from the memo;
    `tools` is `tools_digest(root, options)`."""
    inputs = _inputs_digest(root)
    if inputs is None:
        return None
    return digest("check-run", inputs, tools, code_digest(),
                  repr([str(options.kubernetes_version), str(options.plan_for is not None), *map(repr, selection)]))


def recall(root: Path, key: str) -> CheckResult | None:
    """The stored result before waivers, or None."""
    entry = CacheFile(root, MEMO_NAME).get(key)
    if not isinstance(entry, dict):
        return None
    try:
        return CheckResult(findings=[Finding(**f) for f in entry["findings"]],
                           checked=[(model, env) for model, env in entry["checked"]],
                           documents_checked=int(entry["documents"]),
                           rules={rule_id: RuleInfo(**info) for rule_id, info in entry["rules"].items()},
                           timings={"answered-whole": 1.0, "cached-pairs": float(entry["pairs"])},
                           engine=str(entry["engine"]))
    except (KeyError, TypeError, ValueError):
        return None  # an entry of another shape: check again


def remember(root: Path, key: str, result: CheckResult) -> None:
    """Keep `result` (before waivers) as the only entry: the next identical run reads it."""
    cache = CacheFile(root, MEMO_NAME)
    cache.put(key, {"findings": [f.to_dict() for f in result.findings], "checked": result.checked,
                    "documents": result.documents_checked,
                    "rules": {rule_id: vars(info) for rule_id, info in result.rules.items()},
                    "engine": result.engine, "pairs": int(result.timings.get("pairs", 0))})
    cache.save()
