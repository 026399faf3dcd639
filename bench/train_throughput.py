"""Reference trainer vs a plain hand-written PyTorch loop: same model, same settings, same
threads, interleaved trials; median and range of tokens/s; world size 1 and, where eight
GPUs exist, 8.

    python bench/train_throughput.py                         # CUDA: GPT-2 124M, ctx 1024, batch 32/GPU, bf16, compile
    python bench/train_throughput.py --steps 6 --trials 2    # CPU: a tiny config, to check the harness

Both sides are launched the same way, as separate processes under torchrun with the same
environment (OMP_NUM_THREADS included): the trainer exactly as the rendered
WorkflowTemplate runs it (`python -m generator.training.launch --standalone ... -m
generator.training ...`), the plain loop as `torchrun bench/train_throughput.py --plain`.
Trials alternate trainer, plain, plain, trainer, ... so drift (clocks, thermals, a noisy
neighbour) hits both alike. Each side times the same steps after the same warm-up.
The plain loop is the obvious DDP loop: the same GPT class, AdamW (fused on CUDA), bf16
autocast, grad clipping, a host batch copied per step; no checkpoints, no stop votes.
MFU = tokens/s x training FLOPs per token / (world x the detected GPU's dense bf16 peak).
Target (issue 13): the trainer within 95% of the plain loop's tokens/s on an H100.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Dense bf16 tensor-core peaks (no sparsity) in TFLOP/s, by substring of the device name;
# the first match wins, so the more specific names come first.
PEAK_BF16_TFLOPS = {"H100 PCIe": 756.0, "H100 NVL": 835.0, "H200": 989.4, "H100": 989.4, "A100": 312.0,
                    "L40S": 362.1, "L4": 121.0, "A10G": 70.0, "T4": 65.0}


def main() -> int:
    args = _parse()
    if args.plain:
        return _plain_worker(args)
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    worlds = args.world_sizes or ([1, 8] if gpus >= 8 else [1])
    settings = _settings(args, gpus > 0)
    device = torch.cuda.get_device_name(0) if gpus else "cpu"
    peak = args.peak_tflops or (next((v for k, v in PEAK_BF16_TFLOPS.items() if k in device), None) if gpus else None)
    print(f"device {device} x {gpus}; {json.dumps(settings)}; OMP_NUM_THREADS={_threads(args)}; "
          f"{args.trials} interleaved trials per side", flush=True)
    for world in worlds:
        results = _interleaved(args, settings, world)
        _report(settings, world, results, peak)
    if not gpus:
        print("no CUDA GPU: a tiny CPU config checks the harness; the H100 figure needs a GPU machine")
    return 0


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--model-config", default=None)
    p.add_argument("--batch-size", type=int, default=None, help="sequences per GPU (per process on CPU)")
    p.add_argument("--seq-len", type=int, default=None)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--world-sizes", type=int, nargs="*", default=None, help="default: 1, and 8 with 8+ GPUs")
    p.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for every process of both sides")
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--peak-tflops", type=float, default=None, help="override the detected GPU's dense bf16 peak")
    p.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--settings", default=None, help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help=argparse.SUPPRESS)
    return p.parse_args()


def _settings(args: argparse.Namespace, cuda: bool) -> dict[str, Any]:
    steps = args.steps or (50 if cuda else 20)
    return {"model": args.model_config or ("gpt-small" if cuda else "gpt-tiny"),
            "batch": args.batch_size or (32 if cuda else 8), "seq": args.seq_len or (1024 if cuda else 64),
            "steps": steps, "skip": min(5, max(1, steps // 10)), "compile": cuda and not args.no_compile,
            "cuda": cuda}


def _threads(args: argparse.Namespace) -> int:
    return args.threads or max(1, (os.cpu_count() or 1) // 2)


def _env(args: argparse.Namespace) -> dict[str, str]:
    """One environment for both sides: the comparison is only fair with the same threads."""
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": str(_threads(args))}


def _interleaved(args: argparse.Namespace, settings: dict[str, Any], world: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"trainer": [], "plain": []}
    for trial in range(args.trials):
        order = ("trainer", "plain") if trial % 2 == 0 else ("plain", "trainer")
        for side in order:
            value = _run_trainer(args, settings, world) if side == "trainer" else _run_plain(args, settings, world)
            results[side].append(value)
            print(f"  world {world} trial {trial + 1} {side:7s} {value:>12,.0f} tokens/s", flush=True)
    return results


def _launch_prefix(world: int) -> list[str]:
    return ["--standalone", "--nnodes=1", f"--nproc-per-node={world}"]


def _run_trainer(args: argparse.Namespace, s: dict[str, Any], world: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "stats.json"
        cmd = [sys.executable, "-m", "generator.training.launch", *_launch_prefix(world), "-m", "generator.training",
               "--strategy", "ddp", "--model-config", s["model"], "--batch-size", str(s["batch"]),
               "--seq-len", str(s["seq"]), "--steps", str(s["steps"]), "--lr", "6e-4", "--log-every", str(s["steps"]),
               "--checkpoint-interval", "0", "--eval-batches", "0", "--stats-out", str(stats),
               *(["--compile"] if s["compile"] else []), *([] if s["cuda"] else ["--device", "cpu", "--precision", "fp32"])]
        subprocess.run(cmd, check=True, env=_env(args), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return float(json.loads(stats.read_text())["tokens_per_s"])


def _run_plain(args: argparse.Namespace, s: dict[str, Any], world: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "plain.json"
        cmd = [sys.executable, "-m", "torch.distributed.run", *_launch_prefix(world), str(Path(__file__).resolve()),
               "--plain", "--settings", json.dumps(s), "--out", str(out)]
        subprocess.run(cmd, check=True, env=_env(args), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return float(json.loads(out.read_text())["tokens_per_s"])


def _plain_worker(args: argparse.Namespace) -> int:
    """One rank of the plain loop (under torchrun)."""
    import torch
    import torch.distributed as dist

    from generator.training.config import parse_model_config
    from generator.training.model import GPT

    s = json.loads(args.settings)
    rank, local, world = (int(os.environ.get(k, d)) for k, d in (("RANK", "0"), ("LOCAL_RANK", "0"),
                                                                   ("WORLD_SIZE", "1")))
    cuda = s["cuda"]
    device = torch.device("cuda", local) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if cuda else "gloo")
    cfg = parse_model_config(s["model"])
    torch.manual_seed(0)
    model: Any = GPT(cfg).to(device)
    params = list(model.parameters())
    opt = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
                             {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
                            lr=6e-4, betas=(0.9, 0.95), fused=cuda)
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[local] if cuda else None,
                                                          gradient_as_bucket_view=True)
    if s["compile"]:
        model = torch.compile(model)
    tokens_per_s = _plain_loop(model, opt, cfg.vocab_size, s, device, rank)
    if rank == 0:
        Path(args.out).write_text(json.dumps({"tokens_per_s": tokens_per_s * world}))
    dist.destroy_process_group()
    return 0


def _plain_loop(model: Any, opt: Any, vocab: int, s: dict[str, Any], device: Any, rank: int) -> float:
    import torch

    cuda = device.type == "cuda"
    gen = torch.Generator().manual_seed(rank)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else torch.autocast("cpu", enabled=False)
    t0 = 0.0
    for step in range(s["steps"]):
        if step == s["skip"]:
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        batch = torch.randint(0, vocab, (s["batch"], s["seq"] + 1), generator=gen)
        x, y = batch[:, :-1].contiguous(), batch[:, 1:].contiguous()
        if cuda:
            x, y = x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
        with amp:
            loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0, foreach=True)
        opt.step()
        opt.zero_grad(set_to_none=True)
    if cuda:
        torch.cuda.synchronize()
    return s["batch"] * s["seq"] * (s["steps"] - s["skip"]) / (time.perf_counter() - t0)


def _report(s: dict[str, Any], world: int, results: dict[str, list[float]], peak: float | None) -> None:
    from generator.training.config import flops_per_token, parse_model_config

    fpt = flops_per_token(parse_model_config(s["model"]), s["seq"])
    print(f"\nworld size {world}: median tokens/s [min - max] over {len(results['plain'])} trials")
    for side in ("plain", "trainer"):
        values = results[side]
        median = statistics.median(values)
        mfu = f"MFU {100 * median * fpt / (world * peak * 1e12):5.1f}%" if peak else "MFU n/a (no GPU peak)"
        print(f"  {side:7s} {median:>12,.0f}  [{min(values):,.0f} - {max(values):,.0f}]  {mfu}")
    ratio = statistics.median(results["trainer"]) / statistics.median(results["plain"])
    print(f"  trainer / plain (medians) = {ratio:.3f}  (target >= 0.95 on an H100)")


if __name__ == "__main__":
    raise SystemExit(main())
