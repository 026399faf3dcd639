"""Shared fixtures: an isolated git identity, a copy of the example repository, a CLI runner."""
from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = Path(os.environ.get("MODELOPS_CONFORMANCE", ROOT.parent / "shared" / "conformance"))


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
                 "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GITHUB_TOKEN", "GITLAB_TOKEN", "GITEA_TOKEN",
                 # CI runs the suite with CI=true, which makes modelops author its commits as the
                 # bot: tests of CI behaviour set these themselves
                 "CI", "GITHUB_ACTIONS", "GITHUB_ACTOR", "GITLAB_CI", "GITLAB_USER_LOGIN"):
        monkeypatch.delenv(name, raising=False)
    (home / ".gitconfig").write_text("[user]\n\tname = Test User\n\temail = test@example.com\n"
                                     "[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n")


def copy_example(dest: Path) -> Path:
    """The example GitOps repository (specs, environments, rendered output, blueprints)."""
    for name in ("models", "environments", "blueprints", "policies", "data"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, dest / name)
    for name in ("waivers.yaml", ".modelops.yaml"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    return dest


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "repo")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run `modelops` in-process: returns (exit code, stdout, stderr)."""
    from generator.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def write_files(root: Path, files: dict[str, str]) -> Path:
    """Write `files` (relative name -> dedented text) under `root`; returns `root`."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root (relative path -> bytes), to prove nothing was written."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def s3_server():
    """A real S3 API on 127.0.0.1: moto in server mode (its own process), started once per
    session and always stopped; skipped when moto's server extra is missing (tests/s3_server.py)."""
    from tests.s3_server import S3Server, moto_server_available

    if not moto_server_available():
        pytest.skip("moto[server] is not installed (needs moto, flask and boto3)")
    server = S3Server().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def promtool() -> str:
    """Prometheus's own rule checker (Debian package `prometheus`), for tests that compare with it."""
    binary = shutil.which("promtool")
    if binary is None:
        pytest.skip("promtool not installed (Debian package `prometheus`; scripts/install-test-deps.sh)")
    return binary
