"""Issue 15, item 9: mistakes that used to be accepted silently are now reported."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import snapshot

ZEROS = "@sha256:" + "0" * 64


def _one_line(code: int, err: str) -> str:
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_waiver_for_a_rule_that_does_not_exist(example_repo: Path, cli) -> None:
    (example_repo / "waivers.yaml").write_text(
        "waivers:\n  - rule: MO-IMG-01\n    reason: vendor image\n    owner: a@example.com\n"
        "    expires: '2099-01-01'\n")
    code, _, err = cli("-C", str(example_repo), "check", "--env", "dev", "--model", "churn-scorer")
    err = _one_line(code, err)
    assert "waivers.yaml:2:" in err and "rule 'MO-IMG-01'" in err and "did you mean 'MO-IMG-001'" in err


def test_waiver_for_a_known_rule_still_loads(example_repo: Path, cli) -> None:
    (example_repo / "waivers.yaml").write_text(
        "waivers:\n  - rule: MO-IMG-001\n    reason: vendor image\n    owner: a@example.com\n"
        "    expires: '2099-01-01'\n")
    assert cli("-q", "-C", str(example_repo), "check", "--env", "dev", "--model", "churn-scorer")[0] == 0


def test_model_name_must_match_the_file_name(example_repo: Path, cli) -> None:
    (example_repo / "models/churn-scorer.yaml").rename(example_repo / "models/churn.yaml")
    err = _one_line(*cli("-C", str(example_repo), "render")[::2])
    assert err.startswith("modelops: error: models/churn.yaml:") and "models/churn-scorer.yaml" in err


def _team_override(repo: Path, name: str, text: str) -> None:
    team = repo / "blueprints/teams/assistants"
    team.mkdir(parents=True, exist_ok=True)
    (team / name).write_text(text)


def test_error_in_a_team_blueprint_names_file_and_line(example_repo: Path, cli) -> None:
    shared = (example_repo / "blueprints/templates/serving-values.yaml.j2").read_text().splitlines(keepends=True)
    _team_override(example_repo, "serving-values.yaml.j2", "".join([*shared[:2], "x: {{ no_such_value | q }}\n",
                                                                     *shared[2:]]))
    before = snapshot(example_repo)
    err = _one_line(*cli("-C", str(example_repo), "render")[::2])
    assert "blueprints/teams/assistants/serving-values.yaml.j2:3:" in err and "no_such_value" in err
    assert snapshot(example_repo) == before


def test_misnamed_team_override_is_refused(example_repo: Path, cli) -> None:
    _team_override(example_repo, "serving-valeus.yaml.j2", "{}\n")
    err = _one_line(*cli("-C", str(example_repo), "render")[::2])
    assert "blueprints/teams/assistants/serving-valeus.yaml.j2" in err and "serving-values.yaml.j2" in err


def test_placeholders_fail_prod_but_only_warn_in_dev(example_repo: Path, cli) -> None:
    spec = example_repo / "models/churn-scorer.yaml"
    text = spec.read_text()
    digest = text[text.index("@sha256:"):text.index("@sha256:") + len(ZEROS)]
    spec.write_text(text.replace(digest, ZEROS))
    prod = example_repo / "environments/prod/environment.yaml"
    prod.write_text(prod.read_text().replace("https://git.example.com/platform/modelops-gitops.git",
                                             "https://git.example.com/platform/ml-gitops.git"))
    code, out, _ = cli("-C", str(example_repo), "check", "--no-cache", "-f", "json", "--model", "churn-scorer")
    findings = json.loads(out)["findings"]
    assert code == 1
    levels = {(f["rule"], f["environment"]): f["level"] for f in findings}
    assert levels[("MO-PLACEHOLDER-001", "prod")] == "deny" and levels[("MO-PLACEHOLDER-001", "dev")] == "warn"
    assert levels[("MO-PLACEHOLDER-002", "prod")] == "deny" and ("MO-PLACEHOLDER-002", "dev") not in levels
    repo_url = next(f for f in findings if f["rule"] == "MO-PLACEHOLDER-002")
    assert repo_url["file"] == "environments/prod/environment.yaml" and repo_url["line"] > 0


def test_scaffold_team_rule_only_warns(tmp_path: Path, cli) -> None:
    root = tmp_path / "r"
    assert cli("-q", "init", "--repo-url", "https://git.acme.test/ml.git", str(root))[0] == 0
    spec = root / "models/example-model.yaml"
    spec.write_text(spec.read_text().replace("ml-team@example.com", "ml-team@acme.test").replace(ZEROS, "@sha256:" + "ab" * 32))
    code, out, _ = cli("-C", str(root), "check", "-f", "json")
    team = [f for f in json.loads(out)["findings"] if f["rule"] == "TEAM-001"]
    assert code == 0 and {f["environment"] for f in team} == {"dev", "staging", "prod"}
    assert {f["level"] for f in team} == {"warn"}


@pytest.mark.parametrize(("body", "where", "words"), [
    ("metadata:\n  name: bad\n  team x\n  owner: y\n", ":5:3:", "missing ':'"),
    ("metadata:\n  name: bad\n   team: x\n", ":5:", "indented deeper"),
    ("metadata:\n  name: bad\n team: x\n", ":5:", "indentation does not line up"),
])
def test_indentation_errors_in_plain_words_at_the_mistake(example_repo: Path, cli, body: str, where: str,
                                                          words: str) -> None:
    (example_repo / "models/bad.yaml").write_text(f"apiVersion: modelops.dev/v1\nkind: Model\n{body}")
    err = _one_line(*cli("-C", str(example_repo), "render")[::2])
    assert f"models/bad.yaml{where}" in err and words in err
