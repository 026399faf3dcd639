"""Activation memory of the reference GPT per GPU: what training keeps for the backward pass.

Per transformer layer, for `s` tokens per sequence, `b` sequences per GPU (the trainer's
--batch-size) and hidden size `h`, the tensors autograd saves are (in elements):

| saved for backward | elements |
| --- | --- |
| LayerNorm 1 input, attention input (LN output) | 2 s b h |
| q, k, v (inputs of the fused attention) and its output | 4 s b h |
| attention output projection input | s b h |
| LayerNorm 2 input, MLP input (LN output) | 2 s b h |
| GELU input (4h) and MLP down-projection input (4h) | 8 s b h |
| total | 17 s b h |

which is Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer
Models", section 4.1) without dropout: their 34 s b h bytes at 16-bit (2 bytes an
element), minus the dropout masks, here counted as 17 elements times the element size.
(torch's fused attention on CPU measures 16.1: one of them shares a buffer; the planner
keeps the conservative 17.)
The attention score term (5 a s^2 b) is absent because the model uses fused
scaled-dot-product attention, which never stores the s x s matrix.

Around the layers: the embedding output (s b h), the final LayerNorm input and output
(2 s b h) and the logits, kept in the compute precision and, under mixed precision, once
more in fp32 for the cross-entropy (s b V (e + 4) bytes; s b V 4 in fp32).

With activation checkpointing each layer keeps only its input (s b h), and one layer's
full set is rebuilt at a time during backward (17 s b h).

Element size `e`: 2 bytes for bf16/fp16 mixed precision, 4 for fp32. GPUs without bf16
run the reference trainer in fp32 (its `auto` precision), so they are priced at 4.
tests/test_planner.py checks the formula against the bytes torch saves for backward.
No torch here.
"""
from __future__ import annotations

from .config import GPTConfig

__all__ = ["PER_LAYER_ELEMENTS", "activation_bytes", "element_size"]

PER_LAYER_ELEMENTS = 17


def element_size(precision: str) -> int:
    return 4 if precision == "fp32" else 2


def activation_bytes(config: GPTConfig, *, batch: int, seq_len: int, precision: str = "bf16",
                     checkpointing: bool = False) -> int:
    """Bytes of activations one GPU holds at the peak of a training step."""
    e, sbh = element_size(precision), seq_len * batch * config.n_embd
    per_layer = (1 if checkpointing else PER_LAYER_ELEMENTS) * sbh * e
    recompute = PER_LAYER_ELEMENTS * sbh * e if checkpointing else 0
    logits = seq_len * batch * config.vocab_size * (e + 4 if e < 4 else 4)
    around = 3 * sbh * e + logits
    return config.n_layer * per_layer + recompute + around
