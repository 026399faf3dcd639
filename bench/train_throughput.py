"""Reference trainer vs a plain hand-written PyTorch loop, side by side, same settings.

    python bench/train_throughput.py            # CUDA: GPT-2 124M, ctx 1024, batch 32, bf16, compile
    python bench/train_throughput.py --steps 5  # CPU: a tiny config, to check the harness

The trainer is launched exactly as the rendered WorkflowTemplate launches it
(`torchrun --standalone --nnodes=1 --nproc-per-node=1 -m generator.training ...`) and its
tokens/s is read from --metrics-out; the plain loop runs in this process afterwards, with
the same model class, optimizer, precision, grad clipping and per-step host batch copy.
Both time the same number of steps after the same number of warm-up steps.
MFU = tokens/s * training FLOPs per token / peak dense bf16 FLOP/s (PaLM appendix B).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from generator.training.config import GPTConfig, flops_per_token, parse_model_config
from generator.training.model import GPT

# Dense bf16 tensor-core peaks (no sparsity), by substring of torch.cuda.get_device_name().
PEAK_BF16_TFLOPS = {"H200": 989.4, "H100": 989.4, "A100": 312.0, "L40S": 362.1, "L4": 121.0, "A10G": 70.0}


def main() -> int:
    args = _parse()
    cuda = torch.cuda.is_available()
    model_cfg = parse_model_config(args.model_config or ("gpt-small" if cuda else "gpt-tiny"))
    batch, seq = args.batch_size or (32 if cuda else 8), args.seq_len or (1024 if cuda else 64)
    steps = args.steps or (50 if cuda else 30)
    compile_ = cuda and not args.no_compile
    skip = min(5, max(1, steps // 10))  # the trainer's own warm-up window
    trainer = _run_trainer(args.model_config or ("gpt-small" if cuda else "gpt-tiny"), batch, seq, steps, compile_)
    plain = _plain_loop(model_cfg, batch, seq, steps, skip, compile_, cuda)
    _report(model_cfg, batch, seq, steps, skip, compile_, cuda, trainer, plain, args.peak_tflops)
    return 0


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model-config", default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--seq-len", type=int, default=None)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--peak-tflops", type=float, default=None, help="override the GPU's dense bf16 peak")
    return p.parse_args()


def _run_trainer(model: str, batch: int, seq: int, steps: int, compile_: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        metrics = Path(tmp) / "metrics.json"
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc-per-node=1",
               "-m", "generator.training", "--strategy", "ddp", "--model-config", model,
               "--batch-size", str(batch), "--seq-len", str(seq), "--steps", str(steps), "--lr", "6e-4",
               "--log-every", str(steps), "--metrics-out", str(metrics), *(["--compile"] if compile_ else [])]
        print("trainer:", " ".join(cmd[1:]), flush=True)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        subprocess.run(cmd, check=True, env=env, cwd=REPO)
        data: dict[str, float] = json.loads(metrics.read_text())
        return data


def _plain_loop(cfg: GPTConfig, batch: int, seq: int, steps: int, skip: int, compile_: bool,
                cuda: bool) -> dict[str, float]:
    device = torch.device("cuda" if cuda else "cpu")
    torch.manual_seed(0)
    model = GPT(cfg).to(device)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=6e-4, betas=(0.9, 0.95), fused=cuda)
    step_fn = torch.compile(model) if compile_ else model
    gen = torch.Generator().manual_seed(0)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else torch.autocast("cpu", enabled=False)
    t0 = 0.0
    for step in range(steps):
        if step == skip:
            _sync(cuda)
            t0 = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = 6e-4
        tokens = torch.randint(0, cfg.vocab_size, (batch, seq + 1), generator=gen)
        x, y = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()
        if cuda:
            x, y = x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
        with amp:
            loss = step_fn(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0, foreach=True)
        opt.step()
        opt.zero_grad(set_to_none=True)
    _sync(cuda)
    step_time = (time.perf_counter() - t0) / (steps - skip)
    return {"step_time_mean_s": step_time, "tokens_per_s": batch * seq / step_time, "final_loss": float(loss.item())}


def _sync(cuda: bool) -> None:
    if cuda:
        torch.cuda.synchronize()


def _report(cfg: GPTConfig, batch: int, seq: int, steps: int, skip: int, compile_: bool, cuda: bool,
            trainer: dict[str, float], plain: dict[str, float], peak_override: float | None) -> None:
    name = torch.cuda.get_device_name() if cuda else "cpu"
    peak = peak_override or next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None) if cuda else None
    fpt = flops_per_token(cfg, seq)
    print(f"\ndevice {name}; model {cfg}; batch {batch} x seq {seq}; {steps} steps, first {skip} untimed; "
          f"{'bf16 autocast, fused AdamW, ' if cuda else 'fp32, '}compile={compile_}")
    for label, m in (("plain loop", plain), ("trainer   ", trainer)):
        mfu = f"{100 * m['tokens_per_s'] * fpt / (peak * 1e12):5.1f}%" if peak else "n/a"
        print(f"{label}  {m['tokens_per_s']:>12,.0f} tokens/s  {1000 * m['step_time_mean_s']:8.2f} ms/step  MFU {mfu}")
    print(f"trainer / plain = {trainer['tokens_per_s'] / plain['tokens_per_s']:.3f}")
    if cuda and trainer.get("peak_gpu_memory_gib") is not None:
        print(f"trainer peak GPU memory {trainer['peak_gpu_memory_gib']:.1f} GiB")
    if not cuda:
        print("no CUDA GPU: ran a tiny CPU config to check the harness; GPU figures (124M, bf16, "
              "compile, MFU) need a GPU")


if __name__ == "__main__":
    raise SystemExit(main())
