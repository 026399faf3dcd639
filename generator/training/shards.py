"""The shards of a dataset: listing, sizes and a version tag. No torch, so the launcher can
check a dataset before torchrun starts without paying for torch's import."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from . import storage
from .config import ConfigError, InfraError

__all__ = ["Shard", "dataset_version", "list_shards"]


@dataclass(frozen=True)
class Shard:
    uri: str
    tokens: int
    tag: str  # ETag, generation or mtime: changes when the object changes


def list_shards(uri: str) -> list[Shard]:
    """The shards of `uri` (one file, or the `*.bin` files of a folder, by name); ConfigError if none."""
    try:
        fs, path = storage.filesystem(uri)
        info = fs.info(path)
        entries = [info] if info["type"] == "file" else [
            e for e in fs.ls(path, detail=True) if e["type"] == "file" and str(e["name"]).endswith(".bin")]
    except FileNotFoundError:
        raise ConfigError(f"--data {uri}: no such file or folder") from None
    except PermissionError as exc:
        raise ConfigError(f"--data {uri}: access denied ({exc}); check the pod's credentials") from None
    except ValueError as exc:
        raise ConfigError(f"--data {exc}") from None
    except OSError as exc:
        raise InfraError(f"--data {uri}: storage unreachable ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - botocore/google-auth errors are not OSErrors
        if "Credentials" in type(exc).__name__ or "Auth" in type(exc).__name__:
            raise ConfigError(f"--data {uri}: no usable credentials ({type(exc).__name__}); set the provider's "
                              "standard credentials (e.g. AWS_* variables or the pod's service account)") from None
        raise InfraError(f"--data {uri}: {type(exc).__name__}: {exc}") from None
    local = storage.is_local(fs)
    shards = []
    for entry in sorted(entries, key=lambda e: str(e["name"])):
        size = int(entry["size"])
        if size % 2:
            raise ConfigError(f"--data {entry['name']}: size {size} is odd, not a flat uint16 token file")
        name = str(entry["name"]) if local else _with_scheme(uri, str(entry["name"]))
        tag = str(entry.get("ETag") or entry.get("etag") or entry.get("generation") or entry.get("mtime") or "")
        shards.append(Shard(name, size // 2, tag))
    if not shards:
        raise ConfigError(f"--data {uri}: no .bin token shards found")
    return shards


def _with_scheme(uri: str, name: str) -> str:
    return f"{uri.split('://', 1)[0]}://{name}" if "://" in uri else name


def dataset_version(shards: list[Shard]) -> str:
    """A short content tag of the dataset: names, sizes and object tags of every shard."""
    digest = hashlib.sha256("\n".join(f"{s.uri.rsplit('/', 1)[-1]}:{s.tokens}:{s.tag}" for s in shards).encode())
    return "sha256:" + digest.hexdigest()[:16]
