"""Waivers: loading with located problems, matching, and expiry becoming a finding."""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from generator.errors import SpecError
from generator.findings import Finding
from generator.policy.waivers import EXPIRED_RULE, Waiver, apply_waivers, load_waivers

TODAY = datetime.date(2026, 11, 27)

VALID = """\
# exceptions agreed in review
waivers:
  - rule: MO-IMG-001
    models: [support-chat]
    environments: [dev]
    reason: "vendor image, digest pending"
    owner: ml@example.com
    expires: 2027-01-31
  - rule: MO-GPU-002
    reason: quota raise approved
    owner: capacity@example.com
    expires: "2026-12-01"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def finding(rule: str = "MO-IMG-001", model: str = "support-chat", environment: str = "dev",
            level: str = "deny") -> Finding:
    return Finding(rule=rule, level=level, message=f"{rule} violated", model=model, environment=environment,
                   file=f"models/{model}.yaml", line=4)


def waiver(**changes: object) -> Waiver:
    fields: dict[str, Any] = {"rule": "MO-IMG-001", "reason": "vendor image", "owner": "ml@example.com",
                    "expires": datetime.date(2027, 1, 31), "line": 3, "column": 5}
    fields.update(changes)
    return Waiver(**fields)


# loading ---------------------------------------------------------------------------------------

def test_load_valid_file_keeps_dates_defaults_and_lines(tmp_path: Path) -> None:
    first, second = load_waivers(write(tmp_path, VALID), display_path="waivers.yaml")
    assert first == Waiver(rule="MO-IMG-001", reason="vendor image, digest pending", owner="ml@example.com",
                           expires=datetime.date(2027, 1, 31), models=("support-chat",),
                           environments=("dev",), file="waivers.yaml", line=3, column=5)
    assert second.expires == datetime.date(2026, 12, 1)  # quoted string date parsed too
    assert (second.models, second.environments, second.line) == (("*",), ("*",), 9)


def test_missing_file_means_no_waivers(tmp_path: Path) -> None:
    assert load_waivers(tmp_path / "waivers.yaml") == []


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "waivers:\n", "waivers: []\n"])
def test_empty_files_mean_no_waivers(tmp_path: Path, text: str) -> None:
    assert load_waivers(write(tmp_path, text)) == []


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_waivers(write(tmp_path, text), display_path="waivers.yaml")
    return [str(problem) for problem in caught.value.problems]


def test_malformed_entries_are_reported_with_file_line_and_path(tmp_path: Path) -> None:
    text = """\
waivers:
  - rule: MO-IMG-001
    reason: ok
    owner: ml@example.com
    expires: 31/01/2027
  - rule: MO-GPU-002
    modles: [support-chat]
    owner: capacity@example.com
    expires: 2027-01-31
  - just a string
"""
    assert problems(tmp_path, text) == [
        "waivers.yaml:5:14: waivers[0].expires: '31/01/2027' is not an ISO date (YYYY-MM-DD)",
        "waivers.yaml:6:5: waivers[1]: missing required key 'reason'",
        "waivers.yaml:7:5: waivers[1].modles: unknown key 'modles'; did you mean 'models'?",
        "waivers.yaml:10:5: waivers[2]: each waiver must be a mapping",
    ]


def test_wrong_types_are_reported(tmp_path: Path) -> None:
    text = """\
waivers:
  - rule: 42
    models: []
    environments: [dev, 3]
    reason: ""
    owner: ml@example.com
    expires: 2027-01-31
"""
    assert problems(tmp_path, text) == [
        "waivers.yaml:2:11: waivers[0].rule: must be a non-empty string",
        "waivers.yaml:3:13: waivers[0].models: must be a name, or a non-empty list of names ('*' for all)",
        "waivers.yaml:4:19: waivers[0].environments: every entry must be a non-empty string",
        "waivers.yaml:5:13: waivers[0].reason: must be a non-empty string",
    ]


@pytest.mark.parametrize(("text", "expected"), [
    ("waivers: [\n", "waivers.yaml:2:1: YAML syntax error"),
    ("- rule: x\n", "waivers.yaml:1:1: expected a mapping with a 'waivers' list"),
    ("waivers: {rule: x}\n", "waivers.yaml:1:10: waivers: must be a list of waivers"),
    ("waivers: []\nwaiver: []\n", "waivers.yaml:2:1: waiver: unknown key 'waiver'"),
    ("waivers: []\nwaivers: []\n", "waivers.yaml:2:1: YAML syntax error"),
])
def test_malformed_documents(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(tmp_path, text)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_problem_names_the_path_given_when_no_display_path(tmp_path: Path) -> None:
    path = write(tmp_path, "waivers: 3\n")
    with pytest.raises(SpecError, match=f"^{path.as_posix()}:1:10: "):
        load_waivers(path)


# applying --------------------------------------------------------------------------------------

def test_matching_waiver_marks_finding_waived() -> None:
    [result] = apply_waivers([finding()], [waiver(models=("support-chat",), environments=("dev",))], TODAY)
    assert result.waived and result.level == "info"
    assert (result.waiver_reason, result.waiver_owner, result.waiver_expires) == (
        "vendor image", "ml@example.com", "2027-01-31")
    assert (result.rule, result.message, result.file, result.line) == ("MO-IMG-001", "MO-IMG-001 violated",
                                                                        "models/support-chat.yaml", 4)


@pytest.mark.parametrize("candidate", [
    finding(rule="MO-GPU-002"), finding(model="fraud-score"), finding(environment="prod")])
def test_waiver_does_not_match_other_rule_model_or_environment(candidate: Finding) -> None:
    scoped = waiver(models=("support-chat",), environments=("dev",))
    assert apply_waivers([candidate], [scoped], TODAY) == [candidate]


def test_star_and_defaults_match_everything_for_the_rule() -> None:
    found = [finding(model="a", environment="prod"), finding(model="b", environment="dev")]
    assert all(f.waived for f in apply_waivers(found, [waiver()], TODAY))
    assert all(f.waived for f in apply_waivers(found, [waiver(models=("*",), environments=("*",))], TODAY))


def test_waiver_is_valid_through_its_expiry_day() -> None:
    [result] = apply_waivers([finding()], [waiver(expires=TODAY)], TODAY)
    assert result.waived


def test_expired_waiver_stops_waiving_and_is_a_deny_finding() -> None:
    original = finding()
    expired = waiver(expires=datetime.date(2026, 11, 26), file="waivers.yaml")
    result = apply_waivers([original], [expired], TODAY)
    assert result[0] == original  # enforced again, unchanged
    gate = result[1]
    assert (gate.rule, gate.level, gate.source, gate.file, gate.line, gate.column) == (
        EXPIRED_RULE, "deny", "waiver", "waivers.yaml", 3, 5)
    assert "MO-IMG-001" in gate.message and "ml@example.com" in gate.message
    assert "2026-11-26" in gate.message and "1 matching finding is enforced again" in gate.message


def test_expired_waiver_that_matches_nothing_still_fails() -> None:
    result = apply_waivers([], [waiver(rule="MO-OLD-001", expires=datetime.date(2025, 1, 1))], TODAY)
    assert [(f.rule, f.level) for f in result] == [(EXPIRED_RULE, "deny")]
    assert "enforced again" not in result[0].message


def test_unexpired_waiver_wins_over_an_expired_one_for_the_same_rule() -> None:
    old = waiver(expires=datetime.date(2025, 1, 1), line=3)
    new = waiver(expires=datetime.date(2027, 1, 1), line=10)
    result = apply_waivers([finding()], [old, new], TODAY)
    assert result[0].waived and result[0].waiver_expires == "2027-01-01"
    assert [f.rule for f in result[1:]] == [EXPIRED_RULE]
    assert "enforced again" not in result[1].message


def test_loaded_waivers_apply_end_to_end(tmp_path: Path) -> None:
    waivers = load_waivers(write(tmp_path, VALID), display_path="waivers.yaml")
    found = [finding(), finding(rule="MO-GPU-002", environment="prod"), finding(environment="prod")]
    result = apply_waivers(found, waivers, datetime.date(2026, 12, 2))
    assert [f.waived for f in result[:3]] == [True, False, False]
    assert result[3].rule == EXPIRED_RULE and result[3].line == 9  # the MO-GPU-002 waiver lapsed on 12-01


@pytest.mark.parametrize("value", ["20270131", "2027-W05-1", "'2027-02-30'", "2027-01-31T10:00:00", "soon"])
def test_expires_must_be_a_plain_iso_date(tmp_path: Path, value: str) -> None:
    text = f"waivers:\n  - rule: R\n    reason: r\n    owner: o\n    expires: {value}\n"
    [problem] = problems(tmp_path, text)
    assert problem.startswith("waivers.yaml:5:14: waivers[0].expires: ") and "is not an ISO date" in problem


def test_several_documents_are_rejected(tmp_path: Path) -> None:
    assert problems(tmp_path, "waivers: []\n---\nwaivers: []\n") == [
        "waivers.yaml:1:1: expected one YAML document, found several"]


def test_impossible_unquoted_date_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    text = "waivers:\n  - rule: R\n    reason: r\n    owner: o\n    expires: 2027-02-30\n"
    [problem] = problems(tmp_path, text)
    assert problem.startswith("waivers.yaml:") and "day is out of range" in problem
