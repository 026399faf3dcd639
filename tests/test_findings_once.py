"""Issue 15, items 3 and 4: one cause is one finding in every format; `check -o` still
says how it went on standard error."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

PROD_IMAGE = re.compile(r"(  prod:\n    image: registry\.example\.com/vllm/vllm-openai)@sha256:[0-9a-f]+")


@pytest.fixture
def latest_in_prod(example_repo: Path) -> Path:
    spec = example_repo / "models/support-chat.yaml"
    text, count = PROD_IMAGE.subn(r"\1:latest", spec.read_text())
    assert count == 1
    spec.write_text(text)
    return example_repo


def _check(cli, repo: Path, *args: str) -> tuple[int, str, str]:
    return cli("-C", str(repo), "check", "--no-cache", "--env", "prod", "--model", "support-chat", *args)


def test_one_latest_image_is_one_finding_per_rule(latest_in_prod: Path, cli) -> None:
    code, out, _ = _check(cli, latest_in_prod, "-f", "json")
    findings = json.loads(out)["findings"]
    assert code == 1
    by_rule: dict[str, list[dict]] = {}
    for finding in findings:
        by_rule.setdefault(finding["rule"], []).append(finding)
    assert by_rule and all(len(group) == 1 for group in by_rule.values()), by_rule.keys()
    pinned = by_rule["MO-IMG-001"][0]
    resources = {place["resource"] for place in pinned["extra"]["places"]}
    assert resources == {"Deployment/support-chat", "Values/support-chat"}


@pytest.mark.parametrize("fmt", ["text", "markdown", "github", "junit", "sarif"])
def test_every_format_shows_each_cause_once(latest_in_prod: Path, cli, fmt: str) -> None:
    _, out, _ = _check(cli, latest_in_prod, "-f", fmt)
    if fmt == "sarif":
        results = json.loads(out)["runs"][0]["results"]
        rules = [r["ruleId"] for r in results]
        assert "Deployment/support-chat" in results[rules.index("MO-IMG-001")]["properties"]["resources"]
    elif fmt == "junit":
        rules = [case.get("name", "").split()[0] for case in ET.fromstring(out).iter("testcase")
                 if case.find("failure") is not None]
    else:
        rules = re.findall(r"MO-IMG-00\d", out)
        assert "Deployment/support-chat, Values/support-chat" in out
    assert rules.count("MO-IMG-001") == 1, out


@pytest.mark.parametrize("fmt", ["sarif", "junit", "json", "markdown"])
def test_output_file_still_prints_a_summary(latest_in_prod: Path, tmp_path: Path, cli, fmt: str) -> None:
    target = tmp_path / f"report.{fmt}"
    code, out, err = _check(cli, latest_in_prod, "-f", fmt, "-o", str(target))
    assert code == 1 and out == "" and target.is_file()
    [line] = err.splitlines()
    assert line.startswith("modelops check failed:") and "deny" in line and str(target) in line


def test_output_file_summary_when_clean(example_repo: Path, tmp_path: Path, cli) -> None:
    code, _, err = _check(cli, example_repo, "-q", "-f", "sarif", "-o", str(tmp_path / "x.sarif"))
    assert code == 0 and err.startswith("modelops check passed: 0 findings")


def test_html_report_lists_the_places_of_one_finding(latest_in_prod: Path, tmp_path: Path, cli) -> None:
    page = tmp_path / "report.html"
    assert cli("-q", "-C", str(latest_in_prod), "report", "--output", str(page))[0] == 0
    html = page.read_text()
    assert html.count("Deployment/support-chat, Values/support-chat") == 2  # MO-IMG-001 and MO-IMG-002
