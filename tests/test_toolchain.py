"""Issue 15, item 13: ruff and mypy are part of `make test`, quietly, and pass."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT


def _target(name: str) -> list[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    block = re.search(rf"^{name}:.*\n((?:\t.*\n)+)", makefile, flags=re.MULTILINE)
    assert block is not None, f"no `{name}` target"
    return [line.strip() for line in block.group(1).splitlines()]


def test_make_test_runs_ruff_and_mypy_quietly_before_pytest() -> None:
    steps = _target("test")
    ruff = next(i for i, s in enumerate(steps) if "ruff check" in s)
    mypy = next(i for i, s in enumerate(steps) if "/mypy" in s)
    pytest_step = next(i for i, s in enumerate(steps) if "pytest" in s)
    assert ruff < pytest_step and mypy < pytest_step
    assert "--quiet" in steps[ruff] and "--no-error-summary" in steps[mypy]


def test_tools_are_declared_and_pinned() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    dev = project["project"]["optional-dependencies"]["dev"]
    assert any(d.startswith("ruff==") for d in dev) and any(d.startswith("mypy==") for d in dev)
    assert project["tool"]["mypy"]["packages"] == ["generator"]


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[dev]')")
    return found


def test_ruff_passes() -> None:
    done = subprocess.run([_tool("ruff"), "check", "--quiet", "--no-cache", "generator", "tests", "bench", "scripts"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_warnings_fail_the_tests_that_cause_them() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["tool"]["pytest"]["ini_options"]["filterwarnings"][0] == "error"
