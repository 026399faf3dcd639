"""Every report format, rendered from findings built here, checked for content and shape."""
from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from generator.errors import ModelopsError
from generator.findings import Finding
from generator.report import FORMATS, ReportInput, RuleInfo, github, markdown, render_report

REPO = Path(__file__).resolve().parent.parent
ANSI = "\033["


def _conformance_dir() -> Path | None:
    candidates = [Path(os.environ["MODELOPS_CONFORMANCE"])] if os.environ.get("MODELOPS_CONFORMANCE") else []
    candidates += [REPO / "shared" / "conformance", REPO.parent / "shared" / "conformance"]
    return next((c for c in candidates if c.is_dir()), None)


DENY = Finding(
    rule="MO-IMG-001", level="deny", severity="high", title="Images are pinned by digest",
    message="image registry.example.com/vllm:latest is not pinned", model="support-chat",
    environment="prod", file="models/support-chat.yaml", line=12, column=5,
    resource_kind="Deployment", resource_name="support-chat", remediation="pin the image by @sha256 digest",
)
WARN = Finding(
    rule="MO-GPU-002", level="warn", severity="medium", message="replicas.max 8 exceeds the GPU quota",
    model="support-chat", environment="staging", file="models/support-chat.yaml", line=30, column=3,
)
WAIVED = Finding(
    rule="MO-IMG-001", level="info", severity="high", message="image is not pinned",
    model="fraud-score", environment="dev", file="models\\fraud-score.yaml", line=0,
    waived=True, waiver_reason="vendor image, digest pending", waiver_owner="ml@example.com",
    waiver_expires="2027-01-31",
)
RULES = {"MO-IMG-001": RuleInfo("MO-IMG-001", "Images are pinned by digest", "high",
                                "pin the image by @sha256 digest", "https://docs.example.com/MO-IMG-001")}
CHECKED = [("support-chat", "prod"), ("support-chat", "staging"), ("fraud-score", "dev"), ("fraud-score", "prod")]


def report(findings: list[Finding] | None = None, **changes: object) -> ReportInput:
    fields: dict[str, Any] = {"findings": [DENY, WARN, WAIVED] if findings is None else findings, "errors": [],
                    "checked": CHECKED, "documents_checked": 17, "fail_on": "deny", "rules": RULES,
                    "tool_version": "0.1.0", "color": False}
    fields.update(changes)
    return ReportInput(**fields)


def many(count: int) -> list[Finding]:
    return [DENY.with_changes(line=i + 1, message=f"finding number {i} " + "x" * 200) for i in range(count)]


def test_registry_lists_every_format_and_rejects_unknown() -> None:
    assert set(FORMATS) == {"text", "json", "sarif", "junit", "github", "markdown"}
    for fmt in FORMATS:
        assert render_report(fmt, report()).endswith("\n")
        assert render_report(fmt, report()) == render_report(fmt, report())  # deterministic
    with pytest.raises(ModelopsError, match="choose one of"):
        render_report("html", report())


# text ------------------------------------------------------------------------------------------

def test_text_groups_by_environment_then_model_with_summary() -> None:
    out = render_report("text", report())
    headings = [line for line in out.splitlines() if line and not line.startswith(" ")]
    assert headings[:3] == ["dev / fraud-score", "prod / support-chat", "staging / support-chat"]
    assert ("  models/support-chat.yaml:12:5: [DENY] MO-IMG-001 image registry.example.com/vllm:latest"
            " is not pinned (Deployment/support-chat)") in out
    assert "      remediation: pin the image by @sha256 digest" in out
    assert "waived (vendor image, digest pending, ml@example.com, expires 2027-01-31)" in out
    assert "3 findings: 1 deny, 1 warn, 1 waived in 4 model/environment pairs" in out
    assert "Policy check failed" in out
    assert ANSI not in out


def test_text_colour_only_when_asked() -> None:
    coloured = render_report("text", report(color=True))
    assert ANSI + "1;31m[DENY]" in coloured
    plain = render_report("text", report(color=False))
    assert ANSI not in plain


def test_text_passes_when_only_warnings_and_fail_on_deny() -> None:
    assert "Policy check passed" in render_report("text", report([WARN, WAIVED]))
    assert "Policy check failed" in render_report("text", report([WARN], fail_on="warn"))
    assert "Policy check failed" in render_report("text", report([], errors=["helm: chart not found"]))


def test_text_keeps_multiline_messages_indented() -> None:
    out = render_report("text", report([WARN.with_changes(message="first\nsecond")]))
    assert "\n      second" in out


# json ------------------------------------------------------------------------------------------

def test_json_is_versioned_sorted_and_complete() -> None:
    out = render_report("json", report(errors=["policy eval failed"]))
    data = json.loads(out)
    assert data["version"] == 1
    assert list(data) == sorted(data)
    assert data["summary"] == {"total": 3, "deny": 1, "warn": 1, "info": 0, "waived": 1, "errors": 1,
                               "pairs": 4, "documents_checked": 17, "fail_on": "deny", "passed": False}
    assert [f["environment"] for f in data["findings"]] == ["dev", "prod", "staging"]
    assert data["findings"][0]["waiver_owner"] == "ml@example.com"
    assert data["errors"] == ["policy eval failed"]
    assert out == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# sarif -----------------------------------------------------------------------------------------

def test_sarif_validates_against_the_2_1_0_schema() -> None:
    conformance = _conformance_dir()
    schema_file = conformance / "sarif" / "sarif-schema-2.1.0.json" if conformance else None
    if schema_file is None or not schema_file.is_file():
        pytest.skip("conformance data (SARIF schema) not available")
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema)
    for findings in ([DENY, WARN, WAIVED], [], [Finding(rule="MO-SCHEMA", level="deny", message="bad")]):
        document = json.loads(render_report("sarif", report(findings, errors=["one checker failed"])))
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_sarif_rules_results_and_suppressions() -> None:
    run = json.loads(render_report("sarif", report()))["runs"][0]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("modelops", "0.1.0")
    assert driver["informationUri"].startswith("https://")
    rules = {rule["id"]: rule for rule in driver["rules"]}
    img = rules["MO-IMG-001"]
    assert img["shortDescription"]["text"] == "Images are pinned by digest"
    assert img["help"]["text"] == "pin the image by @sha256 digest"
    assert img["helpUri"] == "https://docs.example.com/MO-IMG-001"
    assert img["defaultConfiguration"]["level"] == "error"
    assert img["properties"]["security-severity"] == "8.0"
    assert "MO-GPU-002" in rules  # a rule missing from the catalogue is synthesised from its finding
    by_env = {r["properties"]["environment"]: r for r in run["results"]}
    for result in run["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    prod, staging, dev = by_env["prod"], by_env["staging"], by_env["dev"]
    assert (prod["level"], staging["level"], dev["level"]) == ("error", "warning", "note")
    location = prod["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "models/support-chat.yaml", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 12, "startColumn": 5}
    dev_location = dev["locations"][0]["physicalLocation"]
    assert dev_location["artifactLocation"]["uri"] == "models/fraud-score.yaml"  # forward slashes
    assert "region" not in dev_location  # line 0: no region rather than an invalid startLine
    assert dev["suppressions"] == [{"kind": "external", "status": "accepted",
                                    "justification": "vendor image, digest pending",
                                    "properties": {"owner": "ml@example.com", "expires": "2027-01-31"}}]
    assert "suppressions" not in prod


def test_sarif_fingerprint_ignores_position_but_not_identity() -> None:
    def fingerprint(finding: Finding) -> str:
        result = json.loads(render_report("sarif", report([finding])))["runs"][0]["results"][0]
        return str(result["partialFingerprints"]["modelops/v1"])

    assert fingerprint(DENY) == fingerprint(DENY.with_changes(line=40))
    assert fingerprint(DENY) != fingerprint(DENY.with_changes(environment="staging"))


def test_sarif_security_severity_mapping() -> None:
    rules = {s: RuleInfo(f"R-{s}", severity=s, level="warn") for s in ("critical", "high", "medium", "low")}
    driver = json.loads(render_report("sarif", report([], rules=rules)))["runs"][0]["tool"]["driver"]
    got = {r["id"]: (r["properties"]["security-severity"], r["defaultConfiguration"]["level"]) for r in driver["rules"]}
    assert got == {"R-critical": ("9.5", "warning"), "R-high": ("8.0", "warning"),
                   "R-medium": ("5.5", "warning"), "R-low": ("3.0", "warning")}


# junit -----------------------------------------------------------------------------------------

def test_junit_parses_and_counts() -> None:
    root = ET.fromstring(render_report("junit", report(errors=["opa crashed"])))
    assert root.tag == "testsuites"
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert set(suites) == {"dev/fraud-score", "prod/fraud-score", "prod/support-chat",
                           "staging/support-chat", "modelops"}
    cases = root.findall("testsuite/testcase")
    assert all(case.get("classname") and case.get("name") for case in cases)
    # the warning passes under --fail-on deny (it stays visible in system-out); only the denial fails
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("5", "1", "1", "1")
    failure = suites["prod/support-chat"].find("testcase/failure")
    assert failure is not None and failure.get("message") == DENY.message
    assert "remediation: pin the image" in (failure.text or "")
    passing = suites["prod/fraud-score"].findall("testcase")
    assert len(passing) == 1 and list(passing[0]) == []  # checked, nothing found: a passing testcase
    assert suites["dev/fraud-score"].find("testcase/skipped") is not None
    assert root.findall("testsuite/testcase/error")[0].get("message") == "opa crashed"
    for suite in suites.values():
        assert int(suite.get("tests", "-1")) == len(suite.findall("testcase"))


def test_junit_warnings_fail_only_when_failing_on_warn() -> None:
    """Regression: JUnit counted warnings as failures whatever --fail-on said."""
    lenient = ET.fromstring(render_report("junit", report([WARN], fail_on="deny")))
    strict = ET.fromstring(render_report("junit", report([WARN], fail_on="warn")))
    assert lenient.get("failures") == "0" and WARN.message in "".join(lenient.itertext())
    assert strict.get("failures") == "1"


def test_junit_survives_characters_xml_cannot_carry() -> None:
    nasty = WARN.with_changes(message="bad \x1b[31mcolour\x00 & <tags> \"quotes\"")
    root = ET.fromstring(render_report("junit", report([nasty], fail_on="warn")))
    [failure] = root.findall("testsuite/testcase/failure")
    assert "& <tags>" in failure.get("message", "")


# github ----------------------------------------------------------------------------------------

def test_github_workflow_commands() -> None:
    lines = render_report("github", report()).splitlines()
    assert lines[0].startswith("::notice file=models/fraud-score.yaml,title=MO-IMG-001::image is not pinned")
    assert lines[1].startswith("::error file=models/support-chat.yaml,line=12,col=5,title=MO-IMG-001::image")
    assert lines[2].startswith("::warning file=models/support-chat.yaml,line=30,col=3,title=MO-GPU-002::")
    assert "%0ARemediation: pin the image by @sha256 digest" in lines[1]
    assert all("\n" not in line and "\r" not in line for line in lines)


def test_github_escaping() -> None:
    assert github.escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    odd = WARN.with_changes(file="dir,x/a:b.yaml", rule="R,1", message="50% over\nquota: yes, really")
    line = render_report("github", report([odd])).splitlines()[0]
    assert line == ("::warning file=dir%2Cx/a%3Ab.yaml,line=30,col=3,title=R%2C1::"
                    "50%25 over%0Aquota: yes, really (staging/support-chat)")


def test_github_checker_errors_are_error_commands() -> None:
    out = render_report("github", report([], errors=["helm failed:\nchart missing"]))
    assert "::error title=modelops::helm failed:%0Achart missing" in out


# markdown --------------------------------------------------------------------------------------

def test_markdown_comment_shape() -> None:
    out = render_report("markdown", report())
    assert out.startswith(markdown.MARKER + "\n")
    assert "## Policy check: failed" in out
    assert "| Environment | Models | Deny | Warn | Info | Waived |" in out
    assert "| prod | 2 | 1 | 0 | 0 | 0 |" in out
    assert "| Level | Rule | Model | Environment | Location | Message |" in out
    assert "| deny | `MO-IMG-001` | support-chat | prod | `models/support-chat.yaml:12:5` |" in out
    assert "<details>" not in out
    assert "## Policy check: passed" in render_report("markdown", report([WARN]))


def test_markdown_escapes_cells() -> None:
    out = render_report("markdown", report([WARN.with_changes(message="a | b\nc <script>")]))
    row = next(line for line in out.splitlines() if "MO-GPU-002" in line)
    assert "a \\| b<br>c &lt;script&gt;" in row
    assert row.count(" | ") == 5  # six cells: the escaped pipe did not add one


def test_markdown_collapses_over_fifty_findings() -> None:
    assert "<details>" not in render_report("markdown", report(many(50)))
    out = render_report("markdown", report(many(51)))
    assert "<details><summary>51 findings</summary>" in out and "</details>" in out


def test_markdown_truncates_under_githubs_limit() -> None:
    out = render_report("markdown", report(many(2000)))
    assert len(out) < markdown.MAX_CHARS
    assert "Truncated: showing" in out and "of 2000 findings" in out
    assert out.rstrip().endswith("_") and "</details>" in out
    huge = render_report("markdown", report([], errors=["e" * 1000] * 200, checked=[]))
    assert len(huge) < markdown.MAX_CHARS
