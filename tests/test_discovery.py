"""Issue 15, item 7: the repository root is found by walking up, as git and pre-commit do."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from generator.discovery import find_root


@pytest.fixture
def in_git(example_repo: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(example_repo)], check=True)
    return example_repo


def test_status_from_an_environment_folder(in_git: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(in_git / "environments/dev")
    code, out, err = cli("status")
    assert (code, err) == (0, "") and "support-chat" in out


def test_modelops_yaml_marks_the_root_below_a_git_top(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert cli("init", str(tmp_path / "platform/gitops"))[0] == 0  # writes .modelops.yaml
    monkeypatch.chdir(tmp_path / "platform/gitops/models")
    assert find_root(Path.cwd()) == (tmp_path / "platform/gitops").resolve()
    code, out, _ = cli("render", "--check")
    assert code == 0 and "up to date" in out


def test_dash_c_overrides_discovery(in_git: Path, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    monkeypatch.chdir(in_git / "environments/dev")
    code, _, err = cli("status", "-C", str(elsewhere))
    assert code == 2 and "no environments found" in err


def test_init_is_relative_to_the_current_folder(in_git: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(in_git / "environments")
    assert cli("-q", "init", "newrepo")[0] == 0
    assert (in_git / "environments/newrepo/.modelops.yaml").is_file()


def test_no_marker_means_the_current_folder(tmp_path: Path) -> None:
    above = tmp_path.resolve().parents
    if any((p / ".git").exists() or (p / ".modelops.yaml").exists() for p in above):
        pytest.skip("the temporary folder is inside a repository")
    assert find_root(tmp_path / ".") == tmp_path.resolve()
