"""The training container's entrypoint: validate, wait for the rendezvous host, run torchrun,
and turn the outcome into an exit code Argo's retryStrategy (or a JobSet's podFailurePolicy)
can act on.

    python -m generator.training.launch [torchrun options] -m generator.training [trainer options]

torchrun exits 1 whatever happened to its workers (a bug, a SIGTERM checkpoint, a lost
rank), so the launcher reads what each local worker recorded (`outcome.record`) and exits:

    0    done
    2    bad configuration: found here, before torchrun starts, and printed once
    143  preempted: SIGTERM reached the pod (the trainer checkpoints first)
    75   infrastructure: collective timeout, NCCL/hardware error, a rank that died without
         a word (SIGKILL, lost node), storage or rendezvous host unreachable
    1    anything else: a bug in the training code

Only 143 and 75 are worth a retry. A custom trainer (not `-m generator.training`) may write
its own outcome to `$MODELOPS_OUTCOME_DIR/rank-$RANK`; otherwise its failures count as 1.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from .outcome import (
    DESCRIPTIONS,
    EXIT_BUG,
    EXIT_CONFIG,
    EXIT_INFRA,
    EXIT_OK,
    EXIT_PREEMPTED,
    read_reports,
)

__all__ = ["classify", "main", "split_command"]

PROG = "generator.training.launch"
BUILTIN = "generator.training"
DEFAULT_RENDEZVOUS_WAIT_S = 900.0


def split_command(argv: Sequence[str]) -> tuple[list[str], str | None, list[str]]:
    """(torchrun options, module or None, the module's arguments)."""
    args = list(argv)
    if "-m" in args and args.index("-m") + 1 < len(args):
        at = args.index("-m")
        return args[:at], args[at + 1], args[at + 2:]
    return args, None, []


def _option(options: list[str], *names: str) -> str | None:
    for i, item in enumerate(options):
        for name in names:
            if item.startswith(name + "="):
                return item.split("=", 1)[1]
            if item == name and i + 1 < len(options):
                return options[i + 1]
    return None


def _local_world(options: list[str]) -> int:
    value = _option(options, "--nproc-per-node", "--nproc_per_node") or "1"
    return int(value) if value.isdigit() else 1


def _validate(module: str | None, trainer_args: list[str]) -> int | None:
    """Exit code if the built-in trainer's configuration is bad, else None."""
    if module != BUILTIN:
        return None
    from .cli import PROG as TRAINER
    from .cli import parse_args
    from .config import ConfigError, InfraError

    try:
        parse_args(trainer_args, resolve_device=False)  # no torch import: seconds per launch
    except ConfigError as exc:
        print(f"{TRAINER}: error: {exc}", file=sys.stderr, flush=True)
        return EXIT_CONFIG
    except InfraError as exc:
        print(f"{TRAINER}: error: {exc}", file=sys.stderr, flush=True)
        return EXIT_INFRA
    return None


def _rendezvous_host(options: list[str]) -> str | None:
    if "--standalone" in options:
        return None
    host = _option(options, "--master-addr", "--master_addr")
    endpoint = _option(options, "--rdzv-endpoint", "--rdzv_endpoint")
    if host is None and endpoint:
        host = endpoint.rsplit(":", 1)[0]
    return host or None


def _wait_for_host(host: str, timeout_s: float) -> bool:
    """Pod 0's DNS record appears only once its pod is scheduled; wait for it rather than
    letting torchrun fail (and a retry start over)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.getaddrinfo(host, None)
            return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(2)


def classify(returncode: int, outcomes: dict[int, int], *, local_world: int, signalled: bool, builtin: bool) -> int:
    """The container's exit code from torchrun's return code and the workers' outcomes."""
    codes = set(outcomes.values())
    for decisive in (EXIT_CONFIG, EXIT_BUG):
        if decisive in codes:
            return decisive
    if signalled:
        return EXIT_PREEMPTED
    if EXIT_INFRA in codes:
        return EXIT_INFRA
    if EXIT_PREEMPTED in codes:
        return EXIT_PREEMPTED
    if returncode == 0:
        return EXIT_OK
    if returncode == EXIT_CONFIG and not outcomes:
        return EXIT_CONFIG  # torchrun refused its own arguments before starting a worker
    silent = len(outcomes) < local_world
    return EXIT_INFRA if silent and (builtin or outcomes) else EXIT_BUG


class _Forwarder:
    """Passes SIGTERM/SIGINT to torchrun (which forwards them to the workers) and remembers it."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.signalled = False

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signalled = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)


def _run_torchrun(options: list[str], module: str | None, trainer_args: list[str], outcome_dir: Path,
                  forwarder: _Forwarder) -> int:
    command = [sys.executable, "-m", "torch.distributed.run", *options]
    if module is not None:
        command += ["-m", module, *trainer_args]
    env = {**os.environ, "MODELOPS_OUTCOME_DIR": str(outcome_dir)}
    forwarder.child = subprocess.Popen(command, env=env)
    while True:
        try:
            return forwarder.child.wait()
        except InterruptedError:
            continue


def main(argv: Sequence[str] | None = None) -> int:
    options, module, trainer_args = split_command(sys.argv[1:] if argv is None else argv)
    local_world = _local_world(options)
    forwarder = _Forwarder()
    forwarder.install()
    refused = _validate(module, trainer_args)
    if refused is not None:
        return refused
    host = _rendezvous_host(options)
    wait_s = float(os.environ.get("MODELOPS_RENDEZVOUS_WAIT", DEFAULT_RENDEZVOUS_WAIT_S))
    if host and not _wait_for_host(host, wait_s):
        print(f"{PROG}: rendezvous host {host} did not resolve within {wait_s:g}s", file=sys.stderr)
        return EXIT_INFRA
    if forwarder.signalled:
        return EXIT_PREEMPTED
    with tempfile.TemporaryDirectory(prefix="modelops-outcome-") as folder:
        returncode = _run_torchrun(options, module, trainer_args, Path(folder), forwarder)
        reports = read_reports(Path(folder))
    outcomes = {rank: code for rank, (code, _) in reports.items()}
    code = classify(returncode, outcomes, local_world=local_world, signalled=forwarder.signalled,
                    builtin=module == BUILTIN)
    if code == EXIT_CONFIG:
        for message in sorted({m for c, m in reports.values() if c == EXIT_CONFIG and m}):
            print(message, file=sys.stderr, flush=True)
    print(f"{PROG}: exit {code}: {DESCRIPTIONS[code]} (torchrun returned {returncode}, workers {dict(sorted(outcomes.items()))})",
          file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
