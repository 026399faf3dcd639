"""`modelops train`: the rendered command runs here (torchrun, 2 CPU processes), and the
WorkflowTemplate is submitted to the Argo Server emulator."""
from __future__ import annotations

import json

import pytest

from tests.emulators.argo_server import ArgoServerEmulator

TINY = """apiVersion: modelops.dev/v1
kind: Model
metadata: {name: tiny-lm, team: research, costCenter: cc-1, owner: research@example.com}
training:
  image: registry.example.com/research/trainer@sha256:%s
  gpus: {type: nvidia-l4, perNode: 2}
  strategy: ddp
  architecture: {preset: gpt-tiny}
  trainer: {steps: 12, batchSize: 4, seqLen: 32, checkpointEvery: 6}
  dataset: synthetic://tokens
  checkpoints: s3://checkpoints/tiny-lm
  maxDuration: 1h
  retries: 1
""" % ("a" * 64)


@pytest.fixture
def tiny_repo(example_repo):
    (example_repo / "models/tiny-lm.yaml").write_text(TINY)
    return example_repo


def test_local_runs_the_rendered_command(tiny_repo, cli, tmp_path):
    pytest.importorskip("torch")
    workdir = tmp_path / "run"
    code, _, err = cli("-C", str(tiny_repo), "train", "tiny-lm", "--env", "dev", "--local", "--workdir", str(workdir),
                       "--set", "precision=fp32", "--set", "nproc-per-node=2")
    assert code == 0, err
    command = next(line for line in err.splitlines() if "generator.training.launch" in line)
    assert "--standalone --nnodes=1 --nproc-per-node=2 -m generator.training --strategy ddp" in command
    assert "--steps 12" in command and "--data synthetic" in command
    assert "note: checkpoints s3://checkpoints/tiny-lm/dev ->" in err
    metrics = json.loads((workdir / "outputs/metrics.json").read_text())
    assert metrics["steps"] == 12 and metrics["run"].startswith("local-") and metrics["final_loss"] > 0
    run = workdir / "checkpoints" / metrics["run"]
    assert (run / "step-00000012" / "MANIFEST.json").exists() and metrics["checkpoint_uri"] == str(run / "step-00000012")


def test_example_trains_as_shipped_on_its_local_dataset_sample(example_repo, cli, tmp_path):
    """support-chat's dev run reads s3://datasets/support/v7: locally, the sample in data/s3/."""
    pytest.importorskip("torch")
    workdir = tmp_path / "run"
    code, _, err = cli("-C", str(example_repo), "train", "support-chat", "--env", "dev", "--local",
                       "--workdir", str(workdir), "--set", "steps=6")
    assert code == 0, err
    assert f"note: dataset s3://datasets/support/v7 -> {example_repo / 'data/s3/datasets/support/v7'}" in err
    assert "note: --nproc-per-node 8 -> 1" in err or "GPU(s) here" in err
    metrics = json.loads((workdir / "outputs/metrics.json").read_text())
    assert metrics["steps"] == 6 and metrics["dataset_version"].startswith("sha256:")
    assert metrics["dataset_uri"] == str(example_repo / "data/s3/datasets/support/v7")


def test_local_print_only_shows_overrides(tiny_repo, cli, tmp_path):
    code, _, err = cli("-C", str(tiny_repo), "train", "tiny-lm", "--env", "dev", "--local", "--print",
                       "--workdir", str(tmp_path), "--set", "steps=3", "--set", "nproc-per-node=1")
    assert code == 0
    assert "note: overriding steps=3" in err and "--nproc-per-node=1" in err and "--steps 3" in err


def test_model_without_training_is_an_error(tiny_repo, cli):
    code, _, err = cli("-C", str(tiny_repo), "train", "churn-scorer", "--env", "dev", "--local", "--print")
    assert code == 2 and "has no training section" in err


def test_submit_to_argo_server(tiny_repo, cli, monkeypatch):
    with ArgoServerEmulator(token="argo-token") as argo:
        monkeypatch.setenv("ARGO_SERVER", argo.url)
        monkeypatch.setenv("ARGO_TOKEN", "Bearer argo-token")
        code, out, err = cli("-C", str(tiny_repo), "train", "tiny-lm", "--env", "staging", "--submit")
        assert code == 0, err
        assert "submitted tiny-lm-training-" in out
        stored = argo.templates[("ml-staging", "tiny-lm-training")]
        train = next(t for t in stored["spec"]["templates"] if t["name"] == "train")
        assert train["retryStrategy"]["limit"] == 1
        assert len(argo.workflows) == 1
        monkeypatch.setenv("ARGO_TOKEN", "Bearer wrong")
        code, _, err = cli("-C", str(tiny_repo), "train", "tiny-lm", "--env", "staging", "--submit")
        assert code == 2 and "wrong" not in err
