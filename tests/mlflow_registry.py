"""A real MLflow tracking server (sqlite backend, local artifact folder) on 127.0.0.1 for
tests of `release --from-registry`, seeded through the MLflow client with one registered
model, two versions, their runs' metrics and an alias (MLflow 3: aliases, not stages).

`mlflow_server` skips the test when MLflow is not installed, and always stops the server.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["RegistrySeed", "digest_image", "mlflow_server", "seed_registry", "seed_run_model"]

STARTUP_TIMEOUT = 240.0  # sqlite migrations take a while on a loaded 2-core machine


def digest_image(model: str, digit: str) -> str:
    return f"registry.example.com/ml-team/{model}@sha256:{digit * 64}"


@dataclass(frozen=True)
class RegistrySeed:
    url: str
    model: str
    # version -> (eval_loss, image)
    versions: dict[str, tuple[float, str]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mlflow server exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"mlflow server did not become healthy in {STARTUP_TIMEOUT:.0f}s: {log.read_text()[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


@contextmanager
def mlflow_server(folder: Path) -> Iterator[str]:
    """Start `mlflow server` (its own process group), yield its URL, stop it whatever happens."""
    if importlib.util.find_spec("mlflow") is None:
        pytest.skip("mlflow is not installed (the optional extra modelops[registry])")
    executable = shutil.which("mlflow") or str(Path(sys.executable).parent / "mlflow")
    if not Path(executable).exists():
        pytest.skip("the mlflow executable is not on PATH")
    port, log = _free_port(), folder / "mlflow.log"
    command = [executable, "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
               "--default-artifact-root", str(folder / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, process, log)
        yield url
    finally:
        _stop(process)


def seed_registry(url: str, model: str) -> RegistrySeed:
    """Two runs (eval_loss 2.3 and 1.9), two versions of `model`, alias `champion` -> 2."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=url, registry_uri=url)
    experiment = client.create_experiment(f"{model}-training")
    client.create_registered_model(model)
    versions = {}
    for number, (loss, digit) in enumerate(((2.3, "7"), (1.9, "8")), start=1):
        run = client.create_run(experiment).info.run_id
        client.log_metric(run, "eval_loss", loss)
        client.log_metric(run, "tokens_per_second", 1000.0 * number)
        client.set_tag(run, "modelops.image", digest_image(model, digit))
        client.set_terminated(run)
        version = client.create_model_version(model, f"s3://models/{model}/v{number}/", run_id=run)
        versions[str(version.version)] = (loss, digest_image(model, digit))
    client.set_registered_model_alias(model, "champion", "2")
    return RegistrySeed(url, model, versions)


def seed_run_model(url: str, model: str) -> str:
    """A version registered from `runs:/RUN/model` (the MLflow UI's way): its weights live in
    the run's artifact store, here the server's local folder. Returns that run's artifact URI."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=url, registry_uri=url)
    run = client.create_run(client.create_experiment(f"{model}-runs"))
    client.log_metric(run.info.run_id, "eval_loss", 1.5)
    client.create_registered_model(model)
    client.create_model_version(model, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    return str(run.info.artifact_uri)
