"""Rewrites around rego-cpp defects: exact text, OPA's meaning under regopy, lines kept."""
from __future__ import annotations

import json

import pytest
import regopy
import regopy.rego_shared as rs

from generator.policy.regopy_compat import assign_comprehension_locals, hoist_iterations, regopy_compat, replace_any_all


def query(source: str, document: object, rule: str = "p") -> object:
    """`data.t.<rule>` through a compiled bundle, as the engine evaluates; errors raise."""
    builder = regopy.Interpreter()
    builder.log_level = regopy.LogLevel.NONE
    builder.add_module("t.rego", source)
    bundle = builder.build(None, [f"t/{rule}"])
    assert bundle.ok(), f"does not compile:\n{source}"
    runner = regopy.Interpreter()
    runner.strict_built_in_errors = True
    runner.set_input_term(json.dumps(document))
    text = rs.rego_output_string(rs.rego_bundle_query_entrypoint(runner._impl, bundle._impl, f"t/{rule}"))
    return None if text == "undefined" else json.loads(text)["expressions"][0]


def module(body: str) -> str:
    return f"package t\n\nimport rego.v1\n\n{body}\n"


# -- the defects, as regopy 1.5.2 shows them (a fixed regopy makes these fail: drop the rewrite) --

@pytest.mark.parametrize("body", [
    'p contains y if { y := {c | c := lower(input.xs[_])} }',  # "Invalid bracket argument"
    'p contains s if { c := "ab"; s := [g | g = upper(c)] }',  # "Unable to unify due to cycle"
])
def test_regopy_still_rejects_these(body: str) -> None:
    builder = regopy.Interpreter()
    builder.log_level = regopy.LogLevel.NONE
    builder.add_module("t.rego", module(body))
    assert not builder.build(None, ["t/p"]).ok()


def test_regopy_still_drops_a_named_variable_in_call_arguments() -> None:
    assert query(module('p contains y if { y := lower(input.xs[i]) }'), {"xs": ["A", "B"]}) == []


# -- hoisting -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "document", "expected"), [
    # comprehension bodies
    ('p := {c | c := lower(input.xs[_])}', {"xs": ["A", "b"]}, ["a", "b"]),
    # a named variable, which regopy would silently drop
    ('p contains [i, y] if { y := lower(input.xs[i]) }', {"xs": ["A", "B"]}, [[0, "a"], [1, "b"]]),
    # literals, and a statement spanning lines
    ('p contains y if {\n  y := concat(",", [\n    input.xs[_],\n  ])\n}', {"xs": ["a", "b"]}, ["a", "b"]),
    ('p contains y if { y := {"v": input.xs[_]} }', {"xs": [1]}, [{"v": 1}]),
    # `not f(x[_])`: true when no element makes f true
    ('p if { not startswith(input.xs[_], "z") }', {"xs": ["a", "b"]}, True),
    ('p if { not startswith(input.xs[_], "z") }', {"xs": ["a", "zz"]}, None),
])
def test_hoisted_iteration_means_what_opa_means(body: str, document: object, expected: object) -> None:
    source = module(body)
    rewritten = regopy_compat(source)
    assert rewritten != source and rewritten.count("\n") == source.count("\n")
    assert query(rewritten, document) == expected


def test_hoisting_text() -> None:
    assert hoist_iterations("p if {\n  y := {c | c := lower(x[_])}\n}") == \
        "p if {\n  y := {c | __moh0 := x[_]; c := lower(__moh0)}\n}"
    assert hoist_iterations('p if {\n  not f(x[_], "s")\n}') == \
        'p if {\n  __moh1 := count([1 | __moh0 := x[_]; f(__moh0, "s")]); __moh1 == 0\n}'


@pytest.mark.parametrize("source", [
    'p if {\n  msg := "f(x[_])"\n}',  # strings are opaque
    "p if {\n  # f(x[_])\n}",
    "p if {\n  y := x[_]\n}",  # iteration outside calls works in regopy
    "p if {\n  y := f(x[0], m[\"k\"])\n}",  # constant indexes
    "p if {\n  some i in f(x[_])\n}",  # some/every/with statements are left alone
    "p if {\n  every v in x { g(y[_]) }\n}",
    "p if {\n  f(x[_]) with input as {}\n}",
    "p if {\n  x[i]\n  not f(x[i])\n}",  # `not` with a named variable: bound outside, works as it is
    "p := f(x[_])",  # rule heads are not statements
])
def test_hoisting_leaves_alone(source: str) -> None:
    assert hoist_iterations(source) == source


# -- `v = expr` in comprehensions ------------------------------------------------------------------

def test_fresh_unification_in_a_comprehension_becomes_an_assignment() -> None:
    source = module('p contains s if {\n  c := input.c\n  s := [g | r = input.rs[_]; g = startswith(c, r)]\n}')
    rewritten = assign_comprehension_locals(source)
    assert "[g | r := input.rs[_]; g := startswith(c, r)]" in rewritten
    assert query(rewritten, {"c": "ab", "rs": ["a", "x"]}) == [[True, False]]


@pytest.mark.parametrize("body", [
    'p contains s if { g := 1; s := [g | g = input.x] }',  # g is bound outside: `=` compares
    'p contains s if { s := [g | some g; g = input.x] }',  # declared before in the comprehension
    'p contains s if { s := [g | g = f(g)] }',  # reads itself
    'p contains s if { s := [q | q = input.x] }\nq := 1',  # a rule of the package
    'p contains s if { s := [g | g == input.x] }',  # already a comparison
])
def test_unifications_that_may_compare_are_kept(body: str) -> None:
    source = module(body)
    assert assign_comprehension_locals(source) == source


# -- any() / all() ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("call", "values", "expected"), [
    ("any", [False, True], True), ("any", [False], False), ("any", [], False),
    ("all", [True, True], True), ("all", [True, False], False), ("all", [], True), ("all", [True, 1], False),
])
def test_any_and_all_keep_their_v0_meaning(call: str, values: list[object], expected: bool) -> None:
    # `r`: at a statement's start after a `]`, a `(` would read as a call on the line before
    source = replace_any_all(module(f"p := {call}(input.v)\nq if {{ not {call}(input.v) }}\n"
                                    f"r if {{\n  input.w[_]\n  {call}(input.v)\n}}"))
    document = {"v": values, "w": [1]}
    assert query(source, document) is expected
    assert query(source, document, "q") is (None if expected else True)
    assert query(source, document, "r") is (True if expected else None)


def test_any_all_only_for_v0_and_not_when_the_module_defines_them() -> None:
    assert regopy_compat("package t\np := any(x)\n") == "package t\np := any(x)\n"
    own = "package t\nany(x) := true if { x }\np := any(1)\nq := all := 1\n"
    assert replace_any_all(own) == own
    # all() over a literal is left for regopy to refuse: rego-cpp misreads `[a == b]` in the rewrite
    assert replace_any_all("package t\np := all([a == 1])\n") == "package t\np := all([a == 1])\n"


def test_a_comparison_in_a_literal_in_a_compared_comprehension_is_still_misread() -> None:
    """The defect the negation and all() rewrites steer around (OPA gives [1])."""
    body = "p contains x if { x := input.xs[_]; [1 | false in [x == 1]] == [] }"
    assert query(module(body), {"xs": [1, 2]}) == [1, 2]
