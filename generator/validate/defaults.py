"""Structural-schema defaults, applied as the API server applies them before validation.

The API server fills every absent field whose schema has a `default` (recursively, inside
objects and array items that are present) before it runs the OpenAPI checks and the
`x-kubernetes-validations` rules. A CEL rule that reads such a field (`self.kind`, an
HTTPRoute's `matches`) must see the default, or it reports an error the cluster never
would. The schema is walked once per node into a small plan of where defaults live.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DefaultsPlan", "defaults_plan", "with_defaults"]


@dataclass
class DefaultsPlan:
    fields: dict[str, Any] = field(default_factory=dict)  # property -> its default
    properties: dict[str, DefaultsPlan] = field(default_factory=dict)
    items: DefaultsPlan | None = None
    additional: DefaultsPlan | None = None

    @property
    def empty(self) -> bool:
        return not (self.fields or self.properties or self.items or self.additional)


def defaults_plan(schema: Any, depth: int = 0) -> DefaultsPlan | None:
    """Where `schema` defines defaults (None: nowhere). Depth-bounded: CRDs inline recursive
    types (JSONSchemaProps) that would otherwise be walked forever."""
    if not isinstance(schema, dict) or depth > 40:
        return None
    plan = DefaultsPlan()
    for name, child in (schema.get("properties") or {}).items():
        if isinstance(child, dict) and "default" in child:
            plan.fields[name] = child["default"]
        sub = defaults_plan(child, depth + 1)
        if sub is not None:
            plan.properties[name] = sub
    plan.items = defaults_plan(schema.get("items"), depth + 1)
    plan.additional = defaults_plan(schema.get("additionalProperties"), depth + 1)
    for combined in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(combined) or []:
            other = defaults_plan(part, depth + 1)
            if other is not None:
                plan.fields = {**other.fields, **plan.fields}
                plan.properties = {**other.properties, **plan.properties}
    return None if plan.empty else plan


def with_defaults(plan: DefaultsPlan | None, value: Any) -> Any:
    """`value` with every absent defaulted field filled; containers that change are copied,
    the caller's document is never modified."""
    if plan is None:
        return value
    if isinstance(value, dict):
        out = value
        for name, default in plan.fields.items():
            if name not in out:
                out = out if out is not value else dict(value)
                out[name] = copy.deepcopy(default)
        for name, sub in plan.properties.items():
            if name in out:
                filled = with_defaults(sub, out[name])
                if filled is not out[name]:
                    out = out if out is not value else dict(value)
                    out[name] = filled
        if plan.additional is not None:
            for key in [k for k in out if k not in plan.properties]:
                filled = with_defaults(plan.additional, out[key])
                if filled is not out[key]:
                    out = out if out is not value else dict(value)
                    out[key] = filled
        return out
    if isinstance(value, list) and plan.items is not None:
        filled_items = [with_defaults(plan.items, item) for item in value]
        return filled_items if any(a is not b for a, b in zip(filled_items, value, strict=True)) else value
    return value
