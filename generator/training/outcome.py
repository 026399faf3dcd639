"""How a trainer process ended, told to the launcher, which makes it the container's exit code.

torchrun's own exit code is 1 whenever a worker fails or it is signalled, so the workers'
codes never reach Argo by themselves. Each worker writes its outcome to
`$MODELOPS_OUTCOME_DIR/rank-<RANK>` (set by the launcher) just before it exits; a rank
that wrote nothing died without a say (SIGKILL, OOM kill, segfault, lost node).
No torch here: the launcher imports this before deciding to start torchrun at all.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = [
    "DESCRIPTIONS",
    "EXIT_BUG",
    "EXIT_CONFIG",
    "EXIT_INFRA",
    "EXIT_OK",
    "EXIT_PREEMPTED",
    "looks_like_infrastructure",
    "read_outcomes",
    "record",
]

EXIT_OK = 0
EXIT_BUG = 1
EXIT_CONFIG = 2
# EX_TEMPFAIL from sysexits.h: "temporary failure, try again": collective timeout, lost
# rank, NCCL or hardware error, storage unreachable. Retried, like a preemption.
EXIT_INFRA = 75
EXIT_PREEMPTED = 143

DESCRIPTIONS = {EXIT_OK: "done", EXIT_BUG: "failed (a bug in the training code)", EXIT_CONFIG: "bad configuration",
                EXIT_INFRA: "infrastructure failure (retryable)", EXIT_PREEMPTED: "preempted after a checkpoint"}

_INFRA = re.compile(r"timed? ?out|timeout|NCCL|gloo|connection (reset|closed|refused)|broken pipe|"
                    r"ECC error|uncorrectable|unspecified launch failure|illegal memory access|"
                    r"connection lost", re.IGNORECASE)
_INFRA_TYPES = ("DistError", "DistBackendError", "DistNetworkError", "DistStoreError", "ConnectionError",
                "TimeoutError", "InfraError", "OSError", "EndpointConnectionError", "ClientError")


def looks_like_infrastructure(exc: BaseException) -> bool:
    """True for failures of the platform rather than of the code: worth a retry elsewhere."""
    if type(exc).__name__ == "OutOfMemoryError":
        return False  # the same batch runs out of memory on any node
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & set(_INFRA_TYPES)) or (isinstance(exc, RuntimeError) and bool(_INFRA.search(str(exc))))


def under_launcher() -> bool:
    return bool(os.environ.get("MODELOPS_OUTCOME_DIR"))


def record(code: int, message: str = "") -> None:
    """Tell the launcher how this rank ends; `message` (one line) it prints once for all ranks."""
    folder = os.environ.get("MODELOPS_OUTCOME_DIR")
    if not folder:
        return
    path = Path(folder) / f"rank-{os.environ.get('RANK', '0')}"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{code}\n{message.splitlines()[0] if message else ''}\n")
    os.replace(tmp, path)


def read_outcomes(folder: Path) -> dict[int, int]:
    return {rank: code for rank, (code, _) in read_reports(folder).items()}


def read_reports(folder: Path) -> dict[int, tuple[int, str]]:
    """rank -> (exit code, message) as the workers recorded them."""
    reports = {}
    for path in folder.glob("rank-*"):
        lines = path.read_text().splitlines()
        try:
            reports[int(path.name[5:])] = (int(lines[0]), lines[1] if len(lines) > 1 else "")
        except (ValueError, IndexError):
            continue
    return reports
