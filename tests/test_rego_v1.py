"""Rego v0 -> v1 syntax upgrade (for engines that read v1 only): exact rewrites, same meaning."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import regorus

from generator.policy.rego_v1 import is_v1, package_name, rule_names, upgrade_to_v1

FIXTURES = Path(__file__).parent / "fixtures" / "conftest"


def up(source: str) -> str:
    return upgrade_to_v1(textwrap.dedent(source))


def query(source: str | list[str], rule: str, document: object) -> object:
    """`data.<package>.<rule>` on an engine that reads Rego v1 only, as OPA 1.x does
    (regorus in its default v1 mode); None when undefined."""
    sources = [source] if isinstance(source, str) else source
    engine = regorus.Engine()
    for index, text in enumerate(sources):
        engine.add_policy(f"m{index}.rego", text)
    engine.set_input(document)
    text = engine.eval_rule_as_json(f"data.{package_name(sources[0])}.{rule}")
    return None if text == '"<undefined>"' else json.loads(text)


def parses_as_v1(source: str) -> bool:
    try:
        regorus.Engine().add_policy("m.rego", source)
    except RuntimeError:
        return False
    return True


@pytest.mark.parametrize(("v0", "v1"), [
    ("deny[msg] {\n  msg := \"x\"\n}", "deny contains msg if {\n  msg := \"x\"\n}"),
    ("obj[k] = v { k := \"a\"; v := 1 }", "obj[k] := v if { k := \"a\"; v := 1 }"),
    ("allow { input.a }", "allow if { input.a }"),
    ("name = v { v := input.name }", "name := v if { v := input.name }"),
    ("f(x) = y { y := x + 1 }", "f(x) := y if { y := x + 1 }"),
    ("g(x) { x > 1 }", "g(x) if { x > 1 }"),
    ("default allow = false", "default allow = false"),
    ("p = 1", "p := 1"),
    ("deny[\"constant\"]", "deny contains \"constant\""),
    ("allow { input.a } { input.b }", "allow if { input.a } { input.b }"),
    ("k = \"a\" { input.a } else = \"b\" { input.b } else = \"c\"",
     "k := \"a\" if { input.a } else := \"b\" if { input.b } else := \"c\""),
    ("k { input.a } else { input.b }", "k if { input.a } else if { input.b }"),
    ("deny[msg]{ msg := 1 }", "deny contains msg if { msg := 1 }"),
    ("allow{true}", "allow if {true}"),
    ("f(x) = y{ y := x } else = 0{ true }", "f(x) := y if { y := x } else := 0 if { true }"),
    ("a.b[x] { x := 1 }", "a.b contains x if { x := 1 }"),
    ("deny[sprintf(\"%v\", [1])] { true }", "deny contains sprintf(\"%v\", [1]) if { true }"),
    ("m := re_match(\"a\", \"a\")", "m := regex.match(\"a\", \"a\")"),
])
def test_rewrites_each_rule_form(v0: str, v1: str) -> None:
    assert up(f"package t\n\n{v0}\n") == f"package t\n\n{v1}\n"


def test_head_spanning_lines_and_else_on_next_line() -> None:
    source = """\
        package t

        violation[{"msg": msg,
                   "details": {"k": 1}}] {
          msg := "m"
        }

        f(x) = "big" {
          x > 10
        } else = "small" {
          true
        }
        """
    assert up(source) == textwrap.dedent("""\
        package t

        violation contains {"msg": msg,
                   "details": {"k": 1}} if {
          msg := "m"
        }

        f(x) := "big" if {
          x > 10
        } else := "small" if {
          true
        }
        """)


def test_braces_in_strings_raw_strings_and_comments_are_ignored() -> None:
    source = """\
        package t

        # deny[x] { a comment with { braces
        deny[msg] { # trailing { comment
          msg := "a } string { with \\" quotes }"
          raw := `raw { string
        } spanning lines`
        }

        warn[msg] { msg := "w" }
        """
    upgraded = up(source)
    assert "deny contains msg if { # trailing { comment" in upgraded
    assert "# deny[x] { a comment with { braces" in upgraded
    assert 'msg := "a } string { with \\" quotes }"' in upgraded
    assert "warn contains msg if { msg := \"w\" }" in upgraded
    assert upgraded.count("\n") == textwrap.dedent(source).count("\n")


@pytest.mark.parametrize("source", [
    "package t\nimport rego.v1\ndeny contains msg if { msg := \"x\" }\n",
    "package t\nimport rego.v1\n\nallow if input.a\n",
    "package t\n\ndeny contains msg if { msg := \"x\" }\n",
    "package t\n\nallow if { input.a }\n",
])
def test_v1_modules_come_back_unchanged(source: str) -> None:
    assert is_v1(source)
    assert upgrade_to_v1(source) == source


def test_future_keywords_module_with_mixed_heads_is_upgraded() -> None:
    source = "package t\nimport future.keywords.if\nimport future.keywords.in\n\ndeny[msg] if { some msg in input.m }\nallow { true }\n"
    assert not is_v1(source)
    upgraded = upgrade_to_v1(source)
    assert "deny contains msg if { some msg in input.m }" in upgraded
    assert "allow if { true }" in upgraded
    assert "import future.keywords.if" in upgraded  # v1 accepts the import; kept
    assert query(upgraded, "deny", {"m": ["a", "b"]}) == ["a", "b"]


def test_contains_builtin_does_not_make_a_module_v1() -> None:
    source = 'package t\n\ndeny[msg] { contains(input.s, "x"); msg := "has x" }\n'
    assert not is_v1(source)
    assert query(upgrade_to_v1(source), "deny", {"s": "xyz"}) == ["has x"]


def test_v1_engines_reject_v0_and_the_upgrade_is_read() -> None:
    source = 'package t\n\ndeny[msg] { input.bad; msg := "bad input" }\n'
    assert not parses_as_v1(source)
    assert query(upgrade_to_v1(source), "deny", {"bad": True}) == ["bad input"]


@pytest.mark.parametrize("document", [
    {"kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
     "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:latest"}]}}}},
    {"kind": "Deployment", "metadata": {"name": "ok", "labels": {"app": "ok", "team": "t"}},
     "spec": {"selector": {"matchLabels": {"app": "ok"}},
              "template": {"spec": {"securityContext": {"runAsNonRoot": True}, "containers": []}}}},
    {"kind": "Service", "metadata": {"name": "svc"}},
])
@pytest.mark.parametrize("rule", ["deny", "warn", "deny_missing_labels"])
def test_conftest_fixture_v0_and_v1_agree(document: dict, rule: str) -> None:
    def modules(directory: str) -> list[str]:
        return [(FIXTURES / directory / name).read_text() for name in ("deployment.rego", "labels.rego")]

    v0, v1 = modules("policy"), modules("policy_v1")
    assert [upgrade_to_v1(m) for m in v1] == v1
    upgraded = query([upgrade_to_v1(m) for m in v0], rule, document)
    assert upgraded == query(v1, rule, document)
    assert not all(parses_as_v1(m) for m in v0)  # raw v0 is refused by a v1-only engine


GATEKEEPER_REVIEW = {
    "review": {"object": {"metadata": {"labels": {"owner": "me-"}},
                          "spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "2"}}},
                                                  {"name": "b", "resources": {"limits": {}}}],
                                   "initContainers": [{"name": "i", "resources": {"limits": {"cpu": "300m"}}}]}}},
    "parameters": {"labels": [{"key": "owner", "allowedRegex": "^[a-z]+$"}, {"key": "team"}], "cpu": "1"},
}


def test_gatekeeper_library_style_policies_upgrade_and_evaluate() -> None:
    labels = upgrade_to_v1((FIXTURES / "gatekeeper" / "k8srequiredlabels.rego").read_text())
    assert "violation contains {\"msg\": msg, \"details\": {\"missing_labels\": missing}} if {" in labels
    assert "get_message(parameters, _default) := msg if {" in labels
    result = query(labels, "violation", GATEKEEPER_REVIEW)
    assert sorted(v["msg"] for v in result) == sorted([
        'you must provide labels: {"team"}',
        "Label <owner: me-> does not satisfy allowed regex: ^[a-z]+$",
    ])
    limits = upgrade_to_v1((FIXTURES / "gatekeeper" / "k8scontainerlimits.rego").read_text())
    assert "input_containers contains c if {" in limits
    assert "cpu_kind(orig) := \"millis\" if {" in limits and "} else := \"cores\" if {" in limits
    messages = sorted(v["msg"] for v in query(limits, "violation", GATEKEEPER_REVIEW))
    assert messages == [
        "container <a> cpu limit <2> is higher than the maximum allowed of <1> (cores)",
        "container <b> has no cpu limit",
    ]


def test_rule_names_and_package() -> None:
    source = (FIXTURES / "policy" / "deployment.rego").read_text()
    assert package_name(source) == "main"
    assert rule_names(upgrade_to_v1(source)) == ["deny", "warn", "is_deployment"]
    assert rule_names("package a.b\nimport rego.v1\ndefault allow := false\nallow if input.x\n") == ["allow"]
    assert package_name("# c\npackage a.b.c\n") == "a.b.c"


def test_unbalanced_source_is_returned_for_the_compiler_to_report() -> None:
    source = "package t\n\ndeny[msg] {\n  msg := \"x\"\n"
    assert upgrade_to_v1(source) == source
