"""The incremental check: unchanged pairs come from the cache, and nothing stale is ever served."""
from __future__ import annotations

import json


def _check(cli, repo, *extra):
    code, out, err = cli("-C", str(repo), "check", "--format", "json", "--timings", *extra)
    cached = next(int(line.rsplit(":", 1)[1]) for line in err.splitlines() if line.startswith("timing: cached-pairs"))
    return code, json.loads(out), cached


def test_second_run_is_served_from_the_cache_with_identical_results(example_repo, cli):
    code1, first, cached1 = _check(cli, example_repo)
    code2, second, cached2 = _check(cli, example_repo)
    assert cached1 == 0 and cached2 == 12  # 9 model pairs + 3 environment roots
    assert (code1, first) == (code2, second)
    code3, out, _ = cli("-C", str(example_repo), "check", "--format", "json", "--no-cache")
    assert json.loads(out) == first and code3 == code1


def test_a_changed_spec_is_rechecked(example_repo, cli):
    _check(cli, example_repo)
    spec = example_repo / "models/churn-scorer.yaml"
    spec.write_text(spec.read_text().replace("churn-scorer@sha256", "churn-scorer:latest@sha256", 0)
                    .replace("registry.example.com/growth/churn-scorer@sha256:", "docker.io/growth/churn-scorer@sha256:"))
    code, report, cached = _check(cli, example_repo)
    assert cached == 12 - 3  # only churn-scorer's three pairs were re-checked
    assert code == 1 and any(f["rule"] == "MO-IMG-003" and f["model"] == "churn-scorer" for f in report["findings"])


def test_a_changed_policy_invalidates_everything(example_repo, cli, tmp_path):
    _check(cli, example_repo)
    policy = example_repo / "policies/team/no_churn.rego"
    policy.parent.mkdir(parents=True)
    policy.write_text('# METADATA\n# scope: package\n# custom:\n#   id: TEAM-001\n#   severity: low\n'
                      'package team.no_churn\nimport rego.v1\n'
                      'deny contains "churn is banned" if { input.kind == "Values"; input.model.name == "churn-scorer" }\n')
    code, report, cached = _check(cli, example_repo)
    assert cached == 0
    assert code == 1 and any(f["rule"] == "TEAM-001" for f in report["findings"])


def test_quota_change_in_one_model_rechecks_its_environment(example_repo, cli):
    _check(cli, example_repo)
    spec = example_repo / "models/shelf-vision.yaml"
    spec.write_text(spec.read_text().replace("replicas: {min: 2, max: 2}", "replicas: {min: 2, max: 3}"))
    _, _, cached = _check(cli, example_repo)
    # dev and staging take shelf-vision's base replicas: their GPU totals changed, so every
    # model pair there is re-checked (the quota rule sees them all); prod overrides the
    # replicas, so only shelf-vision's own prod pair is. The three roots stay cached.
    assert cached == 3 + 2


def test_worker_processes_give_the_same_report(example_repo, cli, monkeypatch):
    from generator.check import incremental

    spec = example_repo / "models/churn-scorer.yaml"
    spec.write_text(spec.read_text().replace("registry.example.com/growth", "docker.io/growth"))
    monkeypatch.setattr(incremental, "PARALLEL_MIN_PAIRS", 1)
    code1, serial, _ = _check(cli, example_repo, "--no-cache", "--workers", "1")
    code2, out, err = cli("-C", str(example_repo), "check", "--format", "json", "--timings", "--no-cache",
                          "--workers", "2")
    assert "timing: workers: 2" in err
    assert code1 == code2 == 1 and json.loads(out) == serial


def test_findings_located_from_cached_specs_match_a_fresh_parse(example_repo, cli):
    spec = example_repo / "models/churn-scorer.yaml"
    spec.write_text(spec.read_text().replace("registry.example.com/growth", "docker.io/growth"))
    (example_repo / ".modelops-cache").mkdir(exist_ok=True)
    (example_repo / ".modelops-cache/specs-v1.json").write_text("{}")  # an earlier cache format
    _check(cli, example_repo)
    assert not (example_repo / ".modelops-cache/specs-v1.json").exists()
    # A new policy re-checks every pair; the specs' positions now come from the spec cache.
    policy = example_repo / "policies/team/noop.rego"
    policy.parent.mkdir(parents=True)
    policy.write_text("package team.noop\nimport rego.v1\ndeny contains \"never\" if input.kind == \"None\"\n")
    _, cached_specs, cached = _check(cli, example_repo)
    _, fresh, _ = _check(cli, example_repo, "--no-cache")
    assert cached == 0
    located = [(f["rule"], f["file"], f["line"], f["column"]) for f in cached_specs["findings"]]
    assert located == [(f["rule"], f["file"], f["line"], f["column"]) for f in fresh["findings"]]
    assert any(rule == "MO-IMG-003" and file == "models/churn-scorer.yaml" and line > 1
               for rule, file, line, _ in located)


def _answered_whole(err: str) -> bool:
    return "timing: answered-whole: 1" in err


def test_an_unchanged_repository_is_answered_whole_with_the_same_report(example_repo, cli):
    spec = example_repo / "models/churn-scorer.yaml"
    spec.write_text(spec.read_text().replace("registry.example.com/growth", "docker.io/growth"))
    code1, out1, err1 = cli("-C", str(example_repo), "check", "--format", "json", "--timings")
    code2, out2, err2 = cli("-C", str(example_repo), "check", "--format", "json", "--timings")
    assert not _answered_whole(err1) and _answered_whole(err2)
    assert "timing: cached-pairs: 12" in err2
    assert (code2, json.loads(out2)) == (code1, json.loads(out1)) and code1 == 1
    # another selection is another run: checked from the pair cache, then remembered
    _, _, err3 = cli("-C", str(example_repo), "check", "--format", "json", "--timings", "--env", "dev")
    assert not _answered_whole(err3)


def test_any_input_or_tool_change_is_not_answered_whole(example_repo, cli):
    _check(cli, example_repo)
    edits = [
        ("models/churn-scorer.yaml", lambda t: t.replace("registry.example.com/growth", "docker.io/growth")),
        ("environments/dev/environment.yaml", lambda t: t + "\n"),
        ("blueprints/templates/app-serving.yaml.j2", lambda t: t + "\n"),
    ]
    for name, edit in edits:
        path = example_repo / name
        path.write_text(edit(path.read_text()))
        _, _, err = cli("-C", str(example_repo), "check", "--format", "json", "--timings")
        assert not _answered_whole(err), name
        _, _, err = cli("-C", str(example_repo), "check", "--format", "json", "--timings")
        assert _answered_whole(err), name


def test_a_linked_spec_is_never_answered_whole(example_repo, cli):
    spec = example_repo / "models/churn-scorer.yaml"
    kept = example_repo / "specs/churn-scorer.yaml"
    kept.parent.mkdir()
    spec.rename(kept)
    spec.symlink_to(kept)
    for _ in range(2):
        code, _, err = cli("-C", str(example_repo), "check", "--format", "json", "--timings")
        assert code in (0, 1) and not _answered_whole(err)


def test_waivers_apply_to_a_remembered_result_on_the_day_it_runs(example_repo, cli):
    spec = example_repo / "models/churn-scorer.yaml"
    spec.write_text(spec.read_text().replace("registry.example.com/growth", "docker.io/growth"))
    _check(cli, example_repo, "--today", "2027-01-01")
    (example_repo / "waivers.yaml").write_text(
        "waivers:\n  - rule: MO-IMG-003\n    models: [churn-scorer]\n    reason: mirror pending\n"
        "    owner: ml@example.com\n    expires: 2027-01-31\n")
    code, out, err = cli("-C", str(example_repo), "check", "--format", "json", "--timings", "--today", "2027-01-15")
    waived = [f for f in json.loads(out)["findings"] if f["rule"] == "MO-IMG-003"]
    assert _answered_whole(err) and waived and all(f["waived"] for f in waived)
    code, out, err = cli("-C", str(example_repo), "check", "--format", "json", "--timings", "--today", "2027-02-01")
    assert _answered_whole(err) and code == 1
    assert any(f["rule"] != "MO-IMG-003" and "expired" in f["message"] for f in json.loads(out)["findings"])


def test_remembered_spec_semantics_give_the_same_gpu_view(example_repo):
    from generator.spec.load import load_repository

    fresh = load_repository(example_repo, cache=False)
    load_repository(example_repo, cache=True)  # fills the cache
    remembered = load_repository(example_repo, cache=True)
    assert remembered._memo["resolved"] == {}  # no pair resolved: every spec's semantics came from the cache
    assert remembered.gpu_usage() == fresh.gpu_usage()
    assert [r.name for r in remembered.resolved(["prod"])] == [r.name for r in fresh.resolved(["prod"])]


def test_an_environment_change_rechecks_the_semantics_of_cached_specs(example_repo, cli):
    import shutil

    _check(cli, example_repo)
    shutil.rmtree(example_repo / "environments/prod")
    code, _out, err = cli("-C", str(example_repo), "check", "--format", "json")
    assert code == 2 and "Traceback" not in err
    assert "models/support-chat.yaml" in err and "environment 'prod' does not exist" in err


_META_START = '    api_version, kind = str(document.get("apiVersion", "")), str(document.get("kind", ""))\n'
_NO_META = (_META_START, "    return []\n" + _META_START)  # metadata_problems finds nothing


def _older_build(tmp_path, edits):
    """A copy of this build's package with each file's (old, new) text replaced once."""
    import shutil

    from tests.conftest import ROOT

    older = tmp_path / "older"
    shutil.copytree(ROOT / "generator", older / "generator", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("blueprints", "policies"):
        (older / name).symlink_to(ROOT / name)
    for path, (old, new) in edits.items():
        text = (older / path).read_text()
        assert old in text
        (older / path).write_text(text.replace(old, new, 1))
    return older


def test_a_spec_cached_as_valid_by_another_build_is_checked_again(example_repo, cli, tmp_path):
    """The parsed-spec cache was keyed on the file's bytes and the version number, which
    does not change between commits: an environment file an older build accepted was
    served to a build whose schema refuses it, and `check` passed."""
    import subprocess
    import sys

    loose = '"ruleLabels": {"type": "object", "additionalProperties": {"type": "string"},'
    older = _older_build(tmp_path, {  # this build with the label rules of its schema and metadata checks loosened
        "generator/spec/schema.py": ('"ruleLabels": {**LABELS,', loose), "generator/validate/object_meta.py": _NO_META})
    env = example_repo / "environments/prod/environment.yaml"
    env.write_text(env.read_text().replace("release: kube-prometheus-stack", "release: kube prometheus stack"))
    done = subprocess.run([sys.executable, "-m", "generator", "-C", str(example_repo), "check", "--env", "prod"],
                          cwd=older, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr  # the older build passes it, and caches it
    code, _, err = cli("-C", str(example_repo), "check", "--env", "prod")
    assert code == 2 and "ruleLabels.release: 'kube prometheus stack' is not a label value" in err


def test_findings_cached_by_another_build_are_not_served(example_repo, cli, tmp_path):
    """Each pair's findings were keyed on a revision string bumped by hand, not on
    modelops's code: findings an older build cached (it lacked a check) were served to a
    build that has the check, and `check` stayed green."""
    import subprocess
    import sys

    older = _older_build(tmp_path, {"generator/validate/object_meta.py": _NO_META})  # no MO-SCHEMA-002
    shared = (example_repo / "blueprints/templates/monitoring-podmonitor.yaml.j2").read_text()
    team = example_repo / "blueprints/teams/assistants/monitoring-podmonitor.yaml.j2"
    team.parent.mkdir(parents=True)
    team.write_text(shared.replace("  labels: {{ monitoring.labels | json }}", "  labels:\n    tier: gold plated"))
    done = subprocess.run([sys.executable, "-m", "generator", "-C", str(example_repo), "check", "--env", "prod"],
                          cwd=older, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr  # the older build passes it, and caches its findings
    code, report, cached = _check(cli, example_repo, "--env", "prod")
    assert cached == 0
    assert code == 1 and any(f["rule"] == "MO-SCHEMA-002" for f in report["findings"])
