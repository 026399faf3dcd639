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
