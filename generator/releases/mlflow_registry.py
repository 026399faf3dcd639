"""A model version in an MLflow model registry (MLflow 3: aliases, not stages).

`models:/NAME@ALIAS` or `models:/NAME/VERSION`, read with MLflow's own client, so
`MLFLOW_TRACKING_URI` (and `MLFLOW_REGISTRY_URI`) and MLflow's auth variables
(`MLFLOW_TRACKING_TOKEN`, `MLFLOW_TRACKING_USERNAME`/`_PASSWORD`, ...) configure it as
they do every other MLflow tool. MLflow is the optional extra `modelops[registry]`,
imported only here, only when a registry is read.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from generator.errors import ModelopsError
from generator.releases.candidate import Candidate, numeric_metrics

__all__ = ["candidate_from_registry", "parse_model_uri"]

_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[A-Za-z0-9_-]+)|/(?P<version>[0-9]+))$")
# Fail in seconds, not after MLflow's default of 7 retries with backoff; the user's own
# settings win.
_QUICK = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
          "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0"}
IMAGE_TAG, TRAINING_IMAGE_TAG = "modelops.image", "modelops.trainingImage"


def parse_model_uri(uri: str) -> tuple[str, str | None, str | None]:
    """(name, alias, version) of `models:/NAME@ALIAS` or `models:/NAME/VERSION`."""
    match = _URI.match(uri.strip())
    if not match:
        raise ModelopsError(f"--from-registry {uri!r}: expected models:/NAME@ALIAS or models:/NAME/VERSION")
    return match["name"], match["alias"], match["version"]


@contextmanager
def _quick_failures() -> Iterator[None]:
    added = [k for k in _QUICK if k not in os.environ]
    os.environ.update({k: _QUICK[k] for k in added})
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _redact(text: str) -> str:
    from generator.gitops.git import redact

    first = next((line.strip() for line in text.splitlines() if line.strip()), "error")
    return redact(first)[:400]


def _client(env: Mapping[str, str]) -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise ModelopsError("reading an MLflow registry needs MLflow: pip install 'modelops[registry]'") from None
    tracking = env.get("MLFLOW_TRACKING_URI", "").strip()
    if not tracking:
        raise ModelopsError("MLFLOW_TRACKING_URI is not set: export the address of your MLflow tracking server")
    return MlflowClient(tracking_uri=tracking, registry_uri=env.get("MLFLOW_REGISTRY_URI") or tracking)


def _storage_uri(client: Any, uri: str) -> str:
    """`runs:/RUN/path` and MLflow 3 logged models (`models:/m-...`) as the storage they live in."""
    if uri.startswith("runs:/"):
        run_id, _, path = uri.removeprefix("runs:/").partition("/")
        base = str(client.get_run(run_id).info.artifact_uri).rstrip("/")
        return f"{base}/{path}" if path else base
    if uri.startswith("models:/m-"):
        return str(client.get_logged_model(uri.removeprefix("models:/").strip("/")).artifact_location)
    return uri


def _read(client: Any, name: str, alias: str | None, version: str | None) -> tuple[Any, str, Any]:
    found = client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, version)
    uri = client.get_model_version_download_uri(name, found.version)
    run = client.get_run(found.run_id) if found.run_id else None
    return found, _storage_uri(client, str(uri or found.source or "")), run


def candidate_from_registry(uri: str, env: Mapping[str, str] = os.environ) -> Candidate:
    """The version's artifact URI, its run's metrics, and image tags, as a release candidate."""
    name, alias, version = parse_model_uri(uri)
    client = _client(env)
    from mlflow.exceptions import MlflowException

    try:
        with _quick_failures():
            found, model_uri, run = _read(client, name, alias, version)
    except MlflowException as error:
        what = f"alias '{alias}'" if alias else f"version {version}"
        if getattr(error, "error_code", "") in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise ModelopsError(f"MLflow registry: model '{name}' has no {what} ({_redact(str(error))})") from None
        where = _redact(env.get("MLFLOW_TRACKING_URI", ""))
        if "Max retries exceeded" in str(error) or "Failed to establish" in str(error):
            raise ModelopsError(f"cannot reach the MLflow registry at {where} (MLFLOW_TRACKING_URI) to read "
                                f"{uri}") from None
        raise ModelopsError(f"MLflow registry at {where} failed for {uri}: {_redact(str(error))}") from None
    except OSError as error:
        raise ModelopsError(f"cannot reach the MLflow registry: {_redact(str(error))}") from None
    tags = {**(run.data.tags if run else {}), **(found.tags or {})}
    return Candidate(source=f"models:/{name}/{found.version}", model_uri=model_uri, version=str(found.version),
                     image=tags.get(IMAGE_TAG, ""), training_image=tags.get(TRAINING_IMAGE_TAG, ""),
                     metrics=numeric_metrics(dict(run.data.metrics) if run else {}))
