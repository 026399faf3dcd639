"""Issue 15, item 1: the scaffold installs this project, never PyPI's unrelated `modelops`."""
from __future__ import annotations

import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator import __version__, distribution
from generator.distribution import DISTRIBUTION, install_spec, vcs_install_spec
from tests.conftest import ROOT


def test_distribution_name_is_ours() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == DISTRIBUTION == "modelops-gitops"  # PyPI's `modelops` is a 2018 package
    assert project["scripts"] == {"modelops": "generator.cli:main"}
    assert project["version"] == __version__


def test_scaffold_ci_installs_exactly_this_version(tmp_path: Path, cli) -> None:
    assert cli("init", str(tmp_path / "r"))[0] == 0
    yaml = YAML(typ="safe", pure=True)
    github = yaml.load((tmp_path / "r/.github/workflows/modelops.yml").read_text())
    gitlab = yaml.load((tmp_path / "r/.gitlab-ci.yml").read_text())
    for spec in (github["env"]["MODELOPS_PIP_SPEC"], gitlab["variables"]["MODELOPS_PIP_SPEC"]):
        assert spec == install_spec()
        assert spec.startswith((f"{DISTRIBUTION}==", f"{DISTRIBUTION} @ git+"))
        assert spec != "modelops"
    readme = (tmp_path / "r/README.md").read_text()
    assert "pip install modelops\n" not in readme and f"pip install {shlex.quote(install_spec())}" in readme


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def fake_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git checkout laid out like this project's (pyproject.toml and generator/)."""
    checkout = tmp_path / "checkout"
    (checkout / "generator").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text('[project]\nname = "modelops-gitops"\n')
    (checkout / "generator/__init__.py").write_text("")
    _git(checkout, "init", "-q")
    _git(checkout, "add", "-A")
    _git(checkout, "commit", "-q", "-m", "x")
    monkeypatch.setattr(distribution, "_CHECKOUT", checkout.resolve())
    return checkout


def test_checkout_with_network_remote_pins_the_commit(fake_checkout: Path) -> None:
    _git(fake_checkout, "remote", "add", "origin", "git@github.com:acme/modelops.git")
    sha = _git(fake_checkout, "rev-parse", "HEAD")
    assert install_spec() == f"modelops-gitops @ git+ssh://git@github.com/acme/modelops.git@{sha}"


@pytest.mark.parametrize("remote", ["/srv/git/modelops.git", "file:///srv/modelops.git",
                                    "https://user:s3cret@github.com/acme/modelops.git"])
def test_local_or_credentialed_remotes_fall_back_to_the_version(fake_checkout: Path, remote: str) -> None:
    _git(fake_checkout, "remote", "add", "origin", remote)
    assert vcs_install_spec() is None
    assert install_spec() == f"modelops-gitops=={__version__}"
