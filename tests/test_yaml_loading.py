"""`load_located` reads specs through libyaml's node tree; the round-trip loader decides the rest.

The two paths must agree exactly: the same values, the same line:column for every key
and value, and the same error for every mistake, whichever path handled the text.
"""
from __future__ import annotations

import gc
from pathlib import Path

import pytest
import yaml

from generator import yamlio
from generator.errors import SpecError

ROOT = Path(__file__).resolve().parent.parent

CONSTRUCTS = {
    "scalars": "a: 017\nb: 0o17\nc: yes\nd: on\ne: ~\nf: 1e3\ng: .inf\nh: 0x1F\ni: 1_000\nj: 1:20\nk: -0\n",
    "quoted": "a: 'yes'\nb: \"017\"\nc: ''\n",
    "timestamps": "a: 2027-01-31\nb: 2027-01-31T10:00:00Z\n",
    "tags": "a: !custom x\nb: !!binary aGk=\nc: !!str 3\nd: !!float 3\n",
    "flow": "a: [1, {b: 2}]\nc: {min: 2, max: 6}\n",
    "blocks": "a: |\n  line1\n  line2\nb: >\n  folded\n  text\n",
    "documents": "a: 1\n---\n---\nb: [x]\n",
    "anchors": "a: &x [1, 2]\nb: *x\n",
    "top-level list": "- a\n- b: 1\n  c: 2\n",
    "empty": "",
    # left to the round-trip loader
    "merge key": "x: &x {b: 1}\ny:\n  <<: *x\n  c: 2\n",
    "complex key": "? [a]\n: 1\n",
    "duplicate key": "a: 1\na: 2\n",
    "null key": "~: 1\n",
    "integer key": "1: a\n",
    "impossible date": "a: 2027-02-30\n",
    "tab": "a:\n\tb: 1\n",
    "indentation": "metadata:\n  name: bad\n team: x\n",
    "unclosed": "a: [1, 2\n",
    "missing colon": "a b\nc: d\n",
}


def _outcome(load, text: str) -> object:
    try:
        return [(d.data, d.positions, d.key_positions) for d in load(text, "f.yaml")]
    except SpecError as error:
        return [str(problem) for problem in error.problems]


@pytest.mark.parametrize("name", sorted(CONSTRUCTS))
def test_node_path_agrees_with_the_round_trip_loader(name: str) -> None:
    text = CONSTRUCTS[name]
    assert _outcome(yamlio.load_located, text) == _outcome(yamlio._load_round_trip, text)


def test_the_shipped_specs_and_environments_take_the_node_path_and_agree() -> None:
    files = sorted([*ROOT.glob("models/*.yaml"), *ROOT.glob("environments/*/environment.yaml")])
    assert len(files) >= 6
    for path in files:
        text = path.read_text(encoding="utf-8")
        fast = yamlio._load_from_nodes(text, path.name)
        assert fast is not None, path  # plain specs never need the slow loader
        assert _outcome(lambda t, f, fast=fast: fast, text) == _outcome(yamlio._load_round_trip, text), path


def test_positions_point_at_keys_and_values() -> None:
    [doc] = yamlio.load_located("model:\n  name: x\n  list:\n    - 1\n    - {a: b}\n", "f.yaml")
    assert doc.key_positions[("model", "name")] == (2, 3)
    assert doc.positions[("model", "name")] == (2, 9)
    assert doc.positions[("model", "list", 1)] == (5, 7)
    assert doc.positions[("model", "list", 1, "a")] == (5, 11)


def test_an_alias_bomb_is_refused_on_the_node_path() -> None:
    text = "a: &a [1,1,1,1,1,1,1,1,1]\n" + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcde", "bcdef", strict=True))
    with pytest.raises(SpecError, match="alias/anchor bomb"):
        yamlio.load_located(text, "f.yaml")


# load_all_fast: modelops's own output (blueprints, Helm) through libyaml's nodes ------------------

OUTPUT_CONSTRUCTS = {
    "scalars": "a: 017\nb: 0o17\nc: yes\nd: 1:20\ne: 0x1f\nf: .inf\ng: ~\nh: ''\ni: 2024-01-02\n",
    "keys": "1: a\n~: b\ntrue: c\n",
    "anchors": "a: &x [1, 2]\nb: *x\n",
    "documents": "---\n---\na: 1\n...\n",
    "duplicate key": "a: 1\na: 2\n",
    "binary": "a: !!binary aGk=\n",
    # left to PyYAML's constructor
    "merge key": "x: &x {b: 1}\ny:\n  <<: *x\n  c: 2\n",
    "set": "a: !!set {x, y}\n",
    "omap": "a: !!omap [x: 1]\n",
    "complex key": "? [a]\n: 1\n",
    "local tag": "a: !foo x\n",
}


def _pyyaml(text: str) -> object:
    import yaml

    try:
        return [d for d in yaml.load_all(text, Loader=yamlio._FastLoader) if d is not None]
    except yaml.YAMLError as error:
        return ["error", getattr(error, "problem", None) or str(error).splitlines()[0]]


def _ours(text: str) -> object:
    try:
        return yamlio.load_all_fast(text, "f.yaml")
    except SpecError as error:
        return ["error", error.problems[0].message.removeprefix("YAML syntax error: ")]


@pytest.mark.parametrize("name", sorted(OUTPUT_CONSTRUCTS))
def test_output_loading_agrees_with_pyyaml(name: str) -> None:
    text = OUTPUT_CONSTRUCTS[name]
    assert _ours(text) == _pyyaml(text)


def test_an_alias_is_one_object_and_a_recursive_alias_still_loads() -> None:
    [doc] = yamlio.load_all_fast("a: &x {k: v}\nb: *x\n", "f.yaml")
    assert doc["a"] is doc["b"]  # as PyYAML builds it: an alias bomb stays small
    [looped] = yamlio.load_all_fast("a: &a [1, *a]\n", "f.yaml")
    assert looped["a"][1] is looped["a"]


def test_rendered_files_load_as_pyyaml_loads_them() -> None:
    files = sorted(ROOT.glob("environments/*/*/*/*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert yamlio._plain_documents(text) is not None, path
        assert _ours(text) == _pyyaml(text), path


RESOLVED = ["", "~", "null", "Null", "true", "True", "yes", "on", "1", "-1", "+1", "0x1F", "0o17", "017", "1_000",
            "1e3", "1.5", "-.5", ".inf", "-.Inf", ".nan", "1:20", "<<", "=", "2027-01-31", "abc", "!x", "&a", "*a"]


@pytest.mark.parametrize("value", RESOLVED)
def test_the_fast_resolver_tags_every_scalar_as_pyyamls_own(value: str) -> None:
    """`_FastLoader.resolve` replaces PyYAML's for speed; over the same resolver table
    it must give the same tag for every scalar, plain or quoted, and every collection."""
    loader = yamlio._FastLoader("")
    try:
        for implicit in ((True, False), (False, True), (False, False)):
            ours = loader.resolve(yaml.ScalarNode, value, implicit)
            assert ours == yaml.resolver.BaseResolver.resolve(loader, yaml.ScalarNode, value, implicit)
        for kind in (yaml.SequenceNode, yaml.MappingNode):
            assert loader.resolve(kind, None, (True, False)) == yaml.resolver.BaseResolver.resolve(
                loader, kind, None, (True, False))
    finally:
        loader.dispose()


def test_loading_leaves_no_reference_cycles_for_the_collector() -> None:
    """A recursive closure in the node walk once kept every loader, node and mark alive
    until the cyclic collector ran (with it off, a cold `check` worker's memory doubled)."""
    text = (ROOT / "environments" / "dev" / "support-chat" / "serving" / "values.yaml").read_text(encoding="utf-8")
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector would free lands in gc.garbage
    try:
        for _ in range(20):
            assert yamlio.load_all_fast(text, "values.yaml")
            assert yamlio.load_all_fast("a: &x {k: v}\nb: *x\n", "f.yaml")
        gc.collect()
        left = [type(o).__qualname__ for o in gc.garbage if type(o).__module__.split(".")[0] in ("yaml", "generator")]
        assert left == []
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()


# dump_documents: the house style, read back the same by YAML 1.1 and 1.2 readers --------------

def test_dumped_values_read_back_with_their_types() -> None:
    values = {"lr": 1e-05, "big": 1e17, "half": 0.5, "count": 3, "on": True, "none": None,
              "yes": "yes", "octal": "0755", "time": "1:20", "date": "2027-01-31", "exp": "1e3", "empty": ""}
    text = yamlio.dump_documents([values])
    assert "lr: 1.0e-05\n" in text  # `1e-05` is a string to YAML 1.1 readers (PyYAML, Helm's sprig)
    assert yamlio.load_all_fast(text, "f.yaml") == [values]
    [located] = yamlio.load_located(text, "f.yaml")
    assert located.data == values


def test_documents_are_separated_and_never_aliased() -> None:
    shared = {"k": "v"}
    text = yamlio.dump_documents([{"a": shared, "b": shared}, {"c": [1, 2]}], "# header\n")
    assert text == "# header\na:\n  k: v\nb:\n  k: v\n---\nc:\n- 1\n- 2\n"
