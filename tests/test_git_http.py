"""Clone and push over smart HTTP against the local git http-backend server."""
from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import git
import pytest

from tests.emulators.git_http import GitHttpServer, init_bare, isolated_git_env

TOKEN = "t0ken-with/odd:chars"
Clone = Callable[..., git.Repo]


def _branch_head(bare: Path, branch: str) -> str:
    with git.Repo(bare) as repo:
        return repo.commit(branch).hexsha


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_git_env(tmp_path / "home")


@pytest.fixture
def clone(env: dict[str, str]) -> Iterator[Clone]:
    """git.Repo.clone_from that closes the repositories (and their git processes) afterwards."""
    opened: list[git.Repo] = []

    def _clone(url: str, path: Path, **kwargs: Any) -> git.Repo:
        repo = git.Repo.clone_from(url, path, env=kwargs.pop("env", env), **kwargs)
        opened.append(repo)
        return repo

    yield _clone
    for repo in opened:
        repo.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[GitHttpServer]:
    with GitHttpServer(tmp_path / "srv") as running:
        init_bare(running.root, "gitops")
        yield running


def _commit(repo: git.Repo, name: str, text: str) -> str:
    path = Path(repo.working_tree_dir or "") / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    repo.index.add([name])
    return repo.index.commit(f"add {name}").hexsha


def test_clone_push_and_fetch(server: GitHttpServer, tmp_path: Path, env: dict[str, str], clone: Clone) -> None:
    first = clone(server.repo_url("gitops"), tmp_path / "a")
    with first.git.custom_environment(**env):
        sha = _commit(first, "environments/dev/apps.yaml", "kind: Application\n")
        first.git.push("origin", "HEAD:main")
        first.git.push("origin", "HEAD:promote/prod")
    second = clone(server.repo_url("gitops"), tmp_path / "b")
    assert second.head.commit.hexsha == sha
    assert (tmp_path / "b/environments/dev/apps.yaml").read_text() == "kind: Application\n"
    with second.git.custom_environment(**env):
        assert "refs/heads/promote/prod" in str(second.git.ls_remote("--heads", "origin"))
    assert any(r.path.endswith("/git-receive-pack") for r in server.requests)


def test_large_push_uses_chunked_body(server: GitHttpServer, tmp_path: Path, env: dict[str, str], clone: Clone) -> None:
    repo = clone(server.repo_url("gitops"), tmp_path / "a")
    with repo.git.custom_environment(**env):
        # Random bytes do not compress: the pack exceeds a 64 KiB postBuffer and is sent chunked.
        (tmp_path / "a/blob.bin").write_bytes(os.urandom(300_000))
        repo.index.add(["blob.bin"])
        sha = repo.index.commit("big").hexsha
        repo.git.execute(["git", "-c", "http.postBuffer=65536", "push", "origin", "HEAD:main"])
    assert _branch_head(server.root / "gitops.git", "main") == sha
    assert any(r.chunked and r.path.endswith("/git-receive-pack") for r in server.requests)


@pytest.fixture
def private(tmp_path: Path) -> Iterator[GitHttpServer]:
    with GitHttpServer(tmp_path / "private", auth=("x-access-token", TOKEN)) as running:
        init_bare(running.root, "gitops")
        yield running


def test_auth_required(private: GitHttpServer, tmp_path: Path, env: dict[str, str], clone: Clone) -> None:
    with pytest.raises(git.GitCommandError):
        clone(private.repo_url("gitops"), tmp_path / "anon")
    with pytest.raises(git.GitCommandError):
        clone(private.repo_url("gitops", ("x-access-token", "wrong")), tmp_path / "bad")
    assert private.requests and all(r.status == 401 for r in private.requests)


def test_token_in_url(private: GitHttpServer, tmp_path: Path, env: dict[str, str], clone: Clone) -> None:
    repo = clone(private.repo_url("gitops", ("x-access-token", TOKEN)), tmp_path / "a")
    with repo.git.custom_environment(**env):
        _commit(repo, "README.md", "hi\n")
        repo.git.push("origin", "HEAD:main")
    assert {r.user for r in private.requests if r.status == 200} == {"x-access-token"}


def test_token_as_extra_header(private: GitHttpServer, tmp_path: Path, env: dict[str, str], clone: Clone) -> None:
    # How CI passes a token without writing it into the remote URL or .git/config.
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    header_env = {**env, "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
                  "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}"}
    repo = clone(private.repo_url("gitops"), tmp_path / "a", env=header_env)
    assert TOKEN not in (tmp_path / "a/.git/config").read_text()
    with repo.git.custom_environment(**header_env):
        _commit(repo, "README.md", "hi\n")
        repo.git.push("origin", "HEAD:main")
    assert _branch_head(private.root / "gitops.git", "main") == repo.head.commit.hexsha
