"""`modelops release` from flags and from finished training runs on the Argo Server
emulator; promotion on plain git remotes; `--commit`; bad input writes nothing."""
from __future__ import annotations

import json

import pytest
from ruamel.yaml import YAML

from generator.gitops.provenance import read_provenance
from tests.conftest import copy_example, snapshot
from tests.emulators.argo_server import ArgoServerEmulator
from tests.emulators.forge import ForgeEmulator
from tests.lifecycle_helpers import (
    closed_port_url,
    git,
    merge_branch,
    remote_file,
    repo_with_remote,
)

TOKEN = "ghp_release0123456789TOKEN"
ARGO_TOKEN = "argo-token-123"
REPO = "acme/gitops"
METRICS = {"checkpoint_uri": "s3://checkpoints/support-chat/train-abc12/step-100", "eval_loss": 1.87,
           "final_loss": 1.8, "model_uri": "s3://models/support-chat/train-abc12/", "run": "train-abc12",
           "steps": 100, "tokens_per_second": 5120.5}


@pytest.fixture
def setup(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("ARGO_TOKEN", ARGO_TOKEN)
    return repo_with_remote(copy_example(tmp_path / "work"), tmp_path / "remote.git")


@pytest.fixture
def forge():
    with ForgeEmulator(token=TOKEN, repos=(REPO,)) as server:
        yield server


@pytest.fixture
def argo():
    with ArgoServerEmulator(token=ARGO_TOKEN) as server:
        yield server


def workflow(name: str, phase: str = "Succeeded", *, at_workflow: dict | None = None,
             nodes: dict | None = None) -> dict:
    status: dict = {"phase": phase}
    if at_workflow is not None:
        status["outputs"] = {"parameters": [{"name": "metrics", "value": json.dumps(at_workflow, sort_keys=True)}]}
    if nodes is not None:
        status["nodes"] = nodes
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": name, "namespace": "ml-dev"}, "status": status}


def forge_args(forge):
    return ("--forge", "github", "--forge-url", forge.url + "/api/v3", "--repo", REPO)


def spec_release(text: str, env: str) -> dict:
    return YAML(typ="safe", pure=True).load(text)["releases"][env]


def test_release_from_workflow_opens_a_pr_with_provenance_and_is_idempotent(setup, forge, argo, cli):
    work, remote = setup
    argo.put_workflow(workflow("train-abc12", at_workflow=METRICS))
    args = ("-C", str(work), "release", "support-chat", "--env", "dev", "--from-workflow", "train-abc12",
            "--argo-server", argo.url, *forge_args(forge))
    code, out, err = cli(*args)
    assert code == 0, out + err
    assert "opened pull request" in out and "metrics gate: eval_loss = 1.87 <= 2.1" in out
    branch = "release/support-chat/dev"
    release = spec_release(remote_file(remote, branch, "models/support-chat.yaml"), "dev")
    assert release["modelUri"] == METRICS["model_uri"] and release["modelVersion"] == "train-abc12"
    assert release["source"] == "workflow:ml-dev/train-abc12"
    assert release["metrics"] == {"eval_loss": 1.87, "final_loss": 1.8, "steps": 100, "tokens_per_second": 5120.5}
    [pull] = forge.pulls("github", REPO)
    assert pull["title"] == "Release support-chat train-abc12 to dev"
    assert "modelops/release" in pull["labels"]
    record = read_provenance(pull["body"])
    assert record is not None and record["kind"] == "release" and record["model"] == "support-chat"
    assert record["after"]["metrics"]["eval_loss"] == 1.87 and record["before"]["modelVersion"] == "8"
    assert record["policy"]["passed"] is True and record["specCommit"] == git(work, "rev-parse", "HEAD")
    assert record["modelops"]["version"] and record["policy"]["engine"]
    [get] = [r for r in argo.requests if r.method == "GET"]
    assert get.path == "/api/v1/workflows/ml-dev/train-abc12" and get.headers["authorization"] == f"Bearer {ARGO_TOKEN}"
    # Again, same source: nothing changes, and the forge sees reads only.
    tip, before = git(remote, "rev-parse", branch), len(forge.requests)
    code, out, err = cli(*args)
    assert code == 0 and "up to date" in out, out + err
    assert git(remote, "rev-parse", branch) == tip
    assert [r.method for r in forge.requests[before:]] == ["GET"]


def test_release_reads_the_newest_node_when_the_workflow_level_has_no_metrics(setup, argo, cli):
    work, remote = setup
    older = {"run": "old", "eval_loss": 9.9}
    nodes = {"n1": {"finishedAt": "2026-12-01T10:00:00Z", "outputs": {"parameters": [
                 {"name": "metrics", "value": json.dumps(older)}]}},
             "n2": {"finishedAt": "2026-12-01T11:00:00Z", "outputs": {"parameters": [
                 {"name": "metrics", "value": json.dumps(METRICS)}]}}}
    argo.put_workflow(workflow("train-abc12", nodes=nodes))
    code, out, err = cli("-C", str(work), "release", "support-chat", "--env", "dev", "--from-workflow",
                         "train-abc12", "--argo-server", argo.url, "--commit")
    assert code == 0, out + err
    assert spec_release((work / "models/support-chat.yaml").read_text(), "dev")["metrics"]["eval_loss"] == 1.87
    assert "committed" in out and git(remote, "branch", "--list", "release/*") == ""


@pytest.mark.parametrize("case, expected", [
    ("running", "workflow ml-dev/train-abc12 is Running, not Succeeded"),
    ("failed", "workflow ml-dev/train-abc12 is Failed, not Succeeded"),
    ("no-metrics", "workflow ml-dev/train-abc12 exported no 'metrics' output parameter"),
    ("missing", "workflow ml-dev/train-abc12 not found on the Argo Server"),
    ("bad-json", "the 'metrics' output parameter is not JSON"),
    ("unreachable", "cannot reach Argo Server for GET /api/v1/workflows/ml-dev/train-abc12"),
])
def test_workflow_that_cannot_be_released_is_one_line_exit_2(setup, forge, argo, cli, case, expected):
    work, remote = setup
    if case == "running":
        argo.put_workflow(workflow("train-abc12", "Running", at_workflow=METRICS))
    elif case == "failed":
        argo.put_workflow(workflow("train-abc12", "Failed", at_workflow=METRICS))
    elif case == "no-metrics":
        argo.put_workflow(workflow("train-abc12", nodes={"n": {"finishedAt": "2026-12-01T10:00:00Z"}}))
    elif case == "bad-json":
        broken = workflow("train-abc12")
        broken["status"]["outputs"] = {"parameters": [{"name": "metrics", "value": "{not json"}]}
        argo.put_workflow(broken)
    server = closed_port_url() if case == "unreachable" else argo.url
    before = snapshot(work)
    code, out, err = cli("-C", str(work), "release", "support-chat", "--env", "dev", "--from-workflow",
                         "train-abc12", "--argo-server", server, *forge_args(forge))
    assert code == 2, out + err
    assert expected in err and len(err.strip().splitlines()) == 1
    assert snapshot(work) == before
    assert git(remote, "branch", "--list", "release/*") == "" and forge.requests == []


def test_release_metrics_below_the_gate_are_refused(setup, forge, argo, cli):
    work, remote = setup
    argo.put_workflow(workflow("train-abc12", at_workflow={**METRICS, "eval_loss": 2.6}))
    code, _, err = cli("-C", str(work), "release", "support-chat", "--env", "dev", "--from-workflow",
                       "train-abc12", "--argo-server", argo.url, *forge_args(forge))
    assert code == 2 and "metrics gate failed: eval_loss = 2.6 does not satisfy <= 2.1" in err
    assert git(remote, "branch", "--list", "release/*") == "" and forge.pulls("github", REPO) == []


def test_promote_metrics_from_workflow(setup, forge, argo, cli):
    work, _remote = setup
    argo.put_workflow(workflow("train-bad", at_workflow={**METRICS, "eval_loss": 2.4}))
    argo.put_workflow(workflow("train-abc12", at_workflow=METRICS))
    base = ("-C", str(work), "promote", "support-chat", "--to", "staging", "--argo-server", argo.url,
            *forge_args(forge))
    code, _, err = cli(*base, "--metrics-from-workflow", "train-bad")
    assert code == 2 and "eval_loss = 2.4 does not satisfy <= 2.1" in err
    code, out, err = cli(*base, "--metrics-from-workflow", "train-abc12")
    assert code == 0, out + err
    assert "metrics gate: eval_loss = 1.87 <= 2.1" in out


def test_plain_bare_remote_pushes_and_prints_how_to_open_the_pr(tmp_path, cli):
    work, remote = repo_with_remote(copy_example(tmp_path / "work"), tmp_path / "remote.git", file_url=False)
    args = ("-C", str(work), "release", "support-chat", "--env", "dev", "--version", "9",
            "--model-uri", "s3://models/support-chat/v9/")
    code, out, err = cli(*args, "--dry-run")
    assert code == 0, out + err
    assert "no pull request will be opened" in out and "push release/support-chat/dev" in out
    assert git(remote, "branch", "--list", "release/*") == ""
    code, out, err = cli(*args)
    assert code == 0, out + err
    assert "pushed branch" in out
    assert f"git request-pull main {remote} release/support-chat/dev" in out
    assert spec_release(remote_file(remote, "release/support-chat/dev", "models/support-chat.yaml"),
                        "dev")["modelVersion"] == "9"


def test_forge_flags_work_with_a_path_remote(tmp_path, forge, cli, monkeypatch):
    """The defect: `--forge github --repo o/n` failed with 'cannot parse git remote URL' on a path."""
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    work, _remote = repo_with_remote(copy_example(tmp_path / "work"), tmp_path / "remote.git", file_url=False)
    code, out, err = cli("-C", str(work), "promote", "support-chat", "--to", "staging", "--dry-run",
                         *forge_args(forge))
    assert code == 0, out + err
    assert "open or update a pull request on github" in out
    code, out, err = cli("-C", str(work), "promote", "support-chat", "--to", "staging", *forge_args(forge))
    assert code == 0 and "opened pull request" in out, out + err
    assert len(forge.pulls("github", REPO)) == 1
    code, _, err = cli("-C", str(work), "promote", "support-chat", "--to", "staging", "--forge", "gitlab")
    assert code == 2 and "pass --repo OWNER/NAME" in err


def test_ci_commits_are_authored_by_the_bot(setup, forge, cli, monkeypatch):
    work, remote = setup
    monkeypatch.setenv("CI", "true")
    code, out, err = cli("-C", str(work), "promote", "support-chat", "--to", "staging", *forge_args(forge))
    assert code == 0, out + err
    author = git(remote, "log", "-1", "--format=%an|%cn", "promote/support-chat/staging")
    assert author == "modelops|modelops"
    message = git(remote, "log", "-1", "--format=%B", "promote/support-chat/staging")
    assert "Modelops-Promotion: support-chat/staging" in message and "Modelops-Kind: promote" in message


def test_merged_release_then_promote_carries_the_metrics(setup, forge, argo, cli, tmp_path):
    work, remote = setup
    argo.put_workflow(workflow("train-abc12", at_workflow=METRICS))
    assert cli("-C", str(work), "release", "support-chat", "--env", "dev", "--from-workflow", "train-abc12",
               "--argo-server", argo.url, *forge_args(forge))[0] == 0
    merge_branch(remote, "release/support-chat/dev", tmp_path)
    git(work, "pull", "--quiet", "origin", "main")
    code, out, err = cli("-C", str(work), "promote", "support-chat", "--to", "staging", *forge_args(forge))
    assert code == 0, out + err
    assert "metrics gate: eval_loss = 1.87 <= 2.1" in out
    pull = next(p for p in forge.pulls("github", REPO) if p["head"] == "promote/support-chat/staging")
    assert "eval_loss=1.87" in pull["body"]


def test_release_needs_a_source(setup, cli):
    work, _ = setup
    code, _, err = cli("-C", str(work), "release", "support-chat", "--env", "dev")
    assert code == 2 and "name what to release" in err
    code, _, err = cli("-C", str(work), "promote", "support-chat", "--to", "dev", "--no-pr")
    assert code == 2 and "cut a release into it with `modelops release MODEL --env dev`" in err
