"""Capacity planner: known figures from the ZeRO paper and GPT-2."""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
import sys
import textwrap

import pytest

from generator.training.planner import (
    GPU_MEMORY_GIB,
    bytes_per_param,
    plan_capacity,
    recommend,
)
from tests.conftest import ROOT

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


def test_instantiated_torch_model_matches_the_closed_form() -> None:
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed")
    # In a fresh interpreter: the torch import (seconds) stays out of the test process.
    code = textwrap.dedent("""
        import dataclasses, json, torch
        from generator.training.config import GPTConfig, PRESETS, gpt_parameter_count
        from generator.training.model import GPT, count_parameters
        configs = [*PRESETS.values(), dataclasses.replace(PRESETS["gpt-small"], vocab_size=50257),
                   GPTConfig(vocab_size=1000, n_layer=3, n_head=4, n_embd=256)]
        small = GPT(PRESETS["gpt-tiny"])  # really allocated, weights tied as trained
        pairs = [[count_parameters(c), gpt_parameter_count(c)] for c in configs]
        pairs.append([sum(p.numel() for p in small.parameters()), gpt_parameter_count(PRESETS["gpt-tiny"])])
        print(json.dumps(pairs))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    pairs = json.loads(out)
    assert all(counted == closed for counted, closed in pairs) and [124_439_808] * 2 in pairs


def test_plan_imports_no_torch_and_prints_no_warnings() -> None:
    """`modelops plan` on presets is arithmetic: no torch import (seconds), no warnings."""
    code = ("import sys, warnings\n"
            "warnings.simplefilter('error')\n"
            "from generator.cli import main\n"
            "code = main(['plan', 'support-chat', '--env', 'prod'])\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n"
            "sys.exit(code)")
    proc = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=False,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "" and "gpt-1b" in proc.stdout


def test_parameters_from_config_does_not_load_torch() -> None:
    code = ("import sys\n"
            "from generator.training.planner import parameters_from_config\n"
            "assert parameters_from_config('gpt-small') == 124_475_904 and 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_activation_formula_matches_what_torch_saves_for_backward() -> None:
    """The planner's activation bytes against the tensors autograd really keeps (CPU, fp32):
    never below, at most 15% above (it rounds up; see generator/training/activations.py)."""
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed")
    code = textwrap.dedent("""
        import json, torch
        from generator.training.activations import activation_bytes
        from generator.training.config import GPTConfig
        from generator.training.model import GPT
        def saved(cfg, batch, seq, ckpt):
            torch.manual_seed(0)
            model = GPT(cfg, checkpoint_activations=ckpt)
            params = {p.untyped_storage().data_ptr() for p in model.parameters()}
            seen = {}
            def pack(t):
                if t.untyped_storage().data_ptr() not in params:
                    seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
                return t
            idx = torch.randint(0, cfg.vocab_size, (batch, seq))
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                model(idx, idx)
            return sum(seen.values())
        cases = [(GPTConfig(vocab_size=256, block_size=128, n_layer=2, n_head=2, n_embd=64), 4, 64),
                 (GPTConfig(vocab_size=512, block_size=256, n_layer=4, n_head=4, n_embd=128), 2, 128),
                 (GPTConfig(vocab_size=1024, block_size=64, n_layer=3, n_head=4, n_embd=256), 8, 32)]
        out = [[saved(c, b, s, False), activation_bytes(c, batch=b, seq_len=s, precision="fp32")] for c, b, s in cases]
        c, b, s = cases[1]
        # with checkpointing: each layer keeps its input; one layer is rebuilt at a time in backward
        out.append([saved(c, b, s, True) + 16 * s * b * c.n_embd * 4,
                    activation_bytes(c, batch=b, seq_len=s, precision="fp32", checkpointing=True)])
        print(json.dumps(out))
    """)
    pairs = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                      cwd=ROOT).stdout)
    for measured, formula in pairs:
        assert measured <= formula <= 1.15 * measured, pairs


def test_activations_alone_exceeding_the_card_are_refused() -> None:
    from generator.training.activations import activation_bytes
    from generator.training.config import PRESETS

    act = activation_bytes(PRESETS["gpt-1b"], batch=32, seq_len=2048, precision="bf16") / 2**30
    plan = plan_capacity(1_300_000_000, "fsdp", gpu_memory_gib=79.6, gpus=64, activation_gib=act)
    assert act > 79.6 and not plan.fits and "activations alone" in plan.reason
    checkpointed = activation_bytes(PRESETS["gpt-1b"], batch=32, seq_len=2048, checkpointing=True) / 2**30
    assert checkpointed < act / 3  # the logits stay; the layers shrink 17x
    assert plan_capacity(1_300_000_000, "fsdp", gpu_memory_gib=79.6, gpus=64, activation_gib=checkpointed).fits


def test_recommendations_are_whole_nodes_and_cards_without_bf16_are_priced_in_fp32() -> None:
    from generator.training.activations import activation_bytes
    from generator.training.config import PRESETS

    assert recommend(SEVEN_B, "fsdp", {"nvidia-h100-80gb": 79.6}, max_gpus=64, per_node=8) == ("nvidia-h100-80gb", 8)
    small = PRESETS["gpt-small"]
    gib = {p: activation_bytes(small, batch=16, seq_len=1024, precision=p) / 2**30 for p in ("bf16", "fp32")}
    assert gib["fp32"] > 1.3 * gib["bf16"]  # layers double; the fp32 logits copy exists either way
    allowed = {"nvidia-t4": 14.6}
    assert recommend(124_000_000, "ddp", allowed, 8, activations={"nvidia-t4": gib["bf16"]}) == ("nvidia-t4", 1)
    assert recommend(124_000_000, "ddp", allowed, 8, activations={"nvidia-t4": gib["fp32"]},
                     precisions={"nvidia-t4": "fp32"}) is None
