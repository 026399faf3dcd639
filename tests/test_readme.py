"""Issue 15, item 12: the README answers a newcomer's first questions, and stays complete."""
from __future__ import annotations

import re

import pytest

from generator.cli import available_commands
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start:] if end == -1 else README[start:end]


def test_every_subcommand_is_in_the_table() -> None:
    table = _section("Commands")
    rows = re.findall(r"^\| `modelops ([a-z-]+)", table, flags=re.MULTILINE)
    missing = sorted(set(available_commands()) - set(rows))
    assert not missing, f"README's command table lacks: {', '.join(missing)}"
    new_row = next(line for line in table.splitlines() if line.startswith("| `modelops new model"))
    assert "--runtime" in new_row


@pytest.mark.parametrize("needle", ["AppProject", "JobSet", "Kueue", "LocalQueue", "PersistentVolumeClaim",
                                    "PriorityClass", "ServiceAccount", "nvidia.com/gpu.product"])
def test_what_a_cluster_needs(needle: str) -> None:
    assert needle in _section("What a cluster needs")


def test_install_first_release_trainer_image() -> None:
    install = _section("Install")
    assert "pip install modelops-gitops" in install and "import name is `generator`" in install
    assert "modelops promote" in _section("The first release")
    trainer = _section("The trainer image")
    assert "FROM " in trainer and "generator.training" in trainer


def test_performance_speaks_to_users() -> None:
    performance = _section("Performance")
    assert "bench/check_bench.py" in performance and "To reproduce" in performance
    assert re.search(r"\d-core", performance) and "Measured" in performance
    assert "What was done" not in performance  # an engineering log is not what a user needs here
