"""Which of kubernetes-validate's schema sets serves a Kubernetes version.

Kept apart from the schemas themselves so that `check` can refuse a bad version before it
imports a validator (a check answered from the cache imports none)."""
from __future__ import annotations

import importlib.util
import os
import re
from functools import lru_cache
from pathlib import Path

from generator.errors import ModelopsError

__all__ = ["kubernetes_schema_version"]

_KUBERNETES_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.\d+)?")
_SCHEMA_SET = re.compile(r"v(\d+\.\d+\.\d+)-local(?:-strict)?")  # kubernetes-validate's folder names


def kubernetes_schema_version(requested: str) -> str:
    """The kubernetes-validate schema set for a Kubernetes version (`1.33`, `v1.33.2`): the
    newest one of the same minor or older, as kubernetes-validate picks. Versions compare as
    numbers (as strings, `1.9` came after `1.37`), and a version newer than every shipped
    set is refused, as kubernetes-validate refuses it: an API the newer release removed
    would pass against the older schemas."""
    match = _KUBERNETES_VERSION.fullmatch(requested.strip())
    if match is None:
        raise ModelopsError(f"Kubernetes version {requested!r} is not a version: expected X.Y, e.g. 1.33")
    wanted = (int(match[1]), int(match[2]))
    shipped = _shipped_kubernetes_versions()
    if not shipped:
        raise ModelopsError("kubernetes-validate ships no Kubernetes schemas; reinstall it")
    span = f"kubernetes-validate ships schemas for {_minor(shipped[0])} to {_minor(shipped[-1])}"
    if wanted > _numbers(shipped[-1]):
        raise ModelopsError(f"Kubernetes {match[1]}.{match[2]} is newer than the schemas modelops has: {span}; "
                            "upgrade kubernetes-validate")
    older = [v for v in shipped if _numbers(v) <= wanted]
    if not older:
        raise ModelopsError(f"Kubernetes {match[1]}.{match[2]} is older than the schemas modelops has: {span}")
    return older[-1]


@lru_cache(maxsize=1)
def _shipped_kubernetes_versions() -> tuple[str, ...]:
    """kubernetes-validate's schema versions (`1.33.0`), oldest first, by number."""
    spec = importlib.util.find_spec("kubernetes_validate")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    found = set()
    for folder in folders:
        schemas = Path(folder) / "kubernetes-json-schema"
        if schemas.is_dir():
            found |= {m[1] for m in map(_SCHEMA_SET.fullmatch, os.listdir(schemas)) if m}
    return tuple(sorted(found, key=lambda v: tuple(int(n) for n in v.split("."))))


def _numbers(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])
