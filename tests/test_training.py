"""The reference trainer, end to end under torchrun (2 CPU processes, gloo).

torch is only ever imported in subprocesses (its import costs seconds of every test run
that does not train), so the module is skipped by looking torch up rather than importing
it (pytest.importorskip would import it).
"""
from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("torch") is None:
    pytest.skip("torch is not installed (the [train] extra)", allow_module_level=True)

REPO = Path(__file__).resolve().parents[1]
STEPS = 30
PREEMPT_AT = 15
TINY = ["--model-config", "gpt-tiny,n_layer=2,n_embd=64,block_size=64", "--batch-size", "8",
        "--seq-len", "32", "--steps", str(STEPS), "--lr", "3e-3", "--log-every", "10",
        "--checkpoint-every", "10", "--keep-checkpoints", "0", "--device", "cpu"]


def _env() -> dict[str, str]:
    launcher_vars = ("TORCHELASTIC", "LOCAL_", "RANK", "WORLD_", "MASTER_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(launcher_vars)}
    env["PYTHONPATH"] = str(REPO)
    env["OMP_NUM_THREADS"] = "1"  # determinism and no oversubscription on small runners
    return env


def _torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1",
           "--nproc-per-node=2", "-m", "generator.training", *args]
    # A new session keeps the launcher's signals away from pytest's process group.
    return subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=180,
                          start_new_session=True, check=False)


def _single(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "generator.training", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=120, check=False)


def _python(code: str, cwd: Path) -> Any:
    """Run `code` in a fresh interpreter; it prints one JSON value, returned here."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _train(strategy: str, root: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    metrics = root / "stats.json"
    proc = _torchrun("--strategy", strategy, *TINY, "--checkpoint-dir", str(root / "ckpt"),
                     "--stats-out", str(metrics), *extra, cwd=root)
    return proc, (json.loads(metrics.read_text()) if metrics.exists() else {})


@pytest.fixture(scope="module", params=["ddp", "fsdp"])
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run A: uninterrupted. Run B: preempted by a real SIGTERM, then restarted."""
    strategy = request.param
    a_root, b_root = tmp_path_factory.mktemp(f"{strategy}-a"), tmp_path_factory.mktemp(f"{strategy}-b")
    a, a_metrics = _train(strategy, a_root)
    b1, b1_metrics = _train(strategy, b_root, "--simulate-preemption-at-step", str(PREEMPT_AT))
    b1_checkpoints = sorted(p.name for p in (b_root / "ckpt").iterdir())
    b2, b2_metrics = _train(strategy, b_root)
    return {"strategy": strategy, "a": a, "a_metrics": a_metrics, "b1": b1, "b1_metrics": b1_metrics,
            "b1_checkpoints": b1_checkpoints, "b2": b2, "b2_metrics": b2_metrics,
            "a_final": a_root / "ckpt" / f"step-{STEPS:08d}", "b_final": b_root / "ckpt" / f"step-{STEPS:08d}"}


@pytest.mark.slow
def test_loss_decreases_and_metrics_are_written(runs: dict[str, Any]) -> None:
    assert runs["a"].returncode == 0, runs["a"].stderr[-3000:]
    m = runs["a_metrics"]
    assert (m["strategy"], m["world_size"], m["steps"]) == (runs["strategy"], 2, STEPS)
    assert m["final_loss"] < 0.7 * m["initial_loss"], m["loss_history"]
    assert m["tokens_per_s"] > 0 and m["step_time_mean_s"] > 0
    assert m["peak_gpu_memory_gib"] is None and m["tokens_per_step"] == 2 * 8 * 32


@pytest.mark.slow
def test_sigterm_checkpoints_at_a_step_boundary_and_exits_nonzero(runs: dict[str, Any]) -> None:
    b1 = runs["b1"]
    assert b1.returncode != 0, "a preempted run must not look finished to Argo"
    assert "SIGTERM received, checkpointing at step" in b1.stderr
    stopped = runs["b1_metrics"]["steps"]
    assert PREEMPT_AT <= stopped < STEPS
    assert runs["b1_checkpoints"] == ["step-00000010", f"step-{stopped:08d}"]


@pytest.mark.slow
def test_resumed_run_is_bit_identical_to_uninterrupted_run(runs: dict[str, Any], tmp_path: Path) -> None:
    assert runs["b2"].returncode == 0, runs["b2"].stderr[-3000:]
    m = runs["b2_metrics"]
    assert m["resumed_from_step"] == runs["b1_metrics"]["steps"] and m["steps"] == STEPS
    assert m["final_loss"] == runs["a_metrics"]["final_loss"]
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "checkpoint_state.py"), str(runs["a_final"]),
                           str(runs["b_final"])], env=_env(), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["diff"] == [] and result["tensors"] > 50  # model + AdamW step, m and v


@pytest.mark.slow
def test_fsdp_checkpoints_are_sharded_per_rank_and_ddp_ones_whole(runs: dict[str, Any]) -> None:
    """FSDP state goes through torch.distributed.checkpoint: each rank writes its own
    shard file, no rank gathers the whole state; every file is in the manifest."""
    final = runs["a_final"]
    manifest = json.loads((final / "MANIFEST.json").read_text())["files"]
    on_disk = sorted(str(p.relative_to(final)) for p in final.rglob("*") if p.is_file() and p.name != "MANIFEST.json")
    assert sorted(manifest) == on_disk
    meta = json.loads((final / "meta.json").read_text())
    if runs["strategy"] == "fsdp":
        assert meta["state"] == "sharded" and not (final / "state.pt").exists()
        shards = sorted(p.name for p in (final / "dcp").glob("*.distcp"))
        assert shards == ["__0_0.distcp", "__1_0.distcp"] and (final / "dcp" / ".metadata").exists()
    else:
        assert meta["state"] == "full" and not (final / "dcp").exists()
    assert (final / "model.pt").exists()  # the final checkpoint carries whole weights either way


@pytest.mark.slow
def test_fsdp_checkpoint_resumes_on_another_world_size(runs: dict[str, Any], tmp_path: Path) -> None:
    """DCP reshards on load: two ranks' shards resume in a single process."""
    if runs["strategy"] != "fsdp":
        pytest.skip("resharding is a property of the sharded (FSDP) format")
    import shutil

    run = tmp_path / "ckpt"
    shutil.copytree(runs["a_final"], run / runs["a_final"].name)
    proc = _single("--strategy", "fsdp", *TINY, "--steps", str(STEPS + 2), "--checkpoint-dir", str(run),
                   "--stats-out", str(tmp_path / "m.json"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = json.loads((tmp_path / "m.json").read_text())
    assert (m["resumed_from_step"], m["steps"], m["world_size"]) == (STEPS, STEPS + 2, 1)
    # The first step after resuming starts from trained weights, not from a fresh model.
    assert m["initial_loss"] < 0.8 * runs["a_metrics"]["initial_loss"], (m, runs["a_metrics"]["initial_loss"])


BAD_CONFIGS = [
    (["--strategy", "zero3"], "invalid choice: 'zero3'"),
    (["--steps", "10"], "the following arguments are required: --strategy"),
    (["--strategy", "ddp", "--steps", "0"], "--steps: must be a positive integer"),
    (["--strategy", "ddp", "--batch-size", "-4"], "--batch-size: must be a positive integer"),
    (["--strategy", "ddp", "--lr", "nan"], "--lr: not a finite number"),
    (["--strategy", "ddp", "--model-config", "gpt-smal"], "did you mean 'gpt-small'"),
    (["--strategy", "ddp", "--model-config", "n_layers=2"], "did you mean 'n_layer'"),
    (["--strategy", "ddp", "--model-config", "n_embd=65"], "not divisible by n_head"),
    (["--strategy", "ddp", "--seq-len", "4096"], "exceeds the model's block_size"),
    (["--strategy", "ddp", "--data", "/nonexistent/tokens.bin"], "--data /nonexistent/tokens.bin"),
    (["--strategy", "ddp", "--data", "hdfs://bucket/tokens.bin"], "reads s3://, gs://, file:// or local paths"),
    (["--strategy", "ddp", "--data", "s3://bucket/tokens"], "remote data needs --data-cache"),
    (["--strategy", "ddp", "--checkpoint-interval", "soon"], "not a duration"),
    (["--strategy", "ddp", "--run-name", "a/b"], "--run-name 'a/b'"),
]


def _assert_refused(proc: subprocess.CompletedProcess[str], message: str, tmp_path: Path) -> None:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("generator.training: error:"), proc.stderr
    assert message in proc.stderr and proc.stdout == ""
    assert not (tmp_path / "out" / "metrics.json").exists() and not (tmp_path / "ckpt").exists()


@pytest.mark.parametrize(("argv", "message"), BAD_CONFIGS)
def test_bad_config_is_one_line_exit_2(argv: list[str], message: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process (conftest has loaded torch already): the same `main` the module runs."""
    from generator.training.cli import main

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ENDPOINT_URL", "MODELOPS_OUTCOME_DIR"):
        monkeypatch.delenv(name, raising=False)
    code = main([*argv, "--metrics-out", str(tmp_path / "out" / "metrics.json")])
    out, err = capsys.readouterr()
    _assert_refused(subprocess.CompletedProcess([], code, out, err), message, tmp_path)


def test_unwritable_checkpoint_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")  # a file where a directory must go fails even for root
    proc = _single("--strategy", "fsdp", "--checkpoint-dir", str(blocker / "ckpt"), cwd=tmp_path)
    _assert_refused(proc, "not writable", tmp_path)
    assert "--checkpoint-dir" in proc.stderr


@pytest.mark.skipif(Path("/dev/nvidiactl").exists(), reason="needs a machine without GPUs")
def test_cuda_without_gpus(tmp_path: Path) -> None:
    proc = _single("--strategy", "ddp", "--device", "cuda", "--checkpoint-dir", str(tmp_path / "ckpt"), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no CUDA GPU is visible" in proc.stderr
    assert "[rank0] training" not in proc.stderr  # refused before any process group


@pytest.mark.slow
def test_single_process_sigterm_exits_143_after_checkpoint_and_resumes(tmp_path: Path) -> None:
    common = ["--strategy", "ddp", *TINY, "--steps", "12", "--checkpoint-dir", str(tmp_path / "ckpt")]
    first = _single(*common, "--simulate-preemption-at-step", "5", cwd=tmp_path)
    assert first.returncode == 143, first.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["step-00000005"]
    second = _single(*common, "--stats-out", str(tmp_path / "m.json"), cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert (metrics["resumed_from_step"], metrics["steps"], metrics["world_size"]) == (5, 12, 1)


@pytest.mark.slow
def test_trains_on_a_token_file(tmp_path: Path) -> None:
    tokens = tmp_path / "train.bin"
    tokens.write_bytes(b"".join((i % 50).to_bytes(2, "little") for i in range(20_000)))
    proc = _single("--strategy", "fsdp", *TINY, "--data", str(tokens), "--stats-out", str(tmp_path / "m.json"),
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["final_loss"] < 0.5 * metrics["initial_loss"]


def test_data_is_a_function_of_seed_step_and_rank(tmp_path: Path) -> None:
    (tmp_path / "tokens.bin").write_bytes(b"".join(i.to_bytes(2, "little") for i in range(1000)))
    checks = _python("""
        import json, torch
        from generator.training.data import SyntheticData, TokenShards, list_shards
        def synth(rank, seed=0):
            return SyntheticData(vocab_size=256, seq_len=16, batch_size=4, seed=seed, rank=rank, world=2)
        def tokens(rank):
            return TokenShards(list_shards("tokens.bin"), vocab_size=1000, seq_len=8, batch_size=2, rank=rank, world=2)
        x, y = synth(0).batch(7)
        tx, ty = tokens(0).batch(0)
        print(json.dumps({
            "synthetic": [torch.equal(x, synth(0).batch(7)[0]), torch.equal(x[:, 1:], y[:, :-1]),
                          torch.equal(x, synth(1).batch(7)[0]), torch.equal(x, synth(0, seed=1).batch(7)[0]),
                          torch.equal(x, synth(0).batch(8)[0])],
            "window_starts": [tx[:, 0].tolist(), tokens(1).batch(0)[0][:, 0].tolist(),
                              tokens(0).batch(1)[0][:, 0].tolist()],
            "targets": ty[0].tolist(), "dtype": str(tx.dtype)}))
    """, tmp_path)
    assert checks["synthetic"] == [True, True, False, False, False]
    assert checks["window_starts"] == [[0, 8], [16, 24], [32, 40]]  # ranks read disjoint windows
    assert checks["targets"] == list(range(1, 9)) and checks["dtype"] == "torch.int64"


def test_training_package_imports_nothing_else_from_generator() -> None:
    for source in (REPO / "generator" / "training").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert not (name.startswith("generator") and not name.startswith("generator.training")), (source, name)
