"""Freeze windows (dated and weekly, in a time zone) and rollbacks from the spec's history."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from ruamel.yaml import YAML

from generator.gitops.freeze import active_window, freeze_windows
from generator.gitops.provenance import read_provenance
from generator.spec.load import load_repository
from tests.conftest import copy_example, snapshot
from tests.emulators.forge import ForgeEmulator
from tests.lifecycle_helpers import git, merge_branch, remote_file, repo_with_remote

TOKEN = "ghp_freeze0123456789TOKEN"
REPO = "acme/gitops"


@pytest.fixture
def forge():
    with ForgeEmulator(token=TOKEN, repos=(REPO,)) as server:
        yield server


def forge_args(forge):
    return ("--forge", "github", "--forge-url", forge.url + "/api/v3", "--repo", REPO)


def add_windows(work, env: str, windows_yaml: str) -> None:
    path = work / f"environments/{env}/environment.yaml"
    path.write_text(path.read_text() + "freezeWindows:\n" + windows_yaml)


def now_window() -> str:
    """A dated window around the real current time (the clock is not faked)."""
    today = datetime.now(UTC).date()
    return (f"  - name: year-end\n    start: \"{today - timedelta(days=1)}\"\n    end: \"{today + timedelta(days=1)}\"\n"
            "    timeZone: UTC\n")


@pytest.fixture
def setup(tmp_path, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    work = copy_example(tmp_path / "work")
    return work, tmp_path / "remote.git"


def windows_of(work, env="staging"):
    return freeze_windows(load_repository(work).environment(env))


def test_weekly_window_across_midnight_in_a_time_zone(setup):
    work, _ = setup
    add_windows(work, "staging", "  - name: weekend\n    timeZone: Europe/Berlin\n"
                                 "    weekly: {days: [fri], start: \"18:00\", end: \"06:00\"}\n")
    windows = windows_of(work)
    berlin_friday_19 = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)  # 19:00 CET
    saturday_05 = datetime(2026, 12, 5, 4, 59, tzinfo=UTC)  # 05:59 CET, still inside
    saturday_06 = datetime(2026, 12, 5, 5, 0, tzinfo=UTC)  # 06:00 CET, outside
    friday_17 = datetime(2026, 12, 4, 16, 59, tzinfo=UTC)
    assert active_window(windows, berlin_friday_19).name == "weekend"
    assert active_window(windows, saturday_05).name == "weekend"
    assert active_window(windows, saturday_06) is None and active_window(windows, friday_17) is None


def test_dated_window_end_date_is_inclusive(setup):
    work, _ = setup
    add_windows(work, "prod", "  - name: holidays\n    start: \"2026-12-24\"\n    end: \"2026-12-26\"\n"
                              "    timeZone: America/New_York\n")
    windows = windows_of(work, "prod")
    assert active_window(windows, datetime(2026, 12, 27, 4, 59, tzinfo=UTC)).name == "holidays"  # 23:59 on the 26th
    assert active_window(windows, datetime(2026, 12, 27, 5, 0, tzinfo=UTC)) is None
    assert active_window(windows, datetime(2026, 12, 24, 4, 59, tzinfo=UTC)) is None


@pytest.mark.parametrize("windows_yaml, expected", [
    (("  - name: a\n    start: \"2026-12-20\"\n    end: \"2026-12-31\"\n"
     "  - name: b\n    start: \"2026-12-30\"\n    end: \"2027-01-02\"\n"), "freezeWindows[1]: window 'b'"),
    (("  - name: a\n    weekly: {days: [fri, sat], start: \"18:00\", end: \"23:00\"}\n"
     "  - name: b\n    weekly: {days: [sat], start: \"20:00\", end: \"21:00\"}\n"), "overlaps 'a'"),
    ("  - name: a\n    timeZone: Mars/Olympus\n    start: \"2026-12-20\"\n    end: \"2026-12-21\"\n",
     "unknown time zone 'Mars/Olympus'"),
    ("  - name: a\n    start: \"2026-12-20\"\n    end: \"2026-12-19\"\n", "is not after start"),
])
def test_bad_windows_are_one_line_exit_2_and_nothing_is_written(setup, forge, cli, windows_yaml, expected):
    work, remote = setup
    add_windows(work, "staging", windows_yaml)
    repo_with_remote(work, remote)
    before = snapshot(work)
    code, out, err = cli("-C", str(work), "promote", "support-chat", "--to", "staging", *forge_args(forge))
    assert code == 2, out + err
    assert expected in err and "environments/staging/environment.yaml:" in err
    assert len(err.strip().splitlines()) == 1
    assert snapshot(work) == before and forge.requests == []
    assert git(remote, "branch", "--list", "promote/*") == ""


def test_promote_and_release_refuse_inside_a_window(setup, forge, cli):
    work, remote = setup
    add_windows(work, "staging", now_window())
    add_windows(work, "dev", now_window())
    repo_with_remote(work, remote)
    code, out, err = cli("-C", str(work), "promote", "support-chat", "--to", "staging", *forge_args(forge))
    assert code == 1, out + err
    assert "REFUSED: freeze window" in out and "'year-end'" in out and "--override-freeze" in out
    code, out, _ = cli("-C", str(work), "release", "support-chat", "--env", "dev", "--version", "9",
                       *forge_args(forge))
    assert code == 1 and "'year-end'" in out
    assert git(remote, "branch", "--list", "*/support-chat/*") == "" and forge.requests == []
    code, _, err = cli("-C", str(work), "promote", "support-chat", "--to", "staging", "--override-freeze",
                       *forge_args(forge))
    assert code == 2 and "--override-freeze needs --reason" in err


def test_override_is_recorded_in_trailers_and_provenance(setup, forge, cli):
    work, remote = setup
    add_windows(work, "staging", now_window())
    repo_with_remote(work, remote)
    code, out, err = cli("-C", str(work), "promote", "support-chat", "--to", "staging", "--override-freeze",
                         "--reason", "hotfix for INC-42", *forge_args(forge))
    assert code == 0, out + err
    message = git(remote, "log", "-1", "--format=%B", "promote/support-chat/staging")
    assert "Modelops-Freeze-Override: year-end" in message
    assert "Modelops-Override-By: Test User <test@example.com>" in message
    assert "Modelops-Override-Reason: hotfix for INC-42" in message
    [pull] = forge.pulls("github", REPO)
    record = read_provenance(pull["body"])
    assert record["freezeOverride"]["Modelops-Override-Reason"] == "hotfix for INC-42"


def version_in(remote, ref: str, env: str) -> str:
    text = remote_file(remote, ref, "models/support-chat.yaml")
    return YAML(typ="safe", pure=True).load(text)["releases"][env]["modelVersion"]


def test_rollback_to_the_previous_release(setup, forge, cli, tmp_path):
    work, remote = setup
    repo_with_remote(work, remote)
    assert cli("-C", str(work), "promote", "support-chat", "--to", "staging", *forge_args(forge))[0] == 0
    merge_branch(remote, "promote/support-chat/staging", tmp_path)
    git(work, "pull", "--quiet", "origin", "main")
    assert version_in(remote, "main", "staging") == "8"
    code, out, err = cli("-C", str(work), "rollback", "support-chat", "--env", "staging", *forge_args(forge))
    assert code == 0, out + err
    branch = "rollback/support-chat/staging"
    assert version_in(remote, branch, "staging") == "7"
    message = git(remote, "log", "-1", "--format=%B", branch)
    assert "Modelops-Kind: rollback" in message and "Modelops-Rollback: 8 -> 7" in message
    pull = next(p for p in forge.pulls("github", REPO) if p["head"] == branch)
    assert pull["title"] == "Rollback support-chat in staging to 7 (from 8)"
    assert "modelops/rollback" in pull["labels"] and "Policy check: passed" in pull["body"]
    files = git(remote, "diff", "--name-only", f"main..{branch}").splitlines()
    assert files == ["environments/staging/support-chat/serving/values.yaml", "models/support-chat.yaml"]


def test_promote_release_version_rolls_back_and_still_runs_the_policy_gate(setup, forge, cli, tmp_path):
    work, remote = setup
    spec = work / "models/support-chat.yaml"
    repo_with_remote(work, remote)
    # An old release whose image the policy gate refuses (a mutable tag) is in the history.
    text = spec.read_text()
    lines = text.splitlines(keepends=True)
    start = lines.index("  dev:\n", lines.index("releases:\n"))
    lines[start + 1] = "    image: registry.example.com/vllm/vllm-openai:latest\n"
    lines[start + 3] = '    modelVersion: "6-latest"\n'
    spec.write_text("".join(lines))
    git(work, "commit", "--quiet", "-am", "dev: try latest")
    git(work, "revert", "--no-edit", "HEAD")
    git(work, "push", "--quiet", "origin", "main")
    code, out, _ = cli("-C", str(work), "promote", "support-chat", "--to", "prod", "--release", "6-latest",
                       *forge_args(forge))
    assert code == 1 and "REFUSED by the policy gate" in out
    assert git(remote, "branch", "--list", "rollback/*") == ""
    code, _, err = cli("-C", str(work), "promote", "support-chat", "--to", "prod", "--release", "99",
                       *forge_args(forge))
    assert code == 2 and "no release 99 in the spec's git history" in err



def test_override_in_ci_names_the_ci_actor(setup, forge, cli, monkeypatch):
    work, remote = setup
    add_windows(work, "staging", now_window())
    repo_with_remote(work, remote)
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    code, out, err = cli("-C", str(work), "promote", "support-chat", "--to", "staging", "--override-freeze",
                         "--reason", "approved in CAB-7", *forge_args(forge))
    assert code == 0, out + err
    message = git(remote, "log", "-1", "--format=%an|%B", "promote/support-chat/staging")
    assert message.startswith("modelops|") and "Modelops-Override-By: octocat (via GITHUB_ACTOR)" in message


def test_a_dated_freeze_over_a_weekly_one_is_allowed(setup):
    work, _ = setup
    add_windows(work, "prod", "  - name: holidays\n    start: \"2026-12-20\"\n    end: \"2027-01-02\"\n"
                              "  - name: weekend\n    weekly: {days: [sat, sun], start: \"00:00\", end: \"23:59\"}\n")
    windows = windows_of(work, "prod")
    assert active_window(windows, datetime(2026, 12, 26, 12, 0, tzinfo=UTC)).name == "holidays"
    assert active_window(windows, datetime(2027, 1, 9, 12, 0, tzinfo=UTC)).name == "weekend"
    assert active_window(windows, datetime(2027, 1, 6, 12, 0, tzinfo=UTC)) is None


def test_status_shows_frozen_environments(setup, cli):
    work, _ = setup
    add_windows(work, "prod", now_window())
    code, out, err = cli("-C", str(work), "status")
    assert code == 0, err
    assert "prod: frozen, window 'year-end'" in out
    code, out, _ = cli("-C", str(work), "status", "--format", "json")
    assert list(json.loads(out)["frozen"]) == ["prod"]
