"""Release edits change only the lines of the release they write, whatever the spec's style."""
from __future__ import annotations

import difflib
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator.errors import ModelopsError
from generator.gitops.spec_edit import set_release
from tests.conftest import copy_example

NEW = {"image": "registry.example.com/a/b@sha256:" + "9" * 64, "modelUri": "s3://m/v9/", "modelVersion": "9",
       "metrics": {"eval_loss": 1.9, "steps": 100}}

STYLES = {
    "block-2-non-indented-seq": """\
# Top comment
metadata:
  name: x   # the name
serving:
  env:
  - name: A
    value: "1"
releases:
  dev:
    image: 'old:1'   # pinned by hand
    modelVersion: "8"
  # staging is next
  staging:
    image: old:1
""",
    "block-4-indented-seq": """\
metadata:
    name: x
serving:
    env:
        -   name: A
            value: '1'
releases:
    dev:
        image: old:1
        modelVersion: '8'
        metrics:
            eval_loss: 2.0
    prod:
        image: old:0
""",
    "flow-maps": """\
metadata: {name: x}
serving:
  env: [{name: A, value: "1"}]
releases:
  dev: {image: old:1, modelVersion: "8"}   # flow
  prod: {}
""",
    "flow-releases": """\
metadata:
  name: x
releases: {dev: {image: old:1}, staging: {image: "old:2"}}
""",
    "no-releases-block": """\
metadata:
  name: x
serving:
  env:
    - name: A
      value: "1"
# trailing comment
""",
    "null-release": """\
metadata:
  name: x
releases:
  prod:
    image: p:1
  dev:
""",
}


def _load(text: str) -> dict:
    return YAML(typ="safe", pure=True).load(text)


def _changed_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    removed, added = [], []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0):
        if line.startswith("-") and not line.startswith("---"):
            removed.append(line[1:])
        elif line.startswith("+") and not line.startswith("+++"):
            added.append(line[1:])
    return removed, added


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("env", ["dev", "qa"])
def test_only_the_release_lines_change(style, env):
    old = STYLES[style]
    new = set_release(old, env, NEW, file="spec.yaml")
    expected = _load(old)
    expected.setdefault("releases", {})
    expected["releases"] = expected["releases"] or {}
    expected["releases"][env] = NEW
    assert _load(new) == expected
    removed, added = _changed_lines(old, new)
    assert added, "the release must change"
    # Every removed line belonged to the release (or was the one-line flow mapping holding it).
    release_keys = ("image:", "modelVersion:", "metrics:", "eval_loss:", "releases:", f"{env}:")
    assert all(line.strip().startswith(release_keys) for line in removed), removed
    # Every line not removed is still there, in order, byte for byte (comments and quoting included).
    kept = [line for line in old.splitlines() if line not in removed]
    new_lines = new.splitlines()
    positions = [new_lines.index(line) for line in kept]
    assert positions == sorted(positions)


def test_comments_and_quotes_on_changed_lines_survive():
    new = set_release(STYLES["block-2-non-indented-seq"], "dev", NEW, file="spec.yaml")
    assert f"    image: '{NEW['image']}'   # pinned by hand\n" in new
    assert '    modelVersion: "9"\n' in new
    assert "  # staging is next\n" in new and "  - name: A\n" in new


def test_unchanged_keys_keep_their_lines():
    text = STYLES["block-4-indented-seq"]
    release = {"image": "old:1", "modelVersion": "9"}
    new = set_release(text, "dev", release, file="spec.yaml")
    removed, added = _changed_lines(text, new)
    assert removed == ["        modelVersion: '8'", "        metrics:", "            eval_loss: 2.0"]
    assert added == ["        modelVersion: '9'"]


def test_identical_release_is_byte_identical():
    text = STYLES["block-2-non-indented-seq"]
    release = {"image": "old:1", "modelVersion": "8"}
    assert set_release(text, "dev", release, file="spec.yaml") == text


def test_values_that_need_quotes_are_quoted():
    new = set_release(STYLES["no-releases-block"], "dev", {"image": "x:1", "modelVersion": "8",
                                                            "modelUri": "s3://a/b #c"}, file="spec.yaml")
    assert _load(new)["releases"]["dev"] == {"image": "x:1", "modelVersion": "8", "modelUri": "s3://a/b #c"}
    assert 'modelVersion: "8"' in new


def test_unparseable_spec_is_one_line_error():
    with pytest.raises(ModelopsError, match=r"^spec.yaml: cannot edit"):
        set_release("a: [\n", "dev", NEW, file="spec.yaml")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_release_commit_in_a_four_space_spec_touches_only_release_lines(tmp_path, cli):
    """The defect: the old ruamel dump re-indented `env:` items; the commit must touch release lines only."""
    work = copy_example(tmp_path / "work")
    spec = work / "models/support-chat.yaml"
    text = spec.read_text().replace("  gpus: {type: nvidia-l4, count: 1}\n",
                                    "  gpus: {type: nvidia-l4, count: 1}\n  env:\n      - name: LOG_LEVEL\n"
                                    "        value: 'info'   # quoted on purpose\n")
    spec.write_text(text)
    assert cli("-C", str(work), "render")[0] == 0
    git(work, "init", "--quiet", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "initial")
    code, out, err = cli("-C", str(work), "release", "support-chat", "--env", "dev", "--version", "9",
                         "--model-uri", "s3://models/support-chat/v9/", "--commit")
    assert code == 0, out + err
    diff = git(work, "show", "--format=", "-U0", "HEAD", "--", "models/support-chat.yaml")
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["-    modelUri: s3://models/support-chat/v8/", '-    modelVersion: "8"',
                       "+    modelUri: s3://models/support-chat/v9/", '+    modelVersion: "9"']
    assert git(work, "log", "-1", "--format=%an <%ae>|%cn <%ce>") == \
        "Test User <test@example.com>|modelops <modelops-bot@users.noreply.modelops.dev>"
    assert git(work, "status", "--porcelain") == ""


@pytest.mark.parametrize("text", [
    "metadata:\r\n  name: x\r\nreleases:\r\n  dev:\r\n    image: x:1\r\n",  # CRLF
    "---\nmetadata:\n  name: x\nreleases:\n  dev:\n    image: x:1\n...\n",  # explicit document markers
    "metadata:\n  name: x\nreleases:\n  dev:\n    image: x:1",  # no newline at the end
    "releases:\n  dev:\n    image: x:1\nmetadata:\n  name: x\n",  # releases first
])
@pytest.mark.parametrize("env", ["dev", "qa"])
def test_edge_styles_keep_the_rest(text, env):
    new = set_release(text, env, NEW, file="spec.yaml")
    assert _load(new)["releases"][env] == NEW
    assert _load(new)["metadata"] == {"name": "x"}
    if "\r\n" in text:
        assert "\n" not in new.replace("\r\n", "")
    removed, _ = _changed_lines(text, new)
    assert all(line.strip().startswith(("image:", "releases:")) for line in removed), removed


def test_a_release_that_is_an_alias_is_refused_not_rewritten():
    text = "base: &b\n  image: x:1\nreleases:\n  dev: *b\n"
    with pytest.raises(ModelopsError, match="cannot edit releases.dev in place"):
        set_release(text, "dev", NEW, file="spec.yaml")
    assert _load(set_release(text, "qa", NEW, file="spec.yaml"))["releases"]["qa"] == NEW


# Canary edits (`canaries.<env>`) go through the same text editor as releases.
CANARY = {"weight": 10, "image": "registry.example.com/a/b:9", "modelUri": "s3://m/v9/", "modelVersion": "9"}

CANARY_STYLES = {
    "block-with-comments": """\
metadata:
  name: x
releases:
  staging:
    image: old:1
canaries:
  # rolling out since Monday
  staging:
    weight: 10   # first step
    image: 'old:2'
    modelVersion: "2"
  prod:
    weight: 50
    image: p:2
# after the canaries
""",
    "flow-section": """\
metadata: {name: x}
canaries: {prod: {weight: 50, image: p:2}, staging: {weight: 10, image: "old:2", modelVersion: "2"}}
releases:
    staging:
        image: old:1
""",
    "flow-entries": """\
metadata:
    name: x
canaries:
    staging: {weight: 10, image: 'old:2', modelVersion: '2'}   # flow
    prod: {weight: 50, image: p:2}
""",
}


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("env", ["dev", "qa"])
def test_a_canary_set_advanced_and_removed_leaves_the_spec_byte_identical(style, env):
    from generator.gitops.canary import set_canary

    old = STYLES[style]
    started = set_canary(old, env, CANARY, file="spec.yaml")
    assert _load(started) == {**_load(old), "canaries": {env: CANARY}}
    removed, _ = _changed_lines(old, started)
    assert removed == []  # a new section only adds lines
    advanced = set_canary(started, env, {**CANARY, "weight": 50}, file="spec.yaml")
    removed, added = _changed_lines(started, advanced)
    assert [line.strip() for line in removed + added] == ["weight: 10", "weight: 50"]
    assert set_canary(advanced, env, None, file="spec.yaml") == old


@pytest.mark.parametrize("style", sorted(CANARY_STYLES))
def test_advancing_a_canary_rewrites_only_its_weight(style):
    from generator.gitops.canary import set_canary

    old = CANARY_STYLES[style]
    staging = _load(old)["canaries"]["staging"]
    new = set_canary(old, "staging", {**staging, "weight": 50}, file="spec.yaml")
    assert _load(new) == {**_load(old), "canaries": {**_load(old)["canaries"], "staging": {**staging, "weight": 50}}}
    removed, added = _changed_lines(old, new)
    assert len(removed) == len(added) == 1 and removed[0].replace("10", "50") == added[0]


REMOVED_STAGING = {
    "block-with-comments": (["  staging:", "    weight: 10   # first step", "    image: 'old:2'", '    modelVersion: "2"'],
                            []),
    "flow-section": (['canaries: {prod: {weight: 50, image: p:2}, staging: {weight: 10, image: "old:2", modelVersion: "2"}}'],
                     ["canaries: {prod: {weight: 50, image: p:2}}"]),
    "flow-entries": (["    staging: {weight: 10, image: 'old:2', modelVersion: '2'}   # flow"], []),
}


@pytest.mark.parametrize("style", sorted(CANARY_STYLES))
def test_removing_one_canary_keeps_the_other_byte_for_byte(style):
    from generator.gitops.spec_edit import remove_entry

    old = CANARY_STYLES[style]
    new = remove_entry(old, "canaries", "staging", file="spec.yaml")
    expected = _load(old)
    del expected["canaries"]["staging"]
    assert _load(new) == expected
    assert _changed_lines(old, new) == REMOVED_STAGING[style]
    # The last canary gone, the section goes too (its comments inside with it); the rest is untouched.
    bare = remove_entry(new, "canaries", "prod", file="spec.yaml")
    assert _load(bare) == {k: v for k, v in expected.items() if k != "canaries"}
    removed, added = _changed_lines(new, bare)
    assert added == [] and removed[0].startswith("canaries:")
    assert all(line.strip().startswith(("canaries:", "prod:", "weight: 50", "image: p:2", "# rolling out"))
               for line in removed), removed


def test_removing_an_absent_canary_changes_nothing():
    from generator.gitops.spec_edit import remove_entry

    text = CANARY_STYLES["block-with-comments"]
    assert remove_entry(text, "canaries", "qa", file="spec.yaml") == text
    assert remove_entry(STYLES["flow-maps"], "canaries", "dev", file="spec.yaml") == STYLES["flow-maps"]


def test_completing_a_canary_changes_only_the_release_and_canary_lines():
    from generator.gitops.canary import complete

    old = CANARY_STYLES["block-with-comments"]
    new = complete(old, "staging", _load(old)["canaries"]["staging"], file="spec.yaml")
    data = _load(new)
    assert data["releases"]["staging"] == {"image": "old:2", "modelVersion": "2"}
    assert data["canaries"] == {"prod": {"weight": 50, "image": "p:2"}}
    assert "  # rolling out since Monday\n" in new and "# after the canaries\n" in new
    removed, added = _changed_lines(old, new)
    assert added == ["    image: old:2", '    modelVersion: "2"']
    assert removed == ["    image: old:1", "  staging:", "    weight: 10   # first step", "    image: 'old:2'",
                       '    modelVersion: "2"']


def test_a_canary_that_is_an_alias_is_refused_not_rewritten():
    from generator.gitops.canary import set_canary

    text = "base: &b\n  weight: 10\n  image: x:1\ncanaries:\n  dev: *b\n"
    with pytest.raises(ModelopsError, match="cannot edit canaries.dev in place"):
        set_canary(text, "dev", {**CANARY, "weight": 50}, file="spec.yaml")
