"""Structural-schema defaults, applied as the API server applies them before validation.

The API server fills every absent field whose schema has a `default` (recursively, inside
objects and array items that are present) before it runs the OpenAPI checks and the
`x-kubernetes-validations` rules. A CEL rule that reads such a field (`self.kind`, an
HTTPRoute's `matches`) must see the default, or it reports an error the cluster never
would. The schema is read along the document's own paths only: an Argo Workflows CRD
has some sixty thousand schema nodes and a Workflow touches a few hundred, so walking
the whole schema first was most of a one-spec check's defaulting.
"""
from __future__ import annotations

import copy
from typing import Any, NamedTuple

__all__ = ["SchemaDefaults"]

# Deeper than any real manifest: a document nested past it keeps what it has (no defaults
# are filled there) rather than exhausting the interpreter's stack.
MAX_DEPTH = 100


class _Node(NamedTuple):
    """What one schema node says about defaults, its combinators' parts included."""

    fields: dict[str, Any]  # property -> its default
    properties: dict[str, list[dict[str, Any]]]  # property -> the schemas that describe it, own first
    items: dict[str, Any] | None
    additional: dict[str, Any] | None


class SchemaDefaults:
    """The defaults of one structural schema, read lazily and remembered per schema node."""

    def __init__(self, schema: dict[str, Any]):
        self._schema = schema  # held, so the ids the nodes are remembered by stay unique
        self._nodes: dict[int, _Node] = {}

    def apply(self, value: Any) -> Any:
        """`value` with every absent defaulted field filled; containers that change are
        copied, the caller's document is never modified."""
        return self._fill(self._schema, value, 0)

    @property
    def nodes_read(self) -> int:
        """How many schema nodes have been read so far (the point of reading lazily)."""
        return len(self._nodes)

    def _node(self, schema: dict[str, Any]) -> _Node:
        found = self._nodes.get(id(schema))
        if found is None:
            found = self._nodes[id(schema)] = _read_node(schema)
        return found

    def _fill(self, schema: Any, value: Any, depth: int) -> Any:
        if not isinstance(schema, dict) or depth > MAX_DEPTH:
            return value
        if isinstance(value, dict):
            return self._fill_object(self._node(schema), value, depth)
        if isinstance(value, list):
            items = self._node(schema).items
            if items is None:
                return value
            filled = [self._fill(items, item, depth + 1) for item in value]
            return filled if any(a is not b for a, b in zip(filled, value, strict=True)) else value
        return value

    def _fill_object(self, node: _Node, value: dict[str, Any], depth: int) -> dict[str, Any]:
        out = value
        for name, default in node.fields.items():
            if name not in out:
                out = out if out is not value else dict(value)
                out[name] = copy.deepcopy(default)
        for name, schemas in node.properties.items():
            if name in out:
                for schema in schemas:
                    filled = self._fill(schema, out[name], depth + 1)
                    if filled is not out[name]:
                        out = out if out is not value else dict(value)
                        out[name] = filled
        if node.additional is not None:
            for key in [k for k in out if k not in node.properties]:
                filled = self._fill(node.additional, out[key], depth + 1)
                if filled is not out[key]:
                    out = out if out is not value else dict(value)
                    out[key] = filled
        return out


def _read_node(schema: dict[str, Any]) -> _Node:
    """A node's defaults; an `allOf`/`anyOf`/`oneOf` part adds fields and properties, and
    the node's own win where both give a default."""
    fields: dict[str, Any] = {}
    properties: dict[str, list[dict[str, Any]]] = {}
    parts = [schema] + [p for key in ("allOf", "anyOf", "oneOf") for p in schema.get(key) or [] if isinstance(p, dict)]
    for part in parts:
        for name, child in (part.get("properties") or {}).items():
            if not isinstance(child, dict):
                continue
            if "default" in child and name not in fields:
                fields[name] = child["default"]
            properties.setdefault(name, []).append(child)
    items, additional = schema.get("items"), schema.get("additionalProperties")
    return _Node(fields, properties, items if isinstance(items, dict) else None,
                 additional if isinstance(additional, dict) else None)
