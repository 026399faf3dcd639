"""The whole loop against a real MLflow registry: from `modelops init` to a prod release with
no hand edits, through pull requests on the forge emulator and again on a bare git remote
with no forge; idempotent re-runs; registry errors that write nothing."""
from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from generator.gitops.provenance import read_provenance
from tests.conftest import copy_example, snapshot
from tests.emulators.forge import ForgeEmulator
from tests.lifecycle_helpers import (
    closed_port_url,
    git,
    merge_branch,
    remote_file,
    repo_with_remote,
)
from tests.mlflow_registry import (
    digest_image,
    mlflow_server,
    seed_registry,
    seed_run_model,
)

TOKEN = "ghp_lifecycle0123456789TOKEN"
REPO = "acme/gitops"
# A scaffold keeps its placeholder repoURL until told otherwise, and the policy gate denies it (MO-PLACEHOLDER-002).
REPO_URL = "https://git.acme.internal/platform/gitops.git"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    with mlflow_server(tmp_path_factory.mktemp("mlflow")) as url:
        seed_registry(url, "example-model")
        seed_registry(url, "support-chat")
        seed_run_model(url, "from-run")
        yield url


@pytest.fixture
def forge():
    with ForgeEmulator(token=TOKEN, repos=(REPO,)) as server:
        yield server


@pytest.fixture
def env(monkeypatch, registry):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    return registry


def releases(text: str) -> dict:
    return YAML(typ="safe", pure=True).load(text)["releases"]


def forge_args(forge):
    return ("--forge", "github", "--forge-url", forge.url + "/api/v3", "--repo", REPO)


def _walk(cli, work, remote, tmp_path, extra, merge_hint: bool) -> None:
    """release -> dev, promote -> staging, promote -> prod; each merged the way a reviewer would."""
    steps = [("release", "example-model", "--env", "dev", "--from-registry", "models:/example-model@champion"),
             ("promote", "example-model", "--to", "staging"), ("promote", "example-model", "--to", "prod")]
    branches = ["release/example-model/dev", "promote/example-model/staging", "promote/example-model/prod"]
    for step, branch in zip(steps, branches, strict=True):
        code, out, err = cli("-C", str(work), *step, *extra)
        assert code == 0, out + err
        assert ("git request-pull" in out) == merge_hint
        merge_branch(remote, branch, tmp_path)
        git(work, "pull", "--quiet", "--ff-only", "origin", "main")
    spec = (work / "models/example-model.yaml").read_text()
    final = releases(spec)
    assert final["prod"] == final["staging"] == final["dev"]
    assert final["prod"]["modelVersion"] == "2" and final["prod"]["source"] == "models:/example-model/2"
    assert final["prod"]["modelUri"] == "s3://models/example-model/v2/"
    assert final["prod"]["image"] == digest_image("example-model", "8")
    assert final["prod"]["metrics"] == {"eval_loss": 1.9, "tokens_per_second": 2000.0}
    values = (work / "environments/prod/example-model/serving/values.yaml").read_text()
    assert digest_image("example-model", "8") in values
    # No hand edits anywhere: what is committed is exactly what the specs render.
    assert cli("-C", str(work), "render", "--check")[0] == 0


def test_init_to_prod_through_forge_pull_requests(env, forge, cli, tmp_path):
    assert cli("init", "--repo-url", REPO_URL, str(tmp_path / "gitops"))[0] == 0
    work, remote = repo_with_remote(tmp_path / "gitops", tmp_path / "remote.git")
    _walk(cli, work, remote, tmp_path, forge_args(forge), merge_hint=False)
    pulls = forge.pulls("github", REPO)
    assert [p["title"] for p in pulls] == ["Release example-model 2 to dev", "Promote example-model to staging (2)",
                                           "Promote example-model to prod (2)"]
    records = [read_provenance(p["body"]) for p in pulls]
    assert [(r["kind"], r["target"]) for r in records] == [("release", "dev"), ("promote", "staging"),
                                                           ("promote", "prod")]
    assert all(r["metrics"] == {"eval_loss": 1.9, "tokens_per_second": 2000.0} for r in records)
    # A second release from the same source changes nothing and writes nothing.
    before, head = len(forge.requests), git(work, "rev-parse", "HEAD")
    code, out, err = cli("-C", str(work), "release", "example-model", "--env", "dev", "--from-registry",
                         "models:/example-model@champion", *forge_args(forge))
    assert code == 0 and "nothing to do" in out, out + err
    assert [r.method for r in forge.requests[before:]] == []
    assert git(remote, "rev-parse", "main") == head


def test_init_to_prod_on_a_bare_remote_with_no_forge(env, cli, tmp_path):
    assert cli("init", "--repo-url", REPO_URL, str(tmp_path / "gitops"))[0] == 0
    work, remote = repo_with_remote(tmp_path / "gitops", tmp_path / "remote.git", file_url=False)
    code, out, _ = cli("-C", str(work), "release", "example-model", "--env", "dev", "--from-registry",
                       "models:/example-model/2", "--dry-run")
    assert code == 0 and "no pull request will be opened" in out
    _walk(cli, work, remote, tmp_path, (), merge_hint=True)


def test_release_pinned_version_and_gate_on_registry_metrics(env, forge, cli, tmp_path):
    work, remote = repo_with_remote(copy_example(tmp_path / "work"), tmp_path / "remote.git")
    code, _, err = cli("-C", str(work), "release", "support-chat", "--env", "dev", "--from-registry",
                       "models:/support-chat/1", *forge_args(forge))
    assert code == 2 and "metrics gate failed: eval_loss = 2.3 does not satisfy <= 2.1" in err
    assert git(remote, "branch", "--list", "release/*") == ""
    code, out, err = cli("-C", str(work), "release", "support-chat", "--env", "dev", "--from-registry",
                         "models:/support-chat/2", "--image", digest_image("support-chat", "9"), *forge_args(forge))
    assert code == 0, out + err
    dev = releases(remote_file(remote, "release/support-chat/dev", "models/support-chat.yaml"))["dev"]
    assert dev["image"] == digest_image("support-chat", "9")  # the flag wins over the registry tag
    assert dev["modelVersion"] == "2" and dev["metrics"]["eval_loss"] == 1.9


@pytest.mark.parametrize("uri, expected", [
    ("models:/support-chat@nope", "MLflow registry: model 'support-chat' has no alias 'nope'"),
    ("models:/support-chat/9", "MLflow registry: model 'support-chat' has no version 9"),
    ("models:/no-such-model/1", "MLflow registry: model 'no-such-model' has no version 1"),
    ("models:/support-chat", "expected models:/NAME@ALIAS or models:/NAME/VERSION"),
    ("unreachable", "cannot reach the MLflow registry at http://127.0.0.1:"),
    # runs:/ resolves to the run's artifact folder on the MLflow server's disk: no runtime reads that.
    ("models:/from-run/1", "models:/from-run/1: the model URI '/"),
])
def test_bad_registry_input_is_one_line_and_writes_nothing(env, forge, cli, tmp_path, monkeypatch, uri, expected):
    work, remote = repo_with_remote(copy_example(tmp_path / "work"), tmp_path / "remote.git")
    if uri == "unreachable":
        monkeypatch.setenv("MLFLOW_TRACKING_URI", closed_port_url())
        uri = "models:/support-chat/2"
    before = snapshot(work)
    code, out, err = cli("-C", str(work), "release", "support-chat", "--env", "dev", "--from-registry", uri,
                         *forge_args(forge))
    assert code == 2, out + err
    assert expected in err and len(err.strip().splitlines()) == 1
    assert snapshot(work) == before and forge.requests == []
    assert git(remote, "branch", "--list", "release/*") == ""


def test_registry_version_stored_in_a_run_needs_an_explicit_model_uri(env, cli, tmp_path):
    work, remote = repo_with_remote(copy_example(tmp_path / "work"), tmp_path / "remote.git", file_url=False)
    code, out, err = cli("-C", str(work), "release", "support-chat", "--env", "dev", "--from-registry",
                         "models:/from-run/1", "--model-uri", "s3://models/support-chat/from-run/", "--no-pr")
    assert code == 0, out + err
    dev = releases(remote_file(remote, "release/support-chat/dev", "models/support-chat.yaml"))["dev"]
    assert dev["modelUri"] == "s3://models/support-chat/from-run/" and dev["metrics"] == {"eval_loss": 1.5}
