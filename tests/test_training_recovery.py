"""Recovery paths of the reference trainer and its launcher: damaged checkpoints, one folder
per run, hung ranks, configuration errors under torchrun, exit-code mapping.

torch is only imported in subprocesses (see tests/test_training.py).
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator.training.launch import classify, split_command
from generator.training.outcome import (
    EXIT_BUG,
    EXIT_CONFIG,
    EXIT_INFRA,
    EXIT_OK,
    EXIT_PREEMPTED,
)
from tests.conftest import ROOT

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
TINY = ["--strategy", "ddp", "--model-config", "gpt-tiny,n_layer=1,n_embd=32,block_size=32", "--batch-size", "4",
        "--seq-len", "16", "--lr", "3e-3", "--log-every", "2", "--device", "cpu", "--eval-batches", "1"]


def _env(**extra: str) -> dict[str, str]:
    launcher_vars = ("TORCHELASTIC", "LOCAL_", "RANK", "WORLD_", "MASTER_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(launcher_vars)}
    return {**env, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **extra}


def _single(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "generator.training", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=180, check=False)


def _launch(*args: str, cwd: Path, nproc: int = 2, timeout: float = 180, **env: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "generator.training.launch", "--standalone", "--nnodes=1",
           f"--nproc-per-node={nproc}", "-m", "generator.training", *args]
    return subprocess.run(cmd, cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=timeout,
                          start_new_session=True, check=False)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One finished 12-step run, wf-1, checkpointed by time (an interval shorter than a step)."""
    root = tmp_path_factory.mktemp("runs")
    proc = _single(*TINY, "--checkpoint-dir", str(root / "ckpt"), "--run-name", "wf-1", "--steps", "12",
                   "--checkpoint-interval", "0.001s", "--keep-checkpoints", "0", cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return root


@needs_torch
@pytest.mark.slow
def test_checkpoints_are_written_by_time_without_a_step_interval(finished_run: Path) -> None:
    steps = sorted(p.name for p in (finished_run / "ckpt" / "wf-1").iterdir())
    assert len(steps) >= 4 and steps[-1] == "step-00000012", steps  # not only at the end
    assert all((finished_run / "ckpt" / "wf-1" / name / "MANIFEST.json").exists() for name in steps)


@needs_torch
@pytest.mark.slow
def test_damaged_latest_checkpoint_falls_back_to_the_previous_one(finished_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "ckpt" / "wf-1"
    shutil.copytree(finished_run / "ckpt" / "wf-1", run)
    steps = sorted(p.name for p in run.iterdir())
    state = run / steps[-1] / "state.pt"
    data = bytearray(state.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit: loads silently without the manifest's sha256
    state.write_bytes(bytes(data))
    (run / steps[-2] / "MANIFEST.json").unlink()  # an interrupted write: no manifest, no checkpoint
    proc = _single(*TINY, "--checkpoint-dir", str(tmp_path / "ckpt"), "--run-name", "wf-1", "--steps", "14",
                   "--checkpoint-interval", "0", "--stats-out", str(tmp_path / "stats.json"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    warnings = [line for line in proc.stderr.splitlines() if "skipping damaged checkpoint" in line]
    assert len(warnings) == 2 and steps[-1] in warnings[0] and "sha256" in warnings[0]
    assert "no manifest" in warnings[1]
    assert "Traceback" not in proc.stderr
    assert json.loads((tmp_path / "stats.json").read_text())["resumed_from_step"] == int(steps[-3][5:])


@needs_torch
@pytest.mark.slow
def test_a_second_scheduled_run_trains_in_a_new_folder(finished_run: Path) -> None:
    """CronWorkflow runs have different workflow names: the second trains every step
    again (warm-started from the first with --init-from), instead of resuming at the end."""
    root = finished_run
    proc = _single(*TINY, "--checkpoint-dir", str(root / "ckpt"), "--steps", "6", "--run-name", "wf-2",
                   "--init-from", str(root / "ckpt" / "wf-1"), "--stats-out", str(root / "s.json"), cwd=root)
    assert proc.returncode == 0, proc.stderr[-2000:]
    stats = json.loads((root / "s.json").read_text())
    assert (stats["resumed_from_step"], stats["steps"]) == (0, 6) and len(stats["loss_history"]) == 3
    assert "initialised weights from" in proc.stderr and "wf-1/step-00000012" in proc.stderr
    assert (root / "ckpt" / "wf-2" / "step-00000006" / "MANIFEST.json").exists()


@needs_torch
@pytest.mark.slow
def test_a_hung_rank_ends_the_job_within_the_collective_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = _launch(*TINY, "--steps", "40", "--collective-timeout", "5s", "--simulate-hang-at-step", "3",
                   cwd=tmp_path, TORCH_ELASTIC_SHUTDOWN_TIMEOUT="3")
    elapsed = time.monotonic() - started
    assert proc.returncode == EXIT_INFRA, proc.stderr[-3000:]
    assert "infrastructure failure on rank 0" in proc.stderr and "exit 75" in proc.stderr
    assert elapsed < 150  # the default gloo timeout alone would be 30 minutes


@needs_torch
def test_config_error_under_the_launcher_is_one_line_exit_2(tmp_path: Path) -> None:
    """Found before torchrun starts, so no rank can be killed before it prints (the old flake)."""
    proc = _launch("--strategy", "ddp", "--steps", "-1", "--checkpoint-dir", str(tmp_path / "ckpt"), cwd=tmp_path)
    assert proc.returncode == EXIT_CONFIG
    assert proc.stderr.splitlines() == [("generator.training: error: argument --steps: must be a positive integer, "
                                         "got '-1'")]
    assert not (tmp_path / "ckpt").exists()


@needs_torch
@pytest.mark.skipif(Path("/dev/nvidiactl").exists(), reason="needs a machine without GPUs")
def test_a_rank_level_config_error_is_printed_once_by_the_launcher(tmp_path: Path) -> None:
    """The old flake: a config error only a worker can see (no GPU for --device cuda) was
    printed by local rank 0 alone, which torchrun could kill first. Every rank reports it
    to the launcher, which prints it once."""
    proc = _launch("--strategy", "ddp", "--device", "cuda", "--steps", "2", cwd=tmp_path)
    assert proc.returncode == EXIT_CONFIG, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("generator.training: error:")]
    assert errors == [("generator.training: error: --device cuda but no CUDA GPU is visible "
                       "(check the pod's nvidia.com/gpu request)")]
    assert "exit 2: bad configuration" in proc.stderr


@needs_torch
def test_rendezvous_host_that_never_resolves_is_infrastructure(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "generator.training.launch", "--nnodes=2", "--nproc-per-node=1", "--node-rank=1",
           "--master-addr=pod-0.never-resolves.invalid", "--master-port=29500", "-m", "generator.training",
           "--strategy", "ddp", "--device", "cpu"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=_env(MODELOPS_RENDEZVOUS_WAIT="1"), capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == EXIT_INFRA and "did not resolve within 1s" in proc.stderr
    assert "torch.distributed" not in proc.stderr  # torchrun never started


@needs_torch
def test_missing_dataset_is_a_config_error_before_torchrun(tmp_path: Path) -> None:
    proc = _launch("--strategy", "ddp", "--data", str(tmp_path / "missing"), cwd=tmp_path)
    assert proc.returncode == EXIT_CONFIG and proc.stderr.count("\n") == 1
    assert "no such file or folder" in proc.stderr


def test_split_command_keeps_the_module_arguments_apart() -> None:
    options, module, args = split_command(["--standalone", "--nproc-per-node=2", "-m", "generator.training",
                                           "--strategy", "ddp", "-m", "x"])
    assert options == ["--standalone", "--nproc-per-node=2"] and module == "generator.training"
    assert args == ["--strategy", "ddp", "-m", "x"]


@pytest.mark.parametrize(("returncode", "outcomes", "signalled", "builtin", "expected"), [
    (0, {0: 0, 1: 0}, False, True, EXIT_OK),
    (1, {0: EXIT_PREEMPTED, 1: EXIT_PREEMPTED}, False, True, EXIT_PREEMPTED),  # torchrun says 1; workers say 143
    (1, {0: EXIT_PREEMPTED}, True, True, EXIT_PREEMPTED),                    # SIGTERM to the pod
    (1, {0: EXIT_INFRA}, False, True, EXIT_INFRA),                           # collective timeout on rank 0
    (1, {0: EXIT_BUG, 1: EXIT_INFRA}, False, True, EXIT_BUG),                 # a bug wins over its fallout
    (1, {0: EXIT_CONFIG}, True, True, EXIT_CONFIG),
    (1, {0: 0}, False, True, EXIT_INFRA),                                     # rank 1 died without a word
    (1, {}, False, False, EXIT_BUG),                                          # a custom trainer failed
    (2, {}, False, True, EXIT_CONFIG),                                        # torchrun refused its arguments
])
def test_classify(returncode: int, outcomes: dict[int, int], signalled: bool, builtin: bool, expected: int) -> None:
    assert classify(returncode, outcomes, local_world=2, signalled=signalled, builtin=builtin) == expected


@needs_torch
def test_a_run_folder_held_by_a_live_writer_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "ckpt" / "wf-1"
    run.mkdir(parents=True)
    (run / "LOCK").write_text(json.dumps({"owner": "other-pod/1/abc", "expires": time.time() + 3600}))
    proc = _single(*TINY, "--steps", "2", "--checkpoint-dir", str(tmp_path / "ckpt"), "--run-name", "wf-1",
                   cwd=tmp_path)
    assert proc.returncode == EXIT_CONFIG, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "in use by other-pod/1/abc" in errors[0]
    assert sorted(p.name for p in run.iterdir()) == ["LOCK"]  # nothing written


@needs_torch
@pytest.mark.slow
def test_an_expired_lock_is_taken_over_and_released_at_the_end(tmp_path: Path) -> None:
    run = tmp_path / "ckpt" / "wf-1"
    run.mkdir(parents=True)
    (run / "LOCK").write_text(json.dumps({"owner": "dead-pod/1/abc", "expires": time.time() - 10}))
    proc = _single(*TINY, "--steps", "2", "--checkpoint-dir", str(tmp_path / "ckpt"), "--run-name", "wf-1",
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in run.iterdir()) == ["step-00000002"]
