"""The embedded regopy engine: loading, v0 upgrade, results, metadata, failing closed, threads."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from generator.policy import PolicyError
from generator.policy.engine import PolicySet, RuleResult, load_modules, results_from_value
from generator.policy.metadata import parse_metadata
from generator.policy.rego_test import run_tests, split_whole_input_with
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


def summary(results: list[RuleResult]) -> list[tuple[str, str, str]]:
    return sorted((r.rule, r.kind, r.msg) for r in results)


# -- conftest-style directories, v0 and v1 ---------------------------------------------------

def test_conftest_v0_directory_works_unchanged() -> None:
    policies = PolicySet.load([FIXTURES / "policy"])
    assert policies.rules == {"main": ("deny", "warn", "deny_missing_labels")}
    assert summary(policies.evaluate(BAD_DEPLOYMENT, ["main"])) == [
        ("deny", "deny", "Containers must not run as root"),
        ("deny", "deny", "Containers must provide app label for pod selectors"),
        ("deny", "deny", "container c uses a :latest image {not pinned}"),
        # regopy 1.5.2 quotes concat() output inside sprintf (OPA prints: missing labels: team)
        ("deny_missing_labels", "deny", 'missing labels: "team"'),
    ]
    assert summary(policies.evaluate(SERVICE, ["main"])) == [
        ("warn", "warn", "Found service svc but services are not allowed")]
    assert policies.evaluate(GOOD_DEPLOYMENT, ["main"]) == []


@pytest.mark.parametrize("document", [BAD_DEPLOYMENT, GOOD_DEPLOYMENT, SERVICE])
def test_v0_and_v1_policies_give_identical_results(document: dict) -> None:
    v0 = PolicySet.load([FIXTURES / "policy"]).evaluate(document)
    v1 = PolicySet.load([FIXTURES / "policy_v1"]).evaluate(document)
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

def test_runtime_type_error_raises_never_returns_empty(tmp_path: Path) -> None:
    write(tmp_path, {"t.rego": """\
        package main
        import rego.v1
        deny contains msg if {
          x := input.count + "one"
          msg := sprintf("%v", [x])
        }
        """})
    with pytest.raises(PolicyError, match=r"data\.main\.deny: .*t\.rego:4:\d+: .*"):
        PolicySet.load([tmp_path]).evaluate({"count": 1})


@pytest.mark.parametrize(("call", "message"), [
    ('http.send({"method": "get", "url": "http://127.0.0.1:9"})', "HTTP builtins are not supported"),
    ('json.match_schema({}, {})', "JSON schema is not supported"),
    ('rego.metadata.rule()', "Rego metadata not supported"),
])
def test_unsupported_builtins_fail_closed(tmp_path: Path, call: str, message: str) -> None:
    write(tmp_path, {"t.rego": f"""\
        package main
        import rego.v1
        deny contains "blocked" if {{
          r := {call}
          r
        }}
        """})
    with pytest.raises(PolicyError, match=message):
        PolicySet.load([tmp_path]).evaluate({})


def test_syntax_errors_name_file_line_and_column(tmp_path: Path) -> None:
    write(tmp_path, {"ok.rego": "package ok\nimport rego.v1\np := 1\n",
                     "broken.rego": "package main\n\ndeny contains msg if {\n  msg := \"x\"\n"})
    with pytest.raises(PolicyError, match=r"broken\.rego:3:\d+: this is unclosed"):
        PolicySet.load([tmp_path])


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


def test_same_function_name_with_different_arities_does_not_crash(tmp_path: Path) -> None:
    # regopy 1.5.2 segfaults compiling this unless the loader renames the functions apart
    write(tmp_path, {
        "a.rego": 'package a\nimport rego.v1\nwf(x) := {"k": x}\ndeny contains wf(input.v).k if input.v\n',
        "b.rego": 'package b\nimport rego.v1\nwf(x, y) := sprintf("%v-%v", [x, y])\ndeny contains wf(input.v, 2) if input.v\n',
    })
    results = PolicySet.load([tmp_path]).evaluate({"v": "z"})
    assert sorted((r.namespace, r.msg) for r in results) == [("a", "z"), ("b", "z-2")]


# -- threads ------------------------------------------------------------------------------------

def test_evaluate_many_matches_sequential_and_keeps_order() -> None:
    policies = PolicySet.load([FIXTURES / "policy", FIXTURES / "gatekeeper"])
    documents = [dict(BAD_DEPLOYMENT, metadata={"name": f"d{i}"}) if i % 3 else SERVICE for i in range(300)]
    sequential = [policies.evaluate(doc) for doc in documents]
    assert policies.evaluate_many(documents, workers=2) == sequential
    assert policies.evaluate_many(documents, workers=4) == sequential
    assert policies.evaluate_many(documents, workers=1) == sequential


LATEST_POLICY = 'package main\nimport rego.v1\ndeny contains "latest tag" if input.image == "x:latest"\n'


def test_compiled_bundle_is_kept_and_read_back(tmp_path: Path) -> None:
    policies = write(tmp_path / "p", {"p.rego": LATEST_POLICY})
    cache = tmp_path / "cache"
    first = PolicySet.load([policies], cache_dir=cache)
    saved = sorted(path.name for path in cache.glob("policies-*"))
    assert len(saved) == 2 and saved[0].endswith(".rbb") and saved[1].endswith(".sha256")
    # Plant, under this key, a bundle compiled from other sources: the next load must serve it.
    other = write(tmp_path / "q", {"p.rego": LATEST_POLICY.replace('"latest tag"', '"planted"')})
    PolicySet.load([other], cache_dir=tmp_path / "other")
    for suffix in (".rbb", ".sha256"):
        planted = next((tmp_path / "other").glob(f"*{suffix}"))
        (cache / saved[0]).with_suffix(suffix).write_bytes(planted.read_bytes())
    second = PolicySet.load([policies], cache_dir=cache)
    assert [r.msg for r in second.evaluate({"image": "x:latest"})] == ["planted"]
    assert [r.msg for r in first.evaluate({"image": "x:latest"})] == ["latest tag"]


@pytest.mark.parametrize("damage", [b"", b"not a bundle", None])
def test_damaged_bundle_is_rebuilt_without_output(tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                                  damage: bytes | None) -> None:
    policies = write(tmp_path / "p", {"p.rego": LATEST_POLICY})
    cache = tmp_path / "cache"
    PolicySet.load([policies], cache_dir=cache)
    bundle = next(cache.glob("*.rbb"))
    good = bundle.read_bytes()
    bundle.write_bytes(good[: len(good) // 2] if damage is None else damage)
    capfd.readouterr()
    rebuilt = PolicySet.load([policies], cache_dir=cache)
    assert capfd.readouterr() == ("", "")  # regopy prints damaged-bundle errors to stdout
    assert [r.msg for r in rebuilt.evaluate({"image": "x:latest"})] == ["latest tag"]
    assert bundle.read_bytes() == good


def test_changed_sources_get_a_new_bundle_and_the_old_one_is_removed(tmp_path: Path) -> None:
    policies = write(tmp_path / "p", {"p.rego": LATEST_POLICY})
    cache = tmp_path / "cache"
    PolicySet.load([policies], cache_dir=cache)
    before = {path.name for path in cache.glob("policies-*")}
    write(policies, {"p.rego": LATEST_POLICY.replace('"latest tag"', '"changed"')})
    changed = PolicySet.load([policies], cache_dir=cache)
    after = {path.name for path in cache.glob("policies-*")}
    assert len(after) == 2 and not before & after
    assert [r.msg for r in changed.evaluate({"image": "x:latest"})] == ["changed"]


# -- rego tests (opa test) ---------------------------------------------------------------------

def test_run_tests_pass_fail_error(tmp_path: Path) -> None:
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
    report = run_tests([tmp_path])
    assert {c.name: c.status for c in report.cases} == {
        "test_denies": "pass", "test_allows": "pass", "test_false": "fail",
        "test_undefined": "fail", "test_error": "error"}
    assert report.summary() == "5 tests, 2 passed, 2 failed, 1 errors"
    assert not report.ok


def test_run_tests_survives_a_regopy_crash(tmp_path: Path) -> None:
    # `with input as <var>` over a rule calling sprintf on input aborts rego-cpp 1.5.2 while
    # compiling (a literal object would be split into `with input.k as v` and work)
    write(tmp_path, {
        "p.rego": 'package p\nimport rego.v1\ndeny contains msg if { msg := sprintf("%v: x", [input.metadata.name]) }\n',
        "p_test.rego": 'package p\nimport rego.v1\n'
                       'test_crash if { d := {"metadata": {"name": "a"}}; deny["a: x"] with input as d }\n',
    })
    with pytest.raises(PolicyError, match="crashed compiling"):
        run_tests([tmp_path])


def test_whole_input_with_is_split_keeping_lines(tmp_path: Path) -> None:
    source = textwrap.dedent("""\
        package p
        import rego.v1
        test_a if {
          deny["a: x"] with input as {
            "metadata": {"name": "a"},  # the name
            "a-b": [1,
              2],
          }
          count(deny) == 1 with input as {}
        }
        """)
    split = split_whole_input_with(source)
    assert split.count("\n") == source.count("\n")
    assert 'with input.metadata as {"name": "a"}' in split
    assert 'with input["a-b"] as [1,' in split
    assert "with input as {}" in split
    write(tmp_path, {"p.rego": 'package p\nimport rego.v1\ndeny contains msg if { msg := sprintf("%v: x", [input.metadata.name]) }\n',
                     "p_test.rego": source.replace("count(deny) == 1 with input as {}", "true")})
    assert run_tests([tmp_path]).summary() == "1 tests, 1 passed, 0 failed"


def test_strings_read_from_the_value_tree_lose_their_json_quotes(tmp_path: Path) -> None:
    """When one message makes regopy's JSON text invalid (sprintf over a bound string), the
    values are read from the node tree, where other strings keep their quotes: `"yz"`."""
    write(tmp_path, {"p.rego": ('package main\nimport rego.v1\n'
                                'deny contains sprintf("x: %v", [s]) if s := "ab"\n'
                                'deny contains concat("", ["y", "z"]) if true\n')})
    messages = sorted(r.msg for r in PolicySet.load([tmp_path]).evaluate({}))
    # 'x: "ab"' is regopy's own sprintf defect (OPA prints `x: ab`); "yz" must be plain
    assert messages == ['x: "ab"', "yz"]


def test_a_bare_true_rule_keeps_true_as_its_raw_value() -> None:
    [result] = results_from_value("main", "deny", True)
    assert result.raw is True and result.failure  # `check` fails it; `policy eval` passes it as conftest does


def test_upgraded_modules_are_remembered_by_content(tmp_path: Path) -> None:
    from generator.cache import CacheFile

    v0 = 'package main\ndeny[msg] {\n  input.image == "x:latest"\n  msg := "latest tag"\n}\n'
    policies = write(tmp_path / "p", {"p.rego": v0})
    cache = tmp_path / "cache"
    first = PolicySet.load([policies], cache_dir=cache)
    stored = CacheFile.in_directory(cache, "rego-upgrades")
    [entry] = [stored.get(key) for key in list(stored._old)]
    assert entry["source"] == first.modules[0].source and "deny contains msg if" in entry["source"]
    # a changed module is upgraded afresh; the stale entry is dropped at the next save
    write(policies, {"p.rego": v0.replace("latest tag", "changed")})
    second = PolicySet.load([policies], cache_dir=cache)
    assert [r.msg for r in second.evaluate({"image": "x:latest"})] == ["changed"]
    assert len(CacheFile.in_directory(cache, "rego-upgrades")._old) == 1
