"""`modelops new model`: valid, commented specs fitted to the repository's environments."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from generator.commands.new import PLACEHOLDER_DIGEST, ModelRequest, read_environments, spec_text
from generator.spec.load import load_repository
from generator.yamlio import load_all_plain
from tests.conftest import ROOT, snapshot

MODELINE = "# yaml-language-server: $schema=../schemas/model.schema.json"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The example repository's specs, environments and blueprints."""
    for name in ("models", "environments", "blueprints"):
        shutil.copytree(ROOT / name, tmp_path / "repo" / name)
    return tmp_path / "repo"


def _spec(repo: Path, name: str) -> dict:
    return load_all_plain((repo / "models" / f"{name}.yaml").read_text(), f"models/{name}.yaml")[0]


@pytest.mark.parametrize("runtime", ["vllm", "triton", "custom"])
@pytest.mark.parametrize("gpus", [None, "nvidia-a100-80gb:2"])
def test_each_runtime_renders(repo, cli, runtime, gpus):
    name = f"new-{runtime}"
    argv = ["-C", str(repo), "new", "model", name, "--runtime", runtime] + (["--gpus", gpus] if gpus else [])
    code, out, new_err = cli(*argv)
    assert code == 0, new_err
    assert f"wrote models/{name}.yaml" in out
    text = (repo / "models" / f"{name}.yaml").read_text()
    assert text.splitlines()[0] == MODELINE
    assert "TODO" in text and text.count("\n  # ") >= 8  # commented for a person to fill in

    code, out, err = cli("-C", str(repo), "render")
    assert code == 0, err
    assert f"environments/prod/{name}/serving/values.yaml" in out
    code, out, err = cli("-C", str(repo), "render", "--check")
    assert code == 0, out + err

    serving = load_repository(repo).model(name).data["serving"]
    assert serving["runtime"] == runtime
    assert serving["image"].startswith("registry.example.com/") and serving["image"].endswith(PLACEHOLDER_DIGEST)
    if runtime == "custom":
        assert serving["port"] == 8080 and serving["healthPath"] == "/healthz"
    if gpus:
        assert serving["gpus"] == {"type": "nvidia-a100-80gb", "count": 2}
        # prod allows only h100 and l4: the closest type with enough memory is swapped in there.
        assert _spec(repo, name)["environments"] == {"prod": {"serving": {"gpus": {"type": "nvidia-h100-80gb"}}}}
    elif runtime == "vllm":
        assert serving["gpus"] == {"type": "nvidia-l4", "count": 1}  # allowed in every environment
        assert "using nvidia-l4:1" in new_err
    else:
        assert "gpus" not in serving


def test_gpu_type_is_swapped_only_where_not_allowed(repo, cli):
    code, _, err = cli("-C", str(repo), "new", "model", "edge", "--runtime", "triton", "--gpus", "nvidia-t4:1")
    assert code == 0, err
    assert _spec(repo, "edge")["environments"] == {
        "prod": {"serving": {"gpus": {"type": "nvidia-l4"}}},
        "staging": {"serving": {"gpus": {"type": "nvidia-l4"}}},
    }
    assert "environment 'prod' does not allow nvidia-t4; the spec uses nvidia-l4 there" in err


def test_training_section(repo, cli):
    code, _, err = cli("-C", str(repo), "new", "model", "trained", "--runtime", "custom", "--training",
                       "--team", "growth", "--owner", "growth@example.com", "--cost-center", "cc-2210")
    assert code == 0, err
    spec = _spec(repo, "trained")
    assert spec["metadata"] == {"name": "trained", "team": "growth", "costCenter": "cc-2210",
                                "owner": "growth@example.com", "description": spec["metadata"]["description"]}
    assert spec["training"]["gpus"] == {"type": "nvidia-l4", "perNode": 1, "nodes": 1}
    assert spec["training"]["image"].startswith("registry.example.com/growth/trained-trainer@")
    assert "gpus" not in spec["serving"]
    code, out, err = cli("-C", str(repo), "render", "--model", "trained")
    assert code == 0, err
    assert "environments/prod/trained/training/workflowtemplate.yaml" in out


def test_images_use_a_registry_every_environment_trusts(repo, cli):
    for env in ("dev", "staging", "prod"):
        path = repo / "environments" / env / "environment.yaml"
        registries = "  - mirror.acme.test/ml/\n" + ("  - registry.example.com/\n" if env == "dev" else "")
        path.write_text(path.read_text().replace("  - registry.example.com/\n", registries))
    code, _, err = cli("-C", str(repo), "new", "model", "mirrored", "--runtime", "vllm")
    assert code == 0, err
    assert _spec(repo, "mirrored")["serving"]["image"].startswith("mirror.acme.test/ml/vllm/vllm-openai@sha256:")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("generator.commands.check") is None,
                    reason="`modelops check` is not registered yet")
def test_new_specs_pass_check(repo, cli):
    for argv in (["a-llm", "--runtime", "vllm"], ["b-vision", "--runtime", "triton", "--gpus", "nvidia-t4:1"],
                 ["c-scorer", "--runtime", "custom", "--training"]):
        code, _, err = cli("-C", str(repo), "new", "model", *argv)
        assert code == 0, err
    code, out, _ = cli("-C", str(repo), "check", "--model", "a-llm", "-f", "json")
    assert code == 1 and {f["rule"] for f in json.loads(out)["findings"]} == {"MO-PLACEHOLDER-001"}
    for spec in repo.glob("models/[abc]-*.yaml"):  # the TODO a user fills in: the real image digest
        spec.write_text(spec.read_text().replace("@sha256:" + "0" * 64, "@sha256:" + "ab" * 32))
    code, out, err = cli("-C", str(repo), "check", "--model", "a-llm", "--model", "b-vision", "--model", "c-scorer",
                         "--workers", "1")  # one process: three models are not worth spawning workers
    assert code == 0, out + err


@pytest.mark.parametrize("name", ["9lives", "Upper", "under_score", "-dash", "dash-", "a" * 54, "dots.here", ""])
def test_bad_names_are_one_line_errors(repo, cli, name):
    before = snapshot(repo)
    code, _out, err = cli("-C", str(repo), "new", "model", "--runtime", "custom", "--", name)
    assert code == 2
    assert err.count("\n") == 1 and "model name" in err and "is not valid" in err
    assert snapshot(repo) == before


@pytest.mark.parametrize(("gpus", "message"), [
    ("nvidia-l4", "expected TYPE:N"),
    (":1", "expected TYPE:N"),
    ("nvidia-l4:", "expected TYPE:N"),
    ("nvidia-l5:1", "unknown GPU type 'nvidia-l5' (did you mean 'nvidia-l4'?)"),
    ("nvidia-l4:0", "must be a positive integer, got '0'"),
    ("nvidia-l4:-1", "must be a positive integer, got '-1'"),
    ("nvidia-l4:two", "must be a positive integer, got 'two'"),
])
def test_bad_gpus_are_one_line_errors(repo, cli, gpus, message):
    code, _, err = cli("-C", str(repo), "new", "model", "ok", "--runtime", "vllm", "--gpus", gpus)
    assert code == 2
    assert err.count("\n") == 1 and message in err, err
    assert not (repo / "models" / "ok.yaml").exists()


@pytest.mark.parametrize(("flag", "value"), [
    ("--team", "Growth Team"),
    ("--owner", 'x"\nimage: evil:latest'),
    ("--owner", "not-an-email"),
    ("--cost-center", "cc 1\nkind: Secret"),
    ("--cost-center", "cc-2210-"),  # a label value ends with a letter or digit
])
def test_bad_metadata_is_refused(repo, cli, flag, value):
    code, _, err = cli("-C", str(repo), "new", "model", "ok", "--runtime", "custom", flag, value)
    assert code == 2 and f"{flag} " in err and "is not valid" in err
    assert not (repo / "models" / "ok.yaml").exists()


def test_existing_spec_needs_force(repo, cli):
    original = (repo / "models" / "churn-scorer.yaml").read_bytes()
    code, _, err = cli("-C", str(repo), "new", "model", "churn-scorer", "--runtime", "custom")
    assert code == 2 and "already exists; use --force" in err
    assert (repo / "models" / "churn-scorer.yaml").read_bytes() == original
    code, _, err = cli("-C", str(repo), "new", "model", "churn-scorer", "--runtime", "custom", "--force")
    assert code == 0, err
    assert (repo / "models" / "churn-scorer.yaml").read_text().startswith(MODELINE)


def test_quiet_prints_nothing_on_stdout(repo, cli):
    code, out, _ = cli("-C", str(repo), "-q", "new", "model", "hushed", "--runtime", "custom")
    assert code == 0 and out == ""


def test_spec_text_without_environments_is_still_valid():
    spec = spec_text(ModelRequest(name="lonely", runtime="vllm"), {})
    data = load_all_plain(spec.text, "lonely.yaml")[0]
    assert data["serving"]["gpus"] == {"type": "nvidia-l4", "count": 1}
    assert "environments" not in data


def test_missing_repository_root_is_an_error(tmp_path, cli):
    code, _, err = cli("-C", str(tmp_path / "typo"), "new", "model", "x", "--runtime", "custom")
    assert code == 2 and "is not a directory" in err
    assert not (tmp_path / "typo").exists()


def test_output_is_deterministic(repo):
    request = ModelRequest(name="twice", runtime="triton", gpus=("nvidia-t4", 1), training=True)
    environments = read_environments(repo)
    assert spec_text(request, environments) == spec_text(request, environments)
