"""`make demo`'s last step: a promotion dry run of the example repository.

The dry run needs a git repository with a remote, so this copies the example into a
temporary folder with a local bare remote; nothing here or on any forge is changed.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from generator.cli import main

ROOT = Path(__file__).resolve().parent.parent


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=modelops demo", "-c", "user.email=demo@example.com", *args],
                   cwd=cwd, check=True, capture_output=True)


def demo() -> int:
    with tempfile.TemporaryDirectory(prefix="modelops-demo-") as tmp:
        work, remote = Path(tmp) / "gitops", Path(tmp) / "remote.git"
        for name in ("models", "environments", "blueprints"):
            shutil.copytree(ROOT / name, work / name)
        git(Path(tmp), "init", "--quiet", "--bare", "-b", "main", str(remote))
        git(work, "init", "--quiet", "-b", "main")
        git(work, "add", "-A")
        git(work, "commit", "--quiet", "-m", "example GitOps repository")
        git(work, "remote", "add", "origin", remote.as_uri())
        git(work, "push", "--quiet", "origin", "main")
        print("$ modelops promote support-chat --to staging --dry-run", flush=True)
        return main(["-C", str(work), "promote", "support-chat", "--to", "staging", "--dry-run"])


if __name__ == "__main__":
    sys.exit(demo())
