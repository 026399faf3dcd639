"""`check --shard K/N` + `report merge`: over every K of N, the merged report equals the
unsharded one in every format, with the same exit code, on the example repository and on a
generated one; an incomplete set of shards is refused."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.check.shard import assign_shards, model_weight, parse_shard
from generator.errors import ModelopsError
from tests.conftest import ROOT, copy_example

FORMATS = ("json", "sarif", "junit", "markdown", "github", "text")
SHAPES = ("support-chat", "churn-scorer", "shelf-vision")


def _with_findings(repo):
    """The example with a mutable image tag in every environment of churn-scorer (deny findings)."""
    spec = repo / "models/churn-scorer.yaml"
    text = spec.read_text()
    spec.write_text(text.replace("churn-scorer@sha256:3d7e3a3ee8d4e6bdc3a4c2fba3b577c5d2cab3ebf6b4d9c8a7f6e5d4c3b2a190",
                                 "churn-scorer:latest"))
    return repo


def _generated(repo, count):
    """`count` models cycling through the example's three shapes (as bench/check_bench.py does)."""
    for env_file in (repo / "environments").glob("*/environment.yaml"):
        env_file.write_text(env_file.read_text().replace("quota: 64", "quota: 100000")
                            .replace("quota: 96", "quota: 100000").replace("quota: 128", "quota: 100000"))
    templates = {name: (ROOT / "models" / f"{name}.yaml").read_text() for name in SHAPES}
    for path in (repo / "models").glob("*.yaml"):
        path.unlink()
    for index in range(count):
        shape = SHAPES[index % len(SHAPES)]
        name = f"m{index:03d}-{shape}"
        (repo / "models" / f"{name}.yaml").write_text(templates[shape].replace(f"name: {shape}", f"name: {name}"))
    return repo


def _sharded_equals_unsharded(cli, repo, count, tmp_path):
    base = ("-C", str(repo), "check", "--no-cache")
    # the unsharded run fills the cache once; its other formats are then read from the cache
    expected = {fmt: cli("-C", str(repo), "check", "--format", fmt) for fmt in FORMATS}
    shards = []
    for index in range(1, count + 1):
        out = tmp_path / f"shard-{index}.json"
        code, _, err = cli(*base, "--shard", f"{index}/{count}", "--output", str(out))
        assert code in (0, 1), err
        shards.append(str(out))
    covered = [pair["model"] for path in shards for pair in json.loads(Path(path).read_text())["checked"]]
    assert len(covered) == len(set(covered)) * 3  # every model in exactly one shard, with its 3 environments
    for fmt in FORMATS:
        code, out, err = cli("report", "merge", *reversed(shards), "--format", fmt)
        assert (code, out) == expected[fmt][:2], (fmt, err)
    return expected["json"][0]


def test_example_repository_every_shard_of_3(tmp_path, cli):
    repo = _with_findings(copy_example(tmp_path / "repo"))
    assert _sharded_equals_unsharded(cli, repo, 3, tmp_path) == 1


def test_generated_repository_every_shard_of_4(tmp_path, cli):
    repo = _generated(copy_example(tmp_path / "repo"), 10)
    (repo / "models/m004-churn-scorer.yaml").write_text(
        (repo / "models/m004-churn-scorer.yaml").read_text().replace("@sha256:3d7e3a3ee8d4e6bdc3a4c2fba3b577c5d2cab3eb"
                                                                     "f6b4d9c8a7f6e5d4c3b2a190", ":latest"))
    assert _sharded_equals_unsharded(cli, repo, 4, tmp_path) == 1


def test_missing_repeated_or_mixed_shards_are_refused(tmp_path, cli):
    repo = copy_example(tmp_path / "repo")
    for index in (1, 2):
        cli("-C", str(repo), "check", "--shard", f"{index}/2", "--output", str(tmp_path / f"s{index}.json"))
    code, _, err = cli("report", "merge", str(tmp_path / "s1.json"))
    assert code == 2 and "missing shard(s) 2 of 2" in err
    code, _, err = cli("report", "merge", str(tmp_path / "s1.json"), str(tmp_path / "s1.json"), str(tmp_path / "s2.json"))
    assert code == 2 and "already read" in err
    (tmp_path / "plain.json").write_text(cli("-C", str(repo), "check", "--format", "json")[1])
    code, _, err = cli("report", "merge", str(tmp_path / "plain.json"))
    assert code == 2 and "not a shard report" in err


def test_shards_are_balanced_and_stable():
    weights = {f"m{i:03d}": w for i, w in enumerate([27, 27, 21, 21, 21, 9, 9, 9, 27, 21, 9, 9])}
    shards = assign_shards(weights, 4)
    loads = [sum(weights[n] for n in shard) for shard in shards]
    assert max(loads) - min(loads) <= 9 and sorted(n for s in shards for n in s) == sorted(weights)
    assert assign_shards(dict(reversed(list(weights.items()))), 4) == shards
    assert model_weight({"serving": {"image": "x"}, "training": {"gpus": {"nodes": 2}, "schedule": "@daily"}}, 3) == 3 * 11


@pytest.mark.parametrize("text", ["0/4", "5/4", "x", "2/"])
def test_bad_shard_argument(text):
    with pytest.raises(ModelopsError, match="expected K/N"):
        parse_shard(text)


def test_a_forged_or_foreign_shard_number_is_refused_without_a_traceback(tmp_path, cli):
    """`count: "x"`, `checked: 5` or `tool: 5` ended `report merge` with a traceback (exit 3); a
    finding's `line: "x"` reached the report writers; shard 9 of 2 was merged as if it
    belonged (its pairs counted twice); N = 10**20 listed every missing index."""
    repo = copy_example(tmp_path / "repo")
    for index in (1, 2):
        cli("-C", str(repo), "check", "--shard", f"{index}/2", "--output", str(tmp_path / f"s{index}.json"))
    second = str(tmp_path / "s2.json")
    for name, change, reason in (
            ("x", {"shard": {"index": 1, "count": "x"}}, "malformed shard report at shard.count: 'x' is not of type"),
            ("nine", {"shard": {"index": 9, "count": 2}}, "shard 9 of 2 is not K/N with 1 <= K <= N"),
            ("flag", {"shard": {"index": True, "count": 2}}, "malformed shard report at shard.index: True is not of"),
            ("checked", {"checked": 5}, "malformed shard report at checked: 5 is not of type 'array'"),
            ("tool", {"tool": 5}, "malformed shard report at tool: 5 is not of type 'object'"),
            ("line", {"findings": [{"rule": "R", "level": "deny", "message": "m", "line": "x"}]},
             "malformed shard report at findings[0].line: 'x' is not of type 'integer'")):
        document = json.loads((tmp_path / "s1.json").read_text())
        document.update(change)
        (tmp_path / f"{name}.json").write_text(json.dumps(document))
        code, out, err = cli("report", "merge", str(tmp_path / "s1.json"), second, str(tmp_path / f"{name}.json"))
        assert (code, out) == (2, "") and err.startswith(f"modelops: error: {tmp_path / name}.json: {reason}"), err
        assert len(err.strip().splitlines()) == 1
    document = json.loads((tmp_path / "s1.json").read_text())
    document["shard"] = {"index": 1, "count": 10**20}
    (tmp_path / "huge.json").write_text(json.dumps(document))
    code, _, err = cli("report", "merge", str(tmp_path / "huge.json"))
    assert code == 2 and f"missing shard(s) 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and {10**20 - 11} more of {10**20}" in err


def test_more_shards_than_models_leaves_the_rest_empty_at_no_cost():
    """A shard past the models checks nothing; N is not a loop bound (1/10**20 hung)."""
    weights = {"a": 3, "b": 2, "c": 1}
    assert assign_shards(weights, 10**20) == [["a"], ["b"], ["c"]]
    assert assign_shards(weights, 5)[:3] == [["a"], ["b"], ["c"]]
    assert assign_shards({}, 10**20) == [[]]
