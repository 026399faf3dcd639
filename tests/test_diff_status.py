"""`modelops diff` and `modelops status` on real git history and the Kubernetes API emulator."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import copy_example
from tests.emulators.kube_api import KubeApiEmulator, make_application, write_kubeconfig

NEW_IMAGE = "registry.example.com/vllm/vllm-openai@sha256:" + "7" * 64
OLD_IMAGE = "registry.example.com/vllm/vllm-openai@sha256:2c6d2f2dd7c3d5acb2f3b1eaf2a466b4c1b9f2dae5a3c8b7f6e5d4c3b2a19080"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def history(tmp_path):
    repo = copy_example(tmp_path / "repo")
    git(repo, "init", "--quiet", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "base")
    return repo


def bump_image(repo: Path, env: str) -> None:
    spec = repo / "models/support-chat.yaml"
    lines = spec.read_text().splitlines(keepends=True)
    start = lines.index(f"  {env}:\n", lines.index("releases:\n"))
    lines[start + 1] = lines[start + 1].replace(OLD_IMAGE, NEW_IMAGE)
    spec.write_text("".join(lines))


def test_no_changes_exit_zero(history, cli):
    code, out, _ = cli("-C", str(history), "diff", "--base", "HEAD", "--exit-code")
    assert code == 0 and "No rendered changes" in out


def test_version_bump_names_the_image_change_per_environment(history, cli):
    bump_image(history, "staging")
    bump_image(history, "prod")
    assert cli("-C", str(history), "render")[0] == 0
    code, out, _ = cli("-C", str(history), "diff", "--base", "HEAD", "--exit-code")
    assert code == 1
    assert "staging/support-chat: image: " + OLD_IMAGE + " -> " + NEW_IMAGE in out
    assert "prod/support-chat: image: " + OLD_IMAGE + " -> " + NEW_IMAGE in out
    assert "dev/support-chat" not in out.split("Image and version changes:")[1]
    code, out, _ = cli("-C", str(history), "diff", "--base", "HEAD", "--format", "json")
    payload = json.loads(out)
    changed = {(c["environment"], c["path"]) for c in payload["changes"]}
    assert ("staging", "environments/staging/support-chat/serving/values.yaml") in changed
    image_fields = [f for c in payload["changes"] for f in c["fields"] if f["path"] == "image"]
    assert image_fields and all(f["highlight"] and f["after"] == NEW_IMAGE for f in image_fields)
    code, out, _ = cli("-C", str(history), "diff", "--base", "HEAD", "--format", "markdown")
    assert "<!-- modelops:diff -->" in out and "| staging | support-chat | `image` |" in out


def test_added_and_removed_models(history, cli):
    (history / "models/churn-scorer.yaml").unlink()
    assert cli("-C", str(history), "render")[0] == 0
    _, out, _ = cli("-C", str(history), "diff", "--base", "HEAD", "--format", "json")
    statuses = {c["status"] for c in json.loads(out)["changes"] if c["model"] == "churn-scorer"}
    assert statuses == {"removed"}


def test_hand_edit_of_a_committed_rendered_file_shows_up(history, cli):
    """Argo CD syncs the files, not the specs: a hand edit is a change, and it is flagged."""
    values = history / "environments/prod/support-chat/serving/values.yaml"
    text = values.read_text()
    assert "memory: 48Gi" in text
    values.write_text(text.replace("memory: 48Gi", "memory: 64Gi"))
    code, out, _ = cli("-C", str(history), "diff", "--base", "HEAD", "--exit-code")
    assert code == 1
    assert "No rendered changes" not in out
    assert "memory: 48Gi -> 64Gi" in out
    assert "! environments/prod/support-chat/serving/values.yaml: edited by hand" in out
    git(history, "commit", "--quiet", "-am", "hand edit")
    code, out, _ = cli("-C", str(history), "diff", "--base", "HEAD~1", "--head", "HEAD", "--format", "json")
    payload = json.loads(out)
    assert payload["drift"] == [{"environment": "prod", "kind": "hand-edit", "model": "support-chat",
                                 "path": "environments/prod/support-chat/serving/values.yaml"}]
    assert any(f["after"] == "64Gi" for c in payload["changes"] for f in c["fields"])
    code, out, _ = cli("-C", str(history), "diff", "--base", "HEAD~1", "--format", "markdown")
    assert "[!WARNING]" in out and "edited by hand" in out


def test_spec_change_without_render_is_flagged_stale(history, cli):
    bump_image(history, "staging")
    code, out, _ = cli("-C", str(history), "diff", "--base", "HEAD", "--exit-code")
    assert code == 1
    assert "No rendered changes against HEAD." in out  # Argo CD would sync nothing new yet
    assert "! environments/staging/support-chat/serving/values.yaml: stale" in out
    assert "run `modelops render`" in out


def test_unknown_base_is_an_error(history, cli):
    code, _, err = cli("-C", str(history), "diff", "--base", "no-such-ref")
    assert code == 2 and "unknown git revision 'no-such-ref'" in err


def test_status_marks_lagging_environments(history, cli):
    code, out, _ = cli("-C", str(history), "status")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "v7 (behind dev)" in rows["support-chat"]
    assert "v2026.11.1 (behind staging)" in rows["churn-scorer"]
    code, out, _ = cli("-C", str(history), "status", "--format", "json")
    cell = json.loads(out)["models"]["support-chat"]["staging"]
    assert cell["lagging"] is True and cell["source"] == "dev" and cell["release"]["modelVersion"] == "7"


def test_status_live_reads_argo_cd(history, cli, tmp_path):
    with KubeApiEmulator(token="kube-token") as kube:
        kube.put_application(make_application("prod-support-chat-serving", revision=["abc", "abc"],
                                              sync="OutOfSync", health="Degraded"))
        kube.put_application(make_application("dev-support-chat-serving", revision=["abc", "abc"]))
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", kube.url, "kube-token")
        code, out, err = cli("-C", str(history), "status", "--live", "--kubeconfig", str(kubeconfig))
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("support-chat"))
    assert "[Synced/Healthy]" in row and "[OutOfSync/Degraded]" in row and "[Missing/Missing]" in row


def test_markdown_diff_fits_a_pull_request_comment(history, cli):
    """Hundreds of changed files must still post: the comment is cut to 65,536 characters with a note."""
    spec = history / "models/support-chat.yaml"
    text = spec.read_text()
    env_block = "".join(f"    - {{name: VAR_{i:04d}, value: \"{'x' * 190}\"}}\n" for i in range(600))
    spec.write_text(text.replace("  replicas: {min: 1, max: 4}\n", "  replicas: {min: 1, max: 4}\n  env:\n" + env_block))
    assert cli("-C", str(history), "render")[0] == 0
    code, out, _ = cli("-C", str(history), "diff", "--base", "HEAD", "--format", "markdown")
    assert code == 0
    assert len(out) <= 65_536 and "**Truncated**" in out and out.startswith("<!-- modelops:diff -->")
