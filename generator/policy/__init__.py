"""Policy engines (regorus, OPA in-process, OPA server), Rego v0 -> v1 syntax upgrade, METADATA, tests.

Submodules are imported by name (`generator.policy.engine`, ...); this package only holds
the error type they share, so importing it stays cheap.
"""
from __future__ import annotations

from generator.errors import ModelopsError

__all__ = ["PolicyError"]


class PolicyError(ModelopsError):
    """Policies failed to load or evaluate; results are never partial (the check fails closed)."""
