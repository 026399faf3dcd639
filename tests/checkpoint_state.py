"""Compare the state of two checkpoint folders, tensor by tensor (run as a script).

A folder holds `state.pt` (DDP: one full state dict) or `dcp/` (FSDP: shards written by
torch.distributed.checkpoint), which torch's own `dcp_to_torch_save` joins into one state
dict. Prints {"diff": [paths that differ], "tensors": count} as JSON. torch is imported
only here, in a subprocess (see tests/test_training.py).
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch.distributed.checkpoint.format_utils import dcp_to_torch_save


def load(folder: Path) -> Any:
    if (folder / "state.pt").exists():
        return torch.load(folder / "state.pt", weights_only=True)
    with tempfile.TemporaryDirectory() as tmp:
        dcp_to_torch_save(folder / "dcp", Path(tmp) / "state.pt")
        return torch.load(Path(tmp) / "state.pt", weights_only=True)


def flat(x: Any, path: str = "") -> dict[str, Any]:
    if isinstance(x, dict):
        return {k: v for key in x for k, v in flat(x[key], f"{path}/{key}").items()}
    if isinstance(x, (list, tuple)):
        return {k: v for i, item in enumerate(x) for k, v in flat(item, f"{path}/{i}").items()}
    return {path: x}


def same(x: Any, y: Any) -> bool:
    if isinstance(x, torch.Tensor):
        return isinstance(y, torch.Tensor) and torch.equal(x, y)
    return bool(x == y)


def main(a_folder: str, b_folder: str) -> None:
    a, b = flat(load(Path(a_folder))), flat(load(Path(b_folder)))
    diff = sorted(k for k in a.keys() | b.keys() if k not in a or k not in b or not same(a[k], b[k]))
    print(json.dumps({"diff": diff, "tensors": sum(isinstance(v, torch.Tensor) for v in a.values())}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
