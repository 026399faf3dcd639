"""Unknown fields in custom resources, as the API server treats them.

An object schema of a CRD keeps only the fields it lists unless it says
`x-kubernetes-preserve-unknown-fields`: the API server prunes the rest, or rejects them
under strict field validation (`kubectl apply --validate=strict`, the default since 1.25
for kubectl). Strict checking reports them: such a field is a typo or a field of another
release, and silently dropping it is how "green" stops meaning "it will work".

The rule has two forms over one predicate (`closes_unknown_fields`): python-jsonschema,
which validates a kind's first documents, applies it while validating, so a one-spec
check never rewrites a megabyte schema; jsonschema-rs compiles a strict copy
(`strict_crd_schema`) when a kind has enough documents to be worth compiling.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema

from generator.validate.patterns import CrdValidator

__all__ = ["StrictCrdValidator", "closes_unknown_fields", "relaxed_metadata", "strict_crd_schema"]

# Draft 7's keywords whose values are subschemas: one schema, a map or a list of them.
# All are walked, so the compiled copy is strict wherever validation can reach (a `$ref`
# into `definitions` included), as the validating form is.
_SINGLE = ("additionalItems", "items", "contains", "additionalProperties", "propertyNames", "if", "then", "else",
           "not")
_MAPS = ("properties", "patternProperties", "dependencies", "definitions", "$defs")
_LISTS = ("items", "allOf", "anyOf", "oneOf")


def closes_unknown_fields(node: dict[str, Any]) -> bool:
    """Whether an object node drops the fields it does not list."""
    return ("properties" in node and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields"))


def relaxed_metadata(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with its top-level `metadata` as any object: the API server validates
    ObjectMeta itself, and CRDs describe it as `type: object` at most (copies the top
    level only; the rest is shared)."""
    if "metadata" not in schema.get("properties", {}):
        return schema
    return {**schema, "properties": {**schema["properties"], "metadata": {"type": "object"}}}


def strict_crd_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of the schema in which every node that drops unknown fields says
    `additionalProperties: false`, with `relaxed_metadata`; the input is not modified."""
    return relaxed_metadata(_strict(schema))


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """Copies every schema node (dictionaries only: the strings and lists of values in
    them are shared), iteratively: a deep `--schema-dir` schema must not exhaust the stack."""
    root = dict(schema)
    stack = [root]
    while stack:
        out = stack.pop()
        for key in _MAPS:
            children = out.get(key)
            if isinstance(children, dict):
                out[key] = {name: _copied(child, stack) for name, child in children.items()}
        for key in _SINGLE:
            if isinstance(out.get(key), dict):
                out[key] = _copied(out[key], stack)
        for key in _LISTS:
            parts = out.get(key)
            if isinstance(parts, list):
                out[key] = [_copied(part, stack) for part in parts]
        if closes_unknown_fields(out):
            out["additionalProperties"] = False
    return root


def _copied(node: Any, stack: list[dict[str, Any]]) -> Any:
    if not isinstance(node, dict):
        return node
    copy = dict(node)
    stack.append(copy)
    return copy


_PROPERTIES = CrdValidator.VALIDATORS["properties"]
_ADDITIONAL = CrdValidator.VALIDATORS["additionalProperties"]


def _properties_closing_unknown(validator: Any, properties: Any, instance: Any,
                                schema: dict[str, Any]) -> Iterator[jsonschema.ValidationError]:
    yield from _PROPERTIES(validator, properties, instance, schema)
    if closes_unknown_fields(schema):
        for error in _ADDITIONAL(validator, False, instance, schema):
            # named for the keyword the strict copy carries, so both forms read the same
            yield jsonschema.ValidationError(error.message, validator="additionalProperties", validator_value=False,
                                             instance=instance, schema=schema)


# CrdValidator (RE2 patterns) with the rule applied where a node lists its properties.
StrictCrdValidator = jsonschema.validators.extend(CrdValidator, {"properties": _properties_closing_unknown})
