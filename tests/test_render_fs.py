"""Issue 15, item 2: filesystem problems are one line and exit 2; render is all-or-nothing."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.conftest import snapshot


def _change_every_environment(repo: Path) -> None:
    """A spec edit that changes rendered files in dev, staging and prod."""
    spec = repo / "models/support-chat.yaml"
    spec.write_text(spec.read_text().replace("replicas: {min: 1, max: 4}", "replicas: {min: 2, max: 4}", 1))


def _one_line_error(code: int, out: str, err: str) -> str:
    assert code == 2, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_failure_in_prod_leaves_dev_untouched(example_repo: Path, cli) -> None:
    _change_every_environment(example_repo)
    serving = example_repo / "environments/prod/support-chat/serving"
    for path in serving.iterdir():
        path.unlink()
    serving.rmdir()
    serving.write_text("a file where modelops needs a folder\n")  # fails even for root
    before = snapshot(example_repo)
    err = _one_line_error(*cli("-C", str(example_repo), "render"))
    assert "environments/prod/support-chat/serving" in err and "nothing was changed" in err
    assert snapshot(example_repo) == before  # dev and staging were not written either
    assert not list(example_repo.rglob("*.tmp"))


def test_read_only_environments_folder(example_repo: Path, cli) -> None:
    _change_every_environment(example_repo)
    env_root = example_repo / "environments"
    folders = [env_root, *(p for p in env_root.rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(env_root / "dev", os.W_OK):
            pytest.skip("this user can write to read-only folders (root); covered by the test above")
        before = snapshot(example_repo)
        err = _one_line_error(*cli("-C", str(example_repo), "render"))
        assert "cannot write" in err
        assert snapshot(example_repo) == before
    finally:
        for folder in folders:
            folder.chmod(0o755)


def test_dangling_symlink_in_models(example_repo: Path, cli) -> None:
    (example_repo / "models/ghost.yaml").symlink_to(example_repo / "models/gone.yaml")
    err = _one_line_error(*cli("-C", str(example_repo), "render"))
    assert err.startswith("modelops: error: models/ghost.yaml: dangling symbolic link")


def test_symlinked_spec_outside_the_repository_is_refused(example_repo: Path, tmp_path: Path, cli) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text((example_repo / "models/churn-scorer.yaml").read_text().replace("churn-scorer", "elsewhere"))
    (example_repo / "models/elsewhere.yaml").symlink_to(outside)
    before = snapshot(example_repo)
    err = _one_line_error(*cli("-C", str(example_repo), "render"))
    assert "models/elsewhere.yaml: symbolic link to" in err and "outside the repository" in err
    assert snapshot(example_repo) == before


def test_symlinked_spec_inside_the_repository_is_followed(example_repo: Path, cli) -> None:
    shared = example_repo / "shared-specs"
    shared.mkdir()
    (example_repo / "models/churn-scorer.yaml").rename(shared / "churn-scorer.yaml")
    (example_repo / "models/churn-scorer.yaml").symlink_to(shared / "churn-scorer.yaml")
    code, _out, err = cli("-C", str(example_repo), "render", "--check")
    assert (code, err) == (0, "")


def test_folder_named_like_a_spec(example_repo: Path, cli) -> None:
    (example_repo / "models/folder.yaml").mkdir()
    err = _one_line_error(*cli("-C", str(example_repo), "check"))
    assert "models/folder.yaml: not a regular file" in err


def test_a_models_folder_linked_outside_the_repository_is_refused(example_repo: Path, tmp_path: Path, cli) -> None:
    outside = tmp_path / "elsewhere-models"
    (example_repo / "models").rename(outside)
    (example_repo / "models").symlink_to(outside)
    code, _out, err = cli("-C", str(example_repo), "check")
    lines = err.strip().splitlines()
    assert code == 2 and "Traceback" not in err and len(lines) == 3  # one line per spec
    assert all("symbolic link to" in line and "outside the repository" in line for line in lines)
    assert any(line.startswith("modelops: error: models/churn-scorer.yaml:") for line in lines)
