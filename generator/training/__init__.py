"""Reference trainer and capacity planner.

Runs inside the training image, so it imports nothing else from `generator`; `config` and
`planner` import no torch either, so the generator can plan without the training
dependencies.

    torchrun --standalone --nnodes=1 --nproc-per-node=N -m generator.training \\
        --strategy ddp|fsdp [--model-config gpt-small[,n_layer=6,...]] [--data synthetic|FILE.bin] \\
        [--batch-size B] [--seq-len T] [--steps S] [--lr LR] [--warmup-steps W] [--seed N] \\
        [--checkpoint-dir DIR] [--checkpoint-every K] [--keep-checkpoints 2] \\
        [--metrics-out /tmp/outputs/metrics.json] [--log-every 10] [--compile] \\
        [--precision auto|bf16|fp32] [--device auto|cuda|cpu]

Exit codes: 0 done, 2 bad configuration (one line on stderr, nothing started),
143 stopped by SIGTERM after writing a checkpoint (see `checkpoint`).
"""
__all__ = ["cli", "config", "planner"]
