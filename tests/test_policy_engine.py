"""Policies on every installed engine: loading v0 and v1 as written, results, metadata, failing closed."""
from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest

from generator.policy import PolicyError
from generator.policy.engine import PolicySet, RuleResult, load_modules, results_from_value
from generator.policy.metadata import parse_metadata
from generator.policy.engines import installed_engines
from generator.policy.rego_test import run_tests
from tests.conftest import write_files as write

FIXTURES = Path(__file__).parent / "fixtures" / "conftest"

BAD_DEPLOYMENT = {
    "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:latest"}]}}},
}
GOOD_DEPLOYMENT = {
    "kind": "Deployment", "metadata": {"name": "ok", "labels": {"app": "ok", "team": "ml"}},
    "spec": {"selector": {"matchLabels": {"app": "ok"}},
             "template": {"spec": {"securityContext": {"runAsNonRoot": True},
                                   "containers": [{"name": "c", "image": "r.example.com/c@sha256:1"}]}}},
}
SERVICE = {"kind": "Service", "metadata": {"name": "svc"}}
ENGINES = installed_engines()


def summary(results: list[RuleResult]) -> list[tuple[str, str, str]]:
    return sorted((r.rule, r.kind, r.msg) for r in results)


# -- conftest-style directories, v0 and v1 ---------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
def test_conftest_v0_directory_works_unchanged(engine: str) -> None:
    policies = PolicySet.load([FIXTURES / "policy"], engine=engine)
    assert policies.rules == {"main": ("deny", "warn", "deny_missing_labels")}
    assert summary(policies.evaluate(BAD_DEPLOYMENT, ["main"])) == [
        ("deny", "deny", "Containers must not run as root"),
        ("deny", "deny", "Containers must provide app label for pod selectors"),
        ("deny", "deny", "container c uses a :latest image {not pinned}"),
        ("deny_missing_labels", "deny", "missing labels: team"),
    ]
    assert summary(policies.evaluate(SERVICE, ["main"])) == [
        ("warn", "warn", "Found service svc but services are not allowed")]
    assert policies.evaluate(GOOD_DEPLOYMENT, ["main"]) == []


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("document", [BAD_DEPLOYMENT, GOOD_DEPLOYMENT, SERVICE])
def test_v0_and_v1_policies_give_identical_results(document: dict, engine: str) -> None:
    v0 = PolicySet.load([FIXTURES / "policy"], engine=engine).evaluate(document)
    v1 = PolicySet.load([FIXTURES / "policy_v1"], engine=engine).evaluate(document)
    assert [(r.namespace, r.rule, r.kind, r.msg, r.raw) for r in v0] == \
        [(r.namespace, r.rule, r.kind, r.msg, r.raw) for r in v1]


def test_strings_and_objects_keep_their_keys() -> None:
    results = PolicySet.load([FIXTURES / "policy"]).evaluate(BAD_DEPLOYMENT)
    latest = next(r for r in results if "latest" in r.msg)
    assert latest.raw == {"msg": latest.msg, "container": "c"}
    assert latest.details == {"container": "c"}
    plain = next(r for r in results if r.msg == "Containers must not run as root")
    assert plain.raw == plain.msg and plain.details == {}


def test_warn_is_a_warning_and_deny_and_violation_are_failures(tmp_path: Path) -> None:
    write(tmp_path, {"p.rego": """\
        package main
        import rego.v1
        deny contains "d" if input.x
        violation contains {"msg": "v", "details": {}} if input.x
        warn contains "w" if input.x
        warn_extra contains "w2" if input.x
        not_a_decision contains "ignored" if input.x
        """})
    results = PolicySet.load([tmp_path]).evaluate({"x": True})
    assert {(r.rule, r.kind, r.failure) for r in results} == {
        ("deny", "deny", True), ("violation", "violation", True),
        ("warn", "warn", False), ("warn_extra", "warn", False)}


def test_data_documents_follow_the_bundle_layout(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "policy", tmp_path / "p")
    write(tmp_path / "p", {
        "registry.rego": """\
            package main
            import rego.v1
            deny contains msg if {
              some c in input.spec.template.spec.containers
              not startswith(c.image, data.registries[0])
              not startswith(c.image, data.extra.allowed)
              msg := sprintf("image %v is not from an allowed registry", [c.image])
            }
            """,
        "extra/data.json": '{"allowed": "mirror.example.com/"}',
    })
    _, data = load_modules([tmp_path / "p"])
    assert data == {"registries": ["registry.example.com/"], "extra": {"allowed": "mirror.example.com/"}}
    messages = [r.msg for r in PolicySet.load([tmp_path / "p"]).evaluate(BAD_DEPLOYMENT)]
    assert "image nginx:latest is not from an allowed registry" in messages


def test_namespaces_filter() -> None:
    policies = PolicySet.load([FIXTURES / "policy", FIXTURES / "gatekeeper"])
    assert policies.namespaces == ["k8scontainerlimits", "k8srequiredlabels", "main"]
    assert {r.namespace for r in policies.evaluate(BAD_DEPLOYMENT, None)} == {"main"}
    assert policies.evaluate(BAD_DEPLOYMENT, ["nope"]) == []
    assert policies.evaluate(SERVICE, ["k8srequiredlabels"]) == []


# -- metadata ----------------------------------------------------------------------------------

ANNOTATED = """\
    # METADATA
    # title: No latest tags
    # description: Images must be pinned.
    # custom:
    #   id: MO-IMG-001
    #   severity: high
    #   remediation: Pin the image by digest.
    package modelops.images.latest

    import rego.v1

    deny contains msg if {
      endswith(input.image, ":latest")
      msg := "latest tag"
    }

    # METADATA
    # title: Missing tag
    # custom:
    #   severity: low
    warn contains "no tag" if not contains(input.image, ":")
    """


def test_package_metadata_annotates_results(tmp_path: Path) -> None:
    write(tmp_path, {"latest.rego": ANNOTATED})
    policies = PolicySet.load([tmp_path])
    [deny] = policies.evaluate({"image": "nginx:latest"})
    assert (deny.id, deny.title, deny.severity, deny.remediation, deny.description) == (
        "MO-IMG-001", "No latest tags", "high", "Pin the image by digest.", "Images must be pinned.")
    assert deny.policy_file == str(tmp_path / "latest.rego")
    [warn] = policies.evaluate({"image": "nginx"})
    # the rule's own annotation wins field by field; the rest comes from the package
    assert (warn.id, warn.title, warn.severity) == ("MO-IMG-001", "Missing tag", "low")


def test_id_falls_back_to_the_package_name() -> None:
    [result] = [r for r in PolicySet.load([FIXTURES / "policy"]).evaluate(SERVICE)]
    assert (result.id, result.title, result.severity) == ("main", "", "")


def test_metadata_parsing_is_frozen_and_validated() -> None:
    meta = parse_metadata(textwrap.dedent(ANNOTATED), "modelops.images.latest", "latest.rego")
    assert meta.package_annotation is not None and meta.package_annotation.line == 1
    assert meta.for_rule("warn").title == "Missing tag"
    assert meta.for_rule("deny") is meta.package_annotation
    with pytest.raises(AttributeError):
        meta.package_annotation.id = "x"  # type: ignore[misc]
    with pytest.raises(PolicyError, match=r"bad.rego:1:1: .*severity 'urgent'"):
        parse_metadata("# METADATA\n# custom:\n#   severity: urgent\npackage x\n", "x", "bad.rego")
    with pytest.raises(PolicyError, match=r"bad.rego:1:1: invalid METADATA YAML"):
        parse_metadata("# METADATA\n# title: [unclosed\npackage x\n", "x", "bad.rego")


# -- failing closed ------------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
def test_runtime_type_error_raises_never_returns_empty(tmp_path: Path, engine: str) -> None:
    write(tmp_path, {"t.rego": """\
        package main
        import rego.v1
        deny contains msg if {
          x := input.count + "one"
          msg := sprintf("%v", [x])
        }
        """})
    with pytest.raises(PolicyError, match=r"data\.main\.deny: .*t\.rego:4(:\d+)?: .*"):
        PolicySet.load([tmp_path], engine=engine).evaluate({"count": 1})


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("call", ['http.send({"method": "get", "url": "http://127.0.0.1:9"})',
                                  'net.lookup_ip_addr("localhost")'])
def test_network_builtins_are_refused_before_evaluation(tmp_path: Path, call: str, engine: str) -> None:
    write(tmp_path, {"t.rego": f"""\
        package main
        import rego.v1
        # http.send(...) in a comment and "http.send(" in a string do not count
        deny contains "blocked" if {{
          note := "http.send("
          r := {call}
          r
        }}
        """})
    builtin = call.split("(")[0]
    with pytest.raises(PolicyError, match=rf"t\.rego:6:\d+: {re.escape(builtin)} is a network built-in") as caught:
        PolicySet.load([tmp_path], engine=engine)
    assert caught.value.args[0].count("network built-in") == 1
    allowed = PolicySet.load([tmp_path], engine=engine, allow_network=True)  # loads; evaluation may then reach out
    assert allowed.namespaces == ["main"]


@pytest.mark.parametrize("engine", ENGINES)
def test_syntax_errors_name_file_and_line(tmp_path: Path, engine: str) -> None:
    write(tmp_path, {"ok.rego": "package ok\nimport rego.v1\np := 1\n",
                     "broken.rego": "package main\n\ndeny contains msg if {\n  msg := \n}\n"})
    with pytest.raises(PolicyError, match=r"broken\.rego:[45]"):
        PolicySet.load([tmp_path], engine=engine)


def test_objects_without_msg_and_object_rules_are_errors() -> None:
    with pytest.raises(PolicyError, match="without a string `msg`"):
        results_from_value("main", "deny", [{"message": "x"}])
    with pytest.raises(PolicyError, match="produced an object"):
        results_from_value("main", "deny", {"bad input": True})
    assert [r.msg for r in results_from_value("main", "deny", True)] == ["data.main.deny is true"]
    assert results_from_value("main", "deny", False) == []


def test_missing_directory_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such policy"):
        PolicySet.load([tmp_path / "nope"])
    with pytest.raises(PolicyError, match="no .rego policies"):
        PolicySet.load([tmp_path])


def test_test_files_are_skipped_unless_asked(tmp_path: Path) -> None:
    write(tmp_path, {"p.rego": "package p\nimport rego.v1\ndeny contains 1 if input.x\n",
                     "p_test.rego": "package p\nimport rego.v1\ntest_x if { 1 in deny with input.x as true }\n"})
    assert [m.path for m in load_modules([tmp_path])[0]] == [str(tmp_path / "p.rego")]
    assert len(load_modules([tmp_path], include_tests=True)[0]) == 2


@pytest.mark.parametrize("engine", ENGINES)
def test_same_function_name_with_different_arities_in_two_packages(tmp_path: Path, engine: str) -> None:
    write(tmp_path, {
        "a.rego": 'package a\nimport rego.v1\nwf(x) := {"k": x}\ndeny contains wf(input.v).k if input.v\n',
        "b.rego": 'package b\nimport rego.v1\nwf(x, y) := sprintf("%v-%v", [x, y])\ndeny contains wf(input.v, 2) if input.v\n',
    })
    results = PolicySet.load([tmp_path], engine=engine).evaluate({"v": "z"})
    assert sorted((r.namespace, r.msg) for r in results) == [("a", "z"), ("b", "z-2")]


# -- threads ------------------------------------------------------------------------------------

def test_evaluate_many_matches_sequential_and_keeps_order() -> None:
    policies = PolicySet.load([FIXTURES / "policy", FIXTURES / "gatekeeper"])
    documents = [dict(BAD_DEPLOYMENT, metadata={"name": f"d{i}"}) if i % 3 else SERVICE for i in range(300)]
    sequential = [policies.evaluate(doc) for doc in documents]
    assert policies.evaluate_many(documents, workers=2) == sequential


def test_each_thread_gets_its_own_engine() -> None:
    from concurrent.futures import ThreadPoolExecutor

    policies = PolicySet.load([FIXTURES / "policy"])
    expected = summary(policies.evaluate(BAD_DEPLOYMENT, ["main"]))
    with ThreadPoolExecutor(max_workers=2) as pool:
        found = list(pool.map(lambda _: summary(policies.evaluate(BAD_DEPLOYMENT, ["main"])), range(4)))
    assert found == [expected] * 4


# -- rego tests (opa test) ---------------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
def test_run_tests_pass_fail_error(tmp_path: Path, engine: str) -> None:
    write(tmp_path, {
        "p.rego": "package p\nimport rego.v1\ndeny contains \"no\" if input.bad\n",
        "p_test.rego": """\
            package p
            import rego.v1
            test_denies if { "no" in deny with input.bad as true }
            test_allows if { count(deny) == 0 with input.bad as false }
            test_false if { count(deny) == 1 with input.bad as false }
            test_undefined if { input.nothing }
            test_error if { to_number("x") == 1 }
            """,
    })
    report = run_tests([tmp_path], engine=engine)
    assert {c.name: c.status for c in report.cases} == {
        "test_denies": "pass", "test_allows": "pass", "test_false": "fail",
        "test_undefined": "fail", "test_error": "error"}
    assert report.summary() == "5 tests, 2 passed, 2 failed, 1 errors"
    assert not report.ok


@pytest.mark.parametrize("engine", ENGINES)
def test_whole_input_with_in_tests_needs_no_rewriting(tmp_path: Path, engine: str) -> None:
    write(tmp_path, {
        "p.rego": 'package p\nimport rego.v1\ndeny contains msg if { msg := sprintf("%v: x", [input.metadata.name]) }\n',
        "p_test.rego": 'package p\nimport rego.v1\n'
                       'test_var if { d := {"metadata": {"name": "a"}}; deny["a: x"] with input as d }\n'
                       'test_literal if { deny["b: x"] with input as {"metadata": {"name": "b"}} }\n',
    })
    assert run_tests([tmp_path], engine=engine).summary() == "2 tests, 2 passed, 0 failed"


@pytest.mark.parametrize("engine", ENGINES)
def test_sprintf_over_bound_strings_prints_them_plain(tmp_path: Path, engine: str) -> None:
    write(tmp_path, {"p.rego": ('package main\nimport rego.v1\n'
                                'deny contains sprintf("x: %v", [s]) if s := "ab"\n'
                                'deny contains concat("", ["y", "z"]) if true\n')})
    assert sorted(r.msg for r in PolicySet.load([tmp_path], engine=engine).evaluate({})) == ["x: ab", "yz"]


def test_a_bare_true_rule_keeps_true_as_its_raw_value() -> None:
    [result] = results_from_value("main", "deny", True)
    assert result.raw is True and result.failure  # `check` fails it; `policy eval` passes it as conftest does
