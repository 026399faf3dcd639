"""PrometheusRules that prometheus-operator leaves out because Prometheus's rule loader
refuses them (`rulefmt.Parse`), although the CRD schema admits them: before MO-PROM-001,
a team blueprint with a broken alert expression passed `check`, and every alert of that
model was silently dropped on the cluster."""
from __future__ import annotations

import json
import subprocess

import pytest

from generator.validate.prometheus_rules import prometheus_rule_problems, promql_error


def _rule(*rules, groups=None):
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": {"name": "r"},
            "spec": {"groups": groups if groups is not None else [{"name": "g", "rules": list(rules)}]}}


def _messages(document):
    return [(".".join(map(str, path)), message) for path, message in prometheus_rule_problems(document)]


def test_a_valid_rule_file_has_no_problems():
    document = _rule({"alert": "High", "expr": 'sum(rate(x{a="b"}[5m])) by (le) > 0.5', "for": "5m",
                      "labels": {"severity": "page"}, "annotations": {"summary": "{{ $value }}"}},
                     {"record": "job:x:rate5m", "expr": "sum by (job) (rate(x[5m]))"},
                     {"record": "job:y:rate5m", "expr": "up", "for": "0s"},  # a zero `for` is no `for`
                     {"alert": "Number", "expr": 1})
    assert _messages(document) == []


def test_an_expression_that_does_not_parse_names_its_rule():
    document = _rule({"alert": "Ok", "expr": "up == 0"}, {"alert": "Broken", "expr": "rate(x[5m)"})
    assert _messages(document) == [("spec.groups.0.rules.1.expr",
                                    "PromQL does not parse: unexpected character inside brackets: ')'")]


def test_record_and_alert_and_expr_as_prometheus_requires():
    document = _rule({"alert": "A", "record": "a:b", "expr": "up"}, {"expr": "up"}, {"alert": "NoExpr"},
                     {"record": "a:b", "expr": "up", "annotations": {"summary": "x"}, "for": "5m"})
    assert _messages(document) == [
        ("spec.groups.0.rules.0", "only one of 'record' and 'alert' may be set"),
        ("spec.groups.0.rules.1", "one of 'record' or 'alert' must be set"),
        ("spec.groups.0.rules.2.expr", "field 'expr' must be set"),
        ("spec.groups.0.rules.3.annotations", "a recording rule takes no 'annotations'"),
        ("spec.groups.0.rules.3.for", "a recording rule takes no 'for'"),
    ]


def test_group_names_are_present_and_unique():
    groups = [{"name": "g", "rules": []}, {"name": "g", "rules": []}, {"name": "", "rules": []}]
    assert _messages(_rule(groups=groups)) == [
        ("spec.groups.1.name", "group name 'g' is repeated in the same PrometheusRule"),
        ("spec.groups.2.name", "a rule group needs a name (Prometheus: Groupname must not be empty)"),
    ]


def test_other_kinds_and_shapes_are_left_to_the_schema():
    assert prometheus_rule_problems({"kind": "ConfigMap", "apiVersion": "v1", "data": {"expr": "rate("}}) == []
    assert prometheus_rule_problems({**_rule(), "spec": {"groups": "not a list"}}) == []
    assert prometheus_rule_problems(_rule("not a rule", {"alert": "A", "expr": "up"})) == []


def test_a_duration_the_parser_panics_on_is_a_problem_not_a_crash(capfd):
    """promql-parser 0.12 panics (a BaseException) on `offset NaN`; Prometheus refuses it too."""
    problem = promql_error("up offset NaN")
    assert problem and problem.startswith("the PromQL parser could not read it")
    assert "panicked" not in capfd.readouterr().err


def _promtool_refuses(promtool, folder, rule):
    """Whether `promtool check rules` refuses a group holding `rule`, and what it said."""
    rules = folder / "rules.yaml"
    rules.write_text(json.dumps({"groups": [{"name": "g", "rules": [rule]}]}))
    result = subprocess.run([promtool, "check", "rules", str(rules)], check=False, capture_output=True, text=True,
                            timeout=60)
    return result.returncode != 0, result.stdout


@pytest.mark.parametrize("expression", ["rate(x[5m)", "sum(x) by", "x offset", 'x{a="b"', "max(inf{a=\"b\"})",
                                        "up and", "histogram_quantile(0.9 rate(x[5m]))", "up @ foo"])
def test_what_is_refused_prometheus_refuses_too(promtool, tmp_path, expression):
    """Each expression refused here is refused by Prometheus's own `promtool check rules`."""
    assert promql_error(expression)
    refused, said = _promtool_refuses(promtool, tmp_path, {"alert": "A", "expr": expression})
    assert refused, said


def test_the_example_repository_rules_parse(tmp_path):
    """What promtool passes (tests/test_serving_monitoring.py) this passes too."""
    from generator.render.pipeline import render_repository
    from generator.spec.load import load_repository
    from tests.conftest import ROOT

    files = render_repository(load_repository(ROOT, cache=False))
    rules = [d for f in files for d in f.documents if isinstance(d, dict) and d.get("kind") == "PrometheusRule"]
    assert len(rules) == 9 and all(prometheus_rule_problems(d) == [] for d in rules)


def test_check_fails_a_team_blueprint_whose_alert_does_not_parse(example_repo, cli):
    """A team's own alert with a missing bracket passed `check` before MO-PROM-001."""
    team = example_repo / "blueprints" / "teams" / "assistants"
    team.mkdir(parents=True, exist_ok=True)
    blueprint = (example_repo / "blueprints" / "templates" / "monitoring-prometheusrule.yaml.j2").read_text()
    extra = '  - name: team\n    rules:\n    - alert: TooManyTokens\n      expr: sum(rate(tokens_total[5m) > 1e6\n'
    (team / "monitoring-prometheusrule.yaml.j2").write_text(
        blueprint.replace("  groups: {{ monitoring.groups | json }}\n",
                          "  groups:\n  {%- for group in monitoring.groups %}\n  - {{ group | json }}\n"
                          "  {%- endfor %}\n" + extra))
    code, out, _err = cli("-C", str(example_repo), "check", "--format", "json")
    found = [f for f in json.loads(out)["findings"] if f["rule"] == "MO-PROM-001"]
    assert code == 1 and sorted(f["environment"] for f in found) == ["dev", "prod", "staging"], found
    assert all(f["resource_kind"] == "PrometheusRule" and f["level"] == "deny" for f in found)
    assert "spec.groups[1].rules[0].expr: PromQL does not parse: unexpected character inside brackets: ')'" in \
        found[0]["message"]


def test_a_process_without_standard_error_still_checks_rules():
    """A daemon may run with descriptor 2 closed: keeping the parser's panic off it must not fail."""
    import sys

    code = ("from generator.validate.prometheus_rules import promql_error as e; "
            "print(bool(e('up offset NaN')), e('up'))")
    result = subprocess.run(["sh", "-c", f'"{sys.executable}" -c "{code}" 2>&-'], check=False, capture_output=True,
                            text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, "True None\n"), result


@pytest.mark.parametrize(("duration", "refused"), [("0s", False), ("0", False), ("1m", True), ("0s1ms", True)])
def test_a_recording_rules_for_is_judged_as_promtool_judges_it(promtool, tmp_path, duration, refused):
    rule = {"record": "job:y:rate5m", "expr": "up", "for": duration}
    assert bool(prometheus_rule_problems(_rule(rule))) is refused
    promtool_refused, said = _promtool_refuses(promtool, tmp_path, rule)
    assert promtool_refused is refused, said
