"""`modelops init`: a scaffold that renders and checks clean at once, CI that parses, safe values."""
from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from generator.cli import available_commands, build_parser
from generator.config import load_config
from generator.distribution import install_spec
from generator.policy.waivers import load_waivers
from generator.spec.load import load_repository
from tests.conftest import ROOT, snapshot

HAS_CHECK = importlib.util.find_spec("generator.commands.check") is not None
MARKER = "<!-- modelops:check -->"


def _yaml(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


@pytest.fixture
def scaffold(tmp_path: Path, cli) -> Path:
    code, out, err = cli("init", str(tmp_path / "gitops"))
    assert code == 0, out + err
    return tmp_path / "gitops"


def test_scaffold_layout(scaffold):
    for relative in ("models/example-model.yaml", "environments/dev/environment.yaml",
                     "environments/staging/environment.yaml", "environments/prod/environment.yaml",
                     "policies/README.md", "policies/example/team_rule.rego", "policies/example/team_rule_test.rego",
                     "waivers.yaml", ".modelops.yaml", ".github/workflows/modelops.yml", ".gitlab-ci.yml",
                     ".pre-commit-config.yaml", "README.md", "schemas/model.schema.json",
                     "schemas/environment.schema.json", "blueprints/charts/model-serving/Chart.yaml",
                     "environments/prod/example-model/serving/values.yaml"):
        assert (scaffold / relative).is_file(), relative
    assert (scaffold / "models/example-model.yaml").read_text().startswith(
        "# yaml-language-server: $schema=../schemas/model.schema.json\n")
    assert (scaffold / "schemas/model.schema.json").read_bytes() == (ROOT / "schemas/model.schema.json").read_bytes()


def test_environments_form_a_chain(scaffold):
    repo = load_repository(scaffold)
    assert repo.chain("prod") == ["dev", "staging", "prod"]
    assert {name: env.enforcement for name, env in repo.environments.items()} == {
        "dev": "warn", "staging": "deny", "prod": "deny"}
    assert list(repo.models) == ["example-model"]


def test_renders_clean_right_after_init(scaffold, cli):
    code, out, err = cli("-C", str(scaffold), "render", "--check")
    assert code == 0, out + err
    before = snapshot(scaffold)
    code, out, err = cli("-C", str(scaffold), "render")
    assert code == 0, err
    assert "0 changed" in out
    assert snapshot(scaffold) == before


@pytest.mark.slow
@pytest.mark.skipif(not HAS_CHECK, reason="`modelops check` (generator/commands/check.py) is not written yet")
def fill_placeholders(root: Path) -> None:
    """What a user does before the first release: a real digest and this repository's URL."""
    for path in [*root.glob("models/*.yaml"), *root.glob("environments/*/environment.yaml")]:
        text = path.read_text().replace("@sha256:" + "0" * 64, "@sha256:" + "ab" * 32)
        path.write_text(text.replace("https://git.example.com/platform/ml-gitops.git", "https://git.acme.test/ml.git"))


def test_only_placeholders_fail_right_after_init(scaffold, cli):
    code, out, err = cli("-C", str(scaffold), "check", "--workers", "1", "-f", "json")
    findings = json.loads(out)["findings"]
    assert code == 1 and {f["rule"] for f in findings} == {"MO-PLACEHOLDER-001", "MO-PLACEHOLDER-002"}
    assert {f["level"] for f in findings if f["environment"] == "dev"} == {"warn"}
    assert {f["level"] for f in findings if f["environment"] == "prod"} == {"deny"}
    fill_placeholders(scaffold)
    assert cli("-q", "-C", str(scaffold), "render")[0] == 0
    code, out, err = cli("-C", str(scaffold), "check", "--workers", "1")
    assert code == 0, out + err


def test_team_policy_tests_pass(scaffold, cli):
    code, out, err = cli("-C", str(scaffold), "policy", "test")
    assert code == 0, out + err
    assert "5 passed" in out


def test_config_and_waivers_load(scaffold):
    config = load_config(scaffold)
    assert config.policies == ("policies",) and config.builtin_policies and config.fail_on == "deny"
    assert load_waivers(scaffold / "waivers.yaml") == []


def test_non_empty_directory_is_refused(tmp_path, cli):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine\n")
    code, _, err = cli("init", str(target))
    assert code == 2 and "is not empty; use --force" in err
    assert snapshot(target) == {"notes.txt": b"mine\n"}


def test_force_adds_missing_files_and_never_overwrites(tmp_path, cli):
    target = tmp_path / "busy"
    (target / "policies").mkdir(parents=True)
    (target / "README.md").write_text("# ours\n")
    (target / "policies" / "README.md").write_text("ours too\n")
    code, out, err = cli("init", str(target), "--force")
    assert code == 0, err
    assert (target / "README.md").read_text() == "# ours\n"
    assert (target / "policies" / "README.md").read_text() == "ours too\n"
    assert "skipped README.md (already exists)" in err and "skipped policies/README.md (already exists)" in err
    assert (target / ".gitlab-ci.yml").is_file() and "2 skipped" in out
    # A second run writes nothing at all.
    before = snapshot(target)
    code, out, err = cli("init", str(target), "--force")
    assert code == 0 and " 0 file(s) written" in out
    assert snapshot(target) == before


def test_init_is_deterministic(tmp_path, cli):
    for name in ("one", "two"):
        assert cli("init", str(tmp_path / "x" / name / "gitops"))[0] == 0
    assert snapshot(tmp_path / "x" / "one") == snapshot(tmp_path / "x" / "two")


def test_repo_url_is_quoted_not_spliced(tmp_path, cli):
    url = "https://git.example.com/a\"b'c:d#e/{x}[y]&z*!|>.git"
    code, _, err = cli("init", str(tmp_path / "q"), "--repo-url", url)
    assert code == 0, err
    for env in load_repository(tmp_path / "q").environments.values():
        assert env.data["argocd"]["repoURL"] == url
        assert set(env.data["argocd"]) == {"namespace", "project", "repoURL", "targetRevision"}


@pytest.mark.parametrize("url", ["https://x/repo.git\nsyncPolicy: {automated: false}", "https://x/a b", ""])
def test_repo_url_with_whitespace_is_refused(tmp_path, cli, url):
    code, _, err = cli("init", str(tmp_path / "bad"), "--repo-url", url)
    assert code == 2 and "--repo-url" in err and err.count("\n") == 1
    assert not (tmp_path / "bad").exists()


def test_repo_url_flows_into_rendered_applications(tmp_path, cli):
    url = "https://gitlab.acme.test/ml/gitops.git"
    assert cli("init", str(tmp_path / "r"), "--repo-url", url)[0] == 0
    app = _yaml(tmp_path / "r" / "environments" / "prod" / "example-model" / "app-serving.yaml")
    assert {source["repoURL"] for source in app["spec"]["sources"]} == {url}


# ---- CI files -------------------------------------------------------------------------

def _modelops_commands(script: str) -> list[list[str]]:
    """Each `modelops ...` command in a shell script (split at ;, &&, || and |)."""
    found = []
    for line in script.splitlines():
        line = line.strip()
        if line.startswith("#"):
            continue
        for part in re.split(r"\|\||&&|;|\|", line):
            if part.strip().startswith("modelops "):
                found.append(shlex.split(part.strip())[1:])
    return found


def _assert_parses(argv: list[str]) -> bool:
    """True when checked; False when the subcommand is not registered yet (others are writing it)."""
    if argv[0] not in available_commands():
        return False
    parser = build_parser()
    try:
        parser.parse_args(argv)
    except SystemExit as error:  # argparse exits on a bad command line
        pytest.fail(f"`modelops {shlex.join(argv)}` does not parse (exit {error.code})")
    # Every option is spelled as `--help` shows it: not a retired hidden alias, not an abbreviation.
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    shown = {s for a in commands.choices[argv[0]]._actions if a.help != argparse.SUPPRESS for s in a.option_strings}
    for option in (token.split("=", 1)[0] for token in argv if token.startswith("--")):
        assert option in shown, f"`modelops {shlex.join(argv)}`: {option} is not how --help spells it"
    return True


def test_github_workflow(scaffold, capsys):
    workflow = _yaml(scaffold / ".github/workflows/modelops.yml")
    assert workflow["env"]["MODELOPS_PIP_SPEC"] == install_spec()
    assert set(workflow["on"]) == {"pull_request", "push"} and workflow["on"]["push"]["branches"] == ["main"]
    check, promote = workflow["jobs"]["check"], workflow["jobs"]["promote"]
    assert check["permissions"] == {"contents": "read", "pull-requests": "write", "security-events": "write"}
    steps = check["steps"]
    assert steps[0]["uses"] == "actions/checkout@v4" and steps[0]["with"]["fetch-depth"] == 0
    uses = [step.get("uses", "") for step in steps]
    assert "github/codeql-action/upload-sarif@v3" in uses and "actions/github-script@v7" in uses
    sarif = next(s for s in steps if s.get("uses") == "github/codeql-action/upload-sarif@v3")
    assert sarif["with"]["sarif_file"] == "modelops.sarif"
    comment = next(s for s in steps if s.get("uses") == "actions/github-script@v7")["with"]["script"]
    assert MARKER in comment and "updateComment" in comment and "createComment" in comment
    runs = "\n".join(step.get("run", "") for step in steps)
    assert 'python -m pip install "$MODELOPS_PIP_SPEC"' in runs
    commands = _modelops_commands(runs)
    assert ["render", "--check"] in commands
    assert ["report", "merge", "shards/*.json", "--format", "sarif", "--output", "modelops.sarif"] in commands
    assert ["report", "merge", "shards/*.json", "--format", "markdown", "--output", "report.md"] in commands
    assert ["diff", "--base", "origin/$BASE_REF", "--format", "markdown", "--output", "diff.md"] in commands
    _assert_sharded_github(workflow)
    # The gate's outcome is carried to the last step, which fails the job.
    assert "exit-code=$?" in runs and "CHECK_EXIT" in steps[-1]["env"]
    promote_runs = "\n".join(step.get("run", "") for step in promote["steps"])
    assert ["promote", "--all", "--to", "staging"] in _modelops_commands(promote_runs)
    assert "refs/heads/main" in promote["if"]
    assert any("GITHUB_TOKEN" in step.get("env", {}) for step in promote["steps"])
    checked = [argv for argv in _modelops_commands(runs + "\n" + promote_runs) if _assert_parses(argv)]
    assert len(checked) >= 3


def _assert_sharded_github(workflow: dict) -> None:
    """A job matrix of `check --shard K/N` above a size, merged by the `check` job, cached."""
    plan, shard, check = workflow["jobs"]["plan"], workflow["jobs"]["check-shard"], workflow["jobs"]["check"]
    assert int(workflow["env"]["MODELOPS_SHARD_ABOVE"]) > 0 and int(workflow["env"]["MODELOPS_SHARDS"]) > 1
    assert "MODELOPS_SHARD_ABOVE" in plan["steps"][-1]["run"] and "shards" in plan["outputs"]
    assert shard["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.plan.outputs.shards) }}"
    assert check["needs"] == ["plan", "check-shard"] and "always()" in check["if"]
    runs = "\n".join(step.get("run", "") for step in shard["steps"])
    assert ["check", "--shard", "$SHARD/$SHARDS", "--output", "shard-$SHARD.json"] in _modelops_commands(runs)
    assert all(_assert_parses([a.replace("$SHARDS", "8").replace("$SHARD", "2") for a in argv])
               for argv in _modelops_commands(runs))
    cache = next(step for step in shard["steps"] if step.get("uses") == "actions/cache@v4")
    assert cache["with"]["path"] == ".modelops-cache"
    download = next(step for step in check["steps"] if step.get("uses") == "actions/download-artifact@v4")
    assert download["with"]["pattern"] == "modelops-shard-*" and download["with"]["path"] == "shards"


def _gitlab_scripts(ci: dict) -> dict[str, str]:
    scripts = {}
    for name, job in ci.items():
        if isinstance(job, dict):
            lines = [*job.get("before_script", []), *job.get("script", []), *job.get("after_script", [])]
            if lines:
                scripts[name] = "\n".join(lines)
    return scripts


def test_gitlab_ci(scaffold, tmp_path):
    ci = _yaml(scaffold / ".gitlab-ci.yml")
    assert ci["variables"]["MODELOPS_PIP_SPEC"] == install_spec()
    assert ci["modelops-check"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert ci["modelops-promote"]["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}]
    assert "modelops.sarif" in ci["modelops-check"]["artifacts"]["paths"]
    scripts = _gitlab_scripts(ci)
    check_script = scripts["modelops-check"]
    assert MARKER in check_script and "GITLAB_TOKEN" in check_script and "--request PUT" in check_script
    assert check_script.rstrip().endswith('exit "$status"')
    for name, script in {**scripts, "default": "\n".join(ci["default"]["before_script"])}.items():
        path = tmp_path / f"{name}.sh"
        path.write_text(script)
        subprocess.run(["bash", "-n", str(path)], check=True)
    commands = _modelops_commands(check_script) + _modelops_commands(scripts["modelops-promote"])
    assert ["promote", "--all", "--to", "staging"] in commands
    assert ["diff", "--base", "origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "--format", "markdown",
            "--output", "diff.md"] in commands
    assert [argv for argv in commands if _assert_parses(argv)]
    shard = ci["modelops-check-shard"]
    assert isinstance(shard["parallel"], int) and shard["parallel"] > 1 and ci["variables"]["MODELOPS_SHARD_ABOVE"]
    assert shard["cache"]["paths"] == [".modelops-cache/"] and ci["modelops-check"]["needs"] == ["modelops-check-shard"]
    assert "--shard" in scripts["modelops-check-shard"] and "shards/" in shard["artifacts"]["paths"]
    assert ["report", "merge", "shards/*.json", "--format", "sarif", "--output", "modelops.sarif"] in commands


def test_pre_commit_config(scaffold):
    config = _yaml(scaffold / ".pre-commit-config.yaml")
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert set(hooks) == {"modelops-render-check", "modelops-check"}
    for hook in hooks.values():
        assert hook["pass_filenames"] is False
        _assert_parses(shlex.split(hook["entry"])[1:])
    assert re.search(hooks["modelops-render-check"]["files"], "models/example-model.yaml")


def test_repository_ships_pre_commit_hooks():
    hooks = {hook["id"]: hook for hook in _yaml(ROOT / ".pre-commit-hooks.yaml")}
    assert set(hooks) == {"modelops-render-check", "modelops-check"}
    render = hooks["modelops-render-check"]
    assert render["entry"] == "modelops render --check" and render["language"] == "python"
    assert render["pass_filenames"] is False and render["files"] == "^(models|environments|blueprints)/"
    for path in ("models/a.yaml", "environments/dev/environment.yaml", "blueprints/templates/x.j2"):
        assert re.search(render["files"], path)
    assert not re.search(render["files"], "docs/models/a.yaml")
    assert hooks["modelops-check"]["entry"] == "modelops check"
    for hook in hooks.values():
        _assert_parses(shlex.split(hook["entry"])[1:])
