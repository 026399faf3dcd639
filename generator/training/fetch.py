"""`python -m generator.training.fetch SOURCE DEST`: copy a run's metrics JSON out of its
run folder (object storage or the shared volume) into the step's output path.

A multi-node run's rank 0 may live on any pod of the JobSet, so it writes its metrics next
to the checkpoints; this step, run after the JobSet completes, is what Argo reads the
`metrics` output parameter from.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import storage

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m generator.training.fetch SOURCE DEST", file=sys.stderr)
        return 2
    source, dest = args
    try:
        data = json.loads(storage.read_bytes(source))
    except FileNotFoundError:
        print(f"generator.training.fetch: {source} does not exist: the run wrote no metrics", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"generator.training.fetch: cannot read {source}: {exc}", file=sys.stderr)
        return 1
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    Path(dest).write_text(json.dumps(data, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
