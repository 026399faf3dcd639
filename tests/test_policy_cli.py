"""`modelops policy test|eval`, run in-process: exit codes and conftest-compatible output."""
from __future__ import annotations

import re

import io
import json
import shutil
from pathlib import Path

import pytest

from generator.cli import main
from generator.policy.engines import installed_engines
from generator.policy.conftest_inputs import combined_input as _combine
from tests.conftest import write_files as write

FIXTURES = Path(__file__).parent / "fixtures" / "conftest"
POLICY = str(FIXTURES / "policy")
INPUTS = FIXTURES / "inputs"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


# -- policy eval ------------------------------------------------------------------------------

def test_eval_conftest_directory_output_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    deployment, service = str(INPUTS / "deployment.yaml"), str(INPUTS / "service.yaml")
    rc, out, _ = run(capsys, "policy", "eval", "-p", POLICY, deployment, service)
    assert rc == 1
    assert out.splitlines() == [
        f"FAIL - {deployment} - main - Containers must not run as root",
        f"FAIL - {deployment} - main - container hello-kubernetes uses a :latest image {{not pinned}}",
        f'FAIL - {deployment} - main - missing labels: team',
        f"WARN - {service} - main - Found service hello-kubernetes but services are not allowed",
        "",
        # conftest counts rule bodies: deny has 3, warn 1, deny_missing_labels 1, so each of
        # the 3 documents is 5 tests; a rule with no message is one success, each message
        # one failure or warning, and successes are topped up to the 5 bodies per document
        "15 tests, 11 passed, 1 warning, 3 failures, 0 exceptions",
    ]


def test_eval_passing_json_file_and_plural_forms(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "policy", "eval", "--policy", POLICY, str(INPUTS / "good.json"))
    assert rc == 0
    assert out.splitlines()[-1] == "5 tests, 5 passed, 0 warnings, 0 failures, 0 exceptions"


def test_eval_reads_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("kind: Service\nmetadata: {name: s}\n"))
    rc, out, _ = run(capsys, "policy", "eval", "-p", POLICY, "-")
    assert rc == 0
    # conftest prints "-" in place of "- <file>" for stdin
    assert out.splitlines()[0] == "WARN - - main - Found service s but services are not allowed"


@pytest.mark.parametrize(("flags", "expected"), [
    ([], 0), (["--fail-on-warn"], 1),
])
def test_warnings_exit_codes(capsys: pytest.CaptureFixture[str], flags: list[str], expected: int) -> None:
    rc, _, _ = run(capsys, "policy", "eval", "-p", POLICY, *flags, str(INPUTS / "service.yaml"))
    assert rc == expected


def test_fail_on_warn_uses_conftest_code_2_for_failures(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, _ = run(capsys, "policy", "eval", "-p", POLICY, "--fail-on-warn", str(INPUTS / "deployment.yaml"))
    assert rc == 2  # conftest: ExitCodeFailOnWarn() is 2 on failures, 1 on warnings only
    rc, _, _ = run(capsys, "policy", "eval", "-p", POLICY, str(INPUTS / "deployment.yaml"))
    assert rc == 1


def test_json_output_matches_conftest_shape(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "policy", "eval", "-p", POLICY, "-o", "json", str(INPUTS / "deployment.yaml"))
    assert rc == 1
    assert "\n\t{" in out  # tab-indented like conftest
    [result] = json.loads(out)
    assert result["filename"] == str(INPUTS / "deployment.yaml")
    assert result["namespace"] == "main" and result["successes"] == 2  # warn, and the third deny body
    assert "warnings" not in result
    latest = [f for f in result["failures"] if "latest" in f["msg"]]
    # conftest adds the query to every message's metadata, keys sorted as Go writes maps
    assert latest == [{"msg": "container hello-kubernetes uses a :latest image {not pinned}",
                       "metadata": {"container": "hello-kubernetes", "query": "data.main.deny"}}]
    assert list(latest[0]["metadata"]) == ["container", "query"]


def test_namespaces_and_all_namespaces(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path, {"a.rego": "package a\nimport rego.v1\ndeny contains \"from a\" if input.kind\n",
                     "b.rego": "package b\nimport rego.v1\nwarn contains \"from b\" if input.kind\n"})
    doc = str(INPUTS / "good.json")
    rc, out, _ = run(capsys, "policy", "eval", "-p", str(tmp_path), doc)
    assert rc == 0 and out.splitlines()[0] == f"? - {doc} - main - no policies found"
    rc, out, _ = run(capsys, "policy", "eval", "-p", str(tmp_path), "--namespace", "b", doc)
    assert rc == 0 and out.splitlines()[0] == f"WARN - {doc} - b - from b"
    for flags in (["--all-namespaces"], ["--namespace", "a,b"], ["-n", "a", "-n", "b"]):
        rc, out, _ = run(capsys, "policy", "eval", "-p", str(tmp_path), *flags, doc)
        assert rc == 1
        assert out.splitlines()[:2] == [f"FAIL - {doc} - a - from a", f"WARN - {doc} - b - from b"]


def test_combine_gives_conftest_input_shape(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path, {"p/combine.rego": """\
        package main
        import rego.v1
        deny contains msg if {
          some i, j
          input[i].contents.kind == "Deployment"
          input[j].contents.kind == "Service"
          msg := sprintf("%v and %v are both here", [input[i].path, input[j].path])
        }
        deny contains msg if {
          not is_array(input)
          msg := "input is not a list"
        }
        """})
    deployment, service = str(INPUTS / "deployment.yaml"), str(INPUTS / "service.yaml")
    rc, out, _ = run(capsys, "policy", "eval", "-p", str(tmp_path / "p"), "--combine", service, deployment)
    assert rc == 1
    assert out.splitlines()[0] == f"FAIL - Combined - main - {deployment} and {service} are both here"
    # documents of a multi-document file are separate entries, sorted (stably) by path
    shape = _combine({service: [{"kind": "Service"}, {"kind": "ConfigMap"}], deployment: [{"kind": "Deployment"}]})
    assert shape == [{"path": deployment, "contents": {"kind": "Deployment"}},
                     {"path": service, "contents": {"kind": "Service"}},
                     {"path": service, "contents": {"kind": "ConfigMap"}}]


def test_directories_as_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "policy", "eval", "-p", POLICY, str(INPUTS))
    assert rc == 1
    assert out.splitlines()[-1] == "20 tests, 16 passed, 1 warning, 3 failures, 0 exceptions"


EXCEPTION_POLICY = """\
    package main

    deny_run_as_root contains msg if {
      input.kind == "Deployment"
      not input.spec.template.spec.securityContext.runAsNonRoot
      msg := "Containers must not run as root"
    }

    warn_replicas contains "one replica" if input.spec.replicas == 1

    exception contains rules if {
      input.kind == "Deployment"
      input.metadata.name == "can-run-as-root"
      rules := ["run_as_root"]
    }
    """


def _deployment(root: Path, name: str) -> str:
    path = root / f"{name}.yaml"
    path.write_text(f"kind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: 2\n")
    return str(path)


def test_conftest_exceptions_exempt_the_named_rule(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = write(tmp_path / "policy", {"p.rego": EXCEPTION_POLICY})
    allowed, other = _deployment(tmp_path, "can-run-as-root"), _deployment(tmp_path, "web")
    rc, out, _ = run(capsys, "policy", "eval", "-p", str(policy), allowed)
    assert rc == 0
    assert out.splitlines() == [f'EXCP - {allowed} - main - data.main.exception[_][_] == "run_as_root"', "",
                                "2 tests, 1 passed, 0 warnings, 0 failures, 1 exception"]
    rc, out, _ = run(capsys, "policy", "eval", "-p", str(policy), "-o", "json", allowed, other)
    assert rc == 1
    first, second = json.loads(out)
    assert first["exceptions"] == [{"msg": 'data.main.exception[_][_] == "run_as_root"'}]
    assert "failures" not in first and first["successes"] == 1
    assert second["failures"] == [{"msg": "Containers must not run as root",
                                   "metadata": {"query": "data.main.deny_run_as_root"}}]
    assert "exceptions" not in second


def test_exceptions_apply_to_warnings_and_through_check_too(tmp_path: Path) -> None:
    from generator.policy.engine import PolicySet

    policy = write(tmp_path / "policy", {"p.rego": EXCEPTION_POLICY.replace('["run_as_root"]', '["replicas"]')})
    policies = PolicySet.load([policy])
    single = {"kind": "Deployment", "metadata": {"name": "can-run-as-root"}, "spec": {"replicas": 1}}
    results, exceptions = policies.evaluate_detailed(single)
    assert [r.rule for r in results] == ["deny_run_as_root"]
    assert [(e.rule, e.name) for e in exceptions] == [("warn_replicas", "replicas")]
    # the per-rule path (a namespace filter) gives the same answer as the aggregated query
    assert policies.evaluate_detailed(single, ["main"]) == (results, exceptions)
    assert policies.evaluate(single) == results


@pytest.mark.parametrize(("body", "message"), [
    ('x := input.kind + 1\n  msg := sprintf("%v", [x])', "modelops: error: data.main.deny: "),
    ('r := http.send({"method": "get", "url": "http://127.0.0.1:9"})\n  msg := "unreachable"',
     "modelops: error: {file}:4:8: http.send is a network built-in"),
])
def test_erroring_policy_exits_2_and_never_passes(capsys: pytest.CaptureFixture[str], tmp_path: Path, body: str,
                                                  message: str) -> None:
    write(tmp_path, {"p/main.rego": f"package main\nimport rego.v1\ndeny contains msg if {{\n  {body}\n}}\n"})
    rc, out, err = run(capsys, "policy", "eval", "-p", str(tmp_path / "p"), str(INPUTS / "good.json"))
    assert rc == 2
    assert "passed" not in out
    assert err.startswith(message.format(file=tmp_path / "p" / "main.rego"))


def test_syntax_error_exits_2_with_location(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path, {"p/main.rego": "package main\n\ndeny contains msg if {\n  msg := \"x\"\n"})
    rc, _, err = run(capsys, "policy", "eval", "-p", str(tmp_path / "p"), str(INPUTS / "good.json"))
    assert rc == 2
    assert re.search(rf"{re.escape(str(tmp_path / 'p' / 'main.rego'))}:\d+:\d+: ", err)


def test_bad_input_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("a: [1,\n")
    rc, _, err = run(capsys, "policy", "eval", "-p", POLICY, str(tmp_path / "bad.yaml"))
    assert rc == 2 and "bad.yaml:" in err and "invalid YAML" in err
    rc, _, err = run(capsys, "policy", "eval", "-p", POLICY, str(tmp_path / "missing.yaml"))
    assert rc == 2 and "cannot read" in err


def test_unreachable_opa_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "policy", "eval", "--opa", "http://127.0.0.1:9", "-p", POLICY,
                       str(INPUTS / "good.json"))
    assert rc == 2
    assert "unreachable" in err and "passed" not in out


# -- policy test ------------------------------------------------------------------------------

def test_policy_test_all_pass(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path, {
        "p/deny.rego": "package p\n\ndeny[msg] { input.bad; msg := \"bad\" }\n",  # v0 on purpose
        "p/deny_test.rego": "package p\n\ntest_bad { deny[\"bad\"] with input.bad as true }\n"
                            "test_good { count(deny) == 0 with input.bad as false }\n",
    })
    rc, out, _ = run(capsys, "policy", "test", str(tmp_path / "p"))
    assert (rc, out) == (0, "2 tests, 2 passed, 0 failed\n")


def test_policy_test_failures_and_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path, {"p/t_test.rego": """\
        package p
        import rego.v1
        test_ok if true
        test_false if false
        test_error if to_number("nope") > 1
        """})
    rc, out, _ = run(capsys, "policy", "test", str(tmp_path / "p"))
    file = tmp_path / "p" / "t_test.rego"
    assert rc == 1
    lines = out.splitlines()
    assert lines[-1] == "3 tests, 1 passed, 1 failed, 1 errors"
    assert f"FAIL: {file}: data.p.test_false: undefined" in lines
    assert any(line.startswith(f"ERROR: {file}: data.p.test_error: ") for line in lines)


def test_policy_test_load_error_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path, {"p/t_test.rego": "package p\nimport rego.v1\ntest_x if {\n"})
    rc, _, err = run(capsys, "policy", "test", str(tmp_path / "p"))
    assert rc == 2 and "t_test.rego:" in err


def test_policy_test_defaults_to_the_repo_policies(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "policy", tmp_path / "policies")
    write(tmp_path, {"policies/main_test.rego": """\
        package main
        import rego.v1
        test_service_warns if {
          count(warn) == 1 with input as {
            "kind": "Service",
            "metadata": {"name": "s"},
          }
        }
        test_deployment_denied if {
          "Containers must not run as root" in deny with input as {"kind": "Deployment", "spec": {}}
        }
        test_line_numbers_survive if {
          false
        }
        """})
    rc, out, _ = run(capsys, "-C", str(tmp_path), "policy", "test")
    test_file = tmp_path / "policies" / "main_test.rego"
    assert (rc, out) == (1, f"FAIL: {test_file}: data.main.test_line_numbers_survive: undefined\n"
                            "3 tests, 2 passed, 1 failed\n")


def test_policy_prints_do_not_corrupt_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path, {"p/main.rego": 'package main\nimport rego.v1\ndeny contains "d" if { print("dbg"); input.kind }\n'})
    rc, out, _ = run(capsys, "policy", "eval", "-p", str(tmp_path / "p"), "-o", "json", str(INPUTS / "good.json"))
    assert rc == 1
    assert json.loads(out)[0]["failures"] == [{"msg": "d", "metadata": {"query": "data.main.deny"}}]


def test_data_flag_merges_any_named_file_at_the_root(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = write(tmp_path / "policy", {"p.rego": """\
        package main

        deny contains msg if {
          some name in data.exclusions.names
          input.metadata.name == name
          msg := sprintf("%s is excluded by %s", [name, data.owner])
        }
        """})
    data = write(tmp_path / "data", {"exclusions.yaml": "exclusions:\n  names: [legacy]\n",
                                     "nested/owner.json": '{"owner": "platform"}'})
    target = tmp_path / "d.yaml"
    target.write_text("kind: Deployment\nmetadata:\n  name: legacy\n")
    rc, out, _ = run(capsys, "policy", "eval", "-p", str(policy), "--data", str(data), str(target))
    assert rc == 1 and f"FAIL - {target} - main - legacy is excluded by platform" in out
    write(tmp_path / "more", {"clash.yaml": "owner: someone-else\n"})
    rc, _, err = run(capsys, "policy", "eval", "-p", str(policy), "-d", str(data), "-d", str(tmp_path / "more"),
                     str(target))
    assert rc == 2 and "data key owner is defined twice" in err


# -- conftest's upstream behaviour (acceptance tests, policy/engine.go, output/*.go) ------------

def _eval(capsys: pytest.CaptureFixture[str], tmp_path: Path, policy: str, inputs: dict[str, str],
          *flags: str) -> tuple[int, str, str, dict[str, str]]:
    """Write one policy and the inputs, run `policy eval` on the inputs in the order given."""
    write(tmp_path / "pol", {"p.rego": policy})
    paths = {name: str(write(tmp_path / "in", {name: text}) / name) for name, text in inputs.items()}
    rc, out, err = run(capsys, "policy", "eval", "-p", str(tmp_path / "pol"), *flags, *paths.values())
    return rc, out, err, paths


def test_blank_file_names_are_skipped_and_an_empty_list_is_an_error(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = 'package main\nimport rego.v1\ndeny contains "bad" if input.bad\n'
    rc, out, _, _ = _eval(capsys, tmp_path, policy, {"ok.yaml": "bad: false\n"}, "")
    assert rc == 0 and out.splitlines()[-1] == "1 test, 1 passed, 0 warnings, 0 failures, 0 exceptions"
    rc, _, err = run(capsys, "policy", "eval", "-p", str(tmp_path / "pol"), "")
    assert rc == 2 and "no files found" in err


def test_only_strings_and_objects_are_messages(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """conftest: a boolean rule (`deny if ...`) passes; numbers in a message set are dropped."""
    policy = ('package main\nimport rego.v1\ndeny if input.x\n'
              'violation contains m if { some m in [1, "two", ["three"]] }\n')
    rc, out, _, paths = _eval(capsys, tmp_path, policy, {"x.yaml": "x: true\n"})
    assert rc == 1
    assert out.splitlines() == [f"FAIL - {paths['x.yaml']} - main - two", "",
                                "2 tests, 1 passed, 0 warnings, 1 failure, 0 exceptions"]


def test_if_without_contains_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """In Rego v1 `deny[msg] if` is an object rule that never reports; conftest refuses it."""
    policy = 'package main\nimport rego.v1\n\nwarn_x[msg] if {\n  msg := "m"\n}\n'
    rc, out, err, _ = _eval(capsys, tmp_path, policy, {"x.yaml": "x: 1\n"})
    assert rc == 2 and out == ""
    assert "p.rego:4: rule is using 'if' keyword without 'contains' keyword" in err
    # the same head in Rego v0 is a set and is upgraded, not refused
    rc, out, _, _ = _eval(capsys, tmp_path, 'package main\nwarn_x[msg] {\n  msg := "m"\n}\n', {"x.yaml": "x: 1\n"})
    assert rc == 0 and out.startswith("WARN - ")


def test_an_empty_name_in_exceptions_exempts_the_plain_rules(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """conftest lists "" for `deny`/`violation`/`warn`; "deny" would name `deny_deny`."""
    policy = ('package main\nimport rego.v1\ndeny contains "plain" if input.x\n'
              'deny_named contains "named" if input.x\nexception contains [input.skip]\n')
    rc, out, _, paths = _eval(capsys, tmp_path, policy, {"a.yaml": 'x: 1\nskip: ""\n', "b.yaml": "x: 1\nskip: deny\n"})
    assert rc == 1
    assert out.splitlines() == [
        f"FAIL - {paths['a.yaml']} - main - named",
        f'EXCP - {paths["a.yaml"]} - main - data.main.exception[_][_] == ""',
        f"FAIL - {paths['b.yaml']} - main - plain",
        f"FAIL - {paths['b.yaml']} - main - named",
        "", "4 tests, 0 passed, 0 warnings, 3 failures, 1 exception"]


def test_yaml_is_split_and_tagged_like_conftest(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """conftest's YAML decoder keeps empty documents (`---` with nothing after it) as null
    documents, still checked, and reads local tags such as CloudFormation's `!Ref` as
    plain values; an empty file has no documents at all."""
    policy = ('package main\nimport rego.v1\ndeny contains concat(" ", input.Fn) if input.Ref == "Bucket"\n'
              'warn contains "null document" if input == null\n')
    text = "Ref: !Ref Bucket\nFn: !Split [a, b]\n---\n# nothing here\n---\n"
    rc, out, _, paths = _eval(capsys, tmp_path, policy, {"t.yaml": text})
    assert rc == 1
    assert out.splitlines() == [f"WARN - {paths['t.yaml']} - main - null document",
                                f"WARN - {paths['t.yaml']} - main - null document",
                                f"FAIL - {paths['t.yaml']} - main - a b", "",
                                "6 tests, 3 passed, 2 warnings, 1 failure, 0 exceptions"]
    rc, out, _, paths = _eval(capsys, tmp_path, policy, {"empty.yaml": ""})
    assert rc == 0 and out.splitlines()[0] == f"? - {paths['empty.yaml']} - main - no policies found"


def test_no_fail_suppress_exceptions_and_no_color(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = ('package main\nimport rego.v1\ndeny_a contains "a" if input.a\ndeny_b contains "b" if input.b\n'
              'exception contains ["b"]\n')
    rc, out, _, paths = _eval(capsys, tmp_path, policy, {"x.yaml": "a: 1\nb: 1\n"},
                              "--no-fail", "--suppress-exceptions", "--no-color")
    assert rc == 0
    assert out.splitlines() == [f"FAIL - {paths['x.yaml']} - main - a", "",
                                "2 tests, 0 passed, 0 warnings, 1 failure, 1 exception"]
    write(tmp_path / "pol", {"p.rego": "package main\nimport rego.v1\ndeny contains 1 / 0 if true\n"})
    rc, _, _ = run(capsys, "policy", "eval", "-p", str(tmp_path / "pol"), "--no-fail", paths["x.yaml"])
    assert rc == 2  # an evaluation error never passes


TAP_POLICY = ('package main\nimport rego.v1\ndeny contains "d" if input.d\nwarn contains "w" if input.w\n'
              'deny_e contains "e" if input.e\nexception contains ["e"] if input.e\n')


def test_tap_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, _, paths = _eval(capsys, tmp_path, TAP_POLICY, {"a.yaml": "d: 1\nw: 1\ne: 1\n", "b.yaml": "{}\n"},
                              "-o", "tap")
    a, b = paths["a.yaml"], paths["b.yaml"]
    assert rc == 1
    assert out.splitlines() == [
        "1..3", f"not ok 1 - {a} - main - d", "# warnings", f"not ok 2 - {a} - main - w",
        "# exceptions", f'ok 3 - {a} - main - data.main.exception[_][_] == "e"',
        "1..3", "# successes", f"ok 1 - {b} - main - SUCCESS", f"ok 2 - {b} - main - SUCCESS",
        f"ok 3 - {b} - main - SUCCESS"]


def test_github_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rc, out, _, paths = _eval(capsys, tmp_path, TAP_POLICY, {"a.yaml": "d: 1\nw: 1\ne: 1\n"}, "-o", "github")
    a = paths["a.yaml"]
    assert rc == 1
    assert out.splitlines() == [
        f'::group::Testing "{a}" against 3 policies in namespace "main"',
        f"::error file={a},line=1::d", f"::warning file={a},line=1::w",
        f'::notice file={a},line=1::data.main.exception[_][_] == "e"',
        f"::notice file={a},line=1::Number of successful checks: 0", "::endgroup::",
        "3 tests, 0 passed, 1 warning, 1 failure, 1 exception"]


def test_json_escapes_html_characters_like_go(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = 'package main\nimport rego.v1\ndeny contains "a <b> & c – d" if true\n'
    rc, out, _, _ = _eval(capsys, tmp_path, policy, {"x.json": "{}"}, "-o", "json")
    assert rc == 1
    assert '"msg": "a \\u003cb\\u003e \\u0026 c – d"' in out
    assert json.loads(out)[0]["failures"][0]["msg"] == "a <b> & c – d"


def test_ignore_parser_and_directory_order(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write(tmp_path / "pol", {"p.rego": 'package main\nimport rego.v1\nwarn contains input.name if input.name\n'})
    root = write(tmp_path / "in", {"a.yaml": "name: a.yaml\n", "a/x.yml": "name: a/x.yml\n",
                                   "skip/s.json": '{"name": "skip"}', "n.txt": "name: n.txt\n"})
    rc, out, _ = run(capsys, "policy", "eval", "-p", str(tmp_path / "pol"), "--ignore", "sk.p", str(root))
    assert rc == 0
    # filepath.Walk order: a/ (the directory) before a.yaml; other suffixes are not inputs
    assert [line.split(" - ")[-1] for line in out.splitlines()[:-2]] == ["a/x.yml", "a.yaml"]
    rc, out, _ = run(capsys, "policy", "eval", "-p", str(tmp_path / "pol"), "--parser", "yaml", str(root / "n.txt"))
    assert rc == 0 and out.splitlines()[0].endswith(" - main - n.txt")
    rc, _, err = run(capsys, "policy", "eval", "-p", str(tmp_path / "pol"), "--parser", "json", str(root / "a.yaml"))
    assert rc == 2 and "invalid JSON" in err


@pytest.mark.parametrize("engine", installed_engines())
def test_compile_errors_point_at_the_policy(capsys: pytest.CaptureFixture[str], tmp_path: Path, engine: str) -> None:
    policy = 'package main\nimport rego.v1\n\ndeny contains "x" if no_such_function(input.x)\n'
    rc, out, err, _ = _eval(capsys, tmp_path, policy, {"x.yaml": "x: [b]\n"}, "--engine", engine)
    assert rc == 2 and out == ""
    assert re.search(r"p\.rego:4(:\d+)?: .*no_such_function", err)


def test_comparison_against_iterated_data_reports(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`a[p].port == data.blocked[_]`: conftest's data idiom."""
    policy = ('package main\nimport rego.v1\ndeny contains sprintf("port %v", [input.ports[p].port]) if {\n'
              '  input.ports[p].port == data.blocked[_]\n}\n')
    write(tmp_path / "data", {"d.yaml": "blocked: [22, 23]\n"})
    rc, out, _, _ = _eval(capsys, tmp_path, policy, {"s.yaml": "ports: [{port: 80}, {port: 22}]\n"},
                          "-d", str(tmp_path / "data"))
    assert rc == 1 and out.splitlines()[0].endswith(" - main - port 22")
