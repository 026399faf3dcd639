"""The hidden provenance block: written into every pull request, cut to the forge's limit
with a note, and read back by `status --pull-requests` and `report --pull-requests`."""
from __future__ import annotations

import json

import pytest

from generator.forges import GitHub, GitLab
from generator.forges._http import ForgeError
from generator.gitops.provenance import (
    BODY_LIMITS,
    fit_body,
    provenance_block,
    read_provenance,
)
from tests.conftest import copy_example
from tests.emulators.forge import ForgeEmulator
from tests.lifecycle_helpers import repo_with_remote

TOKEN = "ghp_provenance0123456789TOKEN"
REPO = "acme/gitops"


@pytest.fixture
def forge():
    with ForgeEmulator(token=TOKEN, repos=(REPO,)) as server:
        yield server


def test_block_round_trips_and_cannot_close_the_comment_early():
    record = {"model": "m", "note": "evil --> <script>", "metrics": {"eval_loss": 1.9}}
    block = provenance_block(record)
    assert block.count("-->") == 1 and block.endswith("-->")
    body = f"# Title\n\n{block}\n\nmore text"
    assert read_provenance(body) == {**record, "schema": "modelops.dev/provenance/v1"}
    assert read_provenance("no block here") is None
    assert read_provenance(block.replace('"schema"', '"other"')) is None


def test_long_bodies_are_cut_to_the_github_limit_with_a_note(forge):
    block = provenance_block({"model": "m", "kind": "promote"})
    details = "\n".join(f"- `environments/dev/m/file{i}.yaml` `a.b.c`: `1` -> `2`" for i in range(4000))
    parts = [block, "<details><summary>4000 field change(s)</summary>", details, "</details>"]
    github = GitHub(REPO, TOKEN, forge.url + "/api/v3")
    full = "\n".join(parts)
    assert len(full) > BODY_LIMITS["github"]
    with pytest.raises(ForgeError, match="body is too long"):  # the emulator enforces GitHub's limit
        github.create_pull_request("promote/m/dev", "main", "t", full)
    body = fit_body(parts, "github", hint="Run `modelops diff` locally.")
    assert len(body) <= BODY_LIMITS["github"]
    assert body.startswith(block) and "**Truncated**" in body and "65,536 characters" in body
    assert body.count("<details>") == body.count("</details>")
    pull = github.create_pull_request("promote/m/dev", "main", "t", body)
    assert read_provenance(pull.body) == {"kind": "promote", "model": "m", "schema": "modelops.dev/provenance/v1"}
    gitlab_body = fit_body(parts, "gitlab", hint="")
    assert gitlab_body == full  # GitLab allows 1,048,576 characters
    assert GitLab(REPO, TOKEN, forge.url + "/api/v4").create_pull_request("b", "main", "t", gitlab_body).body == full


def test_status_and_report_read_open_promotions_from_the_forge(tmp_path, forge, cli, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    work, _ = repo_with_remote(copy_example(tmp_path / "work"), tmp_path / "remote.git")
    flags = ("--forge", "github", "--forge-url", forge.url + "/api/v3", "--repo", REPO)
    assert cli("-C", str(work), "promote", "support-chat", "--to", "staging", *flags)[0] == 0
    GitHub(REPO, TOKEN, forge.url + "/api/v3").create_pull_request("docs", "main", "Docs", "not ours")
    code, out, err = cli("-C", str(work), "status", "--pull-requests", *flags)
    assert code == 0, out + err
    assert "Open pull requests:" in out
    [line] = [line for line in out.splitlines() if line.strip().startswith("#")]
    assert "#1 support-chat staging: 7 -> 8 (from dev; policy passed)" in line
    code, out, _ = cli("-C", str(work), "status", "--pull-requests", "--format", "json", *flags)
    [pull] = json.loads(out)["pullRequests"]
    assert pull["number"] == 1 and pull["after"]["modelVersion"] == "8" and pull["policy"]["passed"] is True
    page = tmp_path / "report.html"
    code, _, err = cli("-C", str(work), "report", "--out", str(page), "--pull-requests", *flags)
    assert code == 0, err
    html = page.read_text()
    assert "#1 promote: 7 -&gt; 8" in html and forge.url in html
