"""What OPA 1.x says when it rejects Rego v0 syntax (it reads v1 only): such a module is
v0, not broken, and gets the v0 -> v1 syntax upgrade. Shared by both OPA engines."""
from __future__ import annotations

__all__ = ["V0_HINTS"]

V0_HINTS = ("keyword is required", "rego.v1", "unexpected { token")
