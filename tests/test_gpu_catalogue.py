"""Issue 15, item 6: environments declare GPU types; the built-in catalogue is only the default."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from generator.gpus import GPU_TYPES, gpu_catalogue
from generator.spec.load import load_repository
from generator.spec.validate import did_you_mean

B200 = """\
gpuTypes:
  nvidia-b200:
    product: NVIDIA-B200
    memoryGiB: 180
    precisions: [fp32, bf16, fp16, fp8]
    tflops: {bf16: 2250}
"""


def _declare_b200(repo: Path, env: str, *, node_selector: bool = True) -> None:
    path = repo / f"environments/{env}/environment.yaml"
    text = path.read_text().replace("  allowed: [nvidia-h100-80gb,", "  allowed: [nvidia-b200, nvidia-h100-80gb,")
    if node_selector:
        text = text.replace("  quota:", "  nodeSelectors:\n    nvidia-b200: {cloud.example.com/accelerator: b200}\n"
                            "  quota:", 1)
    path.write_text(text + B200)


def _use_b200_in_prod(repo: Path) -> None:
    spec = repo / "models/support-chat.yaml"
    text = spec.read_text()
    assert "\n  prod:\n    serving:\n" in text  # the prod override under `environments:`
    spec.write_text(text.replace("\n  prod:\n    serving:\n",
                                 "\n  prod:\n    training: {gpus: {type: nvidia-b200}}\n    serving:\n", 1))


def test_environment_declares_a_new_gpu_type(example_repo: Path, cli) -> None:
    _declare_b200(example_repo, "prod")
    _use_b200_in_prod(example_repo)
    code, _, err = cli("-q", "-C", str(example_repo), "render")
    assert (code, err) == (0, "")
    rendered = (example_repo / "environments/prod/support-chat/training/workflowtemplate.yaml").read_text()
    assert "cloud.example.com/accelerator: b200" in rendered
    code, out, _ = cli("-C", str(example_repo), "plan", "support-chat", "--env", "prod", "-f", "json")
    [plan] = json.loads(out)
    assert (plan["gpu_type"], plan["gpu_memory_gib"]) == ("nvidia-b200", 180.0)  # the declared memory


def test_product_label_is_the_default_node_selector(example_repo: Path) -> None:
    _declare_b200(example_repo, "prod", node_selector=False)
    _use_b200_in_prod(example_repo)
    repo = load_repository(example_repo)
    catalogue = repo.environments["prod"].gpu_catalogue()
    assert catalogue["nvidia-b200"].product == "NVIDIA-B200" and catalogue["nvidia-b200"].tflops_bf16 == 2250
    assert "fp8" in catalogue["nvidia-b200"].precisions
    assert repo.environments["prod"].node_selector("nvidia-b200", "NVIDIA-B200") == {
        "nvidia.com/gpu.product": "NVIDIA-B200"}


def test_type_unknown_in_one_environment_is_one_located_line(example_repo: Path, cli) -> None:
    _declare_b200(example_repo, "prod")
    spec = example_repo / "models/support-chat.yaml"
    spec.write_text(spec.read_text().replace("type: nvidia-h100-80gb, perNode: 8", "type: nvidia-b200, perNode: 8"))
    code, _, err = cli("-C", str(example_repo), "render")
    assert code == 2 and "Traceback" not in err
    assert "models/support-chat.yaml:13:" in err and "not known in environment 'dev'" in err
    assert "gpuTypes" in err


def test_environment_may_not_allow_an_undeclared_type(example_repo: Path, cli) -> None:
    path = example_repo / "environments/dev/environment.yaml"
    path.write_text(path.read_text().replace("allowed: [", "allowed: [nvidia-b200, ", 1))
    code, _, err = cli("-C", str(example_repo), "check")
    assert code == 2 and "environments/dev/environment.yaml:" in err and "unknown GPU type 'nvidia-b200'" in err


def test_suggestions_rank_by_similarity() -> None:
    assert did_you_mean("nvidia-h100", sorted(GPU_TYPES)) == " (did you mean 'nvidia-h100-80gb'?)"
    assert did_you_mean("nvidia-a100", sorted(GPU_TYPES)) in (" (did you mean 'nvidia-a100-40gb'?)",
                                                            " (did you mean 'nvidia-a100-80gb'?)")
    assert did_you_mean("nvidia-l4", ["nvidia-l4", "nvidia-l40s"]) == " (did you mean 'nvidia-l4'?)"
    assert did_you_mean("completely-else", sorted(GPU_TYPES)) == ""


def test_declared_type_overrides_a_builtin() -> None:
    env = yaml.safe_load("gpuTypes: {nvidia-l4: {product: NVIDIA-L4-CUSTOM, memoryGiB: 23}}")
    catalogue = gpu_catalogue(env)
    assert catalogue["nvidia-l4"].product == "NVIDIA-L4-CUSTOM" and catalogue["nvidia-l4"].memory_gib == 23
    assert gpu_catalogue(None) == GPU_TYPES


@pytest.mark.parametrize("entry", ["{product: X}", "{product: X, memoryGiB: 0}",
                                   "{product: X, memoryGiB: 8, precisions: [int3]}", "{memoryGiB: 8}"])
def test_bad_declarations_are_located(example_repo: Path, cli, entry: str) -> None:
    path = example_repo / "environments/dev/environment.yaml"
    path.write_text(path.read_text() + f"gpuTypes:\n  my-gpu: {entry}\n")
    code, _, err = cli("-C", str(example_repo), "render")
    assert code == 2 and "environments/dev/environment.yaml:" in err and "gpuTypes" in err, err
