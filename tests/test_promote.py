"""Promotion pull requests with real git (bare remotes over file:// and smart HTTP) and the
forge emulator: idempotency, updates, safety guarantees."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from generator.gitops.spec_edit import set_release
from tests.conftest import copy_example
from tests.emulators.forge import ForgeEmulator
from tests.lifecycle_helpers import repo_with_remote

TOKEN = "ghp_test0123456789abcdefTOKEN"
REPO = "acme/gitops"
NEW_DIGEST = "sha256:" + "9" * 64


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def forge():
    with ForgeEmulator(token=TOKEN, repos=(REPO,)) as server:
        yield server


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """A bare remote and a clone holding the example repository on main."""
    remote = tmp_path / "remote.git"
    work, remote = repo_with_remote(copy_example(tmp_path / "work"), remote)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    return work, remote


def promote_args(forge, *extra):
    return ("promote", *extra, "--forge", "github", "--forge-url", forge.url + "/api/v3", "--repo", REPO)


def bump_dev(work: Path, cli, version: str) -> None:
    spec = work / "models/support-chat.yaml"
    release = {"image": f"registry.example.com/vllm/vllm-openai@{NEW_DIGEST}",
               "modelUri": f"s3://models/support-chat/v{version}/", "modelVersion": version}
    spec.write_text(set_release(spec.read_text(), "dev", release, file="spec"))
    assert cli("-C", str(work), "render")[0] == 0
    git(work, "commit", "--quiet", "-am", f"dev: support-chat v{version}")
    git(work, "push", "--quiet", "origin", "main")


def branch_files(remote: Path, branch: str) -> list[str]:
    return git(remote, "diff", "--name-only", f"main..{branch}").splitlines()


def test_promotion_opens_one_pr_and_is_idempotent(setup, forge, cli):
    work, remote = setup
    head_before = git(work, "rev-parse", "HEAD")
    code, out, err = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging"))
    assert code == 0, out + err
    assert "opened pull request" in out
    branch = "promote/support-chat/staging"
    tip = git(remote, "rev-parse", branch)
    assert git(remote, "rev-list", "--count", f"main..{branch}") == "1"
    files = branch_files(remote, branch)
    assert "models/support-chat.yaml" in files
    assert all(f == "models/support-chat.yaml" or f.startswith("environments/staging/support-chat/") for f in files)
    message = git(remote, "log", "-1", "--format=%B", branch)
    assert "Modelops-Source: dev" in message and "Modelops-Target: staging" in message
    assert "Modelops-ModelVersion: 8" in message
    # The user's identity authors the change; the bot commits it (so modelops knows its own commits).
    assert git(remote, "log", "-1", "--format=%an <%ae>|%cn", branch) == "Test User <test@example.com>|modelops"
    [pull] = forge.pulls("github", REPO)
    assert pull["head"] == branch and pull["base"] == "main"
    assert "<!-- modelops:diff -->" in pull["body"] and "Policy check: passed" in pull["body"]
    assert {"model/support-chat", "env/staging"} <= set(pull["labels"])
    # The user's checkout is exactly as it was.
    assert git(work, "rev-parse", "HEAD") == head_before
    assert git(work, "status", "--porcelain") == ""
    assert git(work, "branch", "--format=%(refname:short)") == "main"

    requests_before = len(forge.requests)
    code, out, _ = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging"))
    assert code == 0 and "up to date" in out
    assert git(remote, "rev-parse", branch) == tip
    assert len(forge.pulls("github", REPO)) == 1
    assert not [r for r in forge.requests[requests_before:] if r.method != "GET"]


def test_newer_release_updates_the_same_pull_request(setup, forge, cli):
    work, remote = setup
    assert cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging"))[0] == 0
    first_tip = git(remote, "rev-parse", "promote/support-chat/staging")
    bump_dev(work, cli, "9")
    code, out, err = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging"))
    assert code == 0, out + err
    assert "updated pull request" in out
    [pull] = forge.pulls("github", REPO)
    assert "(9)" in pull["title"] and NEW_DIGEST in pull["body"]
    tip = git(remote, "rev-parse", "promote/support-chat/staging")
    assert tip != first_tip
    assert git(remote, "rev-list", "--count", "main..promote/support-chat/staging") == "1"


def test_comments_survive_byte_for_byte(setup, forge, cli):
    work, remote = setup
    original = (work / "models/support-chat.yaml").read_text().splitlines()
    assert cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging"))[0] == 0
    promoted = git(remote, "show", "promote/support-chat/staging:models/support-chat.yaml").splitlines()
    assert len(promoted) == len(original)
    changed = [i for i, (a, b) in enumerate(zip(original, promoted, strict=True)) if a != b]
    assert changed, "the release must change"
    start = original.index("  staging:")
    assert all(start < i <= start + 3 for i in changed)
    assert [line for line in original if "#" in line] == [line for line in promoted if "#" in line]


def test_dry_run_changes_nothing(setup, forge, cli):
    work, remote = setup
    code, out, _ = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging", "--dry-run"))
    assert code == 0 and "dry run: would change" in out
    assert git(remote, "branch", "--list", "promote/*") == ""
    assert forge.pulls("github", REPO) == []


def test_refuses_to_skip_an_environment(setup, forge, cli):
    work, _ = setup
    code, _, err = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "prod", "--from", "dev"))
    assert code == 2 and "refusing to skip an environment" in err
    code, out, err = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "prod", "--from", "dev",
                                                         "--force"))
    assert code == 0, out + err


def test_never_force_pushes_over_foreign_commits(setup, forge, cli, tmp_path):
    work, remote = setup
    assert cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging"))[0] == 0
    other = tmp_path / "other"
    git(tmp_path, "clone", "--quiet", "-b", "promote/support-chat/staging", remote.as_uri(), str(other))
    (other / "NOTES.md").write_text("reviewer fix\n")
    git(other, "add", "NOTES.md")
    git(other, "-c", "user.name=Alice", "-c", "user.email=alice@example.com", "commit", "--quiet", "-m", "fix")
    git(other, "push", "--quiet", "origin", "promote/support-chat/staging")
    theirs = git(other, "rev-parse", "HEAD")
    bump_dev(work, cli, "9")
    code, _, err = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging"))
    assert code == 2
    assert f"has commit {theirs[:12]} by Alice" in err and "--rebase" in err
    assert git(remote, "rev-parse", "promote/support-chat/staging") == theirs
    code, out, err = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging", "--rebase"))
    assert code == 0, out + err
    assert git(remote, "merge-base", "--is-ancestor", theirs, "promote/support-chat/staging") == ""


def test_failed_push_leaves_everything_as_it_was(setup, forge, cli):
    work, remote = setup
    hook = remote / "hooks/pre-receive"
    hook.write_text("#!/bin/sh\necho 'rejected by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    head = git(work, "rev-parse", "HEAD")
    code, _, err = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging"))
    assert code == 2
    assert "promotion failed at 'push'" in err and "not done: push, pull request" in err
    assert "working tree and local branches are unchanged" in err
    assert git(work, "rev-parse", "HEAD") == head and git(work, "status", "--porcelain") == ""
    assert git(work, "branch", "--format=%(refname:short)") == "main"
    assert git(work, "worktree", "list").count("\n") == 0
    assert forge.pulls("github", REPO) == []


@pytest.mark.parametrize("case", ["dirty", "detached", "no-remote", "unknown-model", "unknown-env"])
def test_preconditions_are_one_line_errors(setup, forge, cli, case):
    work, _ = setup
    args = ["support-chat", "--to", "staging"]
    expected = {"dirty": "uncommitted changes", "detached": "HEAD is detached",
                "no-remote": "git remote 'origin' does not exist", "unknown-model": "unknown model 'nope'",
                "unknown-env": "unknown environment 'qa'"}[case]
    if case == "dirty":
        (work / "models/support-chat.yaml").write_text((work / "models/support-chat.yaml").read_text() + "\n# x\n")
    elif case == "detached":
        git(work, "checkout", "--quiet", "--detach")
    elif case == "no-remote":
        git(work, "remote", "remove", "origin")
    elif case == "unknown-model":
        args[0] = "nope"
    else:
        args[2] = "qa"
    code, out, err = cli("-C", str(work), *promote_args(forge, *args))
    assert code == 2, out + err
    assert expected in err
    assert len(err.strip().splitlines()) == 1


def test_policy_gate_refuses_a_failing_promotion(setup, forge, cli):
    work, remote = setup
    spec = work / "models/support-chat.yaml"
    release = {"image": "registry.example.com/vllm/vllm-openai:latest", "modelVersion": "10"}
    spec.write_text(set_release(spec.read_text(), "dev", release, file="spec"))
    assert cli("-C", str(work), "render")[0] == 0
    git(work, "commit", "--quiet", "-am", "dev: latest")
    git(work, "push", "--quiet", "origin", "main")
    code, out, _ = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging"))
    assert code == 1
    assert "REFUSED by the policy gate" in out and "latest" in out
    assert git(remote, "branch", "--list", "promote/*") == ""
    assert forge.pulls("github", REPO) == []


def test_token_never_leaks_over_smart_http(tmp_path, monkeypatch, forge, cli):
    from tests.emulators.git_http import GitHttpServer, init_bare

    root = tmp_path / "srv"
    init_bare(root, "gitops.git")
    with GitHttpServer(root, auth=("x-access-token", TOKEN)) as server:
        work = copy_example(tmp_path / "work")
        git(work, "init", "--quiet", "-b", "main")
        git(work, "add", "-A")
        git(work, "commit", "--quiet", "-m", "initial")
        url = server.repo_url("gitops.git")
        git(work, "remote", "add", "origin", url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        basic = __import__("base64").b64encode(f"x-access-token:{TOKEN}".encode()).decode()
        git(work, "-c", f"http.extraHeader=Authorization: Basic {basic}", "push", "--quiet", "origin", "main")
        code, out, err = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging"))
        assert code == 0, out + err
        assert TOKEN not in out + err
        for pull in forge.pulls("github", REPO):
            assert TOKEN not in pull["body"]
        config = (work / ".git/config").read_text()
        assert TOKEN not in config and basic not in config
        assert git(work, "remote", "get-url", "origin") == url
        monkeypatch.setenv("GITHUB_TOKEN", "wrong-token-value")
        bump_env = work / "models/support-chat.yaml"
        assert bump_env.exists()
        code, out, err = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging"))
        assert code == 2
        assert "wrong-token-value" not in out + err


def test_metrics_gate(setup, forge, cli, tmp_path):
    work, remote = setup
    bad, good = tmp_path / "bad.json", tmp_path / "good.json"
    bad.write_text('{"eval_loss": 2.4, "final_loss": 2.4}')
    good.write_text('{"eval_loss": 1.9}')
    code, _, err = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging", "--metrics", str(bad)))
    assert code == 2 and "metrics gate failed: eval_loss = 2.4 does not satisfy <= 2.1" in err
    assert git(remote, "branch", "--list", "promote/*") == ""
    code, out, err = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging", "--metrics", str(good)))
    assert code == 0, out + err
    assert "metrics gate: eval_loss = 1.9 <= 2.1" in out


def test_live_gate_requires_synced_healthy_soaked_source(setup, forge, cli, tmp_path, monkeypatch):

    from tests.emulators.kube_api import KubeApiEmulator, make_application, write_kubeconfig

    work, _remote = setup
    revision = git(work, "rev-parse", "HEAD")
    with KubeApiEmulator(token="kube-token") as kube:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", kube.url, "kube-token")
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        kube.put_application(make_application("dev-support-chat-serving", revision=[revision, revision],
                                              health="Degraded", deployed_at="2026-01-01T00:00:00Z"))
        code, _, err = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging", "--live"))
        assert code == 2 and "live gate failed" in err and "Degraded" in err, err
        kube.put_application(make_application("dev-support-chat-serving", revision=[revision, revision],
                                              deployed_at="2026-01-01T00:00:00Z"))
        code, out, err = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging", "--live"))
    assert code == 0, out + err
    assert "live gate:" in out and "Synced and Healthy" in out


@pytest.mark.parametrize("flavor, variable, api", [("gitlab", "GITLAB_TOKEN", "/api/v4"), ("gitea", "GITEA_TOKEN", "/api/v1")])
def test_gitlab_and_gitea_merge_requests(setup, cli, monkeypatch, flavor, variable, api):
    work, _remote = setup
    monkeypatch.setenv(variable, TOKEN)
    with ForgeEmulator(token=TOKEN, repos=(REPO,)) as server:
        args = ("promote", "support-chat", "--to", "staging", "--forge", flavor, "--forge-url", server.url + api,
                "--repo", REPO)
        code, out, err = cli("-C", str(work), *args)
        assert code == 0, out + err
        [pull] = server.pulls(flavor, REPO)
        code, out, _ = cli("-C", str(work), *args)
        assert code == 0 and "up to date" in out
        assert len(server.pulls(flavor, REPO)) == 1
    assert "Policy check: passed" in str(pull)


def test_forge_failure_after_push_says_what_was_done(setup, forge, cli, monkeypatch):
    work, remote = setup
    monkeypatch.setenv("GITHUB_TOKEN", "not-the-right-token")
    head = git(work, "rev-parse", "HEAD")
    code, _, err = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging"))
    assert code == 2
    assert "promotion failed at 'pull request'" in err and "push" in err.split("Done:")[1].split(";")[0]
    assert "not-the-right-token" not in err
    assert git(work, "rev-parse", "HEAD") == head and git(work, "status", "--porcelain") == ""
    pushed = git(remote, "rev-parse", "promote/support-chat/staging")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    code, out, err = cli("-C", str(work), *promote_args(forge, "support-chat", "--to", "staging"))
    assert code == 0 and "opened pull request" in out, out + err
    assert git(remote, "rev-parse", "promote/support-chat/staging") == pushed  # the retry did not rewrite it
