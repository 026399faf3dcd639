"""One way to reach files: local paths, `file://`, `s3://` and `gs://` through fsspec.

Credentials and endpoints are the providers' standard ones, read by s3fs/gcsfs
themselves: for S3 the AWS environment (`AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, web identity
tokens from IRSA, ...), for GCS application default credentials (workload identity on
GKE). `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_S3`) points S3 at a compatible server,
which is how the tests reach a local moto server.
"""
from __future__ import annotations

import hashlib
import os
from typing import Any

__all__ = [
    "SCHEMES",
    "exists",
    "filesystem",
    "fsspec_options",
    "is_local",
    "is_remote",
    "join",
    "listdir",
    "local_path",
    "read_bytes",
    "remove",
    "remove_tree",
    "sha256_of",
    "write_bytes",
]

SCHEMES = ("s3", "gs", "gcs", "file")


def is_remote(uri: str) -> bool:
    return uri.split("://", 1)[0] in ("s3", "gs", "gcs") if "://" in uri else False


def _scheme(uri: str) -> str:
    return uri.split("://", 1)[0] if "://" in uri else "file"


def filesystem(uri: str) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) for `uri`; raises ValueError for schemes we do not read."""
    import fsspec  # type: ignore[import-untyped]

    scheme = _scheme(uri)
    if scheme not in SCHEMES:
        raise ValueError(f"{uri}: unsupported scheme '{scheme}://' (supported: s3://, gs://, file:// or a local path)")
    if scheme == "file":
        return fsspec.filesystem("file"), local_path(uri)
    fs, path = fsspec.core.url_to_fs(uri, **fsspec_options(uri))
    return fs, path


def fsspec_options(uri: str) -> dict[str, Any]:
    """Storage options for fsspec beyond what s3fs/gcsfs read themselves: the S3 endpoint
    from `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` (older s3fs releases ignore both)."""
    if _scheme(uri) != "s3":
        return {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    return {"client_kwargs": {"endpoint_url": endpoint}} if endpoint else {}


def local_path(uri: str) -> str:
    """The path of a local or `file://` URI."""
    return uri.split("://", 1)[1] if "://" in uri else uri


def is_local(fs: Any) -> bool:
    from fsspec.implementations.local import LocalFileSystem  # type: ignore[import-untyped]

    return isinstance(fs, LocalFileSystem)


def join(uri: str, *parts: str) -> str:
    return "/".join([uri.rstrip("/"), *(p.strip("/") for p in parts)])


def read_bytes(uri: str) -> bytes:
    fs, path = filesystem(uri)
    data: bytes = fs.cat_file(path)
    return data


def write_bytes(uri: str, data: bytes) -> None:
    """Write `data` whole. Local files are staged, fsynced and renamed; an object store
    PUT is atomic by itself (a reader sees the old object, the new one, or none)."""
    fs, path = filesystem(uri)
    if is_local(fs):
        _write_local(path, data)
    else:
        fs.pipe_file(path, data)


def _write_local(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def exists(uri: str) -> bool:
    fs, path = filesystem(uri)
    fs.invalidate_cache()
    return bool(fs.exists(path))


def listdir(uri: str) -> list[str]:
    """Names (not paths) directly under `uri`; empty when it does not exist."""
    fs, path = filesystem(uri)
    fs.invalidate_cache()
    try:
        entries = fs.ls(path, detail=False)
    except FileNotFoundError:
        return []
    return sorted({str(e).rstrip("/").rsplit("/", 1)[-1] for e in entries})


def remove(uri: str) -> None:
    fs, path = filesystem(uri)
    try:
        fs.rm_file(path)
    except FileNotFoundError:
        pass


def remove_tree(uri: str) -> None:
    fs, path = filesystem(uri)
    fs.invalidate_cache()
    try:
        fs.rm(path, recursive=True)
    except FileNotFoundError:
        pass


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
