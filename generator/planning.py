"""Bridge between specs and the capacity planner: the plan policies see as input.context.plan."""
from __future__ import annotations

from typing import Any

from generator.spec.model import ResolvedModel

__all__ = ["plan_for_policy"]


def plan_for_policy(resolved: ResolvedModel) -> dict[str, Any] | None:
    """The training plan for this model in this environment, or None when not applicable."""
    try:
        from generator.capacity import training_plan
    except ImportError:
        return None
    plan = training_plan(resolved)
    return plan.as_policy_input() if plan is not None else None
