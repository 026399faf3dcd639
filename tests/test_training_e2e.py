"""Training as the cluster runs it: the rendered container command, data and checkpoints in
a real S3 API (moto in server mode on 127.0.0.1, the `s3_server` fixture), preempted by a
real SIGTERM to the launcher, retried as Argo would, resumed bit-identically, and its
metrics fed to `modelops promote --metrics`.

torch is only imported in subprocesses (see tests/test_training.py).
"""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

if importlib.util.find_spec("torch") is None:
    pytest.skip("torch is not installed (the [train] extra)", allow_module_level=True)

RUN_STEPS = ["--set", "steps=16", "--set", "batch-size=8", "--set", "seq-len=64", "--set", "checkpoint-every=4",
             "--set", "log-every=4", "--set", "precision=fp32", "--set", "keep-checkpoints=0",
             "--set", "device=cpu", "--set", "nproc-per-node=2"]  # two ranks: sharded checkpoints


def _env(extra: dict[str, str]) -> dict[str, str]:
    launcher_vars = ("TORCHELASTIC", "LOCAL_", "RANK", "WORLD_", "MASTER_", "AWS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(launcher_vars)}
    return {**env, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **extra}


def _command(template: dict[str, Any], workdir: Path, run: str) -> tuple[list[str], dict[str, str]]:
    """The rendered container command as this machine runs it (one node, CPU), with the
    workflow's name substituted the way Argo does."""
    from generator.commands.train import local_command

    argv, env, _ = local_command(template, workdir, RUN_STEPS[1::2], keep_remote=True, run=run)
    return argv, env


def _fetch_metrics(template: dict[str, Any], workdir: Path, run: str, env: dict[str, str]) -> Path:
    """The workflow's `metrics` step, as rendered: copy rank 0's metrics out of the run folder."""
    step = next(t for t in template["spec"]["templates"] if t["name"] == "metrics")["container"]
    dest = workdir / "outputs" / "metrics.json"
    args = [a.replace("{{workflow.name}}", run).replace("/tmp/outputs/metrics.json", str(dest)) for a in step["args"]]
    proc = subprocess.run([sys.executable, *step["command"][1:], *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return dest


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _finish(proc: subprocess.Popen[bytes], log: Path, timeout: float = 240) -> tuple[int, str]:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return proc.returncode, log.read_text()


@pytest.fixture(scope="module")
def e2e(s3_server: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run A: uninterrupted. Run B: SIGTERM to the launcher mid-run, then run again."""
    from tests.conftest import copy_example

    root = tmp_path_factory.mktemp("e2e")
    repo = copy_example(root / "repo")
    from generator.cli import main as modelops

    assert modelops(["-C", str(repo), "render"]) == 0
    template = yaml.safe_load((repo / "environments/dev/support-chat/training/workflowtemplate.yaml").read_text())
    for bucket in ("datasets", "checkpoints"):
        s3_server.create_bucket(bucket)
    s3_server.upload_folder(ROOT / "data/s3/datasets/support/v7", "datasets", "support/v7")
    results: dict[str, Any] = {"template": template}
    argv_a, env_a = _command(template, root / "a", "support-chat-training-a")
    env = _env({**env_a, **s3_server.env()})
    results["a"] = _finish(_start(argv_a, env, root / "a.log"), root / "a.log")
    assert results["a"][0] == 0, f"run A exited {results['a'][0]}:\n{results['a'][1][-4000:]}"
    argv_b, _ = _command(template, root / "b", "support-chat-training-b")
    first = _start(argv_b, env, root / "b1.log")
    manifest = "support-chat/dev/support-chat-training-b/step-00000004/MANIFEST.json"
    deadline = time.monotonic() + 180
    while manifest not in s3_server.keys("checkpoints", "support-chat/dev/support-chat-training-b/") \
            and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.2)
    first.send_signal(signal.SIGTERM)  # what the kubelet sends PID 1 on preemption
    results["b1"] = _finish(first, root / "b1.log")
    results["b1_keys"] = s3_server.keys("checkpoints", "support-chat/dev/support-chat-training-b/")
    results["b2"] = _finish(_start(argv_b, env, root / "b2.log"), root / "b2.log")  # Argo's retry: same command
    results["metrics_a"] = _fetch_metrics(template, root / "a", "support-chat-training-a", env)
    results["metrics_b"] = _fetch_metrics(template, root / "b", "support-chat-training-b", env)
    results["repo"], results["root"], results["argv_b"], results["env"] = repo, root, argv_b, env
    return results


def _download(s3_server: Any, prefix: str, dest: Path) -> Path:
    for key in s3_server.keys("checkpoints", prefix):
        path = dest / key[len(prefix):]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(s3_server.read("checkpoints", key))
    return dest


@pytest.mark.slow
def test_rendered_command_trains_from_the_bucket(e2e: dict[str, Any]) -> None:
    code, log = e2e["a"]
    assert code == 0, log[-3000:]
    metrics = json.loads(e2e["metrics_a"].read_text())
    assert metrics["steps"] == 16 and metrics["run"] == "support-chat-training-a"
    assert metrics["dataset_uri"] == "s3://datasets/support/v7" and metrics["dataset_version"].startswith("sha256:")
    assert metrics["checkpoint_uri"] == "s3://checkpoints/support-chat/dev/support-chat-training-a/step-00000016"
    assert metrics["model_uri"].endswith("/step-00000016/model.pt") and metrics["eval_loss"] > 0
    assert set(metrics) == {"final_loss", "eval_loss", "tokens_per_second", "steps", "checkpoint_uri", "model_uri",
                            "dataset_uri", "dataset_version", "run"}


@pytest.mark.slow
def test_sigterm_to_the_launcher_exits_143_after_a_checkpoint(e2e: dict[str, Any]) -> None:
    code, log = e2e["b1"]
    assert code == 143, log[-3000:]  # torchrun alone would have exited 1, which Argo must not retry
    assert "exit 143: preempted" in log and "SIGTERM received, checkpointing at step" in log
    manifests = [k for k in e2e["b1_keys"] if k.endswith("MANIFEST.json")]
    assert len(manifests) >= 2 and "step-00000016" not in " ".join(manifests)


@pytest.mark.slow
def test_a_damaged_shard_in_the_bucket_falls_back_to_the_previous_checkpoint(e2e: dict[str, Any], s3_server: Any,
                                                                             tmp_path: Path) -> None:
    """One flipped bit in rank 0's shard of the last checkpoint: the ranks verify their
    shares of the manifest, the damage is reported once, and the run resumes one back."""
    prefix = "support-chat/dev/support-chat-training-b/"
    # Keep a copy of the intact run for the bit-identity test, which may run later.
    for key in s3_server.keys("checkpoints", prefix):
        s3_server.client().copy_object(Bucket="checkpoints", Key=key.replace(prefix, prefix[:-1] + "-copy/", 1),
                                       CopySource={"Bucket": "checkpoints", "Key": key})
    run = "support-chat/dev/support-chat-training-b-copy/"
    shard = f"{run}step-00000016/dcp/__0_0.distcp"
    data = bytearray(s3_server.read("checkpoints", shard))
    data[len(data) // 2] ^= 0x01
    s3_server.client().put_object(Bucket="checkpoints", Key=shard, Body=bytes(data))
    argv = [a.replace("support-chat-training-b", "support-chat-training-b-copy") for a in e2e["argv_b"]]
    code, log = _finish(_start(argv, e2e["env"], tmp_path / "retry.log"), tmp_path / "retry.log")
    assert code == 0, log[-3000:]
    warnings = [line for line in log.splitlines() if "skipping damaged checkpoint" in line]
    assert len(warnings) == 1 and "step-00000016" in warnings[0], warnings
    assert "dcp/__0_0.distcp does not match its sha256" in warnings[0]
    assert f"resumed from s3://checkpoints/{run}step-00000012 at step 12" in log
    assert "Traceback" not in log


@pytest.mark.slow
def test_retry_resumes_from_the_bucket_bit_identical(e2e: dict[str, Any], s3_server: Any, tmp_path: Path) -> None:
    code, log = e2e["b2"]
    assert code == 0, log[-3000:]
    assert "resumed from s3://checkpoints/support-chat/dev/support-chat-training-b/step-" in log
    folders = [_download(s3_server, f"support-chat/dev/support-chat-training-{run}/step-00000016/", tmp_path / run)
               for run in ("a", "b")]
    assert sorted(p.name for p in (folders[0] / "dcp").glob("*.distcp")) == ["__0_0.distcp", "__1_0.distcp"]
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "checkpoint_state.py"), *map(str, folders)],
                          env=_env({}), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["diff"] == [] and result["tensors"] > 20
    a, b = (json.loads(e2e[f"metrics_{r}"].read_text()) for r in ("a", "b"))
    assert (a["final_loss"], a["eval_loss"]) == (b["final_loss"], b["eval_loss"])


@pytest.mark.slow
def test_metrics_feed_promote(e2e: dict[str, Any], cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`promote --metrics FILE` reads the run's metrics JSON as written and gates on it
    (support-chat's promotion.metrics: eval_loss <= 2.1, which a 16-step tiny run misses)."""
    from tests.emulators.forge import ForgeEmulator
    from tests.lifecycle_helpers import git, repo_with_remote
    from tests.test_promote import TOKEN, promote_args

    metrics = json.loads(e2e["metrics_a"].read_text())
    remote, work = tmp_path / "remote.git", e2e["repo"]
    repo_with_remote(work, remote)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with ForgeEmulator(token=TOKEN, repos=("acme/gitops",)) as forge:
        code, _, err = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging",
                                                          "--metrics", str(e2e["metrics_a"])))
    assert code == 2, err
    assert f"metrics gate failed: eval_loss = {metrics['eval_loss']} does not satisfy <= 2.1" in err
    assert git(remote, "branch", "--list", "promote/*") == ""
