"""Capacity planner: known figures from the ZeRO paper and GPT-2."""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
import sys
import textwrap

import pytest

from generator.training.planner import GPU_MEMORY_GIB, bytes_per_param, plan_capacity, recommend

SEVEN_B = 7_000_000_000


def test_mixed_precision_adamw_is_16_bytes_per_param() -> None:
    bpp = bytes_per_param("bf16", "adamw")
    assert (bpp.weights, bpp.gradients, bpp.master_weights, bpp.optimizer, bpp.total) == (2, 2, 4, 8, 16)
    assert bytes_per_param("fp32", "adamw").total == 16
    assert bytes_per_param("bf16", "sgd").total == 12


def test_7b_ddp_needs_112_gb_per_gpu_and_does_not_fit_a_24_gb_card() -> None:
    plan = plan_capacity(SEVEN_B, "ddp", gpu_memory_gib=24, gpus=1)
    assert plan.model_state_gib * 2**30 == pytest.approx(112e9)
    assert plan.ddp_memory_per_gpu_gib == pytest.approx(112e9 / 2**30 + 0.25 * 24)
    assert not plan.fits and "does not fit" in plan.reason
    # More GPUs do not help DDP: every GPU holds the full state.
    assert not plan_capacity(SEVEN_B, "ddp", gpu_memory_gib=80, gpus=8).fits


def test_7b_fsdp_over_8_x_80_gib_fits() -> None:
    plan = plan_capacity(SEVEN_B, "fsdp", gpu_memory_gib=80, gpus=8)
    assert plan.fits, plan.reason
    assert plan.fsdp_memory_per_gpu_gib == pytest.approx(112e9 / 8 / 2**30 + 20)
    assert plan.memory_per_gpu_gib == plan.fsdp_memory_per_gpu_gib


def test_ddp_reason_points_to_fsdp_when_sharding_would_fit() -> None:
    plan = plan_capacity(SEVEN_B, "ddp", gpu_memory_gib=80, gpus=8)
    assert "fsdp over 8 GPUs would need" in plan.reason


def test_plan_is_frozen_and_json_ready() -> None:
    plan = plan_capacity(124_000_000, "ddp", gpu_memory_gib=24, gpus=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.fits = False  # type: ignore[misc]
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["fits"] is True and data["bytes_per_param"]["total"] == 16


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"strategy": "zero"}, "unknown strategy"),
    ({"gpus": 0}, "must be positive"),
    ({"precision": "int4"}, "unknown precision"),
    ({"optimizer": "rmsprop"}, "unknown optimizer"),
])
def test_bad_inputs_raise(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"params": SEVEN_B, "strategy": "fsdp", "gpu_memory_gib": 80, "gpus": 8, **kwargs}
    with pytest.raises(ValueError, match=message):
        plan_capacity(**args)  # type: ignore[arg-type]


def test_recommend_smallest_fitting() -> None:
    allowed = {"nvidia-l4": GPU_MEMORY_GIB["nvidia-l4"], "nvidia-h100-80gb": GPU_MEMORY_GIB["nvidia-h100-80gb"]}
    assert recommend(124_000_000, "ddp", allowed, max_gpus=8) == ("nvidia-l4", 1)
    assert recommend(SEVEN_B, "fsdp", allowed, max_gpus=16) == ("nvidia-h100-80gb", 2)
    assert recommend(SEVEN_B, "fsdp", {"nvidia-l4": 22.0}, max_gpus=16) == ("nvidia-l4", 7)
    assert recommend(SEVEN_B, "ddp", allowed, max_gpus=16) is None


def test_planner_imports_no_torch() -> None:
    code = "import sys, generator.training.planner; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_gpt2_124m_parameter_count() -> None:
    from generator.training.config import PRESETS, gpt_parameter_count

    # GPT-2 small as released (vocab 50257, tied lm head, position embeddings counted).
    gpt2 = dataclasses.replace(PRESETS["gpt-small"], vocab_size=50257)
    assert gpt_parameter_count(gpt2) == 124_439_808
    # The gpt-small preset pads the vocabulary to 50304: 47 more rows of 768.
    assert gpt_parameter_count(PRESETS["gpt-small"]) == 124_439_808 + 47 * 768


def test_meta_device_count_matches_the_closed_form() -> None:
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed")
    # In a fresh interpreter: torch loaded after regopy (imported by other test modules) aborts.
    code = textwrap.dedent("""
        import dataclasses, json
        from generator.training.config import PRESETS, gpt_parameter_count
        from generator.training.planner import parameters_from_config
        configs = [*PRESETS.values(), dataclasses.replace(PRESETS["gpt-small"], vocab_size=50257)]
        print(json.dumps([[parameters_from_config(c), gpt_parameter_count(c)] for c in configs]
                         + [[parameters_from_config("gpt-small,n_layer=3,n_head=4,n_embd=256,vocab_size=1000"),
                             gpt_parameter_count(GPTConfig(vocab_size=1000, n_layer=3, n_head=4, n_embd=256))]]))
        import sys; assert "torch" in sys.modules
    """).replace("from generator.training.config import PRESETS", "from generator.training.config import GPTConfig, PRESETS")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    pairs = json.loads(out)
    assert all(meta == closed for meta, closed in pairs) and [124_439_808] * 2 in pairs


def test_parameters_from_config_does_not_load_torch_after_regopy() -> None:
    code = ("import sys, regopy\n"
            "from generator.training.planner import parameters_from_config\n"
            "assert parameters_from_config('gpt-small') == 124_475_904 and 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
